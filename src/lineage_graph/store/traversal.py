"""The one lineage walk: breadth-first over lineage edges, every statement's answer in a single row of
collected lists; one statement for the whole walk where Cypher can express it, one per level otherwise.

Every walk of the product runs here — `lineage`, `impact`, `lineagePath`, approval evidence, incident flags and
the SageMaker lineage API — so they share one edge vocabulary (`EdgeType`), one set of limits (`WalkLimits`) and
one truncation rule: the walk stops at the first limit it reaches, says which, and what it returns is a
breadth-first prefix (every node nearer than the cut; edges only between returned nodes).

When every followed edge points the same way (no DERIVED_FROM among them) and there is one start, the walk is
one statement: Neo4j's pruning breadth-first expansion `(s)<-[:A|B*0..20]-(m) WITH DISTINCT m` (each node
expanded once, so diamonds cost nothing), which is the floor the bench measures. Otherwise it goes level by
level: upstream follows DERIVED_FROM along its arrow and every other edge against it, a variable-length
relationship has one direction, and a quantified path pattern that mixes them did not finish in 15 s on a
1k-node subgraph. Level by level, each node is expanded once per direction and each level is one statement
(both directions of a walk both ways together) answering one row, so the walk costs one round trip per level
(streaming a row per record is what used to cost 10-30x). Either way the distances, limits and truncation
follow one rule (see docs/operations.md for the measurements).

Every list a walk's statement gets (frontier, visited set, a start's key parts) travels inside one map
parameter, `$walk`: Neo4j plans a statement once per size bucket of each list or string parameter (1, 10, 100,
…), so a growing frontier would re-plan its level statement at every bucket, but a map is one type whatever it
holds.
"""

from __future__ import annotations

import time
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import (
    LINEAGE_EDGES,
    LINEAGE_KINDS,
    Direction,
    EdgeType,
    LineageEdge,
    LineageNode,
    Truncation,
    WalkLimits,
    follow,
)
from lineage_graph.domain.models import ApprovalStatus
from lineage_graph.store.graph import fetch_values

# What a walk returns of each node, projected once per level it is reached at: every kind's key parts, the
# status fields a lineage view shows, and the governance fields (tags, needs_review) policies read.
FIELDS = (
    "name",
    "group",
    "version",
    "namespace",
    "repository",
    "commit",
    "run_id",
    "job_name",
    "approval_status",
    "archived",
    "tags",
    "needs_review",
)
PROJECTION = "{" + ", ".join(f".{name}" for name in FIELDS) + "}"
# The same fields as a flat list, after three leading columns (element id, labels, one the statement chooses):
# how a walk's own statements return each node. The driver decodes a list of values faster than a map, which
# also carries every key: measured on the 10k-node walk, 40-70 ms of client CPU to decode the row where the
# map form took 80-125 ms.
_VALUES = ", ".join(f"m.{name}" for name in FIELDS)
_AT = {name: 3 + i for i, name in enumerate(FIELDS)}
_EDGE_OF_NAME = {edge.type_name: edge for edge in EdgeType}
_TYPE_NAMES = frozenset(_EDGE_OF_NAME)


Follow = tuple[tuple[str, ...], tuple[str, ...]]  # the relationship types followed (outgoing, incoming)


def _check_types(outgoing: tuple[str, ...], incoming: tuple[str, ...]) -> None:
    """Relationship types are written into a statement's text: lineage edge types only, and at least one."""
    if not _TYPE_NAMES.issuperset(outgoing + incoming) or not outgoing + incoming:
        raise ValueError("lineage edge types only")


def _each_way(outgoing: tuple[str, ...], incoming: tuple[str, ...], forward: str, backward: str) -> list[str]:
    """`forward` for the outgoing types and `backward` for the incoming ones, where there are any, each with
    `{types}` the alternation of its types (`INPUT_TO|OUTPUT`; literal braces doubled)."""
    patterns = []
    if outgoing:
        patterns.append(forward.format(types="|".join(outgoing)))
    if incoming:
        patterns.append(backward.format(types="|".join(incoming)))
    return patterns


