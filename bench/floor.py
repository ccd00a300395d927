"""The framework floor: what a request costs before any graph work, measured against a bare Starlette route.

Runs N concurrent clients for a bounded time against, in turn:

- a bare Starlette route (`GET /` answering a small JSON object, served by Uvicorn in its own process): the
  best this stack can do on this machine;
- `GET /healthz` of `lineage-graph serve` (our middleware, no token, no GraphQL);
- `POST /graphql {__typename}` with a bearer token (token lookup, parse, validation, execution);
- `POST /graphql {serverInfo {version}}` with a bearer token (the load mix's baseline operation).

Each client is `lean_http.LeanHTTP` over its own connection, so the client's CPU is not what is measured.
It prints req/s, p50/p95, the server's CPU per request and the throughput ratio of each to the bare route.
Loopback only.

    .venv/bin/python -m bench.floor --clients 16 --duration 10 [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from bench.load import Tally, _percentile, served

sys.path.insert(0, str(Path(__file__).parent))
from lean_http import LeanHTTP
from server_cpu import tree_cpu_seconds

BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def hello(request):
    return JSONResponse({"data": {"__typename": "Query"}})

app = Starlette(routes=[Route("/", hello)])
"""


@dataclass(frozen=True)
class Target:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    authenticated: bool = False


@contextmanager
def bare_starlette() -> Iterator[tuple[str, int]]:
    """The bare route in its own Uvicorn process, on a free loopback port; yields its URL and pid."""
    from lineage_graph.neo4j_local import free_port

    port = free_port()
    results = Path("bench/results")
    results.mkdir(parents=True, exist_ok=True)
    module = results / "bare_app.py"
    module.write_text(BARE_APP)
    command = [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=results)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the bare Starlette app did not start") from None
                time.sleep(0.2)
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


async def measure(url: str, target: Target, token: str, clients: int, duration: float) -> Tally:
    tally = Tally()
    connections = [LeanHTTP(url, token if target.authenticated else None) for _ in range(clients)]
    body = orjson.dumps(target.body) if target.body is not None else b""
    deadline = time.monotonic() + duration

    async def client(http: LeanHTTP) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status, answer = await (
                    http.post(target.path, body) if target.method == "POST" else http.get(target.path)
                )
                failed = status != 200 or bool(orjson.loads(answer).get("errors"))
            except (OSError, orjson.JSONDecodeError):
                await http.close()
                failed = True
            tally.latencies.append(time.perf_counter() - started)
            if failed:
                tally.fail("error")

    try:
        await asyncio.gather(*(client(http) for http in connections))
    finally:
        for http in connections:
            await http.close()
    return tally


def timed(url: str, target: Target, token: str, clients: int, duration: float, pid: int) -> tuple[Tally, float]:
    """The target's tally and the server's CPU seconds (children included) over it."""
    cpu = tree_cpu_seconds(pid)
    tally = asyncio.run(measure(url, target, token, clients, duration))
    return tally, tree_cpu_seconds(pid) - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per target")
    parser.add_argument("--workers", type=int, default=1, help="processes of `lineage-graph serve`")
    args = parser.parse_args()
    ours = [
        Target("GET /healthz", "GET", "/healthz"),
        Target("{__typename} + token", "POST", "/graphql", {"query": "{ __typename }"}, authenticated=True),
        Target("serverInfo + token", "POST", "/graphql", {"query": "{ serverInfo { version } }"}, authenticated=True),
    ]
    results: list[tuple[str, Tally, float]] = []
    with bare_starlette() as (bare_url, bare_pid):
        bare = Target("bare", "GET", "/")
        asyncio.run(measure(bare_url, bare, "", args.clients, 1.0))  # warm-up
        results.append(("bare Starlette route", *timed(bare_url, bare, "", args.clients, args.duration, bare_pid)))
    with served(args.workers) as (url, token, pid):
        for target in ours:
            asyncio.run(measure(url, target, token, args.clients, 1.0))  # warm-up: caches, connections
            results.append((target.name, *timed(url, target, token, args.clients, args.duration, pid)))
    floor = len(results[0][1].latencies) / args.duration
    print(f"{args.clients} clients, {args.duration:.0f} s per target, {args.workers} server worker(s)")
    print(f"{'target':<26}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'CPU ms/req':>12}{'errors':>8}{'vs bare':>10}")
    for name, tally, cpu in results:
        rate = len(tally.latencies) / args.duration
        ms = [value * 1000 for value in tally.latencies] or [0.0]
        per_request = 1000 * cpu / len(tally.latencies) if tally.latencies else 0.0
        print(
            f"{name:<26}{rate:>10.1f}{_percentile(ms, 50):>10.1f}{_percentile(ms, 95):>10.1f}{per_request:>12.3f}"
            f"{tally.errors:>8}{rate / floor:>10.2f}"
        )
    return 1 if any(tally.errors for _, tally, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
