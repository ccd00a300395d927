"""Every refusal is typed: documents that fail GraphQL validation, malformed global ids, bad OpenLineage
times — each with a code a client can branch on, naming the field, and nothing written."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from neo4j import Driver

from tests.support import GraphQLClient, error_codes, graph_counts, problem_fields


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        ("{ modelVersions(filter: {approvalStatus: MAYBE}) { totalCount } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        ("{ modelGroups { nodes { colour } } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        ("{ modelVersions(first: 99999999999) { totalCount } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int) { modelVersions(first: $n) { totalCount } }", {"n": 2**40}, "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($s: ApprovalStatus) { modelVersions(filter: {approvalStatus: $s}) { totalCount } }",
            {"s": "NO"},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("{ modelGroups { nodes { name }", {}, "GRAPHQL_PARSE_FAILED"),
    ],
)
def test_documents_that_fail_validation_carry_a_code(
    gql: GraphQLClient, document: str, variables: dict[str, object], code: str
) -> None:
    body = gql.http.post("/graphql", json={"query": document, "variables": variables}).json()
    assert body["errors"], body
    assert {e["extensions"]["code"] for e in body["errors"]} == {code}, body


def _raw_id(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def test_a_malformed_global_id_is_a_validation_error_naming_the_field(gql: GraphQLClient, db: Driver) -> None:
    gql.data('mutation { createModelGroup(input: {name: "fraud"}) { name } }')
    before = graph_counts(db)
    for bad in (_raw_id("ModelVersion", "fraud", "seven"), _raw_id("ModelVersion", "fraud"), "%%%", _raw_id("Nope", 1)):
        body = gql.execute("query($id: ID!) { node(id: $id) { id } }", {"id": bad})
        assert error_codes(body) == ["VALIDATION_FAILED"], body
        assert problem_fields(body) == ["id"]
        body = gql.execute("mutation($id: ID!) { archiveModelVersion(id: $id) { archived } }", {"id": bad})
        assert error_codes(body) == ["VALIDATION_FAILED"], body
    assert graph_counts(db) == before


def test_an_openlineage_time_that_is_not_a_date_names_its_path(http: httpx.Client, db: Driver) -> None:
    event = {
        "eventType": "START",
        "eventTime": "yesterday",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "3f5e1c2a-8d4b-4f0e-9c1a-2b3c4d5e6f70"},
        "job": {"namespace": "airflow", "name": "etl"},
    }
    before = graph_counts(db)
    response = http.post("/api/v1/lineage", json=event)
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert [p["field"] for p in problems] == ["eventTime"]
    assert "'yesterday' is not an ISO 8601 date-time" in problems[0]["message"]
    assert "int()" not in problems[0]["message"]
    assert graph_counts(db) == before
