"""What SageMaker needs beyond the registry's own store: imported approval decisions, contexts, associations
between lineage entities, and the bounded lineage walk behind QueryLineage.

Queries that work on "any lineage node" are assembled from fixed fragments (one MATCH pattern per node kind,
one edge type from a whitelist); no caller-supplied text is ever interpolated, values travel as parameters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.errors import NotFound, QueryTimedOut
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import LINEAGE_EDGES, Direction, EdgeType, WalkLimits
from lineage_graph.domain.models import ApprovalStatus, Job
from lineage_graph.domain.sagemaker import GENERIC_EDGE
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_all, fetch_one
from lineage_graph.store.records import dumps, to_job
from lineage_graph.store.traversal import PROJECTION, Walk, to_lineage_node

LINEAGE_KINDS = (
    NodeKind.DATASET_VERSION,
    NodeKind.CODE_VERSION,
    NodeKind.RUN,
    NodeKind.JOB,
    NodeKind.MODEL_VERSION,
)
# Edges a SageMaker client sees as associations: the lineage edges, the same vocabulary every walk follows.
ASSOCIATION_EDGES = tuple(edge.type_name for edge in LINEAGE_EDGES)
assert GENERIC_EDGE in ASSOCIATION_EDGES
_EDGE_UNION = "|".join(ASSOCIATION_EDGES)
MAX_LINEAGE_NODES = 1000


def _pattern(var: str, kind: NodeKind) -> str:
    """`(s:DatasetVersion {namespace: $s.namespace, ...})`: a node matched by its natural key parameter."""
    keys = ", ".join(f"{k}: ${var}.{k}" for k in kind.keys)
    return f"({var}:{kind.label} {{{keys}}})"


_NODE_KEYS = (
    "CASE WHEN {v}:ModelVersion THEN 'ModelVersion' WHEN {v}:DatasetVersion THEN 'DatasetVersion' "
    "WHEN {v}:CodeVersion THEN 'CodeVersion' WHEN {v}:Run THEN 'Run' WHEN {v}:Job THEN 'Job' END AS {v}_label, "
    "{v} {{.group, .version, .namespace, .name, .repository, .commit, .run_id}} AS {v}_props"
)

_LOCK_VERSION = """
MATCH (v:ModelVersion {group: $group, version: $version})
SET v._lock = true
RETURN v.approval_status AS status
"""

_IMPORT_APPROVAL = """
MATCH (v:ModelVersion {group: $group, version: $version})
SET v.approval_status = $to_status, v.updated_at = $now
REMOVE v._lock
MERGE (d:ApprovalDecision {decision_id: $decision_id})
  ON CREATE SET d.decision = $decision, d.from_status = $from_status, d.to_status = $to_status, d.actor = $actor,
                d.at = $now, d.comment = $comment, d.evidence = $evidence, d.round = coalesce(v.approval_round, 0)
MERGE (d)-[:DECIDES]->(v)
WITH v
SET v.approval_round = CASE WHEN $decision = 'REJECT' THEN coalesce(v.approval_round, 0) + 1
                            ELSE coalesce(v.approval_round, 0) END
"""

_TOKENS = """
UNWIND $tokens AS token
MATCH (t:ClientToken {group: $group, token: token})
RETURN t.token AS token, t.version AS version
"""

_CREATE_CONTEXT = """
MERGE (j:Job {namespace: $namespace, name: $name})
  ON CREATE SET j.created_at = $now, j.facets = $facets, j.description = $description
