"""Test wiring shared by every suite: a live Uvicorn server in a thread, GraphQL over real HTTP, API tokens."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from neo4j import Driver

from lineage_graph.app import create_app, graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.audit import ChainReport
from lineage_graph.domain.auth import SYSTEM, Role
from lineage_graph.neo4j_local import free_port
from lineage_graph.services.audit import AuditService
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


# Deletes everything but the session admin's principal and tokens, so `http`/`gql` stay authenticated.
_WIPE = """
MATCH (n)
WHERE NOT (n:Principal AND n.name = $keep)
  AND NOT (n:ApiToken AND EXISTS { (n)-[:ISSUED_TO]->(:Principal {name: $keep}) })
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS
"""

# The session's live server keeps placing events while a test's graph is wiped. A placement in flight holds the
# global log's head and creates it when missing, so the wipe's scan can miss a head that commits after it: the
# next test would inherit a head counting events that are gone. Taking the head's lock the way the sequencer
# does (MERGE on its unique id) waits for that placement; what it left, head and log, then goes together. A
# placement that starts later finds no event pending and leaves a head at 0, the state of an empty log.
_WIPE_LOG = """
MERGE (h:AuditHead {id: 'audit'})
SET h._lock = true
WITH h
CALL () { MATCH (n) WHERE n:AuditEvent OR n:AuditPartition DETACH DELETE n }
DETACH DELETE h
"""


def clean_graph(driver: Driver) -> None:
    """Empty the graph for the next test: the session admin's principal and tokens stay, the audit log starts
    afresh, constraints and indexes stay."""
    with driver.session() as session:  # CALL … IN TRANSACTIONS needs an auto-commit transaction
        session.run(_WIPE, keep=SESSION_ADMIN).consume()
    driver.execute_query(_WIPE_LOG)


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
    # Start-up includes planning the hot statements (store/plans.py): up to 10 s on a cold, busy Neo4j.
    deadline = time.monotonic() + 60
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


def graph_counts(driver: Any) -> tuple[int, int]:
    """(nodes, relationships) in the whole graph: a rejected request must leave both unchanged. The global log's
    head is left out: the server's sequencer creates it in the background when it first places an event."""
    records = driver.execute_query(
        "CALL () { MATCH (n) WHERE NOT n:AuditHead RETURN count(n) AS nodes } "
        "CALL () { MATCH ()-[r]->() RETURN count(r) AS rels } "
        "RETURN nodes, rels"
    ).records
    return int(records[0]["nodes"]), int(records[0]["rels"])


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", "") for e in body.get("errors") or []]


def problem_fields(body: dict[str, Any]) -> list[str]:
    return [p["field"] for e in body.get("errors") or [] for p in e.get("extensions", {}).get("problems", [])]


# The audit log records refused attempts too, so "nothing written" means nothing outside it.
AUDIT_LABELS = ("AuditEvent", "AuditHead", "AuditPartition")

# The global log's head is left out, as in `graph_counts`: the sequencer creates it in the background when it
# first places an event, so whether it exists yet says nothing about what a request wrote.
_FINGERPRINT_NODES = """
MATCH (n) WHERE NOT n:AuditHead AND none(label IN labels(n) WHERE label IN $excluded)
RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props
"""
_FINGERPRINT_EDGES = """
MATCH (a)-[r]->(b)
WHERE none(label IN labels(a) + labels(b) WHERE label IN $excluded)
RETURN elementId(a) AS start, type(r) AS type, elementId(b) AS end, properties(r) AS props
"""


# The background sequencer places committed audit events into the global log at any moment (it sets these and
# drops `pending`); that is bookkeeping, not a write a request made, so fingerprints ignore it.
_SEQUENCER_FIELDS = frozenset({"sequence", "log_hash", "pending"})


def _content(labels: list[str], props: dict[str, Any]) -> dict[str, Any]:
    if "AuditEvent" not in labels:
        return props
    return {key: value for key, value in props.items() if key not in _SEQUENCER_FIELDS}


def graph_fingerprint(driver: Driver, excluded: tuple[str, ...] = ()) -> list[str]:
    """Every node and relationship with its labels and properties, as sorted text: equal iff the graphs are
    equal. Nodes are named by their content, not element ids, so a restored copy of a graph compares equal."""
    nodes = driver.execute_query(_FINGERPRINT_NODES, excluded=list(excluded)).records
    names = {r["id"]: f"{sorted(r['labels'])}{sorted(_content(r['labels'], r['props']).items())}" for r in nodes}
    edges = driver.execute_query(_FINGERPRINT_EDGES, excluded=list(excluded)).records
    return sorted(
        [f"node {text}" for text in names.values()]
        + [f"edge {names[r['start']]}-[{r['type']} {sorted(r['props'].items())}]->{names[r['end']]}" for r in edges]
    )


# Text that only a leaked exception, driver error or query could put in a response.
LEAKS = re.compile(
    r"Traceback \(most recent call last\)|File \"/|neo4j\.exceptions|Neo\.(Client|Transient|Database)Error"
    r"|\b(MATCH|MERGE|UNWIND|OPTIONAL MATCH)\s*\(|bolt://|site-packages|\.py\b"
)


def check_response(response: httpx.Response) -> dict[str, Any] | None:
    """The invariants of every answer to hostile input; returns the JSON body when there is one."""
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    assert LEAKS.search(response.text) is None, response.text[:2000]
    if not response.headers.get("content-type", "").startswith("application/json"):
        assert response.status_code >= 400, "a non-JSON answer must be a client error"
        return None
    body: dict[str, Any] = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code != "INTERNAL", f"an unexpected exception, masked: {error}"
        assert error.get("message"), error
    return body


# Nodes a test does not make itself: the session's principals and tokens, and the audit log (which records
# token issuance and refused attempts too).
BOOKKEEPING_LABELS = ("Principal", "ApiToken", "AuditEvent", "AuditHead", "AuditPartition")


def domain_node_count(driver: Any) -> int:
    """Nodes of the registry and lineage graph proper, without the bookkeeping above."""
    records = driver.execute_query(
        "MATCH (n) WHERE none(l IN labels(n) WHERE l IN $excluded) RETURN count(n) AS n",
        excluded=list(BOOKKEEPING_LABELS),
    ).records
    return int(records[0]["n"])


def verify_audit_chain(settings: Settings) -> ChainReport:
    """The audit chain verified directly against the database (what `lineage-graph audit verify` reports)."""

    async def run() -> ChainReport:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            return await AuditService(graph).verify(SYSTEM)
        finally:
            await graph.close()

    return asyncio.run(run())
