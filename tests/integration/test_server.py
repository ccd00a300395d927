"""The server over real HTTP: GraphQL, GraphiQL, health and readiness against the live Neo4j."""

from __future__ import annotations

import httpx
from neo4j import Driver

from lineage_graph.store.constraints import constraint_statements
from tests.support import GraphQLClient


def test_typename_answers(gql: GraphQLClient) -> None:
    assert gql.data("{ __typename }") == {"__typename": "Query"}


def test_server_info_reads_neo4j(gql: GraphQLClient, db: Driver) -> None:
    db.execute_query("CREATE (:Dataset {namespace: 's3://lake', name: 'raw'})")
    info = gql.data("{ serverInfo { version database { version edition nodeCount } } }")["serverInfo"]
    assert info["database"]["version"].startswith("5.26")
    assert info["database"]["edition"] == "community"
    # The session admin's Principal and ApiToken are in the graph too.
    assert info["database"]["nodeCount"] == db.execute_query("MATCH (n) RETURN count(n) AS c").records[0]["c"]
    assert info["database"]["nodeCount"] >= 1


def test_graphiql_is_served_to_a_browser(http: httpx.Client) -> None:
    response = http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_healthz_and_readyz(http: httpx.Client) -> None:
    assert http.get("/healthz").json()["status"] == "ok"
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_constraints_from_the_file_are_in_the_database(db: Driver) -> None:
    names = {record["name"] for record in db.execute_query("SHOW CONSTRAINTS YIELD name").records}
    expected = {stmt.split()[2] for stmt in constraint_statements() if stmt.startswith("CREATE CONSTRAINT")}
    assert expected, "constraints.cypher declares constraints"
    assert expected <= names
    indexes = {record["name"] for record in db.execute_query("SHOW INDEXES YIELD name").records}
    assert "registry_search" in indexes


def test_unexpected_errors_are_masked(gql: GraphQLClient) -> None:
    body = gql.execute("{ serverInfo { nope } }")
    assert body["errors"][0]["message"].startswith("Cannot query field")
