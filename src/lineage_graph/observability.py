"""The request middleware: a request id for every HTTP request, its metrics, and one access log line.

A pure ASGI middleware (not BaseHTTPMiddleware) so streaming responses and the lifespan state pass untouched.
The GraphQL layer adds what only it knows (operation name and type, error codes) to the request's
`RequestObservation`, found through a context variable.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lineage_graph.logs import request_id_var
from lineage_graph.metrics import Metrics

logger = logging.getLogger("lineage_graph.request")

REQUEST_ID_HEADER = "x-request-id"
# A caller's id is echoed only if it is short and plain: it goes into logs and headers verbatim.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes and scrapes run every few seconds; their lines would drown the requests people care about.
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass
class RequestObservation:
    """What one request turned out to be, filled in by whoever learns it while serving."""

    request_id: str
    operation_name: str | None = None
    operation_type: str | None = None
    error_codes: list[str] = field(default_factory=list)


_observation: ContextVar[RequestObservation | None] = ContextVar("lineage_graph_observation", default=None)


def current_observation() -> RequestObservation | None:
    """The observation of the request being served, or None outside an HTTP request."""
    return _observation.get()


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            text: str = value.decode("latin-1")
            if _ACCEPTABLE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def _route(scope: Scope) -> str:
    # The route's template, never the raw path: unmatched paths would be unbounded label values.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        observation = RequestObservation(request_id=_request_id(scope))
        observation_token = _observation.set(observation)
        id_token = request_id_var.set(observation.request_id)
        status = 500  # what the client gets if the app raises before responding

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, observation.request_id)
            await send(message)

        started = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            self.metrics.exceptions.labels(type(exc).__name__).inc()
            logger.exception("request failed")
            raise
        finally:
            seconds = time.perf_counter() - started
            self.metrics.in_flight.dec()
            self._record(scope, status, seconds, observation)
            request_id_var.reset(id_token)
            _observation.reset(observation_token)

    def _record(self, scope: Scope, status: int, seconds: float, observation: RequestObservation) -> None:
        method: str = scope["method"]
        route = _route(scope)
        self.metrics.observe_request(method, route, status, seconds)
        fields: dict[str, object] = {
            "method": method,
            "path": scope["path"],
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        if observation.operation_type is not None:
            self.metrics.observe_operation(
                observation.operation_name, observation.operation_type, observation.error_codes, seconds
            )
            fields.update(
                operation=observation.operation_name,
                operation_type=observation.operation_type,
                error_codes=observation.error_codes,
            )
        level = logging.DEBUG if route in _QUIET_ROUTES and status < 500 else logging.INFO
        logger.log(level, "request completed", extra=fields)