@cache
def level_statement(follows: tuple[Follow, ...]) -> str:
    """One breadth-first level around each direction's frontier (`$walk.f0`, `$walk.f1`: a walk both ways
    expands both in the same round trip), collected into one row per direction: the steps taken (origin,
    edge type, outgoing?, node reached) and the nodes reached, projected, with whether each leads on
    (`steps0`, `nodes0`, …).

    The relationship types are written into the pattern (typed expansion: a model version's approvals,
    aliases and deployments are never touched) and come only from the `EdgeType` enum, never from a caller."""
    calls, columns = [], []
    for i, (outgoing, incoming) in enumerate(follows):
        _check_types(outgoing, incoming)
        branches = _each_way(
            outgoing,
            incoming,
            "MATCH (n)-[r:{types}]->(m) RETURN r, m, true AS out",
            "MATCH (n)<-[r:{types}]-(m) RETURN r, m, false AS out",
        )
        union = "\n    UNION ALL\n    ".join(branches)
        # Whether a reached node leads on in this direction at all (a degree check, no expansion): a dead end
        # joins no frontier, so a walk that runs out ends without a statement that finds nothing.
        onward = _each_way(outgoing, incoming, "EXISTS {{ (m)-[:{types}]->() }}", "EXISTS {{ (m)<-[:{types}]-() }}")
        calls.append(f"""CALL () {{
  UNWIND $walk.f{i} AS origin
  MATCH (n) WHERE elementId(n) = origin
  CALL (n) {{
    {union}
  }}
  WITH origin, r, m, out LIMIT $rows
  RETURN collect([origin, type(r), out, elementId(m)]) AS steps{i}, collect(DISTINCT m) AS reached{i}
}}""")
        node = f"[elementId(m), labels(m), {' OR '.join(onward)}, {_VALUES}]"
        columns.append(f"steps{i}, [m IN reached{i} | {node}] AS nodes{i}")
    return "\n".join(["", *calls, "RETURN " + ", ".join(columns), ""])


def seek_by_key(kind: NodeKind) -> str:
    """The MATCH that finds a start `s` of `kind` by its natural key (`$walk.k0`, `$walk.k1`, …): a
    unique-index seek. Written from the `NodeKind` enum only."""
    keys = ", ".join(f"{key}: $walk.k{i}" for i, key in enumerate(kind.keys))
    return f"MATCH (s:{kind.label} {{{keys}}})"


SEEK_BY_ELEMENT_ID = "MATCH (s) WHERE elementId(s) = $walk.seed"
_SEEKS = frozenset({SEEK_BY_ELEMENT_ID, *(seek_by_key(kind) for kind in NodeKind)})


@cache
def pruned_statement(
    types: tuple[str, ...],
    outgoing: bool,
    depth: int,
    seek: str = SEEK_BY_ELEMENT_ID,
    others: tuple[str, ...] = (),
) -> str:
    """The whole walk in one statement along edges that all point one way: Neo4j's pruning breadth-first
    expansion (`VarLengthExpand(Pruning,BFS)`: each node expanded once) and, for each node reached, the edges it
    leads along, all collected into one row (none when the start does not exist). `others` are followed types
    that point the other way (DERIVED_FROM against the data flow): one pattern cannot follow both, so the row
    only says, in `mixed`, whether any node reached has one, and the walk is then done level by level. `depth`
    is a validated integer (the only value ever written into a statement); the types come from the `EdgeType`
    enum and `seek` from `seek_by_key` or `SEEK_BY_ELEMENT_ID`."""
    if not _TYPE_NAMES.issuperset((*types, *others)) or not types or not 0 <= depth <= 1000:
        raise ValueError("lineage edge types and a bounded depth only")
    if seek not in _SEEKS:
        raise ValueError("a start seek of this module only")
    union = "|".join(types)
    walk = f"(s)-[:{union}*0..{int(depth)}]->(m)" if outgoing else f"(s)<-[:{union}*0..{int(depth)}]-(m)"
    around = f"(m)-[r:{union}]->(x)" if outgoing else f"(m)<-[r:{union}]-(x)"
    reached = f"collect([elementId(m), labels(m), around, {_VALUES}]) AS reached"
    if not others:
        return f"""
{seek}
MATCH {walk}
WITH DISTINCT s, m LIMIT $nodes
CALL (m) {{ MATCH {around} WITH r, x LIMIT $edges RETURN collect([type(r), elementId(x)]) AS around }}
RETURN elementId(s) AS seed, {reached}
"""
    other = "|".join(others)
    leads = f"EXISTS {{ (m)<-[:{other}]-() }}" if outgoing else f"EXISTS {{ (m)-[:{other}]->() }}"
    return f"""
{seek}
MATCH {walk}
WITH DISTINCT s, m LIMIT $nodes
CALL (m) {{ MATCH {around} WITH r, x LIMIT $edges RETURN collect([type(r), elementId(x)]) AS around }}
WITH s, m, around, {leads} AS other
RETURN elementId(s) AS seed, {reached}, count(CASE WHEN other THEN 1 END) > 0 AS mixed
"""


