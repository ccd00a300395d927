"""What a frontend relies on: `nodes(ids:)`, navigation from a group, the cost limit, CORS, and how long a
revoked token can still be served from the per-process token cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM, Role, hash_token
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.services.auth import AuthService
from lineage_graph.store.graph import Neo4jGraph
from tests.conftest import TokenFactory
from tests.support import GraphQLClient, bearer, error_codes, live_server, problem_fields

REGISTER = "mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { id version } }"


def _group_with_versions(gql: GraphQLClient, name: str, count: int) -> list[str]:
    gql.data("mutation($n: String!) { createModelGroup(input: {name: $n}) { name } }", {"n": name})
    return [
        gql.data(REGISTER, {"input": {"group": name, "artifactUri": f"s3://m/{name}/{i}"}})["registerModelVersion"][
            "id"
        ]
        for i in range(count)
    ]


def test_nodes_answers_every_id_in_order_with_null_for_a_missing_one(gql: GraphQLClient, db: Driver) -> None:
    ids = _group_with_versions(gql, "fraud", 3)
    group_id = gql.data('{ modelGroup(name: "fraud") { id } }')["modelGroup"]["id"]
    missing = NodeRef.of(NodeKind.MODEL_VERSION, "fraud", 99).global_id
    body = gql.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on ModelVersion { version } } }",
        {"ids": [ids[2], group_id, ids[0]]},
    )
    assert [n["__typename"] for n in body["nodes"]] == ["ModelVersion", "ModelGroup", "ModelVersion"]
    assert [n.get("version") for n in body["nodes"]] == [3, None, 1]
    gone = gql.data("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [ids[1], missing]})
    assert gone["nodes"][0] == {"id": ids[1]}
    assert gone["nodes"][1] is None
    bad = gql.execute('{ nodes(ids: ["not-an-id"]) { id } }')
    assert problem_fields(bad) == ["ids[0]"]


def test_a_group_page_navigates_to_its_versions_latest_version_and_deployments(gql: GraphQLClient, db: Driver) -> None:
    ids = _group_with_versions(gql, "churn", 5)
    gql.data(
        "mutation($id: ID!) { createDeployment(input: {modelVersionId: $id, endpoint: 'churn-staging', "
        "environment: 'staging', trafficShare: 100}) { deploymentId } }".replace("'", '"'),
        {"id": ids[3]},
    )
    group = gql.data(
        """{ modelGroup(name: "churn") {
            latestVersion { version }
            versions(first: 2) { totalCount pageInfo { hasNextPage endCursor } nodes { version } }
            oldestFirst: versions(first: 2, direction: ASC) { nodes { version } }
            deployments { totalCount nodes { endpoint modelVersion { version } } } } }"""
    )["modelGroup"]
    assert group["latestVersion"] == {"version": 5}
    assert group["versions"]["totalCount"] == 5
    assert [v["version"] for v in group["versions"]["nodes"]] == [5, 4]
    assert group["versions"]["pageInfo"]["hasNextPage"] is True
    assert [v["version"] for v in group["oldestFirst"]["nodes"]] == [1, 2]
    assert group["deployments"] == {
        "totalCount": 1,
        "nodes": [{"endpoint": "churn-staging", "modelVersion": {"version": 4}}],
    }
    after = gql.data(
        'query($after: String) { modelGroup(name: "churn") { versions(first: 2, after: $after) { '
        "nodes { version } } } }",
        {"after": group["versions"]["pageInfo"]["endCursor"]},
    )
    assert [v["version"] for v in after["modelGroup"]["versions"]["nodes"]] == [3, 2]
    for first in (0, 101):
        body = gql.execute("query($f: Int) { modelVersions(first: $f) { totalCount } }", {"f": first})
        assert error_codes(body) == ["VALIDATION_FAILED"]
        assert body["errors"][0]["extensions"]["problems"][0]["code"] == "OUT_OF_RANGE"


def test_a_query_over_the_cost_limit_is_refused_before_anything_runs(gql: GraphQLClient, db: Driver) -> None:
    nested = """{ modelGroups(first: 100) { nodes { versions(first: 100) { nodes { lineage { root } } } } } }"""
    body = gql.execute(nested)
    assert body["data"] is None
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert body["errors"][0]["extensions"]["problems"][0]["code"] == "COST_LIMIT"
    assert "estimated cost" in body["errors"][0]["message"]
    # a page of versions, each with its lineage, is well within the limit
    assert gql.data("{ modelVersions(first: 100) { nodes { lineage { root } } } }")["modelVersions"]["nodes"] == []


def test_cors_answers_allowed_origins_only_and_is_off_by_default(settings: Settings, base_url: str, db: Driver) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    # Off by default: no CORS headers, the preflight is not answered for any origin.
    refused = httpx.options(f"{base_url}/graphql", headers={**preflight, "Origin": "http://ui.example"})
    assert refused.status_code == 405
    assert "access-control-allow-origin" not in refused.headers
    allowed = settings.model_copy(update={"cors_origins": "http://ui.example, http://localhost:5173"})
    with live_server(allowed) as url:
        ok = httpx.options(f"{url}/graphql", headers={**preflight, "Origin": "http://ui.example"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "http://ui.example"
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        other = httpx.options(f"{url}/graphql", headers={**preflight, "Origin": "http://evil.example"})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
        # The actual request still needs its token; the CORS headers come with the refusal too.
        answer = httpx.post(
            f"{url}/graphql", json={"query": "{ me { name } }"}, headers={"Origin": "http://ui.example"}
        )
        assert error_codes(answer.json()) == ["UNAUTHENTICATED"]
        assert answer.headers["access-control-allow-origin"] == "http://ui.example"


def test_a_token_revoked_elsewhere_stops_working_within_the_cache_ttl(
    settings: Settings, make_token: TokenFactory, db: Driver
) -> None:
    secret = make_token("pipeline", Role.VIEWER)
    token_id = db.execute_query(
        "MATCH (t:ApiToken {token_hash: $h}) RETURN t.token_id AS id", h=hash_token(secret)
    ).records[0]["id"]
    ttl = 1.0
    with live_server(settings.model_copy(update={"token_cache_seconds": ttl})) as url:
        me = {"query": "{ me { name } }"}
        assert httpx.post(f"{url}/graphql", json=me, headers=bearer(secret)).status_code == 200

        async def revoke_through_another_instance() -> None:
            graph = Neo4jGraph.connect(graph_settings(settings))
            try:
                await AuthService(graph).revoke_token(SYSTEM, token_id)
            finally:
                await graph.close()

        asyncio.run(revoke_through_another_instance())
        revoked_at = time.monotonic()
        statuses: list[int] = []
        while not statuses or time.monotonic() - revoked_at < ttl + 1.0:
            statuses.append(httpx.post(f"{url}/graphql", json=me, headers=bearer(secret)).status_code)
            time.sleep(0.1)
        assert statuses[-1] == 401, statuses
        # once refused, never accepted again
        assert statuses == sorted(statuses), statuses


def test_a_version_lists_its_decisions_and_each_decision_is_refetchable(
    gql: GraphQLClient, client_as: Callable[..., GraphQLClient], db: Driver
) -> None:
    [version_id] = _group_with_versions(gql, "ranker", 1)
    reviewer = client_as("reviewer", Role.APPROVER)
    approved = reviewer.data(
        'mutation($id: ID!) { approveModelVersion(id: $id, comment: "looks good") { decision { id } } }',
        {"id": version_id},
    )["approveModelVersion"]["decision"]
    history = gql.data(
        "query($id: ID!) { node(id: $id) { ... on ModelVersion { approvalHistory { id actor toStatus comment } } } }",
        {"id": version_id},
    )["node"]["approvalHistory"]
    assert history == [{"id": approved["id"], "actor": "reviewer", "toStatus": "APPROVED", "comment": "looks good"}]
    root = gql.data("query($id: ID!) { approvalHistory(id: $id) { id actor toStatus comment } }", {"id": version_id})
    assert root["approvalHistory"] == history
    again = gql.data(
        "query($id: ID!) { node(id: $id) { __typename id ... on ApprovalDecision { actor decision } } }",
        {"id": approved["id"]},
    )["node"]
    assert again == {"__typename": "ApprovalDecision", "id": approved["id"], "actor": "reviewer", "decision": "APPROVE"}


def test_a_group_lists_its_aliases_with_protection_and_its_approval_policy(
    gql: GraphQLClient, client_as: Callable[..., GraphQLClient], db: Driver
) -> None:
    v1, v2 = _group_with_versions(gql, "scorer", 2)
    gql.data('mutation { setProtectedAliases(group: "scorer", aliases: ["champion", "prod"]) }')
    reviewer = client_as("reviewer", Role.APPROVER)
    reviewer.data("mutation($id: ID!) { approveModelVersion(id: $id) { decision { id } } }", {"id": v1})
    gql.data(
        'mutation { setApprovalPolicy(group: "scorer", policy: {requireTrainingData: true, '
        'requiredMetrics: [{name: "auc", operator: ">=", threshold: 0.8}]}) { minApprovers } }'
    )
    alias = "mutation($id: ID!, $a: String!) { setModelAlias(modelVersionId: $id, alias: $a) { version } }"
    reviewer.data(alias, {"id": v1, "a": "champion"})
    gql.data(alias, {"id": v2, "a": "challenger"})
    group = gql.data(
        """{ modelGroup(name: "scorer") {
             aliases { name protected version modelVersion { id } }
             approvalPolicy { requireTrainingData requiredMetrics { name operator threshold } } } }"""
    )["modelGroup"]
    assert group["aliases"] == [
        {"name": "challenger", "protected": False, "version": 2, "modelVersion": {"id": v2}},
        {"name": "champion", "protected": True, "version": 1, "modelVersion": {"id": v1}},
        {"name": "prod", "protected": True, "version": None, "modelVersion": None},
    ]
    assert group["approvalPolicy"] == {
        "requireTrainingData": True,
        "requiredMetrics": [{"name": "auc", "operator": ">=", "threshold": 0.8}],
    }
    # Many groups on one page: the aliases and the policies of all of them come in one batch each.
    _group_with_versions(gql, "ranker", 1)
    page = gql.data("{ modelGroups { nodes { name aliases { name } approvalPolicy { fourEyes } } } }")
    assert [(g["name"], len(g["aliases"]), g["approvalPolicy"]) for g in page["modelGroups"]["nodes"]] == [
        ("ranker", 0, {"fourEyes": True}),
        ("scorer", 3, {"fourEyes": True}),
    ]


def test_audit_events_are_refetchable_nodes_and_the_log_counts_what_it_matches(
    gql: GraphQLClient, client_as: Callable[..., GraphQLClient], db: Driver
) -> None:
    _group_with_versions(gql, "fraud", 3)
    log = """query($action: String, $first: Int) { auditLog(action: $action, first: $first) {
               totalCount nodes { id action subject } pageInfo { hasNextPage } } }"""
    page = gql.data(log, {"action": "model_version.register", "first": 2})["auditLog"]
    assert page["totalCount"] == 3
    assert len(page["nodes"]) == 2
    assert page["pageInfo"]["hasNextPage"] is True
    everything = gql.data(log)["auditLog"]["totalCount"]
    assert everything == db.execute_query("MATCH (e:AuditEvent) RETURN count(e) AS c").records[0]["c"]
    assert everything > 3  # the group's creation is audited too

    first = page["nodes"][0]
    again = gql.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on AuditEvent { action subject } } }",
        {"ids": [first["id"]]},
    )["nodes"]
    assert again == [{"__typename": "AuditEvent", **first}]
    # The log is for reviewers: a viewer cannot refetch an event by id either.
    viewer = client_as("someone", Role.VIEWER).execute("query($id: ID!) { node(id: $id) { id } }", {"id": first["id"]})
    assert error_codes(viewer) == ["FORBIDDEN"]
