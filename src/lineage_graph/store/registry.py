"""Model groups, model versions and aliases in Neo4j.

Version numbers: registering locks the group node (`SET g._lock`) before reading `latest_version`, so
concurrent registrations into one group queue on that lock and each sees the number its predecessor
committed; the (group, version) uniqueness constraint is the database's guarantee on top. A rolled-back
registration rolls back its increment too, so numbers have no gaps. Client tokens are checked under the
same lock, which makes a retried request return the version it already created.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction
from neo4j.exceptions import ConstraintError

from lineage_graph.domain.aliases import GroupAlias, group_aliases
from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.commands import (
    CreateModelGroup,
    RegisterModelVersion,
    UpdateModelGroup,
    UpdateModelVersion,
)
from lineage_graph.domain.errors import AlreadyExists, Conflict, NotFound
from lineage_graph.domain.ids import NodeKind
from lineage_graph.domain.models import ApprovalStatus, Metric, ModelGroup, ModelVersion
from lineage_graph.domain.queries import GroupFilter as GroupFilter  # importable from here too
from lineage_graph.domain.queries import VersionFilter as VersionFilter
from lineage_graph.domain.queries import VersionPage, VersionPageIncludes
from lineage_graph.domain.tags import TagChange
from lineage_graph.store.audit import append_audit_event, write_audited
from lineage_graph.store.filters import where_clause
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.records import (
    GROUP_TIMES,
    TRAINED_ON,
    VERSION_TIMES,
    dumps,
    metrics_to_json,
    search_words,
    to_model_group,
    to_model_version,
    unique_dataset_versions,
)
from lineage_graph.store.registration import Registered, Registrations, RulesDecision

VersionKey = tuple[str, int]
# Raises when a move is refused: (the alias is protected, the target version's status).
AliasRule = Callable[[bool, ApprovalStatus], None]
# A node's tags before and after a write, from its current tags (the tag model's rules, see domain/tags.py).
TagMerge = Callable[[Sequence[str] | None], TagChange]

_VERSION = "v {.*, " + VERSION_TIMES + "} AS v, COLLECT { MATCH (a:Alias)-[:POINTS_TO]->(v) RETURN a.name } AS aliases"

_CREATE_GROUP = """
CREATE (g:ModelGroup {name: $name, description: $description, owner: $owner, tags: $tags,
                      search_tags: $search_tags, created_by: $actor, created_at: $now, updated_at: $now,
                      latest_version: 0, four_eyes: true})
RETURN g {.*} AS g
"""

# Tag writes read the current tags under the node's lock, so the governance tags an approver set
# concurrently are merged in, never overwritten by a list read before.
_LOCK_GROUP_TAGS = "MATCH (g:ModelGroup {name: $name}) SET g._lock = true RETURN g.tags AS tags"

_UPDATE_GROUP = """
MATCH (g:ModelGroup {name: $name})
SET g.description = coalesce($description, g.description), g.owner = coalesce($owner, g.owner),
    g.tags = $tags, g.search_tags = $search_tags, g.updated_at = $now
