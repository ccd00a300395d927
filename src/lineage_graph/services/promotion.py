"""Automated promotion: after a registration, new metrics or a cleared incident, the group's promotion policy
may approve the version or move it to a stage — as the policy's own principal, with the evidence, once.

Exactly once under concurrency: both decisions lock the version before reading their evidence (the approval
store and the lifecycle store do), so of N evaluations racing after N metric updates the first to find the
policy met records the decision and the others find it already made and write nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from lineage_graph.domain.approval import ApprovalPolicy, Decision, Evidence, Outcome, decide
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import DomainError, Problem
from lineage_graph.domain.lifecycle import (
    DEFAULT_STAGE_STATUS,
    LifecyclePolicy,
    StageChange,
    StageEvidence,
    gate_problems,
)
from lineage_graph.domain.models import ApprovalStatus, ModelVersion
from lineage_graph.domain.promotion import PromotionPolicy, policy_principal
from lineage_graph.services.authorization import require
from lineage_graph.store.approvals import ApprovalStore
from lineage_graph.store.group_rules import GroupRules, GroupRulesStore
from lineage_graph.store.lifecycle import LifecycleStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromotionResult:
    """What this evaluation did (nothing, when the policy was not met or the decision was already made)."""

    approved: bool = False
    stage: str | None = None


class PromotionService:
    def __init__(self, rules: GroupRulesStore, approvals: ApprovalStore, lifecycle: LifecycleStore) -> None:
        self.rules = rules
        self.approvals = approvals
        self.lifecycle = lifecycle

    async def set_policy(self, actor: Principal, group: str, policy: PromotionPolicy) -> PromotionPolicy:
        """Let the server approve and/or promote to a stage when the group's rules are met (admin)."""
        require(actor, Role.ADMIN)

        def change(current: GroupRules) -> dict[str, str]:
            policy.validate(current.lifecycle, current.approval)
            return {"promotion": policy.to_json()}

        saved = await self.rules.update(group, actor.name, "model_group.promotion_set", change)
        return saved.promotion

    async def policy(self, actor: Principal, group: str) -> PromotionPolicy | None:
        require(actor, Role.VIEWER)
        found = await self.rules.rules(group)
        return found.promotion if found else None

    async def evaluate_quietly(self, versions: Sequence[ModelVersion], trigger: str) -> bool:
        """Evaluate after a change that already committed (a failure here must not fail that change); True
        when any version was approved or promoted."""
        changed = False
        for version in versions:
            try:
                result = await self.evaluate(version, trigger)
            except DomainError as exc:
                logger.warning("automated promotion of %s after %s failed: %s", version.ref, trigger, exc.message)
                continue
            changed = changed or result.approved or result.stage is not None
        return changed

    async def evaluate(self, version: ModelVersion, trigger: str) -> PromotionResult:
        """Approve and/or promote `version` when its group's policy allows and its rules are met. Runs on the
        server's behalf after an authorized change, so it takes no caller."""
        rules = await self.rules.rules(version.group)
        if rules is None or not rules.promotion.enabled or version.contract_violations:
            return PromotionResult()
        promotion = rules.promotion
        principal = policy_principal(version.group)
        approved = False
        if promotion.approve and version.approval_status is ApprovalStatus.PENDING_MANUAL_APPROVAL:
            approved = await self._approve(version, principal, promotion, rules.lifecycle, trigger)
        stage = None
        if promotion.to_stage is not None:
            stage = await self._promote(version, principal, promotion.to_stage, trigger)
        return PromotionResult(approved, stage)

    async def _approve(
        self,
        version: ModelVersion,
        principal: Principal,
        promotion: PromotionPolicy,
        lifecycle: LifecyclePolicy,
        trigger: str,
    ) -> bool:
        comment = f"automated approval after {trigger.replace('_', ' ')}: the group's approval policy is met"

        def rule(policy: ApprovalPolicy, evidence: Evidence) -> Outcome:
            outcome = decide(Decision.APPROVE, principal, version.group, policy, evidence, comment)
            # The approval policy read under the lock is the one that counts: it may have changed since.
            extra = [p for p in promotion.problems(lifecycle, policy) if p.field == "approve"]
            if extra:
                return replace(outcome, to_status=outcome.from_status, problems=outcome.problems + tuple(extra))
            return outcome

        _outcome, result, _evidence = await self.approvals.decide(
            version.group, version.version, Decision.APPROVE, principal.name, comment, rule
        )
        return result is not None

    async def _promote(self, version: ModelVersion, principal: Principal, target: str, trigger: str) -> str | None:
        change = StageChange(target, DEFAULT_STAGE_STATUS, f"automated promotion after {trigger.replace('_', ' ')}")

        def rule(policy: LifecyclePolicy, evidence: StageEvidence) -> list[Problem]:
            names = policy.names
            if target in names and evidence.stage in names and names.index(evidence.stage) >= names.index(target):
                # Already there (an earlier evaluation won the race), or moved past it by a person.
                return [Problem("stage", f"the version is already at or past {target}", "ALREADY_IN_STAGE")]
            return gate_problems(policy, evidence, change)

        result = await self.lifecycle.transition(
            version.group, version.version, change, principal.name, by_approver=False, automated=True, rule=rule
        )
        return target if result.version is not None else None
