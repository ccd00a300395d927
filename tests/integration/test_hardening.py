"""GraphQL hardening over real HTTP: limits, transport rules (no GET mutations, JSON only, no batching),
switchable introspection and GraphiQL, masked errors; hostile documents refused before any Neo4j call."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM, Role
from lineage_graph.neo4j_local import free_port
from lineage_graph.services.container import Services
from lineage_graph.store.graph import Neo4jGraph
from tests.support import GraphQLClient, bearer, live_server

CREATE_TOKEN = 'mutation { createApiToken(name: "csrf-victim", role: ADMIN) { secret } }'


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def _nested(levels: int) -> str:
    """`levels` selection levels through introspection's recursive `ofType` (valid GraphQL at any depth)."""
    return "{ __schema { types { " + "ofType { " * (levels - 3) + "name" + " }" * (levels - 3) + " } } }"


def _messages(body: dict[str, Any]) -> str:
    return " | ".join(error["message"] for error in body.get("errors") or [])


def _tokens(db: Driver) -> int:
    return int(db.execute_query("MATCH (t:ApiToken) RETURN count(t) AS c").records[0]["c"])


# ---- limits with the defaults -------------------------------------------------------------------------
def test_depth_limit(gql: GraphQLClient) -> None:
    assert "exceeds maximum operation depth of 20" in _messages(gql.execute(_nested(21)))
    assert gql.data(_nested(20))["__schema"]["types"]


def test_alias_limit(gql: GraphQLClient) -> None:
    assert gql.data(_aliases(50))["a49"] == "Query"
    body = gql.execute(_aliases(51))
    assert body["data"] is None
    assert "aliases found. Allowed: 50" in _messages(body)


def test_token_limit(gql: GraphQLClient) -> None:
    padded = "{ me { " + "name " * 5000 + "} }"
    body = gql.execute(padded)
    assert body["data"] is None
    assert "Document contains more than 5000 tokens" in _messages(body)


def test_graphiqls_introspection_query_fits_the_default_limits(gql: GraphQLClient) -> None:
    schema = gql.data(get_introspection_query(descriptions=True))["__schema"]
    assert any(t["name"] == "AuditEvent" for t in schema["types"])


def test_body_size_limit(http: httpx.Client) -> None:
    big = "{ me { name } }" + " " * (256 * 1024)
    response = http.post("/graphql", json={"query": big})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    # A body sent without Content-Length (chunked) is counted as it arrives.
    chunks = (b'{"query": "{ me { name } }' + b" " * 65536 for _ in range(5))
    streamed = http.post("/graphql", content=chunks, headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


# ---- transport rules -------------------------------------------------------------------------------------
def test_a_mutation_over_get_is_405_and_writes_nothing(http: httpx.Client, db: Driver) -> None:
    before = _tokens(db)
    response = http.get("/graphql", params={"query": CREATE_TOKEN})
    assert response.status_code == 405
    assert _tokens(db) == before
    assert http.get("/graphql", params={"query": "{ me { name } }"}).json()["data"]["me"]["name"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ({"query": CREATE_TOKEN}, "application/x-www-form-urlencoded"),
        ({"query": CREATE_TOKEN}, "multipart/form-data"),
        ('{"query": "' + CREATE_TOKEN.replace('"', '\\"') + '"}', "text/plain"),
    ],
)
def test_form_and_multipart_posts_are_refused(http: httpx.Client, db: Driver, content: Any, content_type: str) -> None:
    """The content types a cross-site HTML form can send never run an operation (no CSRF)."""
    before = _tokens(db)
    if content_type == "application/x-www-form-urlencoded":
        response = http.post("/graphql", data=content)
    elif content_type == "multipart/form-data":
        response = http.post("/graphql", files={"operations": (None, str(content))})
    else:
        response = http.post("/graphql", content=content, headers={"Content-Type": content_type})
    assert response.status_code in (400, 415), response.text
    assert _tokens(db) == before


def test_batching_is_off(http: httpx.Client) -> None:
    response = http.post("/graphql", json=[{"query": "{ me { name } }"}, {"query": "{ me { name } }"}])
    assert response.status_code == 400
    assert "Batching is not enabled" in response.text


# ---- masked errors -----------------------------------------------------------------------------------------
def test_unexpected_errors_reach_clients_masked(gql: GraphQLClient, db: Driver) -> None:
    """A stored value the code cannot decode raises deep in the store; the client learns nothing of it."""
    db.execute_query(
        "CREATE (:AuditEvent {sequence: 1, actor: 'a', action: 'x', subject: null, payload: '{MATCH (n) oops',"
        " outcome: 'OK', at: datetime(), previous_hash: 'p', hash: 'h'})"
    )
    body = gql.execute("{ auditLog(first: 5) { edges { node { sequence } } } }")
    assert body["errors"][0]["message"] == "Internal server error"
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL"}
    text = str(body)
    for leak in ("Traceback", "MATCH", "JSONDecodeError", "Expecting", "neo4j", ".py"):
        assert leak not in text


