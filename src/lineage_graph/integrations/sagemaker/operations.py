"""One function per SageMaker operation: read the request shape, call a service, render the response shape."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lineage_graph.domain.auth import Principal
from lineage_graph.domain.commands import (
    CodeVersionSpec,
    CreateModelGroup,
    RegisterModelVersion,
    RunSpec,
    UpdateModelVersion,
)
from lineage_graph.domain.errors import NotFound, ValidationFailed
from lineage_graph.domain.ids import NodeRef
from lineage_graph.domain.models import ApprovalStatus
from lineage_graph.domain.sagemaker import (
    PROP_APPROVAL_DESCRIPTION,
    PROP_IMAGE,
    ArnScope,
    approval_from_aws,
    association_type,
    group_name,
    lineage_type,
    package_ref,
    parse_arn,
    vertex_type,
)
from lineage_graph.integrations.sagemaker.shapes import (
    PROP_MODEL_METRICS,
    PROP_PROJECT_ID,
    Params,
    customer_properties,
    epoch,
    from_epoch,
    group_shape,
    lifecycle_properties,
    obj,
    package_shape,
    package_summary,
    paging,
    required_text,
    string_map,
    text,
)
from lineage_graph.services.container import Services
from lineage_graph.services.registry import page
from lineage_graph.services.sagemaker import ArtifactSpec, Direction
from lineage_graph.store.registry import GroupFilter, VersionFilter

Result = dict[str, Any]


@dataclass(frozen=True)
class Call:
    services: Services
    principal: Principal
    arns: ArnScope


def _sort(params: Params, allowed: dict[str, str], default: str) -> tuple[str, bool]:
    sort_by = text(params, "SortBy") or default
    if sort_by not in allowed:
        raise ValidationFailed.field("SortBy", f"must be one of {', '.join(allowed)}")
    order = text(params, "SortOrder") or "Ascending"
    if order not in ("Ascending", "Descending"):
        raise ValidationFailed.field("SortOrder", "must be Ascending or Descending")
    return allowed[sort_by], order == "Descending"


# ---- model package groups ---------------------------------------------------------------------------------
async def create_model_package_group(call: Call, params: Params) -> Result:
    tags = tuple(_tags(params))
    group = await call.services.registry.create_group(
        call.principal,
        CreateModelGroup(
            name=required_text(params, "ModelPackageGroupName"),
            description=text(params, "ModelPackageGroupDescription"),
            tags=tags,
        ),
    )
    return {"ModelPackageGroupArn": call.arns.group_arn(group.name)}


async def describe_model_package_group(call: Call, params: Params) -> Result:
    name = group_name(required_text(params, "ModelPackageGroupName"), "ModelPackageGroupName")
    group = await call.services.registry.group(call.principal, name)
    if group is None:
        raise NotFound("model package group", name, "ModelPackageGroupName")
    shape = group_shape(group, call.arns)
    if group.created_by:
        shape["CreatedBy"] = {"UserProfileName": group.created_by}
    return shape


async def list_model_package_groups(call: Call, params: Params) -> Result:
    pg = paging(params)
    sort, descending = _sort(params, {"Name": "NAME", "CreationTime": "CREATED_AT"}, "CreationTime")
    groups, total = await call.services.registry.list_groups(
        call.principal,
        GroupFilter(name_contains=text(params, "NameContains")),
        sort,
        descending,
        page(pg.limit, pg.offset),
    )
    result: Result = {"ModelPackageGroupSummaryList": [group_shape(g, call.arns) for g in groups]}
    token = pg.next_token(len(groups), pg.offset + len(groups) < total)
    if token:
        result["NextToken"] = token
    return result


# ---- model packages --------------------------------------------------------------------------------------
async def create_model_package(call: Call, params: Params) -> Result:
    group = text(params, "ModelPackageGroupName")
    if group is None:
        raise ValidationFailed.field("ModelPackageGroupName", "is required: only versioned model packages exist here")
    group = group_name(group, "ModelPackageGroupName")
    status = text(params, "ModelApprovalStatus")
    if status is not None and approval_from_aws(status) is not ApprovalStatus.PENDING_MANUAL_APPROVAL:
        raise ValidationFailed.field(
            "ModelApprovalStatus",
            "a new model package starts as PendingManualApproval; approve it with UpdateModelPackage",
        )
    containers = obj(params, "InferenceSpecification").get("Containers") or [{}]
    container = containers[0] if isinstance(containers, list) and isinstance(containers[0], dict) else {}
    artifact = text(container, "ModelDataUrl", path="InferenceSpecification.Containers[0].ModelDataUrl") or text(
        params, "SourceUri"
    )
    if artifact is None:
        raise ValidationFailed.field(
            "InferenceSpecification.Containers[0].ModelDataUrl", "is required (the model artifact's URI)", "REQUIRED"
        )
    props = customer_properties(params)
    image = text(container, "Image", path="InferenceSpecification.Containers[0].Image")
    if image:
        props[PROP_IMAGE] = image
    props.update(lifecycle_properties(params))
    metrics = obj(params, "ModelMetrics")
    if metrics:
        props[PROP_MODEL_METRICS] = json.dumps(metrics, sort_keys=True, separators=(",", ":"))
    metadata = string_map(params, "MetadataProperties")
    if "ProjectId" in metadata:
        props[PROP_PROJECT_ID] = metadata["ProjectId"]
    code = None
    if "CommitId" in metadata or "Repository" in metadata:
        if not metadata.get("CommitId") or not metadata.get("Repository"):
            raise ValidationFailed.field("MetadataProperties", "CommitId and Repository go together")
        code = CodeVersionSpec(metadata["Repository"], metadata["CommitId"])
    generated_by = metadata.get("GeneratedBy")
    version = await call.services.registry.register_version(
        call.principal,
        RegisterModelVersion(
            group=group,
            artifact_uri=artifact,
            framework=text(container, "Framework", path="InferenceSpecification.Containers[0].Framework"),
            framework_version=text(
                container, "FrameworkVersion", path="InferenceSpecification.Containers[0].FrameworkVersion"
            ),
            description=text(params, "ModelPackageDescription"),
            custom_properties=props,
            tags=tuple(_tags(params)),
            produced_by=RunSpec(generated_by) if generated_by else None,
            code=code,
            client_token=text(params, "ClientToken"),
        ),
    )
    return {"ModelPackageArn": call.arns.package_arn(version.group, version.version)}


async def describe_model_package(call: Call, params: Params) -> Result:
    ref = package_ref(required_text(params, "ModelPackageName"), "ModelPackageName")
    version = await call.services.registry.version(call.principal, ref)
    lineage = await call.services.sagemaker.model_lineage(call.principal, ref)
    return package_shape(version, lineage, call.arns)


async def list_model_packages(call: Call, params: Params) -> Result:
    pg = paging(params)
    sort, descending = _sort(params, {"Name": "NAME", "CreationTime": "CREATED_AT"}, "CreationTime")
    kind = text(params, "ModelPackageType") or "Both"
    if kind not in ("Versioned", "Unversioned", "Both"):
        raise ValidationFailed.field("ModelPackageType", "must be Versioned, Unversioned or Both")
    status = text(params, "ModelApprovalStatus")
    group = text(params, "ModelPackageGroupName")
    flt = VersionFilter(
        group=group_name(group, "ModelPackageGroupName") if group else None,
        approval_status=approval_from_aws(status) if status else None,
        created_after=from_epoch(params, "CreationTimeAfter"),
        created_before=from_epoch(params, "CreationTimeBefore"),
    )
    if kind == "Unversioned":  # every package here belongs to a group
        return {"ModelPackageSummaryList": []}
    versions, total = await call.services.registry.list_versions(
        call.principal, flt, sort, descending, page(pg.limit, pg.offset)
    )
    name_contains = (text(params, "NameContains") or "").lower()
    summaries = [package_summary(v, call.arns) for v in versions if name_contains in v.group.lower()]
    result: Result = {"ModelPackageSummaryList": summaries}
    token = pg.next_token(len(versions), pg.offset + len(versions) < total)
    if token:
        result["NextToken"] = token
    return result


async def update_model_package(call: Call, params: Params) -> Result:
    ref = package_ref(required_text(params, "ModelPackageArn"), "ModelPackageArn")
    props = customer_properties(params)
    props.update(lifecycle_properties(params))
    remove = params.get("CustomerMetadataPropertiesToRemove") or []
    if not isinstance(remove, list) or not all(isinstance(k, str) and not k.startswith("sagemaker:") for k in remove):
        raise ValidationFailed.field("CustomerMetadataPropertiesToRemove", "must list customer property keys")
    status = text(params, "ModelApprovalStatus")
    comment = text(params, "ApprovalDescription")
    if comment:
        props[PROP_APPROVAL_DESCRIPTION] = comment
    if status is not None:
        await _decide(call, ref, approval_from_aws(status), comment)
    if props or remove:
        await call.services.registry.update_version(
            call.principal,
            UpdateModelVersion(ref, custom_properties=props, remove_custom_properties=tuple(remove)),
        )
    return {"ModelPackageArn": call.arns.package_arn(str(ref.parts[0]), int(ref.parts[1]))}


async def _decide(call: Call, ref: NodeRef, status: ApprovalStatus, comment: str | None) -> None:
    """Approvals go through the approval workflow, so four-eyes and the group's policy hold here too."""
    if status is ApprovalStatus.APPROVED:
        await call.services.approvals.approve(call.principal, ref, comment)
    elif status is ApprovalStatus.REJECTED:
        await call.services.approvals.reject(call.principal, ref, comment)
    else:
        raise ValidationFailed.field("ModelApprovalStatus", "a decided version cannot go back to PendingManualApproval")


