"""Load harness: N concurrent GraphQL clients against a running `lineage-graph serve`, for a bounded time.

Prints throughput and p50/p95/p99 latency per operation and the error count, then stops by itself.
Loopback only: it refuses any other host.

    # against a server you started (e.g. `lineage-graph serve --port 8100`):
    .venv/bin/python bench/load.py --url http://127.0.0.1:8100 --clients 16 --duration 20
    # or let it start `lineage-graph serve` on a free port (NEO4J_URI, or the managed Neo4j):
    .venv/bin/python bench/load.py --serve --clients 16 --duration 20

The operation mix is `OPERATIONS`: add an `Operation` (name, weight, and a function building the request from
a per-client random generator and a sequence number) to load a new query or mutation.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

Request = dict[str, Any]


@dataclass(frozen=True)
class Operation:
    name: str
    weight: int
    build: Callable[[random.Random, int], Request]


OPERATIONS: list[Operation] = [
    Operation("typename", 1, lambda rng, n: {"query": "query Typename { __typename }"}),
    Operation(
        "serverInfo",
        4,
        lambda rng, n: {"query": "query ServerInfo { serverInfo { version database { nodeCount } } }"},
    ),
]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def fail(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def _error_kind(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    errors = response.json().get("errors")
    if errors:
        return str((errors[0].get("extensions") or {}).get("code", "GRAPHQL"))
    return None


async def _client(
    http: httpx.AsyncClient, seed: int, deadline: float, tallies: dict[str, Tally], operations: list[Operation]
) -> None:
    rng = random.Random(seed)
    weights = [op.weight for op in operations]
    n = 0
    while time.monotonic() < deadline:
        op = rng.choices(operations, weights)[0]
        n += 1
        started = time.perf_counter()
        try:
            response = await http.post("/graphql", json=op.build(rng, n))
            kind = _error_kind(response)
        except httpx.HTTPError as exc:
            kind = type(exc).__name__
        elapsed = time.perf_counter() - started
        tally = tallies[op.name]
        tally.latencies.append(elapsed)
        if kind is not None:
            tally.fail(kind)


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


async def run(url: str, clients: int, duration: float, operations: list[Operation]) -> dict[str, Tally]:
    tallies = {op.name: Tally() for op in operations}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        deadline = time.monotonic() + duration
        await asyncio.gather(*(_client(http, seed, deadline, tallies, operations) for seed in range(clients)))
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
def _served() -> Iterator[str]:
    """`lineage-graph serve` on a free loopback port, logging to a file, stopped on exit."""
    from lineage_graph.neo4j_local import free_port

    port = free_port()
    log = Path("bench/results")
    log.mkdir(parents=True, exist_ok=True)
    cli = Path(sys.executable).with_name("lineage-graph")
    env = {**os.environ, "LINEAGE_GRAPH_LOG_LEVEL": "warning"}
    with (log / "load-server.log").open("w") as out:
        server = subprocess.Popen([str(cli), "serve", "--port", str(port)], env=env, stdout=out, stderr=out)
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
            yield url
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="base URL of a running server (loopback)")
    target.add_argument("--serve", action="store_true", help="start `lineage-graph serve` on a free port")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    args = parser.parse_args()

    def measure(url: str) -> dict[str, Tally]:
        _require_loopback(url)
        if args.warmup > 0:
            asyncio.run(run(url, args.clients, args.warmup, OPERATIONS))
        return asyncio.run(run(url, args.clients, args.duration, OPERATIONS))

    if args.serve:
        with _served() as url:
            tallies = measure(url)
    else:
        tallies = measure(args.url)
    print(report(tallies, args.duration, args.clients))
    return 1 if any(tally.errors for tally in tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
