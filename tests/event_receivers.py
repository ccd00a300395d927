"""The two ways events leave the server, received for real: a webhook receiver on loopback (Starlette under
Uvicorn, every signature checked with the `standardwebhooks` package) and a graphql-ws subscriber (`gql`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport
from standardwebhooks.webhooks import Webhook as Verifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lineage_graph.neo4j_local import free_port

EVENTS = """
subscription($types: [String!], $group: String, $after: Int) {
  events(types: $types, group: $group, afterSequence: $after) { type sequence eventId group subject actor data }
}
"""


@dataclass
class Receiver:
    """Answers 503 while `down`, else verifies the signature and records the event (2xx only)."""

    url: str = ""
    secret: str | None = None
    down: bool = False
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            if self.delay:
                time.sleep(self.delay)  # noqa: ASYNC251 - a receiver that hangs, on purpose
            if self.down:
                with self.lock:
                    self.refused += 1
                return Response(status_code=503)
            assert self.secret is not None
            payload = Verifier(self.secret).verify(body, dict(request.headers))
            with self.lock:
                self.received.append({"id": request.headers["webhook-id"], **payload})
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def types(self) -> list[str]:
        with self.lock:
            return [str(e["type"]) for e in self.received]


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run `app` under Uvicorn on a free loopback port in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def _collect(
    url: str, token: str, variables: dict[str, Any], done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    transport = WebsocketsTransport(
        url=url.replace("http://", "ws://") + "/graphql", init_payload={"Authorization": f"Bearer {token}"}
    )
    received: list[dict[str, Any]] = []
    request = gql(EVENTS)
    request.variable_values = variables
    async with Client(transport=transport) as session:
        async for result in session.subscribe(request):
            received.append(result["events"])
            if done(received):
                break
    return received


def subscribe_until(
    url: str,
    token: str,
    variables: dict[str, Any],
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 90,
) -> list[dict[str, Any]]:
    """Subscribe to `events` with `token` in connection_init and collect until `done(received)`."""
    return asyncio.run(asyncio.wait_for(_collect(url, token, variables, done), timeout=timeout))
