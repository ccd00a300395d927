"""Side by side with MLflow's model registry server: the same registry work against both, in one run.

It starts `mlflow server` (from its own virtualenv, `scripts/mlflow-venv`, with a SQLite backend in a
temporary directory, or with `--mlflow-backend postgresql` on a private PostgreSQL cluster, see
bench/postgres_local.py) and `lineage-graph serve`, both on loopback, and runs each row on both systems back to
back, in `--rounds` interleaved rounds (the machine may be shared: a pair sees the same load):

- registers `--versions` versions into a fresh model with 1 client, then into another with `--clients` clients
  (MLflow: `model-versions/create`; lineage-graph: `registerModelVersion` with the same minimal fields);
- registers `--versions` versions with what trained them, `--clients` at a time: the run, its hyperparameters,
  a metric, the commit and the training dataset (MLflow: five calls, `runs/create`, `runs/log-batch`,
  `runs/log-inputs`, `model-versions/create` with the run id and `runs/update` to finish the run;
  lineage-graph: one `registerModelVersion`);
- gets one version `--requests` times (`model-versions/get` / `modelVersion(group, version)`);
- lists a model's versions with a filter, 100 at a time, `--requests` times (`model-versions/search` with
  `name='…'` / `modelVersions(filter: {group}, first: 100)`);
- sends each system's cheapest request `--requests` times ten (MLflow's `GET /health`, which reads nothing; a
  `{__typename}` document with the bearer token, whose lookup is all the server does);

Every client, on either side, is `lean_http.LeanHTTP` over its own keep-alive connection: httpx spent 2.5-3 ms of
the machine's CPU per request (more for a JSON POST than for MLflow's bare GETs), which the servers then lacked.

It prints ops/s, p50/p95, each server's CPU per operation (its children included: the managed Neo4j, MLflow's job
runners; a PostgreSQL cluster's postmaster and backends count as MLflow's), errors, and the version-number
anomalies of the concurrent registration (duplicate numbers, gaps, versions missing) with the throughput ratio
lineage-graph / MLflow per row (the median of the rounds' ratios).

    .venv/bin/python -m bench.mlflow_registry --versions 500 --clients 16 --requests 300
    .venv/bin/python -m bench.mlflow_registry --clients 16 --mlflow-backend postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
import orjson
from bench.load import _percentile, served

from lineage_graph.neo4j_local import free_port

sys.path.insert(0, str(Path(__file__).parent))
from lean_http import LeanHTTP
from postgres_local import postgres_database
from server_cpu import tree_cpu_seconds

REGISTER = (
    "mutation($g: String!, $uri: String!) { registerModelVersion(input: {group: $g, artifactUri: $uri}) { version } }"
)
GET = "query($g: String!, $v: Int!) { modelVersion(group: $g, version: $v) { id version artifactUri approvalStatus } }"
REGISTER_TRAINED = "mutation($in: RegisterModelVersionInput!) { registerModelVersion(input: $in) { version } }"
LIST = """query($g: String!) { modelVersions(filter: {group: $g}, first: 100) {
  totalCount nodes { version artifactUri approvalStatus createdAt } } }"""


@dataclass(frozen=True)
class Training:
    """What trained version `n` of `model`: the same facts, sent to each system its own way."""

    model: str
    n: int
    # Every registration's run is new on both sides, in every round: MLflow's `runs/create` makes one each time.
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def run_id(self) -> str:
        return f"{self.model}-train-{self.token}"

    @property
    def artifact_uri(self) -> str:
        return f"s3://bench-models/{self.model}/{self.n}/model.tar.gz"

    @property
    def dataset(self) -> tuple[str, str, str]:
        """(namespace, name, version) of the training data."""
        return "s3://bench-data", f"{self.model}-features", f"v{self.n % 10}"

    commit = "4f2a9c1"
    repository = "github.com/example/models"
    hyperparameters = {"max_depth": "6", "eta": "0.1"}
    auc = 0.91


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the server's, children included (bench/server_cpu.py)

    @property
    def rate(self) -> float:
        """Operations that succeeded, per second: a refused one did not do the work."""
        return (len(self.latencies) - self.errors) / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_op(self) -> float:
        return 1000 * self.cpu_seconds / len(self.latencies) if self.latencies else 0.0


class Registry(Protocol):
    name: str
    refusals: Counter[str]  # why requests failed: the operation, the HTTP status, the error code

    async def create_model(self, http: LeanHTTP, model: str) -> None: ...
    async def register(self, http: LeanHTTP, model: str, n: int) -> int | None: ...
    async def register_trained(self, http: LeanHTTP, model: str, n: int) -> int | None: ...
    async def get(self, http: LeanHTTP, model: str, version: int) -> bool: ...
    async def search(self, http: LeanHTTP, model: str) -> bool: ...
    async def cheapest(self, http: LeanHTTP) -> bool: ...
    async def versions(self, http: LeanHTTP, model: str) -> list[int]: ...


class MlflowRegistry:
    name = "MLflow"
    prefix = "/api/2.0/mlflow"

    def __init__(self) -> None:
        self.refusals: Counter[str] = Counter()

    def _answer(self, operation: str, status: int, answer: bytes) -> dict[str, Any] | None:
        if status == 200:
            body: dict[str, Any] = orjson.loads(answer)
            return body
        try:
            error = orjson.loads(answer)
            code = f"{error.get('error_code', '')} {error.get('message', '')}"
        except orjson.JSONDecodeError:
            code = answer.decode(errors="replace")
        # One line of the report per reason: the database's messages run over several (PostgreSQL's DETAIL).
        self.refusals[f"{operation}: HTTP {status} {' '.join(code.split())[:120]}"] += 1
        return None

    async def _post(self, http: LeanHTTP, operation: str, body: dict[str, Any]) -> dict[str, Any] | None:
        status, answer = await http.post(f"{self.prefix}/{operation}", orjson.dumps(body))
        return self._answer(operation, status, answer)

    async def _get(self, http: LeanHTTP, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        status, answer = await http.get(f"{self.prefix}/{operation}?{urlencode(params)}")
        return self._answer(operation, status, answer)

    async def create_model(self, http: LeanHTTP, model: str) -> None:
        if await self._post(http, "registered-models/create", {"name": model}) is None:
            raise SystemExit(f"could not create MLflow model {model}")

    async def register(self, http: LeanHTTP, model: str, n: int) -> int | None:
        body = {"name": model, "source": f"s3://bench-models/{model}/{n}/model.tar.gz"}
        created = await self._post(http, "model-versions/create", body)
        return None if created is None else int(created["model_version"]["version"])

    async def register_trained(self, http: LeanHTTP, model: str, n: int) -> int | None:
        """MLflow's way: a run in the default experiment, its parameters, metric and commit tag in one batch,
        the dataset as a run input, the version from the run, then the run finished."""
        t = Training(model, n)
        now = int(time.time() * 1000)
        run = await self._post(http, "runs/create", {"experiment_id": "0", "run_name": t.run_id, "start_time": now})
        if run is None:
            return None
        run_id = run["run"]["info"]["run_id"]
        batch = {
            "run_id": run_id,
            "params": [{"key": k, "value": v} for k, v in t.hyperparameters.items()],
            "metrics": [{"key": "auc", "value": t.auc, "timestamp": now, "step": 0}],
            "tags": [
                {"key": "mlflow.source.git.commit", "value": t.commit},
                {"key": "mlflow.source.git.repoURL", "value": t.repository},
            ],
        }
        namespace, name, version = t.dataset
        dataset = {"name": name, "digest": version, "source_type": "s3", "source": f"{namespace}/{name}/{version}"}
        inputs = {"run_id": run_id, "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "training"}],
                                                  "dataset": dataset}]}  # fmt: skip
        if await self._post(http, "runs/log-batch", batch) is None:
            return None
        if await self._post(http, "runs/log-inputs", inputs) is None:
            return None
        created = await self._post(
            http, "model-versions/create", {"name": model, "source": t.artifact_uri, "run_id": run_id}
        )
        finished = {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)}
        if created is None or await self._post(http, "runs/update", finished) is None:
            return None
        return int(created["model_version"]["version"])

    async def get(self, http: LeanHTTP, model: str, version: int) -> bool:
        return await self._get(http, "model-versions/get", {"name": model, "version": version}) is not None

    async def search(self, http: LeanHTTP, model: str) -> bool:
        found = await self._get(http, "model-versions/search", {"filter": f"name='{model}'", "max_results": 100})
        return found is not None and len(found.get("model_versions", [])) > 0

    async def cheapest(self, http: LeanHTTP) -> bool:
        status, _ = await http.get("/health")
        return status == 200

    async def versions(self, http: LeanHTTP, model: str) -> list[int]:
        found: list[int] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"filter": f"name='{model}'", "max_results": 1000}
            if token:
                params["page_token"] = token
            page = await self._get(http, "model-versions/search", params)
            if page is None:
                return found
            found += [int(v["version"]) for v in page.get("model_versions", [])]
            token = page.get("next_page_token")
            if not token:
                return found


class LineageGraphRegistry:
    name = "lineage-graph"

    def __init__(self) -> None:
        self.refusals: Counter[str] = Counter()

    async def _call(self, http: LeanHTTP, query: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        status, answer = await http.post("/graphql", orjson.dumps({"query": query, "variables": variables}))
        body: dict[str, Any] = orjson.loads(answer)
        if status != 200 or body.get("errors"):
            codes = {e.get("extensions", {}).get("code", "") for e in body.get("errors") or [{}]}
            operation = query.split("{", 2)[1].split("(")[0].strip() or query[:40]
            self.refusals[f"{operation}: HTTP {status} {' '.join(sorted(codes))}"] += 1
            return None
        data: dict[str, Any] = body["data"]
        return data

    async def create_model(self, http: LeanHTTP, model: str) -> None:
        created = await self._call(
            http, "mutation($g: String!) { createModelGroup(input: {name: $g}) { name } }", {"g": model}
        )
        if created is None:
            raise SystemExit(f"could not create model group {model}")

    async def register(self, http: LeanHTTP, model: str, n: int) -> int | None:
        data = await self._call(http, REGISTER, {"g": model, "uri": f"s3://bench-models/{model}/{n}/model.tar.gz"})
        return None if data is None else int(data["registerModelVersion"]["version"])

    async def register_trained(self, http: LeanHTTP, model: str, n: int) -> int | None:
        t = Training(model, n)
        namespace, name, version = t.dataset
        registration = {
            "group": model,
            "artifactUri": t.artifact_uri,
            "hyperparameters": t.hyperparameters,
            "metrics": [{"name": "auc", "value": t.auc}],
            "trainedOnDatasets": [{"namespace": namespace, "name": name, "version": version}],
            "producedBy": {"runId": t.run_id},
            "code": {"repository": t.repository, "commit": t.commit},
        }
        data = await self._call(http, REGISTER_TRAINED, {"in": registration})
        return None if data is None else int(data["registerModelVersion"]["version"])

    async def get(self, http: LeanHTTP, model: str, version: int) -> bool:
        data = await self._call(http, GET, {"g": model, "v": version})
        return data is not None and data["modelVersion"] is not None

    async def search(self, http: LeanHTTP, model: str) -> bool:
        data = await self._call(http, LIST, {"g": model})
        return data is not None and len(data["modelVersions"]["nodes"]) > 0

    async def cheapest(self, http: LeanHTTP) -> bool:
        data = await self._call(http, "{ __typename }", {})
        return data is not None and data["__typename"] == "Query"

    async def versions(self, http: LeanHTTP, model: str) -> list[int]:
        found: list[int] = []
        after: str | None = None
        while True:
            data = await self._call(
                http,
                """query($g: String!, $after: String) { modelVersions(filter: {group: $g}, first: 100, after: $after) {
                   pageInfo { hasNextPage endCursor } nodes { version } } }""",
                {"g": model, "after": after},
            )
            if data is None:
                return found
            page = data["modelVersions"]
            found += [v["version"] for v in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]


Op = Callable[[LeanHTTP, int], Awaitable[bool]]


async def _timed(count: int, connections: list[LeanHTTP], op: Op) -> Result:
    """Run `op(connection, 0..count-1)` with one concurrent worker per connection, each taking the next item."""
    result = Result()
    items = iter(range(count))

    async def worker(http: LeanHTTP) -> None:
        for n in items:
            started = time.perf_counter()
            try:
                ok = await op(http, n)
            except (OSError, orjson.JSONDecodeError):  # a refused or cut connection, or a body that is not JSON
                await http.close()
                ok = False
            result.latencies.append(time.perf_counter() - started)
            if not ok:
                result.errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(http) for http in connections))
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class Side:
    """One system under test: its server's pids, its clients' connections and the models the rows write into."""

    registry: Registry
    pids: tuple[int, ...]
    connections: list[LeanHTTP]
    serial: str
    parallel: str
    trained: str

    async def close(self) -> None:
        for http in self.connections:
            await http.close()


async def prepare(registry: Registry, pids: tuple[int, ...], connections: list[LeanHTTP], warm_up: int = 3) -> Side:
    http = connections[0]
    batch = uuid.uuid4().hex[:8]
    serial, parallel, trained, warm = (f"bench-{kind}-{batch}" for kind in ("serial", "parallel", "trained", "warm"))
    for model in (serial, parallel, trained, warm):
        await registry.create_model(http, model)
    # Warm-up, not measured: lazy imports, first query plans, connection pools; with a larger `warm_up`, also the
    # JIT compilation of a freshly started JVM (Neo4j's), which goes on for its first few thousand writes.
    for n in range(warm_up):
        await registry.register(http, warm, n)
        await registry.register_trained(http, warm, n)
        if n < 3 or n % 5 == 0:
            await registry.get(http, warm, 1)
            await registry.search(http, warm)
    return Side(registry, pids, connections, serial, parallel, trained)


Row = Callable[[Side], Awaitable[Result]]
PARALLEL = "register {} versions at once, {}"
TRAINED = "register {} with run, data, metric, {}"


def _clients(n: int) -> str:
    return "1 client" if n == 1 else f"{n} clients"


@dataclass(frozen=True)
class Served:
    """A server the bench started: where it listens, the token it takes (MLflow's takes none), and the pids
    whose CPU is its work: its own (with children such as our managed Neo4j), and its database's when that runs
    apart (PostgreSQL)."""

    url: str
    token: str | None
    pids: tuple[int, ...]


def rows(versions: int, clients: int, requests: int) -> dict[str, Row]:
    def register_into(side: Side, model: str) -> Op:
        async def op(http: LeanHTTP, n: int) -> bool:
            return await side.registry.register(http, model, n) is not None

        return op

    async def trained(side: Side) -> Result:
        async def op(http: LeanHTTP, n: int) -> bool:
            return await side.registry.register_trained(http, side.trained, n) is not None

        return await _timed(versions, side.connections[:clients], op)

    async def serial(side: Side) -> Result:
        return await _timed(versions, side.connections[:1], register_into(side, side.serial))

    async def parallel(side: Side) -> Result:
        return await _timed(versions, side.connections[:clients], register_into(side, side.parallel))

    async def get(side: Side) -> Result:
        middle = max(versions // 2, 1)  # registered by the first round's serial row
        return await _timed(
            requests, side.connections[:clients], lambda http, n: side.registry.get(http, side.serial, middle)
        )

    async def search(side: Side) -> Result:
        return await _timed(
            requests, side.connections[:clients], lambda http, n: side.registry.search(http, side.serial)
        )

    async def cheapest(side: Side) -> Result:
        # Ten times as many: at 1-2k requests/s, `requests` of them are over in a fraction of a second, where
        # one garbage collection or background poll on either side decides the ratio.
        count = 10 * requests
        return await _timed(count, side.connections[:clients], lambda http, n: side.registry.cheapest(http))

    return {
        f"register {versions} versions, 1 client": serial,
        PARALLEL.format(versions, _clients(clients)): parallel,
        TRAINED.format(versions, _clients(clients)): trained,
        f"get one version, {_clients(clients)}": get,
        f"list 100 versions by model, {_clients(clients)}": search,
        f"cheapest request, {_clients(clients)}": cheapest,
    }


@dataclass
class Measured:
    """A row's results for both systems over every round, and the throughput ratio of each round."""

    ours: Result = field(default_factory=Result)
    theirs: Result = field(default_factory=Result)
    ratios: list[float] = field(default_factory=list)
    anomalies: dict[str, str] = field(default_factory=dict)
    refusals: dict[str, Counter[str]] = field(default_factory=lambda: {"ours": Counter(), "theirs": Counter()})


def _add(total: Result, part: Result) -> None:
    total.latencies += part.latencies
    total.errors += part.errors
    total.seconds += part.seconds
    total.cpu_seconds += part.cpu_seconds


async def interleaved(ours: Side, theirs: Side, table: dict[str, Row], rounds: int) -> dict[str, Measured]:
    """Each round runs every row on both systems back to back, alternating which goes first, so a change in
    the machine's load (it is shared) hits both sides of a pair alike; the ratio reported is the median of the
    rounds' ratios."""
    measured = {work: Measured() for work in table}
    for round_ in range(rounds):
        for work, row in table.items():
            pair: dict[str, Result] = {}
            order = [("ours", ours), ("theirs", theirs)]
            for name, side in order if round_ % 2 == 0 else order[::-1]:
                cpu, refused = tree_cpu_seconds(*side.pids), side.registry.refusals.copy()
                pair[name] = await row(side)
                pair[name].cpu_seconds = tree_cpu_seconds(*side.pids) - cpu
                measured[work].refusals[name] += side.registry.refusals - refused
            _add(measured[work].ours, pair["ours"])
            _add(measured[work].theirs, pair["theirs"])
            if pair["theirs"].rate:
                measured[work].ratios.append(pair["ours"].rate / pair["theirs"].rate)
    return measured


def anomalies(numbers: list[int], expected: int) -> str:
    duplicates = len(numbers) - len(set(numbers))
    distinct = sorted(set(numbers))
    gaps = (distinct[-1] - len(distinct)) if distinct else 0
    return f"dup={duplicates} gaps={gaps} missing={max(expected - len(distinct), 0)}"


async def exercise(
    ours: Served,
    theirs: Served,
    versions: int,
    clients: int,
    requests: int,
    rounds: int,
    warm_up: int = 3,
) -> dict[str, Measured]:
    our_clients = [LeanHTTP(ours.url, ours.token) for _ in range(clients)]
    our_side = await prepare(LineageGraphRegistry(), ours.pids, our_clients, warm_up)
    their_side = await prepare(MlflowRegistry(), theirs.pids, [LeanHTTP(theirs.url) for _ in range(clients)], warm_up)
    try:
        table = rows(versions, clients, requests)
        measured = await interleaved(our_side, their_side, table, rounds)
        # The rows where `clients` register into one model at once: their version numbers, as each system lists them.
        for work, model in (
            (PARALLEL.format(versions, _clients(clients)), "parallel"),
            (TRAINED.format(versions, _clients(clients)), "trained"),
        ):
            concurrent = measured[work]
            for name, side, result in (("ours", our_side, concurrent.ours), ("theirs", their_side, concurrent.theirs)):
                found = await side.registry.versions(side.connections[0], getattr(side, model))
                concurrent.anomalies[name] = anomalies(found, versions * rounds - result.errors)
    finally:
        await our_side.close()
        await their_side.close()
    return measured


def mlflow_python() -> str:
    """The MLflow virtualenv's python: $MLFLOW_PYTHON, or scripts/mlflow-venv (creates it once)."""
    configured = os.environ.get("MLFLOW_PYTHON")
    if configured:
        return configured
    made = subprocess.run(["scripts/mlflow-venv"], capture_output=True, text=True, timeout=1800)
    if made.returncode != 0:
        raise SystemExit(f"scripts/mlflow-venv failed:\n{made.stderr[-2000:]}")
    return made.stdout.strip().splitlines()[-1]


BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL (its CPU counted as MLflow's)"}


@contextmanager
def backend_store(kind: str, home: str) -> Iterator[tuple[str, tuple[int, ...]]]:
    """MLflow's backend store: a SQLite file in `home`, or a private PostgreSQL cluster (bench/postgres_local.py).
    Yields its URI and the pids of a database that runs apart from MLflow's server (none for SQLite, which runs
    inside it)."""
    if kind == "sqlite":
        yield f"sqlite:///{home}/mlflow.db", ()
        return
    with postgres_database(free_port()) as cluster:
        yield cluster.url, (cluster.pid,)


@contextmanager
def mlflow_server(python: str, workers: int, backend: str = "sqlite") -> Iterator[tuple[str, tuple[int, ...]]]:
    """`mlflow server` with a fresh `backend` store on a free loopback port, stopped on exit; yields its URL and
    the pids of its server and its database."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as home, backend_store(backend, home) as (store, db):
        log = Path("bench/results")
        log.mkdir(parents=True, exist_ok=True)
        command = [
            python, "-m", "mlflow", "server",
            "--backend-store-uri", store,
            "--default-artifact-root", f"{home}/artifacts",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        ]  # fmt: skip
        with (log / "mlflow-server.log").open("w") as out:
            server = subprocess.Popen(command, stdout=out, stderr=out, start_new_session=True)
            url = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 300
                while True:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"mlflow server did not start; see {log / 'mlflow-server.log'}")
                    try:
                        if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.5)
                yield url, (server.pid, *db)
            finally:
                # MLflow's server runs workers in its process group; stop them all, firmly if they linger.
                with suppress(ProcessLookupError):  # it may have exited already (a start that failed)
                    os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait(timeout=20)


def report(measured: dict[str, Measured]) -> str:
    w = max(len(work) for work in measured) + 2
    lines = [
        f"{'work':<{w}}{'system':<15}{'ops/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'CPU ms/op':>11}{'errors':>8}  anomalies",
    ]
    for work, m in measured.items():
        for system, key, result in (("lineage-graph", "ours", m.ours), ("MLflow", "theirs", m.theirs)):
            ms = [value * 1000 for value in result.latencies] or [0.0]
            lines.append(
                f"{work:<{w}}{system:<15}{result.rate:>9.1f}{_percentile(ms, 50):>9.1f}{_percentile(ms, 95):>9.1f}"
                f"{result.cpu_ms_per_op:>11.2f}"
                f"{result.errors:>8}  {m.anomalies.get(key, '')}"
            )
        ratio = statistics.median(m.ratios) if m.ratios else float("inf")
        spread = f"{min(m.ratios):.2f}-{max(m.ratios):.2f}" if m.ratios else "-"
        for key, system in (("ours", "lineage-graph"), ("theirs", "MLflow")):
            for reason, count in m.refusals[key].most_common():
                lines.append(f"{'':<{w}}{'refused':<15}{count:>9}  {system}: {reason}")
        lines.append(
            f"{'':<{w}}{'ratio':<15}{ratio:>9.2f}  (lineage-graph / MLflow throughput, median of {len(m.ratios)} "
            f"paired rounds, range {spread})"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=500, help="versions registered per registration row")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=300, help="requests per read row")
    parser.add_argument("--workers", type=int, default=1, help="server processes of each system")
    parser.add_argument("--mlflow-workers", type=int, help="MLflow's server processes (default: --workers)")
    parser.add_argument(
        "--mlflow-backend",
        choices=tuple(BACKEND_NAMES),
        default="sqlite",
        help="MLflow's backend store (default: sqlite)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every row")
    parser.add_argument(
        "--warm-up", type=int, default=3, help="registrations per system before the rounds, not measured (default 3)"
    )
    args = parser.parse_args()
    python = mlflow_python()
    mlflow_workers = args.mlflow_workers or args.workers
    with (
        mlflow_server(python, mlflow_workers, args.mlflow_backend) as (mlflow_url, mlflow_pids),
        served(args.workers) as (url, token, pid),
    ):
        ours, theirs = Served(url, token, (pid,)), Served(mlflow_url, None, mlflow_pids)
        measured = asyncio.run(
            exercise(ours, theirs, args.versions, args.clients, args.requests, args.rounds, args.warm_up)
        )
    print(
        f"{args.workers} lineage-graph worker(s), {mlflow_workers} MLflow worker(s); "
        f"MLflow with {BACKEND_NAMES[args.mlflow_backend]}, "
        f"lineage-graph with Neo4j; same machine, same run, "
        f"{args.rounds} interleaved rounds after {args.warm_up} warm-up registrations each; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(report(measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
