"""Reachability along lineage edges inside a transaction, level by level with a visited set, so the cost
grows with the nodes reached and never with the number of paths (lineage graphs are full of diamonds)."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.store.graph import fetch_all

# Upstream: against the data flow. DERIVED_FROM points child → parent, which *is* upstream.
_UPSTREAM_STEP = """
UNWIND $frontier AS id
MATCH (n) WHERE elementId(n) = id
CALL (n) {
  MATCH (n)<-[:INPUT_TO|OUTPUT|EXECUTED_BY|TRAINED|BUILT]-(m) RETURN m
  UNION
  MATCH (n)-[:DERIVED_FROM]->(m) RETURN m
}
WITH DISTINCT m WHERE NOT elementId(m) IN $visited
RETURN elementId(m) AS id, labels(m)[0] AS label, m {.*} AS props
"""

_DOWNSTREAM_STEP = """
UNWIND $frontier AS id
MATCH (n) WHERE elementId(n) = id
CALL (n) {
  MATCH (n)-[:INPUT_TO|OUTPUT|EXECUTED_BY|TRAINED|BUILT]->(m) RETURN m
  UNION
  MATCH (n)<-[:DERIVED_FROM]-(m) RETURN m
}
WITH DISTINCT m WHERE NOT elementId(m) IN $visited
RETURN elementId(m) AS id, labels(m)[0] AS label, m {.*} AS props
"""

MAX_DEPTH = 50


async def reachable(
    tx: AsyncManagedTransaction, start_ids: list[str], *, upstream: bool, max_depth: int = MAX_DEPTH
) -> list[dict[str, Any]]:
    """Every node reachable from `start_ids` (element ids) within `max_depth` steps, each once."""
    step = _UPSTREAM_STEP if upstream else _DOWNSTREAM_STEP
    visited = set(start_ids)
    frontier = list(start_ids)
    found: list[dict[str, Any]] = []
    for _ in range(max_depth):
        if not frontier:
            break
        rows = await fetch_all(tx, step, frontier=frontier, visited=list(visited))
        frontier = []
        for row in rows:
            if row["id"] not in visited:
                visited.add(row["id"])
                frontier.append(row["id"])
                found.append(row)
    return found
