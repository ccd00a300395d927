"""Events end to end: registrations over HTTP, each event delivered by webhook to a loopback receiver.

Prints events/s delivered, p50/p95 from commit (the event's `at`, taken inside the transaction) to arrival at
the receiver, and what an event costs a registration: registrations/s with a webhook subscribed against the
same run without one (the event itself is always written: it is the audit record), plus the append's own cost
in a write transaction, against the same transaction without it.

    .venv/bin/python bench/events.py --serve --events 300 --clients 8
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
from audit_concurrency import served

REGISTER = "mutation R($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version } }"
CREATE_GROUP = "mutation G($n: String!) { createModelGroup(input: {name: $n}) { name } }"
CREATE_HOOK = """
mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }
"""
DELETE_HOOK = "mutation($id: ID!) { deleteWebhook(id: $id) { id } }"


@dataclass
class Receiver:
    secret: str = ""
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


async def register_all(url: str, token: str, group: str, events: int, clients: int) -> float:
    """Register `events` versions with `clients` concurrent clients; returns the seconds it took."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        counter = iter(range(events))

        async def worker() -> None:
            for n in counter:
                variables = {"input": {"group": group, "artifactUri": f"s3://bench/{group}/{n}"}}
                body = (await client.post("/graphql", json={"query": REGISTER, "variables": variables})).json()
                if body.get("errors"):
                    raise SystemExit(f"registration failed: {body['errors']}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - started


def gql(client: httpx.Client, query: str, variables: dict[str, object]) -> dict[str, object]:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    if body.get("errors"):
        raise SystemExit(f"{query.split('(')[0]}: {body['errors']}")
    data: dict[str, object] = body["data"]
    return data


def run(url: str, token: str, events: int, clients: int, wait: float) -> int:
    run_id = uuid.uuid4().hex[:8]
    plain, hooked = f"ev-{run_id}-plain", f"ev-{run_id}-hooked"
    receiver = Receiver()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for name in (plain, hooked):
            gql(client, CREATE_GROUP, {"n": name})
        asyncio.run(register_all(url, token, plain, min(20, events), clients))  # warm-up
        without = asyncio.run(register_all(url, token, plain, events, clients))
        with receiving(receiver) as hook_url:
            created = gql(
                client,
                CREATE_HOOK,
                {"input": {"url": hook_url, "eventTypes": ["model_version.registered"], "group": hooked}},
            )["createWebhook"]
            assert isinstance(created, dict)
            receiver.secret = str(created["secret"])
            with_hook = asyncio.run(register_all(url, token, hooked, events, clients))
            deadline = time.monotonic() + wait
            while len(receiver.arrivals) < events and time.monotonic() < deadline:
                time.sleep(0.05)
            gql(client, DELETE_HOOK, {"id": created["webhook"]["id"]})  # type: ignore[index]
    arrivals = sorted(receiver.arrivals.values())
    latencies = sorted((arrived - committed.timestamp()) * 1000 for arrived, committed in arrivals)
    span = arrivals[-1][0] - min(c.timestamp() for _, c in arrivals) if arrivals else 0.0
    print(f"{events} registrations, {clients} concurrent clients, one webhook subscribed to them")
    print(f"delivered            {len(arrivals)}/{events}  (bad signatures: {receiver.bad_signatures})")
    if latencies:
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        print(f"events/s end to end  {len(arrivals) / span:8.1f}  (first commit to last arrival)")
        print(f"commit -> delivery   p50 {statistics.median(latencies):7.1f} ms   p95 {p95:7.1f} ms")
    print(f"registrations/s      without a subscriber {events / without:7.1f}   with one {events / with_hook:7.1f}")
    print(f"cost of delivery     {(without / with_hook - 1) * -100:+.1f} % registration throughput")
    return 0 if len(arrivals) == events and not receiver.bad_signatures else 1


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
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the last deliveries")
    parser.add_argument("--token", default=os.environ.get("LINEAGE_GRAPH_TOKEN"))
    args = parser.parse_args()
    if args.serve:
        with served() as (url, token):
            code = run(url, token, args.events, args.clients, args.wait)
            if os.environ.get("NEO4J_URI"):
                asyncio.run(append_cost(args.events))
            return code
    if not args.token:
        parser.error("--url needs an admin token: --token or LINEAGE_GRAPH_TOKEN")
    code = run(args.url, args.token, args.events, args.clients, args.wait)
    if os.environ.get("NEO4J_URI"):
        asyncio.run(append_cost(args.events))
    return code


if __name__ == "__main__":
    sys.exit(main())
