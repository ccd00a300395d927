"""The real MLflow beside lineage-graph: its tracking server (SQLite, loopback) and its client, both run from
`.venv-mlflow` (scripts/mlflow-venv) as subprocesses, because MLflow is no dependency of the server."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lineage_graph.config import Settings
from lineage_graph.neo4j_local import free_port
from tests.support import live_server

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "mlflow_driver.py"


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    """The python of `.venv-mlflow`, made by scripts/mlflow-venv when missing (`scripts/install --for-tests` does)."""
    made = subprocess.run([str(ROOT / "scripts" / "mlflow-venv")], capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr[-2000:]
    return Path(made.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class TrackingServer:
    url: str
    home: Path


@pytest.fixture(scope="session")
def mlflow_tracking(mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackingServer]:
    """`mlflow server` with a SQLite store and local artifacts, on a free loopback port, shared by the session."""
    with tracking_server(mlflow_python, tmp_path_factory.mktemp("mlflow")) as server:
        yield server


@pytest.fixture
def empty_mlflow_tracking(mlflow_python: Path, tmp_path: Path) -> Iterator[TrackingServer]:
    """A tracking server of the test's own, for tests that count everything an MLflow holds."""
    with tracking_server(mlflow_python, tmp_path / "mlflow") as server:
        yield server


@contextmanager
def tracking_server(mlflow_python: Path, home: Path) -> Iterator[TrackingServer]:
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    mlflow = mlflow_python.parent / "mlflow"
    argv = [
        str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{home}/mlflow.db", "--artifacts-destination", str(home / "artifacts"),
    ]  # fmt: skip
    log = (home / "server.log").open("w")
    process = subprocess.Popen(argv, cwd=home, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # its first start migrates the SQLite store: slow on a loaded machine
    try:
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield TrackingServer(url, home)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def registry_url(settings: Settings, mlflow_tracking: TrackingServer, driver: Any) -> Iterator[str]:
    """A lineage-graph server that reads runs from the tracking server; MLflow's registry URI is `<url>/mlflow`."""
    with live_server(settings.model_copy(update={"mlflow_tracking_uri": mlflow_tracking.url})) as url:
        yield url


def run_driver(mlflow_python: Path, script: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run one scenario of tests/mlflow_driver.py with the real mlflow client; its JSON report."""
    full = {**os.environ, **env, "PYTHONPATH": "", "GIT_PYTHON_REFRESH": "quiet"}
    done = subprocess.run(
        [str(mlflow_python), str(DRIVER), script, *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report
