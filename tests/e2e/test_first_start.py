"""`lineage-graph serve` with the managed Neo4j prints an admin token on first start, so a new user can work."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM
from lineage_graph.neo4j_local import LocalNeo4j, free_port
from lineage_graph.services.auth import AuthService
from lineage_graph.store.graph import Neo4jGraph
from tests.support import bearer

CLI = str(Path(sys.executable).parent / "lineage-graph")


@pytest.mark.slow
def test_first_start_prints_a_working_admin_token(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "LINEAGE_GRAPH_"))}
    env.update(
        LINEAGE_GRAPH_DATA_DIR=str(tmp_path),
        LINEAGE_GRAPH_NEO4J_BOLT_PORT=str(free_port()),
        LINEAGE_GRAPH_NEO4J_HEAP="512m",
        LINEAGE_GRAPH_NEO4J_PAGECACHE="64m",
        LINEAGE_GRAPH_LOG_LEVEL="warning",
    )
    server = subprocess.Popen(
        [CLI, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 120
        while not any("GraphQL at" in line for line in output):
            line = server.stdout.readline()
            assert line or server.poll() is None, "".join(output)
            assert time.monotonic() < deadline, "".join(output)
            output.append(line)
        token = next(line.strip() for line in output if line.strip().startswith("lgt_"))
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        me = httpx.post(f"{base}/graphql", json={"query": "{ me { name role } }"}, headers=bearer(token))
        assert me.json()["data"]["me"] == {"name": "admin", "role": "ADMIN"}
        anonymous = httpx.post(f"{base}/graphql", json={"query": "{ me { name } }"})
        assert anonymous.status_code == 401
        assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        unprefixed = httpx.post(f"{base}/graphql", json={"query": "{ me { name } }"}, headers={"Authorization": token})
        assert unprefixed.status_code == 401
        assert "Bearer" in unprefixed.json()["errors"][0]["message"]
        assert "graphiql" in httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}).text.lower()
    finally:
        # SIGTERM, as systemd, Docker and CI runners stop a service: the managed Neo4j must stop with it.
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            output.extend(server.stdout.readlines())
            server.stdout.close()
    assert LocalNeo4j(home=tmp_path / "neo4j", cache_dir=tmp_path, bolt_port=0).running_pid() is None, "".join(output)
    assert any("first start: creating the database" in line for line in output), "progress while Neo4j starts"
    # A young database lacks most relationship types yet; the driver must not warn about each one.
    assert not [line for line in output if "notification" in line.lower()], "".join(output)


def test_no_new_admin_token_while_one_is_active(settings: Settings, db: Driver) -> None:
    async def ensure() -> object:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            return await AuthService(graph).ensure_admin_token(SYSTEM)
        finally:
            await graph.close()

    assert asyncio.run(ensure()) is None, "the session admin's token is active"
    assert db.execute_query("MATCH (t:ApiToken) RETURN count(t) AS c").records[0]["c"] == 1
