"""The SageMaker registry's own needs on model versions and groups: search and list with filters applied before
paging, tombstone deletes, key-value tags on any lineage node, the group resource policy and the verbatim spec
a CreateModelPackage carried.

Filters come in as typed conditions (domain/sagemaker_search.py) and are compiled from fixed tables of fields
and operators into WHERE fragments; their values travel as parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.errors import Conflict, NotFound, Problem
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import ModelGroup, ModelVersion
from lineage_graph.domain.sagemaker_search import Condition, Expression, NestedFilter, Resource
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.records import dumps, search_words, to_model_group, to_model_version

_FIELDS: Mapping[Resource, Mapping[str, str]] = {
    Resource.MODEL_PACKAGE: {
        "ModelPackageGroupName": "n.group",
        "ModelPackageName": "n.group",
        "ModelPackageVersion": "n.version",
        "ModelApprovalStatus": "n.approval_status",
        "ModelPackageDescription": "n.description",
        "CreationTime": "n.created_at",
        "LastModifiedTime": "n.updated_at",
        "CreatedBy.UserProfileName": "n.created_by",
    },
    Resource.MODEL_PACKAGE_GROUP: {
        "ModelPackageGroupName": "n.name",
        "ModelPackageGroupDescription": "n.description",
        "CreationTime": "n.created_at",
        "CreatedBy.UserProfileName": "n.created_by",
    },
}
_LABEL = {Resource.MODEL_PACKAGE: "ModelVersion", Resource.MODEL_PACKAGE_GROUP: "ModelGroup"}
# Ties on the sort field are broken by the natural key, so pages never overlap or skip.
_TIE_BREAK = {Resource.MODEL_PACKAGE: ("n.group", "n.version"), Resource.MODEL_PACKAGE_GROUP: ("n.name",)}
_COMPARE = {
    "Equals": "{e} = ${p}",
    "NotEquals": "({e} IS NULL OR {e} <> ${p})",
    "GreaterThan": "{e} > ${p}",
    "GreaterThanOrEqualTo": "{e} >= ${p}",
    "LessThan": "{e} < ${p}",
    "LessThanOrEqualTo": "{e} <= ${p}",
    "Contains": "toLower({e}) CONTAINS toLower(${p})",
    "Exists": "{e} IS NOT NULL",
    "NotExists": "{e} IS NULL",
    "In": "{e} IN ${p}",
}
_TAG_COMPARE = {
    "Equals": "${p} IN coalesce(n.tags, [])",
    "NotEquals": "NOT ${p} IN coalesce(n.tags, [])",
    "Exists": "any(t IN coalesce(n.tags, []) WHERE t = ${p} OR t STARTS WITH ${p} + '=')",
    "NotExists": "none(t IN coalesce(n.tags, []) WHERE t = ${p} OR t STARTS WITH ${p} + '=')",
}
# NestedFilters on Tags: each `key=value` (or bare `key`) tag of the list as its members.
_NESTED_LIST = {"Tags": "coalesce(n.tags, [])"}
_NESTED_MEMBERS = {
    "Tags.Key": "split(t, '=')[0]",
    "Tags.Value": "CASE WHEN t CONTAINS '=' THEN substring(t, size(split(t, '=')[0]) + 1) ELSE '' END",
}
_VERSION_PROJECTION = "{v: n {.*}, aliases: COLLECT { MATCH (a:Alias)-[:POINTS_TO]->(n) RETURN a.name }}"


def compile_expression(resource: Resource, expr: Expression, params: dict[str, Any]) -> str:
    """A WHERE fragment over `n` for `expr`; each value is added to `params` under a generated name."""
    parts = [_compile_condition(resource, c, params) for c in expr.conditions]
    parts += [_compile_nested(n, params) for n in expr.nested]
    parts += [compile_expression(resource, s, params) for s in expr.subexpressions if not s.empty]
    if not parts:
        return "true"
    return "(" + (" OR " if expr.any_of else " AND ").join(parts) + ")"


def _compile_condition(resource: Resource, condition: Condition, params: dict[str, Any]) -> str:
    name = f"p{len(params)}"
    params[name] = condition.value
    if condition.field == "Tags":
        return _TAG_COMPARE[condition.operator].format(p=name)
    return _COMPARE[condition.operator].format(e=_FIELDS[resource][condition.field], p=name)


def _compile_nested(nested: NestedFilter, params: dict[str, Any]) -> str:
    """Some element `t` of the list meets every condition; members and lists come from fixed tables."""
    parts = []
    for condition in nested.conditions:
        name = f"p{len(params)}"
        params[name] = condition.value
        parts.append(_COMPARE[condition.operator].format(e=_NESTED_MEMBERS[condition.field], p=name))
    return f"any(t IN {_NESTED_LIST[nested.prop]} WHERE {' AND '.join(parts)})"


def _pattern(kind: NodeKind) -> str:
    keys = ", ".join(f"{k}: $key.{k}" for k in kind.keys)
    return f"(n:{kind.label} {{{keys}}})"


_DELETE_VERSION_CHECK = """
MATCH (n:ModelVersion {group: $group, version: $version}) WHERE n.deleted_at IS NULL
SET n._lock = true
RETURN n.approval_status AS status,
       COLLECT { MATCH (d:Deployment {status: 'ACTIVE'})-[:SERVES]->(n) RETURN d.endpoint } AS endpoints,
       COLLECT { MATCH (a:Alias)-[:POINTS_TO]->(n) RETURN a.name } AS aliases
