"""How long a request waits when Neo4j is down: the driver's retry loop versus the store's fail-fast.

Nothing listens on the port it connects to (loopback, connection refused), which is what a stopped or
crashed Neo4j looks like. Prints seconds per request for the first request of the outage and those after it.

    .venv/bin/python bench/outage.py
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.errors import Unavailable
from lineage_graph.neo4j_local import free_port
from lineage_graph.store.graph import GraphSettings, Neo4jGraph


class _AlwaysRetrying(Neo4jGraph):
    """The store without fail-fast: every transaction gets the full retry budget, as the driver alone does."""

    @property
    def retry_budget(self) -> float:
        return self.retry_time


async def _work(tx: AsyncManagedTransaction) -> None:
    await tx.run("RETURN 1")


async def _timings(graph: Neo4jGraph, requests: int) -> list[float]:
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        with contextlib.suppress(Unavailable):
            await graph.read(_work)
        timings.append(time.perf_counter() - started)
    await graph.close()
    return timings


def main() -> None:
    logging.getLogger("neo4j").setLevel(logging.ERROR)  # one warning per retry otherwise
    settings = GraphSettings(uri=f"bolt://127.0.0.1:{free_port()}", user="neo4j", password="unused")
    for label, cls in (("driver retries (retry_time 2.5 s)", _AlwaysRetrying), ("fail-fast store", Neo4jGraph)):
        graph = cls.connect(settings)
        timings = asyncio.run(_timings(graph, 4))
        shown = ", ".join(f"{t:.2f}" for t in timings)
        print(f"{label:<34} seconds per request while Neo4j is down: {shown}")


if __name__ == "__main__":
    main()
