"""Load harness: N concurrent GraphQL clients against a running `lineage-graph serve`, for a bounded time.

Prints throughput and p50/p95/p99 latency per operation and the error count, then stops by itself.
Loopback only: it refuses any other host.

    # let it start `lineage-graph serve` on a free port (NEO4J_URI, or the managed Neo4j) and issue itself an
    # admin token with `lineage-graph token create`:
    .venv/bin/python bench/load.py --serve --clients 16 --duration 20
    # or against a server you started (e.g. `lineage-graph serve --port 8100`), with an admin token:
    LINEAGE_GRAPH_TOKEN=... .venv/bin/python bench/load.py --url http://127.0.0.1:8100 --clients 16 --duration 20

It first seeds two model groups with versions and their lineage (uniquely named, so it can run again on the same
database), then measures. The mix is `operations()`: add an `Operation` (name, weight, and a function building
the request from a per-client random generator and a sequence number) to load a new query or mutation.

Each client posts over its own keep-alive connection through `lean_http.LeanHTTP` (httptools and orjson): the
bench shares the machine's cores with the server and Neo4j, and httpx had spent 2.5-3 ms of them per request.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from lean_http import LeanHTTP

Request = dict[str, Any]


@dataclass(frozen=True)
class Operation:
    name: str
    weight: int
    build: Callable[[random.Random, int], Request]


@dataclass(frozen=True)
class Seed:
    """What `seed()` registered, for the operations to read and to build on."""

    groups: list[str]
    version_ids: list[str]  # global ids of the seeded model versions
    features: list[dict[str, str]]  # dataset version keys (namespace, name, version) models are trained on


SEED_GROUPS = ("load-churn", "load-fraud")
SEED_VERSIONS = 5  # per group: each trained by its own run on a feature set derived from a raw snapshot
SEARCH_TERMS = ("churn", "fraud", "gradient boosting", "features", "baseline")

MODEL_VERSIONS = """
query ModelVersions($group: String) {
  modelVersions(filter: {group: $group}, first: 20, sort: CREATED_AT, direction: DESC) {
    totalCount
    nodes { id version artifactUri approvalStatus group { name versionCount } trainedOn { id name version } }
  }
}
"""
LINEAGE = """
query Lineage($id: ID!) {
  lineage(id: $id, depth: 5) { nodes { id kind displayName distance } edges { source target type } truncated }
}
"""
SEARCH = "query Search($text: String!) { search(text: $text, first: 10) { score node { id } } }"
REGISTER = """
mutation Register($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { id version } }
"""
RECORD_RUN = "mutation RecordRun($input: RecordRunInput!) { recordRun(input: $input) { id runId } }"
CREATE_GROUP = "mutation Group($input: CreateModelGroupInput!) { createModelGroup(input: $input) { name } }"


def _unique() -> str:
    # Unique across clients and runs (warm-up included), so every write creates something new.
    return uuid.uuid4().hex[:12]


def _register_input(group: str, features: dict[str, str], run_id: str, token: str, description: str) -> Request:
    return {
        "group": group,
        "artifactUri": f"s3://load-models/{group}/{token}/model.tar.gz",
        "framework": "xgboost",
        "frameworkVersion": "2.1",
        "description": description,
        "hyperparameters": {"max_depth": 6, "eta": 0.1},
        "metrics": [{"name": "auc", "value": 0.9, "split": "validation"}],
        "tags": ["load"],
        "trainedOnDatasets": [features],
        "producedBy": {"runId": run_id},
        "code": {"repository": "github.com/example/models", "commit": _unique(), "branch": "main"},
        "clientToken": token,
    }


def _run_input(run_id: str, kind: str, inputs: list[dict[str, str]], outputs: list[dict[str, str]]) -> Request:
    return {
        "runId": run_id,
        "job": {"namespace": "load", "name": f"{kind.lower()}-job"},
        "kind": kind,
        "status": "COMPLETED",
        "parameters": {"sample": "0.5"},
        "metrics": [{"name": "rows", "value": 1000.0}],
        "inputDatasets": inputs,
        "outputDatasets": outputs,
    }


def operations(seed: Seed) -> list[Operation]:
    """The weighted mix: mostly reads (lists, lineage, search), some registrations and runs."""

    def model_versions(rng: random.Random, n: int) -> Request:
        return {"query": MODEL_VERSIONS, "variables": {"group": rng.choice([None, *seed.groups])}}

    def lineage(rng: random.Random, n: int) -> Request:
        return {"query": LINEAGE, "variables": {"id": rng.choice(seed.version_ids)}}

    def search(rng: random.Random, n: int) -> Request:
        return {"query": SEARCH, "variables": {"text": rng.choice(SEARCH_TERMS)}}

    def register(rng: random.Random, n: int) -> Request:
        token = _unique()
        features = rng.choice(seed.features)
        return {
            "query": REGISTER,
            "variables": {
                "input": _register_input(rng.choice(seed.groups), features, f"load-train-{token}", token, "load")
            },
        }

    def record_run(rng: random.Random, n: int) -> Request:
        run_id = f"load-eval-{_unique()}"
        output = {"namespace": "s3://load-data", "name": "evaluations", "version": run_id}
        return {
            "query": RECORD_RUN,
            "variables": {"input": _run_input(run_id, "EVALUATION", [rng.choice(seed.features)], [output])},
        }

    return [
        Operation("serverInfo", 1, lambda rng, n: {"query": "query ServerInfo { serverInfo { version } }"}),
        Operation("modelVersions", 4, model_versions),
        Operation("lineage", 3, lineage),
        Operation("search", 3, search),
        Operation("registerModelVersion", 1, register),
        Operation("recordRun", 1, record_run),
    ]


def seed(url: str, token: str) -> Seed:
    """Groups, and versions with lineage 4 edges deep (raw -> prep run -> features -> train run -> model)."""
    batch = _unique()
    version_ids: list[str] = []
    features: list[dict[str, str]] = []
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:

        def call(query: str, variables: Request) -> Request:
            response = http.post("/graphql", json={"query": query, "variables": variables})
            body: Request = response.json()
            if response.status_code != 200 or body.get("errors"):
                raise SystemExit(f"seeding failed: HTTP {response.status_code} {response.text[:500]}")
            data: Request = body["data"]
            return data

        groups = [f"{name}-{batch}" for name in SEED_GROUPS]
        for group, topic in zip(groups, SEED_GROUPS, strict=True):
            call(CREATE_GROUP, {"input": {"name": group, "description": f"{topic[5:]} model", "tags": ["load"]}})
            for i in range(SEED_VERSIONS):
                version = f"{batch}-{i}"
                raw = {"namespace": "s3://load-data", "name": f"{topic}-raw", "version": version}
                feats = {"namespace": "s3://load-data", "name": f"{topic}-features", "version": version}
                call(RECORD_RUN, {"input": _run_input(f"{topic}-prep-{version}", "PROCESSING", [raw], [feats])})
                train_run = f"{topic}-train-{version}"
                call(RECORD_RUN, {"input": _run_input(train_run, "TRAINING", [feats], [])})
                description = f"{topic[5:]} gradient boosting baseline {i}"
                created = call(
                    REGISTER, {"input": _register_input(group, feats, train_run, f"{version}-{topic}", description)}
                )
                version_ids.append(created["registerModelVersion"]["id"])
                features.append(feats)
        # The lineage reads must walk the whole chain, or they measure less than they claim.
        traced = call(LINEAGE, {"id": version_ids[0]})["lineage"]["nodes"]
        if max(node["distance"] for node in traced) < 4:
            raise SystemExit(f"seeded lineage is shallower than 4 edges: {traced}")
    return Seed(groups, version_ids, features)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def fail(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def _error_kind(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}"
    errors = orjson.loads(body).get("errors")
    if errors:
        return str((errors[0].get("extensions") or {}).get("code", "GRAPHQL"))
    return None


async def _client(
    url: str, token: str, seed: int, deadline: float, tallies: dict[str, Tally], operations: list[Operation]
) -> None:
    """One client: requests one after the other over its own keep-alive connection."""
    rng = random.Random(seed)
    weights = [op.weight for op in operations]
    http = LeanHTTP(url, token)
    n = 0
    try:
        while time.monotonic() < deadline:
            op = rng.choices(operations, weights)[0]
            n += 1
            started = time.perf_counter()
            try:
                kind = _error_kind(*await asyncio.wait_for(http.post("/graphql", orjson.dumps(op.build(rng, n))), 30))
            except (OSError, TimeoutError) as exc:
                kind = type(exc).__name__
                await http.close()
            elapsed = time.perf_counter() - started
            tally = tallies[op.name]
            tally.latencies.append(elapsed)
            if kind is not None:
                tally.fail(kind)
    finally:
        await http.close()


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(tallies: dict[str, Tally], seconds: float, clients: int) -> str:
    lines = [
        f"{clients} clients, {seconds:.1f} s",
        f"{'operation':<24}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'errors':>8}",
    ]
    total = Tally()
    for name, tally in tallies.items():
        total.latencies += tally.latencies
        total.errors += tally.errors
        lines.append(_row(name, tally, seconds))
    lines.append(_row("all", total, seconds))
    kinds = {kind: count for tally in tallies.values() for kind, count in tally.error_kinds.items()}
    if kinds:
        lines.append("errors by kind: " + ", ".join(f"{kind}={count}" for kind, count in sorted(kinds.items())))
    return "\n".join(lines)


def _row(name: str, tally: Tally, seconds: float) -> str:
    count = len(tally.latencies)
    if count == 0:
        return f"{name:<24}{0:>10}"
    ms = [value * 1000 for value in tally.latencies]
    return (
        f"{name:<24}{count:>10}{count / seconds:>10.1f}{_percentile(ms, 50):>10.1f}"
        f"{_percentile(ms, 95):>10.1f}{_percentile(ms, 99):>10.1f}{tally.errors:>8}"
    )


async def run(url: str, token: str, clients: int, duration: float, operations: list[Operation]) -> dict[str, Tally]:
    tallies = {op.name: Tally() for op in operations}
    deadline = time.monotonic() + duration
    await asyncio.gather(*(_client(url, token, seed, deadline, tallies, operations) for seed in range(clients)))
    return tallies


def _require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to load {host!r}: bench/load.py runs against loopback only")


@contextmanager
def served(workers: int = 1) -> Iterator[tuple[str, str, int]]:
    """`lineage-graph serve --workers N` on a free loopback port, logging to a file, stopped on exit; yields its
    URL, an admin token issued by `lineage-graph token create` against the same Neo4j, and the server's pid."""
    from lineage_graph.neo4j_local import free_port

    port = free_port()
    log = Path("bench/results")
    log.mkdir(parents=True, exist_ok=True)
    cli = Path(sys.executable).with_name("lineage-graph")
    env = {**os.environ, "LINEAGE_GRAPH_LOG_LEVEL": "warning"}
    with (log / "load-server.log").open("w") as out:
        command = [str(cli), "serve", "--port", str(port), "--workers", str(workers)]
        server = subprocess.Popen(command, env=env, stdout=out, stderr=out)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 240
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start; see {log / 'load-server.log'}")
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            yield url, _create_token(cli, env), server.pid
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)


