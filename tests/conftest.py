"""One Neo4j for the whole session (a private managed one, or NEO4J_URI when set) and a clean graph per test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from neo4j import Driver, GraphDatabase

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import Role
from lineage_graph.neo4j_local import Connection, LocalNeo4j, free_port, jit_for_machine
from lineage_graph.store.constraints import apply_constraints
from lineage_graph.store.graph import Neo4jGraph
from tests.support import SESSION_ADMIN, GraphQLClient, bearer, clean_graph, issue_token, live_server

pytest_plugins = ["tests.aws_support", "tests.mlflow_support"]  # moto server fixtures; MLflow beside us


@pytest.fixture(scope="session")
def neo4j_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j | None]:
    """The managed Neo4j the session started, or None when NEO4J_URI points at an existing one."""
    if os.environ.get("NEO4J_URI"):
        yield None
        return
    instance = LocalNeo4j(
        home=tmp_path_factory.mktemp("neo4j"),
        cache_dir=Settings().cache_dir,
        bolt_port=free_port(),
        heap="1g",
        pagecache="256m",
        jit=jit_for_machine("auto"),  # as `serve` runs it on this machine
    )
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def neo4j_connection(neo4j_instance: LocalNeo4j | None) -> Connection:
    if neo4j_instance is None:
        return Connection(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
    return neo4j_instance.credentials()


@pytest.fixture(scope="session")
def settings(neo4j_connection: Connection, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        neo4j_uri=neo4j_connection.uri,
        neo4j_user=neo4j_connection.user,
        neo4j_password=neo4j_connection.password,
        data_dir=Path(tmp_path_factory.mktemp("data")),
        # Revocations made by other processes (the CLI tests) must take effect at once here.
        token_cache_seconds=0.0,
        # A CI machine may be busy (a first write on a cold JVM compiles every plan it touches); the tests are
        # about outcomes, and the tests of the time budget itself set their own.
        neo4j_query_timeout=60.0,
    )


@pytest.fixture(scope="session")
def driver(settings: Settings) -> Iterator[Driver]:
    """A plain sync driver for arranging and inspecting the graph directly, beside the API under test."""

    async def apply() -> None:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            await apply_constraints(graph)
        finally:
            await graph.close()

    asyncio.run(apply())
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    with GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password)) as drv:
        version = drv.execute_query("CALL dbms.components() YIELD versions RETURN versions[0] AS v").records
        print(f"tests run against Neo4j {version[0]['v']} at {settings.neo4j_uri}")
        yield drv


@pytest.fixture(scope="session")
def admin_token(settings: Settings, driver: Driver) -> str:
    """An admin API token, issued once per session through the real token service."""
    return issue_token(settings, SESSION_ADMIN, Role.ADMIN)


@pytest.fixture
def db(driver: Driver, admin_token: str) -> Driver:
    """The driver, with the graph emptied before the test (constraints, indexes and the session admin's
    principal and token stay; the audit chain starts afresh)."""
    clean_graph(driver)
    return driver


@pytest.fixture(scope="session")
def base_url(settings: Settings, driver: Driver) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


@pytest.fixture
def http(base_url: str, db: Driver, admin_token: str) -> Iterator[httpx.Client]:
    """An HTTP client of the live server, authenticated as the session admin."""
    with httpx.Client(base_url=base_url, timeout=30, headers=bearer(admin_token)) as client:
        yield client


@pytest.fixture
def anonymous_http(base_url: str, db: Driver) -> Iterator[httpx.Client]:
    """An HTTP client of the live server that sends no token."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


TokenFactory = Callable[..., str]


@pytest.fixture
def make_token(settings: Settings, db: Driver) -> TokenFactory:
    """`make_token(name, role, group_roles=None)` → the secret of a new token for that principal."""

    def make(name: str, role: Role, group_roles: dict[str, Role] | None = None) -> str:
        return issue_token(settings, name, role, group_roles)

    return make


@pytest.fixture
def client_as(base_url: str, make_token: TokenFactory) -> Iterator[Callable[..., GraphQLClient]]:
    """`client_as(name, role, group_roles=None)` → a GraphQL client authenticated as a new principal."""
    opened: list[httpx.Client] = []

    def client(name: str, role: Role, group_roles: dict[str, Role] | None = None) -> GraphQLClient:
        http = httpx.Client(base_url=base_url, timeout=30, headers=bearer(make_token(name, role, group_roles)))
        opened.append(http)
        return GraphQLClient(http)

    yield client
    for http in opened:
        http.close()


@pytest.fixture
def gql(http: httpx.Client) -> GraphQLClient:
    return GraphQLClient(http)
