"""Lineage: what a traversal may be asked for, what it returns, and the pure rules (validation, impact order).

Every walk (lineage, impact, paths, approval evidence, incident flags, the SageMaker lineage API) is the one
breadth-first traversal of `store/traversal.py`, under the one set of limits below (`WalkLimits`): each node and
edge is visited once, so its cost follows the size of the subgraph, never the number of paths through it.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.ids import KeyPart, NodeKind, NodeRef
from lineage_graph.domain.models import ApprovalStatus

DEFAULT_DEPTH = 5
MAX_DEPTH = 100
DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
# Edges a traversal may read per node it may return: generous for diamonds (a 10-wide complete lattice has
# 10 edges per node), yet one hub with millions of edges cannot make a request unbounded.
EDGES_PER_NODE = 20
# Seconds one walk may spend in the database; past it the answer comes back truncated (TIMEOUT).
DEFAULT_BUDGET = 10.0
DEFAULT_IMPACT_LIMIT = 10_000
DEFAULT_PATH_LIMIT = 10_000
MAX_PATHS_LISTED = 100


class Direction(Enum):
    """UPSTREAM is against the data flow (what went into it), DOWNSTREAM with it (what it went into); BOTH is the
    union of the two, each followed consistently (not an undirected walk, which would reach unrelated siblings)."""

    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


class EdgeType(Enum):
    """The lineage edges, as stored. `with_flow` is False for DERIVED_FROM, which points child -> parent.

    ASSOCIATED_WITH is what a SageMaker client's association becomes when it has no native edge (e.g. an
    `AssociatedWith` between two artifacts): it points source -> destination, which SageMaker reads as the
    direction data flows, so it is lineage like any other edge, followed by every walk."""

    INPUT_TO = ("INPUT_TO", True)
    OUTPUT = ("OUTPUT", True)
    EXECUTED_BY = ("EXECUTED_BY", True)
    TRAINED = ("TRAINED", True)
    BUILT = ("BUILT", True)
    DERIVED_FROM = ("DERIVED_FROM", False)
    ASSOCIATED_WITH = ("ASSOCIATED_WITH", True)
    # Membership: followed only from a container at the start of a traversal, container -> members.
    VERSION_OF = ("VERSION_OF", True)
    IN_GROUP = ("IN_GROUP", True)
    INSTANCE_OF = ("INSTANCE_OF", True)

    def __init__(self, type_name: str, with_flow: bool) -> None:
        self.type_name = type_name
        self.with_flow = with_flow

    @classmethod
    def from_name(cls, name: str) -> EdgeType:
        try:
            return _EDGE_TYPE_OF_NAME[name]
        except KeyError:
            raise ValueError(name) from None

    # As NodeKind: identity hashing, in C (edges are hashed as dictionary keys by every walk).
    __hash__ = object.__hash__


_EDGE_TYPE_OF_NAME = {edge_type.type_name: edge_type for edge_type in EdgeType}

LINEAGE_EDGES: tuple[EdgeType, ...] = (
    EdgeType.INPUT_TO,
    EdgeType.OUTPUT,
    EdgeType.EXECUTED_BY,
    EdgeType.TRAINED,
    EdgeType.BUILT,
    EdgeType.DERIVED_FROM,
    EdgeType.ASSOCIATED_WITH,
)

# Node kinds a traversal can start at, return, or filter on.
LINEAGE_KINDS: tuple[NodeKind, ...] = (
    NodeKind.MODEL_GROUP,
    NodeKind.MODEL_VERSION,
    NodeKind.DATASET,
    NodeKind.DATASET_VERSION,
    NodeKind.CODE_VERSION,
    NodeKind.JOB,
    NodeKind.RUN,
)
# Containers fan out to their members (the membership edge and its direction member -> container).
CONTAINERS: dict[NodeKind, EdgeType] = {
    NodeKind.DATASET: EdgeType.VERSION_OF,
    NodeKind.MODEL_GROUP: EdgeType.IN_GROUP,
    NodeKind.JOB: EdgeType.INSTANCE_OF,
}
IMPACT_KINDS: tuple[NodeKind, ...] = (
    NodeKind.DATASET,
    NodeKind.DATASET_VERSION,
    NodeKind.CODE_VERSION,
    NodeKind.MODEL_VERSION,
    NodeKind.RUN,
)
PATH_KINDS: tuple[NodeKind, ...] = (
    NodeKind.MODEL_VERSION,
    NodeKind.DATASET_VERSION,
    NodeKind.CODE_VERSION,
    NodeKind.RUN,
)


class Truncation(Enum):
    """Why a result is not the whole reachable subgraph."""

    DEPTH = "DEPTH"
    NODE_LIMIT = "NODE_LIMIT"
    EDGE_LIMIT = "EDGE_LIMIT"
    TIMEOUT = "TIMEOUT"


@dataclass(frozen=True)
class WalkLimits:
    """The bounds every walk runs under: depth (edges from the start), nodes returned, edges read (so one hub
    with millions of edges cannot make a request unbounded) and seconds in the database. The walk stops at the
    first one it reaches and says which (`Truncation`); what it returns is then a breadth-first prefix: every
    node nearer than the cut, and edges only between returned nodes."""

    depth: int = MAX_DEPTH
    nodes: int = MAX_LIMIT
    seconds: float = DEFAULT_BUDGET

    @property
    def edges(self) -> int:
        return self.nodes * EDGES_PER_NODE

    def describe(self, truncation: Truncation) -> str:
        """The limit behind `truncation`, in words, for a refusal that names it."""
        if truncation is Truncation.DEPTH:
            return f"its depth limit of {self.depth} lineage edges"
        if truncation is Truncation.NODE_LIMIT:
            return f"its node limit of {self.nodes} nodes"
        if truncation is Truncation.EDGE_LIMIT:
            return f"its edge limit of {self.edges} edges read"
        return f"its time limit of {self.seconds:g} s"


@dataclass(frozen=True)
class LineageRequest:
    """A validated traversal request: build it with `LineageRequest.validate`."""

    start: NodeRef
    direction: Direction
    depth: int
    node_kinds: frozenset[NodeKind] | None
    edge_types: tuple[EdgeType, ...]
    limit: int

    def limits(self, seconds: float = DEFAULT_BUDGET) -> WalkLimits:
        return WalkLimits(self.depth, self.limit, seconds)

    @classmethod
    def validate(
        cls,
        node_id: str,
        direction: Direction = Direction.BOTH,
        depth: int = DEFAULT_DEPTH,
        node_types: Sequence[str] | None = None,
        edge_types: Sequence[str] | None = None,
        limit: int = DEFAULT_LIMIT,
        *,
        id_field: str = "id",
        max_limit: int = MAX_LIMIT,
    ) -> LineageRequest:
        """Check every argument and report every bad one at once, each under its argument's name."""
        problems: list[Problem] = []
        start: NodeRef | None = None
        try:
            start = parse_lineage_id(node_id, id_field, LINEAGE_KINDS)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
        problems.extend(check_range("depth", depth, 1, MAX_DEPTH))
        problems.extend(check_range("limit", limit, 1, max_limit))
        kinds = _parse_node_types(node_types, problems)
        types = _parse_edge_types(edge_types, problems)
        if problems or start is None:
            raise ValidationFailed.of(problems)
        return cls(start, direction, depth, kinds, types, limit)