# ---- lineage ----------------------------------------------------------------------------------------------
async def create_artifact(call: Call, params: Params) -> Result:
    source = obj(params, "Source")
    ids = {}
    for i, item in enumerate(source.get("SourceTypes") or []):
        if not isinstance(item, dict):
            raise ValidationFailed.field(f"Source.SourceTypes[{i}]", "must be an object")
        ids[required_text(item, "SourceIdType", f"Source.SourceTypes[{i}].SourceIdType")] = required_text(
            item, "Value", f"Source.SourceTypes[{i}].Value"
        )
    ref = await call.services.sagemaker.create_artifact(
        call.principal,
        ArtifactSpec(
            uri=required_text(source, "SourceUri", "Source.SourceUri"),
            artifact_type=text(params, "ArtifactType"),
            name=text(params, "ArtifactName"),
            source_ids=ids,
        ),
    )
    return {"ArtifactArn": call.arns.node_arn(ref)}


async def create_action(call: Call, params: Params) -> Result:
    ref = await call.services.sagemaker.create_action(
        call.principal,
        required_text(params, "ActionName"),
        text(params, "ActionType"),
        text(params, "Status"),
        string_map(params, "Properties"),
    )
    return {"ActionArn": call.arns.node_arn(ref)}


async def create_context(call: Call, params: Params) -> Result:
    job = await call.services.sagemaker.create_context(
        call.principal,
        required_text(params, "ContextName"),
        text(params, "ContextType"),
        text(params, "Description"),
        text(obj(params, "Source"), "SourceUri", path="Source.SourceUri"),
    )
    return {"ContextArn": call.arns.node_arn(job.ref)}


