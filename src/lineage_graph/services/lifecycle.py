"""Lifecycle stages: a group's ordered stages (admin), and moving a version between them through the gates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import PolicyNotMet, Problem, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lifecycle import (
    DEFAULT_STAGE_STATUS,
    LifecyclePolicy,
    StageChange,
    StageEvidence,
    check_stage_change,
    gate_problems,
    registration_gate_problems,
)
from lineage_graph.domain.models import ApprovalStatus, Metric, ModelVersion
from lineage_graph.services.authorization import require
from lineage_graph.store.group_rules import GroupRules, GroupRulesStore
from lineage_graph.store.lifecycle import LifecycleStore, StageTransition, TransitionResult


class LifecycleService:
    def __init__(self, rules: GroupRulesStore, store: LifecycleStore) -> None:
        self.rules = rules
        self.store = store

    async def set_stages(self, actor: Principal, group: str, policy: LifecyclePolicy) -> LifecyclePolicy:
        """Replace the group's ordered stages and their gates (admin). Refused while a version sits in a stage
        the new list drops, or when automated promotion targets one."""
        require(actor, Role.ADMIN)
        policy.validate()

        def change(current: GroupRules) -> dict[str, str]:
            problems = [
                Problem("stages", f"versions are in stage {stage!r}, which the new list drops", "STAGE_IN_USE")
                for stage in current.stages_in_use
                if policy.stage(stage) is None
            ]
            problems += [
                Problem(f"promotion.{p.field}", p.message, p.code)
                for p in current.promotion.problems(policy, current.approval)
                if p.field == "toStage"
            ]
            if problems:
                raise ValidationFailed.of(problems)
            return {"lifecycle": policy.to_json()}

        saved = await self.rules.update(group, actor.name, "model_group.stages_set", change)
        return saved.lifecycle

    async def stages(self, actor: Principal, group: str) -> LifecyclePolicy | None:
        require(actor, Role.VIEWER)
        found = await self.rules.rules(group)
        return found.lifecycle if found else None

    async def policy(self, actor: Principal, group: str) -> LifecyclePolicy:
        """The group's stages (the default ones when it never set its own)."""
        require(actor, Role.VIEWER)
        found = await self.rules.rules(group)
        return found.lifecycle if found else LifecyclePolicy()

    async def set_stage(
        self,
        actor: Principal,
        ref: NodeRef,
        stage: str,
        status: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Move a version to `stage` with a status (SageMaker's ModelLifeCycle: Stage, StageStatus,
        StageDescription). The target stage's gate must be met; a refusal lists every unmet condition and is
        itself recorded in the audit log."""
        version = await self._move(actor, ref, StageChange(stage, status or DEFAULT_STAGE_STATUS, description))
        assert version is not None
        return version

    async def check_stage(
        self, actor: Principal, ref: NodeRef, change: StageChange, assume_approval: ApprovalStatus | None = None
    ) -> None:
        """Refuse, as `set_stage` would, a move that the gate would not let through now, writing nothing but
        the refusal's audit record. `assume_approval`: the approval status the same request is about to set,
        so a request that approves and promotes together is checked as it will stand."""
        await self._move(actor, ref, change, dry_run=True, assume_approval=assume_approval)

    async def import_stage(self, actor: Principal, ref: NodeRef, change: StageChange) -> ModelVersion:
        """Mirror a stage move made in another registry (admins only). The target's gate applies, except that
        it is entered by an approver: the import mirrors a person's decision there, as imported approvals
        do. A refusal lists the unmet gates and leaves the version where it was."""
        require(actor, Role.ADMIN)
        version = await self._move(actor, ref, change, by_approver=True)
        assert version is not None
        return version

    async def check_registration(
        self, actor: Principal, group: str, change: StageChange, metrics: Sequence[Metric]
    ) -> None:
        """Refuse a registration that asks to start out in a stage whose gate a new version cannot meet,
        before anything is written (the refusal is audited against the group)."""
        require(actor, Role.CONTRIBUTOR, group)
        if problems := check_stage_change(change):
            raise ValidationFailed.of(problems)
        policy = await self.policy(actor, group)
        problems = registration_gate_problems(policy, change, metrics, actor.may_approve(group))
        if problems:
            target = NodeRef.of(NodeKind.MODEL_GROUP, group)
            head = f"registering a version of {group} in {change.stage} refused: "
            await self._refused(actor, target, change, TransitionResult(tuple(problems), {}), head)

    async def _move(
        self,
        actor: Principal,
        ref: NodeRef,
        change: StageChange,
        *,
        dry_run: bool = False,
        assume_approval: ApprovalStatus | None = None,
        by_approver: bool | None = None,
    ) -> ModelVersion | None:
        ref = ref.expect(NodeKind.MODEL_VERSION)
        group, version = str(ref.parts[0]), int(ref.parts[1])
        require(actor, Role.CONTRIBUTOR, group)
        if problems := check_stage_change(change):
            raise ValidationFailed.of(problems)

        def rule(policy: LifecyclePolicy, evidence: StageEvidence) -> list[Problem]:
            if assume_approval is not None:
                evidence = replace(evidence, approval_status=assume_approval)
            return gate_problems(policy, evidence, change)

        result = await self.store.transition(
            group,
            version,
            change,
            actor.name,
            by_approver=actor.may_approve(group) if by_approver is None else by_approver,
            automated=False,
            rule=rule,
            dry_run=dry_run,
        )
        if result.problems:
            await self._refused(actor, ref, change, result)
        return result.version

    async def _refused(
        self, actor: Principal, ref: NodeRef, change: StageChange, result: TransitionResult, head: str | None = None
    ) -> None:
        reasons = [{"field": p.field, "code": p.code, "message": p.message} for p in result.problems]
        await self.store.record_refusal(
            AuditEntry(
                actor.name,
                "model_version.stage_changed",
                str(ref),
                {"to": change.stage, "to_status": change.status, "reasons": reasons, "evidence": result.evidence},
                outcome="REFUSED",
            )
        )
        message = (head or f"moving {ref} to {change.stage} refused: ") + "; ".join(p.message for p in result.problems)
        raise PolicyNotMet(message, result.problems)

    async def history(self, actor: Principal, ref: NodeRef) -> list[StageTransition]:
        """Every stage transition of a version, oldest first, with the evidence it was checked against."""
        ref = ref.expect(NodeKind.MODEL_VERSION, field="modelVersionId")
        require(actor, Role.VIEWER)
        key = (str(ref.parts[0]), int(ref.parts[1]))
        return (await self.store.transitions_for([key])).get(key, [])