def parse_lineage_id(node_id: str, field_name: str, kinds: Sequence[NodeKind]) -> NodeRef:
    return NodeRef.parse(node_id, field_name).expect(*kinds, field=field_name)


def check_range(name: str, value: int, low: int, high: int) -> list[Problem]:
    if low <= value <= high:
        return []
    return [Problem(name, f"must be between {low} and {high}, got {value}", "OUT_OF_RANGE")]


def _parse_node_types(values: Sequence[str] | None, problems: list[Problem]) -> frozenset[NodeKind] | None:
    if values is None:
        return None
    allowed = {kind.label: kind for kind in LINEAGE_KINDS}
    kinds: set[NodeKind] = set()
    for i, value in enumerate(values):
        if value in allowed:
            kinds.add(allowed[value])
        else:
            names = ", ".join(allowed)
            problems.append(Problem(f"nodeTypes.{i}", f"{value[:80]!r} is not a node type; use {names}", "UNKNOWN"))
    return frozenset(kinds)


def _parse_edge_types(values: Sequence[str] | None, problems: list[Problem]) -> tuple[EdgeType, ...]:
    if values is None:
        return LINEAGE_EDGES
    allowed = {edge.type_name: edge for edge in LINEAGE_EDGES}
    chosen: list[EdgeType] = []
    for i, value in enumerate(values):
        if value in allowed:
            if allowed[value] not in chosen:
                chosen.append(allowed[value])
        else:
            names = ", ".join(allowed)
            problems.append(Problem(f"edgeTypes.{i}", f"{value[:80]!r} is not a lineage edge; use {names}", "UNKNOWN"))
    return tuple(chosen)


