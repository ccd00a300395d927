"""Lineage use cases: trace a node upstream/downstream, the governance impact of a node, how two nodes connect."""

from __future__ import annotations

from collections.abc import Sequence

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import NotFound, Problem, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import (
    DEFAULT_BUDGET,
    DEFAULT_DEPTH,
    DEFAULT_IMPACT_LIMIT,
    DEFAULT_LIMIT,
    DEFAULT_PATH_LIMIT,
    IMPACT_KINDS,
    MAX_DEPTH,
    MAX_PATHS_LISTED,
    PATH_KINDS,
    Direction,
    Impact,
    LineageGraph,
    LineagePath,
    LineageRequest,
    check_range,
    keep_kinds,
    parse_lineage_id,
    summarize_impact,
)
from lineage_graph.services.authorization import require
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.lineage import LineageStore, Neo4jLineageStore


class LineageService:
    def __init__(self, store: LineageStore, budget: float = DEFAULT_BUDGET) -> None:
        self._store = store
        self._budget = budget

    @classmethod
    def over(cls, graph: Neo4jGraph, budget: float = DEFAULT_BUDGET) -> LineageService:
        return cls(Neo4jLineageStore(graph), budget)

    async def lineage(
        self,
        principal: Principal,
        node_id: str,
        direction: Direction = Direction.BOTH,
        depth: int = DEFAULT_DEPTH,
        node_types: Sequence[str] | None = None,
        edge_types: Sequence[str] | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> LineageGraph:
        """The subgraph within `depth` lineage edges of `node_id`. `limit` caps the nodes visited; `node_types`
        filters the nodes returned (the walk still passes through the others, and collapsed edges keep the kept
        nodes connected), `edge_types` the edges followed."""
        require(principal, Role.VIEWER)
        request = LineageRequest.validate(node_id, direction, depth, node_types, edge_types, limit)
        graph = await self._store.traverse(request, self._budget)
        return graph if request.node_kinds is None else keep_kinds(graph, request.node_kinds)

    async def impact(
        self, principal: Principal, node_id: str, depth: int = MAX_DEPTH, limit: int = DEFAULT_IMPACT_LIMIT
    ) -> Impact:
        """Every model version downstream of `node_id`, with approval status, aliases and active deployments,
        approved-and-deployed first, and counts per status."""
        require(principal, Role.VIEWER)
        parse_lineage_id(node_id, "id", IMPACT_KINDS)
        request = LineageRequest.validate(node_id, Direction.DOWNSTREAM, depth, None, None, limit)
        graph = await self._store.traverse(request, self._budget)
        subject = next(n for n in graph.nodes if n.ref == graph.root)
        versions = [n for n in graph.nodes if n.ref.kind is NodeKind.MODEL_VERSION and n.ref != graph.root]
        impacted = await self._store.impact_details(versions)
        dataset_versions = sum(1 for n in graph.nodes if n.ref.kind is NodeKind.DATASET_VERSION and n.distance > 0)
        runs = sum(1 for n in graph.nodes if n.ref.kind is NodeKind.RUN and n.ref != graph.root)
        return summarize_impact(subject, impacted, dataset_versions, runs, graph.truncated)

    async def path(
        self,
        principal: Principal,
        from_id: str,
        to_id: str,
        max_depth: int = MAX_DEPTH,
        limit: int = DEFAULT_PATH_LIMIT,
    ) -> LineagePath:
        """All shortest lineage paths from `from_id` to `to_id`: with the data flow (DOWNSTREAM) when `to` is
        downstream of `from`, else against it (UPSTREAM); `connected` is false when neither way reaches it."""
        require(principal, Role.VIEWER)
        problems: list[Problem] = []
        source: NodeRef | None = None
        target: NodeRef | None = None
        for name, value in (("from", from_id), ("to", to_id)):
            try:
                ref = parse_lineage_id(value, name, PATH_KINDS)
            except ValidationFailed as exc:
                problems.extend(exc.problems)
                continue
            if name == "from":
                source = ref
            else:
                target = ref
        problems.extend(check_range("maxDepth", max_depth, 1, MAX_DEPTH))
        problems.extend(check_range("limit", limit, 1, DEFAULT_PATH_LIMIT * 10))
        if source is not None and source == target:
            problems.extend(ValidationFailed.field("to", "is the same node as from").problems)
        if problems or source is None or target is None:
            raise ValidationFailed.of(problems)
        if await self._store.find(target) is None:
            raise NotFound(target.kind.label, str(target), "to")
        truncated = None
        for direction in (Direction.DOWNSTREAM, Direction.UPSTREAM):
            dag, nodes, length, cut = await self._store.shortest_paths(
                source, target, direction, max_depth, limit, self._budget
            )
            if length is not None:
                refs, edges = dag.subgraph(target)
                return LineagePath(
                    source=source,
                    target=target,
                    direction=direction,
                    length=length,
                    nodes=tuple(nodes[ref] for ref in nodes if ref in refs),
                    edges=tuple(edges),
                    paths=tuple(dag.list_paths(target, MAX_PATHS_LISTED)),
                    path_count=dag.count_paths(target),
                )
            truncated = truncated or cut
        return LineagePath(source, target, None, None, (), (), (), 0, truncated)
