"""Metrics labels and log records, without I/O."""

from __future__ import annotations

import json
import logging

from graphql import GraphQLError

from lineage_graph.domain.errors import NotFound
from lineage_graph.logs import ClientErrorsAreNotServerErrors, JsonFormatter, RequestIdFilter, request_id_var
from lineage_graph.metrics import MAX_OPERATION_NAMES, Metrics


def test_operation_labels_are_bounded() -> None:
    metrics = Metrics()
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("x" * 65) == "invalid"
    assert metrics.operation_label("Robert'); DROP") == "invalid"
    names = [metrics.operation_label(f"Op{n}") for n in range(MAX_OPERATION_NAMES + 50)]
    assert names[:MAX_OPERATION_NAMES] == [f"Op{n}" for n in range(MAX_OPERATION_NAMES)]
    assert set(names[MAX_OPERATION_NAMES:]) == {"other"}
    assert metrics.operation_label("Op3") == "Op3", "a name seen before keeps its own series"


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "lineage_graph.test", "levelname": "INFO", "msg": message, **extra})
    RequestIdFilter().filter(record)
    return record


def test_json_lines_carry_the_request_id_and_extra_fields_on_one_line() -> None:
    token = request_id_var.set("req-1")
    try:
        line = JsonFormatter().format(_record("hello\nworld \u202e", status=200, codes=["A"]))
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["message"] == "hello\nworld \u202e"
    assert payload["request_id"] == "req-1"
    assert payload["status"] == 200
    assert payload["codes"] == ["A"]
    assert {"ts", "level", "logger"} <= payload.keys()
    assert "request_id" not in json.loads(JsonFormatter().format(_record("outside a request")))


def test_only_unexpected_graphql_errors_stay_at_error_level() -> None:
    keep = ClientErrorsAreNotServerErrors()

    def logged(original: Exception | None) -> logging.LogRecord:
        error = GraphQLError("boom", original_error=original)
        exc_info = (type(original), original, None) if original else None
        return logging.makeLogRecord({"msg": error, "levelname": "ERROR", "exc_info": exc_info})

    assert keep.filter(logged(RuntimeError("bug")))
    assert not keep.filter(logged(NotFound("ModelGroup", "churn")))
    assert not keep.filter(logged(None)), "a document that does not validate is the client's mistake"