REMOVE g._lock
RETURN g {.*} AS g
"""

_GROUPS_BY_NAME = "UNWIND $names AS name MATCH (g:ModelGroup {name: name}) RETURN g {.*, " + GROUP_TIMES + "} AS g"

# ---- lists ---------------------------------------------------------------------------------------------
# A list query is assembled from fixed fragments: the conditions of the filters the caller set (only those, so
# an equality on an indexed property is an index seek instead of a scan behind `$x IS NULL OR …`) and one
# ORDER BY chosen by the sort, plain properties so an index can provide the order. User input only ever
# travels as parameters. The count and the page run as two subqueries of one statement; the page is
# returned as one collected list (one record, not a record per item).
_GROUP_CONDITIONS = {
    "name_contains": "toLower(g.name) CONTAINS toLower($name_contains)",
    "owner": "g.owner = $owner",
    "tag": "$tag IN g.tags",
}
_GROUP_ORDER = {
    ("NAME", False): "g.name",
    ("NAME", True): "g.name DESC",
    ("CREATED_AT", False): "g.created_at, g.name",
    ("CREATED_AT", True): "g.created_at DESC, g.name DESC",
}
_LIST_GROUPS = """
CALL () {{ MATCH (g:ModelGroup) {where} RETURN count(g) AS total }}
CALL () {{
  MATCH (g:ModelGroup) {where}
  WITH g ORDER BY {order} SKIP $offset LIMIT $limit
  RETURN collect(g {{.*, created_at: toString(g.created_at), updated_at: toString(g.updated_at)}}) AS page
}}
RETURN total, page
"""

_VERSIONS_BY_KEY = (
    "UNWIND $keys AS k MATCH (v:ModelVersion {group: k.group, version: k.version}) RETURN k.group AS g, "
    "k.version AS n, " + _VERSION
)

_VERSION_CONDITIONS = {
    # `version IS NOT NULL` (always true) lets the (group, version) key index serve the seek and the order.
    "group": "v.group = $group AND v.version IS NOT NULL",
    "status": "v.approval_status = $status",
    "tag": "$tag IN v.tags",
    "created_after": "v.created_at >= $created_after",
    "created_before": "v.created_at < $created_before",
    "archived": "coalesce(v.archived, false) = $archived",
}
_VERSION_ORDER = {
    ("VERSION", False): "v.group, v.version",
    ("VERSION", True): "v.group DESC, v.version DESC",
    ("CREATED_AT", False): "v.created_at, v.group, v.version",
    ("CREATED_AT", True): "v.created_at DESC, v.group DESC, v.version DESC",
}
_LIST_VERSIONS = """
CALL () {{ MATCH (v:ModelVersion) {where} RETURN count(v) AS total }}
CALL () {{
  MATCH (v:ModelVersion) {page_where}
  WITH v ORDER BY {order} SKIP $offset LIMIT $limit
  RETURN collect(v {{.*, created_at: toString(v.created_at), updated_at: toString(v.updated_at),
                     aliases: COLLECT {{ MATCH (a:Alias)-[:POINTS_TO]->(v) RETURN a.name }}{trained_on}}}) AS page
}}
{groups}RETURN total, page{groups_column}
"""
# What a page's reader will ask of each version, in the page's statement (`VersionPageIncludes`).
_PAGE_TRAINED_ON = f",\n                     trained_on: {TRAINED_ON}"
_PAGE_GROUPS = f"""CALL (page) {{
  UNWIND page AS p
  WITH DISTINCT p.group AS name
  MATCH (g:ModelGroup {{name: name}})
  RETURN collect(g {{.*, {GROUP_TIMES}}}) AS groups
}}
"""

# The newest non-archived version per (group, status): the group equality is a seek on the (group, version)
# key, read backwards, stopping at the first match.
_LATEST_VERSIONS = """
UNWIND $keys AS k
CALL (k) {
  MATCH (v:ModelVersion {group: k.group})
  WHERE (k.status IS NULL OR v.approval_status = k.status) AND NOT coalesce(v.archived, false)
  WITH v ORDER BY v.version DESC LIMIT 1
  RETURN v {.*, created_at: toString(v.created_at), updated_at: toString(v.updated_at),
             aliases: COLLECT { MATCH (a:Alias)-[:POINTS_TO]->(v) RETURN a.name }} AS v
}
RETURN k.group AS group, k.status AS status, v
"""

_UPDATE_VERSION = (
    """
MATCH (v:ModelVersion {group: $group, version: $version})
SET v.description = coalesce($description, v.description), v.tags = $tags, v.search_tags = $search_tags,
    v.custom_properties = coalesce($custom_properties, v.custom_properties), v.updated_at = $now
RETURN """
    + _VERSION
)

_LOCK_VERSION = """
MATCH (v:ModelVersion {group: $group, version: $version})
SET v._lock = true
RETURN v {.*} AS v
"""

_SET_METRICS = (
    """
MATCH (v:ModelVersion {group: $group, version: $version})
SET v.metrics = $metrics, v.updated_at = $now
REMOVE v._lock
RETURN """
    + _VERSION
)

_SET_ARCHIVED = (
    """
