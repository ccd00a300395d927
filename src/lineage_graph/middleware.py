"""ASGI middleware in front of every route: a request body cap, and bearer-token authentication.

Pure ASGI (not BaseHTTPMiddleware) so it also sees WebSocket handshakes (graphql-ws) and streams nothing
through an extra task. The principal lands in `scope["state"]["principal"]`, i.e. `request.state.principal`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    """Refuse (413) a request body larger than its route's limit, on every route, before anything else runs.

    A declared Content-Length over the limit is refused at once, before authentication touches the token
    store. A body without one (chunked) or with a lying one is counted as the app reads it and cut off at
    the limit. Nothing is buffered here, so the layers behind (authentication, then the route's own
    authorization) decide before the body is read at all whether it is worth reading.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.max_bytes)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(scope, receive, send, limit)
            return
        size = 0
        started = False

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    raise _BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _BodyTooLarge:
            if not started:
                await _too_large(scope, receive, send, limit)


class _BodyTooLarge(Exception):
    """Raised from `receive` when the body passes its limit; caught by BodyLimitMiddleware alone."""


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
