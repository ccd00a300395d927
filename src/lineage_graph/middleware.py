"""ASGI middleware in front of every route: a request body cap for GraphQL, and bearer-token authentication.

Pure ASGI (not BaseHTTPMiddleware) so it also sees WebSocket handshakes (graphql-ws) and streams nothing
through an extra task. The principal lands in `scope["state"]["principal"]`, i.e. `request.state.principal`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineage_graph.domain.auth import TOKEN_PREFIX, Principal, Role, anonymous
from lineage_graph.domain.errors import DomainError, Problem, Unauthenticated, Unavailable
from lineage_graph.services.container import Services

# Probes and scrapers must work without credentials (and never touch the token store).
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class AuthenticationMiddleware:
    """`Authorization: Bearer <token>` → the token's principal; no header → the anonymous principal (with the
    configured anonymous role, or none); a bad token → 401 before the app runs.

    Other schemes (e.g. SigV4's `AWS4-HMAC-SHA256`) are left to the route that speaks them: the caller stays
    anonymous here, so a route that does not verify them itself refuses it like any anonymous caller.
    """

    def __init__(self, app: ASGIApp, anonymous_role: Role | None = None) -> None:
        self.app = app
        self.anonymous = anonymous(anonymous_role)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            principal = await self._principal(scope)
        except (Unauthenticated, Unavailable) as error:
            status = 401 if isinstance(error, Unauthenticated) else 503
            await _refuse(scope, receive, send, status, error)
            return
        if principal is self.anonymous and principal.role is None and _asks_graphql(scope):
            # Nothing at all is open to anonymous callers here, so say so at the transport like every other
            # route does (401 + WWW-Authenticate), rather than a 200 whose every field is refused.
            message = "this server needs an API token: send the header `Authorization: Bearer <token>`"
            refusal = Unauthenticated(message, [Problem("Authorization", message, "UNAUTHENTICATED")])
            await _respond(send, 401, {"data": None, **error_body(refusal)}, _CHALLENGE)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _principal(self, scope: Scope) -> Principal:
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if header.startswith(TOKEN_PREFIX):
            # The commonest first mistake: the token pasted without its scheme.
            raise Unauthenticated("the Authorization header must read `Bearer <token>` (the word Bearer is missing)")
        if scheme.lower() != "bearer":
            return self.anonymous
        services: Services = scope["state"]["services"]
        return await services.auth.authenticate(credentials.strip())


class BodyLimitMiddleware:
    """Refuse (413) a request body to `paths` larger than `max_bytes`, before anything parses it.

    The body is read here, counted as it arrives (a missing or lying Content-Length does not help), and
    replayed to the app.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, paths: Iterable[str] = ("/graphql",)) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(scope, receive, send, self.max_bytes)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _too_large(scope, receive, send, self.max_bytes)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def error_body(error: DomainError) -> dict[str, Any]:
    """The GraphQL error shape, so a GraphQL client reads a transport refusal like any other error."""
    problems = [{"field": p.field, "message": p.message, "code": p.code} for p in error.problems]
    return {"errors": [{"message": error.message, "extensions": {"code": error.code, "problems": problems}}]}


class RequestTooLarge(DomainError):
    code = "REQUEST_TOO_LARGE"


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    await _respond(send, 413, error_body(RequestTooLarge(f"the request body exceeds {limit} bytes")), {})


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, error: DomainError) -> None:
    if scope["type"] == "websocket":
        # Before `websocket.accept`, a close makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 4401 if status == 401 else 1013, "reason": error.code})
        return
    await _respond(send, status, error_body(error), _CHALLENGE if status == 401 else {})


_CHALLENGE = {"www-authenticate": 'Bearer realm="lineage-graph"'}


def _asks_graphql(scope: Scope) -> bool:
    """A GraphQL operation over HTTP (the GraphiQL page itself, a GET without a query, stays open; a
    graphql-ws connection authenticates in its own connection_init)."""
    if scope["type"] != "http" or scope["path"] != "/graphql":
        return False
    return scope["method"] == "POST" or b"query=" in scope.get("query_string", b"")


async def _respond(send: Send, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