MATCH (v:ModelVersion {group: $group, version: $version})
SET v.archived = $archived, v.updated_at = $now
RETURN """
    + _VERSION
)

# Moving an alias: lock the Alias node first (MERGE meets concurrent creators on one node through the
# (group, name) constraint; `SET a._lock` takes its write lock), and only then read where it points, in a
# separate statement, so a concurrent move waits and sees the committed edge instead of deleting the same
# one and adding its own beside it. The POINTS_TO edge carries (group, alias) under a uniqueness
# constraint, so the database itself refuses a second pointer of one alias.
_LOCK_ALIAS = """
MATCH (g:ModelGroup {name: $group})
MERGE (a:Alias {group: $group, name: $alias})
SET a._lock = true
RETURN coalesce(g.protected_aliases, []) AS protected
"""

_ALIAS_TARGET = """
MATCH (a:Alias {group: $group, name: $alias})
OPTIONAL MATCH (v:ModelVersion {group: $group, version: $version})
RETURN COLLECT { MATCH (a)-[:POINTS_TO]->(p:ModelVersion) RETURN p.version } AS previous,
       v IS NOT NULL AS found, v.approval_status AS approval_status
"""

_MOVE_ALIAS = """
MATCH (a:Alias {group: $group, name: $alias})
MATCH (v:ModelVersion {group: $group, version: $version})
CALL (a) { MATCH (a)-[old:POINTS_TO]->() DELETE old }
CREATE (a)-[:POINTS_TO {group: $group, alias: $alias}]->(v)
REMOVE a._lock
"""

_DELETE_ALIAS = """
MATCH (g:ModelGroup {name: $group})
MATCH (a:Alias {group: $group, name: $alias})
SET a._lock = true
WITH a, g
OPTIONAL MATCH (a)-[:POINTS_TO]->(v:ModelVersion)
WITH a, g, v ORDER BY v.version LIMIT 1
DETACH DELETE a
RETURN v.version AS version, coalesce(g.protected_aliases, []) AS protected
"""

# Every alias of each group with where it points, as one row of collected lists.
_GROUP_ALIASES = """
UNWIND $groups AS name
MATCH (g:ModelGroup {name: name})
WITH name, coalesce(g.protected_aliases, []) AS protected,
     COLLECT { MATCH (a:Alias {group: name})-[:POINTS_TO]->(v:ModelVersion)
               RETURN [a.name, v.version, v.approval_status] } AS pointers
RETURN collect({group: name, protected: protected, pointers: pointers}) AS groups
"""

_PROTECTED_ALIASES = "MATCH (g:ModelGroup {name: $group}) RETURN coalesce(g.protected_aliases, []) AS protected"

_SET_PROTECTED = """
MATCH (g:ModelGroup {name: $group})
WITH g, coalesce(g.protected_aliases, []) AS before
SET g.protected_aliases = $aliases, g.updated_at = $now
RETURN before
"""

# A protected alias only ever names an APPROVED version (a later rejection does not make it name a rejected one).
_VERSION_BY_ALIAS = (
    """
