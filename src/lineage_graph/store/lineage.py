"""Lineage traversals in Neo4j: breadth-first, one query per level, inside one read transaction.

Why not a variable-length pattern (`-[*..20]->`): Cypher expands those path by path, and lineage graphs are
full of diamonds, so the work grows with the number of paths (10^19 in a 20x10 lattice). Here each level sends
the frontier's element ids, gets back every lineage edge leaving it, and Python keeps the visited set, so each
node is expanded once per direction and each edge is read at most twice: the cost follows the subgraph.
Relationship types are parameters (`type(r) IN $types`), never text: only validated integers reach Cypher.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.errors import NotFound, QueryTimedOut
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import (
    CONTAINERS,
    EDGES_PER_NODE,
    LINEAGE_EDGES,
    LINEAGE_KINDS,
    Direction,
    EdgeType,
    ImpactDeployment,
    ImpactedModelVersion,
    LineageEdge,
    LineageGraph,
    LineageNode,
    LineageRequest,
    ShortestPathDag,
    Truncation,
    follow,
)
from lineage_graph.domain.models import ApprovalStatus
from lineage_graph.store.graph import Neo4jGraph, fetch_all

# The properties a lineage node shows: every kind's key parts plus status fields. Missing ones come back null.
_PROJECTION = (
    "{.name, .group, .version, .namespace, .repository, .commit, .run_id, .job_name, .approval_status, .archived}"
)

# Start lookups by natural key, one per kind, so each is a unique-constraint index seek.
_FIND: dict[NodeKind, str] = {
    NodeKind.MODEL_GROUP: "MATCH (n:ModelGroup {name: $k0})",
    NodeKind.MODEL_VERSION: "MATCH (n:ModelVersion {group: $k0, version: $k1})",
    NodeKind.DATASET: "MATCH (n:Dataset {namespace: $k0, name: $k1})",
    NodeKind.DATASET_VERSION: "MATCH (n:DatasetVersion {namespace: $k0, name: $k1, version: $k2})",
    NodeKind.CODE_VERSION: "MATCH (n:CodeVersion {repository: $k0, commit: $k1})",
    NodeKind.JOB: "MATCH (n:Job {namespace: $k0, name: $k1})",
    NodeKind.RUN: "MATCH (n:Run {run_id: $k0})",
}
_FIND_RETURN = f" RETURN elementId(n) AS eid, labels(n) AS labels, n {_PROJECTION} AS props"

_MEMBERS = f"""
MATCH (c) WHERE elementId(c) = $eid
MATCH (m)-[r]->(c) WHERE type(r) = $membership
RETURN elementId(r) AS rid, elementId(m) AS eid, labels(m) AS labels, m {_PROJECTION} AS props
LIMIT $rows
"""

# One breadth-first level: every followed edge around the frontier, with the node at its other end.
_EXPAND = f"""
UNWIND $frontier AS origin
MATCH (n) WHERE elementId(n) = origin
CALL (n) {{
  MATCH (n)-[r]->(m) WHERE type(r) IN $outgoing
  RETURN r, m, true AS out
  UNION ALL
  MATCH (n)<-[r]-(m) WHERE type(r) IN $incoming
  RETURN r, m, false AS out
}}
RETURN origin, elementId(r) AS rid, type(r) AS type, out,
       elementId(m) AS eid, labels(m) AS labels, m {_PROJECTION} AS props
LIMIT $rows
"""

# Whether the frontier at the depth limit still leads somewhere new: decides "truncated by depth".
_MORE = """
UNWIND $frontier AS origin
MATCH (n) WHERE elementId(n) = origin
CALL (n) {
  MATCH (n)-[r]->(m) WHERE type(r) IN $outgoing
  RETURN m
  UNION ALL
  MATCH (n)<-[r]-(m) WHERE type(r) IN $incoming
  RETURN m
}
WITH m WHERE NOT elementId(m) IN $visited
RETURN true AS more
LIMIT 1
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


def to_lineage_node(labels: list[str], props: dict[str, Any], distance: int) -> LineageNode:
    kind = next(kind for kind in LINEAGE_KINDS if kind.label in labels)
    ref = NodeRef(kind, tuple(props[key] for key in kind.keys))
    status = props.get("approval_status")
    return LineageNode(
        ref=ref,
        approval_status=ApprovalStatus(status) if status else None,
        archived=props.get("archived"),
        job_name=props.get("job_name"),
        distance=distance,
    )


