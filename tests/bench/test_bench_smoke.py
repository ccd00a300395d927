"""Every script in bench/ runs at a tiny size against a private Neo4j, so a bench can never silently rot (stop
authenticating, lose a flag, crash on today's schema). Figures are printed by the benches, never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j import Driver

from lineage_graph.config import Settings
from lineage_graph.neo4j_local import Connection, LocalNeo4j, free_port

pytestmark = pytest.mark.slow  # a Neo4j of its own, and each bench starts a server

ROOT = Path(__file__).resolve().parents[2]

# bench -> (command after the interpreter, text its output must hold). Sizes are the smallest that still run
# every phase of each bench. Those that wipe the database they are given (`--wipe`) run against a Neo4j of this
# module's own; the others against the session's, emptied before each test by `db`.
WIPING: dict[str, tuple[list[str], str]] = {
    "lineage": (
        [
            "bench/lineage.py",
            "--wipe",
            "--nodes",
            "300",
            "--targets",
            "50",
            "--depths",
            "5",
            "--repeat",
            "1",
            "--warmup",
            "0",
        ],
        "gql/floor",
    ),
    "governance": (
        ["bench/governance.py", "--wipe", "--requests", "3", "--appends", "5", "--chain", "20", "--writers", "2"],
        "token lookup",
    ),
}
SHARING: dict[str, tuple[list[str], str]] = {
    "ingest": (
        ["bench/ingest.py", "--runs", "4", "--concurrency", "2", "--batch", "4", "--batch-concurrency", "1"],
        "same batches replayed",
    ),
    "sagemaker": (["-m", "bench.sagemaker", "--packages", "2", "--requests", "3"], "ratio boto3/GraphQL"),
    "outage": (["bench/outage.py"], "fail-fast store"),
    "cold_start": (
        ["bench/cold_start.py", "--versions", "3", "--repeat", "1", "--warm-up-seconds", "2"],
        "first/warm upstream",
    ),
    "group_rules": (["bench/group_rules.py", "--versions", "2"], "of plain at p50"),
}


@pytest.fixture(scope="module")
def bench_neo4j(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connection]:
    instance = LocalNeo4j(
        home=tmp_path_factory.mktemp("bench-neo4j"),
        cache_dir=Settings().cache_dir,
        bolt_port=free_port(),
        heap="512m",
        pagecache="128m",
    )
    connection = instance.start()
    yield connection
    instance.stop()


def test_every_bench_has_a_smoke_run() -> None:
    here = Path(__file__)
    elsewhere = " ".join(path.read_text() for path in here.parent.glob("test_*.py") if path != here)
    scripts = {path.stem: path.read_text() for path in (ROOT / "bench").glob("*.py")}
    for name in scripts:
        covered = name in WIPING or name in SHARING or f"bench/{name}.py" in elsewhere or f"bench.{name}" in elsewhere
        # A driver another bench runs (e.g. in MLflow's virtualenv), or a module benches import (their HTTP
        # client), is exercised by those benches' smoke runs.
        driven = any(
            f"{name}.py" in text or f"from {name} import" in text for other, text in scripts.items() if other != name
        )
        assert covered or driven, f"bench/{name}.py has no smoke run in tests/bench"


def _run(name: str, command: list[str], expected: str, connection: Connection, data_dir: Path) -> None:
    env = {
        **os.environ,
        "NEO4J_URI": connection.uri,
        "NEO4J_USER": connection.user,
        "NEO4J_PASSWORD": connection.password,
        "LINEAGE_GRAPH_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(ROOT),
    }
    script = [command[0] if command[0].startswith("-") else str(ROOT / command[0]), *command[1:]]
    done = subprocess.run([sys.executable, *script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"bench {name}: " + output[-4000:]
    assert expected in output, output[-4000:]


@pytest.mark.parametrize("name", sorted(WIPING))
def test_wiping_bench_runs_at_a_tiny_size(name: str, bench_neo4j: Connection, tmp_path: Path) -> None:
    _run(name, *WIPING[name], bench_neo4j, tmp_path / "data")


@pytest.mark.parametrize("name", sorted(SHARING))
def test_bench_runs_at_a_tiny_size(name: str, settings: Settings, db: Driver, tmp_path: Path) -> None:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    connection = Connection(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password)
    _run(name, *SHARING[name], connection, tmp_path / "data")