def follow(edge_types: Iterable[EdgeType], direction: Direction) -> tuple[list[str], list[str]]:
    """The relationship types to follow outgoing and incoming from a node to go `direction` (UP or DOWN)."""
    outgoing: list[str] = []
    incoming: list[str] = []
    for edge in edge_types:
        forward = edge.with_flow == (direction is Direction.DOWNSTREAM)
        (outgoing if forward else incoming).append(edge.type_name)
    return outgoing, incoming


class LineageNode(NamedTuple):
    """A node of a lineage result: its identity plus the few properties a lineage view shows.

    A named tuple rather than a frozen dataclass, as is `LineageEdge`: a walk builds one per node reached
    (10k in a big answer), and a tuple is built in C, where a frozen dataclass's `__init__` sets each field
    through `object.__setattr__` (measured: 11k edges in ~10 ms as dataclasses, ~3 ms as tuples)."""

    ref: NodeRef
    approval_status: ApprovalStatus | None = None
    archived: bool | None = None
    job_name: str | None = None
    # Breadth-first distance from the start (0 for the start and, when it is a container, its members).
    distance: int = 0
    tags: tuple[str, ...] = ()
    needs_review: bool | None = None
    # The walk stopped before exploring everything beyond this node (a depth or other cut): expanding it
    # from here may show more.
    expandable: bool = False

    @property
    def display_name(self) -> str:
        return _DISPLAY[self.ref.kind](self.ref.parts, self.job_name)


def _run_display(parts: tuple[KeyPart, ...], job_name: str | None) -> str:
    return f"{job_name} ({parts[0]})" if job_name else str(parts[0])


# How each kind names its nodes, from its key parts (and a run's job), looked up once per node: a 10k-node
# answer names every node.
_DISPLAY: dict[NodeKind, Callable[[tuple[KeyPart, ...], str | None], str]] = {
    NodeKind.MODEL_VERSION: lambda parts, _: f"{parts[0]}/{parts[1]}",
    NodeKind.DATASET: lambda parts, _: f"{parts[0]}/{parts[1]}",
    NodeKind.JOB: lambda parts, _: f"{parts[0]}/{parts[1]}",
    NodeKind.DATASET_VERSION: lambda parts, _: f"{parts[0]}/{parts[1]}@{parts[2]}",
    NodeKind.CODE_VERSION: lambda parts, _: f"{parts[0]}@{parts[1]}",
    NodeKind.RUN: _run_display,
}
_DISPLAY.update({kind: lambda parts, _: str(parts[0]) for kind in NodeKind if kind not in _DISPLAY})


