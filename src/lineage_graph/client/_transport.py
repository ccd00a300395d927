"""Where the server is, who we are, and when a failed call is tried again.

Retries happen only when the server could not do the work: an `UNAVAILABLE` answer or HTTP 503, a connection
that never opened, and — for operations that are safe to resend (upserts, calls with a client token) — a
response lost on the way back. Every other refusal is raised at once as its typed error.

`Exchange` holds all of that without doing any I/O, so `Client` and `AsyncClient` differ only in how they send
a request and wait.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from lineage_graph.client._operations import Operation
from lineage_graph.client.errors import LineageGraphError, Problem, Unavailable, ValidationFailed, error_from_graphql

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "LINEAGE_GRAPH_URL"
TOKEN_VARIABLE = "LINEAGE_GRAPH_TOKEN"  # noqa: S105 - the name of the variable, not a secret


@dataclass(frozen=True)
class Endpoint:
    url: str  # the server's base URL; GraphQL is at `<url>/graphql`
    token: str | None

    @classmethod
    def resolve(cls, url: str | None, token: str | None) -> Endpoint:
        """Arguments first, then LINEAGE_GRAPH_URL / LINEAGE_GRAPH_TOKEN, read when the client is made."""
        base = (url or os.environ.get(URL_VARIABLE) or DEFAULT_URL).rstrip("/")
        if base.endswith("/graphql"):
            base = base[: -len("/graphql")]
        return cls(base, token or os.environ.get(TOKEN_VARIABLE) or None)

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter; `attempts` counts the first try."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 1)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class Retryable(Exception):
    """This try failed in a way the server did not act on (or that is safe to resend); try again."""

    def __init__(self, error: LineageGraphError) -> None:
        super().__init__(error.message)
        self.error = error


def transport_failure(exc: httpx.TransportError, retry_safe: bool) -> Retryable:
    """A connection that never opened did nothing; a lost response may have, so only a safe call resends."""
    error = Unavailable(f"cannot reach the server: {type(exc).__name__}: {exc}".rstrip(": "))
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) or retry_safe:
        return Retryable(error)
    raise error from exc


def read_response(status: int, content: bytes) -> Any:
    """The `result` field of a GraphQL answer, or the typed error it carries (`Retryable` for an outage)."""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if not isinstance(body, Mapping):
        error = LineageGraphError(f"HTTP {status}: the server did not answer with JSON", code=f"HTTP_{status}")
        if status == 503:
            raise Retryable(Unavailable("the server is unavailable (HTTP 503)"))
        raise error
    errors = body.get("errors")
    if errors:
        first = error_from_graphql(errors[0])
        if isinstance(first, Unavailable) or status == 503:
            raise Retryable(first)
        raise first
    if status >= 400 or not isinstance(body.get("data"), Mapping):
        raise LineageGraphError(f"HTTP {status}: unexpected answer", code=f"HTTP_{status}")
    return body["data"].get("result")


def request_body(document: str, variables: Mapping[str, Any]) -> bytes:
    """The POST body; NaN and infinities have no JSON form, so they are refused here, before sending."""
    try:
        return json.dumps({"query": document, "variables": dict(variables)}, allow_nan=False).encode()
    except ValueError:
        problem = Problem(
            None, "NaN and infinite numbers cannot be sent (metrics and parameters must be finite)", "NOT_FINITE"
        )
        raise ValidationFailed(problem.message, [problem]) from None
    except TypeError as exc:
        problem = Problem(None, f"a value cannot be sent as JSON: {exc}", "NOT_JSON")
        raise ValidationFailed(problem.message, [problem]) from None


@dataclass(frozen=True)
class Wait:
    """Try again after `seconds`."""

    seconds: float


class Exchange(Generic[T]):
    """One operation's tries: the request to send (built once, so every try sends the same bytes) and what each
    reply means — the parsed result, a typed error raised, or a `Wait` before the next try."""

    def __init__(self, operation: Operation[T], endpoint: Endpoint, policy: RetryPolicy) -> None:
        self.url = endpoint.graphql_url
        self.headers = endpoint.headers()
        self.body = request_body(operation.document, operation.variables)
        self._operation = operation
        self._policy = policy
        self._attempt = 0

    def reply(self, answer: httpx.Response | httpx.TransportError) -> T | Wait:
        """Judge one try: the server's response, or the transport error that stood in for it."""
        self._attempt += 1
        try:
            if isinstance(answer, httpx.TransportError):
                raise transport_failure(answer, self._operation.retry_safe) from answer
            return self._operation.parse(read_response(answer.status_code, answer.content))
        except Retryable as retry:
            if self._attempt >= self._policy.attempts:
                raise retry.error from None
            return Wait(self._policy.delay(self._attempt))
