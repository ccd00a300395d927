"""Lifecycle stages and automated promotion over GraphQL: a group's stages and gates, moving a version
between stages, its transition history, and the group's promotion policy."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from lineage_graph.domain import lifecycle, promotion
from lineage_graph.domain.approval import MetricRequirement as DomainMetricRequirement
from lineage_graph.domain.ids import NodeRef
from lineage_graph.graphql.approvals import MetricRequirement, MetricRequirementInput
from lineage_graph.graphql.registry_types import Info, ModelVersion
from lineage_graph.store.lifecycle import StageTransition as RecordedTransition


@strawberry.type(description="What a version needs before it may enter a stage.")
class StageGate:
    require_approved: bool
    require_approver: bool = strawberry.field(description="The transition is made by a person with the approver role.")
    metric_thresholds: list[MetricRequirement]
    forbid_open_incidents_upstream: bool
    require_deployment_to: list[str] = strawberry.field(
        description="Environments the version must have been deployed to first (e.g. staging)."
    )


@strawberry.type(description="One stage of a group's lifecycle, in order, with its gate.")
class Stage:
    name: str
    gate: StageGate


@strawberry.type(description="A group's ordered lifecycle stages (as SageMaker's ModelLifeCycle stages).")
class Lifecycle:
    stages: list[Stage]

    @classmethod
    def from_model(cls, p: lifecycle.LifecyclePolicy) -> Lifecycle:
        return cls(
            stages=[
                Stage(
                    name=s.name,
                    gate=StageGate(
                        require_approved=s.gate.require_approved,
                        require_approver=s.gate.require_approver,
                        metric_thresholds=[
                            MetricRequirement(name=m.name, operator=m.operator, threshold=m.threshold, split=m.split)
                            for m in s.gate.metric_thresholds
                        ],
                        forbid_open_incidents_upstream=s.gate.forbid_open_incidents_upstream,
                        require_deployment_to=list(s.gate.require_deployment_to),
                    ),
                )
                for s in p.stages
            ]
        )


@strawberry.type(description="One move of a version between stages, with the evidence its gate was checked on.")
class StageTransition:
    from_stage: str
    from_status: str | None
    to_stage: str
    to_status: str
    description: str | None
    actor: str
    automated: bool = strawberry.field(description="Made by the group's promotion policy, not a person.")
    at: datetime
    evidence: JSON

    @classmethod
    def from_model(cls, t: RecordedTransition) -> StageTransition:
        return cls(
            from_stage=t.from_stage,
            from_status=t.from_status,
            to_stage=t.to_stage,
            to_status=t.to_status,
            description=t.description,
            actor=t.actor,
            automated=t.automated,
            at=t.at,
            evidence=JSON(dict(t.evidence)),
        )


@strawberry.type(description="What the server may decide on its own when a group's rules are met.")
class PromotionPolicy:
    approve: bool = strawberry.field(description="Approve (only where the approval policy needs no second person).")
    to_stage: str | None = strawberry.field(description="Move the version to this stage when its gate is met.")
    principal: str = strawberry.field(description="The principal automated decisions are recorded under.")


@strawberry.input
class StageGateInput:
    require_approved: bool = False
    require_approver: bool = False
    metric_thresholds: list[MetricRequirementInput] = strawberry.field(default_factory=list)
    forbid_open_incidents_upstream: bool = False
    require_deployment_to: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class StageInput:
    name: str
    gate: StageGateInput | None = None

    def to_domain(self) -> lifecycle.StageDefinition:
        g = self.gate or StageGateInput()
        return lifecycle.StageDefinition(
            self.name,
            lifecycle.StageGate(
                require_approved=g.require_approved,
                require_approver=g.require_approver,
                metric_thresholds=tuple(
                    DomainMetricRequirement(m.name, m.operator, m.threshold, m.split) for m in g.metric_thresholds
                ),
                forbid_open_incidents_upstream=g.forbid_open_incidents_upstream,
                require_deployment_to=tuple(g.require_deployment_to),
            ),
        )


@strawberry.input
class PromotionPolicyInput:
    approve: bool = False
    to_stage: str | None = None


@strawberry.type
class LifecycleQuery:
    @strawberry.field(description="A group's ordered stages and gates (null when the group does not exist).")
    async def lifecycle(self, info: Info, group: str) -> Lifecycle | None:
        found = await info.context.services.lifecycle.stages(info.context.principal, group)
        return Lifecycle.from_model(found) if found else None

    @strawberry.field(description="Every stage transition of a version, oldest first, with its evidence.")
    async def stage_history(self, info: Info, id: strawberry.ID) -> list[StageTransition]:
        ref = NodeRef.parse(id)
        found = await info.context.services.lifecycle.history(info.context.principal, ref)
        return [StageTransition.from_model(t) for t in found]

    @strawberry.field(description="A group's automated promotion policy (null when the group does not exist).")
    async def promotion_policy(self, info: Info, group: str) -> PromotionPolicy | None:
        found = await info.context.services.promotion.policy(info.context.principal, group)
        return _promotion(group, found) if found else None


@strawberry.type
class LifecycleMutation:
    @strawberry.mutation(description="Set a group's ordered stages and their gates (admin; Production is required).")
    async def set_lifecycle_stages(self, info: Info, group: str, stages: list[StageInput]) -> Lifecycle | None:
        policy = lifecycle.LifecyclePolicy(tuple(s.to_domain() for s in stages))
        saved = await info.context.services.lifecycle.set_stages(info.context.principal, group, policy)
        return Lifecycle.from_model(saved)

    @strawberry.mutation(
        description="Move a version to a stage (as SageMaker's ModelLifeCycle). The stage's gate must be met; a "
        "refusal lists every unmet condition."
    )
    async def set_model_version_stage(
        self,
        info: Info,
        id: strawberry.ID,
        stage: str,
        stage_status: str | None = None,
        stage_description: str | None = None,
    ) -> ModelVersion | None:
        version = await info.context.services.lifecycle.set_stage(
            info.context.principal, NodeRef.parse(id), stage, stage_status, stage_description
        )
        return ModelVersion.from_model(version)

    @strawberry.mutation(
        description="Clear the open incident of a dataset version (approver); automated promotion then looks again "
        "at the model versions downstream, which are returned."
    )
    async def clear_dataset_incident(self, info: Info, id: strawberry.ID, comment: str) -> list[ModelVersion] | None:
        versions = await info.context.services.incidents.clear(info.context.principal, NodeRef.parse(id), comment)
        return [ModelVersion.from_model(v) for v in versions]

    @strawberry.mutation(
        description="Let the server approve and/or promote versions when the group's rules are met (admin)."
    )
    async def set_promotion_policy(
        self, info: Info, group: str, policy: PromotionPolicyInput
    ) -> PromotionPolicy | None:
        saved = await info.context.services.promotion.set_policy(
            info.context.principal, group, promotion.PromotionPolicy(policy.approve, policy.to_stage)
        )
        return _promotion(group, saved)


def _promotion(group: str, p: promotion.PromotionPolicy) -> PromotionPolicy:
    return PromotionPolicy(approve=p.approve, to_stage=p.to_stage, principal=promotion.policy_principal(group).name)
