"""Statement plans made at start-up, before the first request needs them.

Neo4j plans a statement the first time it meets its text with its parameters' types, then reuses the cached
plan. On a JVM that has just started, the planner's own code is still cold: planning the walk's level statement
took 3-10 s on a busy 2-core machine (0.06 s once cached), most of a walk's 10 s budget, so the first lineage
answer after a restart could come back cut short by TIMEOUT. EXPLAIN plans and caches a statement without
reading anything, whatever the size of the graph, so the server plans its hot statements before it serves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.lineage import lineage_statements

Statement = tuple[str, dict[str, Any]]

# Start-up waits this long at most: a statement not planned by then is planned on its first use, as before.
WARM_UP_SECONDS = 20.0


def hot_statements() -> list[Statement]:
    """The statements whose first planning a request should never wait for: every lineage walk's."""
    return lineage_statements()


async def warm_plans(graph: Neo4jGraph, statements: Sequence[Statement], budget: float = WARM_UP_SECONDS) -> int:
    """Plan `statements` in order for at most `budget` seconds (a statement still planning then is abandoned);
    returns how many were planned."""
    planned = 0
    try:
        async with asyncio.timeout(budget):
            for cypher, params in statements:
                await graph.rows("EXPLAIN " + cypher, **params)
                planned += 1
    except TimeoutError:
        pass  # the rest are planned on first use
    return planned
