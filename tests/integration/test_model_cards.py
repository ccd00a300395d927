"""Model cards over GraphQL and HTTP against the real Neo4j: versioned human parts, the document assembled
from the graph (lineage, metrics against the contract, approvals with evidence, deployments, incidents),
and the HTML page."""

from __future__ import annotations

from typing import Any

import httpx
from neo4j import Driver

from lineage_graph.domain.auth import Role
from tests.support import AUDIT_LABELS, GraphQLClient, error_codes, graph_fingerprint, problem_fields

CARD = """
fragment card on ModelCard { name cardVersion status riskRating intendedUses limitations htmlUrl document }
"""


def _arrange(gql: GraphQLClient, client_as: Any) -> str:
    gql.data('mutation { createModelGroup(input: {name: "fraud"}) { name } }')
    gql.data(
        'mutation { setRegistrationContract(group: "fraud", contract: {requiredMetrics: [{name: "auc"}]}) { version } }'
    )
    gql.data(
        """mutation { recordRun(input: {runId: "prep-1", job: {namespace: "airflow", name: "clean"},
          kind: PROCESSING, status: COMPLETED,
          inputDatasets: [{namespace: "s3://lake", name: "raw", version: "1"}],
          outputDatasets: [{namespace: "s3://lake", name: "clean", version: "1"}]}) { runId } }"""
    )
    pipeline = client_as("pipeline", Role.CONTRIBUTOR)
    version = pipeline.data(
        """mutation { registerModelVersion(input: {group: "fraud", artifactUri: "s3://m/1", framework: "xgboost",
          hyperparameters: {max_depth: 6}, metrics: [{name: "auc", value: 0.93, split: "validation"}],
          trainedOnDatasets: [{namespace: "s3://lake", name: "clean", version: "1"}]}) { id } }"""
    )["registerModelVersion"]["id"]
    client_as("bob", Role.APPROVER).data(
        'mutation($id: ID!) { approveModelVersion(id: $id, comment: "meets the bar") { decision { actor } } }',
        {"id": version},
    )
    gql.data(
        'mutation($id: ID!) { createDeployment(input: {endpoint: "fraud-ep", environment: "staging", '
        "modelVersionId: $id, trafficShare: 100}) { id } }",
        {"id": version},
    )
    raw = gql.data('{ datasetVersion(namespace: "s3://lake", name: "raw", version: "1") { id } }')
    gql.data(
        'mutation($id: ID!) { flagDatasetVersion(id: $id, reason: "PII found") { needsReview { version } } }',
        {"id": raw["datasetVersion"]["id"]},
    )
    return str(version)


def test_a_model_card_is_assembled_from_the_graph_and_versioned(
    gql: GraphQLClient, client_as: Any, http: httpx.Client, db: Driver
) -> None:
    version = _arrange(gql, client_as)
    created = gql.data(
        CARD
        + """mutation($id: ID!) { createModelCard(name: "fraud-card", modelVersionId: $id,
          input: {intendedUses: "Score card transactions", limitations: "Not for wire transfers <b>",
                  riskRating: HIGH}) { ...card } }""",
        {"id": version},
    )["createModelCard"]
    assert (created["cardVersion"], created["status"], created["riskRating"]) == (1, "DRAFT", "HIGH")
    doc = created["document"]
    assert doc["model_overview"]["model_name"] == "fraud/1"
    assert doc["intended_uses"]["intended_uses"] == "Score card transactions"
    assert doc["training_details"]["training_job_details"]["training_datasets"] == ["s3://lake/clean@1"]
    assert doc["training_details"]["training_job_details"]["hyper_parameters"] == [{"name": "max_depth", "value": "6"}]
    [metric] = doc["evaluation_details"][0]["metric_groups"][0]["metric_data"]
    assert (metric["name"], metric["value"], metric["required_by_contract"]) == ("auc", 0.93, True)
    gov = doc["governance"]
    assert [(a["actor"], a["to"], a["comment"]) for a in gov["approvals"]] == [("bob", "APPROVED", "meets the bar")]
    assert gov["approvals"][0]["evidence"]["metrics"]
    assert [(d["endpoint"], d["environment"]) for d in gov["deployments"]] == [("fraud-ep", "staging")]
    assert gov["open_incidents"] == ["s3://lake/raw@1"]
    [training] = gov["training_data"]
    assert "s3://lake/raw@1" in training["upstream"]

    updated = gql.data(CARD + 'mutation { updateModelCard(name: "fraud-card", status: APPROVED) { ...card } }')[
        "updateModelCard"
    ]
    assert (updated["cardVersion"], updated["status"], updated["limitations"]) == (
        2,
        "APPROVED",
        "Not for wire transfers <b>",
    )
    versions = gql.data('{ modelCardVersions(name: "fraud-card") { cardVersion status } }')["modelCardVersions"]
    assert versions == [{"cardVersion": 1, "status": "DRAFT"}, {"cardVersion": 2, "status": "APPROVED"}]
    first = gql.data('{ modelCard(name: "fraud-card", cardVersion: 1) { status } }')["modelCard"]
    assert first == {"status": "DRAFT"}
    events = gql.data('{ auditLog(subject: "ModelCard:fraud-card") { edges { node { action } } } }')["auditLog"]
    assert [e["node"]["action"] for e in events["edges"]] == ["model_card.update", "model_card.create"]

    page = http.get(updated["htmlUrl"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Score card transactions" in page.text
    assert "Not for wire transfers &lt;b&gt;" in page.text  # card text is escaped
    assert "<svg" in page.text
    assert "s3://lake/raw@1" in page.text
    assert "<script" not in page.text
    assert "http" not in page.text.split("<body>")[1].replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert http.get("/model-cards/nope").status_code == 404

    before = graph_fingerprint(db, AUDIT_LABELS)
    body = gql.execute(
        'mutation($id: ID!) { createModelCard(name: "fraud-card", modelVersionId: $id, input: {}) { name } }',
        {"id": version},
    )
    assert error_codes(body) == ["ALREADY_EXISTS"]
    body = gql.execute(
        'mutation($id: ID!) { createModelCard(name: "bad name!", modelVersionId: $id, input: {}) { name } }',
        {"id": version},
    )
    assert problem_fields(body) == ["name"]
    assert graph_fingerprint(db, AUDIT_LABELS) == before
    viewer = client_as("vera", Role.VIEWER)
    assert error_codes(viewer.execute('mutation { deleteModelCard(name: "fraud-card") }')) == ["FORBIDDEN"]
    assert gql.data('mutation { deleteModelCard(name: "fraud-card") }')["deleteModelCard"] == 2
    assert gql.data('{ modelCard(name: "fraud-card") { name } }')["modelCard"] is None
