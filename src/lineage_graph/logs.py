"""Structured logs: one JSON object per line, each stamped with the id of the request it belongs to."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from lineage_graph.domain.errors import DomainError

LogFormat = Literal["auto", "json", "text"]

# Set by the request middleware for the duration of one HTTP request; every record emitted meanwhile by the
# code serving it (the same task, or tasks it spawns, which copy the context) carries the id.
request_id_var: ContextVar[str | None] = ContextVar("lineage_graph_request_id", default=None)

# The attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
# Uvicorn adds `color_message` (the same text with ANSI colour codes) to its records: never worth a field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
    "color_message",
}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra=` fields of a record (method, path, status, duration_ms, …)."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class RequestIdFilter(logging.Filter):
    """Stamps `record.request_id` (None outside a request) so both formats can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class ClientErrorsAreNotServerErrors(logging.Filter):
    """Strawberry logs every GraphQL error at ERROR level. Those the client caused (a document that does not
    parse or validate, a DomainError such as NOT_FOUND) are expected outcomes, already logged at info by the
    GraphQL layer and counted in metrics; dropping them here keeps ERROR meaning "a bug or an outage"."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is not None and not isinstance(error, DomainError)


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", "request_id"?, …extra fields, "exception"?}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            payload["request_id"] = request_id
        payload.update(_fields(record))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        # ensure_ascii keeps each record on one line whatever a client put in a logged value.
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """`HH:MM:SS level logger message key=value …` for a person at a terminal: the same fields as the JSON
    form (the request id only inside a request), on one line."""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        parts = [at, f"{record.levelname.lower():<7}", record.name, record.getMessage()]
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            parts.append(f"request_id={request_id}")
        parts.extend(f"{key}={value}" for key, value in _fields(record).items())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def resolve_format(fmt: LogFormat, stream: Any = None) -> Literal["json", "text"]:
    """`auto` (the default): text for a person at a terminal, JSON lines for a log collector."""
    if fmt != "auto":
        return fmt
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "text" if callable(isatty) and isatty() else "json"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted: a command run in-process (by a test runner
    that swaps and closes its capture streams, say) must not keep logging into a closed file."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(level: str = "info", fmt: LogFormat = "auto") -> None:
    """Route every logger (ours, Uvicorn's, the driver's) to stderr in one format."""
    handler = _StderrHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if resolve_format(fmt) == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    strawberry = logging.getLogger("strawberry.execution")
    if not any(isinstance(f, ClientErrorsAreNotServerErrors) for f in strawberry.filters):
        strawberry.addFilter(ClientErrorsAreNotServerErrors())
    # The driver logs every retried connection attempt at INFO/WARNING; our metrics count those instead.
    logging.getLogger("neo4j").setLevel(max(root.level, logging.WARNING))
