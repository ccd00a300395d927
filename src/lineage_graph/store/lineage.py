"""Lineage reads in Neo4j: the start of a walk (found by natural key, a container fanned out to its members),
the walk itself (`store/traversal.py`, the one traversal), and the governance details of impacted versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.errors import NotFound, QueryTimedOut
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import (
    CONTAINERS,
    DEFAULT_DEPTH,
    LINEAGE_EDGES,
    Direction,
    ImpactDeployment,
    ImpactedModelVersion,
    LineageGraph,
    LineageNode,
    LineageRequest,
    ShortestPathDag,
    Truncation,
    WalkLimits,
)
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.traversal import (
    NO_NODE,
    PROJECTION,
    Walk,
    key_parts,
    pruned_walks,
    sample_ref,
    to_lineage_node,
    warm_up_statements,
)

# Start lookups by natural key, one per kind, so each is a unique-constraint index seek.
_FIND: dict[NodeKind, str] = {
    NodeKind.MODEL_GROUP: "MATCH (n:ModelGroup {name: $key.k0})",
    NodeKind.MODEL_VERSION: "MATCH (n:ModelVersion {group: $key.k0, version: $key.k1})",
    NodeKind.DATASET: "MATCH (n:Dataset {namespace: $key.k0, name: $key.k1})",
    NodeKind.DATASET_VERSION: "MATCH (n:DatasetVersion {namespace: $key.k0, name: $key.k1, version: $key.k2})",
    NodeKind.CODE_VERSION: "MATCH (n:CodeVersion {repository: $key.k0, commit: $key.k1})",
    NodeKind.JOB: "MATCH (n:Job {namespace: $key.k0, name: $key.k1})",
    NodeKind.RUN: "MATCH (n:Run {run_id: $key.k0})",
}
_FIND_RETURN = f" RETURN elementId(n) AS eid, labels(n) AS labels, n {PROJECTION} AS props"

_MEMBERS = f"""
MATCH (c) WHERE elementId(c) = $walk.container
MATCH (m)-[r]->(c) WHERE type(r) = $walk.membership
WITH m LIMIT $rows
RETURN collect([elementId(m), labels(m), m {PROJECTION}]) AS members
"""


class LineageStore(Protocol):
    """The traversal contract. Implementations visit each node and edge once; every result says whether and why
    it was cut (depth, node or edge cap, time budget) instead of silently returning a part."""

    async def traverse(self, request: LineageRequest, budget: float) -> LineageGraph:
        """The subgraph around `request.start`; NotFound when the start does not exist."""
        ...

    async def find(self, ref: NodeRef) -> LineageNode | None:
        """The node `ref` names, or None."""
        ...

    async def impact_details(self, versions: list[LineageNode]) -> list[ImpactedModelVersion]:
        """Aliases and active deployments of the given model versions (the nodes of a downstream traversal)."""
        ...

    async def shortest_paths(
        self, source: NodeRef, target: NodeRef, direction: Direction, max_depth: int, limit: int, budget: float
    ) -> tuple[ShortestPathDag, dict[NodeRef, LineageNode], int | None, Truncation | None]:
        """Breadth-first from `source` in `direction` until `target` is reached: the shortest-path predecessor
        DAG, the nodes seen, the distance to `target` (None when not reached) and any truncation."""
        ...


@dataclass
class _Start:
    """A lineage request's work function: find the start by its natural key, fan a container out to its
    members, then walk, all in one read transaction so the walk and its start are one consistent read."""

    ref: NodeRef
    walk: Walk
    id_field: str = "id"

    async def run(self, tx: AsyncManagedTransaction) -> None:
        if self.ref.kind not in CONTAINERS and self.walk.one_statement:
            # The walk's own statement finds the start: one round trip for the whole request.
            if not await self.walk.run_from_key(tx, self.ref):
                raise NotFound(self.ref.kind.label, str(self.ref), self.id_field)
            return
        row = await fetch_one(tx, _FIND[self.ref.kind] + _FIND_RETURN, key=key_parts(self.ref))
        if row is None:
            raise NotFound(self.ref.kind.label, str(self.ref), self.id_field)
        root: str = row["eid"]
        start = to_lineage_node(row["labels"], row["props"], 0)
        membership = CONTAINERS.get(self.ref.kind)
        if membership is None:
            self.walk.seeds = {root: start}
            await self.walk.run(tx)
            return
        # A container's members are the walk's starts (distance 0), linked to it by their membership edge.
        room = self.walk.limits.nodes - 1
        walk = {"container": root, "membership": membership.type_name}
        found = await fetch_one(tx, _MEMBERS, walk=walk, rows=room + 1)
        assert found is not None
        members = {eid: to_lineage_node(labels, props, 0) for eid, labels, props in found["members"][:room]}
        self.walk.anchors, self.walk.seeds = {root: start}, members
        self.walk.seed_edges = [(eid, root, membership) for eid in members]
        await self.walk.run(tx)
        if len(found["members"]) > room:
            self.walk.truncated = Truncation.NODE_LIMIT
            self.walk.expandable.add(root)


def graph_of(root: NodeRef, walk: Walk) -> LineageGraph:
    nodes = walk.result_nodes()
    edges = tuple(walk.lineage_edges(nodes))
    return LineageGraph(root, tuple(nodes.values()), edges, walk.depth_reached, walk.truncated)


class Neo4jLineageStore:
    """`LineageStore` over Neo4j. `budget` is seconds: checked between levels, and the server-side transaction
    timeout (with a small margin) stops a single level that runs away."""

    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def traverse(self, request: LineageRequest, budget: float) -> LineageGraph:
        walk = Walk.of({}, request.direction, request.edge_types, request.limits(budget))
        await self._run(_Start(request.start, walk), walk)
        return graph_of(request.start, walk)

    async def find(self, ref: NodeRef) -> LineageNode | None:
        rows = await self._graph.rows(_FIND[ref.kind] + _FIND_RETURN, key=key_parts(ref))
        return to_lineage_node(rows[0]["labels"], rows[0]["props"], 0) if rows else None

    async def impact_details(self, versions: list[LineageNode]) -> list[ImpactedModelVersion]:
        if not versions:
            return []
        params = [[node.ref.parts[0], node.ref.parts[1]] for node in versions]
        rows = await self._graph.rows(_IMPACT_DETAILS_BY_KEY, impacted={"versions": params})
        details = {(row["group"], row["version"]): row for row in rows}
        impacted: list[ImpactedModelVersion] = []
        for node in versions:
            row = details.get((node.ref.parts[0], node.ref.parts[1]))
            if row is None:
                continue  # deleted since the traversal: nothing left to be affected
            deployments = tuple(
                ImpactDeployment(
                    deployment_id=d["deployment_id"],
                    endpoint=d.get("endpoint"),
                    environment=d.get("environment"),
                    traffic_share=d.get("traffic_share"),
                )
                for d in row["deployments"]
            )
            impacted.append(ImpactedModelVersion(node, tuple(row["aliases"]), deployments))
        return impacted

    async def shortest_paths(
        self, source: NodeRef, target: NodeRef, direction: Direction, max_depth: int, limit: int, budget: float
    ) -> tuple[ShortestPathDag, dict[NodeRef, LineageNode], int | None, Truncation | None]:
        walk = Walk.of({}, direction, LINEAGE_EDGES, WalkLimits(max_depth, limit, budget), target=target)
        await self._run(_Start(source, walk, id_field="from"), walk)
        nodes = walk.result_nodes()
        edges = walk.lineage_edges(nodes)
        dag = ShortestPathDag.from_walk(source, direction, {n.ref: n.distance for n in nodes.values()}, edges)
        truncated = walk.truncated if walk.target_distance is None else None
        return dag, {n.ref: n for n in nodes.values()}, walk.target_distance, truncated

    async def _run(self, start: _Start, walk: Walk) -> None:
        walk.start_clock()
        try:
            # The server's limit has a margin over the walk's own: the check between levels is the normal stop.
            await self._graph.read(start.run, timeout=walk.limits.seconds * 1.5 + 1.0)
        except QueryTimedOut:
            walk.stopped_by_server()


# Model versions are matched by key rather than element id: the details run in their own transaction. The list
# travels in a map, as the walk's do (one plan for every size: store/traversal.py).
_IMPACT_DETAILS_BY_KEY = """
UNWIND $impacted.versions AS key
MATCH (v:ModelVersion {group: key[0], version: key[1]})
RETURN v.group AS group, v.version AS version,
       COLLECT { MATCH (a:Alias)-[:POINTS_TO]->(v) RETURN a.name ORDER BY a.name } AS aliases,
       COLLECT {
         MATCH (d:Deployment {status: 'ACTIVE'})-[:SERVES]->(v)
         RETURN d {.deployment_id, .endpoint, .environment, .traffic_share} ORDER BY d.deployment_id
       } AS deployments
"""


def lineage_statements() -> list[tuple[str, dict[str, Any]]]:
    """What a lineage request runs before and during a walk over every edge, each with parameters of the types
    it is run with, likeliest first: the walk's levels, its start found by key (each kind), a container's
    members, the impact details. Every list or string a request varies travels in a map parameter, so each
    statement has one plan whatever the sizes (see `warm_up_statements`)."""
    # The starts of most walks first: the cap may stop the rest, which are then planned on first use.
    kinds = sorted(_FIND, key=lambda kind: kind not in (NodeKind.MODEL_VERSION, NodeKind.DATASET_VERSION))
    starts = []
    for kind in kinds:
        starts.append((_FIND[kind] + _FIND_RETURN, {"key": key_parts(sample_ref(kind))}))
    members = (_MEMBERS, {"walk": {"container": NO_NODE, "membership": "IN_GROUP"}, "rows": 1})
    details = (_IMPACT_DETAILS_BY_KEY, {"impacted": {"versions": [["g", 1]]}})
    levels, depth_checks = warm_up_statements()
    walks = pruned_walks(DEFAULT_DEPTH, [kind for kind in kinds if kind not in CONTAINERS])
    return [*walks, *levels, *starts[:2], *depth_checks, *starts[2:], members, details]