def one_way(edge_types: Sequence[EdgeType], direction: Direction) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    """How a one-statement walk goes `direction`: the types it follows, whether outgoing, and the types of the
    other way it only checks for (see `pruned_statement`). Along the side with more types: the data flow."""
    outgoing, incoming = follow(edge_types, direction)
    out = len(outgoing) >= len(incoming)
    return (tuple(outgoing), True, tuple(incoming)) if out else (tuple(incoming), False, tuple(outgoing))


def pruned_walks(depth: int, kinds: Sequence[NodeKind]) -> list[tuple[str, dict[str, Any]]]:
    """The one-statement walks over every lineage edge at `depth`, each way, from a start found by its key (each
    of `kinds`) or from a seed (the second way of a walk both ways), with parameters of the types a walk
    passes: what start-up plans (the depth is written into the statement, so one depth: the default)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for direction in (Direction.UPSTREAM, Direction.DOWNSTREAM):
        types, out, others = one_way(LINEAGE_EDGES, direction)
        caps = {"nodes": 1, "edges": 1}
        for kind in kinds:
            walk = key_parts(sample_ref(kind))
            found.append((pruned_statement(types, out, depth, seek_by_key(kind), others), {"walk": walk, **caps}))
        found.append((pruned_statement(types, out, depth, others=others), {"walk": {"seed": NO_NODE}, **caps}))
    return found


@cache
def further_statement(outgoing: tuple[str, ...], incoming: tuple[str, ...]) -> str:
    """Which frontier nodes lead somewhere the walk has not been: decides DEPTH truncation and `expandable`."""
    _check_types(outgoing, incoming)
    tests = _each_way(
        outgoing,
        incoming,
        "EXISTS {{ MATCH (n)-[:{types}]->(m) WHERE NOT elementId(m) IN $walk.visited }}",
        "EXISTS {{ MATCH (n)<-[:{types}]-(m) WHERE NOT elementId(m) IN $walk.visited }}",
    )
    return f"""
