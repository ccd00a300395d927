"""Structured logs from the real `lineage-graph serve`: JSON lines, each request's lines carrying its id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from lineage_graph.neo4j_local import Connection, free_port


def _serve(conn: Connection, data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "NEO4J_URI": conn.uri,
        "NEO4J_USER": conn.user,
        "NEO4J_PASSWORD": conn.password,
        "LINEAGE_GRAPH_DATA_DIR": str(data_dir),
        "LINEAGE_GRAPH_LOG_FORMAT": "json",
        "LINEAGE_GRAPH_LOG_LEVEL": "info",
        # Logs are the subject here, not tokens: anonymous readers keep the requests about logging.
        "LINEAGE_GRAPH_ANONYMOUS_ROLE": "viewer",
    }
    cli = Path(sys.executable).with_name("lineage-graph")
    return subprocess.Popen(
        [str(cli), "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_until_up(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited during start-up"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def test_every_line_is_json_and_carries_its_request_id(neo4j_connection: Connection, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(neo4j_connection, tmp_path, port)
    try:
        _wait_until_up(url, server)
        with httpx.Client(base_url=url, timeout=10) as client:
            given = client.post(
                "/graphql",
                json={"query": "query Broken { serverInfo { nope } }"},
                headers={"X-Request-ID": "trace-abc-123"},
            )
            made = client.post("/graphql", json={"query": "query Fine { serverInfo { version } }"})
            hostile = client.post(
                "/graphql", json={"query": "{ __typename }"}, headers={"X-Request-ID": 'x" injected="1' * 20}
            )
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=20)

    assert given.headers["x-request-id"] == "trace-abc-123"
    made_id = made.headers["x-request-id"]
    assert len(made_id) == 32, "a request without an id gets a fresh one"
    hostile_id = hostile.headers["x-request-id"]
    assert "injected" not in hostile_id, "an id that is not short and plain is replaced, not echoed"

    lines = [line for line in stderr.splitlines() if line.strip()]
    records: list[dict[str, Any]] = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "message"} <= record.keys() for record in records)

    mine = [record for record in records if record.get("request_id") == "trace-abc-123"]
    messages = {record["message"] for record in mine}
    assert {"graphql errors", "request completed"} <= messages, mine
    assert all(record["level"] == "info" for record in mine), "a client's mistake is not a server error"
    completed = next(record for record in mine if record["message"] == "request completed")
    assert completed["status"] == 200
    assert completed["route"] == "/graphql"
    assert completed["operation"] == "Broken"
    assert completed["error_codes"] == ["GRAPHQL_VALIDATION_FAILED"]
    assert completed["duration_ms"] > 0

    fine = [record for record in records if record.get("request_id") == made_id]
    assert [record["message"] for record in fine] == ["request completed"]
    assert fine[0]["operation"] == "Fine"
    # Lines outside any request (start-up, shutdown) have no request id rather than a wrong one.
    assert any("request_id" not in record for record in records)
