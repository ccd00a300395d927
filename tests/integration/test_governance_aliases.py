"""Aliases under concurrency and protected aliases, over real HTTP against the real Neo4j."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from neo4j import Driver

from lineage_graph.domain.auth import Role
from tests.support import GraphQLClient, bearer, error_codes, graph_counts, problem_fields

SET_ALIAS = """mutation($a: String!, $id: ID!) {
    setModelAlias(modelVersionId: $id, alias: $a) { version aliases } }"""
BY_ALIAS = 'query($a: String!) { modelVersionByAlias(group: "fraud", alias: $a) { version approvalStatus } }'
PROTECT = 'mutation($a: [String!]!) { setProtectedAliases(group: "fraud", aliases: $a) }'
APPROVE = "mutation($id: ID!) { approveModelVersion(id: $id) { modelVersion { approvalStatus } } }"
REJECT = """mutation($id: ID!, $c: String) {
    rejectModelVersion(id: $id, comment: $c) { modelVersion { approvalStatus } } }"""


def _versions(gql: GraphQLClient, count: int) -> list[str]:
    gql.data('mutation { createModelGroup(input: {name: "fraud"}) { name } }')
    register = 'mutation { registerModelVersion(input: {group: "fraud", artifactUri: "s3://m/fraud"}) { id } }'
    return [str(gql.data(register)["registerModelVersion"]["id"]) for _ in range(count)]


def test_an_alias_names_exactly_one_version_under_16_concurrent_moves(
    base_url: str, gql: GraphQLClient, db: Driver, admin_token: str
) -> None:
    ids = _versions(gql, 8)

    def move(i: int) -> int:
        with httpx.Client(base_url=base_url, timeout=60, headers=bearer(admin_token)) as client:
            body = {"query": SET_ALIAS, "variables": {"a": "champion", "id": ids[i % 8]}}
            response = client.post("/graphql", json=body)
            assert not response.json().get("errors"), response.text
            return response.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(move, range(32))) == {200}

    pointers = db.execute_query(
        "MATCH (a:Alias {group: 'fraud', name: 'champion'})-[p:POINTS_TO]->(v) RETURN count(p) AS c, "
        "count(DISTINCT a) AS aliases"
    ).records[0]
    assert (pointers["c"], pointers["aliases"]) == (1, 1)
    listing = gql.data('{ modelVersions(filter: {group: "fraud"}, first: 20) { nodes { version aliases } } }')
    holders = [n["version"] for n in listing["modelVersions"]["nodes"] if "champion" in n["aliases"]]
    assert len(holders) == 1
    assert gql.data(BY_ALIAS, {"a": "champion"})["modelVersionByAlias"]["version"] == holders[0]
    # The moves were serialized: each audit record's `previous` is the version the one before it set.
    moves = db.execute_query(
        "MATCH (e:AuditEvent {action: 'alias.set'}) RETURN e.payload AS p ORDER BY e.partition_sequence"
    ).records
    payloads = [json.loads(r["p"]) for r in moves]
    assert len(payloads) == 32
    assert payloads[0]["previous"] is None
    for before, after in itertools.pairwise(payloads):
        assert after["previous"] == before["version"]
    assert payloads[-1]["version"] == holders[0]


def test_protected_aliases_move_only_by_approvers_onto_approved_versions(
    gql: GraphQLClient, db: Driver, client_as: Callable[..., GraphQLClient]
) -> None:
    v1, v2 = _versions(gql, 2)
    contributor = client_as("carla", Role.CONTRIBUTOR)
    approver = client_as("abe", Role.APPROVER)
    contributor.data(SET_ALIAS, {"a": "champion", "id": v1})  # not protected yet: anyone may

    # Protecting is an admin's decision, audited with the list before and after.
    assert error_codes(approver.execute(PROTECT, {"a": ["champion"]})) == ["FORBIDDEN"]
    assert gql.data(PROTECT, {"a": ["champion", "champion"]})["setProtectedAliases"] == ["champion"]
    assert gql.data('{ protectedAliases(group: "fraud") }')["protectedAliases"] == ["champion"]
    audit = db.execute_query(
        "MATCH (e:AuditEvent {action: 'model_group.protect_aliases'}) RETURN e.actor AS actor, e.payload AS p"
    ).records
    assert [(r["actor"], json.loads(r["p"])) for r in audit] == [("test-admin", {"before": [], "after": ["champion"]})]

    # A protected alias on an unapproved version names nothing.
    assert gql.data(BY_ALIAS, {"a": "champion"})["modelVersionByAlias"] is None

    before = graph_counts(db)
    body = contributor.execute(SET_ALIAS, {"a": "champion", "id": v2})
    assert error_codes(body) == ["FORBIDDEN"]
    assert problem_fields(body) == ["alias"]
    body = approver.execute(SET_ALIAS, {"a": "champion", "id": v2})
    assert error_codes(body) == ["CONFLICT"]
    assert problem_fields(body) == ["modelVersionId"]
    assert error_codes(contributor.execute('mutation { deleteModelAlias(group: "fraud", alias: "champion") }')) == [
        "FORBIDDEN"
    ]
    assert graph_counts(db) == before

    approver.data(APPROVE, {"id": v2})
    moved = approver.data(SET_ALIAS, {"a": "champion", "id": v2})["setModelAlias"]
    assert moved == {"version": 2, "aliases": ["champion"]}
    assert gql.data(BY_ALIAS, {"a": "champion"})["modelVersionByAlias"] == {"version": 2, "approvalStatus": "APPROVED"}
    event = db.execute_query(
        "MATCH (e:AuditEvent {action: 'alias.set'}) RETURN e.actor AS actor, e.payload AS p "
        "ORDER BY e.partition_sequence DESC LIMIT 1"
    ).records[0]
    assert event["actor"] == "abe"
    assert json.loads(event["p"]) == {"alias": "champion", "version": 2, "previous": 1, "protected": True}

    # Revoking the approval: champion no longer names the rejected version.
    approver.data(REJECT, {"id": v2, "c": "leak found"})
    assert gql.data(BY_ALIAS, {"a": "champion"})["modelVersionByAlias"] is None
    # An ordinary alias is still a contributor's pointer, whatever the status.
    contributor.data(SET_ALIAS, {"a": "challenger", "id": v2})
    assert gql.data(BY_ALIAS, {"a": "challenger"})["modelVersionByAlias"]["approvalStatus"] == "REJECTED"
