"""Lifecycle stages: a group's ordered stages (admin), and moving a version between them through the gates."""

from __future__ import annotations

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
)
from lineage_graph.domain.models import ModelVersion
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
        ref = ref.expect(NodeKind.MODEL_VERSION)
        group, version = str(ref.parts[0]), int(ref.parts[1])
        require(actor, Role.CONTRIBUTOR, group)
        change = StageChange(stage, status or DEFAULT_STAGE_STATUS, description)
        if problems := check_stage_change(change):
            raise ValidationFailed.of(problems)

        def rule(policy: LifecyclePolicy, evidence: StageEvidence) -> list[Problem]:
            return gate_problems(policy, evidence, change)

        result = await self.store.transition(
            group, version, change, actor.name, by_approver=actor.may_approve(group), automated=False, rule=rule
        )
        if result.version is None:
            await self._refused(actor, ref, change, result)
        assert result.version is not None
        return result.version

    async def _refused(self, actor: Principal, ref: NodeRef, change: StageChange, result: TransitionResult) -> None:
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
        message = f"moving {ref} to {change.stage} refused: " + "; ".join(p.message for p in result.problems)
        raise PolicyNotMet(message, result.problems)

    async def history(self, actor: Principal, ref: NodeRef) -> list[StageTransition]:
        """Every stage transition of a version, oldest first, with the evidence it was checked against."""
        ref = ref.expect(NodeKind.MODEL_VERSION, field="modelVersionId")
        require(actor, Role.VIEWER)
        key = (str(ref.parts[0]), int(ref.parts[1]))
        return (await self.store.transitions_for([key])).get(key, [])