def _create_token(cli: Path, env: dict[str, str]) -> str:
    name = f"load-bench-{_unique()}"
    created = subprocess.run(
        [str(cli), "token", "create", "--name", name, "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if created.returncode != 0:
        raise SystemExit(f"`lineage-graph token create` failed:\n{created.stdout}{created.stderr}")
    return created.stdout.strip().splitlines()[-1]  # the secret is printed last, on its own line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="base URL of a running server (loopback)")
    target.add_argument("--serve", action="store_true", help="start `lineage-graph serve` on a free port")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="server processes for --serve")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument(
        "--token",
        default=os.environ.get("LINEAGE_GRAPH_TOKEN"),
        help="admin API token for --url ($LINEAGE_GRAPH_TOKEN)",
    )
    args = parser.parse_args()

    def measure(url: str, token: str) -> dict[str, Tally]:
        _require_loopback(url)
        mix = operations(seed(url, token))
        if args.warmup > 0:
            asyncio.run(run(url, token, args.clients, args.warmup, mix))
        return asyncio.run(run(url, token, args.clients, args.duration, mix))

    if args.serve:
        with served(args.workers) as (url, token, _):
            tallies = measure(url, token)
    else:
        if not args.token:
            parser.error("--url needs an admin token: --token or LINEAGE_GRAPH_TOKEN")
        tallies = measure(args.url, args.token)
    print(f"{args.workers if args.serve else '?'} server worker(s)")
    print(report(tallies, args.duration, args.clients))
    return 1 if any(tally.errors for tally in tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
