"""Every script in bench/ runs at a tiny size against a private Neo4j, so a bench can never silently rot (stop
authenticating, lose a flag, crash on today's schema). Figures are printed by the benches, never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage_graph.config import Settings
from lineage_graph.neo4j_local import Connection, LocalNeo4j, free_port

pytestmark = pytest.mark.slow  # a Neo4j of its own, and each bench starts a server

ROOT = Path(__file__).resolve().parents[2]

# bench -> (command after the interpreter, text its output must hold). Sizes are the smallest that still run
# every phase of each bench; `--wipe` lets a bench clear the smoke run's own Neo4j.
BENCHES: dict[str, tuple[list[str], str]] = {
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
    "ingest": (
        ["bench/ingest.py", "--runs", "4", "--concurrency", "2", "--batch", "4", "--batch-concurrency", "1"],
        "same batches replayed",
    ),
    "load": (["bench/load.py", "--serve", "--clients", "2", "--duration", "1", "--warmup", "0"], "req/s"),
    "governance": (
        ["bench/governance.py", "--wipe", "--requests", "3", "--appends", "5", "--chain", "20", "--writers", "2"],
        "token lookup",
    ),
    "sagemaker": (["-m", "bench.sagemaker", "--packages", "2", "--requests", "3"], "ratio boto3/GraphQL"),
    "outage": (["bench/outage.py"], "fail-fast store"),
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
    # Benches with needs of their own (a second server, MLflow) are smoke-run by their own module here.
    smoke_tests = "".join(path.read_text() for path in (ROOT / "tests" / "bench").glob("test_*.py"))
    missing = {
        path.stem
        for path in (ROOT / "bench").glob("*.py")
        if not path.stem.startswith("_")
        and f"bench/{path.stem}.py" not in smoke_tests
        and f"bench.{path.stem}" not in smoke_tests
    }
    assert not missing, f"benches without a smoke run in tests/bench/: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_bench_runs_at_a_tiny_size(name: str, bench_neo4j: Connection, tmp_path: Path) -> None:
    command, expected = BENCHES[name]
    env = {
        **os.environ,
        "NEO4J_URI": bench_neo4j.uri,
        "NEO4J_USER": bench_neo4j.user,
        "NEO4J_PASSWORD": bench_neo4j.password,
        "LINEAGE_GRAPH_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
    }
    script = [command[0] if command[0].startswith("-") else str(ROOT / command[0]), *command[1:]]
    done = subprocess.run(
        [sys.executable, *script],
        cwd=tmp_path if name == "load" else ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    # load exits 1 when any request of its mix failed: a finding to read in its table, which a two-client,
    # one-second run on a busy test machine does not judge; every other bench must exit 0.
    assert done.returncode in ((0, 1) if name == "load" else (0,)), output[-4000:]
    assert expected in output, output[-4000:]
