"""Lineage over GraphQL: `lineage`, `impact` and `lineagePath` on Query, and `lineage_field()` for node types.

Nodes and edges are the service's own domain objects, which the API types read through source fields: no
per-item resolvers, no DataLoaders and no copy, because the whole subgraph comes from one traversal (a 10k-node
answer must not cost 10k resolver calls).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from lineage_graph.domain import lineage as domain
from lineage_graph.graphql.context import Context
from lineage_graph.graphql.execution import source_field

if TYPE_CHECKING:
    from lineage_graph.graphql.registry_types import ApprovalStatus

# The enum is registered with Strawberry by registry_types, which imports this module: referenced lazily.
Status = Annotated["ApprovalStatus", strawberry.lazy("lineage_graph.graphql.registry_types")]

_NODE_TYPES_HELP = "Kinds of node to return (the walk still passes through the others; collapsed edges keep "
_NODE_TYPES_HELP += "what it returns connected)."
_EDGE_TYPES_HELP = "Lineage edges to follow: " + ", ".join(e.type_name for e in domain.LINEAGE_EDGES) + "."


@strawberry.enum(description="The kinds of node a lineage answer holds, named as the graph's labels.")
class LineageNodeKind(Enum):
    # Values spelled as the labels (`nodeTypes: [ModelVersion, Run]`), so `kind` reads as it always has.
    ModelGroup = "ModelGroup"
    ModelVersion = "ModelVersion"
    Dataset = "Dataset"
    DatasetVersion = "DatasetVersion"
    CodeVersion = "CodeVersion"
    Job = "Job"
    Run = "Run"

    # Identity hashing in C, as the domain's enums: completing a 10k-node answer looks up each node's kind.
    __hash__ = object.__hash__


@strawberry.enum(
    description="Lineage edges as stored (DERIVED_FROM points from the fine-tune to its parent; ASSOCIATED_WITH "
    "is a SageMaker association without a native edge, source to destination), the membership edges a "
    "container fans out along, and COLLAPSED: a path through nodes a `nodeTypes` filter hid."
)
class LineageEdgeType(Enum):
    INPUT_TO = "INPUT_TO"
    OUTPUT = "OUTPUT"
    EXECUTED_BY = "EXECUTED_BY"
    TRAINED = "TRAINED"
    BUILT = "BUILT"
    DERIVED_FROM = "DERIVED_FROM"
    ASSOCIATED_WITH = "ASSOCIATED_WITH"
    VERSION_OF = "VERSION_OF"
    IN_GROUP = "IN_GROUP"
    INSTANCE_OF = "INSTANCE_OF"
    COLLAPSED = "COLLAPSED"

    __hash__ = object.__hash__  # as LineageNodeKind: each edge's type is looked up


_KINDS = {kind: LineageNodeKind(kind.label) for kind in domain.LINEAGE_KINDS}
_EDGE_TYPES = {edge: LineageEdgeType(edge.type_name) for edge in domain.EdgeType}


@strawberry.enum(description="Which way to trace: against the data flow, with it, or both.")
class LineageDirection(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@strawberry.enum(description="Why a lineage answer is not the whole reachable subgraph.")
class TruncationReason(Enum):
    DEPTH = "DEPTH"
    NODE_LIMIT = "NODE_LIMIT"
    EDGE_LIMIT = "EDGE_LIMIT"
    TIMEOUT = "TIMEOUT"


def _key_part(name: str, text: bool = False) -> Callable[[domain.LineageNode], Any]:
    """Reads key part `name` of a node (None for kinds without it); `text`: as a string (version numbers)."""
    positions = {kind: kind.keys.index(name) for kind in domain.LINEAGE_KINDS if name in kind.keys}

    def read(node: domain.LineageNode) -> Any:
        position = positions.get(node.ref.kind)
        if position is None:
            return None
        part = node.ref.parts[position]
        return str(part) if text else part

    return read


def _node_field(read: Callable[[domain.LineageNode], Any] | str, description: str | None = None) -> Any:
    return source_field(read, description)


def _edge_field(read: Callable[[domain.LineageEdge], Any] | str, description: str | None = None) -> Any:
    return source_field(read, description)


# The API types below present the domain's lineage nodes and edges as they are (source fields read them), so a
# 10k-node answer is not copied into 10k GraphQL objects first: graphql/execution.py projects each in one call.
@strawberry.type(description="A node of a lineage answer: its id, kind, key parts and governance status.")
class LineageNode:
    id: strawberry.ID = _node_field("ref.global_id")
    kind: LineageNodeKind = _node_field(lambda node: _KINDS[node.ref.kind])
    display_name: str = _node_field("display_name")
    distance: int = _node_field("distance", "Lineage edges from the start (0: the start, or its members).")
    namespace: str | None = _node_field(_key_part("namespace"))
    name: str | None = _node_field(_key_part("name"))
    group: str | None = _node_field(_key_part("group"))
    version: str | None = _node_field(_key_part("version", text=True), "Model version number or dataset version.")
    repository: str | None = _node_field(_key_part("repository"))
    commit: str | None = _node_field(_key_part("commit"))
    run_id: str | None = _node_field(_key_part("run_id"))
    approval_status: Status | None = _node_field("approval_status", "Model versions only.")
    archived: bool | None = _node_field("archived", "Model versions only.")
    tags: list[str] = _node_field("tags", "Tags (incident, pii, … included).")
    needs_review: bool | None = _node_field(
        "needs_review",
        "Model versions only: an upstream dataset version was flagged after approval.",
    )
    expandable: bool = _node_field(
        "expandable",
        "The answer stopped short of what lies beyond this node (depth or another limit): tracing from here may "
        "show more.",
    )


def _edge_type(edge: domain.LineageEdge) -> LineageEdgeType:
    return LineageEdgeType.COLLAPSED if edge.via else _EDGE_TYPES[edge.type]


@strawberry.type(
    description="An edge as stored (DERIVED_FROM points from the fine-tune to its parent), or COLLAPSED: a path "
    "through nodes a `nodeTypes` filter hid, from upstream to downstream, with the hidden nodes in `via` and "
    "the stored edges along it in `path`."
)
class LineageEdge:
    # A node's global id is encoded once (NodeRef caches it) and an edge's ends are its nodes' refs.
    source: strawberry.ID = _edge_field("source.global_id")
    target: strawberry.ID = _edge_field("target.global_id")
    type: LineageEdgeType = _edge_field(_edge_type)
    via: list[strawberry.ID] = _edge_field(lambda edge: [ref.global_id for ref in edge.via])
    path: list[LineageEdgeType] = _edge_field(lambda edge: [_EDGE_TYPES[t] for t in edge.path])


def presented_nodes(nodes: Sequence[domain.LineageNode]) -> list[LineageNode]:
    """Domain nodes as the API type's objects: the type reads them through its source fields."""
    return cast(list[LineageNode], list(nodes))


