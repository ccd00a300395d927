"""Approving and rejecting model versions, what approving would take now, group policies, and incident flags.

Authorization comes first: a caller without the approver role for the group is refused (FORBIDDEN,
MISSING_ROLE) before any lock, walk or write, so no token without the role can hold a version's lock or grow
the audit log. Four-eyes needs only who registered the version and is checked next, still without a lock;
only then is the version locked and its lineage walked for the policy.
"""

from __future__ import annotations

from typing import NoReturn

from lineage_graph.domain.approval import (
    ApprovalPolicy,
    Decision,
    Evidence,
    IncidentFlag,
    Outcome,
    Readiness,
    decide,
    four_eyes_problem,
    readiness,
)
from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import PolicyNotMet, Problem
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.registry import Checker
from lineage_graph.services.authorization import require, require_approver
from lineage_graph.store.approvals import ApprovalStore, DecisionResult


class ApprovalService:
    def __init__(self, store: ApprovalStore) -> None:
        self.store = store

    async def approve(self, actor: Principal, ref: NodeRef, comment: str | None = None) -> DecisionResult:
        """Approve (or add one vote of N when the policy wants several approvers)."""
        return await self._decide(actor, ref, Decision.APPROVE, comment)

    async def reject(self, actor: Principal, ref: NodeRef, comment: str | None = None) -> DecisionResult:
        """Reject; rejecting an APPROVED version revokes it and needs a comment. The result lists the
        deployments still serving it."""
        return await self._decide(actor, ref, Decision.REJECT, comment)

    async def _decide(self, actor: Principal, ref: NodeRef, decision: Decision, comment: str | None) -> DecisionResult:
        ref = ref.expect(NodeKind.MODEL_VERSION)
        check = Checker()
        check.text("comment", comment, 4096)
        check.done()
        group, version = str(ref.parts[0]), int(ref.parts[1])
        require_approver(actor, group)
        policy, registered_by = await self.store.registrant(group, version)
        four_eyes = four_eyes_problem(actor, policy, registered_by)
        if four_eyes is not None:
            await self._refuse(actor, ref, decision, comment, (four_eyes,), {"registered_by": registered_by})

        def rule(policy: ApprovalPolicy, evidence: Evidence) -> Outcome:
            return decide(decision, actor, group, policy, evidence, comment)

        outcome, result, snapshot = await self.store.decide(group, version, decision, actor.name, comment, rule)
        if result is None:
            await self._refuse(actor, ref, decision, comment, outcome.problems, snapshot)
        return result

    async def _refuse(
        self,
        actor: Principal,
        ref: NodeRef,
        decision: Decision,
        comment: str | None,
        problems: tuple[Problem, ...],
        evidence: dict[str, object],
    ) -> NoReturn:
        # The refusal of an approver's decision is evidence an auditor wants: record it, with every reason.
        reasons = [{"field": p.field, "code": p.code, "message": p.message} for p in problems]
        await self.store.record_refusal(
            AuditEntry(
                actor.name,
                f"model_version.{decision.value.lower()}",
                str(ref),
                {"comment": comment, "reasons": reasons, "evidence": evidence},
                outcome="REFUSED",
            )
        )
        message = f"{decision.value.lower()} of {ref} refused: " + "; ".join(p.message for p in problems)
        raise PolicyNotMet(message, problems)

    async def readiness(self, actor: Principal, ref: NodeRef) -> Readiness:
        """What approving `ref` would take now, for `actor`: every unmet rule with its reason (MISSING_ROLE and
        FOUR_EYES included, for this caller), evaluated on the evidence a decision would read. Writes nothing."""
        require(actor, Role.VIEWER)
        ref = ref.expect(NodeKind.MODEL_VERSION)
        group, version = str(ref.parts[0]), int(ref.parts[1])
        policy, evidence = await self.store.evidence(group, version)
        return readiness(actor, group, policy, evidence)

    async def set_policy(self, actor: Principal, group: str, policy: ApprovalPolicy) -> ApprovalPolicy:
        require(actor, Role.ADMIN)
        policy.validate()
        await self.store.set_policy(group, policy, actor.name)
        return policy

    async def policy(self, actor: Principal, group: str) -> ApprovalPolicy | None:
        require(actor, Role.VIEWER)
        return await self.store.policy(group)

    async def flag_dataset_version(
        self, actor: Principal, ref: NodeRef, reason: str, tag: str = "incident"
    ) -> IncidentFlag:
        """Flag a dataset version (e.g. "contains restricted data"): every approved model version downstream
        of it is marked as needing re-review, and returned (with `incomplete` saying whether the walk that found
        them stopped at a limit)."""
        ref = ref.expect(NodeKind.DATASET_VERSION)
        require(actor, Role.APPROVER)
        check = Checker()
        check.text("reason", reason, 4096, required=True)
        check.tags("tag", [tag])
        check.done()
        namespace, name, version = (str(p) for p in ref.parts)
        return await self.store.flag_dataset_version(namespace, name, version, reason, tag, actor.name)
