"""The approval workflow over GraphQL: decisions, policies, the evidence trail, and incident flags."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from lineage_graph.domain import approval
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.graphql.registry_types import ApprovalStatus, Deployment, Info, ModelVersion, Node
from lineage_graph.store.approvals import DecisionResult, RecordedDecision

strawberry.enum(approval.Decision)
Decision = approval.Decision


@strawberry.type(
    description="One approval decision: who, when, from which status to which, and the evidence "
    "checked (metrics, lineage, upstream tags, the policy) as it was at that moment."
)
class ApprovalDecision(Node):
    decision: Decision
    from_status: ApprovalStatus
    to_status: ApprovalStatus
    actor: str
    at: datetime
    comment: str | None
    evidence: JSON

    @classmethod
    def from_model(cls, d: RecordedDecision) -> ApprovalDecision:
        ref = NodeRef.of(NodeKind.APPROVAL_DECISION, d.decision_id)
        return cls(
            id=strawberry.ID(ref.global_id),
            decision=d.decision,
            from_status=d.from_status,
            to_status=d.to_status,
            actor=d.actor,
            at=d.at,
            comment=d.comment,
            evidence=JSON(d.evidence),
        )


@strawberry.type
class ApprovalResult:
    model_version: ModelVersion
    decision: ApprovalDecision
    affected_deployments: list[Deployment] = strawberry.field(
        description="Active deployments still serving the version (check these after a rejection)."
    )

    @classmethod
    def from_model(cls, r: DecisionResult) -> ApprovalResult:
        return cls(
            model_version=ModelVersion.from_model(r.version),
            decision=ApprovalDecision.from_model(r.decision),
            affected_deployments=[Deployment.from_model(d) for d in r.active_deployments],
        )


@strawberry.type(description="e.g. auc >= 0.85 on the validation split.")
class MetricRequirement:
    name: str
    operator: str
    threshold: float
    split: str | None


@strawberry.type(description="What a group demands before a version may be approved.")
class ApprovalPolicy:
    required_metrics: list[MetricRequirement]
    require_training_data: bool
    require_code_version: bool
    require_producing_run: bool
    forbidden_upstream_tags: list[str]
    required_upstream_tags: list[str]
    min_approvers: int
    four_eyes: bool

    @classmethod
    def from_model(cls, p: approval.ApprovalPolicy) -> ApprovalPolicy:
        return cls(
            required_metrics=[
                MetricRequirement(name=m.name, operator=m.operator, threshold=m.threshold, split=m.split)
                for m in p.required_metrics
            ],
            require_training_data=p.require_training_data,
            require_code_version=p.require_code_version,
            require_producing_run=p.require_producing_run,
            forbidden_upstream_tags=list(p.forbidden_upstream_tags),
            required_upstream_tags=list(p.required_upstream_tags),
            min_approvers=p.min_approvers,
            four_eyes=p.four_eyes,
        )


@strawberry.input
class MetricRequirementInput:
    name: str
    operator: str = strawberry.field(description="One of >=, >, <=, <, ==")
    threshold: float
    split: str | None = None


@strawberry.input
class ApprovalPolicyInput:
    required_metrics: list[MetricRequirementInput] = strawberry.field(default_factory=list)
    require_training_data: bool = False
    require_code_version: bool = False
    require_producing_run: bool = False
    forbidden_upstream_tags: list[str] = strawberry.field(default_factory=list)
    required_upstream_tags: list[str] = strawberry.field(default_factory=list)
    min_approvers: int = 1
    four_eyes: bool = True

    def to_domain(self) -> approval.ApprovalPolicy:
        return approval.ApprovalPolicy(
            required_metrics=tuple(
                approval.MetricRequirement(m.name, m.operator, m.threshold, m.split) for m in self.required_metrics
            ),
            require_training_data=self.require_training_data,
            require_code_version=self.require_code_version,
            require_producing_run=self.require_producing_run,
            forbidden_upstream_tags=tuple(self.forbidden_upstream_tags),
            required_upstream_tags=tuple(self.required_upstream_tags),
            min_approvers=self.min_approvers,
            four_eyes=self.four_eyes,
        )


@strawberry.type
class IncidentResult:
    needs_review: list[ModelVersion] = strawberry.field(
        description="Approved model versions downstream of the flagged dataset version, now marked for re-review."
    )
    incomplete: str | None = strawberry.field(
        description="Set when the downstream walk stopped at a limit (named here): versions beyond it were not "
        "reached. Null when every downstream version was."
    )


@strawberry.type
class ApprovalQuery:
    @strawberry.field(description="A group's approval policy (null when the group does not exist).")
    async def approval_policy(self, info: Info, group: str) -> ApprovalPolicy | None:
        found = await info.context.services.approvals.policy(info.context.principal, group)
        return ApprovalPolicy.from_model(found) if found else None

    @strawberry.field(description="Every decision on a model version, oldest first, with its evidence.")
    async def approval_history(self, info: Info, id: strawberry.ID) -> list[ApprovalDecision]:
        ref = NodeRef.parse(id).expect(NodeKind.MODEL_VERSION)
        found = await info.context.loaders.decisions_of_version.load((str(ref.parts[0]), int(ref.parts[1])))
        return [ApprovalDecision.from_model(d) for d in found or []]


@strawberry.type
class ApprovalMutation:
    @strawberry.mutation(description="Approve a version (approver role; not the registrant; policy must be met).")
    async def approve_model_version(
        self, info: Info, id: strawberry.ID, comment: str | None = None
    ) -> ApprovalResult | None:
        result = await info.context.services.approvals.approve(info.context.principal, NodeRef.parse(id), comment)
        return ApprovalResult.from_model(result)

    @strawberry.mutation(description="Reject a version; rejecting an approved one revokes it (comment required).")
    async def reject_model_version(
        self, info: Info, id: strawberry.ID, comment: str | None = None
    ) -> ApprovalResult | None:
        result = await info.context.services.approvals.reject(info.context.principal, NodeRef.parse(id), comment)
        return ApprovalResult.from_model(result)

    @strawberry.mutation(description="Set a group's approval policy (admin).")
    async def set_approval_policy(self, info: Info, group: str, policy: ApprovalPolicyInput) -> ApprovalPolicy | None:
        saved = await info.context.services.approvals.set_policy(info.context.principal, group, policy.to_domain())
        return ApprovalPolicy.from_model(saved)

    @strawberry.mutation(
        description="Flag a dataset version (e.g. restricted data found): approved model versions "
        "downstream are marked for re-review and returned."
    )
    async def flag_dataset_version(
        self, info: Info, id: strawberry.ID, reason: str, tag: str = "incident"
    ) -> IncidentResult | None:
        flagged = await info.context.services.approvals.flag_dataset_version(
            info.context.principal, NodeRef.parse(id), reason, tag
        )
        return IncidentResult(
            needs_review=[ModelVersion.from_model(v) for v in flagged.needs_review], incomplete=flagged.incomplete
        )