def test_driver_errors_with_cypher_text_are_masked(settings: Settings, db: Driver) -> None:
    """A real Neo4j syntax error (its message quotes the Cypher) through the schema's ErrorPolicy."""
    import strawberry

    from lineage_graph.graphql.context import Context
    from lineage_graph.graphql.errors import ErrorPolicy
    from lineage_graph.graphql.loaders import Loaders

    @strawberry.type
    class Query:
        @strawberry.field
        async def broken(self, info: strawberry.Info[Context, None]) -> int:
            await info.context.services.graph.rows("MATC (secret:Label) RETURN secret")
            return 1

    async def run() -> dict[str, Any]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            schema = strawberry.Schema(query=Query, extensions=[ErrorPolicy])
            services = Services.build(graph)
            context = Context(
                services=services,
                request=None,
                response=None,
                principal=SYSTEM,  # type: ignore[arg-type]
                loaders=Loaders.build(services, SYSTEM),
            )
            result = await schema.execute("{ broken }", context_value=context)
            return {"errors": [e.formatted for e in result.errors or []]}
        finally:
            await graph.close()

    body = asyncio.run(run())
    assert body["errors"][0]["message"] == "Internal server error"
    assert "MATC" not in str(body)
    assert "secret" not in str(body)


# ---- switches and hostile documents on differently configured servers ---------------------------------------
@pytest.fixture(scope="module")
def locked_down_url(settings: Settings, driver: Driver) -> Iterator[str]:
    """Introspection and GraphiQL off, small limits: every knob is a setting."""
    locked = settings.model_copy(
        update={
            "introspection": False,
            "graphiql": False,
            "graphql_max_depth": 3,
            "graphql_max_aliases": 2,
            "graphql_max_tokens": 40,
            "graphql_max_body_bytes": 2048,
        }
    )
    with live_server(locked) as url:
        yield url


def test_introspection_graphiql_and_limits_are_switchable(locked_down_url: str, admin_token: str, db: Driver) -> None:
    with httpx.Client(base_url=locked_down_url, headers=bearer(admin_token)) as http:
        gql = GraphQLClient(http)
        assert "introspection" in _messages(gql.execute("{ __schema { types { name } } }")).lower()
        page = http.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        assert gql.data("{ me { groupRoles { group } } }")["me"] == {"groupRoles": []}
        assert "maximum operation depth of 3" in _messages(gql.execute(_nested(4)))
        assert "Allowed: 2" in _messages(gql.execute("{ a: __typename b: __typename c: __typename }"))
        assert "more than 40 tokens" in _messages(gql.execute("{ me { " + "name " * 40 + "} }"))
        assert http.post("/graphql", json={"query": "{ me { name } }" + " " * 2048}).status_code == 413


@pytest.fixture(scope="module")
def no_database_url(settings: Settings) -> Iterator[str]:
    """A server whose Neo4j is unreachable, with anonymous viewers: any Neo4j call shows as UNAVAILABLE."""
    dead = settings.model_copy(
        update={
            "neo4j_uri": f"bolt://127.0.0.1:{free_port()}",
            "neo4j_connection_timeout": 0.5,
            "neo4j_retry_time": 0.0,
            "anonymous_role": Role.VIEWER,
        }
    )
    with live_server(dead) as url:
        yield url


def test_hostile_documents_are_refused_before_any_neo4j_call(no_database_url: str) -> None:
    with httpx.Client(base_url=no_database_url, timeout=30) as http:
        gql = GraphQLClient(http)
        # The control: a legitimate query does reach for Neo4j, and fails for it (503: only UNAVAILABLE errors).
        control = http.post("/graphql", json={"query": "{ serverInfo { version } }"})
        assert control.status_code == 503
        assert control.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"

        ten_thousand = gql.execute("{" + " ".join(f"a{i}:serverInfo{{version}}" for i in range(10_000)) + "}")
        assert ten_thousand["data"] is None
        assert "Document contains more than 5000 tokens" in _messages(ten_thousand)
        assert "UNAVAILABLE" not in str(ten_thousand)
        sixty = gql.execute("{ " + " ".join(f"a{i}: serverInfo {{ version }}" for i in range(60)) + " }")
        assert "aliases found. Allowed: 50" in _messages(sixty)
        assert "UNAVAILABLE" not in str(sixty)

        hundred_levels = gql.execute(_nested(100))
        assert "exceeds maximum operation depth" in _messages(hundred_levels)
        assert "UNAVAILABLE" not in str(hundred_levels)

        megabyte = "{ serverInfo { version } }" + " " * (1024 * 1024)
        too_big = http.post("/graphql", json={"query": megabyte}, headers={"Authorization": "Bearer lgt_x"})
        assert too_big.status_code == 413, "the size check comes before the token lookup (which needs Neo4j)"
