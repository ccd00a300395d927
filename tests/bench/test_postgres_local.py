"""The bench's private PostgreSQL cluster: it serves the database it promises on its port, and leaves nothing
running or on disk once the bench is done with it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from bench import postgres_local
from lineage_graph.neo4j_local import free_port

pytestmark = pytest.mark.skipif(
    postgres_local.binaries() is None,
    reason="PostgreSQL is not installed (scripts/install --for-tests installs Debian's package as root)",
)


def _psql(port: int, sql: str) -> subprocess.CompletedProcess[str]:
    bin_dir = postgres_local.binaries()
    assert bin_dir is not None
    command = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", postgres_local.USER]
    return subprocess.run(
        [*command, "-d", postgres_local.DATABASE, "-tAc", sql], capture_output=True, text=True, timeout=30
    )


def _state(pid: int) -> str | None:
    """The process's state letter (Z: exited, not yet reaped), or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_the_cluster_serves_its_database_and_is_gone_after() -> None:
    port = free_port()
    with postgres_local.postgres_database(port) as cluster:
        assert cluster.url == f"postgresql+psycopg://mlflow@127.0.0.1:{port}/mlflow"
        done = _psql(port, "CREATE TABLE t (n int); INSERT INTO t VALUES (7); SELECT current_database(), sum(n) FROM t")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "mlflow|7"
        data_dir = Path(f"/proc/{cluster.pid}/cwd").resolve()  # the postmaster runs in its data directory
        assert (data_dir / "postmaster.pid").exists()
    # `pg_ctl stop -w` returns once the postmaster has removed its pid file, a moment before the process ends.
    deadline = time.monotonic() + 10
    while _state(cluster.pid) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _state(cluster.pid) in (None, "Z")
    assert not data_dir.exists()
    assert _psql(port, "SELECT 1").returncode != 0
