"""Test wiring shared by every suite: a live Uvicorn server in a thread, GraphQL over real HTTP, API tokens."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from lineage_graph.app import create_app, graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM, Role
from lineage_graph.neo4j_local import free_port
from lineage_graph.services.auth import AuthService
from lineage_graph.store.graph import Neo4jGraph

# The session's admin principal: its Principal and ApiToken survive the per-test wipe (see conftest `db`).
SESSION_ADMIN = "test-admin"


def issue_token(settings: Settings, name: str, role: Role, group_roles: dict[str, Role] | None = None) -> str:
    """Issue an API token through the real service (hashed, audited) and return its secret."""

    async def issue() -> str:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            issued = await AuthService(graph).create_token(SYSTEM, name, role, group_roles or {})
            return issued.secret
        finally:
            await graph.close()

    return asyncio.run(issue())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """Serve `create_app(settings)` with Uvicorn on a free loopback port; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


class GraphQLClient:
    """Posts GraphQL documents over HTTP the way any client would."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def execute(
        self, query: str, variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The full response body (`data` and `errors`), asserting only that HTTP itself succeeded."""
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def data(
        self, query: str, variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """`data` of a response that must have no errors."""
        body = self.execute(query, variables, headers)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data