@dataclass
class _Walk:
    """One breadth-first traversal's state. It lives outside the transaction function so that when the server
    kills the transaction for its time budget, what was found so far is still here to return as truncated."""

    start: NodeRef
    directions: tuple[Direction, ...]
    edge_types: tuple[EdgeType, ...]
    depth: int
    limit: int
    edge_budget: int
    deadline: float
    target: NodeRef | None = None
    id_field: str = "id"
    nodes: dict[str, LineageNode] = field(default_factory=dict)
    edges: dict[str, tuple[str, str, EdgeType]] = field(default_factory=dict)
    depth_reached: int = 0
    truncated: Truncation | None = None
    edge_reads: int = 0
    dag: ShortestPathDag | None = None
    target_distance: int | None = None

    def reset(self) -> None:
        # A managed transaction may be retried: start over rather than mix two attempts.
        self.nodes, self.edges = {}, {}
        self.depth_reached, self.truncated, self.edge_reads, self.target_distance = 0, None, 0, None
        self.dag = ShortestPathDag(self.start) if self.target is not None else None

    async def run(self, tx: AsyncManagedTransaction) -> None:
        self.reset()
        root = await self._find(tx)
        frontier = [root]
        membership = CONTAINERS.get(self.start.kind)
        if membership is not None:
            frontier = await self._members(tx, root, membership)
        frontiers = {d: list(frontier) for d in self.directions}
        visited = {d: set(frontier) for d in self.directions}
        for level in range(1, self.depth + 1):
            if not any(frontiers.values()):
                return
            if time.monotonic() > self.deadline:
                self.truncated = Truncation.TIMEOUT
                return
            for direction in self.directions:
                if frontiers[direction]:
                    found = await self._expand(tx, frontiers[direction], direction, visited[direction], level)
                    if found is None:
                        return
                    frontiers[direction] = found
            if any(frontiers.values()):
                self.depth_reached = level
            if self.target is not None and self.target_distance is not None:
                return
        for direction in self.directions:
            if self.truncated is not None:
                return
            if frontiers[direction] and await self._leads_further(tx, frontiers[direction], direction, visited):
                self.truncated = Truncation.DEPTH
                return

    async def _find(self, tx: AsyncManagedTransaction) -> str:
        params = {f"k{i}": part for i, part in enumerate(self.start.parts)}
        rows = await fetch_all(tx, _FIND[self.start.kind] + _FIND_RETURN, **params)
        if not rows:
            raise NotFound(self.start.kind.label, str(self.start), self.id_field)
        row = rows[0]
        self.nodes[row["eid"]] = to_lineage_node(row["labels"], row["props"], 0)
        return str(row["eid"])

    async def _members(self, tx: AsyncManagedTransaction, root: str, membership: EdgeType) -> list[str]:
        rows = await fetch_all(tx, _MEMBERS, eid=root, membership=membership.type_name, rows=self.limit)
        members: list[str] = []
        for row in rows:
            if len(self.nodes) >= self.limit:
                self.truncated = Truncation.NODE_LIMIT
                break
            self.nodes[row["eid"]] = to_lineage_node(row["labels"], row["props"], 0)
            self.edges[row["rid"]] = (row["eid"], root, membership)
            members.append(row["eid"])
        return members

    async def _expand(
        self, tx: AsyncManagedTransaction, frontier: list[str], direction: Direction, visited: set[str], level: int
    ) -> list[str] | None:
        """Expand one level; the next frontier, or None when a cap stopped the walk."""
        outgoing, incoming = follow(self.edge_types, direction)
        remaining = self.edge_budget - self.edge_reads
        rows = await fetch_all(tx, _EXPAND, frontier=frontier, outgoing=outgoing, incoming=incoming, rows=remaining + 1)
        following: list[str] = []
        for row in rows:
            self.edge_reads += 1
            if self.edge_reads > self.edge_budget:
                self.truncated = Truncation.EDGE_LIMIT
                return None
            eid, origin = row["eid"], row["origin"]
            node = self.nodes.get(eid)
            if node is None:
                if len(self.nodes) >= self.limit:
                    self.truncated = Truncation.NODE_LIMIT
                    return None
                node = to_lineage_node(row["labels"], row["props"], level)
                self.nodes[eid] = node
            edge_type = EdgeType.from_name(row["type"])
            source, target = (origin, eid) if row["out"] else (eid, origin)
            self.edges[row["rid"]] = (source, target, edge_type)
            if eid not in visited:
                visited.add(eid)
                following.append(eid)
                self._reached(node, level)
            if self.dag is not None and node.distance == level:
                edge = LineageEdge(self.nodes[source].ref, self.nodes[target].ref, edge_type)
                self.dag.predecessors.setdefault(node.ref, []).append((self.nodes[origin].ref, edge))
        return following

    def _reached(self, node: LineageNode, level: int) -> None:
        if self.target is not None and node.ref == self.target:
            self.target_distance = level

    async def _leads_further(
        self, tx: AsyncManagedTransaction, frontier: list[str], direction: Direction, visited: dict[Direction, set[str]]
    ) -> bool:
        outgoing, incoming = follow(self.edge_types, direction)
        rows = await fetch_all(
            tx, _MORE, frontier=frontier, outgoing=outgoing, incoming=incoming, visited=list(visited[direction])
        )
        return bool(rows)

    def graph(self) -> LineageGraph:
        edges = tuple(
            LineageEdge(self.nodes[source].ref, self.nodes[target].ref, edge_type)
            for source, target, edge_type in self.edges.values()
        )
        return LineageGraph(self.start, tuple(self.nodes.values()), edges, self.depth_reached, self.truncated)


