"""Model package groups and model packages: read the request shape, call the services, render SageMaker's."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from lineage_graph.domain.commands import (
    CodeVersionSpec,
    CreateModelGroup,
    RegisterModelVersion,
    RunSpec,
    UpdateModelVersion,
)
from lineage_graph.domain.errors import AlreadyExists, DomainError, PolicyNotMet, ValidationFailed
from lineage_graph.domain.ids import NodeRef
from lineage_graph.domain.models import ApprovalStatus
from lineage_graph.domain.registry import Checker
from lineage_graph.domain.sagemaker import (
    PREFIX,
    approval_from_aws,
    approval_progress,
    group_name,
    package_ref,
    package_spec,
    tag_string,
    tags_from_aws,
)
from lineage_graph.domain.sagemaker_lifecycle import is_current, stage_change
from lineage_graph.domain.sagemaker_search import FIELDS as SEARCH_FIELDS
from lineage_graph.domain.sagemaker_search import Condition, Expression, Resource, all_of, parse_expression
from lineage_graph.domain.sagemaker_search import sort_field as search_sort_field
from lineage_graph.integrations.sagemaker.call import Call, Operation, Params, Reply, Result
from lineage_graph.integrations.sagemaker.shapes import (
    customer_properties,
    from_epoch,
    group_shape,
    obj,
    package_shape,
    package_summary,
    paging,
    required_text,
    string_map,
    tags_shape,
    text,
)
from lineage_graph.services.registry import page

APPROVAL_HEADER = "x-lineage-graph-approval"


def tags_of(params: Params) -> tuple[str, ...]:
    return tuple(tag_string(k, v) for k, v in tags_from_aws(params.get("Tags") or []))


def _order(params: Params, allowed: dict[str, str], default: str) -> tuple[str, bool]:
    sort_by = text(params, "SortBy") or default
    if sort_by not in allowed:
        raise ValidationFailed.field("SortBy", f"must be one of {', '.join(allowed)}")
    order = text(params, "SortOrder") or "Ascending"
    if order not in ("Ascending", "Descending"):
        raise ValidationFailed.field("SortOrder", "must be Ascending or Descending")
    return allowed[sort_by], order == "Descending"


def _created(params: Params) -> list[Condition | None]:
    after, before = from_epoch(params, "CreationTimeAfter"), from_epoch(params, "CreationTimeBefore")
    return [
        Condition("CreationTime", "GreaterThan", after) if after else None,
        Condition("CreationTime", "LessThan", before) if before else None,
    ]


def _next(result: Result, token: str | None) -> Result:
    if token:
        result["NextToken"] = token
    return result


# ---- groups -----------------------------------------------------------------------------------------------
async def create_model_package_group(call: Call, params: Params) -> Result:
    name = required_text(params, "ModelPackageGroupName")
    description = text(params, "ModelPackageGroupDescription")
    try:
        group = await call.services.registry.create_group(
            call.principal, CreateModelGroup(name=name, description=description, tags=tags_of(params))
        )
    except AlreadyExists:
        # A deleted group's name is kept with its history; creating it again brings it back.
        restored = await call.services.sagemaker_registry.restore_group(call.principal, name, description)
        if restored is None:
            raise
        group = restored
    return {"ModelPackageGroupArn": call.arns.group_arn(group.name)}


async def describe_model_package_group(call: Call, params: Params) -> Result:
    name = group_name(required_text(params, "ModelPackageGroupName"), "ModelPackageGroupName")
    group = await call.services.sagemaker_registry.live_group(call.principal, name)
    shape = group_shape(group, call.arns)
    if group.created_by:
        shape["CreatedBy"] = {"UserProfileName": group.created_by}
    return shape


async def list_model_package_groups(call: Call, params: Params) -> Result:
    pg = paging(params)
    sort, descending = _order(params, {"Name": "ModelPackageGroupName", "CreationTime": "CreationTime"}, "CreationTime")
    name = text(params, "NameContains")
    expr = all_of(Condition("ModelPackageGroupName", "Contains", name) if name else None, *_created(params))
    groups, total = await call.services.sagemaker_registry.search_groups(
        call.principal, expr, sort, descending, page(pg.limit, pg.offset)
    )
    result: Result = {"ModelPackageGroupSummaryList": [group_shape(g, call.arns) for g in groups]}
    return _next(result, pg.next_token(len(groups), pg.offset + len(groups) < total))


async def delete_model_package_group(call: Call, params: Params) -> Result:
    name = group_name(required_text(params, "ModelPackageGroupName"), "ModelPackageGroupName")
    actor = await call.services.sagemaker_registry.as_seen_by_group(call.principal, name)
    await call.services.sagemaker_registry.delete_group(actor, name)
    return {}


async def put_model_package_group_policy(call: Call, params: Params) -> Result:
    name = group_name(required_text(params, "ModelPackageGroupName"), "ModelPackageGroupName")
    document = required_text(params, "ResourcePolicy")
    await call.services.sagemaker_registry.put_group_policy(
        call.principal, name, document, call.arns.group_arn(name), call.arns.arn(f"model-package/{name}/")
    )
    return {"ModelPackageGroupArn": call.arns.group_arn(name)}


async def get_model_package_group_policy(call: Call, params: Params) -> Result:
    name = group_name(required_text(params, "ModelPackageGroupName"), "ModelPackageGroupName")
    policy = await call.services.sagemaker_registry.group_policy(call.principal, name)
    if policy is None:
        raise ValidationFailed.field("ModelPackageGroupName", f"model package group {name} has no resource policy")
    return {"ResourcePolicy": policy}


async def delete_model_package_group_policy(call: Call, params: Params) -> Result:
    name = group_name(required_text(params, "ModelPackageGroupName"), "ModelPackageGroupName")
    await call.services.sagemaker_registry.delete_group_policy(call.principal, name)
    return {}


# ---- packages ---------------------------------------------------------------------------------------------
async def _gated(step: Awaitable[object]) -> None:
    """A stage gate's refusal is SageMaker's ValidationException naming every unmet gate (the approval's
    refusals stay ConflictException)."""
    try:
        await step
    except PolicyNotMet as exc:
        raise ValidationFailed(exc.message, exc.problems) from None


def _containers(spec: Params, field: str) -> list[Params]:
    containers = obj(spec, field).get("Containers") or []
    if not isinstance(containers, list) or not all(isinstance(c, dict) for c in containers):
        raise ValidationFailed.field(f"{field}.Containers", "must be a list of container objects")
    return containers


async def create_model_package(call: Call, params: Params) -> Result:
    group = text(params, "ModelPackageGroupName")
    if group is None:
        raise ValidationFailed.field("ModelPackageGroupName", "is required: only versioned model packages exist here")
    group = group_name(group, "ModelPackageGroupName")
    sm = call.services.sagemaker_registry
    actor = await sm.as_seen_by_group(call.principal, group)
    status = text(params, "ModelApprovalStatus")
    if status is not None and approval_from_aws(status) is not ApprovalStatus.PENDING_MANUAL_APPROVAL:
        raise ValidationFailed.field(
            "ModelApprovalStatus",
            "a new model package starts as PendingManualApproval; approve it with UpdateModelPackage",
        )
    containers = _containers(params, "InferenceSpecification")
    first: Params = containers[0] if containers else {}
    where = "InferenceSpecification.Containers[0]"
    artifact = text(first, "ModelDataUrl", path=f"{where}.ModelDataUrl") or text(params, "SourceUri")
    if artifact is None:
        raise ValidationFailed.field(f"{where}.ModelDataUrl", "is required (the model artifact's URI)", "REQUIRED")
    props = customer_properties(params)
    metadata = string_map(params, "MetadataProperties")
    code = None
    if "CommitId" in metadata or "Repository" in metadata:
        if not metadata.get("CommitId") or not metadata.get("Repository"):
            raise ValidationFailed.field("MetadataProperties", "CommitId and Repository go together")
        code = CodeVersionSpec(metadata["Repository"], metadata["CommitId"])
    generated_by = metadata.get("GeneratedBy")
    tags = tags_of(params)
    await sm.live_group(actor, group)
    lifecycle = call.services.lifecycle
    policy, change = None, None
    if params.get("ModelLifeCycle") is not None:
        policy = await lifecycle.policy(actor, group)
        change = stage_change(params["ModelLifeCycle"], policy)
    reports = await sm.read_reports(actor, group, obj(params, "ModelMetrics"))
    if change is not None:
        # Checked before anything is written, as the new version will stand.
        await _gated(lifecycle.check_registration(actor, group, change, reports.metrics))
    version = await call.services.registry.register_version(
        actor,
        RegisterModelVersion(
            group=group,
            artifact_uri=artifact,
            framework=text(first, "Framework", path=f"{where}.Framework"),
            framework_version=text(first, "FrameworkVersion", path=f"{where}.FrameworkVersion"),
            description=text(params, "ModelPackageDescription"),
            metrics=tuple(reports.metrics),
            custom_properties={**props, **reports.properties},
            tags=tags,
            produced_by=RunSpec(generated_by) if generated_by else None,
            code=code,
            client_token=text(params, "ClientToken"),
            # ModelLifeCycle is the version's stage, not a copy beside it.
            external_spec={k: v for k, v in package_spec(params).items() if k != "ModelLifeCycle"},
        ),
    )
    # Only a version never moved yet: a retried request (same ClientToken) must not undo a later move.
    if change is not None and policy is not None and version.stage_status is None:
        await _gated(lifecycle.set_stage(actor, version.ref, change.stage, change.status, change.description))
    return {"ModelPackageArn": call.arns.package_arn(version.group, version.version)}


async def describe_model_package(call: Call, params: Params) -> Result:
    name = required_text(params, "ModelPackageName")
    ref = package_ref(name, "ModelPackageName")
    view = await call.services.sagemaker_registry.package(call.principal, ref)
    return package_shape(view, call.arns.of_arn(name))


async def batch_describe_model_package(call: Call, params: Params) -> Result:
    arns = params.get("ModelPackageArnList")
    if not isinstance(arns, list) or not 1 <= len(arns) <= 100 or not all(isinstance(a, str) for a in arns):
        raise ValidationFailed.field("ModelPackageArnList", "must list 1-100 model package ARNs")
    refs: dict[str, NodeRef] = {}
    errors: dict[str, dict[str, str]] = {}
    for arn in arns:
        try:
            refs[arn] = package_ref(arn, "ModelPackageArnList")
        except DomainError as exc:
            errors[arn] = {"ErrorCode": "ValidationException", "ErrorResponse": exc.message}
    views = await call.services.sagemaker_registry.packages(call.principal, list(refs.values()))
    summaries: dict[str, Any] = {}
    for arn, ref in refs.items():
        view = views.get(ref)
        if view is None:
            errors[arn] = {"ErrorCode": "ResourceNotFound", "ErrorResponse": f"model package {arn} does not exist"}
            continue
        shape = package_shape(view, call.arns.of_arn(arn))
        summaries[arn] = {
            k: shape[k]
            for k in (
                "ModelPackageGroupName",
                "ModelPackageVersion",
                "ModelPackageArn",
                "ModelPackageDescription",
                "CreationTime",
                "InferenceSpecification",
                "ModelPackageStatus",
                "ModelApprovalStatus",
                "ModelPackageRegistrationType",
            )
            if k in shape
        }
    return {"ModelPackageSummaries": summaries, "BatchDescribeModelPackageErrorMap": errors}


async def list_model_packages(call: Call, params: Params) -> Result:
    pg = paging(params)
    sort, descending = _order(params, {"Name": "ModelPackageName", "CreationTime": "CreationTime"}, "CreationTime")
    kind = text(params, "ModelPackageType") or "Both"
    if kind not in ("Versioned", "Unversioned", "Both"):
        raise ValidationFailed.field("ModelPackageType", "must be Versioned, Unversioned or Both")
    status = text(params, "ModelApprovalStatus")
    group = text(params, "ModelPackageGroupName")
    name = text(params, "NameContains")
    if kind == "Unversioned":  # every package here belongs to a group
        return {"ModelPackageSummaryList": []}
    # NameContains is a filter of the query, so every page is full until the last.
    expr = all_of(
        Condition("ModelPackageGroupName", "Equals", group_name(group, "ModelPackageGroupName")) if group else None,
        Condition("ModelApprovalStatus", "Equals", approval_from_aws(status).value) if status else None,
        Condition("ModelPackageName", "Contains", name) if name else None,
        *_created(params),
    )
    versions, total = await call.services.sagemaker_registry.search_versions(
        call.principal, expr, sort, descending, page(pg.limit, pg.offset)
    )
    result: Result = {"ModelPackageSummaryList": [package_summary(v, call.arns) for v in versions]}
    return _next(result, pg.next_token(len(versions), pg.offset + len(versions) < total))


_SPEC_UPDATES = ("InferenceSpecification", "SourceUri", "ModelCard", "ModelPackageRegistrationType")


async def update_model_package(call: Call, params: Params) -> Result | Reply:
    arn = required_text(params, "ModelPackageArn")
    ref = package_ref(arn, "ModelPackageArn")
    group = str(ref.parts[0])
    sm = call.services.sagemaker_registry
    actor = await sm.as_seen_by_group(call.principal, group)
    view = await sm.package(actor, ref, "ModelPackageArn")
    # Everything is read and checked before anything is written.
    props = customer_properties(params)
    check = Checker()
    check.string_map("CustomerMetadataProperties", props)
    check.done()
    remove = params.get("CustomerMetadataPropertiesToRemove") or []
    if not isinstance(remove, list) or not all(isinstance(k, str) and not k.startswith(PREFIX) for k in remove):
        raise ValidationFailed.field("CustomerMetadataPropertiesToRemove", "must list customer property keys")
    status_text = text(params, "ModelApprovalStatus")
    status = approval_from_aws(status_text) if status_text is not None else None
    comment = text(params, "ApprovalDescription")
    if comment is not None and status is None:
        raise ValidationFailed.field("ApprovalDescription", "describes a decision: give ModelApprovalStatus with it")
    spec_changes = {k: params[k] for k in _SPEC_UPDATES if params.get(k) is not None}
    if "InferenceSpecification" in spec_changes:
        containers = _containers(params, "InferenceSpecification")
        url = containers[0].get("ModelDataUrl") if containers else None
        if url is not None and url != view.version.artifact_uri:
            raise ValidationFailed.field(
                "InferenceSpecification.Containers[0].ModelDataUrl",
                "a version's model artifact cannot change; register a new model package",
            )
    added = params.get("AdditionalInferenceSpecificationsToAdd")
    if added is not None and (not isinstance(added, list) or not all(isinstance(a, dict) for a in added)):
        raise ValidationFailed.field("AdditionalInferenceSpecificationsToAdd", "must be a list of objects")
    stage = None
    if params.get("ModelLifeCycle") is not None:
        policy = await call.services.lifecycle.policy(actor, group)
        stage = stage_change(params["ModelLifeCycle"], policy)
        if is_current(view.version, stage, policy):
            stage = None  # SageMaker accepts setting what is already set
    if stage is not None:
        # The gate is checked before the approval is written, as the version will stand after it.
        assume = status if status is not None and status is not view.version.approval_status else None
        await _gated(call.services.lifecycle.check_stage(actor, ref, stage, assume))

    headers: dict[str, str] = {}
    if status is not None and status is not view.version.approval_status:
        if status is ApprovalStatus.APPROVED:
            result = await call.services.approvals.approve(actor, ref, comment)
        elif status is ApprovalStatus.REJECTED:
            result = await call.services.approvals.reject(actor, ref, comment)
        else:
            raise ValidationFailed.field(
                "ModelApprovalStatus", "a decided version cannot go back to PendingManualApproval"
            )
        if result.version.approval_status is not status:
            after = await sm.package(actor, ref, "ModelPackageArn")
            headers[APPROVAL_HEADER] = approval_progress(
                len(after.approvers), after.min_approvers, list(after.approvers)
            )
    if props or remove:
        await call.services.registry.update_version(
            actor, UpdateModelVersion(ref, custom_properties=props, remove_custom_properties=tuple(remove))
        )
    if spec_changes or added:

        def change(current: Params) -> dict[str, Any]:
            new = {**current, **spec_changes}
            if added:
                new["AdditionalInferenceSpecifications"] = [
                    *current.get("AdditionalInferenceSpecifications", []),
                    *added,
                ]
            return new

        await sm.update_spec(actor, ref, change)
    if stage is not None:
        await _gated(call.services.lifecycle.set_stage(actor, ref, stage.stage, stage.status, stage.description))
    body = {"ModelPackageArn": call.arns.of_arn(arn).package_arn(group, int(ref.parts[1]))}
    return Reply(body, headers) if headers else body


async def delete_model_package(call: Call, params: Params) -> Result:
    ref = package_ref(required_text(params, "ModelPackageName"), "ModelPackageName")
    actor = await call.services.sagemaker_registry.as_seen_by_group(call.principal, str(ref.parts[0]))
    await call.services.sagemaker_registry.delete_version(actor, ref)
    return {}


# ---- Search -------------------------------------------------------------------------------------------------
async def search(call: Call, params: Params) -> Result:
    try:
        resource = Resource(required_text(params, "Resource"))
    except ValueError:
        raise ValidationFailed.field("Resource", "Search covers ModelPackage and ModelPackageGroup here") from None
    pg = paging(params, maximum=100)
    expr: Expression = parse_expression(resource, params.get("SearchExpression"))
    sort = search_sort_field(resource, text(params, "SortBy"))
    order = text(params, "SortOrder") or "Descending"
    if order not in ("Ascending", "Descending"):
        raise ValidationFailed.field("SortOrder", "must be Ascending or Descending")
    sm = call.services.sagemaker_registry
    window, descending = page(pg.limit, pg.offset), order == "Descending"
    results: list[Result] = []
    if resource is Resource.MODEL_PACKAGE:
        versions, total = await sm.search_versions(call.principal, expr, sort, descending, window)
        views = await sm.packages(call.principal, [v.ref for v in versions])
        for version in versions:
            view = views.get(version.ref)
            if view is None:  # deleted between the two reads
                continue
            shape = package_shape(view, call.arns)
            shape["Tags"] = tags_shape(version.tags)
            results.append({"ModelPackage": shape})
        returned = len(versions)
    else:
        groups, total = await sm.search_groups(call.principal, expr, sort, descending, window)
        for group in groups:
            shape = group_shape(group, call.arns)
            if group.created_by:
                shape["CreatedBy"] = {"UserProfileName": group.created_by}
            shape["Tags"] = tags_shape(group.tags)
            results.append({"ModelPackageGroup": shape})
        returned = len(groups)
    result: Result = {"Results": results, "TotalHits": {"Value": total, "Relation": "EqualTo"}}
    return _next(result, pg.next_token(returned, pg.offset + returned < total))


async def get_search_suggestions(call: Call, params: Params) -> Result:
    call.services.registry.check_read(call.principal)
    try:
        resource = Resource(required_text(params, "Resource"))
    except ValueError:
        raise ValidationFailed.field("Resource", "suggestions cover ModelPackage and ModelPackageGroup here") from None
    hint = text(obj(params, "SuggestionQuery").get("PropertyNameQuery") or {}, "PropertyNameHint") or ""
    names = [*SEARCH_FIELDS[resource], "Tags."]
    return {"PropertyNameSuggestions": [{"PropertyName": n} for n in names if n.startswith(hint)]}


OPERATIONS: dict[str, Operation] = {
    "CreateModelPackageGroup": create_model_package_group,
    "DescribeModelPackageGroup": describe_model_package_group,
    "ListModelPackageGroups": list_model_package_groups,
    "DeleteModelPackageGroup": delete_model_package_group,
    "PutModelPackageGroupPolicy": put_model_package_group_policy,
    "GetModelPackageGroupPolicy": get_model_package_group_policy,
    "DeleteModelPackageGroupPolicy": delete_model_package_group_policy,
    "CreateModelPackage": create_model_package,
    "DescribeModelPackage": describe_model_package,
    "BatchDescribeModelPackage": batch_describe_model_package,
    "ListModelPackages": list_model_packages,
    "UpdateModelPackage": update_model_package,
    "DeleteModelPackage": delete_model_package,
    "Search": search,
    "GetSearchSuggestions": get_search_suggestions,
}
