"""The tag model over real HTTP: governance tags are set and cleared by approvers only, survive re-registration
and OpenLineage events, and every change is audited with the tags before and after."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from neo4j import Driver

from lineage_graph.domain.auth import Role
from lineage_graph.domain.ids import NodeKind, NodeRef
from tests.support import GraphQLClient, error_codes, graph_counts, problem_fields

REGISTER_DV = """mutation($tags: [String!]!) { registerDatasetVersion(input: {namespace: "s3://lake", name: "tx",
    version: "v1", tags: $tags}) { tags } }"""
FLAG = """mutation($id: ID!) {
    flagDatasetVersion(id: $id, reason: "card numbers in clear", tag: "pii") { needsReview { version } } }"""
CHANGE = """mutation($id: ID!, $add: [String!], $remove: [String!]) {
    changeGovernanceTags(id: $id, reason: "reviewed", add: $add, remove: $remove) { before after } }"""
DV_ID = NodeRef.of(NodeKind.DATASET_VERSION, "s3://lake", "tx", "v1").global_id


def _tags_of(db: Driver, label: str = "DatasetVersion") -> Any:
    return db.execute_query(f"MATCH (n:{label}) RETURN n.tags AS tags").records[0]["tags"]


def _audit(db: Driver, action: str) -> list[dict[str, Any]]:
    records = db.execute_query(
        "MATCH (e:AuditEvent {action: $a}) RETURN e.actor AS actor, e.payload AS p ORDER BY e.at, e.partition_sequence",
        a=action,
    ).records
    return [{"actor": r["actor"], **json.loads(r["p"])} for r in records]


def test_governance_tags_need_an_approver_and_survive_re_registration(
    db: Driver, client_as: Callable[..., GraphQLClient]
) -> None:
    contributor = client_as("carla", Role.CONTRIBUTOR)
    approver = client_as("abe", Role.APPROVER)
    assert contributor.data(REGISTER_DV, {"tags": ["raw"]})["registerDatasetVersion"]["tags"] == ["raw"]

    before = graph_counts(db)
    body = contributor.execute(REGISTER_DV, {"tags": ["clean", "pii"]})
    assert error_codes(body) == ["FORBIDDEN"]
    assert problem_fields(body) == ["tags[1]"]
    assert error_codes(contributor.execute(CHANGE, {"id": DV_ID, "add": ["pii"]})) == ["FORBIDDEN"]
    assert graph_counts(db) == before

    approver.data(FLAG, {"id": DV_ID})
    assert _tags_of(db) == ["raw", "pii"]
    # A contributor's re-registration replaces the ordinary tags and keeps the governance ones.
    assert contributor.data(REGISTER_DV, {"tags": ["clean"]})["registerDatasetVersion"]["tags"] == ["clean", "pii"]
    registered = _audit(db, "dataset_version.register")
    assert registered[-1]["tags"] == {"before": ["raw", "pii"], "after": ["clean", "pii"]}
    assert registered[-1]["actor"] == "carla"

    # Only governance tags go through changeGovernanceTags, and only for approvers.
    body = approver.execute(CHANGE, {"id": DV_ID, "add": ["clean"]})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_fields(body) == ["add[0]"]
    change = approver.data(CHANGE, {"id": DV_ID, "add": ["restricted"], "remove": ["pii"]})["changeGovernanceTags"]
    assert change == {"before": ["clean", "pii"], "after": ["clean", "restricted"]}
    assert _audit(db, "tags.change") == [
        {
            "actor": "abe",
            "reason": "reviewed",
            "tags": {"before": ["clean", "pii"], "after": ["clean", "restricted"]},
        }
    ]


def test_model_tags_follow_the_same_model(
    db: Driver, gql: GraphQLClient, client_as: Callable[..., GraphQLClient]
) -> None:
    contributor = client_as("carla", Role.CONTRIBUTOR)
    approver = client_as("abe", Role.VIEWER, {"fraud": Role.APPROVER})
    assert error_codes(
        contributor.execute('mutation { createModelGroup(input: {name: "fraud", tags: ["pii"]}) { name } }')
    ) == ["FORBIDDEN"]
    gql.data('mutation { createModelGroup(input: {name: "fraud", tags: ["tabular"]}) { name } }')
    version = contributor.data(
        'mutation { registerModelVersion(input: {group: "fraud", artifactUri: "s3://m/f", tags: ["xgb"]}) { id } }'
    )["registerModelVersion"]["id"]
    approver.data(CHANGE, {"id": version, "add": ["restricted"]})
    update = 'mutation($id: ID!) { updateModelVersion(id: $id, input: {tags: ["lgbm"]}) { tags } }'
    assert contributor.data(update, {"id": version})["updateModelVersion"]["tags"] == ["lgbm", "restricted"]
    group_id = NodeRef.of(NodeKind.MODEL_GROUP, "fraud").global_id
    approver.data(CHANGE, {"id": group_id, "add": ["pii"]})
    update_group = 'mutation { updateModelGroup(name: "fraud", input: {tags: []}) { tags } }'
    assert contributor.data(update_group)["updateModelGroup"]["tags"] == ["pii"]
    assert _audit(db, "model_group.update")[-1]["tags"] == {"before": ["tabular", "pii"], "after": ["pii"]}


def _lineage_event(at: str) -> dict[str, Any]:
    producer = "https://example.com/producer"
    return {
        "eventType": "COMPLETE",
        "eventTime": at,
        "producer": producer,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "airflow", "name": "etl", "facets": {}},
        "inputs": [
            {
                "namespace": "s3://lake",
                "name": "tx",
                "facets": {
                    "version": {
                        "_producer": producer,
                        "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/DatasetVersionDatasetFacet.json",
                        "datasetVersion": "v1",
                    }
                },
            }
        ],
        "outputs": [],
    }


def test_flagging_works_on_dataset_versions_that_openlineage_created(
    db: Driver, client_as: Callable[..., GraphQLClient], make_token: Callable[..., str], base_url: str
) -> None:
    pipeline = {"Authorization": f"Bearer {make_token('airflow', Role.CONTRIBUTOR)}"}
    response = httpx.post(
        f"{base_url}/api/v1/lineage", json=_lineage_event("2026-01-01T00:00:00Z"), headers=pipeline, timeout=120
    )
    assert response.status_code == 201, response.text
    assert _tags_of(db) == []
    client_as("abe", Role.APPROVER).data(FLAG, {"id": DV_ID})
    assert _tags_of(db) == ["pii"]
    # A later event about the same dataset version leaves the approver's tag in place.
    response = httpx.post(
        f"{base_url}/api/v1/lineage", json=_lineage_event("2026-01-02T00:00:00Z"), headers=pipeline, timeout=120
    )
    assert response.status_code == 201, response.text
    assert _tags_of(db) == ["pii"]
