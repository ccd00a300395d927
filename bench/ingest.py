"""OpenLineage ingestion throughput: realistic run events replayed over HTTP with bounded concurrency.

Each run emits START and COMPLETE with 3 inputs (drawn from a pool of shared source tables, so runs contend
for the same dataset nodes, as pipelines do), 1 output, schema and data-source facets and a SQL job facet.
The events are posted one per request (as the OpenLineage HTTP transport does) and then in batches (JSON
arrays), and the bench prints events/s and request latency percentiles for each.

    .venv/bin/python bench/ingest.py                  # a private Neo4j and server on free loopback ports
    .venv/bin/python bench/ingest.py --url http://127.0.0.1:8000 --runs 2000 --concurrency 32

Not a timed test: it prints figures to compare between changes on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from lineage_graph.config import Settings
from lineage_graph.neo4j_local import Connection, LocalNeo4j, free_port

PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_URL = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"


def _facet(**fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET_URL, **fields}


def _dataset(namespace: str, name: str, columns: int) -> dict[str, Any]:
    fields = [{"name": f"col_{i}", "type": random.choice(["BIGINT", "VARCHAR", "DOUBLE"])} for i in range(columns)]
    return {
        "namespace": namespace,
        "name": name,
        "facets": {"schema": _facet(fields=fields), "dataSource": _facet(name=namespace, uri=namespace)},
    }


def make_events(runs: int, seed: int = 1) -> list[dict[str, Any]]:
    """START and COMPLETE for `runs` runs of 50 jobs over 40 shared source tables, in emission order."""
    random.seed(seed)
    warehouse = "postgres://warehouse:5432"
    sources = [f"raw.table_{i:02d}" for i in range(40)]
    start = datetime(2026, 3, 1, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    for index in range(runs):
        job = f"dag_{index % 50:02d}.transform"
        run_id = str(uuid.uuid4())
        inputs = [_dataset(warehouse, name, 8) for name in random.sample(sources, 3)]
        outputs = [_dataset("s3://lake", f"features/{job}", 12)]
        started = start + timedelta(seconds=index)
        for event_type, at in [("START", started), ("COMPLETE", started + timedelta(seconds=30))]:
            events.append(
                {
                    "eventType": event_type,
                    "eventTime": at.isoformat(),
                    "producer": PRODUCER,
                    "schemaURL": SCHEMA_URL,
                    "run": {"runId": run_id, "facets": {}},
                    "job": {
                        "namespace": "airflow",
                        "name": job,
                        "facets": {"sql": _facet(query=f"INSERT INTO {job} SELECT * FROM ...")},  # noqa: S608 - facet text
                    },
                    "inputs": inputs,
                    "outputs": outputs,
                }
            )
    return events


TOKEN: dict[str, str] = {}  # the Authorization header every request sends (tokens are mandatory)


async def replay(url: str, payloads: list[Any], events_per_payload: list[int], concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(payloads)):
        queue.put_nowait(index)
    failures = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits, headers=TOKEN) as client:

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                index = queue.get_nowait()
                began = time.perf_counter()
                response = await client.post("/api/v1/lineage", json=payloads[index])
                latencies.append(time.perf_counter() - began)
                if response.status_code != 201:
                    failures += 1
                    print(f"  request {index}: HTTP {response.status_code} {response.text[:200]}")

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "events": sum(events_per_payload),
        "requests": len(payloads),
        "failures": failures,
        "seconds": elapsed,
        "events_per_s": sum(events_per_payload) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
    }


def _report(label: str, figures: dict[str, float]) -> None:
    print(
        f"{label:<28} {figures['events']:>6.0f} events in {figures['requests']:>5.0f} requests "
        f"{figures['seconds']:>6.1f} s  {figures['events_per_s']:>7.1f} events/s  "
        f"p50 {figures['p50_ms']:>7.1f} ms  p95 {figures['p95_ms']:>7.1f} ms  failures {figures['failures']:.0f}"
    )


@contextmanager
def _local_server(workdir: Path) -> Iterator[str]:
    """A private Neo4j (or the disposable one NEO4J_URI names) and `lineage-graph serve` in their own
    processes, so the bench client shares no GIL; a contributor token for the bench."""
    neo4j = LocalNeo4j(home=workdir / "neo4j", cache_dir=Settings().cache_dir, bolt_port=free_port(), heap="1g")
    if os.environ.get("NEO4J_URI"):
        connection = Connection(
            os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"]
        )
    else:
        connection = neo4j.start()
    port = free_port()
    env = {
        **os.environ,
        "NEO4J_URI": connection.uri,
        "NEO4J_USER": connection.user,
        "NEO4J_PASSWORD": connection.password,
        "LINEAGE_GRAPH_DATA_DIR": str(workdir / "data"),
        "LINEAGE_GRAPH_LOG_LEVEL": "warning",
    }
    cli = str(Path(sys.executable).with_name("lineage-graph"))
    server = subprocess.Popen([cli, "serve", "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the bench server did not start")
            time.sleep(0.2)
        created = subprocess.run(
            [cli, "token", "create", "--name", f"ingest-bench-{port}", "--role", "contributor"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        TOKEN["Authorization"] = "Bearer " + created.stdout.strip().splitlines()[-1]
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not os.environ.get("NEO4J_URI"):
            neo4j.stop()


def run(url: str, runs: int, concurrency: int, batch: int, batch_concurrency: int) -> int:
    """Replay the phases; the number of failed requests (the exit status is non-zero when any failed)."""
    warmup = make_events(20, seed=0)
    asyncio.run(replay(url, warmup, [1] * len(warmup), 4))

    single = make_events(runs, seed=1)
    print(f"OpenLineage ingestion at {url}: {runs} runs x (START, COMPLETE), 3 inputs + 1 output each")
    first = asyncio.run(replay(url, single, [1] * len(single), concurrency))
    _report(f"single, concurrency {concurrency}", first)

    batched = make_events(runs, seed=2)
    payloads = [batched[i : i + batch] for i in range(0, len(batched), batch)]
    figures = asyncio.run(replay(url, payloads, [len(p) for p in payloads], batch_concurrency))
    _report(f"batches of {batch}, concurrency {batch_concurrency}", figures)

    replayed = asyncio.run(replay(url, payloads, [len(p) for p in payloads], batch_concurrency))
    _report("same batches replayed", replayed)
    return int(first["failures"] + figures["failures"] + replayed["failures"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server; default: start a private Neo4j and server")
    parser.add_argument("--token", default=os.environ.get("LINEAGE_GRAPH_TOKEN"), help="contributor token for --url")
    parser.add_argument("--runs", type=int, default=500, help="runs per phase (2 events each)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight, single events")
    parser.add_argument("--batch", type=int, default=100, help="events per request, batched phase")
    parser.add_argument("--batch-concurrency", type=int, default=4, help="requests in flight, batched phase")
    args = parser.parse_args()
    if args.url:
        if not args.token:
            parser.error("--url needs a contributor token: --token or LINEAGE_GRAPH_TOKEN")
        TOKEN["Authorization"] = f"Bearer {args.token}"
        return 1 if run(args.url, args.runs, args.concurrency, args.batch, args.batch_concurrency) else 0
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as workdir, _local_server(Path(workdir)) as url:
        return 1 if run(url, args.runs, args.concurrency, args.batch, args.batch_concurrency) else 0


if __name__ == "__main__":
    sys.exit(main())
