"""schema/schema.graphql is the contract frontends build on: it must match the code."""

from __future__ import annotations

from pathlib import Path

from lineage_graph.graphql.schema import print_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_exported_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text() == print_schema(), "run `lineage-graph schema export`"