class Neo4jLineageStore:
    """`LineageStore` over Neo4j. `budget` is seconds: checked between levels, and the server-side transaction
    timeout (with a small margin) stops a single level that runs away."""

    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def traverse(self, request: LineageRequest, budget: float) -> LineageGraph:
        directions = (
            (Direction.UPSTREAM, Direction.DOWNSTREAM) if request.direction is Direction.BOTH else (request.direction,)
        )
        walk = _Walk(
            start=request.start,
            directions=directions,
            edge_types=request.edge_types,
            depth=request.depth,
            limit=request.limit,
            edge_budget=request.edge_budget,
            deadline=time.monotonic() + budget,
        )
        await self._run(walk, budget)
        return walk.graph()

    async def find(self, ref: NodeRef) -> LineageNode | None:
        params = {f"k{i}": part for i, part in enumerate(ref.parts)}
        rows = await self._graph.rows(_FIND[ref.kind] + _FIND_RETURN, **params)
        return to_lineage_node(rows[0]["labels"], rows[0]["props"], 0) if rows else None

    async def impact_details(self, versions: list[LineageNode]) -> list[ImpactedModelVersion]:
        if not versions:
            return []
        params = [[node.ref.parts[0], node.ref.parts[1]] for node in versions]
        rows = await self._graph.rows(_IMPACT_DETAILS_BY_KEY, versions=params)
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
        walk = _Walk(
            id_field="from",
            start=source,
            directions=(direction,),
            edge_types=LINEAGE_EDGES,
            depth=max_depth,
            limit=limit,
            edge_budget=limit * EDGES_PER_NODE,
            deadline=time.monotonic() + budget,
            target=target,
        )
        await self._run(walk, budget)
        assert walk.dag is not None
        nodes = {node.ref: node for node in walk.nodes.values()}
        return walk.dag, nodes, walk.target_distance, walk.truncated if walk.target_distance is None else None

    async def _run(self, walk: _Walk, budget: float) -> None:
        try:
            # The server's budget has a margin over ours: the level-by-level check is the normal stop.
            await self._graph.read(walk.run, timeout=budget * 1.5 + 1.0)
        except QueryTimedOut:
            walk.truncated = Truncation.TIMEOUT


# Model versions are matched by key rather than element id: the details run in their own transaction.
_IMPACT_DETAILS_BY_KEY = """
UNWIND $versions AS key
MATCH (v:ModelVersion {group: key[0], version: key[1]})
RETURN v.group AS group, v.version AS version,
       COLLECT { MATCH (a:Alias)-[:POINTS_TO]->(v) RETURN a.name ORDER BY a.name } AS aliases,
       COLLECT {
         MATCH (d:Deployment {status: 'ACTIVE'})-[:SERVES]->(v)
         RETURN d {.deployment_id, .endpoint, .environment, .traffic_share} ORDER BY d.deployment_id
       } AS deployments
"""
