"""/readyz follows Neo4j down and back up while the server keeps running (a private Neo4j for this test)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from lineage_graph.config import Settings
from lineage_graph.domain.auth import Role
from lineage_graph.neo4j_local import LocalNeo4j, free_port
from tests.support import live_server


def _wait_for(client: httpx.Client, status: int, within: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        if client.get("/readyz").status_code == status:
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"/readyz did not become {status} within {within}s")


@pytest.mark.slow
def test_readyz_follows_neo4j_down_and_up(tmp_path: Path) -> None:
    instance = LocalNeo4j(
        home=tmp_path / "neo4j", cache_dir=Settings().cache_dir, bolt_port=free_port(), heap="512m", pagecache="64m"
    )
    conn = instance.start()
    # Anonymous viewers, so the GraphQL probe needs no token (whose lookup would itself need Neo4j).
    settings = Settings(
        neo4j_uri=conn.uri,
        neo4j_user=conn.user,
        neo4j_password=conn.password,
        data_dir=tmp_path,
        anonymous_role=Role.VIEWER,
    )
    try:
        with live_server(settings) as url, httpx.Client(base_url=url, timeout=10) as client:
            assert client.get("/readyz").status_code == 200
            instance.stop()
            started = time.monotonic()
            response = client.get("/readyz")
            assert response.status_code == 503
            assert time.monotonic() - started < 3, "readiness must fail fast"
            assert response.json()["status"] == "unavailable"
            assert client.get("/healthz").status_code == 200, "the process stays up"
            # Every request fails fast while Neo4j is down: one attempt each, no 5 s retry loop per caller.
            for _ in range(3):
                started = time.monotonic()
                response = client.post("/graphql", json={"query": "query Info { serverInfo { database { name } } }"})
                assert time.monotonic() - started < 2.5, "a request must not wait out the retry budget"
                assert response.status_code == 503, "only UNAVAILABLE errors: the HTTP status says retry later"
                assert response.headers["retry-after"] == "1"
                body = response.json()
                assert body["data"] is None
                assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
                assert "127.0.0.1" not in response.text, "no driver text (addresses, stack traces) reaches clients"
            metrics = client.get("/metrics").text
            assert "lineage_graph_neo4j_up 0.0" in metrics
            assert 'lineage_graph_graphql_errors_total{code="UNAVAILABLE",operation="Info"} 3.0' in metrics

            instance.start()
            _wait_for(client, 200, within=30)
            response = client.post("/graphql", json={"query": "{ serverInfo { database { edition } } }"})
            assert response.status_code == 200
            assert response.json()["data"]["serverInfo"]["database"]["edition"] == "community"
            assert "lineage_graph_neo4j_up 1.0" in client.get("/metrics").text
    finally:
        instance.stop()
    assert instance.running_pid() is None
