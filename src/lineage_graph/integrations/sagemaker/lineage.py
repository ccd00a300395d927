"""SageMaker's lineage API: artifacts, actions and contexts (created, described, updated, deleted, listed),
associations between them, and QueryLineage over the same graph."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lineage_graph.domain.errors import NotFound, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.sagemaker import (
    JOB_NAMESPACE,
    association_type,
    lineage_type,
    parse_arn,
    tags_from_aws,
    vertex_type,
)
from lineage_graph.integrations.sagemaker.call import Call, Operation, Params, Result
from lineage_graph.integrations.sagemaker.shapes import epoch, from_epoch, obj, paging, required_text, string_map, text
from lineage_graph.services.sagemaker import ArtifactSpec, Direction
from lineage_graph.store.sagemaker_entities import EntityFields, EntityFilter, EntityRecord, Family

_ACTION_STATUS_OF_RUN = {
    "RUNNING": "InProgress",
    "COMPLETED": "Completed",
    "FAILED": "Failed",
    "ABORTED": "Stopped",
    "NEW": "Unknown",
    "OTHER": "Unknown",
}


def _next(result: Result, token: str | None) -> Result:
    if token:
        result["NextToken"] = token
    return result


async def _tag(call: Call, ref: NodeRef, params: Params) -> None:
    pairs = tags_from_aws(params.get("Tags") or [])
    if pairs:
        await call.services.sagemaker_registry.add_tags(call.principal, ref, pairs)


def _document(params: Params, names: tuple[str, ...]) -> dict[str, Any]:
    return {k: params[k] for k in names if params.get(k) is not None}


def _fields(doc: Mapping[str, Any], type_key: str, name_key: str | None) -> EntityFields:
    source = doc.get("Source") if isinstance(doc.get("Source"), Mapping) else {}
    return EntityFields(
        doc.get(type_key), doc.get(name_key) if name_key else None, source.get("SourceUri") if source else None
    )


async def _describe_as(call: Call, ref: NodeRef, doc: dict[str, Any], type_key: str, name_key: str | None) -> None:
    await call.services.sagemaker.write_entity(
        call.principal, ref, lambda _current: (doc, _fields(doc, type_key, name_key)), created=True
    )


# ---- artifacts --------------------------------------------------------------------------------------------
_ARTIFACT_DOC = ("ArtifactName", "Source", "ArtifactType", "Properties", "MetadataProperties")


async def create_artifact(call: Call, params: Params) -> Result:
    source = obj(params, "Source")
    ids = {}
    for i, item in enumerate(source.get("SourceTypes") or []):
        if not isinstance(item, dict):
            raise ValidationFailed.field(f"Source.SourceTypes[{i}]", "must be an object")
        ids[required_text(item, "SourceIdType", f"Source.SourceTypes[{i}].SourceIdType")] = required_text(
            item, "Value", f"Source.SourceTypes[{i}].Value"
        )
    string_map(params, "Properties")
    tags_from_aws(params.get("Tags") or [])
    ref = await call.services.sagemaker.create_artifact(
        call.principal,
        ArtifactSpec(
            uri=required_text(source, "SourceUri", "Source.SourceUri"),
            artifact_type=text(params, "ArtifactType"),
            name=text(params, "ArtifactName"),
            source_ids=ids,
        ),
    )
    await _describe_as(call, ref, _document(params, _ARTIFACT_DOC), "ArtifactType", "ArtifactName")
    await _tag(call, ref, params)
    return {"ArtifactArn": call.arns.node_arn(ref)}


def _artifact_ref(params: Params) -> NodeRef:
    arn = text(params, "ArtifactArn")
    if arn is None:
        raise ValidationFailed.field("ArtifactArn", "is required (deleting by Source is not supported)", "REQUIRED")
    return parse_arn(arn, "ArtifactArn").expect(NodeKind.DATASET_VERSION, NodeKind.CODE_VERSION, field="ArtifactArn")


def _artifact_shape(call: Call, record: EntityRecord, summary: bool = False) -> Result:
    doc, p = record.document, record.props
    code = record.ref.kind is NodeKind.CODE_VERSION
    default_uri = p.get("repository") if code else (p.get("uri") or f"{p.get('namespace')}/{p.get('name')}")
    shape: Result = {
        "ArtifactArn": call.arns.node_arn(record.ref),
        "Source": doc.get("Source") or {"SourceUri": default_uri},
        "ArtifactType": doc.get("ArtifactType") or ("Code" if code else "DataSet"),
        "CreationTime": epoch(record.created_at),
        "LastModifiedTime": epoch(record.updated_at),
    }
    if doc.get("ArtifactName"):
        shape["ArtifactName"] = doc["ArtifactName"]
    if not summary:
        shape.update({k: doc[k] for k in ("Properties", "MetadataProperties") if k in doc})
    return shape


async def _one(call: Call, ref: NodeRef, field: str) -> EntityRecord:
    found = (await call.services.sagemaker.entities(call.principal, [ref])).get(ref)
    if found is None:
        raise NotFound(ref.kind.label, str(ref), field)
    return found


async def describe_artifact(call: Call, params: Params) -> Result:
    return _artifact_shape(call, await _one(call, _artifact_ref(params), "ArtifactArn"))


def _updated(params: Params, names: tuple[str, ...]) -> Any:
    props = string_map(params, "Properties")
    remove = params.get("PropertiesToRemove") or []
    if not isinstance(remove, list) or not all(isinstance(k, str) for k in remove):
        raise ValidationFailed.field("PropertiesToRemove", "must list property keys")
    changes = {k: params[k] for k in names if params.get(k) is not None}

    def change(current: Mapping[str, Any]) -> dict[str, Any]:
        new = {**current, **changes}
        merged = {**current.get("Properties", {}), **props}
        for key in remove:
            merged.pop(key, None)
        if merged or "Properties" in current:
            new["Properties"] = merged
        return new

    return change


async def _update(
    call: Call, ref: NodeRef, params: Params, names: tuple[str, ...], type_key: str, name_key: str | None
) -> None:
    change = _updated(params, names)
    await call.services.sagemaker.write_entity(
        call.principal, ref, lambda current: (doc := change(current), _fields(doc, type_key, name_key))
    )


async def update_artifact(call: Call, params: Params) -> Result:
    ref = _artifact_ref(params)
    await _update(call, ref, params, ("ArtifactName",), "ArtifactType", "ArtifactName")
    return {"ArtifactArn": call.arns.node_arn(ref)}


async def delete_artifact(call: Call, params: Params) -> Result:
    ref = _artifact_ref(params)
    await call.services.sagemaker.delete_entity(call.principal, ref)
    return {"ArtifactArn": call.arns.node_arn(ref)}


def _entity_filter(params: Params, type_key: str) -> EntityFilter:
    return EntityFilter(
        source_uri=text(params, "SourceUri"),
        entity_type=text(params, type_key),
        created_after=from_epoch(params, "CreatedAfter"),
        created_before=from_epoch(params, "CreatedBefore"),
    )


async def _list(call: Call, params: Params, family: Family, type_key: str) -> tuple[list[EntityRecord], str | None]:
    pg = paging(params)
    sort = text(params, "SortBy") or "CreationTime"
    if sort not in ("Name", "CreationTime"):
        raise ValidationFailed.field("SortBy", "must be Name or CreationTime")
    order = text(params, "SortOrder") or "Descending"
    if order not in ("Ascending", "Descending"):
        raise ValidationFailed.field("SortOrder", "must be Ascending or Descending")
    found = await call.services.sagemaker.list_entities(
        call.principal, family, _entity_filter(params, type_key), sort, order == "Descending", pg.offset, pg.limit + 1
    )
    return found[: pg.limit], pg.next_token(min(len(found), pg.limit), len(found) > pg.limit)


async def list_artifacts(call: Call, params: Params) -> Result:
    records, token = await _list(call, params, Family.ARTIFACT, "ArtifactType")
    return _next({"ArtifactSummaries": [_artifact_shape(call, r, summary=True) for r in records]}, token)


# ---- actions ----------------------------------------------------------------------------------------------
_ACTION_DOC = ("Source", "ActionType", "Description", "Status", "Properties", "MetadataProperties")


async def create_action(call: Call, params: Params) -> Result:
    properties = string_map(params, "Properties")
    tags_from_aws(params.get("Tags") or [])
    ref = await call.services.sagemaker.create_action(
        call.principal,
        required_text(params, "ActionName"),
        text(params, "ActionType"),
        text(params, "Status"),
        properties,
    )
    await _describe_as(call, ref, _document(params, _ACTION_DOC), "ActionType", None)
    await _tag(call, ref, params)
    return {"ActionArn": call.arns.node_arn(ref)}


def _action_ref(params: Params) -> NodeRef:
    name = required_text(params, "ActionName")
    if name.startswith("arn:"):
        return parse_arn(name, "ActionName").expect(NodeKind.RUN, field="ActionName")
    return NodeRef.of(NodeKind.RUN, name)


def _action_shape(call: Call, record: EntityRecord, summary: bool = False) -> Result:
    doc, p = record.document, record.props
    shape: Result = {
        "ActionName": p["run_id"],
        "ActionArn": call.arns.node_arn(record.ref),
        "ActionType": doc.get("ActionType") or p.get("job_name") or "",
        "Status": doc.get("Status") or _ACTION_STATUS_OF_RUN.get(p.get("status") or "", "Unknown"),
        "CreationTime": epoch(record.created_at),
        "LastModifiedTime": epoch(record.updated_at),
    }
    if "Source" in doc:
        shape["Source"] = doc["Source"]
    if not summary:
        if "Description" in doc:
            shape["Description"] = doc["Description"]
        parameters = json.loads(p.get("parameters") or "{}")
        properties = doc.get("Properties", parameters)
        if properties:
            shape["Properties"] = properties
        if "MetadataProperties" in doc:
            shape["MetadataProperties"] = doc["MetadataProperties"]
    return shape


async def describe_action(call: Call, params: Params) -> Result:
    return _action_shape(call, await _one(call, _action_ref(params), "ActionName"))


async def update_action(call: Call, params: Params) -> Result:
    ref = _action_ref(params)
    await _update(call, ref, params, ("Description", "Status"), "ActionType", None)
    return {"ActionArn": call.arns.node_arn(ref)}


async def delete_action(call: Call, params: Params) -> Result:
    ref = _action_ref(params)
    await call.services.sagemaker.delete_entity(call.principal, ref)
    return {"ActionArn": call.arns.node_arn(ref)}


async def list_actions(call: Call, params: Params) -> Result:
    records, token = await _list(call, params, Family.ACTION, "ActionType")
    return _next({"ActionSummaries": [_action_shape(call, r, summary=True) for r in records]}, token)


# ---- contexts ---------------------------------------------------------------------------------------------
_CONTEXT_DOC = ("Source", "ContextType", "Description", "Properties")


async def create_context(call: Call, params: Params) -> Result:
    string_map(params, "Properties")
    tags_from_aws(params.get("Tags") or [])
    job = await call.services.sagemaker.create_context(
        call.principal,
        required_text(params, "ContextName"),
        text(params, "ContextType"),
        text(params, "Description"),
        text(obj(params, "Source"), "SourceUri", path="Source.SourceUri"),
    )
    await _describe_as(call, job.ref, _document(params, _CONTEXT_DOC), "ContextType", None)
    await _tag(call, job.ref, params)
    return {"ContextArn": call.arns.node_arn(job.ref)}


def _context_ref(params: Params) -> NodeRef:
    name = required_text(params, "ContextName")
    if name.startswith("arn:"):
        return parse_arn(name, "ContextName").expect(NodeKind.JOB, field="ContextName")
    return NodeRef.of(NodeKind.JOB, JOB_NAMESPACE, name)


def _context_shape(call: Call, record: EntityRecord, summary: bool = False) -> Result:
    doc, p = record.document, record.props
    facets = json.loads(p.get("facets") or "{}").get("sagemaker") or {}
    shape: Result = {
        "ContextName": p["name"],
        "ContextArn": call.arns.node_arn(record.ref),
        "CreationTime": epoch(record.created_at),
        "LastModifiedTime": epoch(record.updated_at),
    }
    source = doc.get("Source") or ({"SourceUri": facets["sourceUri"]} if facets.get("sourceUri") else None)
    if source:
        shape["Source"] = source
    context_type = doc.get("ContextType") or facets.get("contextType")
    if context_type:
        shape["ContextType"] = context_type
    if not summary:
        description = doc.get("Description") or p.get("description")
        if description:
            shape["Description"] = description
        if "Properties" in doc:
            shape["Properties"] = doc["Properties"]
    return shape


async def describe_context(call: Call, params: Params) -> Result:
    return _context_shape(call, await _one(call, _context_ref(params), "ContextName"))


async def update_context(call: Call, params: Params) -> Result:
    ref = _context_ref(params)
    await _update(call, ref, params, ("Description",), "ContextType", None)
    return {"ContextArn": call.arns.node_arn(ref)}


async def delete_context(call: Call, params: Params) -> Result:
    ref = _context_ref(params)
    await call.services.sagemaker.delete_entity(call.principal, ref)
    return {"ContextArn": call.arns.node_arn(ref)}


async def list_contexts(call: Call, params: Params) -> Result:
    records, token = await _list(call, params, Family.CONTEXT, "ContextType")
    return _next({"ContextSummaries": [_context_shape(call, r, summary=True) for r in records]}, token)


# ---- associations -----------------------------------------------------------------------------------------
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
    # Edges only between vertices of this page, so a page never points at a vertex it does not contain;
    # `Edges` is always present (empty when IncludeEdges is false), as SageMaker answers.
    shown = {v["Arn"] for v in page_items}
    edges = []
    if params.get("IncludeEdges", True):
        for e in walk.edges:
            source, destination = call.arns.node_arn(e.source), call.arns.node_arn(e.destination)
            if source in shown and destination in shown:
                edges.append(
                    {
                        "SourceArn": source,
                        "DestinationArn": destination,
                        "AssociationType": association_type(e.edge, e.association_type),
                    }
                )
    result["Edges"] = edges
    token = pg.next_token(len(page_items), pg.offset + len(page_items) < len(vertices))
    if token:
        result["NextToken"] = token
    return result


async def delete_association(call: Call, params: Params) -> Result:
    source_arn = required_text(params, "SourceArn")
    destination_arn = required_text(params, "DestinationArn")
    await call.services.sagemaker.delete_association(
        call.principal, parse_arn(source_arn, "SourceArn"), parse_arn(destination_arn, "DestinationArn")
    )
    return {"SourceArn": source_arn, "DestinationArn": destination_arn}


OPERATIONS: dict[str, Operation] = {
    "CreateArtifact": create_artifact,
    "DescribeArtifact": describe_artifact,
    "UpdateArtifact": update_artifact,
    "DeleteArtifact": delete_artifact,
    "ListArtifacts": list_artifacts,
    "CreateAction": create_action,
    "DescribeAction": describe_action,
    "UpdateAction": update_action,
    "DeleteAction": delete_action,
    "ListActions": list_actions,
    "CreateContext": create_context,
    "DescribeContext": describe_context,
    "UpdateContext": update_context,
    "DeleteContext": delete_context,
    "ListContexts": list_contexts,
    "AddAssociation": add_association,
    "DeleteAssociation": delete_association,
    "ListAssociations": list_associations,
    "QueryLineage": query_lineage,
}
