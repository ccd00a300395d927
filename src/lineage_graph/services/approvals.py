"""Approving and rejecting model versions, group policies, and incident flags on dataset versions."""

from __future__ import annotations

from lineage_graph.domain.approval import ApprovalPolicy, Decision, Evidence, Outcome, decide
from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import PolicyNotMet
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import ModelVersion
from lineage_graph.domain.registry import Checker
from lineage_graph.services.authorization import require
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

        def rule(policy: ApprovalPolicy, evidence: Evidence) -> Outcome:
            return decide(decision, actor, group, policy, evidence, comment)

        outcome, result, snapshot = await self.store.decide(group, version, decision, actor.name, comment, rule)
        if result is None:
            # The refusal itself is evidence an auditor wants: record it, with every reason.
            reasons = [{"field": p.field, "code": p.code, "message": p.message} for p in outcome.problems]
            await self.store.record_refusal(
                AuditEntry(
                    actor.name,
                    f"model_version.{decision.value.lower()}",
                    str(ref),
                    {"comment": comment, "reasons": reasons, "evidence": snapshot},
                    outcome="REFUSED",
                )
            )
            message = f"{decision.value.lower()} of {ref} refused: " + "; ".join(p.message for p in outcome.problems)
            raise PolicyNotMet(message, outcome.problems)
        return result

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
    ) -> list[ModelVersion]:
        """Flag a dataset version (e.g. "contains restricted data"): every approved model version downstream
        of it is marked as needing re-review, and returned."""
        ref = ref.expect(NodeKind.DATASET_VERSION)
        require(actor, Role.APPROVER)
        check = Checker()
        check.text("reason", reason, 4096, required=True)
        check.tags("tag", [tag])
        check.done()
        namespace, name, version = (str(p) for p in ref.parts)
        return await self.store.flag_dataset_version(namespace, name, version, reason, tag, actor.name)
