"""`lineage` over real HTTP against real Neo4j: directions, fan-out, filters, caps, diamonds, read after write."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import strawberry
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import Direction, LineageRequest, Truncation
from lineage_graph.graphql.context import Context
from lineage_graph.graphql.lineage import LineageGraph, lineage_field
from lineage_graph.graphql.loaders import Loaders
from lineage_graph.services.container import Services
from lineage_graph.services.lineage import LineageService
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.lineage import _Start
from lineage_graph.store.traversal import Walk
from tests.support import GraphQLClient

LINEAGE = """
query Lineage($id: ID!, $direction: LineageDirection, $depth: Int, $nodeTypes: [LineageNodeKind!],
              $edgeTypes: [LineageEdgeType!], $limit: Int) {
  lineage(id: $id, direction: $direction, depth: $depth, nodeTypes: $nodeTypes, edgeTypes: $edgeTypes,
          limit: $limit) {
    root depthReached truncated truncationReason
    nodes { id kind displayName distance namespace name group version repository commit runId approvalStatus archived
            tags needsReview expandable }
    edges { source target type via path }
  }
}
"""

# A small but complete ML lineage: raw events -> prep run -> features -> training run (with code) -> model v1;
# v2 fine-tuned from v1 and also trained on events v2; v1 scores a dataset (a model as a producer).
ML_GRAPH = """
CREATE (events:Dataset {namespace: 's3://lake', name: 'events'})
CREATE (ev1:DatasetVersion {namespace: 's3://lake', name: 'events', version: 'v1'})-[:VERSION_OF]->(events)
CREATE (ev2:DatasetVersion {namespace: 's3://lake', name: 'events', version: 'v2'})-[:VERSION_OF]->(events)
CREATE (prep:Run {run_id: 'prep-1', job_namespace: 'etl', job_name: 'prep'})
CREATE (features:DatasetVersion {namespace: 's3://lake', name: 'features', version: 'v1'})
CREATE (code:CodeVersion {repository: 'github.com/acme/churn', commit: 'abc123'})
CREATE (train:Run {run_id: 'train-1', job_namespace: 'ml', job_name: 'train'})
CREATE (job:Job {namespace: 'ml', name: 'train'})
CREATE (group:ModelGroup {name: 'churn'})
CREATE (mv1:ModelVersion {group: 'churn', version: 1, name: 'churn/1', approval_status: 'APPROVED', archived: false})
CREATE (mv2:ModelVersion {group: 'churn', version: 2, name: 'churn/2', approval_status: 'PENDING_MANUAL_APPROVAL',
                          archived: false})