class LineageEdge(NamedTuple):
    """An edge as stored: `source` is the start of the relationship (for DERIVED_FROM, the child).

    A collapsed edge (`via` not empty) stands for a path through nodes a `nodeTypes` filter hid: `via` are
    those nodes in order and `path` the stored edge types along it; `type` is then the first of them."""

    source: NodeRef
    target: NodeRef
    type: EdgeType
    via: tuple[NodeRef, ...] = ()
    path: tuple[EdgeType, ...] = ()


@dataclass(frozen=True)
class LineageGraph:
    root: NodeRef
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]
    depth_reached: int
    truncated: Truncation | None


def keep_kinds(graph: LineageGraph, kinds: frozenset[NodeKind]) -> LineageGraph:
    """`graph` with only the nodes of `kinds` (and the root), connectivity kept: where hidden nodes stood between
    two kept ones, a collapsed edge joins them in the direction data flows, naming the hidden nodes (`via`)
    and the stored edges (`path`) of the shortest such path. Each kept node searches only the hidden region
    next to it, so the cost follows the edges around hidden nodes, not the number of paths."""
    kept = {n.ref for n in graph.nodes if n.ref.kind in kinds or n.ref == graph.root}
    flows: dict[NodeRef, list[tuple[NodeRef, EdgeType]]] = {}
    edges: list[LineageEdge] = []
    for edge in graph.edges:
        if edge.source in kept and edge.target in kept:
            edges.append(edge)
            continue
        upstream, downstream = (edge.source, edge.target) if edge.type.with_flow else (edge.target, edge.source)
        flows.setdefault(upstream, []).append((downstream, edge.type))
    for start in (n.ref for n in graph.nodes if n.ref in kept):
        found: dict[NodeRef, tuple[tuple[NodeRef, ...], tuple[EdgeType, ...]]] = {}
        queue: deque[tuple[NodeRef, tuple[NodeRef, ...], tuple[EdgeType, ...]]] = deque(
            (nxt, (nxt,), (t,)) for nxt, t in flows.get(start, []) if nxt not in kept
        )
        seen: set[NodeRef] = set()
        while queue:
            node, via, path = queue.popleft()
            if node in seen:
                continue
            seen.add(node)
            for nxt, edge_type in flows.get(node, []):
                if nxt in kept:
                    if nxt != start and nxt not in found:
                        found[nxt] = (via, (*path, edge_type))
                elif nxt not in seen:
                    queue.append((nxt, (*via, nxt), (*path, edge_type)))
        for target, (via, path) in found.items():
            edges.append(LineageEdge(start, target, path[0], via, path))
    nodes = tuple(n for n in graph.nodes if n.ref in kept)
    return LineageGraph(graph.root, nodes, tuple(edges), graph.depth_reached, graph.truncated)


@dataclass(frozen=True)
class ImpactDeployment:
    deployment_id: str
    endpoint: str | None
    environment: str | None
    traffic_share: float | None


@dataclass(frozen=True)
class ImpactedModelVersion:
    node: LineageNode
    aliases: tuple[str, ...]
    deployments: tuple[ImpactDeployment, ...]

    @property
    def deployed(self) -> bool:
        return bool(self.deployments)


@dataclass(frozen=True)
class StatusCount:
    status: ApprovalStatus
    count: int
    deployed: int


@dataclass(frozen=True)
class Impact:
    subject: LineageNode
    model_versions: tuple[ImpactedModelVersion, ...]
    counts: tuple[StatusCount, ...]
    dataset_versions: int
    runs: int
    truncated: Truncation | None


_STATUS_RANK = {ApprovalStatus.APPROVED: 0, ApprovalStatus.PENDING_MANUAL_APPROVAL: 1, ApprovalStatus.REJECTED: 2}


def impact_order(version: ImpactedModelVersion) -> tuple[int, int, int, str, int]:
    """Approved and deployed first, then approved, then deployed, then the rest by status; nearest first."""
    status = version.node.approval_status
    approved = status is ApprovalStatus.APPROVED
    tier = 0 if approved and version.deployed else 1 if approved else 2 if version.deployed else 3
    rank = _STATUS_RANK.get(status, 3) if status is not None else 3
    group, number = version.node.ref.parts
    return (tier, rank, version.node.distance, str(group), -int(number))


