"""Each benchmark runs end to end at a tiny size (seconds): it starts what it measures and prints its table.
Figures are not asserted; only that the run completes without errors and reports every row."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from neo4j import Driver

from bench import postgres_local
from lineage_graph.config import Settings

ROOT = Path(__file__).resolve().parents[2]
MLFLOW_PYTHON = ROOT / ".venv-mlflow" / "bin" / "python"

pytestmark = pytest.mark.slow  # each starts `lineage-graph serve` (and MLflow) as processes


def _run(settings: Settings, *args: str, extra: dict[str, str] | None = None) -> str:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    env = {
        **os.environ,
        "NEO4J_URI": settings.neo4j_uri,
        "NEO4J_USER": settings.neo4j_user,
        "NEO4J_PASSWORD": settings.neo4j_password,
        "LINEAGE_GRAPH_DATA_DIR": str(settings.data_dir),
        **(extra or {}),
    }
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_load_bench_with_two_workers(settings: Settings, db: Driver) -> None:
    out = _run(
        settings, "bench/load.py", "--serve", "--workers", "2", "--clients", "2", "--duration", "1", "--warmup", "0"
    )
    assert "2 server worker(s)" in out
    for operation in ("serverInfo", "modelVersions", "search", "registerModelVersion", "all"):
        assert operation in out


def test_floor_bench_compares_with_a_bare_starlette_route(settings: Settings, db: Driver) -> None:
    out = _run(settings, "-m", "bench.floor", "--clients", "2", "--duration", "1")
    for target in ("bare Starlette route", "GET /healthz", "{__typename} + token", "serverInfo + token"):
        assert target in out
    assert "vs bare" in out


@pytest.mark.skipif(not MLFLOW_PYTHON.exists(), reason="MLflow's virtualenv is absent (create it: scripts/mlflow-venv)")
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_mlflow_bench_runs_both_registries_side_by_side(settings: Settings, db: Driver, backend: str) -> None:
    if backend == "postgresql" and postgres_local.binaries() is None:
        pytest.skip("PostgreSQL is not installed (scripts/install --for-tests installs Debian's package as root)")
    out = _run(
        settings,
        "-m",
        "bench.mlflow_registry",
        "--versions",
        "4",
        "--clients",
        "2",
        "--requests",
        "3",
        "--warm-up",
        "6",
        "--mlflow-backend",
        backend,
        extra={"MLFLOW_PYTHON": str(MLFLOW_PYTHON)},
    )
    assert f"MLflow with {'SQLite' if backend == 'sqlite' else 'PostgreSQL'}" in out
    ratio_rows = [line for line in out.splitlines() if line.split()[:1] == ["ratio"]]
    assert len(ratio_rows) == 6, out  # one per row of work (the header's "registrations" is not one)
    assert "cheapest request" in out
    trained = [line for line in out.splitlines() if "with run, data, metric" in line]
    assert len(trained) == 2, out
    for line in trained:  # errors 0, then the anomalies: every five-call registration succeeded, numbered 1..n
        assert line.endswith("       0  dup=0 gaps=0 missing=0"), out
    assert out.count("dup=0 gaps=0 missing=0") == 4  # both concurrent rows, both systems
