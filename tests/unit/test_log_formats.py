"""The two log forms carry the same fields; `auto` picks text for a terminal; settings errors are one sentence."""

from __future__ import annotations

import io
import json
import logging

import pytest

from lineage_graph.config import SettingsError, load_settings
from lineage_graph.logs import JsonFormatter, RequestIdFilter, TextFormatter, request_id_var, resolve_format


def _request_record() -> logging.LogRecord:
    record = logging.makeLogRecord(
        {
            "name": "lineage_graph.request",
            "levelname": "INFO",
            "levelno": logging.INFO,
            "msg": "request completed",
            "method": "POST",
            "path": "/graphql",
            "status": 200,
            "duration_ms": 3.5,
            # Uvicorn's records carry their message again with ANSI colours: never a field.
            "color_message": "\x1b[32mrequest completed\x1b[0m",
        }
    )
    token = request_id_var.set("req-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    return record


def test_text_lines_carry_the_request_fields_and_no_colour_codes() -> None:
    line = TextFormatter().format(_request_record())
    assert "request completed" in line
    for field in ("request_id=req-1", "method=POST", "path=/graphql", "status=200", "duration_ms=3.5"):
        assert field in line
    assert "\x1b" not in line
    assert "None" not in line


def test_text_lines_outside_a_request_have_no_request_id() -> None:
    record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": "started"})
    RequestIdFilter().filter(record)
    assert "request_id" not in TextFormatter().format(record)


def test_json_lines_drop_the_colour_copy() -> None:
    payload = json.loads(JsonFormatter().format(_request_record()))
    assert payload["request_id"] == "req-1"
    assert payload["status"] == 200
    assert "color_message" not in payload


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_at_a_terminal_and_json_otherwise() -> None:
    assert resolve_format("auto", _Terminal()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", _Terminal()) == "json"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"LINEAGE_GRAPH_PORT": "abc"}, "LINEAGE_GRAPH_PORT='abc' is not valid"),
        ({"LINEAGE_GRAPH_PORT": "70000"}, "LINEAGE_GRAPH_PORT='70000' is not valid"),
        ({"NEO4J_URI": "bolt://db:7687"}, "NEO4J_URI is set (bolt://db:7687) but NEO4J_PASSWORD is not"),
        ({"NEO4J_URI": "http://db:7474", "NEO4J_PASSWORD": "x"}, "NEO4J_URI='http://db:7474' is not valid"),
    ],
)
def test_a_bad_setting_names_the_variable_and_value(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name in ("NEO4J_URI", "NEO4J_PASSWORD", "LINEAGE_GRAPH_NEO4J_URI", "LINEAGE_GRAPH_NEO4J_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
