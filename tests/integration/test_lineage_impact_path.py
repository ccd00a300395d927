"""`impact` and `lineagePath` over real HTTP against real Neo4j."""

from __future__ import annotations

from typing import Any

from neo4j import Driver

from lineage_graph.domain.ids import NodeKind
from tests.integration.test_lineage import (
    CODE,
    EV1,
    EV2,
    EVENTS,
    FEATURES,
    MV1,
    MV2,
    PREP,
    SCORES,
    TRAIN,
    gid,
    make_lattice,
    make_ml_graph,
)
from tests.support import GraphQLClient

IMPACT = """
query Impact($id: ID!, $limit: Int) {
  impact(id: $id, limit: $limit) {
    subject { id kind }
    modelVersions { id group version approvalStatus archived distance aliases
                    deployments { deploymentId endpoint environment trafficShare } }
    counts { status count deployed }
    datasetVersionCount runCount truncated truncationReason
  }
}
"""

PATH = """
query Path($from: ID!, $to: ID!) {
  lineagePath(from: $from, to: $to) {
    connected message direction length pathCount truncated
    nodes { id } edges { source target type } paths
  }
}
"""

# Extra versions around the ML graph: v3 and v4 fine-tuned from v2 (so downstream of events v2 too), aliases and
# deployments (a retired one must not count), a rejected version.
GOVERNANCE = """
MATCH (mv1:ModelVersion {group: 'churn', version: 1}), (mv2:ModelVersion {group: 'churn', version: 2})
CREATE (mv3:ModelVersion {group: 'churn', version: 3, approval_status: 'APPROVED', archived: false})
CREATE (mv4:ModelVersion {group: 'churn', version: 4, approval_status: 'REJECTED', archived: true})
CREATE (mv3)-[:DERIVED_FROM]->(mv2), (mv4)-[:DERIVED_FROM]->(mv2)
CREATE (:Alias {group: 'churn', name: 'champion'})-[:POINTS_TO]->(mv1)
CREATE (:Alias {group: 'churn', name: 'challenger'})-[:POINTS_TO]->(mv2)
CREATE (:Alias {group: 'churn', name: 'canary'})-[:POINTS_TO]->(mv1)
CREATE (:Deployment {deployment_id: 'd-prod', endpoint: 'churn-prod', environment: 'prod', traffic_share: 90.0,
                     status: 'ACTIVE'})-[:SERVES]->(mv1)
CREATE (:Deployment {deployment_id: 'd-old', endpoint: 'churn-prod', environment: 'prod', traffic_share: 0.0,
                     status: 'RETIRED'})-[:SERVES]->(mv2)
CREATE (:Deployment {deployment_id: 'd-shadow', endpoint: 'churn-shadow', environment: 'staging',
                     traffic_share: 10.0, status: 'ACTIVE'})-[:SERVES]->(mv2)
"""
MV3 = gid(NodeKind.MODEL_VERSION, "churn", 3)
MV4 = gid(NodeKind.MODEL_VERSION, "churn", 4)