UNWIND $walk.frontier AS origin
MATCH (n) WHERE elementId(n) = origin
WITH origin, n WHERE {" OR ".join(tests)}
RETURN collect(origin) AS more
"""


_KIND_OF_LABEL = {kind.label: kind for kind in LINEAGE_KINDS}
_STATUS_OF_VALUE = {status.value: status for status in ApprovalStatus}
# The kind a node's labels name, per distinct label list (a graph holds a handful of them).
_KIND_OF_LABELS: dict[tuple[str, ...], NodeKind] = {}


def _kind_of(labels: Sequence[str]) -> NodeKind:
    key = tuple(labels)
    kind = _KIND_OF_LABELS.get(key)
    if kind is None:
        kind = _KIND_OF_LABELS[key] = next(_KIND_OF_LABEL[label] for label in labels if label in _KIND_OF_LABEL)
    return kind


def to_lineage_node(labels: Sequence[str], props: dict[str, Any], distance: int) -> LineageNode:
    kind = _kind_of(labels)
    status = props.get("approval_status")
    return LineageNode(
        NodeRef(kind, tuple([props[key] for key in kind.keys])),
        _STATUS_OF_VALUE[status] if status else None,
        props.get("archived"),
        props.get("job_name"),
        distance,
        tuple(props.get("tags") or ()),
        props.get("needs_review"),
    )


# A kind's key parts out of a node's row, read in C (one part comes back bare, several as a tuple).
_KEY_OF = {kind: itemgetter(*(_AT[key] for key in kind.keys)) for kind in LINEAGE_KINDS}
_STATUS_AT, _ARCHIVED_AT, _JOB_AT = _AT["approval_status"], _AT["archived"], _AT["job_name"]
_TAGS_AT, _REVIEW_AT = _AT["tags"], _AT["needs_review"]


def node_of_row(row: Sequence[Any], distance: int) -> LineageNode:
    """A node as a walk's statement returns it: element id, labels, a third column, then `FIELDS` in order.
    Built as the tuple it is, in C (`LineageNode` is a named tuple), with its ref's parts read by the kind's
    keys: a walk builds one per node reached."""
    kind = _KIND_OF_LABELS.get(tuple(row[1])) or _kind_of(row[1])
    value = row[_STATUS_AT]
    status = _STATUS_OF_VALUE[value] if value else None
    parts = _KEY_OF[kind](row)
    ref = NodeRef.of_key(kind, parts if type(parts) is tuple else (parts,))
    tags, review = tuple(row[_TAGS_AT] or ()), row[_REVIEW_AT]
    return _new_tuple(LineageNode, (ref, status, row[_ARCHIVED_AT], row[_JOB_AT], distance, tags, review, False))


_new_tuple = tuple.__new__


# An edge as the walk keeps it: (source element id, target element id, type), as stored. Keyed by the triple
# (MERGE keeps lineage edges unique per pair and type), so no relationship ids travel.
EdgeKey = tuple[str, str, EdgeType]


@dataclass
class Walk:
    """One breadth-first walk's state. It lives outside the transaction function so that when the server stops
    the transaction at its time limit, what was found so far is still here to return as truncated.

    `seeds` are the nodes the walk starts from (distance 0: the start, or a container's members), `anchors`
    nodes of the answer it does not walk from (a container), `seed_edges` edges among those; `target`, when
    given, stops the walk at the level that reaches it (shortest paths)."""

    seeds: dict[str, LineageNode]
    directions: tuple[Direction, ...]
    edge_types: tuple[EdgeType, ...]
    limits: WalkLimits
    seed_edges: Sequence[EdgeKey] = ()
    target: NodeRef | None = None
    anchors: dict[str, LineageNode] = field(default_factory=dict)
    # One statement for the whole walk where it can express it (one start, edges that all point one way);
    # False forces one statement per level (the tests compare the two).
    single_statement: bool = True
    nodes: dict[str, LineageNode] = field(default_factory=dict)
    edges: dict[EdgeKey, None] = field(default_factory=dict)
    depth_reached: int = 0
    truncated: Truncation | None = None
    target_distance: int | None = None
    expandable: set[str] = field(default_factory=set)
    _edge_reads: int = 0
    _deadline: float = 0.0
    # A one-statement walk reached an edge it cannot follow (see `one_statement`).
    _mixed: bool = False

    @classmethod
    def of(
        cls,
        seeds: dict[str, LineageNode],
        direction: Direction,
        edge_types: Sequence[EdgeType],
        limits: WalkLimits,
        seed_edges: Sequence[EdgeKey] = (),
        target: NodeRef | None = None,
    ) -> Walk:
        directions = (Direction.UPSTREAM, Direction.DOWNSTREAM) if direction is Direction.BOTH else (direction,)
        return cls(dict(seeds), directions, tuple(edge_types), limits, tuple(seed_edges), target)

    def start_clock(self) -> None:
        """Start the time budget: once, before the first attempt, so a retried transaction does not get more."""
        self._deadline = time.monotonic() + self.limits.seconds

    def _reset(self) -> None:
        if not self._deadline:
            self.start_clock()
        self.nodes = {**self.anchors, **self.seeds}
        self.edges = dict.fromkeys(self.seed_edges)
        self.depth_reached, self.target_distance, self._edge_reads = 0, None, 0
        self._mixed = False
        self.truncated = None
        self.expandable = set()

    @property
    def one_statement(self) -> bool:
        """Whether each direction is first walked in one statement (no target). Where the followed edges point
        both ways (DERIVED_FROM against the data flow), that statement follows the data flow and the walk is
        kept only when nothing it reached has an edge of the others; otherwise it is walked again level by
        level. Most graphs have no fine-tune chains under most nodes, so most walks are one statement."""
        return self.single_statement and self.target is None

    async def run_from_key(self, tx: AsyncManagedTransaction, start: NodeRef) -> bool:
        """The walk from `start`, found by its key in the walk's own statement (no lookup of its own: one round
        trip fewer). Only when `one_statement`; False when `start` does not exist. Idempotent, as `run`."""
        if not self.one_statement:
            raise ValueError("a start found by key needs a walk of one statement per direction")
        self.seeds = {}
        self._reset()
        for direction in self.directions:
            if not await self._pruned(tx, direction, start):
                return False
            if self._mixed:  # the start is found (the seed now): walk again, level by level
                await self.run(tx, by_level=True)
                return True
        return True

    async def run(self, tx: AsyncManagedTransaction, by_level: bool = False) -> None:
        """The work function: walk every direction (in one statement each where `one_statement`, else or when
        `by_level`, level by level) until done or cut. Idempotent (a managed transaction may run it again: it
        starts over rather than mix two attempts)."""
        self._reset()
        frontiers = {d: list(self.seeds) for d in self.directions}
        visited = {d: set(self.seeds) for d in self.directions}
        if self.target is not None and any(n.ref == self.target for n in self.seeds.values()):
            self.target_distance = 0
            return
        if not by_level and self.one_statement and len(self.seeds) == 1:
            for direction in self.directions:
                await self._pruned(tx, direction)
                if self._mixed:
                    await self.run(tx, by_level=True)
                    return
            return
        for level in range(1, self.limits.depth + 1):
            if not any(frontiers.values()):
                return
            if time.monotonic() > self._deadline:
                self._cut(Truncation.TIMEOUT, frontiers.values())
                return
            found = await self._level(tx, frontiers, visited, level)
            if found is None:
                return
            if found:
                self.depth_reached = level
            if self.target_distance is not None:
                return
        for direction in self.directions:
            if frontiers[direction]:
                await self._further(tx, frontiers[direction], direction, visited[direction])
        if self.expandable:
            self.truncated = Truncation.DEPTH

    async def _level(
        self,
        tx: AsyncManagedTransaction,
        frontiers: dict[Direction, list[str]],
        visited: dict[Direction, set[str]],
        level: int,
    ) -> int | None:
        """Expand one level in every direction that has a frontier, in one statement, replacing each frontier
        by the next (the new nodes that lead on); how many new nodes the level reached, or None when a limit
        stopped the walk. The directions' answers are taken in order, as if walked one after the other (the
        edge-read cap is applied here, the statement's LIMIT only bounds it)."""
        directions = [d for d in self.directions if frontiers[d]]
        follows = tuple((tuple(o), tuple(i)) for o, i in (follow(self.edge_types, d) for d in directions))
        walk = {f"f{i}": frontiers[d] for i, d in enumerate(directions)}
        rows = self.limits.edges - self._edge_reads + 1
        row = await fetch_values(tx, level_statement(follows), walk=walk, rows=rows)
        assert row is not None  # an aggregation always returns its row
        found = 0
        for i, direction in enumerate(directions):
            nodes: list[list[Any]] = row[f"nodes{i}"]
            following = self._take(row[f"steps{i}"], nodes, frontiers[direction], visited[direction], level)
            if following is None:
                return None
            found += len(following)
            leading = {node[0] for node in nodes if node[2]}
            frontiers[direction] = [eid for eid in following if eid in leading]
        return found

    def _take(
        self, steps: list[list[Any]], nodes: list[list[Any]], frontier: list[str], visited: set[str], level: int
    ) -> list[str] | None:
        """One direction's level: the nodes it reached first, or None when a limit stopped the walk."""
        reached = {row[0]: row for row in nodes}
        following: list[str] = []
        for origin, type_name, out, eid in steps:
            self._edge_reads += 1
            if self._edge_reads > self.limits.edges:
                self._cut(Truncation.EDGE_LIMIT, [frontier])
                return None
            node = self.nodes.get(eid)
            if node is None:
                if len(self.nodes) >= self.limits.nodes:
                    self._cut(Truncation.NODE_LIMIT, [frontier])
                    return None
                node = node_of_row(reached[eid], level)
                self.nodes[eid] = node
            edge_type = _EDGE_OF_NAME[type_name]
            self.edges[(origin, eid, edge_type) if out else (eid, origin, edge_type)] = None
            if eid not in visited:
                visited.add(eid)
                following.append(eid)
                if node.ref == self.target:
                    self.target_distance = level
        return following

    async def _pruned(self, tx: AsyncManagedTransaction, direction: Direction, start: NodeRef | None = None) -> bool:
        """The walk in one statement (see `pruned_statement`); distances, limits and truncation are then worked
        out here from what came back, to the same rule as the level-by-level walk. From the one seed or, when
        there is none yet, from `start` found by its key (it becomes the seed); False when it does not exist."""
        types, out, others = one_way(self.edge_types, direction)
        # The node limit is shared with what is already found (anchors, the other direction); a known seed is
        # counted in both.
        depth, room = self.limits.depth, self.limits.nodes - len(self.nodes) + (1 if self.seeds else 0)
        walk: dict[str, Any]
        if self.seeds:
            statement, walk = pruned_statement(types, out, depth, others=others), {"seed": next(iter(self.seeds))}
        elif start is not None:
            seek = seek_by_key(start.kind)
            statement, walk = pruned_statement(types, out, depth, seek, others), key_parts(start)
        else:
            raise ValueError("a walk needs a seed or a start")
        row = await fetch_values(tx, statement, walk=walk, nodes=room + 1, edges=self.limits.edges + 1)
        if row is None:
            return False
        seed: str = row["seed"]
        reached: list[list[Any]] = row["reached"]
        # Each reached node's row by element id; its third column is what it leads along (edge type, far end).
        found: dict[str, list[Any]] = {entry[0]: entry for entry in reached}
        if not self.seeds:
            self.seeds = {seed: node_of_row(found[seed], 0)}
        if row.get("mixed"):
            self._mixed = True
            return True
        # Breadth-first over what came back, level by level: the distances the level walk would have found, in
        # its order (nearest first, each level in the order it was reached).
        distance = {seed: 0}
        frontier, level = [seed], 0
        while frontier and level < depth:
            level += 1
            following = []
            for eid in frontier:
                for _, far in found[eid][2]:
                    if far not in distance and far in found:
                        distance[far] = level
                        following.append(far)
            frontier = following
        # The first `room` are the prefix the rule keeps (all of them, the common case: `distance` is then the
        # set of kept nodes, without building another).
        kept = list(distance)[:room]
        keep: Container[str] = distance if len(kept) == len(distance) else set(kept)
        # Edges read by the kept nodes (all of them, without a cut: summed in C).
        if len(kept) == len(found):
            reads = sum([len(entry[2]) for entry in reached])
        else:
            reads = sum([len(found[eid][2]) for eid in kept])
        nodes, edges, expandable, edge_of = self.nodes, self.edges, self.expandable, _EDGE_OF_NAME
        for eid in kept:
            at = distance[eid]
            entry = found[eid]
            known = nodes.get(eid)
            if known is None or known.distance > at:
                nodes[eid] = node_of_row(entry, at)
            for type_name, far in entry[2]:
                if far in keep:
                    if at < depth:
                        edges[(eid, far, edge_of[type_name]) if out else (far, eid, edge_of[type_name])] = None
                else:
                    expandable.add(eid)
        if kept:
            self.depth_reached = max(self.depth_reached, distance[kept[-1]])
        if len(distance) > room or len(found) > room:
            self.truncated = Truncation.NODE_LIMIT
            # As level by level: the depth reached is that of the last level that fitted whole.
            dropped = [distance[eid] for eid in distance if eid not in keep]
            if dropped and kept and min(dropped) == distance[kept[-1]]:
                self.depth_reached = distance[kept[-1]] - 1
        elif reads > self.limits.edges or max([len(entry[2]) for entry in reached], default=0) > self.limits.edges:
            self.truncated = Truncation.EDGE_LIMIT
        elif self.expandable and self.truncated is None:
            self.truncated = Truncation.DEPTH
        return True

    async def _further(
        self, tx: AsyncManagedTransaction, frontier: list[str], direction: Direction, visited: set[str]
    ) -> None:
        outgoing, incoming = follow(self.edge_types, direction)
        walk = {"frontier": frontier, "visited": list(visited)}
        row = await fetch_values(tx, further_statement(tuple(outgoing), tuple(incoming)), walk=walk)
        assert row is not None
        self.expandable.update(row["more"])

    def _cut(self, reason: Truncation, frontiers: Iterable[list[str]]) -> None:
        # The frontier was not (fully) expanded: what lies beyond it is unknown, so each of its nodes may
        # show more when expanded from.
        self.truncated = reason
        for frontier in frontiers:
            self.expandable.update(frontier)

    def stopped_by_server(self) -> None:
        """The server ended the transaction at its time limit: keep what was found, truncated by TIMEOUT."""
        self.truncated = Truncation.TIMEOUT
        self.expandable.update(eid for eid, node in self.nodes.items() if node.distance == self.depth_reached)

    def result_nodes(self) -> dict[str, LineageNode]:
        """The nodes found, `expandable` set where the walk stopped short of what lies beyond them."""
        if not self.expandable:  # a walk that ran out: every node as it was built, copied in C
            return dict(self.nodes)
        return {
            eid: node._replace(expandable=True) if eid in self.expandable else node for eid, node in self.nodes.items()
        }

    def result_edges(self) -> list[EdgeKey]:
        # A cut level may have recorded an edge whose far end was then dropped: keep edges between returned nodes.
        return [key for key in self.edges if key[0] in self.nodes and key[1] in self.nodes]

    def lineage_edges(self, nodes: dict[str, LineageNode]) -> list[LineageEdge]:
        """`result_edges` as the domain's edges between `nodes` (what `result_nodes` returned), each built as the
        tuple it is, in C (`LineageEdge` is a named tuple): 11k of them in a big answer."""
        ref_of = {eid: node.ref for eid, node in nodes.items()}.get
        new = _new_tuple
        return [
            new(LineageEdge, (source, target, edge_type, (), ()))
            for s, t, edge_type in self.edges
            if (source := ref_of(s)) is not None and (target := ref_of(t)) is not None
        ]


