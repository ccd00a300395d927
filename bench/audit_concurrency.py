"""Concurrent registrations over HTTP: does the audit chain let writes to different groups commit in parallel?

N clients register model versions at once, either all into one group (the floor: one group's version counter
is locked while a number is taken, so these serialize whatever the audit log does) or spread over 8 groups.
With one audit chain for the whole system both layouts queue on its head; with one chain per partition the
8-group layout should scale past the 1-group one. The ratio of the two, measured in the same run, is the figure.

    .venv/bin/python bench/audit_concurrency.py --serve --clients 16 64 --per-client 20
    # against a running server with an admin token:
    LINEAGE_GRAPH_TOKEN=... .venv/bin/python bench/audit_concurrency.py --url http://127.0.0.1:8100

`--serve` starts a private Neo4j (unless NEO4J_URI is set) and `lineage-graph serve` on free loopback ports.
Loopback only; every request loop is bounded by `--per-client`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

REGISTER = "mutation R($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version } }"
CREATE_GROUP = "mutation G($input: CreateModelGroupInput!) { createModelGroup(input: $input) { name } }"


@dataclass
class Result:
    clients: int
    groups: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    retry_after: int = 0  # UNAVAILABLE answers that carried a Retry-After header

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


async def _create_groups(client: httpx.AsyncClient, names: list[str]) -> None:
    for name in names:
        body = await client.post("/graphql", json={"query": CREATE_GROUP, "variables": {"input": {"name": name}}})
        assert not body.json().get("errors"), body.text


async def measure(url: str, token: str, clients: int, groups: int, per_client: int) -> Result:
    """`clients` concurrent clients each registering `per_client` versions into one of `groups` new groups."""
    run = uuid.uuid4().hex[:8]
    names = [f"bench-{run}-{i}" for i in range(groups)]
    result = Result(clients, groups)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as client:
        await _create_groups(client, names)

        async def one_client(index: int) -> None:
            group = names[index % groups]
            for n in range(per_client):
                variables = {"input": {"group": group, "artifactUri": f"s3://bench/{run}/{index}/{n}"}}
                started = time.perf_counter()
                try:
                    response = await client.post("/graphql", json={"query": REGISTER, "variables": variables})
                except httpx.TransportError as exc:
                    result.errors[type(exc).__name__] += 1
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    result.errors[f"HTTP {response.status_code}"] += 1
                    result.retry_after += "retry-after" in response.headers
                    continue
                errors = response.json().get("errors")
                if errors:
                    result.errors[errors[0].get("extensions", {}).get("code", "NO_CODE")] += 1
                    continue
                result.latencies_ms.append(elapsed)

        started = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(clients)))
        result.seconds = time.perf_counter() - started
    return result


def report(results: list[Result]) -> str:
    lines = [
        f"{'clients':>7} {'groups':>6} {'ok':>6} {'reg/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'vs 1 group':>10}  errors",
    ]
    floor = {r.clients: r.per_second for r in results if r.groups == 1}
    for r in results:
        ratio = r.per_second / floor[r.clients] if floor.get(r.clients) else float("nan")
        errors = ", ".join(f"{k} x{v}" for k, v in r.errors.items()) or "-"
        if r.retry_after:
            errors += f" ({r.retry_after} with Retry-After)"
        lines.append(
            f"{r.clients:>7} {r.groups:>6} {r.ok:>6} {r.per_second:>8.1f} {r.percentile(0.5):>8.1f} "
            f"{r.percentile(0.95):>8.1f} {ratio:>9.2f}x  {errors}"
        )
    return "\n".join(lines)


def run_all(url: str, token: str, clients: list[int], groups: int, per_client: int) -> list[Result]:
    host = urlparse(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to load {host!r}: this bench runs against loopback only")
    asyncio.run(measure(url, token, 4, 2, 3))  # warm-up: plans cached, pools open
    results = []
    for n in clients:
        for layout in (1, groups):
            results.append(asyncio.run(measure(url, token, n, layout, per_client)))
    return results


@contextmanager
def _neo4j() -> Iterator[dict[str, str]]:
    """The NEO4J_* environment of the database to use: NEO4J_URI when set, else a private one on a free port."""
    if os.environ.get("NEO4J_URI"):
        yield {}
        return
    from lineage_graph.config import Settings
    from lineage_graph.neo4j_local import LocalNeo4j, free_port

    with tempfile.TemporaryDirectory(prefix="bench-neo4j-") as home:
        instance = LocalNeo4j(home=Path(home), cache_dir=Settings().cache_dir, bolt_port=free_port(), heap="1g")
        conn = instance.start()
        try:
            yield {"NEO4J_URI": conn.uri, "NEO4J_USER": conn.user, "NEO4J_PASSWORD": conn.password}
        finally:
            instance.stop()


@contextmanager
def served() -> Iterator[tuple[str, str]]:
    """`lineage-graph serve` on a free loopback port over `_neo4j()`; yields its URL and an admin token."""
    with served_database() as (url, token, _):
        yield url, token


@contextmanager
def served_database() -> Iterator[tuple[str, str, dict[str, str]]]:
    """As `served`, also yielding the NEO4J_* environment of the database it serves (empty: the caller's)."""
    from lineage_graph.neo4j_local import free_port

    cli = Path(sys.executable).with_name("lineage-graph")
    with _neo4j() as db, tempfile.TemporaryDirectory(prefix="bench-data-") as data:
        env = {**os.environ, **db, "LINEAGE_GRAPH_LOG_LEVEL": "warning", "LINEAGE_GRAPH_DATA_DIR": data}
        port = free_port()
        server = subprocess.Popen(
            [str(cli), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 240
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            created = subprocess.run(
                [str(cli), "token", "create", "--name", f"bench-{uuid.uuid4().hex[:6]}", "--role", "admin"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            yield url, created.stdout.strip().splitlines()[-1], db
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="base URL of a running server (loopback)")
    target.add_argument("--serve", action="store_true", help="start a private Neo4j and `lineage-graph serve`")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=20, help="registrations each client makes")
    parser.add_argument("--token", default=os.environ.get("LINEAGE_GRAPH_TOKEN"))
    args = parser.parse_args()
    if args.serve:
        with served() as (url, token, _):
            results = run_all(url, token, args.clients, args.groups, args.per_client)
    else:
        if not args.token:
            parser.error("--url needs an admin token: --token or LINEAGE_GRAPH_TOKEN")
        results = run_all(args.url, args.token, args.clients, args.groups, args.per_client)
    print(f"registrations over HTTP, {args.per_client} per client; the 1-group rows are the serialized floor")
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