def presented_edges(edges: Sequence[domain.LineageEdge]) -> list[LineageEdge]:
    return cast(list[LineageEdge], list(edges))


@strawberry.type(description="A traced subgraph, and whether (and why) depth, a cap or the time budget cut it.")
class LineageGraph:
    root: strawberry.ID
    depth_reached: int
    truncated: bool
    truncation_reason: TruncationReason | None
    graph: strawberry.Private[domain.LineageGraph]

    @strawberry.field(description="The nodes, typed (one GraphQL object each).")
    def nodes(self) -> list[LineageNode]:
        return presented_nodes(self.graph.nodes)

    @strawberry.field(description="The edges, typed (one GraphQL object each).")
    def edges(self) -> list[LineageEdge]:
        return presented_edges(self.graph.edges)

    @strawberry.field(
        description="The same nodes and edges as one JSON value a frontend can draw from directly, columns of equal "
        "length: `nodes` {id, kind, displayName, distance, approvalStatus, tags, needsReview, expandable} and "
        "`edges` {source, target (indexes into the node columns), type, via (node ids), path}. A 10k-node "
        "subgraph costs one field instead of ~100k typed ones (see docs/operations.md)."
    )
    def compact(self) -> JSON:
        return JSON(compact(self.graph))


@strawberry.type(description="An active deployment of an affected model version.")
class ImpactDeployment:
    deployment_id: str
    endpoint: str | None
    environment: str | None
    traffic_share: float | None


@strawberry.type(description="A model version downstream of the subject, with what makes it matter.")
class ImpactedModelVersion:
    id: strawberry.ID
    group: str
    version: int
    approval_status: Status | None
    archived: bool | None
    distance: int
    aliases: list[str]
    deployments: list[ImpactDeployment]


@strawberry.type(description="How many affected model versions have a status, and how many of those are deployed.")
class ImpactStatusCount:
    status: Status
    count: int
    deployed: int