def summarize_impact(
    subject: LineageNode,
    versions: Iterable[ImpactedModelVersion],
    dataset_versions: int,
    runs: int,
    truncated: Truncation | None,
) -> Impact:
    ordered = tuple(sorted(versions, key=impact_order))
    by_status = Counter(v.node.approval_status for v in ordered if v.node.approval_status is not None)
    deployed = Counter(v.node.approval_status for v in ordered if v.deployed)
    counts = tuple(
        StatusCount(status, by_status[status], deployed[status]) for status in ApprovalStatus if by_status[status]
    )
    return Impact(subject, ordered, counts, dataset_versions, runs, truncated)


@dataclass(frozen=True)
class LineagePath:
    """All shortest paths between two nodes, as the subgraph they form (a DAG: never enumerated in the store),
    plus up to `MAX_PATHS_LISTED` of them spelled out."""

    source: NodeRef
    target: NodeRef
    direction: Direction | None
    length: int | None
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]
    paths: tuple[tuple[NodeRef, ...], ...]
    path_count: int
    truncated: Truncation | None = None

    @property
    def connected(self) -> bool:
        return self.length is not None


@dataclass
class ShortestPathDag:
    """Predecessors on shortest paths, built level by level by a breadth-first search."""

    source: NodeRef
    predecessors: dict[NodeRef, list[tuple[NodeRef, LineageEdge]]] = field(default_factory=dict)

    @classmethod
    def from_walk(
        cls, source: NodeRef, direction: Direction, distances: dict[NodeRef, int], edges: Iterable[LineageEdge]
    ) -> ShortestPathDag:
        """The DAG of a breadth-first walk from `source` in `direction`: an edge is on a shortest path when it
        leads, the way the walk goes, from a node at distance d to one at distance d + 1."""
        dag = cls(source)
        for edge in edges:
            forward = edge.type.with_flow == (direction is Direction.DOWNSTREAM)
            origin, reached = (edge.source, edge.target) if forward else (edge.target, edge.source)
            if distances.get(reached) == distances.get(origin, -2) + 1:
                dag.predecessors.setdefault(reached, []).append((origin, edge))
        return dag

    def subgraph(self, target: NodeRef) -> tuple[set[NodeRef], list[LineageEdge]]:
        """Every node and edge on some shortest path from `source` to `target`."""
        nodes = {target}
        edges: list[LineageEdge] = []
        stack = [target]
        while stack:
            node = stack.pop()
            for previous, edge in self.predecessors.get(node, []):
                edges.append(edge)
                if previous not in nodes:
                    nodes.add(previous)
                    stack.append(previous)
        return nodes, edges

    def count_paths(self, target: NodeRef) -> int:
        counts: dict[NodeRef, int] = {self.source: 1}

        def count(node: NodeRef) -> int:
            # Iterative memoised count (recursion depth would follow path length, which is bounded anyway).
            pending = [node]
            while pending:
                current = pending[-1]
                missing = [p for p, _ in self.predecessors.get(current, []) if p not in counts]
                if missing:
                    pending.extend(missing)
                    continue
                pending.pop()
                counts[current] = sum(counts[p] for p, _ in self.predecessors.get(current, []))
            return counts[node]

        return count(target)

    def list_paths(self, target: NodeRef, limit: int) -> list[tuple[NodeRef, ...]]:
        """Up to `limit` shortest paths, source first, in a stable order."""
        paths: list[tuple[NodeRef, ...]] = []
        stack: list[tuple[NodeRef, tuple[NodeRef, ...]]] = [(target, (target,))]
        while stack and len(paths) < limit:
            node, suffix = stack.pop()
            if node == self.source:
                paths.append(suffix)
                continue
            for previous, _ in reversed(self.predecessors.get(node, [])):
                stack.append((previous, (previous, *suffix)))
        return paths