RETURN j {.*} AS j, j.created_at = $now AS created
"""


@dataclass(frozen=True)
class Association:
    source: NodeRef
    destination: NodeRef
    edge: str
    association_type: str | None  # stored only on the generic edge
    created_at: datetime | None


@dataclass(frozen=True)
class LineageWalk:
    vertices: list[NodeRef]
    edges: list[Association]


def _ref(label: str | None, props: Mapping[str, Any]) -> NodeRef | None:
    if label is None:
        return None
    kind = NodeKind.from_label(label)
    return NodeRef(kind, tuple(props[k] for k in kind.keys))


def _association(row: Mapping[str, Any]) -> Association | None:
    source = _ref(row["s_label"], row["s_props"])
    destination = _ref(row["d_label"], row["d_props"])
    if source is None or destination is None:
        return None
    created = row.get("created_at")
    return Association(
        source,
        destination,
        row["edge"],
        row.get("association_type"),
        None if created is None else created.to_native(),
    )


def _edge_rows(match: str) -> str:
    return (
        match
        + " RETURN type(r) AS edge, r.association_type AS association_type, r.created_at AS created_at, "
        + _NODE_KEYS.format(v="s")
        + ", "
        + _NODE_KEYS.format(v="d")
    )


class SageMakerStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    # ---- importer support ----------------------------------------------------------------------------
    async def versions_for_tokens(self, group: str, tokens: Sequence[str]) -> dict[str, int]:
        """The versions earlier registrations with these client tokens created (how re-imports find theirs)."""
        rows = await self._graph.rows(_TOKENS, group=group, tokens=list(tokens))
        return {r["token"]: int(r["version"]) for r in rows}

    async def import_approval(
        self, group: str, version: int, status: ApprovalStatus, comment: str | None, source: str, actor: str
    ) -> bool:
        """Mirror a decision already taken in SageMaker: an ApprovalDecision marked imported, and an audit
        event `model_version.approval_imported`. Governance rules are not re-run: the decision was made there.
        Returns False (and writes nothing) when the version already has that status; a return to pending
        is not a decision and is not mirrored."""
        decision_id = hashlib.sha256(f"{source}|{status.value}|{comment}".encode()).hexdigest()[:32]

        async def work(tx: AsyncManagedTransaction) -> bool:
            row = await fetch_one(tx, _LOCK_VERSION, group=group, version=version)
            if row is None:
                raise NotFound("model version", f"{group}/{version}", "id")
            if row["status"] == status.value or status is ApprovalStatus.PENDING_MANUAL_APPROVAL:
                await tx.run("MATCH (v:ModelVersion {group: $g, version: $v}) REMOVE v._lock", g=group, v=version)
                return False
            evidence = {"imported": True, "source": source}
            await tx.run(
                _IMPORT_APPROVAL,
                group=group,
                version=version,
                to_status=status.value,
                from_status=row["status"],
                decision_id=decision_id,
                decision="APPROVE" if status is ApprovalStatus.APPROVED else "REJECT",
                actor=actor,
                now=datetime.now(UTC),
                comment=comment,
                evidence=dumps(evidence),
            )
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "model_version.approval_imported",
                    f"ModelVersion:{group}/{version}",
                    {
                        "imported": True,
                        "source": source,
                        "from_status": row["status"],
                        "to_status": status.value,
                        "comment": comment,
                    },
                ),
            )
            return True

        return await self._graph.write(work)

    # ---- lineage entities -----------------------------------------------------------------------------
    async def create_context(
        self, namespace: str, name: str, description: str | None, facets: Mapping[str, Any], actor: str
    ) -> Job:
        """A SageMaker context is a Job (a pipeline, an experiment, an endpoint); creating it again is a no-op."""

        async def work(tx: AsyncManagedTransaction) -> Job:
            row = await fetch_one(
                tx,
                _CREATE_CONTEXT,
                namespace=namespace,
                name=name,
                description=description,
                facets=dumps(dict(facets)),
                now=datetime.now(UTC),
            )
            assert row is not None
            if row["created"]:
                await append_audit_event(
                    tx, AuditEntry(actor, "context.create", f"Job:{namespace}/{name}", {"facets": dict(facets)})
                )
            return to_job(row["j"])

        return await self._graph.write(work)

    async def add_association(
        self, source: NodeRef, destination: NodeRef, edge: str, association_type: str, actor: str
    ) -> bool:
        """MERGE the edge between two existing nodes; NotFound names the missing end. Returns True if new."""
        if edge not in ASSOCIATION_EDGES:
            raise ValueError(edge)
        query = (
            f"OPTIONAL MATCH {_pattern('s', source.kind)} OPTIONAL MATCH {_pattern('d', destination.kind)} "
            "RETURN s IS NOT NULL AS source, d IS NOT NULL AS destination"
        )
        props = "{association_type: $type}" if edge == GENERIC_EDGE else ""
        merge = (
            f"MATCH {_pattern('s', source.kind)}, {_pattern('d', destination.kind)} "
            f"MERGE (s)-[r:{edge} {props}]->(d) ON CREATE SET r.created_at = $now, r._new = true "
            "WITH r, coalesce(r._new, false) AS created REMOVE r._new RETURN created"
        )

        async def work(tx: AsyncManagedTransaction) -> bool:
            found = await fetch_one(tx, query, s=source.key, d=destination.key)
            assert found is not None
            if not found["source"]:
                raise NotFound(source.kind.label, str(source), "SourceArn")
            if not found["destination"]:
                raise NotFound(destination.kind.label, str(destination), "DestinationArn")
            row = await fetch_one(
                tx, merge, s=source.key, d=destination.key, type=association_type, now=datetime.now(UTC)
            )
            created = bool(row and row["created"])
            if created:
                await append_audit_event(
                    tx,
                    AuditEntry(
                        actor,
                        "association.add",
                        str(source),
                        {"destination": str(destination), "edge": edge, "association_type": association_type},
                    ),
                )
            return created

        return await self._graph.write(work)

    async def exists(self, ref: NodeRef) -> bool:
        rows = await self._graph.rows(f"MATCH {_pattern('n', ref.kind)} RETURN count(n) AS n", n=ref.key)
        return bool(rows and rows[0]["n"])

    async def list_associations(
        self, source: NodeRef | None, destination: NodeRef | None, edges: Sequence[str], offset: int, limit: int
    ) -> list[Association]:
        """Associations touching `source` and/or `destination` (or all), ordered stably, one page."""
        parts = []
        if source is not None:
            parts.append(f"MATCH {_pattern('s', source.kind)}")
        if destination is not None:
            parts.append(f"MATCH {_pattern('d', destination.kind)}")
        parts.append(f"MATCH (s)-[r:{_EDGE_UNION}]->(d) WHERE type(r) IN $edges")
        query = _edge_rows(" ".join(parts)) + " ORDER BY r.created_at, elementId(r) SKIP $offset LIMIT $limit"
        rows = await self._graph.rows(
            query,
            s=source.key if source else None,
            d=destination.key if destination else None,
            edges=list(edges),
            offset=offset,
            limit=limit,
        )
        return [a for a in map(_association, rows) if a is not None]

    async def walk(self, starts: Sequence[NodeRef], upstream: bool, downstream: bool, max_depth: int) -> LineageWalk:
        """QueryLineage: the one lineage walk (`store/traversal.py`, the same edges, limits and truncation as
        GraphQL `lineage`) from the starts that exist, capped at `MAX_LINEAGE_NODES` vertices. Upstream follows
        data against the flow (DERIVED_FROM forwards, every other edge backwards)."""
        direction = (
            Direction.BOTH if upstream and downstream else Direction.UPSTREAM if upstream else Direction.DOWNSTREAM
        )
        limits = WalkLimits(depth=max_depth, nodes=MAX_LINEAGE_NODES)
        walk = Walk.of({}, direction, LINEAGE_EDGES, limits)
        start_query = " UNION ".join(
            f"UNWIND $starts AS k MATCH {_pattern('n', kind).replace('$n.', 'k.')} "
            f"WHERE k.label = '{kind.label}' RETURN elementId(n) AS id, labels(n) AS labels, n {PROJECTION} AS props"
            for kind in LINEAGE_KINDS
        )

        async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
            params = [{**ref.key, "label": ref.kind.label} for ref in starts]
            found = await fetch_all(tx, start_query, starts=params)
            walk.seeds = {row["id"]: to_lineage_node(row["labels"], row["props"], 0) for row in found}
            await walk.run(tx)
            # SageMaker's own association type lives on the generic edge: read it for the edges walked.
            generic = [[s, t] for s, t, edge in walk.result_edges() if edge is EdgeType.ASSOCIATED_WITH]
            row = await fetch_one(tx, _ASSOCIATION_TYPES, pairs=generic) if generic else None
            return row["types"] if row else []

        walk.start_clock()
        try:
            types = await self._graph.read(work, timeout=limits.seconds * 1.5 + 1.0)
        except QueryTimedOut:
            walk.stopped_by_server()
            types = []
        nodes = walk.result_nodes()
        stored: dict[tuple[str, str], list[tuple[str | None, Any]]] = {}
        for source, target, kept_type, created in types:
            stored.setdefault((source, target), []).append((kept_type, created))
        edges: list[Association] = []
        for source, target, edge in walk.result_edges():
            a, b = nodes[source].ref, nodes[target].ref
            if edge is EdgeType.ASSOCIATED_WITH:
                for association_type, created in stored.get((source, target), [(None, None)]):
                    at = None if created is None else created.to_native()
                    edges.append(Association(a, b, edge.type_name, association_type, at))
            else:
                edges.append(Association(a, b, edge.type_name, None, None))
        return LineageWalk([n.ref for n in nodes.values()], edges)


_ASSOCIATION_TYPES = """
UNWIND $pairs AS pair
MATCH (a)-[r:ASSOCIATED_WITH]->(b) WHERE elementId(a) = pair[0] AND elementId(b) = pair[1]
RETURN collect([pair[0], pair[1], r.association_type, r.created_at]) AS types
"""
