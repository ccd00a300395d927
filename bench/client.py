"""Registrations per second through each pipeline door, side by side in one run:

- the Python client (`lineage_graph.client.Client`, one registration per call, sequential),
- the CLI (`lineage-graph register`, one process per registration, as a CI step runs it),
- MLflow's own client against our `/mlflow` registry facade,
- the same MLflow client against MLflow's own registry server (`mlflow server`, SQLite) — the baseline.

    .venv/bin/python bench/client.py                    # private Neo4j, server and MLflow server
    .venv/bin/python bench/client.py --versions 200 --cli-versions 20

MLflow runs from .venv-mlflow (scripts/mlflow-venv). Not a timed test: it prints figures to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from lineage_graph.client import Client
from lineage_graph.config import Settings
from lineage_graph.neo4j_local import LocalNeo4j, free_port

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("lineage-graph"))
MLFLOW_DRIVER = Path(__file__).resolve().with_name("mlflow_registrations.py")


@dataclass(frozen=True)
class Figure:
    door: str
    registered: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.registered / self.seconds


def _wait(url: str, process: subprocess.Popen[bytes], path: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"{url} did not start")
        time.sleep(0.3)


@contextmanager
def local_servers(workdir: Path, mlflow_python: Path) -> Iterator[tuple[str, str, str]]:
    """A private Neo4j, `lineage-graph serve` and `mlflow server`; yields (our URL, admin token, MLflow URL)."""
    neo4j = LocalNeo4j(home=workdir / "neo4j", cache_dir=Settings().cache_dir, bolt_port=free_port(), heap="1g")
    connection = neo4j.start()
    env = {
        **os.environ,
        "NEO4J_URI": connection.uri,
        "NEO4J_USER": connection.user,
        "NEO4J_PASSWORD": connection.password,
        "LINEAGE_GRAPH_DATA_DIR": str(workdir / "data"),
        "LINEAGE_GRAPH_LOG_LEVEL": "warning",
    }
    port, mlflow_port = free_port(), free_port()
    server = subprocess.Popen([CLI, "serve", "--port", str(port)], env=env)
    mlflow_argv = [
        str(mlflow_python.with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(mlflow_port),
        "--workers", "1", "--backend-store-uri", f"sqlite:///{workdir}/mlflow.db",
        "--artifacts-destination", str(workdir / "artifacts"),
    ]  # fmt: skip
    mlflow = subprocess.Popen(mlflow_argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url, mlflow_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{mlflow_port}"
        _wait(url, server, "/readyz", 90)
        _wait(mlflow_url, mlflow, "/health", 300)
        issued = subprocess.run(
            [CLI, "token", "create", "--name", "bench", "--role", "admin"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        yield url, issued.stdout.strip().splitlines()[-1], mlflow_url
    finally:
        for process in (server, mlflow):
            process.terminate()
            process.wait(timeout=30)
        neo4j.stop()


def through_client(url: str, token: str, group: str, count: int) -> Figure:
    with Client(url, token) as client:
        client.create_model_group(group)
        client.register_model_version(group, "s3://models/warmup.tar.gz")
        began = time.perf_counter()
        for i in range(count):
            client.register_model_version(group, f"s3://models/{group}/{i}.tar.gz", metrics={"auc": 0.9})
        return Figure("Python client", count, time.perf_counter() - began)


def through_cli(url: str, token: str, group: str, count: int) -> Figure:
    with Client(url, token) as client:
        client.create_model_group(group)
    env = {**os.environ, "LINEAGE_GRAPH_URL": url, "LINEAGE_GRAPH_TOKEN": token}
    began = time.perf_counter()
    for i in range(count):
        argv = [CLI, "register", "--group", group, "--artifact", f"s3://models/{group}/{i}", "--metric", "auc=0.9"]
        subprocess.run(argv, env=env, capture_output=True, check=True)
    return Figure("CLI (a process each)", count, time.perf_counter() - began)


def through_mlflow(
    mlflow_python: Path, registry_uri: str, token: str | None, name: str, count: int, door: str
) -> Figure:
    env = {**os.environ, "PYTHONPATH": "", "GIT_PYTHON_REFRESH": "quiet"}
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    done = subprocess.run(
        [str(mlflow_python), str(MLFLOW_DRIVER), registry_uri, name, str(count)],
        env=env, capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the MLflow client failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Figure(door, int(report["registered"]), float(report["seconds"]))


def run(url: str, token: str, mlflow_url: str, mlflow_python: Path, versions: int, cli_versions: int) -> list[Figure]:
    suffix = str(int(time.time()))[-6:]
    figures = [
        through_client(url, token, f"bench-client-{suffix}", versions),
        through_cli(url, token, f"bench-cli-{suffix}", cli_versions),
        through_mlflow(
            mlflow_python, f"{url}/mlflow", token, f"bench-mlflow-{suffix}", versions, "MLflow client → ours"
        ),
        through_mlflow(mlflow_python, mlflow_url, None, f"bench-mlflow-{suffix}", versions, "MLflow client → MLflow"),
    ]
    baseline = figures[-1].per_second
    print(f"{'door':<26} {'versions':>8} {'seconds':>8} {'versions/s':>11} {'vs MLflow server':>17}")
    for f in figures:
        print(
            f"{f.door:<26} {f.registered:>8} {f.seconds:>8.2f} {f.per_second:>11.1f} {f.per_second / baseline:>16.2f}x"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=100, help="registrations per door (client and MLflow)")
    parser.add_argument("--cli-versions", type=int, default=10, help="registrations through the CLI")
    args = parser.parse_args()
    made = subprocess.run([str(ROOT / "scripts" / "mlflow-venv")], capture_output=True, text=True, check=True)
    mlflow_python = Path(made.stdout.strip().splitlines()[-1])
    with (
        tempfile.TemporaryDirectory(prefix="bench-client-") as workdir,
        local_servers(Path(workdir), mlflow_python) as (url, token, mlflow_url),
    ):
        run(url, token, mlflow_url, mlflow_python, args.versions, args.cli_versions)


if __name__ == "__main__":
    main()