def impact(gql: GraphQLClient, node_id: str, **arguments: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql.data(IMPACT, {"id": node_id, **arguments})["impact"]
    return result


def path(gql: GraphQLClient, source: str, target: str) -> dict[str, Any]:
    result: dict[str, Any] = gql.data(PATH, {"from": source, "to": target})["lineagePath"]
    return result


def test_impact_of_a_raw_dataset_version_lists_affected_models_deployed_and_approved_first(
    gql: GraphQLClient, db: Driver
) -> None:
    make_ml_graph(db)
    db.execute_query(GOVERNANCE)
    result = impact(gql, EV1)
    assert result["subject"] == {"id": EV1, "kind": "DatasetVersion"}
    order = [v["id"] for v in result["modelVersions"]]
    # v1 approved+deployed, v3 approved, v2 deployed (pending), v4 rejected.
    assert order == [MV1, MV3, MV2, MV4]
    first = result["modelVersions"][0]
    assert first["aliases"] == ["canary", "champion"]
    assert first["deployments"] == [
        {"deploymentId": "d-prod", "endpoint": "churn-prod", "environment": "prod", "trafficShare": 90.0}
    ]
    assert [d["deploymentId"] for d in result["modelVersions"][2]["deployments"]] == ["d-shadow"]
    assert result["modelVersions"][3]["archived"] is True
    counts = {c["status"]: (c["count"], c["deployed"]) for c in result["counts"]}
    assert counts == {"APPROVED": (2, 1), "PENDING_MANUAL_APPROVAL": (1, 1), "REJECTED": (1, 0)}
    assert result["datasetVersionCount"] == 2  # features and the scores written by v1
    assert result["runCount"] == 3
    assert result["truncated"] is False


def test_impact_of_a_dataset_covers_all_its_versions_and_of_a_model_its_fine_tunes(
    gql: GraphQLClient, db: Driver
) -> None:
    make_ml_graph(db)
    db.execute_query(GOVERNANCE)
    assert {v["id"] for v in impact(gql, EVENTS)["modelVersions"]} == {MV1, MV2, MV3, MV4}
    assert {v["id"] for v in impact(gql, EV2)["modelVersions"]} == {MV2, MV3, MV4}
    of_v2 = impact(gql, MV2)
    assert [v["id"] for v in of_v2["modelVersions"]] == [MV3, MV4]
    assert of_v2["subject"]["id"] == MV2
    assert {v["id"] for v in impact(gql, CODE)["modelVersions"]} == {MV1, MV2, MV3, MV4}


def test_impact_refuses_kinds_it_does_not_cover(gql: GraphQLClient, db: Driver) -> None:
    body = gql.execute(IMPACT, {"id": gid(NodeKind.MODEL_GROUP, "churn")})
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert body["errors"][0]["extensions"]["problems"][0]["field"] == "id"


def test_path_downstream_and_upstream(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    down = path(gql, EV1, MV2)
    assert down["connected"] is True
    assert down["direction"] == "DOWNSTREAM"
    assert down["length"] == 5
    assert down["paths"] == [[EV1, PREP, FEATURES, TRAIN, MV1, MV2]]
    assert down["pathCount"] == "1"
    assert (MV2, MV1, "DERIVED_FROM") in {(e["source"], e["target"], e["type"]) for e in down["edges"]}
    assert {n["id"] for n in down["nodes"]} == {EV1, PREP, FEATURES, TRAIN, MV1, MV2}
    up = path(gql, MV2, EV1)
    assert up["direction"] == "UPSTREAM"
    assert up["length"] == 5
    assert up["paths"] == [[MV2, MV1, TRAIN, FEATURES, PREP, EV1]]


def test_path_says_not_connected(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    result = path(gql, SCORES, EV2)
    assert result["connected"] is False
    assert result["length"] is None
    assert result["direction"] is None
    assert result["paths"] == []
    assert "not connected" in result["message"]


def test_path_through_a_lattice_is_a_subgraph_not_an_enumeration(gql: GraphQLClient, db: Driver) -> None:
    grid = make_lattice(db, layers=20, width=10)
    result = path(gql, grid[0][0].global_id, grid[-1][0].global_id)
    assert result["length"] == 19
    assert result["pathCount"] == str(10**18)  # 18 inner layers of 10 choices each
    assert len(result["paths"]) == 100
    assert len(result["nodes"]) == 1 + 18 * 10 + 1
    assert len(result["edges"]) == 10 + 17 * 100 + 10


def test_path_with_a_missing_end_is_not_found(gql: GraphQLClient, db: Driver) -> None:
    make_ml_graph(db)
    body = gql.execute(PATH, {"from": EV1, "to": gid(NodeKind.RUN, "missing")})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["errors"][0]["extensions"]["problems"][0]["field"] == "to"
    body = gql.execute(PATH, {"from": gid(NodeKind.RUN, "missing"), "to": EV1})
    assert body["errors"][0]["extensions"]["problems"][0]["field"] == "from"
    same = gql.execute(PATH, {"from": EV1, "to": EV1})
    assert same["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
