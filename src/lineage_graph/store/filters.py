"""WHERE clauses of list queries, built from the filters a caller supplied.

A condition such as `($owner IS NULL OR g.owner = $owner)` keeps one cached plan for every combination of
filters, but that plan cannot seek an index on `owner` (it must hold for a null parameter too): every list
became a label scan. Here each filter has a fixed condition text, and only the supplied ones are joined, so the
planner sees `g.owner = $owner` and seeks. Values always travel as parameters; the clause text comes only
from these constants, so no input can reach the query's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def where_clause(conditions: Mapping[str, str], params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """`WHERE c1 AND c2 …` for the params that are not None (empty when none is), and those params."""
    supplied = {name: value for name, value in params.items() if value is not None}
    clauses = [conditions[name] for name in supplied]
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", supplied