async def add_association(call: Call, params: Params) -> Result:
    source_arn = required_text(params, "SourceArn")
    destination_arn = required_text(params, "DestinationArn")
    await call.services.sagemaker.add_association(
        call.principal,
        parse_arn(source_arn, "SourceArn"),
        parse_arn(destination_arn, "DestinationArn"),
        text(params, "AssociationType") or "AssociatedWith",
    )
    return {"SourceArn": source_arn, "DestinationArn": destination_arn}


async def list_associations(call: Call, params: Params) -> Result:
    pg = paging(params)
    source = text(params, "SourceArn")
    destination = text(params, "DestinationArn")
    found = await call.services.sagemaker.list_associations(
        call.principal,
        parse_arn(source, "SourceArn") if source else None,
        parse_arn(destination, "DestinationArn") if destination else None,
        text(params, "AssociationType"),
        pg.offset,
        pg.limit + 1,
    )
    page_items = found[: pg.limit]
    summaries = []
    for a in page_items:
        summary: dict[str, Any] = {
            "SourceArn": call.arns.node_arn(a.source),
            "DestinationArn": call.arns.node_arn(a.destination),
            "SourceType": vertex_type(a.source.kind),
            "DestinationType": vertex_type(a.destination.kind),
            "AssociationType": association_type(a.edge, a.association_type),
            "SourceName": str(a.source),
            "DestinationName": str(a.destination),
        }
        if a.created_at is not None:
            summary["CreationTime"] = epoch(a.created_at)
        summaries.append(summary)
    result: Result = {"AssociationSummaries": summaries}
    token = pg.next_token(len(page_items), len(found) > pg.limit)
    if token:
        result["NextToken"] = token
    return result