# An element id that names no node: a statement is planned for its parameters' types, not their values.
NO_NODE = "4:00000000-0000-0000-0000-000000000000:-1"


def sample_ref(kind: NodeKind) -> NodeRef:
    """A ref of `kind` whose key parts have the types a request passes (a model version's number is an integer,
    domain/ids.py; every other part a string): for planning its statements before any request."""
    return NodeRef(kind, tuple(1 if kind is NodeKind.MODEL_VERSION and key == "version" else "k" for key in kind.keys))


def key_parts(ref: NodeRef) -> dict[str, Any]:
    """`ref`'s key parts as the map a start's seek reads (`$walk.k0`, …)."""
    return {f"k{i}": part for i, part in enumerate(ref.parts)}


def warm_up_statements() -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
    """The level and depth-check statements of a walk over every lineage edge (upstream, downstream, both
    ways), then its depth checks, with parameters of the types the walk passes: what start-up plans
    (store/plans.py). The walk's lists
    travel in one map parameter (`$walk`), which Neo4j plans as one type whatever its lists' sizes, so one plan
    per statement serves every frontier."""
    up, down = (
        tuple(tuple(types) for types in follow(LINEAGE_EDGES, d)) for d in (Direction.UPSTREAM, Direction.DOWNSTREAM)
    )
    frontier = [NO_NODE]
    levels: list[tuple[str, dict[str, Any]]] = [
        (level_statement((up, down)), {"walk": {"f0": frontier, "f1": frontier}, "rows": 1}),
        (level_statement((up,)), {"walk": {"f0": frontier}, "rows": 1}),
        (level_statement((down,)), {"walk": {"f0": frontier}, "rows": 1}),
    ]
    depth_checks: list[tuple[str, dict[str, Any]]] = [
        (further_statement(outgoing, incoming), {"walk": {"frontier": frontier, "visited": frontier}})
        for outgoing, incoming in (up, down)
    ]
    return levels, depth_checks