"""

# A tombstone: the node, its number, its lineage and its decisions stay; aliases stop pointing at it.
_DELETE_VERSION = """
MATCH (n:ModelVersion {group: $group, version: $version})
SET n.deleted_at = $now, n.deleted_by = $actor, n.archived = true, n.updated_at = $now
REMOVE n._lock
WITH n
OPTIONAL MATCH (a:Alias)-[:POINTS_TO]->(n)
DETACH DELETE a
"""

_DELETE_GROUP_CHECK = """
MATCH (n:ModelGroup {name: $name}) WHERE n.deleted_at IS NULL
SET n._lock = true
RETURN COUNT { MATCH (v:ModelVersion)-[:IN_GROUP]->(n) WHERE v.deleted_at IS NULL } AS live
"""

_DELETE_GROUP = """
MATCH (n:ModelGroup {name: $name})
SET n.deleted_at = $now, n.deleted_by = $actor, n.updated_at = $now
REMOVE n._lock
"""

_RESTORE_GROUP = """
MATCH (n:ModelGroup {name: $name}) WHERE n.deleted_at IS NOT NULL
SET n.description = coalesce($description, n.description), n.updated_at = $now
REMOVE n.deleted_at, n.deleted_by
RETURN n {.*} AS g
"""

_GROUP_STATE = """
UNWIND $names AS name
MATCH (n:ModelGroup {name: name})
RETURN collect({name: n.name, deleted: n.deleted_at IS NOT NULL, policy: n.resource_policy}) AS groups
"""

_SET_GROUP_POLICY = """
MATCH (n:ModelGroup {name: $name}) WHERE n.deleted_at IS NULL
SET n.resource_policy = $policy, n.resource_grants = $grants, n.updated_at = $now
RETURN n.name AS name
"""

_LOCK_VERSION_SPEC = """
MATCH (n:ModelVersion {group: $group, version: $version}) WHERE n.deleted_at IS NULL
SET n._lock = true
RETURN n.external_spec AS spec
"""

_SET_VERSION_SPEC = """
MATCH (n:ModelVersion {group: $group, version: $version})
SET n.external_spec = $spec, n.updated_at = $now
REMOVE n._lock
"""

_DELETED_VERSIONS = """
UNWIND $keys AS k
MATCH (n:ModelVersion {group: k.group, version: k.version}) WHERE n.deleted_at IS NOT NULL
RETURN collect([n.group, n.version]) AS deleted
"""


def _now() -> datetime:
    return datetime.now(UTC)


class SageMakerRegistryStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    # ---- search and lists -------------------------------------------------------------------------------
    async def search_versions(
        self, expr: Expression, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[ModelVersion], int]:
        """Live (not deleted) model versions matching `expr`, one sorted page, and how many match in all."""
        rows, total = await self._search(Resource.MODEL_PACKAGE, expr, sort, descending, offset, limit)
        return [to_model_version(r["v"], r["aliases"]) for r in rows], total

    async def search_groups(
        self, expr: Expression, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[ModelGroup], int]:
        rows, total = await self._search(Resource.MODEL_PACKAGE_GROUP, expr, sort, descending, offset, limit)
        return [to_model_group(r["v"]) for r in rows], total

    async def _search(
        self, resource: Resource, expr: Expression, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        params: dict[str, Any] = {}
        where = compile_expression(resource, expr, params)
        direction = "DESC" if descending else "ASC"
        order = ", ".join(f"{e} {direction}" for e in (_FIELDS[resource][sort], *_TIE_BREAK[resource]))
        match = f"MATCH (n:{_LABEL[resource]}) WHERE n.deleted_at IS NULL AND {where}"
        projection = _VERSION_PROJECTION if resource is Resource.MODEL_PACKAGE else "{v: n {.*}}"
        page_query = f"{match} WITH n ORDER BY {order} SKIP $offset LIMIT $limit RETURN collect({projection}) AS page"
        count_query = f"{match} RETURN count(n) AS total"

        async def work(tx: AsyncManagedTransaction) -> tuple[list[dict[str, Any]], int]:
            page = await fetch_one(tx, page_query, **params, offset=offset, limit=limit)
            total = await fetch_one(tx, count_query, **params)
            return (list(page["page"]) if page else []), int(total["total"]) if total else 0

        return await self._graph.read(work)

    async def deleted_versions(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        rows = await self._graph.rows(_DELETED_VERSIONS, keys=[{"group": g, "version": v} for g, v in keys])
        return {(str(g), int(v)) for g, v in rows[0]["deleted"]} if rows else set()

    async def group_states(self, names: Sequence[str]) -> dict[str, tuple[bool, str | None]]:
        """name -> (deleted, resource policy JSON) for the groups that exist."""
        rows = await self._graph.rows(_GROUP_STATE, names=list(names))
        return {g["name"]: (bool(g["deleted"]), g["policy"]) for g in rows[0]["groups"]} if rows else {}

    # ---- deletes (tombstones) ---------------------------------------------------------------------------
    async def delete_version(self, group: str, version: int, actor: str) -> None:
        """Tombstone a version: it leaves the SageMaker lists, keeps its number, lineage and history.
        An APPROVED version that an active deployment serves is refused (Conflict)."""

        async def work(tx: AsyncManagedTransaction) -> None:
            row = await fetch_one(tx, _DELETE_VERSION_CHECK, group=group, version=version)
            if row is None:
                raise NotFound("model package", f"{group}/{version}", "ModelPackageName")
            if row["status"] == "APPROVED" and row["endpoints"]:
                message = (
                    f"model package {group}/{version} is approved and deployed to "
                    f"{', '.join(sorted(row['endpoints']))}; retire the deployment or reject it first"
                )
                raise Conflict(message, [Problem("ModelPackageName", message, "DEPLOYED")])
            await tx.run(_DELETE_VERSION, group=group, version=version, now=_now(), actor=actor)
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "model_version.delete",
                    f"ModelVersion:{group}/{version}",
                    {"status": row["status"], "aliases_removed": sorted(row["aliases"])},
                ),
            )

        await self._graph.write(work)

    async def delete_group(self, name: str, actor: str) -> None:
        """Tombstone an empty group (SageMaker refuses to delete a group that still has packages)."""

        async def work(tx: AsyncManagedTransaction) -> None:
            row = await fetch_one(tx, _DELETE_GROUP_CHECK, name=name)
            if row is None:
                raise NotFound("model package group", name, "ModelPackageGroupName")
            if row["live"]:
                message = f"model package group {name} still has {row['live']} model package(s); delete them first"
                raise Conflict(message, [Problem("ModelPackageGroupName", message, "NOT_EMPTY")])
            await tx.run(_DELETE_GROUP, name=name, now=_now(), actor=actor)
            await append_audit_event(tx, AuditEntry(actor, "model_group.delete", f"ModelGroup:{name}", {}))

        await self._graph.write(work)

    async def restore_group(self, name: str, description: str | None, actor: str) -> ModelGroup | None:
        """Bring a deleted group back (its numbering continues); None when it is not deleted."""

        async def work(tx: AsyncManagedTransaction) -> ModelGroup | None:
            row = await fetch_one(tx, _RESTORE_GROUP, name=name, description=description, now=_now())
            if row is None:
                return None
            await append_audit_event(
                tx, AuditEntry(actor, "model_group.restore", f"ModelGroup:{name}", {"description": description})
            )
            return to_model_group(row["g"])

        return await self._graph.write(work)

    # ---- the verbatim spec --------------------------------------------------------------------------------
    async def update_spec(
        self,
        group: str,
        version: int,
        change: Callable[[Mapping[str, Any]], dict[str, Any]],
        actor: str,
    ) -> None:
        """Read the version's spec under its lock, let `change` compute the new one, write and audit it."""

        async def work(tx: AsyncManagedTransaction) -> None:
            row = await fetch_one(tx, _LOCK_VERSION_SPEC, group=group, version=version)
            if row is None:
                raise NotFound("model package", f"{group}/{version}", "ModelPackageArn")
            current = json.loads(row["spec"]) if row["spec"] else {}
            new = change(current)
            await tx.run(_SET_VERSION_SPEC, group=group, version=version, spec=dumps(new), now=_now())
            changed = sorted(k for k in {*current, *new} if current.get(k) != new.get(k))
            await append_audit_event(
                tx,
                AuditEntry(actor, "model_version.update_spec", f"ModelVersion:{group}/{version}", {"changed": changed}),
            )

        await self._graph.write(work)

    # ---- tags ---------------------------------------------------------------------------------------------
    async def update_tags(
        self,
        ref: NodeRef,
        change: Callable[[Sequence[str]], list[str]],
        action: str,
        detail: Mapping[str, Any],
        actor: str,
    ) -> list[str]:
        """Replace the tags of any node under its lock with `change(current)`; audited as `action`."""
        pattern = _pattern(ref.kind)
        lock = f"MATCH {pattern} SET n._lock = true RETURN coalesce(n.tags, []) AS tags"
        write = f"MATCH {pattern} SET n.tags = $tags, n.search_tags = $search REMOVE n._lock"

        async def work(tx: AsyncManagedTransaction) -> list[str]:
            row = await fetch_one(tx, lock, key=ref.key)
            if row is None:
                raise NotFound(ref.kind.label, str(ref), "ResourceArn")
            tags = change(list(row["tags"]))
            await tx.run(write, key=ref.key, tags=tags, search=search_words(ref.kind, tags))
            await append_audit_event(tx, AuditEntry(actor, action, str(ref), {**detail, "tags": tags}))
            return tags

        return await self._graph.write(work)

    async def tags_of(self, ref: NodeRef) -> list[str] | None:
        rows = await self._graph.rows(f"MATCH {_pattern(ref.kind)} RETURN coalesce(n.tags, []) AS tags", key=ref.key)
        return list(rows[0]["tags"]) if rows else None

    # ---- the group resource policy --------------------------------------------------------------------------
    async def set_group_policy(
        self, name: str, policy: str | None, grants: Mapping[str, str] | None, actor: str
    ) -> None:
        """Store (or, with None, remove) the policy document and the grants it was translated into."""

        async def work(tx: AsyncManagedTransaction) -> None:
            row = await fetch_one(
                tx,
                _SET_GROUP_POLICY,
                name=name,
                policy=policy,
                grants=dumps(dict(grants)) if grants is not None else None,
                now=_now(),
            )
            if row is None:
                raise NotFound("model package group", name, "ModelPackageGroupName")
            action = "model_group.policy_delete" if policy is None else "model_group.policy_put"
            await append_audit_event(
                tx, AuditEntry(actor, action, f"ModelGroup:{name}", {"grants": dict(grants or {})})
            )

        await self._graph.write(work)

    async def group_grants(self, name: str) -> dict[str, str]:
        rows = await self._graph.rows(
            "MATCH (n:ModelGroup {name: $name}) WHERE n.deleted_at IS NULL RETURN n.resource_grants AS grants",
            name=name,
        )
        if not rows or not rows[0]["grants"]:
            return {}
        grants: dict[str, str] = json.loads(rows[0]["grants"])
        return grants