async def query_lineage(call: Call, params: Params) -> Result:
    pg = paging(params)
    starts = params.get("StartArns") or []
    if not isinstance(starts, list) or not all(isinstance(s, str) for s in starts):
        raise ValidationFailed.field("StartArns", "must be a list of ARNs")
    try:
        direction = Direction(text(params, "Direction") or "Both")
    except ValueError:
        raise ValidationFailed.field("Direction", "must be Ascendants, Descendants or Both") from None
    depth = params.get("MaxDepth", 10)
    if not isinstance(depth, int) or isinstance(depth, bool):
        raise ValidationFailed.field("MaxDepth", "must be an integer")
    filters = obj(params, "Filters")
    wanted_types = set(filters.get("Types") or [])
    wanted_lineage = set(filters.get("LineageTypes") or [])
    walk = await call.services.sagemaker.query_lineage(
        call.principal, [parse_arn(s, f"StartArns[{i}]") for i, s in enumerate(starts)], direction, depth
    )
    vertices = [
        {"Arn": call.arns.node_arn(v), "Type": vertex_type(v.kind), "LineageType": lineage_type(v.kind).value}
        for v in walk.vertices
    ]
    vertices = [
        v
        for v in vertices
        if (not wanted_types or v["Type"] in wanted_types)
        and (not wanted_lineage or v["LineageType"] in wanted_lineage)
    ]
    page_items = vertices[pg.offset : pg.offset + pg.limit]
    result: Result = {"Vertices": page_items}
    include_edges = params.get("IncludeEdges", True)
    if include_edges:
        shown = {v["Arn"] for v in page_items}
        result["Edges"] = [
            {
                "SourceArn": call.arns.node_arn(e.source),
                "DestinationArn": call.arns.node_arn(e.destination),
                "AssociationType": association_type(e.edge, e.association_type),
            }
            for e in walk.edges
            if call.arns.node_arn(e.source) in shown or call.arns.node_arn(e.destination) in shown
        ]
    token = pg.next_token(len(page_items), pg.offset + len(page_items) < len(vertices))
    if token:
        result["NextToken"] = token
    return result


def _tags(params: Params) -> list[str]:
    tags = params.get("Tags") or []
    if not isinstance(tags, list):
        raise ValidationFailed.field("Tags", "must be a list of {Key, Value}")
    out = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, dict):
            raise ValidationFailed.field(f"Tags[{i}]", "must be {Key, Value}")
        key = required_text(tag, "Key", f"Tags[{i}].Key")
        value = text(tag, "Value", path=f"Tags[{i}].Value")
        out.append(f"{key}={value}" if value else key)
    return out


Operation = Callable[[Call, Params], Awaitable[Result]]

OPERATIONS: dict[str, Operation] = {
    "CreateModelPackageGroup": create_model_package_group,
    "DescribeModelPackageGroup": describe_model_package_group,
    "ListModelPackageGroups": list_model_package_groups,
    "CreateModelPackage": create_model_package,
    "DescribeModelPackage": describe_model_package,
    "ListModelPackages": list_model_packages,
    "UpdateModelPackage": update_model_package,
    "CreateArtifact": create_artifact,
    "CreateAction": create_action,
    "CreateContext": create_context,
    "AddAssociation": add_association,
    "ListAssociations": list_associations,
    "QueryLineage": query_lineage,
}