MATCH (g:ModelGroup {name: $group})<-[:IN_GROUP]-(v:ModelVersion)<-[:POINTS_TO]-(:Alias {group: $group, name: $alias})
WHERE NOT $alias IN coalesce(g.protected_aliases, []) OR v.approval_status = 'APPROVED'
WITH v ORDER BY v.version DESC LIMIT 1
RETURN """
    + _VERSION
)


def _now() -> datetime:
    return datetime.now(UTC)


def _version_row(row: Mapping[str, Any]) -> ModelVersion:
    return to_model_version(row["v"], row["aliases"])


class RegistryStore:
    """Model groups, versions and aliases. Every write appends its audit event in the same transaction."""

    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph
        self._registrations = Registrations(graph)

    # ---- groups ------------------------------------------------------------------------------------
    async def create_group(self, cmd: CreateModelGroup, actor: str) -> ModelGroup:
        """Create a group; AlreadyExists when the name is taken (the constraint decides, not a pre-read)."""
        entry = AuditEntry(
            actor,
            "model_group.create",
            f"ModelGroup:{cmd.name}",
            {"description": cmd.description, "owner": cmd.owner, "tags": list(cmd.tags)},
        )
        try:
            row = await write_audited(
                self._graph,
                _CREATE_GROUP,
                entry,
                name=cmd.name,
                description=cmd.description,
                owner=cmd.owner,
                tags=list(cmd.tags),
                search_tags=" ".join(cmd.tags),
                actor=actor,
                now=_now(),
            )
        except ConstraintError:
            raise AlreadyExists("model group", cmd.name, "name") from None
        assert row is not None
        return to_model_group(row["g"])

    async def update_group(self, cmd: UpdateModelGroup, actor: str, tags: TagMerge) -> ModelGroup:
        """Update the group; `tags(current)` gives its tags before and after (read under the group's lock)."""

        async def work(tx: AsyncManagedTransaction) -> ModelGroup:
            locked = await fetch_one(tx, _LOCK_GROUP_TAGS, name=cmd.name)
            if locked is None:
                raise NotFound("model group", cmd.name, "name")
            change = tags(locked["tags"])
            row = await fetch_one(
                tx,
                _UPDATE_GROUP,
                name=cmd.name,
                description=cmd.description,
                owner=cmd.owner,
                tags=list(change.after),
                search_tags=" ".join(change.after),
                now=_now(),
            )
            assert row is not None
            payload: dict[str, Any] = {"description": cmd.description, "owner": cmd.owner}
            if change.changed:
                payload["tags"] = change.audit()
            await append_audit_event(tx, AuditEntry(actor, "model_group.update", f"ModelGroup:{cmd.name}", payload))
            return to_model_group(row["g"])

        return await self._graph.write(work)

    async def groups_by_name(self, names: Sequence[str]) -> dict[str, ModelGroup]:
        rows = await self._graph.maps(_GROUPS_BY_NAME, names=list(names))
        return {row["g"]["name"]: to_model_group(row["g"]) for row in rows}

    async def list_groups(
        self, flt: GroupFilter, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[ModelGroup], int]:
        """A page of groups matching `flt`, sorted by `sort` (NAME or CREATED_AT), and how many match."""
        params = {"name_contains": flt.name_contains, "owner": flt.owner, "tag": flt.tag}
        where, supplied = where_clause(_GROUP_CONDITIONS, params)
        cypher = _LIST_GROUPS.format(where=where, order=_order(_GROUP_ORDER, sort, descending, "NAME"))
        rows = await self._graph.maps(cypher, **supplied, offset=offset, limit=limit)
        return [to_model_group(g) for g in rows[0]["page"]], int(rows[0]["total"])

    # ---- versions ----------------------------------------------------------------------------------
    async def register_version(
        self, cmd: RegisterModelVersion, props: Mapping[str, Any], actor: str, decide: RulesDecision
    ) -> Registered:
        """Create the next version of `cmd.group` with its lineage edges in one transaction (store/registration.py);
        a client token already used returns the version it created."""
        return await self._registrations.register(cmd, props, actor, decide)

    async def versions_by_key(self, keys: Sequence[VersionKey]) -> dict[VersionKey, ModelVersion]:
        rows = await self._graph.maps(_VERSIONS_BY_KEY, keys=[{"group": g, "version": n} for g, n in keys])
        return {(row["g"], row["n"]): _version_row(row) for row in rows}

    async def list_versions(
        self, flt: VersionFilter, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[ModelVersion], int]:
        """A page of versions matching `flt`, sorted by `sort` (VERSION or CREATED_AT), and how many match."""
        found = await self.version_page(flt, sort, descending, offset, limit)
        return found.versions, found.total

    async def version_page(
        self,
        flt: VersionFilter,
        sort: str,
        descending: bool,
        offset: int,
        limit: int,
        include: VersionPageIncludes = VersionPageIncludes(),
    ) -> VersionPage:
        """`list_versions`, and in the same statement what `include` asks for."""
        params = {
            "group": flt.group,
            "status": flt.approval_status.value if flt.approval_status else None,
            "tag": flt.tag,
            "created_after": flt.created_after,
            "created_before": flt.created_before,
            "archived": flt.archived,
        }
        where, supplied = where_clause(_VERSION_CONDITIONS, params)
        page_where = where
        if sort == "CREATED_AT" and flt.group is None:
            # Always true, but it lets the created_at index provide the page's order instead of sorting every
            # version (the count keeps its own plan: without filters, the count store).
            page_where = f"{where} AND v.created_at IS NOT NULL" if where else "WHERE v.created_at IS NOT NULL"
        order = _order(_VERSION_ORDER, sort, descending, "VERSION")
        cypher = _LIST_VERSIONS.format(
            where=where,
            page_where=page_where,
            order=order,
            trained_on=_PAGE_TRAINED_ON if include.training_data else "",
            groups=_PAGE_GROUPS if include.groups else "",
            groups_column=", groups" if include.groups else "",
        )
        row = (await self._graph.maps(cypher, **supplied, offset=offset, limit=limit))[0]
        versions = [to_model_version(v, v["aliases"]) for v in row["page"]]
        training_data = (
            {(p["group"], int(p["version"])): unique_dataset_versions(p["trained_on"]) for p in row["page"]}
            if include.training_data
            else {}
        )
        groups = {g["name"]: to_model_group(g) for g in row.get("groups", ())}
        return VersionPage(versions, int(row["total"]), groups, training_data)

    async def latest_version(self, group: str, status: ApprovalStatus | None) -> ModelVersion | None:
        return (await self.latest_versions([(group, status)])).get((group, status))

    async def latest_versions(
        self, keys: Sequence[tuple[str, ApprovalStatus | None]]
    ) -> dict[tuple[str, ApprovalStatus | None], ModelVersion]:
        """For each (group, status or None): the group's newest non-archived version with that status."""
        rows = await self._graph.maps(
            _LATEST_VERSIONS, keys=[{"group": g, "status": s.value if s else None} for g, s in keys]
        )
        return {
            (r["group"], ApprovalStatus(r["status"]) if r["status"] else None): to_model_version(
                r["v"], r["v"]["aliases"]
            )
            for r in rows
        }

    async def update_version(
        self,
        cmd: UpdateModelVersion,
        actor: str,
        merge: Callable[[Mapping[str, str]], dict[str, str]],
        tags: TagMerge,
    ) -> ModelVersion:
        """Read the current map and tags under the version's lock, let `merge` and `tags` compute the new
        ones, write them."""
        group, version = cmd.ref.parts

        async def work(tx: AsyncManagedTransaction) -> ModelVersion:
            locked = await fetch_one(tx, _LOCK_VERSION, group=group, version=version)
            if locked is None:
                raise NotFound("model version", str(cmd.ref), "id")
            current = to_model_version(locked["v"]).custom_properties
            new_map = merge(current)
            change = tags(locked["v"].get("tags"))
            row = await fetch_one(
                tx,
                _UPDATE_VERSION,
                group=group,
                version=version,
                description=cmd.description,
                tags=list(change.after),
                search_tags=search_words(NodeKind.MODEL_VERSION, change.after),
                custom_properties=dumps(new_map),
                now=_now(),
            )
            assert row is not None
            await tx.run(
                "MATCH (v:ModelVersion {group: $group, version: $version}) REMOVE v._lock", group=group, version=version
            )
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "model_version.update",
                    str(cmd.ref),
                    {
                        "description": cmd.description,
                        "custom_properties": new_map,
                        **({"tags": change.audit()} if change.changed else {}),
                    },
                ),
            )
            return _version_row(row)

        return await self._graph.write(work)

    async def add_metrics(
        self, group: str, version: int, actor: str, merge: Callable[[tuple[Metric, ...]], tuple[Metric, ...]]
    ) -> ModelVersion:
        """Lock the version, let `merge(existing)` compute the new metric list (it refuses overwrites)."""

        async def work(tx: AsyncManagedTransaction) -> ModelVersion:
            locked = await fetch_one(tx, _LOCK_VERSION, group=group, version=version)
            if locked is None:
                raise NotFound("model version", f"{group}/{version}", "id")
            merged = merge(to_model_version(locked["v"]).metrics)
            row = await fetch_one(
                tx, _SET_METRICS, group=group, version=version, metrics=metrics_to_json(merged), now=_now()
            )
            assert row is not None
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "model_version.add_metrics",
                    f"ModelVersion:{group}/{version}",
                    {"metrics": metrics_to_json(merged)},
                ),
            )
            return _version_row(row)

        return await self._graph.write(work)

    async def set_archived(self, group: str, version: int, archived: bool, actor: str) -> ModelVersion:
        action = "model_version.archive" if archived else "model_version.restore"
        entry = AuditEntry(actor, action, f"ModelVersion:{group}/{version}", {})
        row = await write_audited(
            self._graph, _SET_ARCHIVED, entry, group=group, version=version, archived=archived, now=_now()
        )
        if row is None:
            raise NotFound("model version", f"{group}/{version}", "id")
        return _version_row(row)

    # ---- aliases -----------------------------------------------------------------------------------
    async def protected_aliases(self, group: str) -> tuple[str, ...] | None:
        """The group's protected aliases (None when the group does not exist)."""
        rows = await self._graph.rows(_PROTECTED_ALIASES, group=group)
        return tuple(rows[0]["protected"]) if rows else None

    async def group_aliases(self, groups: Sequence[str]) -> dict[str, tuple[GroupAlias, ...]]:
        """Each existing group's aliases: where each points and whether it is protected."""
        rows = await self._graph.rows(_GROUP_ALIASES, groups=list(groups))
        return {
            found["group"]: group_aliases(
                found["protected"], [(a, int(v), ApprovalStatus(s)) for a, v, s in found["pointers"]]
            )
            for found in (rows[0]["groups"] if rows else [])
        }

    async def set_alias(self, group: str, alias: str, version: int, actor: str, rule: AliasRule) -> int | None:
        """Point `alias` at `version` under the alias's lock; `rule(protected, status)` raises when the move
        is not allowed (it sees the protection and the target's status as they are under that lock).
        Returns the version the alias pointed at before."""

        async def work(tx: AsyncManagedTransaction) -> int | None:
            locked = await fetch_one(tx, _LOCK_ALIAS, group=group, alias=alias)
            if locked is None:
                raise NotFound("model group", group, "group")
            target = await fetch_one(tx, _ALIAS_TARGET, group=group, alias=alias, version=version)
            assert target is not None
            if not target["found"]:
                raise NotFound("model version", f"{group}/{version}", "modelVersionId")
            protected = alias in locked["protected"]
            rule(protected, ApprovalStatus(target["approval_status"]))
            await (await tx.run(_MOVE_ALIAS, group=group, alias=alias, version=version)).consume()
            previous: int | None = min(target["previous"]) if target["previous"] else None
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "alias.set",
                    f"ModelGroup:{group}",
                    {"alias": alias, "version": version, "previous": previous, "protected": protected},
                ),
            )
            return previous

        try:
            return await self._graph.write(work)
        except ConstraintError:
            # Only reachable if something bypassed the alias lock: the constraint keeps one pointer per alias.
            raise Conflict(f"alias {group}@{alias} is being moved concurrently, try again") from None

    async def delete_alias(self, group: str, alias: str, actor: str, rule: Callable[[bool], None]) -> int:
        async def work(tx: AsyncManagedTransaction) -> int:
            row = await fetch_one(tx, _DELETE_ALIAS, group=group, alias=alias)
            if row is None or row["version"] is None:
                raise NotFound("alias", f"{group}@{alias}", "alias")
            protected = alias in row["protected"]
            rule(protected)
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "alias.delete",
                    f"ModelGroup:{group}",
                    {"alias": alias, "version": row["version"], "protected": protected},
                ),
            )
            version: int = row["version"]
            return version

        return await self._graph.write(work)

    async def set_protected_aliases(self, group: str, aliases: Sequence[str], actor: str) -> tuple[str, ...]:
        """Replace the group's protected aliases; audited with the list before and after."""

        async def work(tx: AsyncManagedTransaction) -> tuple[str, ...]:
            row = await fetch_one(tx, _SET_PROTECTED, group=group, aliases=list(aliases), now=_now())
            if row is None:
                raise NotFound("model group", group, "group")
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "model_group.protect_aliases",
                    f"ModelGroup:{group}",
                    {"before": list(row["before"]), "after": list(aliases)},
                ),
            )
            return tuple(aliases)

        return await self._graph.write(work)

    async def version_by_alias(self, group: str, alias: str) -> ModelVersion | None:
        rows = await self._graph.rows(_VERSION_BY_ALIAS, group=group, alias=alias)
        return _version_row(rows[0]) if rows else None


def _order(orders: Mapping[tuple[str, bool], str], sort: str, descending: bool, default: str) -> str:
    return orders.get((sort, descending)) or orders[(default, descending)]
