"""Hostile strings through every lineage argument: each is refused with a typed error and the graph is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from neo4j import Driver

from lineage_graph.domain.ids import NodeKind, NodeRef
from tests.integration.test_lineage import EV1, LINEAGE, MV1, make_ml_graph
from tests.integration.test_lineage_impact_path import IMPACT, PATH
from tests.support import GraphQLClient

HOSTILE = [
    "'",
    '"',
    "})-[*]-()",
    "'}) MATCH (n) DETACH DELETE n //",
    '"}) DETACH DELETE n RETURN 1 //',
    "ModelVersion`) DETACH DELETE n //",
    "` DETACH DELETE n //",
    "INPUT_TO|OUTPUT]-() MATCH (n) DETACH DELETE n //",
    "$frontier",
    "\\u0000\x00",
    "*" * 5000,
]

# Ids that decode to real kinds with hostile key parts: they reach the database, as parameters, and match nothing.
HOSTILE_IDS = [
    *HOSTILE,
    *(NodeRef.of(NodeKind.DATASET_VERSION, text, text, text).global_id for text in HOSTILE[:8]),
    *(NodeRef.of(NodeKind.MODEL_GROUP, text).global_id for text in HOSTILE[:8]),
    NodeRef.of(NodeKind.MODEL_VERSION, "churn'}) DETACH DELETE n //", 1).global_id,
]


def _snapshot(db: Driver) -> list[str]:
    nodes = db.execute_query("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props").records
    edges = db.execute_query(
        "MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(a) AS a, properties(b) AS b, properties(r) AS props"
    ).records
    return sorted(repr(sorted(record.data().items())) for record in [*nodes, *edges])


def _refused(body: dict[str, Any]) -> None:
    """An error a client can read: a typed domain error or GraphQL's own coercion error, never a masked crash."""
    assert body.get("errors"), body
    for error in body["errors"]:
        code = (error.get("extensions") or {}).get("code")
        assert code != "INTERNAL", error
        assert code in {None, "VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED", "NOT_FOUND"}, error
        assert "Neo" not in error["message"], error


@pytest.fixture
def graph(db: Driver) -> Driver:
    make_ml_graph(db)
    return db


def test_hostile_ids_change_nothing(gql: GraphQLClient, graph: Driver) -> None:
    before = _snapshot(graph)
    for node_id in HOSTILE_IDS:
        _refused(gql.execute(LINEAGE, {"id": node_id}))
        _refused(gql.execute(IMPACT, {"id": node_id}))
        _refused(gql.execute(PATH, {"from": node_id, "to": EV1}))
        _refused(gql.execute(PATH, {"from": EV1, "to": node_id}))
    assert _snapshot(graph) == before


def test_hostile_arguments_change_nothing(gql: GraphQLClient, graph: Driver) -> None:
    before = _snapshot(graph)
    for text in HOSTILE:
        for arguments in (
            {"direction": text},
            {"depth": text},
            {"limit": text},
            {"nodeTypes": [text]},
            {"edgeTypes": [text]},
            {"nodeTypes": ["ModelVersion", text], "edgeTypes": ["OUTPUT", text]},
        ):
            _refused(gql.execute(LINEAGE, {"id": MV1, **arguments}))
        _refused(gql.execute(IMPACT, {"id": MV1, "limit": text}))
    for number in (-1, 0, 10**6, 2**31, -(2**31)):
        _refused(gql.execute(LINEAGE, {"id": MV1, "depth": number}))
        _refused(gql.execute(LINEAGE, {"id": MV1, "limit": number}))
    assert _snapshot(graph) == before
    # And the graph still answers normally afterwards.
    assert gql.data(LINEAGE, {"id": MV1, "direction": "UPSTREAM", "depth": 1})["lineage"]["nodes"]
