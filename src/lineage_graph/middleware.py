"""ASGI middleware in front of every route: a request body cap, and bearer-token authentication.

Pure ASGI (not BaseHTTPMiddleware) so it also sees WebSocket handshakes (graphql-ws) and streams nothing
through an extra task. The principal lands in `scope["state"]["principal"]`, i.e. `request.state.principal`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineage_graph.domain.auth import TOKEN_PREFIX, Principal, Role, anonymous
from lineage_graph.domain.errors import DomainError, Problem, Unauthenticated, Unavailable, ValidationFailed
from lineage_graph.services.container import Services
from lineage_graph.store.graph import causal_chain

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
        except DomainError as error:
            # 400 for bad input met on the way (e.g. a forged bookmark the lookup ran with).
            status = 401 if isinstance(error, Unauthenticated) else 503 if isinstance(error, Unavailable) else 400
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


BOOKMARK_HEADER = "x-lineage-bookmark"
_MAX_BOOKMARK_HEADER = 4096
_MAX_BOOKMARKS = 16


class CausalConsistencyMiddleware:
    """Read-your-writes across server instances, carried by the client.

    A response to a request that wrote carries `X-Lineage-Bookmark`: an opaque token naming the database
    transactions it committed (Neo4j bookmarks). A client that sends it back on its next request, to any
    instance behind any load balancer, gets transactions that start after those, so it reads its own write
    even from a cluster secondary that is still catching up. Within one instance the driver's bookmark
    manager already chains every transaction; the header is what crosses instances.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            incoming = decode_bookmarks(Headers(scope=scope).get(BOOKMARK_HEADER))
        except ValidationFailed as error:
            await _respond(send, 400, error_body(error), {})
            return
        with causal_chain(incoming) as chain:

            async def with_bookmark(message: Message) -> None:
                if message["type"] == "http.response.start" and chain.latest:
                    headers = [*message.get("headers", []), (BOOKMARK_HEADER.encode(), encode_bookmarks(chain.latest))]
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, with_bookmark)


def encode_bookmarks(bookmarks: tuple[str, ...]) -> bytes:
    return base64.urlsafe_b64encode(json.dumps(list(bookmarks), separators=(",", ":")).encode()).rstrip(b"=")


def decode_bookmarks(header: str | None) -> tuple[str, ...]:
    """The bookmarks a client sent back; a header that is not one this server issued is refused (400)."""
    if not header:
        return ()
    invalid = ValidationFailed.field(
        "X-Lineage-Bookmark", "is not a bookmark this server issued (send back the header as received)"
    )
    if len(header) > _MAX_BOOKMARK_HEADER:
        raise invalid
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid from None
    if (
        not isinstance(decoded, list)
        or len(decoded) > _MAX_BOOKMARKS
        or not all(isinstance(b, str) and b for b in decoded)
    ):
        raise invalid
    return tuple(decoded)


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
    body = error_body(error)
    if scope["path"].startswith("/mlflow/"):  # MLflow's client reads its own error shape
        code = "UNAUTHENTICATED" if status == 401 else "TEMPORARILY_UNAVAILABLE"
        body = {"error_code": code, "message": error.message}
    await _respond(send, status, body, _CHALLENGE if status == 401 else {})


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
