"""Datasets, runs, code and deployments over real HTTP: replays converge, traffic never exceeds 100%."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from neo4j import Driver

from tests.support import GraphQLClient, error_codes, graph_counts, problem_fields

RECORD_RUN = """
mutation($input: RecordRunInput!) {
  recordRun(input: $input) { id runId status kind job { namespace name } inputs { name version }
                             outputs { name version } code { commit } parameters }
}"""


def _run_input(**extra: Any) -> dict[str, Any]:
    return {
        "runId": "run-1",
        "job": {"namespace": "airflow", "name": "clean_transactions"},
        "kind": "PROCESSING",
        "status": "COMPLETED",
        "parameters": {"threshold": "0.5"},
        "inputDatasets": [{"namespace": "s3://lake", "name": "raw", "version": "2024-06-01"}],
        "outputDatasets": [{"namespace": "s3://lake", "name": "clean", "version": "2024-06-01"}],
        "code": {"repository": "github.com/acme/etl", "commit": "0123456789ab"},
        **extra,
    }


def test_record_run_replay_creates_nothing_new(gql: GraphQLClient, db: Driver) -> None:
    run = gql.data(RECORD_RUN, {"input": _run_input()})["recordRun"]
    assert run["job"] == {"namespace": "airflow", "name": "clean_transactions"}
    assert run["inputs"] == [{"name": "raw", "version": "2024-06-01"}]
    assert run["outputs"] == [{"name": "clean", "version": "2024-06-01"}]
    assert run["parameters"] == {"threshold": "0.5"}
    nodes, rels = graph_counts(db)
    audit = db.execute_query("MATCH (e:AuditEvent) RETURN count(e) AS c").records[0]["c"]
    gql.data(RECORD_RUN, {"input": _run_input()})
    # the replay appends only its audit event (and the chain link), nothing else
    assert graph_counts(db) == (nodes + 1, rels)
    assert db.execute_query("MATCH (e:AuditEvent) RETURN count(e) AS c").records[0]["c"] == audit + 1


def test_concurrent_dataset_registrations_never_duplicate(base_url: str, gql: GraphQLClient, db: Driver) -> None:
    query = """mutation { registerDatasetVersion(input: {namespace: "s3://lake", name: "shared",
               version: "v1", uri: "s3://lake/shared/v1"}) { id } }"""

    def register(_: int) -> str:
        with httpx.Client(base_url=base_url, timeout=60, headers=gql.http.headers) as client:
            body = client.post("/graphql", json={"query": query}).json()
            assert not body.get("errors"), body
            return str(body["data"]["registerDatasetVersion"]["id"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = set(pool.map(register, range(16)))
    assert len(ids) == 1
    counts = db.execute_query(
        "MATCH (d:Dataset) WITH count(d) AS ds MATCH (v:DatasetVersion) RETURN ds, count(v) AS vs"
    ).records[0]
    assert (counts["ds"], counts["vs"]) == (1, 1)


def test_run_with_unknown_input_id_and_bad_times_writes_nothing(gql: GraphQLClient, db: Driver) -> None:
    before = graph_counts(db)
    body = gql.execute(
        RECORD_RUN,
        {
            "input": _run_input(
                inputs=["WyJEYXRhc2V0VmVyc2lvbiIsIm5zIiwibWlzc2luZyIsIjEiXQ"],
                startedAt="2024-06-02T00:00:00Z",
                endedAt="2024-06-01T00:00:00Z",
            )
        },
    )
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert "endedAt" in problem_fields(body)
    assert graph_counts(db) == before
    body = gql.execute(RECORD_RUN, {"input": _run_input(inputs=["WyJEYXRhc2V0VmVyc2lvbiIsIm5zIiwibWlzc2luZyIsIjEiXQ"])})
    assert problem_fields(body) == ["inputs[0]"]
    assert graph_counts(db) == before


def test_dataset_version_digest_conflict_is_refused(gql: GraphQLClient, db: Driver) -> None:
    register = """mutation($d: String) { registerDatasetVersion(input: {namespace: "s3://lake", name: "t",
                  version: "1", digest: $d}) { digest } }"""
    gql.data(register, {"d": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    before = graph_counts(db)
    body = gql.execute(register, {"d": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_fields(body) == ["digest"]
    assert graph_counts(db) == before


def _deployable_version(gql: GraphQLClient) -> str:
    gql.data('mutation { createModelGroup(input: {name: "ranker"}) { name } }')
    return str(
        gql.data('mutation { registerModelVersion(input: {group: "ranker", artifactUri: "s3://m/r"}) { id } }')[
            "registerModelVersion"
        ]["id"]
    )


DEPLOY = """mutation($input: CreateDeploymentInput!) { createDeployment(input: $input) {
    id endpoint environment trafficShare status modelVersion { version } } }"""


def test_traffic_shares_never_exceed_100(gql: GraphQLClient, db: Driver) -> None:
    v1 = _deployable_version(gql)
    v2 = str(
        gql.data('mutation { registerModelVersion(input: {group: "ranker", artifactUri: "s3://m/r2"}) { id } }')[
            "registerModelVersion"
        ]["id"]
    )
    first = gql.data(
        DEPLOY, {"input": {"endpoint": "ranker-ep", "environment": "staging", "modelVersionId": v1, "trafficShare": 70}}
    )["createDeployment"]
    assert first["status"] == "ACTIVE"
    before = graph_counts(db)
    body = gql.execute(
        DEPLOY, {"input": {"endpoint": "ranker-ep", "environment": "staging", "modelVersionId": v2, "trafficShare": 40}}
    )
    assert error_codes(body) == ["CONFLICT"]
    assert problem_fields(body) == ["trafficShare"]
    assert graph_counts(db) == before
    gql.data(
        DEPLOY, {"input": {"endpoint": "ranker-ep", "environment": "staging", "modelVersionId": v2, "trafficShare": 30}}
    )
    retired = gql.data("mutation($id: ID!) { retireDeployment(id: $id) { status retiredAt } }", {"id": first["id"]})
    assert retired["retireDeployment"]["status"] == "RETIRED"
    history = gql.data('{ deployments(filter: {endpoint: "ranker-ep"}) { totalCount nodes { status } } }')
    assert history["deployments"]["totalCount"] == 2
    active = gql.data('{ deployments(filter: {endpoint: "ranker-ep", status: ACTIVE}) { totalCount } }')
    assert active["deployments"]["totalCount"] == 1


def test_concurrent_deployments_respect_the_cap(base_url: str, gql: GraphQLClient, db: Driver) -> None:
    _deployable_version(gql)
    ids = []
    for i in range(8):
        created = gql.data(
            f'mutation {{ registerModelVersion(input: {{group: "ranker", artifactUri: "s3://m/{i}"}}) {{ id }} }}'
        )
        ids.append(created["registerModelVersion"]["id"])

    def deploy(version_id: str) -> bool:
        with httpx.Client(base_url=base_url, timeout=60, headers=gql.http.headers) as client:
            body = client.post(
                "/graphql",
                json={
                    "query": DEPLOY,
                    "variables": {
                        "input": {
                            "endpoint": "busy",
                            "environment": "staging",
                            "modelVersionId": version_id,
                            "trafficShare": 30,
                        }
                    },
                },
            ).json()
            return not body.get("errors")

    with ThreadPoolExecutor(max_workers=8) as pool:
        accepted = sum(pool.map(deploy, ids))
    assert accepted == 3
    total = db.execute_query(
        "MATCH (d:Deployment {endpoint: 'busy', status: 'ACTIVE'}) RETURN sum(d.traffic_share) AS s"
    ).records[0]["s"]
    assert total == 90


def test_bad_deployment_input(gql: GraphQLClient, db: Driver) -> None:
    v1 = _deployable_version(gql)
    before = graph_counts(db)
    body = gql.execute(
        DEPLOY, {"input": {"endpoint": "e", "environment": "Bad Env", "modelVersionId": v1, "trafficShare": 120}}
    )
    assert set(problem_fields(body)) == {"environment", "trafficShare"}
    body = gql.execute(DEPLOY, {"input": {"endpoint": "e", "environment": "production", "modelVersionId": v1}})
    assert error_codes(body) == ["CONFLICT"]
    assert "APPROVED" in body["errors"][0]["message"]
    assert graph_counts(db) == before
