"""bench/client.py at a tiny size: every door registers, and the table is printed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from bench.client import run
from neo4j import Driver

from lineage_graph.domain.auth import Role
from tests.mlflow_support import TrackingServer

pytestmark = pytest.mark.slow


def test_client_bench_smoke(
    registry_url: str,
    mlflow_tracking: TrackingServer,
    mlflow_python: Path,
    make_token: Callable[..., str],
    db: Driver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = run(registry_url, make_token("bench", Role.ADMIN), mlflow_tracking.url, mlflow_python, 3, 1)
    assert [f.registered for f in figures] == [3, 1, 3, 3]
    assert all(f.per_second > 0 for f in figures)
    assert "vs MLflow server" in capsys.readouterr().out
    counted = db.execute_query("MATCH (v:ModelVersion) RETURN count(v) AS n").records[0]["n"]
    assert counted == 1 + 3 + 1 + 3  # the client's warm-up, then each of our doors
