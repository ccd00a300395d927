"""Events end to end: registrations over HTTP, each event delivered by webhook to a loopback receiver.

Prints events/s delivered, p50/p95 from commit (the event's `at`, taken inside the transaction) to arrival at
the receiver, and what an event costs a registration: registrations/s with a webhook subscribed against the
same run without one (the event itself is always written: it is the audit record), plus the append's own cost
in a write transaction, against the same transaction without it.

    .venv/bin/python bench/events.py --serve --events 400 --clients 8 --groups 8 --rounds 4
    LINEAGE_GRAPH_TOKEN=... .venv/bin/python bench/events.py --url http://127.0.0.1:8100 --events 300

Loopback only; every loop is bounded by `--events`. The receiver checks each signature (HMAC-SHA256).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).parent))
from audit_concurrency import served_database

REGISTER = "mutation R($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version } }"
CREATE_GROUP = "mutation G($n: String!) { createModelGroup(input: {name: $n}) { name } }"
CREATE_HOOK = """
mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }
"""
DELETE_HOOK = "mutation($id: ID!) { deleteWebhook(id: $id) { id } }"


@dataclass
class Receiver:
    secret: str = ""
    groups: frozenset[str] = frozenset()  # the measured registrations' groups
    arrivals: dict[str, tuple[float, datetime]] = field(default_factory=dict)  # event id -> (arrival, commit)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            arrived = time.time()
            msg_id, stamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
            key = base64.b64decode(self.secret.removeprefix("whsec_"))
            expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
            if not hmac.compare_digest(request.headers["webhook-signature"], "v1," + expected.decode()):
                self.bad_signatures += 1
                return Response(status_code=401)
            event = json.loads(body)
            if event["data"]["group"] not in self.groups:
                return Response(status_code=204)  # committed before the subscription, placed after: not counted
            with self.lock:
                self.arrivals.setdefault(msg_id, (arrived, datetime.fromisoformat(event["data"]["at"])))
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    from lineage_graph.neo4j_local import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(receiver.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Phase:
    """Registrations of one kind (with or without a subscriber), summed over the rounds."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms per registration, retries included
    retries: int = 0  # UNAVAILABLE answers (a group's lock wait timed out) retried after Retry-After

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


