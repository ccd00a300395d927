"""Transient Neo4j errors are retried inside the request: a real deadlock between two writes costs a retry,
not a failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from neo4j import AsyncManagedTransaction, Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.store.graph import Neo4jGraph

_LOCK = "MATCH (n:Dataset {namespace: 'fault', name: $name}) SET n.touched = coalesce(n.touched, 0) + 1"


def test_a_deadlocked_write_is_retried_and_both_commit(settings: Settings, db: Driver) -> None:
    db.execute_query("CREATE (:Dataset {namespace: 'fault', name: 'a'}), (:Dataset {namespace: 'fault', name: 'b'})")

    async def scenario() -> tuple[int, int]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        both_hold_their_first_lock = asyncio.Barrier(2)

        def locking(first: str, second: str) -> Callable[[AsyncManagedTransaction], Awaitable[None]]:
            async def work(tx: AsyncManagedTransaction) -> None:
                await (await tx.run(_LOCK, name=first)).consume()
                if not both_hold_their_first_lock.broken:
                    # First attempts only: wait until the other transaction holds its first lock, then break
                    # the barrier so the retry runs straight through.
                    try:
                        await asyncio.wait_for(both_hold_their_first_lock.wait(), 5)
                    finally:
                        await both_hold_their_first_lock.abort()
                await (await tx.run(_LOCK, name=second)).consume()

            return work

        try:
            await asyncio.gather(graph.write(locking("a", "b")), graph.write(locking("b", "a")))
            return graph.stats.attempts["write"], graph.stats.transactions[("write", "ok")]
        finally:
            await graph.close()

    attempts, committed = asyncio.run(scenario())
    assert committed == 2
    assert attempts >= 3, "Neo4j detected the deadlock and the driver re-ran one transaction"
    touched = db.execute_query("MATCH (n:Dataset {namespace: 'fault'}) RETURN n.name AS name, n.touched AS t").records
    assert {record["name"]: record["t"] for record in touched} == {"a": 2, "b": 2}, "each commit applied once"
