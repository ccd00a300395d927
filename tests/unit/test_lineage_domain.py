"""Lineage rules without a database: argument validation, edge directions, impact order, shortest-path DAGs."""

from __future__ import annotations

import pytest

from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import (
    LINEAGE_EDGES,
    MAX_DEPTH,
    MAX_LIMIT,
    Direction,
    EdgeType,
    ImpactDeployment,
    ImpactedModelVersion,
    LineageEdge,
    LineageGraph,
    LineageNode,
    LineageRequest,
    ShortestPathDag,
    follow,
    keep_kinds,
    summarize_impact,
)
from lineage_graph.domain.models import ApprovalStatus

_DV = NodeRef.of(NodeKind.DATASET_VERSION, "s3://lake", "events", "v1")


def _fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str | None]:
    return {p.field for p in exc.value.problems}


def test_defaults_follow_every_lineage_edge() -> None:
    request = LineageRequest.validate(_DV.global_id)
    assert request.start == _DV
    assert request.depth == 5
    assert request.limit == 1000
    assert request.edge_types == LINEAGE_EDGES
    assert request.node_kinds is None


@pytest.mark.parametrize(("depth", "limit"), [(0, 10), (MAX_DEPTH + 1, 10), (5, 0), (5, MAX_LIMIT + 1)])
def test_out_of_range_depth_or_limit_names_the_argument(depth: int, limit: int) -> None:
    with pytest.raises(ValidationFailed, match="must be between") as exc:
        LineageRequest.validate(_DV.global_id, depth=depth, limit=limit)
    assert _fields(exc) == {"depth" if depth != 5 else "limit"}


def test_every_bad_argument_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as exc:
        LineageRequest.validate(
            "not-an-id", depth=0, limit=-1, node_types=["Dataset", "Robot"], edge_types=["OUTPUT", "'}) DETACH"]
        )
    assert _fields(exc) == {"id", "depth", "limit", "nodeTypes.1", "edgeTypes.1"}


def test_membership_edges_and_non_lineage_kinds_are_refused() -> None:
    with pytest.raises(ValidationFailed) as exc:
        LineageRequest.validate(_DV.global_id, edge_types=["VERSION_OF"])
    assert _fields(exc) == {"edgeTypes.0"}
    deployment = NodeRef.of(NodeKind.DEPLOYMENT, "d-1").global_id
    with pytest.raises(ValidationFailed, match="expected the id of a ModelGroup or"):
        LineageRequest.validate(deployment)


def test_derived_from_is_followed_against_its_arrow() -> None:
    out, into = follow(LINEAGE_EDGES, Direction.DOWNSTREAM)
    assert "DERIVED_FROM" in into
    assert "DERIVED_FROM" not in out
    assert {"INPUT_TO", "OUTPUT", "EXECUTED_BY", "TRAINED", "BUILT"} <= set(out)
    out, into = follow(LINEAGE_EDGES, Direction.UPSTREAM)
    assert out == ["DERIVED_FROM"]
    assert set(into) == {"INPUT_TO", "OUTPUT", "EXECUTED_BY", "TRAINED", "BUILT", "ASSOCIATED_WITH"}


def test_hiding_node_kinds_keeps_connectivity_with_collapsed_edges() -> None:
    d1 = NodeRef.of(NodeKind.DATASET_VERSION, "s3://lake", "raw", "1")
    d2 = NodeRef.of(NodeKind.DATASET_VERSION, "s3://lake", "clean", "1")
    prep = NodeRef.of(NodeKind.RUN, "prep")
    train = NodeRef.of(NodeKind.RUN, "train")
    mv1 = NodeRef.of(NodeKind.MODEL_VERSION, "g", 1)
    mv2 = NodeRef.of(NodeKind.MODEL_VERSION, "g", 2)
    nodes = tuple(LineageNode(ref) for ref in (d1, prep, d2, train, mv1, mv2))
    edges = (
        LineageEdge(d1, prep, EdgeType.INPUT_TO),
        LineageEdge(prep, d2, EdgeType.OUTPUT),
        LineageEdge(d2, train, EdgeType.INPUT_TO),
        LineageEdge(train, mv1, EdgeType.OUTPUT),
        LineageEdge(mv2, mv1, EdgeType.DERIVED_FROM),
    )
    graph = LineageGraph(d1, nodes, edges, 3, None)
    kept = keep_kinds(graph, frozenset({NodeKind.DATASET_VERSION, NodeKind.MODEL_VERSION}))
    assert {n.ref for n in kept.nodes} == {d1, d2, mv1, mv2}
    by_ends = {(e.source, e.target): e for e in kept.edges}
    assert set(by_ends) == {(d1, d2), (d2, mv1), (mv2, mv1)}
    assert by_ends[(d1, d2)].via == (prep,)
    assert by_ends[(d1, d2)].path == (EdgeType.INPUT_TO, EdgeType.OUTPUT)
    assert by_ends[(mv2, mv1)].via == ()  # both ends kept: the stored edge itself
    # Only models: the data flows d1 -> ... -> mv1, and the fine-tune keeps its stored direction.
    models = keep_kinds(graph, frozenset({NodeKind.MODEL_VERSION}))
    collapsed = {(e.source, e.target): e for e in models.edges}
    assert collapsed[(d1, mv1)].via == (prep, d2, train)
    assert len(collapsed[(d1, mv1)].path) == 4