async def register_all(url: str, token: str, groups: list[str], count: int, clients: int, phase: Phase) -> None:
    """Register `count` versions round-robin over `groups` with `clients` concurrent clients; a registration
    answered UNAVAILABLE is retried as a client would (after Retry-After), and its latency covers the retries."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        counter = iter(range(count))

        async def worker() -> None:
            for n in counter:
                group = groups[n % len(groups)]
                variables = {"input": {"group": group, "artifactUri": f"s3://bench/{group}/{uuid.uuid4().hex}"}}
                started = time.perf_counter()
                while True:
                    response = await client.post("/graphql", json={"query": REGISTER, "variables": variables})
                    body = response.json()
                    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
                    if codes != ["UNAVAILABLE"]:
                        break
                    phase.retries += 1
                    await asyncio.sleep(float(response.headers.get("retry-after", "0.2")))
                if body.get("errors"):
                    raise SystemExit(f"registration failed: {body['errors']}")
                phase.latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        phase.seconds += time.perf_counter() - started


def gql(client: httpx.Client, query: str, variables: dict[str, object]) -> dict[str, object]:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    if body.get("errors"):
        raise SystemExit(f"{query.split('(')[0]}: {body['errors']}")
    data: dict[str, object] = body["data"]
    return data


def run(url: str, token: str, events: int, clients: int, groups: int, rounds: int, wait: float) -> int:
    """Alternate rounds without and with a subscriber (ABBA order, so drift of a shared machine cancels out);
    between phases every delivery has arrived and the subscription is deleted, so neither phase carries the
    other's background work."""
    run_id = uuid.uuid4().hex[:8]
    plain = [f"ev-{run_id}-plain-{i}" for i in range(groups)]
    hooked = [f"ev-{run_id}-hooked-{i}" for i in range(groups)]
    without, with_hook = Phase("no subscriber"), Phase("webhook subscribed")
    receiver = Receiver(groups=frozenset(hooked))
    per_round = max(1, events // rounds)
    spans: list[float] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for name in plain + hooked:
            gql(client, CREATE_GROUP, {"n": name})
        asyncio.run(register_all(url, token, plain, min(20, events), clients, Phase("warm-up")))
        with receiving(receiver) as hook_url:
            for r in range(rounds):
                for hooked_phase in (r % 2 == 1, r % 2 == 0):
                    if not hooked_phase:
                        asyncio.run(register_all(url, token, plain, per_round, clients, without))
                        continue
                    created = gql(
                        client,
                        CREATE_HOOK,
                        {"input": {"url": hook_url, "eventTypes": ["model_version.registered"]}},
                    )["createWebhook"]
                    assert isinstance(created, dict)
                    receiver.secret = str(created["secret"])
                    before = len(receiver.arrivals)
                    asyncio.run(register_all(url, token, hooked, per_round, clients, with_hook))
                    deadline = time.monotonic() + wait
                    while len(receiver.arrivals) < before + per_round and time.monotonic() < deadline:
                        time.sleep(0.02)
                    gql(client, DELETE_HOOK, {"id": created["webhook"]["id"]})  # type: ignore[index]
                    with receiver.lock:
                        batch = list(receiver.arrivals.values())[before:]
                    if batch:
                        spans.append(max(a for a, _ in batch) - min(c.timestamp() for _, c in batch))
    expected = per_round * rounds
    arrivals = sorted(receiver.arrivals.values())
    latencies = sorted((arrived - committed.timestamp()) * 1000 for arrived, committed in arrivals)
    print(
        f"{expected} registrations per phase in {rounds} alternating rounds, {clients} concurrent clients over "
        f"{groups} groups; in the subscribed phase one webhook takes every registration"
    )
    print(f"{'phase':<20} {'regs':>5} {'reg/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'retried':>8}")
    for phase in (without, with_hook):
        print(
            f"{phase.name:<20} {len(phase.latencies):>5} {phase.per_second:>7.1f} {phase.percentile(0.5):>8.1f} "
            f"{phase.percentile(0.95):>8.1f} {phase.retries:>8}"
        )
    print(
        f"cost of delivery     {(with_hook.per_second / without.per_second - 1) * 100:+.1f} % registrations/s, "
        f"{(with_hook.percentile(0.5) / without.percentile(0.5) - 1) * 100:+.1f} % p50 latency (target: within 10 %)"
    )
    print(f"delivered            {len(arrivals)}/{expected}  (bad signatures: {receiver.bad_signatures})")
    if latencies:
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        print(f"events/s end to end  {len(arrivals) / sum(spans):8.1f}  (first commit to last arrival, per round)")
        print(f"commit -> delivery   p50 {statistics.median(latencies):7.1f} ms   p95 {p95:7.1f} ms")
    return 0 if len(arrivals) == expected and not receiver.bad_signatures else 1


async def append_cost(writes: int) -> None:
    """The event's own cost: one write transaction creating a node, with and without its audit append."""
    from lineage_graph.app import graph_settings
    from lineage_graph.config import Settings
    from lineage_graph.domain.audit import AuditEntry
    from lineage_graph.store.audit import append_audit_event
    from lineage_graph.store.graph import Neo4jGraph

    graph = Neo4jGraph.connect(graph_settings(Settings()))
    run_id = uuid.uuid4().hex[:8]
    try:

        async def timed(with_event: bool) -> float:
            started = time.perf_counter()
            for i in range(writes):

                async def work(tx, i=i):  # type: ignore[no-untyped-def]
                    await (await tx.run("CREATE (:BenchWrite {run: $run, i: $i})", run=run_id, i=i)).consume()
                    if with_event:
                        entry = AuditEntry("bench", "bench.write", f"ModelGroup:bench-{run_id}", {"i": i})
                        await append_audit_event(tx, entry)

                await graph.write(work)
            return time.perf_counter() - started

        await timed(True)  # warm-up: plans cached
        bare, evented = await timed(False), await timed(True)
        print(
            f"\nappend cost          {writes} write transactions: {bare / writes * 1000:.2f} ms bare, "
            f"{evented / writes * 1000:.2f} ms with the event ({(evented / bare - 1) * 100:+.1f} %)"
        )

        async def cleanup(tx):  # type: ignore[no-untyped-def]
            await (await tx.run("MATCH (n:BenchWrite {run: $run}) DELETE n", run=run_id)).consume()

        await graph.write(cleanup)
    finally:
        await graph.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="base URL of a running server (loopback)")
    target.add_argument("--serve", action="store_true", help="start a private Neo4j and `lineage-graph serve`")
    parser.add_argument("--events", type=int, default=300, help="registrations per phase")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--groups", type=int, default=8, help="model groups the registrations are spread over")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds without and with a subscriber")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for a round's deliveries")
    parser.add_argument("--token", default=os.environ.get("LINEAGE_GRAPH_TOKEN"))
    args = parser.parse_args()
    if args.serve:
        with served_database() as (url, token, database):
            code = run(url, token, args.events, args.clients, args.groups, args.rounds, args.wait)
            os.environ.update(database)
            asyncio.run(append_cost(args.events))
            return code
    if not args.token:
        parser.error("--url needs an admin token: --token or LINEAGE_GRAPH_TOKEN")
    code = run(args.url, args.token, args.events, args.clients, args.groups, args.rounds, args.wait)
    if os.environ.get("NEO4J_URI"):
        asyncio.run(append_cost(args.events))
    return code


if __name__ == "__main__":
    sys.exit(main())
