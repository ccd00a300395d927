"""Structured logs: one JSON object per line, each stamped with the id of the request it belongs to."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from lineage_graph.domain.errors import DomainError

LogFormat = Literal["json", "text"]

# Set by the request middleware for the duration of one HTTP request; every record emitted meanwhile by the
# code serving it (the same task, or tasks it spawns, which copy the context) carries the id.
request_id_var: ContextVar[str | None] = ContextVar("lineage_graph_request_id", default=None)

# The attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "taskName"}


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
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        # ensure_ascii keeps each record on one line whatever a client put in a logged value.
        return json.dumps(payload, default=str)


def configure_logging(level: str = "info", fmt: LogFormat = "json") -> None:
    """Route every logger (ours, Uvicorn's, the driver's) to stderr in one format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
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
