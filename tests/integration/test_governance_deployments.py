"""Deployments are governed per group: retiring one takes the same group-scoped permission as deploying it."""

from __future__ import annotations

from collections.abc import Callable

from neo4j import Driver

from lineage_graph.domain.auth import Role
from tests.support import GraphQLClient, error_codes, graph_counts

DEPLOY = """mutation($id: ID!) { createDeployment(input: {endpoint: "fraud-ep", environment: "staging",
    modelVersionId: $id, trafficShare: 50}) { id status } }"""
RETIRE = "mutation($id: ID!) { retireDeployment(id: $id) { status } }"


def test_retiring_a_deployment_needs_the_contributor_role_for_its_group(
    gql: GraphQLClient, db: Driver, client_as: Callable[..., GraphQLClient]
) -> None:
    for group in ("fraud", "churn"):
        gql.data("mutation($g: String!) { createModelGroup(input: {name: $g}) { name } }", {"g": group})
    version = gql.data('mutation { registerModelVersion(input: {group: "fraud", artifactUri: "s3://m/f"}) { id } }')
    deployment = gql.data(DEPLOY, {"id": version["registerModelVersion"]["id"]})["createDeployment"]

    outsider = client_as("olga", Role.VIEWER, {"churn": Role.CONTRIBUTOR})
    viewer = client_as("vic", Role.VIEWER)
    owner = client_as("fred", Role.VIEWER, {"fraud": Role.CONTRIBUTOR})
    before = graph_counts(db)
    assert error_codes(outsider.execute(RETIRE, {"id": deployment["id"]})) == ["FORBIDDEN"]
    assert error_codes(viewer.execute(RETIRE, {"id": deployment["id"]})) == ["FORBIDDEN"]
    assert graph_counts(db) == before

    assert owner.data(RETIRE, {"id": deployment["id"]})["retireDeployment"] == {"status": "RETIRED"}
    actor = db.execute_query("MATCH (e:AuditEvent {action: 'deployment.retire'}) RETURN e.actor AS a").records
    assert [r["a"] for r in actor] == ["fred"]