@strawberry.type(description="The governance blast radius of a node: the model versions downstream of it.")
class Impact:
    subject: LineageNode
    model_versions: list[ImpactedModelVersion] = strawberry.field(
        description="Approved and deployed first, then approved, then deployed, then the rest; nearest first."
    )
    counts: list[ImpactStatusCount]
    dataset_version_count: int
    run_count: int
    truncated: bool
    truncation_reason: TruncationReason | None


@strawberry.type(description="How one node reaches another: every shortest lineage path, as a subgraph.")
class LineagePath:
    connected: bool
    message: str
    direction: LineageDirection | None = strawberry.field(
        description="DOWNSTREAM: data flows from `from` to `to`; UPSTREAM: from `to` to `from`."
    )
    length: int | None
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    paths: list[list[strawberry.ID]] = strawberry.field(description="Up to 100 of the shortest paths, node ids.")
    path_count: str = strawberry.field(description="How many shortest paths there are (decimal: may exceed 2^53).")
    truncated: bool
    truncation_reason: TruncationReason | None


def _reason(truncation: domain.Truncation | None) -> TruncationReason | None:
    return TruncationReason(truncation.value) if truncation else None


def to_graph(graph: domain.LineageGraph) -> LineageGraph:
    """The answer, with `nodes`, `edges` and `compact` built only when selected (a 10k-node list is not free)."""
    return LineageGraph(
        root=strawberry.ID(graph.root.global_id),
        depth_reached=graph.depth_reached,
        truncated=graph.truncated is not None,
        truncation_reason=_reason(graph.truncated),
        graph=graph,
    )


def compact(graph: domain.LineageGraph) -> dict[str, Any]:
    """Columns rather than objects: what `LineageGraph.compact` returns (edges index into the node columns)."""
    index = {n.ref: i for i, n in enumerate(graph.nodes)}
    nodes = graph.nodes
    edges = graph.edges
    return {
        "nodes": {
            "id": [n.ref.global_id for n in nodes],
            "kind": [n.ref.kind.label for n in nodes],
            "displayName": [n.display_name for n in nodes],
            "distance": [n.distance for n in nodes],
            "approvalStatus": [n.approval_status.value if n.approval_status else None for n in nodes],
            "tags": [list(n.tags) for n in nodes],
            "needsReview": [n.needs_review for n in nodes],
            "expandable": [n.expandable for n in nodes],
        },
        "edges": {
            "source": [index[e.source] for e in edges],
            "target": [index[e.target] for e in edges],
            "type": [_EDGE_TYPES[e.type].value if not e.via else LineageEdgeType.COLLAPSED.value for e in edges],
            "via": [[r.global_id for r in e.via] for e in edges],
            "path": [[t.type_name for t in e.path] for e in edges],
        },
    }


def to_impact(impact: domain.Impact) -> Impact:
    versions = [
        ImpactedModelVersion(
            id=strawberry.ID(v.node.ref.global_id),
            group=str(v.node.ref.parts[0]),
            version=int(v.node.ref.parts[1]),
            approval_status=v.node.approval_status,
            archived=v.node.archived,
            distance=v.node.distance,
            aliases=list(v.aliases),
            deployments=[
                ImpactDeployment(
                    deployment_id=d.deployment_id,
                    endpoint=d.endpoint,
                    environment=d.environment,
                    traffic_share=d.traffic_share,
                )
                for d in v.deployments
            ],
        )
        for v in impact.model_versions
    ]
    return Impact(
        subject=presented_nodes([impact.subject])[0],
        model_versions=versions,
        counts=[ImpactStatusCount(status=c.status, count=c.count, deployed=c.deployed) for c in impact.counts],
        dataset_version_count=impact.dataset_versions,
        run_count=impact.runs,
        truncated=impact.truncated is not None,
        truncation_reason=_reason(impact.truncated),
    )


def to_path(path: domain.LineagePath) -> LineagePath:
    if path.connected:
        how = "downstream" if path.direction is domain.Direction.DOWNSTREAM else "upstream"
        message = f"{path.target} is {path.length} lineage edges {how} of {path.source}"
    else:
        message = f"{path.source} and {path.target} are not connected by lineage"
        if path.truncated:
            message += " within the limits searched"
    return LineagePath(
        connected=path.connected,
        message=message,
        direction=LineageDirection(path.direction.value) if path.direction else None,
        length=path.length,
        nodes=presented_nodes(path.nodes),
        edges=presented_edges(path.edges),
        paths=[[strawberry.ID(ref.global_id) for ref in p] for p in path.paths],
        path_count=str(path.path_count),
        truncated=path.truncated is not None,
        truncation_reason=_reason(path.truncated),
    )


