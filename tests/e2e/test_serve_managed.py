"""`lineage-graph serve` with no Neo4j configured: it starts its own (with the configured JIT), applies the
constraints, answers GraphQL, and on Ctrl-C stops Neo4j too (no orphan JVM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from lineage_graph.config import Settings
from lineage_graph.neo4j_local import LocalNeo4j, free_port


@pytest.mark.slow
def test_serve_starts_and_stops_the_managed_neo4j(tmp_path: Path) -> None:
    port, bolt = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env.update(
        LINEAGE_GRAPH_DATA_DIR=str(tmp_path),
        LINEAGE_GRAPH_NEO4J_BOLT_PORT=str(bolt),
        LINEAGE_GRAPH_NEO4J_HEAP="512m",
        LINEAGE_GRAPH_NEO4J_PAGECACHE="64m",
        LINEAGE_GRAPH_NEO4J_JIT="quick",
        # the first-start admin token is covered by test_first_start; anonymous reads suffice here
        LINEAGE_GRAPH_ANONYMOUS_ROLE="viewer",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "lineage_graph.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    instance = LocalNeo4j(home=tmp_path / "neo4j", cache_dir=Settings().cache_dir, bolt_port=bolt)
    try:
        deadline = time.monotonic() + 180
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while True:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "serve did not become ready"
                time.sleep(0.5)
            body = client.post("/graphql", json={"query": "{ __typename }"}).json()
            assert body["data"] == {"__typename": "Query"}, "anonymous viewers are configured here"
            assert "graphiql" in client.get("/graphql", headers={"Accept": "text/html"}).text.lower()
        pid = instance.running_pid()
        assert pid is not None
        flags = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"-XX:TieredStopAtLevel=1" in flags, "LINEAGE_GRAPH_NEO4J_JIT=quick reaches the JVM"
        conn = instance.credentials()
        from neo4j import GraphDatabase

        with GraphDatabase.driver(conn.uri, auth=(conn.user, conn.password)) as driver:
            names = {r["name"] for r in driver.execute_query("SHOW CONSTRAINTS YIELD name").records}
        assert {"model_group_name", "model_version_key", "run_id"} <= names
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=90)[0]
    assert server.returncode == 0, output
    assert "Stopping the managed Neo4j" in output
    assert instance.running_pid() is None
    assert not Path(f"/proc/{pid}").exists() or b"CommunityEntryPoint" not in Path(f"/proc/{pid}/cmdline").read_bytes()
