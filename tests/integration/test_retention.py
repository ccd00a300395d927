"""Retention against the real Neo4j: a dry run over GraphQL lists exactly what the CLI run then archives,
in batches with one audit event per version; what is deployed or aliased stays; archived versions keep their
lineage and drop out of default listings."""

from __future__ import annotations

from typing import Any

import pytest
from neo4j import Driver

from lineage_graph.cli import main
from lineage_graph.config import Settings
from tests.support import AUDIT_LABELS, GraphQLClient, error_codes, graph_fingerprint, problem_fields

GROUP = "churn"
REGISTER = """
mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { id version } }"""
DRY_RUN = """
mutation { runRetention(group: "churn") { group dryRun planned { version reasons } archived } }"""


def _register(gql: GraphQLClient, n: int) -> list[str]:
    gql.data('mutation { createModelGroup(input: {name: "churn"}) { name } }')
    ids = []
    for i in range(n):
        spec = {"namespace": "s3://lake", "name": "events", "version": str(i)}
        created = gql.data(
            REGISTER, {"input": {"group": GROUP, "artifactUri": f"s3://m/{i}", "trainedOnDatasets": [spec]}}
        )
        ids.append(created["registerModelVersion"]["id"])
    return ids


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    monkeypatch.setenv("NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("NEO4J_PASSWORD", settings.neo4j_password)
    monkeypatch.setenv("LINEAGE_GRAPH_DATA_DIR", str(settings.data_dir))


def test_dry_run_lists_exactly_what_the_run_archives(
    gql: GraphQLClient, db: Driver, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _register(gql, 7)
    gql.data(
        'mutation($id: ID!) { setModelAlias(modelVersionId: $id, alias: "champion") { version } }',
        {"id": ids[0]},
    )
    gql.data(
        'mutation($id: ID!) { createDeployment(input: {endpoint: "churn-ep", environment: "staging", '
        "modelVersionId: $id, trafficShare: 100}) { id } }",
        {"id": ids[1]},
    )
    gql.data('mutation($id: ID!) { setModelVersionStage(id: $id, stage: "Staging") { stage } }', {"id": ids[6]})
    # Version 3 is old: the age rule picks it too (it is beyond the last 2 of Development as well).
    db.execute_query(
        "MATCH (v:ModelVersion {group: 'churn', version: 3}) SET v.created_at = datetime() - duration({days: 90})"
    )
    gql.data(
        'mutation { setRetentionPolicy(group: "churn", policy: {keepLastPerStage: 2, archiveOlderThanDays: 30}) '
        "{ keepLastPerStage } }"
    )
    before = graph_fingerprint(db)
    dry = gql.data(DRY_RUN)["runRetention"]
    assert graph_fingerprint(db) == before  # a dry run writes nothing, not even an audit event
    planned = [(p["version"], p["reasons"]) for p in dry[0]["planned"]]
    assert planned == [
        (
            3,
            ["beyond the last 2 in stage Development", "older than 30 days and neither approved, aliased nor deployed"],
        ),
        (4, ["beyond the last 2 in stage Development"]),
    ]
    assert dry[0]["archived"] == []

    capsys.readouterr()
    assert main(["retention", "run", "--dry-run"]) == 0
    assert "churn: would archive 2 version(s)" in capsys.readouterr().out
    assert main(["retention", "run", "--batch-size", "1"]) == 0
    assert "churn: archived 2 version(s)" in capsys.readouterr().out

    live = gql.data('{ modelVersions(filter: {group: "churn"}) { edges { node { version } } } }')
    assert [e["node"]["version"] for e in live["modelVersions"]["edges"]] == [1, 2, 5, 6, 7]
    archived = gql.data('{ modelVersions(filter: {group: "churn", archived: true}) { edges { node { version } } } }')
    assert [e["node"]["version"] for e in archived["modelVersions"]["edges"]] == [3, 4]
    kept = gql.data('{ modelVersion(group: "churn", version: 3) { archived trainedOn { version } } }')
    assert kept["modelVersion"] == {"archived": True, "trainedOn": [{"version": "2"}]}
    events = gql.data('{ auditLog(action: "model_version.archive") { edges { node { actor subject payload } } } }')[
        "auditLog"
    ]["edges"]
    assert sorted(e["node"]["subject"] for e in events) == ["ModelVersion:churn/3", "ModelVersion:churn/4"]
    assert all(e["node"]["payload"]["by"] == "retention" for e in events)
    # Nothing is left to do: running again archives nothing.
    assert gql.data(DRY_RUN)["runRetention"][0]["planned"] == []


@pytest.mark.parametrize(
    ("policy", "field"),
    [({"keepLastPerStage": -1}, "keepLastPerStage"), ({"archiveOlderThanDays": 0}, "archiveOlderThanDays")],
)
def test_nonsensical_retention_rules_are_refused(
    gql: GraphQLClient, db: Driver, policy: dict[str, Any], field: str
) -> None:
    gql.data('mutation { createModelGroup(input: {name: "churn"}) { name } }')
    before = graph_fingerprint(db, AUDIT_LABELS)
    body = gql.execute(
        'mutation($p: RetentionPolicyInput!) { setRetentionPolicy(group: "churn", policy: $p) { keepLastPerStage } }',
        {"p": policy},
    )
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_fields(body) == [field]
    assert graph_fingerprint(db, AUDIT_LABELS) == before