async def _trace(
    info: strawberry.Info[Context, None],
    node_id: str,
    direction: LineageDirection,
    depth: int,
    node_types: list[LineageNodeKind] | None,
    edge_types: list[LineageEdgeType] | None,
    limit: int,
) -> LineageGraph:
    kinds = None if node_types is None else [k.value for k in node_types]
    types = None if edge_types is None else [t.value for t in edge_types]
    graph = await info.context.services.lineage.lineage(
        info.context.principal, node_id, domain.Direction(direction.value), depth, kinds, types, limit
    )
    return to_graph(graph)


_DEPTH_HELP = f"Lineage edges to follow from the start, 1 to {domain.MAX_DEPTH}."
_LIMIT_HELP = f"Most nodes to visit, 1 to {domain.MAX_LIMIT}; past it the answer is truncated (NODE_LIMIT)."
DirectionArg = Annotated[LineageDirection, strawberry.argument(description="Default BOTH.")]
DepthArg = Annotated[int, strawberry.argument(description=_DEPTH_HELP)]
NodeTypesArg = Annotated[list[LineageNodeKind] | None, strawberry.argument(description=_NODE_TYPES_HELP)]
EdgeTypesArg = Annotated[list[LineageEdgeType] | None, strawberry.argument(description=_EDGE_TYPES_HELP)]
LimitArg = Annotated[int, strawberry.argument(description=_LIMIT_HELP)]


def lineage_field(global_id: Callable[[Any], str] = lambda root: str(root.id)) -> Any:
    """A `lineage(direction, depth, nodeTypes, edgeTypes, limit)` field for a node type, e.g.

        @strawberry.type
        class ModelVersion:
            id: strawberry.ID
            lineage: LineageGraph = lineage_field()

    `global_id(root)` gives the node's global id (by default its `id` attribute)."""

    async def resolve(
        root: Any,
        info: strawberry.Info[Context, None],
        direction: DirectionArg = LineageDirection.BOTH,
        depth: DepthArg = domain.DEFAULT_DEPTH,
        node_types: NodeTypesArg = None,
        edge_types: EdgeTypesArg = None,
        limit: LimitArg = domain.DEFAULT_LIMIT,
    ) -> LineageGraph:
        return await _trace(info, global_id(root), direction, depth, node_types, edge_types, limit)

    return strawberry.field(resolver=resolve, description="This node's lineage: a subgraph around it.")


@strawberry.type
class LineageQuery:
    @strawberry.field(description="The lineage subgraph around a node (any id of a lineage node kind).")
    async def lineage(
        self,
        info: strawberry.Info[Context, None],
        id: strawberry.ID,
        direction: DirectionArg = LineageDirection.BOTH,
        depth: DepthArg = domain.DEFAULT_DEPTH,
        node_types: NodeTypesArg = None,
        edge_types: EdgeTypesArg = None,
        limit: LimitArg = domain.DEFAULT_LIMIT,
    ) -> LineageGraph:
        return await _trace(info, id, direction, depth, node_types, edge_types, limit)

    @strawberry.field(
        description="The model versions downstream of a dataset, dataset version, code version, run or model version."
    )
    async def impact(
        self,
        info: strawberry.Info[Context, None],
        id: strawberry.ID,
        depth: DepthArg = domain.MAX_DEPTH,
        limit: LimitArg = domain.DEFAULT_IMPACT_LIMIT,
    ) -> Impact:
        impact = await info.context.services.lineage.impact(info.context.principal, id, depth, limit)
        return to_impact(impact)

    @strawberry.field(description="How one node reaches another: all shortest lineage paths, or not connected.")
    async def lineage_path(
        self,
        info: strawberry.Info[Context, None],
        from_: Annotated[strawberry.ID, strawberry.argument(name="from")],
        to: strawberry.ID,
        max_depth: DepthArg = domain.MAX_DEPTH,
        limit: LimitArg = domain.DEFAULT_PATH_LIMIT,
    ) -> LineagePath:
        path = await info.context.services.lineage.path(info.context.principal, from_, to, max_depth, limit)
        return to_path(path)
