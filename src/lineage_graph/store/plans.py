"""Statement plans made at start-up, before the first request needs them.

Neo4j caches a plan per statement text and parameter types, and a list or string parameter's type includes its
size bucket (exactly 0 or 1, else the next power of ten): a walk whose frontier grows from 1 node to 2, then to
11, would plan its level statement three times, 0.5-2 s each on a JVM that has just started on a busy 2-core
machine. A map parameter is one type whatever its values, so every list and string a lineage request varies
travels in one (`$walk`, `$key`): one plan per statement serves every size. What is left to plan is each
statement once; EXPLAIN plans and caches it without reading anything, so the server does that for its hot
statements before it serves (figures: docs/operations.md, `bench/cold_start.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.lineage import lineage_statements

Statement = tuple[str, dict[str, Any]]


def hot_statements() -> list[Statement]:
    """The statements whose first planning a request should never wait for: every lineage walk's."""
    return lineage_statements()


async def warm_plans(graph: Neo4jGraph, statements: Sequence[Statement], budget: float) -> int:
    """Plan `statements` in order for at most `budget` seconds (a statement still planning then is abandoned,
    it and the rest are planned on first use); returns how many were planned."""
    planned = 0
    try:
        async with asyncio.timeout(budget):
            for cypher, params in statements:
                await graph.rows("EXPLAIN " + cypher, **params)
                planned += 1
    except TimeoutError:
        pass
    return planned