def _version(
    number: int, status: ApprovalStatus, deployed: bool = False, distance: int = 1, group: str = "g"
) -> ImpactedModelVersion:
    node = LineageNode(NodeRef.of(NodeKind.MODEL_VERSION, group, number), status, False, distance=distance)
    deployments = (ImpactDeployment(f"d{number}", "ep", "prod", 100.0),) if deployed else ()
    return ImpactedModelVersion(node, (), deployments)


def test_impact_puts_approved_and_deployed_first_and_counts_statuses() -> None:
    subject = LineageNode(_DV)
    impact = summarize_impact(
        subject,
        [
            _version(1, ApprovalStatus.REJECTED),
            _version(2, ApprovalStatus.PENDING_MANUAL_APPROVAL, deployed=True),
            _version(3, ApprovalStatus.APPROVED),
            _version(4, ApprovalStatus.APPROVED, deployed=True, distance=4),
            _version(5, ApprovalStatus.PENDING_MANUAL_APPROVAL),
            _version(6, ApprovalStatus.APPROVED, deployed=True, distance=2),
        ],
        dataset_versions=3,
        runs=2,
        truncated=None,
    )
    assert [v.node.ref.parts[1] for v in impact.model_versions] == [6, 4, 3, 2, 5, 1]
    counts = {c.status: (c.count, c.deployed) for c in impact.counts}
    assert counts == {
        ApprovalStatus.APPROVED: (3, 2),
        ApprovalStatus.PENDING_MANUAL_APPROVAL: (2, 1),
        ApprovalStatus.REJECTED: (1, 0),
    }


def _diamond_dag() -> tuple[ShortestPathDag, NodeRef]:
    """a -> b1|b2|b3 -> c -> d1|d2 -> e : 3 x 2 = 6 shortest paths."""

    def ref(name: str) -> NodeRef:
        return NodeRef.of(NodeKind.RUN, name)

    dag = ShortestPathDag(ref("a"))
    for parent, children in {"a": ["b1", "b2", "b3"], "c": ["d1", "d2"]}.items():
        for child in children:
            edge = LineageEdge(ref(parent), ref(child), EdgeType.OUTPUT)
            dag.predecessors.setdefault(ref(child), []).append((ref(parent), edge))
    for before, after in (("b1", "c"), ("b2", "c"), ("b3", "c"), ("d1", "e"), ("d2", "e")):
        edge = LineageEdge(ref(before), ref(after), EdgeType.INPUT_TO)
        dag.predecessors.setdefault(ref(after), []).append((ref(before), edge))
    return dag, ref("e")


def test_shortest_path_dag_counts_lists_and_collects_its_subgraph() -> None:
    dag, target = _diamond_dag()
    assert dag.count_paths(target) == 6
    paths = dag.list_paths(target, 100)
    assert len(paths) == 6
    assert len(set(paths)) == 6
    assert all(p[0] == dag.source and p[-1] == target and len(p) == 5 for p in paths)
    assert len(dag.list_paths(target, 4)) == 4
    nodes, edges = dag.subgraph(target)
    assert len(nodes) == 8
    assert len(edges) == 10


def test_display_names_show_the_key_parts() -> None:
    assert LineageNode(_DV).display_name == "s3://lake/events@v1"
    assert LineageNode(NodeRef.of(NodeKind.MODEL_VERSION, "churn", 3)).display_name == "churn/3"
    run = LineageNode(NodeRef.of(NodeKind.RUN, "r-1"), job_name="train")
    assert run.display_name == "train (r-1)"
