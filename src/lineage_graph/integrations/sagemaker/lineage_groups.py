"""SageMaker's lineage groups, read-only: each model package group is the lineage group of the same name (the
lineage of its packages), with the group's resource policy as the lineage group's policy. SageMaker creates
lineage groups itself (there is no CreateLineageGroup), and so do we: creating a model package group."""

from __future__ import annotations

from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.models import ModelGroup
from lineage_graph.domain.queries import page
from lineage_graph.domain.sagemaker import ArnScope
from lineage_graph.domain.sagemaker_search import Condition, all_of
from lineage_graph.integrations.sagemaker.call import Call, Operation, Result
from lineage_graph.integrations.sagemaker.shapes import Params, epoch, from_epoch, paging, required_text, text

_PREFIX = "lineage-group/"
FIELD = "LineageGroupName"


def _arn(arns: ArnScope, name: str) -> str:
    return arns.arn(_PREFIX + name)


def _name(call: Call, params: Params) -> tuple[str, ArnScope]:
    """A lineage group's name (or its ARN, which keeps its region)."""
    value = required_text(params, FIELD)
    if not value.startswith("arn:"):
        return value, call.arns
    _, sep, name = value.partition(":" + _PREFIX)
    if not sep or not name or "/" in name:
        raise ValidationFailed.field(FIELD, "is not a lineage group name or ARN")
    return name, call.arns.of_arn(value)


def _summary(arns: ArnScope, group: ModelGroup) -> Result:
    return {
        "LineageGroupArn": _arn(arns, group.name),
        "LineageGroupName": group.name,
        "DisplayName": group.name,
        "CreationTime": epoch(group.created_at),
        "LastModifiedTime": epoch(group.updated_at),
    }


async def list_lineage_groups(call: Call, params: Params) -> Result:
    pg = paging(params)
    sorts = {"Name": "ModelPackageGroupName", "CreationTime": "CreationTime"}
    sort = text(params, "SortBy") or "CreationTime"
    if sort not in sorts:
        raise ValidationFailed.field("SortBy", "must be Name or CreationTime")
    order = text(params, "SortOrder") or "Ascending"
    if order not in ("Ascending", "Descending"):
        raise ValidationFailed.field("SortOrder", "must be Ascending or Descending")
    after, before = from_epoch(params, "CreatedAfter"), from_epoch(params, "CreatedBefore")
    expr = all_of(
        Condition("CreationTime", "GreaterThan", after) if after else None,
        Condition("CreationTime", "LessThan", before) if before else None,
    )
    groups, total = await call.services.sagemaker_registry.search_groups(
        call.principal, expr, sorts[sort], order == "Descending", page(pg.limit, pg.offset)
    )
    result: Result = {"LineageGroupSummaries": [_summary(call.arns, g) for g in groups]}
    token = pg.next_token(len(groups), pg.offset + len(groups) < total)
    if token:
        result["NextToken"] = token
    return result


async def describe_lineage_group(call: Call, params: Params) -> Result:
    name, arns = _name(call, params)
    group = await call.services.sagemaker_registry.live_group(call.principal, name, FIELD)
    shape = _summary(arns, group)
    if group.description:
        shape["Description"] = group.description
    if group.created_by:
        shape["CreatedBy"] = {"UserProfileName": group.created_by}
    return shape


async def get_lineage_group_policy(call: Call, params: Params) -> Result:
    name, arns = _name(call, params)
    policy = await call.services.sagemaker_registry.group_policy(call.principal, name, FIELD)
    if policy is None:
        raise ValidationFailed.field(FIELD, f"lineage group {name} has no resource policy")
    return {"LineageGroupArn": _arn(arns, name), "ResourcePolicy": policy}


OPERATIONS: dict[str, Operation] = {
    "ListLineageGroups": list_lineage_groups,
    "DescribeLineageGroup": describe_lineage_group,
    "GetLineageGroupPolicy": get_lineage_group_policy,
}
