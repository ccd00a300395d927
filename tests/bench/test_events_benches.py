"""bench/events.py and bench/audit_concurrency.py run, at a tiny size, against the session's server: they print
their figures and exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from neo4j import Driver

from lineage_graph.config import Settings

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, settings: Settings, base_url: str, token: str, *args: str) -> str:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    env = {
        **os.environ,
        "NEO4J_URI": settings.neo4j_uri,
        "NEO4J_USER": settings.neo4j_user,
        "NEO4J_PASSWORD": settings.neo4j_password,
        "LINEAGE_GRAPH_TOKEN": token,
    }
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--url", base_url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_events_bench_smoke(settings: Settings, base_url: str, admin_token: str, db: Driver) -> None:
    out = _run("events.py", settings, base_url, admin_token, "--events", "4", "--clients", "2", "--wait", "60")
    assert "delivered            4/4" in out
    assert "commit -> delivery" in out
    assert "append cost" in out


@pytest.mark.slow
def test_audit_concurrency_bench_smoke(settings: Settings, base_url: str, admin_token: str, db: Driver) -> None:
    out = _run("audit_concurrency.py", settings, base_url, admin_token, "--clients", "2", "--per-client", "2")
    assert "vs 1 group" in out
    assert len([line for line in out.splitlines() if line.strip().startswith("2 ")]) == 2
