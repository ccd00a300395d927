"""SageMaker's lineage entities on our nodes: artifacts are dataset or code versions, actions are runs, contexts
are jobs. What SageMaker says about them beyond our own fields (name, type, source, properties) is kept on the
node as a JSON document, with the few fields lists filter on beside it; deletes are tombstones, so lineage
walks and the audit log still see what was there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.errors import Conflict, NotFound, Problem
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.records import dumps
from lineage_graph.store.sagemaker import ASSOCIATION_EDGES


class Family(Enum):
    """SageMaker's three kinds of lineage entity, with the node match and the defaults of its fields."""

    ARTIFACT = "artifact"
    ACTION = "action"
    CONTEXT = "context"


_MATCH = {
    Family.ARTIFACT: "MATCH (n) WHERE (n:DatasetVersion OR n:CodeVersion)",
    Family.ACTION: "MATCH (n:Run) WHERE true",
    Family.CONTEXT: "MATCH (n:Job) WHERE true",
}
_TYPE = {
    Family.ARTIFACT: "coalesce(n.sagemaker_type, CASE WHEN n:CodeVersion THEN 'Code' ELSE 'DataSet' END)",
    Family.ACTION: "coalesce(n.sagemaker_type, n.job_name)",
    Family.CONTEXT: "n.sagemaker_type",
}
_SOURCE = {
    Family.ARTIFACT: "coalesce(n.sagemaker_source_uri, n.uri, n.repository)",
    Family.ACTION: "n.sagemaker_source_uri",
    Family.CONTEXT: "n.sagemaker_source_uri",
}
_NAME = {
    Family.ARTIFACT: "coalesce(n.sagemaker_name, n.uri, n.repository, '')",
    Family.ACTION: "n.run_id",
    Family.CONTEXT: "n.name",
}
_SORT = {"CreationTime": "n.created_at", "Name": None}
# Edges that are an approved model version's evidence (what it was trained on, made by, built from).
_EVIDENCE_EDGES = ("TRAINED", "OUTPUT", "BUILT", "DERIVED_FROM")
_ASSOCIATION_EDGES = "|".join(ASSOCIATION_EDGES)


@dataclass(frozen=True)
class EntityRecord:
    ref: NodeRef
    props: Mapping[str, Any]  # the node's own properties
    document: Mapping[str, Any]  # what SageMaker said about it

    @property
    def created_at(self) -> datetime:
        return _native(self.props.get("created_at")) or datetime.now(UTC)

    @property
    def updated_at(self) -> datetime:
        return _native(self.props.get("sagemaker_updated_at")) or self.created_at


@dataclass(frozen=True)
class EntityFilter:
    source_uri: str | None = None
    entity_type: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def _native(value: Any) -> datetime | None:
    if value is None:
        return None
    native = value.to_native() if hasattr(value, "to_native") else value
    return native if isinstance(native, datetime) else None


def _pattern(kind: NodeKind, var: str = "n", param: str = "key") -> str:
    """`(n:DatasetVersion {namespace: $key.namespace, ...})`: a node matched by its natural key parameter."""
    keys = ", ".join(f"{k}: ${param}.{k}" for k in kind.keys)
    return f"({var}:{kind.label} {{{keys}}})"


def _record(label: str, props: Mapping[str, Any]) -> EntityRecord:
    kind = NodeKind.from_label(label)
    ref = NodeRef(kind, tuple(props[k] for k in kind.keys))
    raw = props.get("sagemaker_entity")
    return EntityRecord(ref, props, json.loads(raw) if raw else {})


_LABEL = "head([l IN labels(n) WHERE l IN ['DatasetVersion', 'CodeVersion', 'Run', 'Job']])"


@dataclass(frozen=True)
class EntityFields:
    """The denormalised fields lists filter and sort on, beside the document."""

    entity_type: str | None
    name: str | None
    source_uri: str | None


def _now() -> datetime:
    return datetime.now(UTC)


class SageMakerEntityStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def describe(self, refs: Sequence[NodeRef]) -> dict[NodeRef, EntityRecord]:
        """The live (not deleted) entities among `refs`."""
        found: dict[NodeRef, EntityRecord] = {}
        for ref in refs:
            rows = await self._graph.rows(
                f"MATCH {_pattern(ref.kind)} WHERE n.deleted_at IS NULL RETURN n {{.*}} AS n", key=ref.key
            )
            if rows:
                found[ref] = _record(ref.kind.label, rows[0]["n"])
        return found

    async def write(
        self,
        ref: NodeRef,
        change: Callable[[Mapping[str, Any]], tuple[dict[str, Any], EntityFields]],
        action: str,
        actor: str,
        revive: bool = False,
    ) -> EntityRecord:
        """Under the node's lock, replace its document with `change(current)`; audited as `action`. A tombstone
        is NotFound, unless `revive` (creating an entity again brings it back)."""
        lock = f"MATCH {_pattern(ref.kind)} SET n._lock = true RETURN n {{.*}} AS n"
        write = (
            f"MATCH {_pattern(ref.kind)} SET n.sagemaker_entity = $doc, n.sagemaker_type = $type, "
            "n.sagemaker_name = $name, n.sagemaker_source_uri = $source, n.sagemaker_updated_at = $now "
            "REMOVE n._lock, n.deleted_at, n.deleted_by RETURN n {.*} AS n"
        )

        async def work(tx: AsyncManagedTransaction) -> EntityRecord:
            row = await fetch_one(tx, lock, key=ref.key)
            if row is None or (row["n"].get("deleted_at") is not None and not revive):
                raise NotFound(ref.kind.label, str(ref), "Arn")
            current = _record(ref.kind.label, row["n"]).document
            doc, fields = change(current)
            written = await fetch_one(
                tx,
                write,
                key=ref.key,
                doc=dumps(doc),
                type=fields.entity_type,
                name=fields.name,
                source=fields.source_uri,
                now=_now(),
            )
            assert written is not None
            await append_audit_event(tx, AuditEntry(actor, action, str(ref), {"document": doc}))
            return _record(ref.kind.label, written["n"])

        return await self._graph.write(work)

    async def delete(self, ref: NodeRef, actor: str) -> None:
        """Tombstone an entity: it leaves describes and lists; its edges and history stay."""
        query = (
            f"MATCH {_pattern(ref.kind)} WHERE n.deleted_at IS NULL "
            "SET n.deleted_at = $now, n.deleted_by = $actor RETURN count(n) AS n"
        )

        async def work(tx: AsyncManagedTransaction) -> None:
            row = await fetch_one(tx, query, key=ref.key, now=_now(), actor=actor)
            if row is None or not row["n"]:
                raise NotFound(ref.kind.label, str(ref), "Arn")
            await append_audit_event(tx, AuditEntry(actor, "lineage_entity.delete", str(ref), {}))

        await self._graph.write(work)

    async def page(
        self, family: Family, flt: EntityFilter, sort: str, descending: bool, offset: int, limit: int
    ) -> list[EntityRecord]:
        """One sorted page (`limit` records) of live entities of `family`."""
        order_expr = _SORT.get(sort) or _NAME[family]
        direction = "DESC" if descending else "ASC"
        query = (
            f"{_MATCH[family]} AND n.deleted_at IS NULL "
            f"AND ($source IS NULL OR {_SOURCE[family]} = $source) "
            f"AND ($type IS NULL OR {_TYPE[family]} = $type) "
            "AND ($after IS NULL OR n.created_at > $after) AND ($before IS NULL OR n.created_at < $before) "
            f"WITH n ORDER BY {order_expr} {direction}, elementId(n) {direction} SKIP $offset LIMIT $limit "
            f"RETURN collect({{label: {_LABEL}, n: n {{.*}}}}) AS page"
        )
        rows = await self._graph.rows(
            query,
            source=flt.source_uri,
            type=flt.entity_type,
            after=flt.created_after,
            before=flt.created_before,
            offset=offset,
            limit=limit,
        )
        return [_record(r["label"], r["n"]) for r in rows[0]["page"]] if rows else []

    async def delete_association(self, source: NodeRef, destination: NodeRef, actor: str) -> list[str]:
        """Remove every association edge from `source` to `destination`; returns the edge types removed.
        Edges that are the evidence of an APPROVED model version are refused (reject the version first)."""
        ends = f"MATCH {_pattern(source.kind, 's', 's')} MATCH {_pattern(destination.kind, 'd', 'd')} "
        find = (
            ends + f"MATCH (s)-[r:{_ASSOCIATION_EDGES}]->(d) "
            "RETURN collect(type(r)) AS edges, "
            "any(v IN [s, d] WHERE v:ModelVersion AND v.approval_status = 'APPROVED') AS approved"
        )
        remove = ends + f"MATCH (s)-[r:{_ASSOCIATION_EDGES}]->(d) DELETE r"

        async def work(tx: AsyncManagedTransaction) -> list[str]:
            row = await fetch_one(tx, find, s=source.key, d=destination.key)
            edges = list(row["edges"]) if row else []
            if not edges:
                raise NotFound("association", f"{source} -> {destination}", "SourceArn")
            if row and row["approved"] and any(e in _EVIDENCE_EDGES for e in edges):
                message = "this association is evidence of an APPROVED model version's approval; reject it first"
                raise Conflict(message, [Problem("DestinationArn", message, "APPROVAL_EVIDENCE")])
            await tx.run(remove, s=source.key, d=destination.key)
            await append_audit_event(
                tx,
                AuditEntry(actor, "association.delete", str(source), {"destination": str(destination), "edges": edges}),
            )
            return edges

        return await self._graph.write(work)
