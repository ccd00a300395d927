"""Governance costs: what authentication adds to a request, audit append and verify throughput, and how fast
hostile documents are refused.

    .venv/bin/python bench/governance.py                      # a private Neo4j on a free port
    NEO4J_URI=bolt://… NEO4J_PASSWORD=… .venv/bin/python bench/governance.py --wipe   # a disposable Neo4j

Prints figures; nothing asserts. The server runs in a thread of this process (as in the tests), so absolute
latencies include client and server sharing one interpreter; the ratios are the point.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import uvicorn
from neo4j import GraphDatabase

from lineage_graph.app import create_app, graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.audit import AuditEntry, canonical_content, chain_hash
from lineage_graph.domain.auth import SYSTEM, Role
from lineage_graph.neo4j_local import Connection, LocalNeo4j, free_port
from lineage_graph.services.audit import AuditService
from lineage_graph.services.auth import AuthService
from lineage_graph.services.events import EventLog
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.constraints import apply_constraints
from lineage_graph.store.graph import Neo4jGraph


@contextmanager
def neo4j(wipe: bool) -> Iterator[Connection]:
    if os.environ.get("NEO4J_URI"):
        if not wipe:
            raise SystemExit("refusing to write into NEO4J_URI without --wipe (the bench deletes everything)")
        yield Connection(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
        return
    with tempfile.TemporaryDirectory() as home:
        instance = LocalNeo4j(Path(home), Settings().cache_dir, free_port(), heap="1g", pagecache="256m")
        conn = instance.start()
        try:
            yield conn
        finally:
            instance.stop()


@contextmanager
def server(settings: Settings) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


def timings(call: Callable[[], object], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def bench_requests(url: str, token: str, n: int) -> None:
    print(f"\n== request latency, {n} sequential requests each (ms: p50 / p95)")
    with (
        httpx.Client(base_url=url) as anon,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as auth,
    ):
        for query in ("{ me { name } }", "{ serverInfo { version } }"):
            body = {"query": query}
            for _ in range(20):  # warm-up
                anon.post("/graphql", json=body)
                auth.post("/graphql", json=body)
            a50, a95 = timings(partial(anon.post, "/graphql", json=body), n)
            t50, t95 = timings(partial(auth.post, "/graphql", json=body), n)
            print(
                f"{query:32s} anonymous {a50:6.2f} / {a95:6.2f}   bearer token {t50:6.2f} / {t95:6.2f}"
                f"   token lookup adds {t50 - a50:+.2f} ms at p50"
            )


def bench_hostile(url: str, n: int) -> None:
    print(f"\n== refusing hostile documents (ms: p50 / p95 over {n})")
    docs = {
        "10k aliases": "{" + " ".join(f"a{i}:serverInfo{{version}}" for i in range(10_000)) + "}",
        "100-level nesting": "{ __schema { types { " + "ofType { " * 97 + "name" + " }" * 97 + " } } }",
        "1 MB query": "{ serverInfo { version } }" + " " * (1024 * 1024),
        "60 aliases": "{ " + " ".join(f"a{i}: serverInfo {{ version }}" for i in range(60)) + " }",
    }
    with httpx.Client(base_url=url) as client:
        for name, doc in docs.items():
            response = client.post("/graphql", json={"query": doc})
            outcome = (
                response.status_code if response.status_code != 200 else response.json()["errors"][0]["message"][:50]
            )
            p50, p95 = timings(lambda doc=doc: client.post("/graphql", json={"query": doc}), n)
            print(f"{name:18s} {p50:7.2f} / {p95:7.2f}   -> {outcome}")


async def bench_audit(settings: Settings, appends: int, chain: int, writers: int) -> None:
    graph = Neo4jGraph.connect(graph_settings(settings))
    try:

        async def one(i: int) -> None:
            async def work(tx):  # type: ignore[no-untyped-def]
                await append_audit_event(tx, AuditEntry("bench", "bench.append", f"Bench:{i}", {"i": i}))

            await graph.write(work)

        print("\n== audit append (one event per write transaction)")
        start = time.perf_counter()
        for i in range(appends):
            await one(i)
        seq = time.perf_counter() - start
        print(f"sequential: {appends} events in {seq:.2f} s = {appends / seq:,.0f} events/s")
        start = time.perf_counter()
        for batch in range(0, appends, writers):
            await asyncio.gather(*(one(i) for i in range(batch, min(batch + writers, appends))))
        par = time.perf_counter() - start
        print(
            f"{writers} concurrent writers: {appends} events in {par:.2f} s = {appends / par:,.0f} events/s "
            "(one partition: serialized on its head by design)"
        )

        # A long chain, built with the real hash function and inserted in bulk into one partition, then verified.
        partition = "Bench"
        head = await graph.rows("MATCH (p:AuditPartition {name: $p}) RETURN p.sequence AS s, p.hash AS h", p=partition)
        sequence, previous = int(head[0]["s"]), str(head[0]["h"])
        rows = []
        at = datetime(2026, 1, 1, tzinfo=UTC)
        for i in range(chain):
            sequence += 1
            entry = AuditEntry("bench", "bench.bulk", f"Bench:{i}", {"i": i, "tags": ["x", "y"]})
            when = at + timedelta(milliseconds=i)
            event_id = str(uuid.uuid4())
            digest = chain_hash(previous, canonical_content(event_id, partition, sequence, entry, when))
            rows.append(
                {
                    "event_id": event_id,
                    "partition": partition,
                    "partition_sequence": sequence,
                    "actor": entry.actor,
                    "action": entry.action,
                    "subject": entry.subject,
                    "payload": json.dumps(entry.payload, sort_keys=True),
                    "at": when,
                    "previous_hash": previous,
                    "hash": digest,
                    "pending": True,
                }
            )
            previous = digest
        for start_i in range(0, len(rows), 10_000):
            batch_rows = rows[start_i : start_i + 10_000]

            async def insert(tx, batch_rows=batch_rows):  # type: ignore[no-untyped-def]
                await tx.run("UNWIND $rows AS r CREATE (e:AuditEvent) SET e = r, e.outcome = 'OK'", rows=batch_rows)

            await graph.write(insert)

        async def move_head(tx):  # type: ignore[no-untyped-def]
            await tx.run(
                "MATCH (p:AuditPartition {name: $p}) SET p.sequence = $s, p.hash = $h",
                p=partition,
                s=sequence,
                h=previous,
            )

        await graph.write(move_head)
        start = time.perf_counter()
        placed = await EventLog(graph).place_pending()
        took = time.perf_counter() - start
        print(f"\n== placing events in the global log: {placed:,} in {took:.2f} s = {placed / took:,.0f} events/s")
        print("\n== audit verify")
        start = time.perf_counter()
        report = await AuditService(graph).verify(SYSTEM)
        took = time.perf_counter() - start
        print(
            f"{report.events:,} events verified in {took:.2f} s = {report.events / took:,.0f} events/s "
            f"(intact: {report.intact})"
        )
    finally:
        await graph.close()


async def issue(settings: Settings) -> str:
    graph = Neo4jGraph.connect(graph_settings(settings))
    try:
        await apply_constraints(graph)
        return (await AuthService(graph).create_token(SYSTEM, "bench", Role.ADMIN)).secret
    finally:
        await graph.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wipe", action="store_true", help="allowed to wipe the Neo4j named by NEO4J_URI")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--chain", type=int, default=50_000)
    parser.add_argument("--writers", type=int, default=10)
    args = parser.parse_args()
    with neo4j(args.wipe) as conn:
        GraphDatabase.driver(conn.uri, auth=(conn.user, conn.password)).execute_query("MATCH (n) DETACH DELETE n")
        settings = Settings(
            neo4j_uri=conn.uri,
            neo4j_user=conn.user,
            neo4j_password=conn.password,
            anonymous_role=Role.VIEWER,
            log_level="error",
        )
        token = asyncio.run(issue(settings))
        with server(settings) as url:
            bench_requests(url, token, args.requests)
            bench_hostile(url, 20)
        asyncio.run(bench_audit(settings, args.appends, args.chain, args.writers))


if __name__ == "__main__":
    main()
