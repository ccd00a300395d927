"""`ModelVersion.approvalReadiness`: what approving the version would take now, for the caller, without writing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from lineage_graph.domain import approval
from lineage_graph.domain.ids import NodeRef
from lineage_graph.graphql.context import Context

if TYPE_CHECKING:
    from lineage_graph.graphql.registry_types import ApprovalStatus

# The enum is registered with Strawberry by registry_types, which imports this module: referenced lazily.
Status = Annotated["ApprovalStatus", strawberry.lazy("lineage_graph.graphql.registry_types")]


@strawberry.type(description="One rule an approval would not meet now, with the reason.")
class UnmetRule:
    code: str = strawberry.field(
        description="MISSING_ROLE, FOUR_EYES, INVALID_TRANSITION, ALREADY_APPROVED, METRIC_MISSING, "
        "METRIC_THRESHOLD, MISSING_LINEAGE, FORBIDDEN_UPSTREAM_TAG, REQUIRED_UPSTREAM_TAG or LINEAGE_INCOMPLETE."
    )
    field: str | None = strawberry.field(description="What the rule is about, e.g. metrics.auc or lineage.")
    message: str


@strawberry.type(
    description="The server's evaluation, for the caller, of what approving this version would require now: "
    "the same rules an approval applies, on the same evidence, with nothing written."
)
class ApprovalReadiness:
    ready: bool = strawberry.field(description="An approval by the caller would be recorded now.")
    unmet: list[UnmetRule] = strawberry.field(description="Every rule not met, each with its reason.")
    status: Status = strawberry.field(description="The version's approval status now.")
    resulting_status: Status = strawberry.field(
        description="The status an approval by the caller would lead to (still pending when more approvers are needed)."
    )
    approvals: int = strawberry.field(description="Distinct approvals recorded in this approval round.")
    approvals_needed: int = strawberry.field(description="Distinct approvals the group's policy requires.")
    lineage_complete: bool = strawberry.field(
        description="The upstream walk behind the evidence reached everything (no limit cut it)."
    )


def to_readiness(r: approval.Readiness) -> ApprovalReadiness:
    return ApprovalReadiness(
        ready=r.ready,
        unmet=[UnmetRule(code=p.code, field=p.field, message=p.message) for p in r.problems],
        status=r.status,
        resulting_status=r.resulting_status,
        approvals=r.approvals,
        approvals_needed=r.approvals_needed,
        lineage_complete=r.lineage_complete,
    )


def readiness_field() -> Any:
    """The `approvalReadiness` field of `ModelVersion` (the root's `id` is its global id): one evaluation, and
    so one upstream walk, per version asked for."""

    async def resolve(root: Any, info: strawberry.Info[Context, None]) -> ApprovalReadiness:
        found = await info.context.services.approvals.readiness(info.context.principal, NodeRef.parse(str(root.id)))
        return to_readiness(found)

    return strawberry.field(
        resolver=resolve,
        description="What approving this version would require now, for the caller (nothing is written).",
    )
