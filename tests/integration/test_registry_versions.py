"""Model groups and versions over real HTTP against the real Neo4j: registration with lineage, version
numbering under concurrency, client tokens, edits, metrics, aliases, archive — and bad input writes nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from neo4j import Driver

from tests.support import GraphQLClient, error_codes, graph_counts, problem_fields

CREATE_GROUP = (
    """mutation($input: CreateModelGroupInput!) { createModelGroup(input: $input) { id name versionCount } }"""
)
REGISTER = """
mutation($input: RegisterModelVersionInput!) {
  registerModelVersion(input: $input) {
    id version groupName approvalStatus artifactUri hyperparameters customProperties tags aliases
    metrics { name value step split }
    trainedOn { namespace name version }
    producedBy { runId status }
    code { repository commit }
    derivedFrom { version }
  }
}"""


def _group(gql: GraphQLClient, name: str = "fraud-detector") -> None:
    gql.data(CREATE_GROUP, {"input": {"name": name, "description": "Card fraud", "owner": "risk", "tags": ["tabular"]}})


def _register(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload = {"group": "fraud-detector", "artifactUri": "s3://models/fraud/model.tar.gz", **fields}
    return gql.data(REGISTER, {"input": payload})["registerModelVersion"]


def test_register_records_lineage_edges_in_one_go(gql: GraphQLClient, db: Driver) -> None:
    _group(gql)
    first = _register(
        gql,
        hyperparameters={"max_depth": 6, "eta": 0.1},
        metrics=[{"name": "auc", "value": 0.91, "split": "validation"}],
        customProperties={"team": "risk"},
        tags=["xgboost"],
        trainedOnDatasets=[{"namespace": "s3://lake", "name": "transactions", "version": "2024-06-01"}],
        producedBy={"runId": "5b0c8f3e-0000-4000-8000-000000000001"},
        code={"repository": "github.com/acme/fraud", "commit": "a1b2c3d4e5f6"},
    )
    assert first["version"] == 1
    assert first["approvalStatus"] == "PENDING_MANUAL_APPROVAL"
    assert first["hyperparameters"] == {"max_depth": 6, "eta": 0.1}
    assert first["trainedOn"] == [{"namespace": "s3://lake", "name": "transactions", "version": "2024-06-01"}]
    assert first["producedBy"]["runId"] == "5b0c8f3e-0000-4000-8000-000000000001"
    assert first["code"] == [{"repository": "github.com/acme/fraud", "commit": "a1b2c3d4e5f6"}]
    second = _register(gql, derivedFrom=first["id"])
    assert second["version"] == 2
    assert second["derivedFrom"] == {"version": 1}
    edges = {r["t"] for r in db.execute_query("MATCH ()-[r]->() RETURN DISTINCT type(r) AS t").records}
    assert {"IN_GROUP", "INPUT_TO", "OUTPUT", "EXECUTED_BY", "VERSION_OF", "DERIVED_FROM"} <= edges
    audit = db.execute_query("MATCH (e:AuditEvent) RETURN e.action AS a ORDER BY e.at").records
    assert [r["a"] for r in audit] == ["model_group.create", "model_version.register", "model_version.register"]


def test_existing_dataset_ids_and_direct_training_edges(gql: GraphQLClient, db: Driver) -> None:
    _group(gql)
    dv = gql.data("""mutation { registerDatasetVersion(input: {namespace: "s3://lake", name: "tx", version: "v1",
                     digest: "sha256:00112233445566778899aabbccddeeff"}) { id } }""")["registerDatasetVersion"]
    version = _register(gql, trainedOn=[dv["id"]], code={"repository": "git@x:y.git", "commit": "abcdef1"})
    assert version["trainedOn"][0]["version"] == "v1"
    edges = {r["t"] for r in db.execute_query("MATCH ()-[r]->(:ModelVersion) RETURN type(r) AS t").records}
    assert edges == {"TRAINED", "BUILT"}


def test_32_concurrent_registrations_get_versions_1_to_32(base_url: str, gql: GraphQLClient, db: Driver) -> None:
    _group(gql)

    def register(i: int) -> int:
        with httpx.Client(base_url=base_url, timeout=60, headers=gql.http.headers) as client:
            body = client.post(
                "/graphql",
                json={
                    "query": REGISTER,
                    "variables": {"input": {"group": "fraud-detector", "artifactUri": f"s3://models/{i}.tar.gz"}},
                },
            ).json()
            assert not body.get("errors"), body
            return int(body["data"]["registerModelVersion"]["version"])

    with ThreadPoolExecutor(max_workers=32) as pool:
        versions = list(pool.map(register, range(32)))
    assert sorted(versions) == list(range(1, 33))
    stored = db.execute_query("MATCH (v:ModelVersion {group: 'fraud-detector'}) RETURN v.version AS n").records
    assert sorted(r["n"] for r in stored) == list(range(1, 33))


def test_client_token_makes_retries_idempotent(base_url: str, gql: GraphQLClient, db: Driver) -> None:
    _group(gql)

    def register(i: int) -> int:
        token = f"token-{i // 2}"  # pairs of clients send the same request with the same token
        with httpx.Client(base_url=base_url, timeout=60, headers=gql.http.headers) as client:
            body = client.post(
                "/graphql",
                json={
                    "query": REGISTER,
                    "variables": {
                        "input": {
                            "group": "fraud-detector",
                            "artifactUri": f"s3://models/{token}.tar.gz",
                            "clientToken": token,
                        }
                    },
                },
            ).json()
            assert not body.get("errors"), body
            return int(body["data"]["registerModelVersion"]["version"])

    with ThreadPoolExecutor(max_workers=32) as pool:
        versions = list(pool.map(register, range(32)))
    assert sorted(set(versions)) == list(range(1, 17))
    for pair in range(16):
        assert versions[2 * pair] == versions[2 * pair + 1]
    count = db.execute_query("MATCH (v:ModelVersion) RETURN count(v) AS c").records[0]["c"]
    assert count == 16


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"group": "no-such-group"}, "group", "NOT_FOUND"),
        ({"artifactUri": "ftp://models/x"}, "artifactUri", "VALIDATION_FAILED"),
        ({"artifactDigest": "md5-nope"}, "artifactDigest", "VALIDATION_FAILED"),
        ({"hyperparameters": [1, 2]}, "hyperparameters", "VALIDATION_FAILED"),
        ({"hyperparameters": {"blob": "x" * 70000}}, "hyperparameters", "VALIDATION_FAILED"),
        ({"customProperties": {"k": 1}}, "customProperties.k", "VALIDATION_FAILED"),
        ({"customProperties": {f"k{i}": "v" for i in range(51)}}, "customProperties", "VALIDATION_FAILED"),
        ({"tags": ["has space"]}, "tags[0]", "VALIDATION_FAILED"),
        ({"trainedOn": ["bm90LWFuLWlk"]}, "trainedOn[0]", "VALIDATION_FAILED"),
        ({"code": {"repository": "r", "commit": "not-hex!"}}, "code.commit", "VALIDATION_FAILED"),
        (
            {"metrics": [{"name": "auc", "value": 0.9}, {"name": "auc", "value": 0.8}]},
            "metrics[1]",
            "VALIDATION_FAILED",
        ),
        ({"description": "d" * 1025}, "description", "VALIDATION_FAILED"),
    ],
)
def test_bad_registration_names_the_field_and_writes_nothing(
    gql: GraphQLClient, db: Driver, fields: dict[str, Any], field: str, code: str
) -> None:
    _group(gql)
    before = graph_counts(db)
    payload = {"group": "fraud-detector", "artifactUri": "s3://models/m.tar.gz", **fields}
    body = gql.execute(REGISTER, {"input": payload})
    assert error_codes(body) == [code], body
    assert field in problem_fields(body)
    assert graph_counts(db) == before


def test_unknown_referenced_ids_are_refused(gql: GraphQLClient, db: Driver) -> None:
    _group(gql)
    v1 = _register(gql)
    dv_id = "WyJEYXRhc2V0VmVyc2lvbiIsIm5zIiwibmFtZSIsIjEiXQ"  # a well-formed id of a missing node
    missing_parent = v1["id"].replace(v1["id"], "WyJNb2RlbFZlcnNpb24iLCJmcmF1ZC1kZXRlY3RvciIsOTld")
    before = graph_counts(db)
    body = gql.execute(
        REGISTER,
        {
            "input": {
                "group": "fraud-detector",
                "artifactUri": "s3://m/x",
                "trainedOn": [dv_id],
                "derivedFrom": missing_parent,
            }
        },
    )
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert set(problem_fields(body)) == {"trainedOn[0]", "derivedFrom"}
    assert graph_counts(db) == before
    # the rolled-back attempt consumed no number
    assert _register(gql)["version"] == 2


def test_bad_group_names_and_duplicates(gql: GraphQLClient, db: Driver) -> None:
    for bad in ["", "-lead", "trail-", "has_underscore", "x" * 64]:
        body = gql.execute(CREATE_GROUP, {"input": {"name": bad}})
        assert error_codes(body) == ["VALIDATION_FAILED"], bad
        assert problem_fields(body) == ["name"]
    _group(gql)
    body = gql.execute(CREATE_GROUP, {"input": {"name": "fraud-detector"}})
    assert error_codes(body) == ["ALREADY_EXISTS"]
    assert db.execute_query("MATCH (g:ModelGroup) RETURN count(g) AS c").records[0]["c"] == 1


def test_edits_metrics_archive_and_restore(gql: GraphQLClient, db: Driver) -> None:
    _group(gql)
    v = _register(gql, metrics=[{"name": "auc", "value": 0.9, "split": "validation"}], customProperties={"a": "1"})
    updated = gql.data(
        """mutation($id: ID!) { updateModelVersion(id: $id, input: {description: "tuned",
        tags: ["prod-candidate"], customProperties: {b: "2"}}) { description tags customProperties } }""",
        {"id": v["id"]},
    )["updateModelVersion"]
    assert updated == {"description": "tuned", "tags": ["prod-candidate"], "customProperties": {"a": "1", "b": "2"}}

    add = """mutation($id: ID!, $m: [MetricInput!]!) { addModelVersionMetrics(id: $id, metrics: $m) {
             metrics { name value split } } }"""
    added = gql.data(add, {"id": v["id"], "m": [{"name": "auc", "value": 0.88, "split": "test"}]})
    assert {(m["split"], m["value"]) for m in added["addModelVersionMetrics"]["metrics"]} == {
        ("validation", 0.9),
        ("test", 0.88),
    }
    # replaying the same value is a no-op; a different value for the same key is refused, nothing written
    gql.data(add, {"id": v["id"], "m": [{"name": "auc", "value": 0.88, "split": "test"}]})
    before = graph_counts(db)
    body = gql.execute(add, {"id": v["id"], "m": [{"name": "auc", "value": 0.5, "split": "validation"}]})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert "never overwritten" in body["errors"][0]["message"]
    assert graph_counts(db) == before

    archived = gql.data("mutation($id: ID!) { archiveModelVersion(id: $id) { archived } }", {"id": v["id"]})
    assert archived["archiveModelVersion"]["archived"] is True
    latest = gql.data('{ latestModelVersion(group: "fraud-detector") { version } }')
    assert latest["latestModelVersion"] is None
    gql.data("mutation($id: ID!) { restoreModelVersion(id: $id) { archived } }", {"id": v["id"]})
    assert gql.data('{ latestModelVersion(group: "fraud-detector") { version } }')["latestModelVersion"] == {
        "version": 1
    }


def test_aliases_move_atomically_and_stay_in_their_group(gql: GraphQLClient, db: Driver) -> None:
    _group(gql)
    _group(gql, "other-group")
    v1, v2 = _register(gql), _register(gql)
    other = gql.data(REGISTER, {"input": {"group": "other-group", "artifactUri": "s3://o/m"}})["registerModelVersion"]
    set_alias = """mutation($a: String!, $id: ID!) {
        setModelAlias(modelVersionId: $id, alias: $a) { version aliases } }"""
    assert gql.data(set_alias, {"a": "champion", "id": v1["id"]})["setModelAlias"] == {
        "version": 1,
        "aliases": ["champion"],
    }
    gql.data(set_alias, {"a": "champion", "id": v2["id"]})
    by_alias = gql.data('{ modelVersionByAlias(group: "fraud-detector", alias: "champion") { version } }')
    assert by_alias["modelVersionByAlias"] == {"version": 2}
    pointers = db.execute_query("MATCH (:Alias {name: 'champion'})-[r:POINTS_TO]->() RETURN count(r) AS c").records
    assert pointers[0]["c"] == 1

    # The version's id names its group: the same alias name in another group is another alias.
    gql.data(set_alias, {"a": "champion", "id": other["id"]})
    by_alias = gql.data('{ modelVersionByAlias(group: "fraud-detector", alias: "champion") { version } }')
    assert by_alias["modelVersionByAlias"] == {"version": 2}

    before = graph_counts(db)
    body = gql.execute(set_alias, {"a": "champion", "id": "not-an-id"})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_fields(body) == ["modelVersionId"]
    body = gql.execute(set_alias, {"a": "latest", "id": v1["id"]})
    assert problem_fields(body) == ["alias"]
    assert graph_counts(db) == before