CREATE (score:Run {run_id: 'score-1', job_namespace: 'ml', job_name: 'score'})
CREATE (scores:DatasetVersion {namespace: 's3://lake', name: 'scores', version: 'v1'})
CREATE (ev1)-[:INPUT_TO]->(prep), (prep)-[:OUTPUT]->(features)
CREATE (features)-[:INPUT_TO]->(train), (code)-[:EXECUTED_BY]->(train), (train)-[:INSTANCE_OF]->(job)
CREATE (train)-[:OUTPUT]->(mv1), (mv1)-[:IN_GROUP]->(group), (mv2)-[:IN_GROUP]->(group)
CREATE (mv2)-[:DERIVED_FROM]->(mv1), (ev2)-[:TRAINED]->(mv2)
CREATE (mv1)-[:INPUT_TO]->(score), (score)-[:OUTPUT]->(scores)
"""


def gid(kind: NodeKind, *parts: str | int) -> str:
    return NodeRef.of(kind, *parts).global_id


EVENTS = gid(NodeKind.DATASET, "s3://lake", "events")
EV1 = gid(NodeKind.DATASET_VERSION, "s3://lake", "events", "v1")
EV2 = gid(NodeKind.DATASET_VERSION, "s3://lake", "events", "v2")
FEATURES = gid(NodeKind.DATASET_VERSION, "s3://lake", "features", "v1")
SCORES = gid(NodeKind.DATASET_VERSION, "s3://lake", "scores", "v1")
PREP = gid(NodeKind.RUN, "prep-1")
TRAIN = gid(NodeKind.RUN, "train-1")
SCORE = gid(NodeKind.RUN, "score-1")
CODE = gid(NodeKind.CODE_VERSION, "github.com/acme/churn", "abc123")
GROUP = gid(NodeKind.MODEL_GROUP, "churn")
JOB = gid(NodeKind.JOB, "ml", "train")
MV1 = gid(NodeKind.MODEL_VERSION, "churn", 1)
MV2 = gid(NodeKind.MODEL_VERSION, "churn", 2)


def make_ml_graph(db: Driver) -> None:
    db.execute_query(ML_GRAPH)


def trace(gql: GraphQLClient, node_id: str, **arguments: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql.data(LINEAGE, {"id": node_id, **arguments})["lineage"]
    return result


def ids(result: dict[str, Any]) -> set[str]:
    return {node["id"] for node in result["nodes"]}


def edges(result: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["type"]) for e in result["edges"]}


def make_lattice(db: Driver, layers: int, width: int, namespace: str = "lattice") -> list[list[NodeRef]]:
    """`layers` layers of `width` nodes, dataset versions and runs alternating, each node linked to every node of
    the next layer (width^(layers-1) paths end to end); the first layer are versions of one Dataset."""
    grid: list[list[NodeRef]] = []
    for layer in range(layers):
        if layer % 2 == 0:
            refs = [NodeRef.of(NodeKind.DATASET_VERSION, namespace, f"layer{layer}", str(i)) for i in range(width)]
        else:
            refs = [NodeRef.of(NodeKind.RUN, f"{namespace}-layer{layer}-{i}") for i in range(width)]
        grid.append(refs)
    db.execute_query(
        "UNWIND $rows AS row CREATE (:DatasetVersion {namespace: row[0], name: row[1], version: row[2]})",
        rows=[list(r.parts) for layer in grid for r in layer if r.kind is NodeKind.DATASET_VERSION],
    )
    db.execute_query(
        "UNWIND $ids AS id CREATE (:Run {run_id: id, job_namespace: $ns, job_name: 'step'})",
        ids=[r.parts[0] for layer in grid for r in layer if r.kind is NodeKind.RUN],
        ns=namespace,
    )
    db.execute_query(
        "CREATE (d:Dataset {namespace: $ns, name: 'layer0'}) WITH d "
        "MATCH (v:DatasetVersion {namespace: $ns, name: 'layer0'}) CREATE (v)-[:VERSION_OF]->(d)",
        ns=namespace,
    )
    pairs_in = []
    pairs_out = []
    for upper, lower in itertools.pairwise(grid):
        for a in upper:
            for b in lower:
                if a.kind is NodeKind.DATASET_VERSION:
                    pairs_in.append([*a.parts, b.parts[0]])
                else:
                    pairs_out.append([a.parts[0], *b.parts])
    db.execute_query(
        "UNWIND $pairs AS p MATCH (d:DatasetVersion {namespace: p[0], name: p[1], version: p[2]}) "
        "MATCH (r:Run {run_id: p[3]}) CREATE (d)-[:INPUT_TO]->(r)",
        pairs=pairs_in,
    )
    db.execute_query(
        "UNWIND $pairs AS p MATCH (r:Run {run_id: p[0]}) "
        "MATCH (d:DatasetVersion {namespace: p[1], name: p[2], version: p[3]}) CREATE (r)-[:OUTPUT]->(d)",
        pairs=pairs_out,
    )
    return grid


def test_upstream_of_a_fine_tune_reaches_its_parents_inputs_and_code(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    result = trace(gql, MV2, direction="UPSTREAM", depth=5)
    assert ids(result) == {MV2, MV1, EV2, TRAIN, FEATURES, CODE, PREP, EV1}
    assert result["root"] == MV2
    assert result["depthReached"] == 5
    assert result["truncated"] is False
    assert result["truncationReason"] is None
    # Edges come back as stored: DERIVED_FROM from the fine-tune to its parent.
    assert (MV2, MV1, "DERIVED_FROM") in edges(result)
    assert (CODE, TRAIN, "EXECUTED_BY") in edges(result)
    assert len(result["edges"]) == 7
    by_id = {n["id"]: n for n in result["nodes"]}
    assert by_id[MV1]["approvalStatus"] == "APPROVED"
    assert by_id[MV1]["kind"] == "ModelVersion"
    assert by_id[MV1]["group"] == "churn"
    assert by_id[MV1]["version"] == "1"
    assert by_id[MV1]["archived"] is False
    assert by_id[EV1]["distance"] == 5
    assert by_id[EV1]["displayName"] == "s3://lake/events@v1"
    assert by_id[CODE]["repository"] == "github.com/acme/churn"
    assert by_id[TRAIN]["runId"] == "train-1"


def test_depth_cut_is_reported_as_truncated(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    result = trace(gql, MV2, direction="UPSTREAM", depth=3)
    assert ids(result) == {MV2, MV1, EV2, TRAIN, FEATURES, CODE}
    assert result["depthReached"] == 3
    assert result["truncated"] is True
    assert result["truncationReason"] == "DEPTH"
    # Only where the walk stopped short is there more to see: prep lies beyond the features, nothing beyond code.
    expandable = {n["id"] for n in result["nodes"] if n["expandable"]}
    assert expandable == {FEATURES}


def test_nodes_carry_governance_fields_and_sagemaker_associations_are_lineage(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    db.execute_query(
        "MATCH (d:DatasetVersion {name: 'features'}) SET d.tags = ['pii', 'incident'] "
        "WITH d MATCH (v:ModelVersion {version: 1}) SET v.needs_review = true "
        "CREATE (:DatasetVersion {namespace: 's3://lake', name: 'labels', version: 'v1'})"
        "-[:ASSOCIATED_WITH {association_type: 'AssociatedWith'}]->(v)"
    )
    result = trace(gql, MV1, direction="UPSTREAM", depth=2)
    by_id = {n["id"]: n for n in result["nodes"]}
    assert by_id[FEATURES]["tags"] == ["pii", "incident"]
    assert by_id[MV1]["needsReview"] is True
    labels = gid(NodeKind.DATASET_VERSION, "s3://lake", "labels", "v1")
    assert (labels, MV1, "ASSOCIATED_WITH") in edges(result)


def test_a_dataset_fans_out_through_its_versions_and_models_produce_data(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    result = trace(gql, EVENTS, direction="DOWNSTREAM", depth=6)
    assert ids(result) == {EVENTS, EV1, EV2, PREP, MV2, FEATURES, TRAIN, MV1, SCORE, SCORES}
    assert (EV1, EVENTS, "VERSION_OF") in edges(result)
    assert (MV1, SCORE, "INPUT_TO") in edges(result)
    assert (MV2, MV1, "DERIVED_FROM") in edges(result)
    assert result["truncated"] is False
    shallower = trace(gql, EVENTS, direction="DOWNSTREAM", depth=5)
    assert SCORES not in ids(shallower)
    assert shallower["truncationReason"] == "DEPTH"


def test_a_model_group_and_a_job_fan_out_to_their_members(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    result = trace(gql, GROUP, direction="UPSTREAM", depth=1)
    assert ids(result) == {GROUP, MV1, MV2, TRAIN, EV2}
    assert (MV1, GROUP, "IN_GROUP") in edges(result)
    assert ids(trace(gql, JOB, direction="DOWNSTREAM", depth=1)) == {JOB, TRAIN, MV1}


def test_both_directions_is_the_union_not_an_undirected_walk(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    result = trace(gql, TRAIN, depth=2)
    assert ids(result) == {TRAIN, FEATURES, CODE, PREP, MV1, MV2, SCORE}
    # Undirected, mv1 -> mv2 -> ev2 would be reached at depth 3: it is upstream of a downstream node, not lineage.
    assert EV2 not in ids(trace(gql, TRAIN, depth=10))


def test_node_types_filter_the_answer_and_edge_types_the_walk(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    models_and_data = trace(gql, EV1, direction="DOWNSTREAM", depth=10, nodeTypes=["ModelVersion", "DatasetVersion"])
    assert ids(models_and_data) == {EV1, FEATURES, MV1, MV2, SCORES}
    # The runs between them are hidden, not the connections: each becomes a collapsed edge naming its path.
    assert edges(models_and_data) == {
        (MV2, MV1, "DERIVED_FROM"),
        (EV1, FEATURES, "COLLAPSED"),
        (FEATURES, MV1, "COLLAPSED"),
        (MV1, SCORES, "COLLAPSED"),
    }
    collapsed = {(e["source"], e["target"]): e for e in models_and_data["edges"]}
    assert collapsed[(FEATURES, MV1)]["via"] == [TRAIN]
    assert collapsed[(FEATURES, MV1)]["path"] == ["INPUT_TO", "OUTPUT"]
    no_fine_tunes = trace(gql, EV1, direction="DOWNSTREAM", depth=10, edgeTypes=["INPUT_TO", "OUTPUT"])
    assert ids(no_fine_tunes) == {EV1, PREP, FEATURES, TRAIN, MV1, SCORE, SCORES}


def test_the_node_limit_truncates_and_says_so(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    result = trace(gql, EV1, direction="DOWNSTREAM", depth=10, limit=4)
    assert len(result["nodes"]) == 4
    assert result["truncated"] is True
    assert result["truncationReason"] == "NODE_LIMIT"
    node_ids = ids(result)
    assert all(e["source"] in node_ids and e["target"] in node_ids for e in result["edges"])


def test_lattice_returns_every_node_and_edge_once_without_enumerating_paths(gql: GraphQLClient, db: Driver) -> None:
    # 20 layers x 10 nodes, complete between layers: 200 nodes, 19 x 100 = 1900 edges, 10^19 paths end to end.
    grid = make_lattice(db, layers=20, width=10)
    result = trace(gql, gid(NodeKind.DATASET, "lattice", "layer0"), direction="DOWNSTREAM", depth=20)
    lattice_ids = {ref.global_id for layer in grid for ref in layer}
    assert ids(result) == lattice_ids | {gid(NodeKind.DATASET, "lattice", "layer0")}
    assert len(result["nodes"]) == 201
    flow = [e for e in result["edges"] if e["type"] != "VERSION_OF"]
    assert len(flow) == 1900
    assert len(edges(result)) == 1910
    assert result["truncated"] is False
    assert result["depthReached"] == 19
    # From the last layer back up: the other 190 lattice nodes and 10 + 18 x 100 edges.
    upstream = trace(gql, grid[-1][0].global_id, direction="UPSTREAM", depth=20)
    assert len(upstream["nodes"]) == 191
    assert len(upstream["edges"]) == 1810


def test_lineage_reflects_writes_immediately(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    assert ids(trace(gql, SCORES, direction="DOWNSTREAM")) == {SCORES}
    db.execute_query(
        "MATCH (s:DatasetVersion {name: 'scores'}) "
        "CREATE (s)-[:INPUT_TO]->(:Run {run_id: 'publish-1', job_namespace: 'ml', job_name: 'publish'})"
    )
    assert ids(trace(gql, SCORES, direction="DOWNSTREAM")) == {SCORES, gid(NodeKind.RUN, "publish-1")}
    assert SCORE in ids(trace(gql, SCORES, direction="UPSTREAM", depth=1))
    db.execute_query("MATCH (:Run {run_id: 'score-1'})-[o:OUTPUT]->() DELETE o")
    assert ids(trace(gql, SCORES, direction="UPSTREAM", depth=10)) == {SCORES}


def test_unknown_ids_and_bad_arguments_are_typed_errors(gql: GraphQLClient, db: Driver) -> None:
    missing = gql.execute(LINEAGE, {"id": gid(NodeKind.RUN, "nope")})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert missing["data"] is None
    bad = gql.execute(LINEAGE, {"id": "%%%", "depth": 0, "limit": 10**6, "edgeTypes": ["OUTPUT", "VERSION_OF"]})
    error = bad["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    fields = {p["field"] for p in error["extensions"]["problems"]}
    # Membership edges are answered (a container fans out along them) but not followed.
    assert fields == {"id", "depth", "limit", "edgeTypes.1"}
    unknown = gql.execute(LINEAGE, {"id": MV1, "nodeTypes": ["Robot"]})
    assert unknown["data"] is None
    assert "Robot" in unknown["errors"][0]["message"]


def test_the_time_budget_returns_what_was_found_as_truncated(settings: Settings, db: Driver) -> None:
    make_ml_graph(db)

    async def run() -> Truncation | None:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            service = LineageService.over(graph, budget=0.0)
            result = await service.lineage(SYSTEM, EV1, Direction.DOWNSTREAM, depth=10)
            assert {n.ref.global_id for n in result.nodes} == {EV1}
            return result.truncated
        finally:
            await graph.close()

    assert asyncio.run(run()) is Truncation.TIMEOUT


@strawberry.type
class _Versioned:
    id: strawberry.ID
    lineage: LineageGraph = lineage_field()


@strawberry.type
class _Query:
    @strawberry.field
    def version(self, id: strawberry.ID) -> _Versioned:
        return _Versioned(id=id)


def test_lineage_field_adds_lineage_to_any_node_type(settings: Settings, db: Driver) -> None:
    make_ml_graph(db)
    schema = strawberry.Schema(query=_Query)
    document = """query($id: ID!) { version(id: $id) {
        lineage(direction: UPSTREAM, depth: 1) { nodes { id } edges { type } truncationReason } } }"""

    async def run() -> Any:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            services = Services.build(graph)
            # No HTTP request here: the lineage resolvers read only the services and the principal.
            context = Context(
                services=services,
                request=None,
                response=None,
                principal=SYSTEM,  # type: ignore[arg-type]
                loaders=Loaders.build(services, SYSTEM),
            )
            return await schema.execute(document, {"id": MV1}, context_value=context)
        finally:
            await graph.close()

    result = asyncio.run(run())
    assert result.errors is None
    assert {n["id"] for n in result.data["version"]["lineage"]["nodes"]} == {MV1, TRAIN}
    assert result.data["version"]["lineage"]["truncationReason"] == "DEPTH"


def test_compact_is_the_same_subgraph_as_columns(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    typed = trace(gql, EV1, direction="DOWNSTREAM", depth=10, nodeTypes=["ModelVersion", "DatasetVersion"])
    document = """query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM, depth: 10,
                  nodeTypes: [ModelVersion, DatasetVersion]) { compact } }"""
    packed = gql.data(document, {"id": EV1})["lineage"]["compact"]
    columns, rows = packed["nodes"], packed["edges"]
    assert columns["id"] == [n["id"] for n in typed["nodes"]]
    assert columns["kind"] == [n["kind"] for n in typed["nodes"]]
    assert columns["distance"] == [n["distance"] for n in typed["nodes"]]
    unpacked = {
        (columns["id"][s], columns["id"][t], kind)
        for s, t, kind in zip(rows["source"], rows["target"], rows["type"], strict=True)
    }
    assert unpacked == edges(typed)
    assert [TRAIN] in rows["via"]


def _both_ways(settings: Settings, request: LineageRequest) -> tuple[Any, Any]:
    """The same request walked in one pruning statement and level by level, in one transaction each."""

    async def run() -> tuple[Any, Any]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            answers = []
            for single in (True, False):
                walk = Walk.of({}, request.direction, request.edge_types, request.limits(60.0))
                walk.single_statement = single
                await graph.read(_Start(request.start, walk).run)
                answers.append(walk)
            return answers[0], answers[1]
        finally:
            await graph.close()

    return asyncio.run(run())


def test_one_statement_and_level_by_level_walks_agree(settings: Settings, db: Driver) -> None:
    grid = make_lattice(db, layers=12, width=6)
    make_ml_graph(db)
    flow = ["INPUT_TO", "OUTPUT", "EXECUTED_BY", "TRAINED", "BUILT"]
    cases = [
        (grid[0][0].global_id, Direction.DOWNSTREAM, 20, 1000),
        (grid[-1][0].global_id, Direction.UPSTREAM, 20, 1000),
        (grid[0][0].global_id, Direction.DOWNSTREAM, 5, 1000),  # cut by depth
        (grid[-1][0].global_id, Direction.UPSTREAM, 20, 30),  # cut by the node limit
        (TRAIN, Direction.BOTH, 3, 1000),
        (MV2, Direction.UPSTREAM, 2, 1000),
    ]
    # With every lineage edge (None): DERIVED_FROM points against the data flow, so one statement follows the
    # flow and the walk is done again level by level where a node reached has a DERIVED_FROM edge to follow.
    mixed = [
        (grid[0][0].global_id, Direction.DOWNSTREAM, 20, 1000, None),  # no fine-tunes: one statement
        (grid[-1][0].global_id, Direction.UPSTREAM, 20, 30, None),
        (MV2, Direction.UPSTREAM, 5, 1000, None),  # the fine-tune's parent: level by level
        (MV1, Direction.DOWNSTREAM, 5, 1000, None),
        (EV1, Direction.DOWNSTREAM, 10, 1000, None),
        (TRAIN, Direction.BOTH, 3, 1000, None),
        (SCORES, Direction.UPSTREAM, 10, 1000, None),
    ]
    for node_id, direction, depth, limit, types in [*((*case, flow) for case in cases), *mixed]:
        request = LineageRequest.validate(node_id, direction, depth, None, types, limit)
        single, levels = _both_ways(settings, request)
        assert single.truncated == levels.truncated, (node_id, direction, depth, limit)
        assert single.depth_reached == levels.depth_reached
        if levels.truncated is not Truncation.NODE_LIMIT:  # which nodes of the last level fit may differ
            assert {e: n.distance for e, n in single.nodes.items()} == {e: n.distance for e, n in levels.nodes.items()}
            assert set(single.result_edges()) == set(levels.result_edges())
            assert single.expandable == levels.expandable
        else:
            assert len(single.nodes) == len(levels.nodes) == limit
            assert max(n.distance for n in single.nodes.values()) == max(n.distance for n in levels.nodes.values())


def _statements_of(settings: Settings, request: LineageRequest, single: bool = False) -> tuple[Walk, list[str]]:
    """The request walked level by level (or, `single`, as the service walks it) in one transaction, and the
    statements it sent."""
    sent: list[str] = []

    class Counting:
        def __init__(self, tx: Any) -> None:
            self._tx = tx

        async def run(self, query: str, parameters: dict[str, Any] | None = None, **kwargs: Any) -> Any:
            sent.append(query)
            return await self._tx.run(query, parameters, **kwargs)

    async def run() -> Walk:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            walk = Walk.of({}, request.direction, request.edge_types, request.limits(60.0))
            walk.single_statement = single
            start = _Start(request.start, walk)
            walk.start_clock()
            await graph.read(lambda tx: start.run(Counting(tx)))  # type: ignore[arg-type]
            return walk
        finally:
            await graph.close()

    return asyncio.run(run()), sent


def test_a_walk_both_ways_is_one_statement_per_level_and_stops_at_dead_ends(settings: Settings, db: Driver) -> None:
    db.execute_query(
        "CREATE (:DatasetVersion {namespace: 'w', name: 'raw', version: '1'})-[:INPUT_TO]->(:Run {run_id: 'w-prep'})"
        "-[:OUTPUT]->(:DatasetVersion {namespace: 'w', name: 'features', version: '1'})-[:INPUT_TO]->"
        "(t:Run {run_id: 'w-train'})-[:OUTPUT]->(:ModelVersion {group: 'w', version: 1})"
    )
    train = NodeRef.of(NodeKind.RUN, "w-train").global_id
    walk, sent = _statements_of(settings, LineageRequest.validate(train, Direction.BOTH, 10))
    assert len(walk.nodes) == 5
    assert walk.truncated is None
    assert walk.depth_reached == 3
    # The start, then levels 1-3 (both directions together in the first): the raw version and the model lead
    # nowhere further, so no level runs to find nothing.
    assert len(sent) == 1 + 3, sent
    assert "steps1" in sent[1]
    assert "steps1" not in sent[2]


def test_a_walk_of_every_edge_is_one_statement_per_direction_unless_a_fine_tune_is_reached(
    settings: Settings, db: Driver
) -> None:
    make_ml_graph(db)
    # Upstream of the scores: a model, its training run and data, no fine-tune's parent reached: one statement.
    walk, sent = _statements_of(settings, LineageRequest.validate(SCORES, Direction.UPSTREAM, 10), single=True)
    assert len(sent) == 1, sent
    assert {MV1, TRAIN, EV1} <= {node.ref.global_id for node in walk.nodes.values()}
    # Upstream of the fine-tune: its DERIVED_FROM parent is reached, so the walk is done again level by level
    # from the start the first statement found, and the parent and what trained it are in the answer.
    walk, sent = _statements_of(settings, LineageRequest.validate(MV2, Direction.UPSTREAM, 10), single=True)
    assert "mixed" in sent[0]
    assert len(sent) > 2, sent
    reached = {node.ref.global_id for node in walk.nodes.values()}
    assert {MV1, TRAIN, EV2} <= reached
