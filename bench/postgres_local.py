"""A private PostgreSQL cluster for a bench run: `initdb` into a temporary directory, started on a free loopback
port, stopped and removed on exit. MLflow's registry runs on it in `bench/mlflow_registry.py
--mlflow-backend postgresql`, the backend its production deployments use.

The binaries are Debian's `postgresql` package (`scripts/install --for-tests` installs it when missing). The
cluster keeps PostgreSQL's defaults (fsync and synchronous commit on, 128 MB of shared buffers), as our managed
Neo4j keeps its own: neither side is tuned for the bench. PostgreSQL refuses to run as root, so under root the
cluster runs as `nobody`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

USER = "mlflow"  # the cluster's superuser; loopback connections are trusted, as in a throwaway test cluster
DATABASE = "mlflow"


def binaries() -> Path | None:
    """The directory holding `initdb` and `pg_ctl`: the one on PATH, else the newest Debian install."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda initdb: int(major) if (major := initdb.parent.parent.name).isdigit() else 0,
    )
    return installed[-1].parent if installed else None


@dataclass(frozen=True)
class Cluster:
    """A running cluster: the SQLAlchemy URL of its database and the postmaster's pid (whose CPU, with its
    backends', is the database's share of the work)."""

    url: str
    pid: int


@contextmanager
def postgres_database(port: int) -> Iterator[Cluster]:
    """A fresh cluster listening on 127.0.0.1:`port` with an empty database `mlflow`."""
    bin_dir = binaries()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed: `apt-get install postgresql` (or scripts/install --for-tests)")
    # Run as `nobody` under root: `subprocess` switches user and group after forking.
    as_user: dict[str, Any] = {"user": "nobody", "group": "nogroup"} if os.geteuid() == 0 else {}
    with tempfile.TemporaryDirectory(prefix="postgres-bench-") as home:
        if as_user:
            shutil.chown(home, "nobody", "nogroup")
        data, log = Path(home) / "data", Path(home) / "server.log"

        def run(*command: str | Path) -> None:
            done = subprocess.run(
                [str(part) for part in command], capture_output=True, text=True, timeout=120, cwd=home, **as_user
            )
            if done.returncode != 0:
                tail = log.read_text()[-2000:] if log.exists() else ""
                raise SystemExit(f"{Path(command[0]).name} failed: {done.stdout}{done.stderr}{tail}")

        run(bin_dir / "initdb", "-D", data, "-U", USER, "--auth=trust", "-E", "UTF8")
        # The socket goes in the cluster's own directory: /var/run/postgresql may be absent or not writable.
        options = f"-h 127.0.0.1 -p {port} -k {home}"
        run(bin_dir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start")
        try:
            run(bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE)
            pid = int((data / "postmaster.pid").read_text().split()[0])
            yield Cluster(f"postgresql+psycopg://{USER}@127.0.0.1:{port}/{DATABASE}", pid)
        finally:
            run(bin_dir / "pg_ctl", "-D", data, "-w", "-m", "fast", "stop")
