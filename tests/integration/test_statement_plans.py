"""The statement plans the server makes at start-up: every statement a lineage request runs, with the parameter
types (and sizes) Neo4j plans it for, so the first walk after a start does not spend its time budget on planning."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import pytest
from neo4j import AsyncManagedTransaction, Driver

from lineage_graph.app import create_app, graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.lineage import Direction, LineageRequest
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.lineage import _Start
from lineage_graph.store.plans import hot_statements
from lineage_graph.store.traversal import Walk
from tests.integration.test_lineage import CODE, EV1, GROUP, JOB, MV2, TRAIN, make_ml_graph

PlanKey = tuple[str, tuple[tuple[str, str, int | None], ...]]


def _bucket(size: int) -> int:
    # Neo4j's size hint of a list or string parameter: exact up to 1, then the next power of ten.
    return size if size <= 1 else 10 ** math.ceil(math.log10(size))


def _kind(value: Any) -> str:
    # A map is one parameter type whatever its values' sizes; the keys and value types it holds are noted
    # anyway, so a statement run with a map of another shape than the one planned still shows up here.
    if isinstance(value, dict):
        return "map{" + ",".join(f"{k}:{_kind(v)}" for k, v in sorted(value.items())) + "}"
    return type(value).__name__


def _plan_key(cypher: str, params: dict[str, Any]) -> PlanKey:
    """What Neo4j caches a plan under: the statement and each parameter's type (and, for a list or string at
    the top level, its size bucket)."""
    statement = cypher.removeprefix("EXPLAIN ")
    kinds = tuple(
        sorted(
            (name, _kind(value), _bucket(len(value)) if isinstance(value, list | str) else None)
            for name, value in params.items()
        )
    )
    return statement, kinds


class _Recording:
    """A real transaction that notes the plan key of each statement it runs."""

    def __init__(self, tx: AsyncManagedTransaction, seen: set[PlanKey]) -> None:
        self._tx = tx
        self._seen = seen

    async def run(self, query: str, parameters: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        self._seen.add(_plan_key(query, {**(parameters or {}), **kwargs}))
        return await self._tx.run(query, parameters, **kwargs)


def test_every_statement_of_a_lineage_request_is_planned_at_start_up(settings: Settings, db: Driver) -> None:
    make_ml_graph(db)
    requests = [
        LineageRequest.validate(node, direction, 5)
        for node in (MV2, EV1, CODE, TRAIN, GROUP, JOB)
        for direction in (Direction.UPSTREAM, Direction.DOWNSTREAM, Direction.BOTH)
    ]
    seen: set[PlanKey] = set()

    async def walk_all() -> None:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            for request in requests:
                walk = Walk.of({}, request.direction, request.edge_types, request.limits(60.0))
                start = _Start(request.start, walk)
                walk.start_clock()

                async def work(tx: AsyncManagedTransaction, start: _Start = start) -> None:
                    await start.run(_Recording(tx, seen))  # type: ignore[arg-type]

                await graph.read(work)
        finally:
            await graph.close()

    asyncio.run(walk_all())
    planned = {_plan_key(cypher, params) for cypher, params in hot_statements()}
    # The walks ran their levels and depth checks, not only their starts.
    assert sum("UNWIND $walk.f" in statement for statement, _ in seen) >= 3
    assert seen <= planned, sorted(seen - planned)


def test_the_server_plans_them_before_it_serves(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    # Time enough for every statement however busy the machine: the default stops at 10 s, likeliest first.
    app = create_app(settings.model_copy(update={"warm_up_seconds": 600.0}))

    async def start_and_stop() -> None:
        async with app.router.lifespan_context(app):
            pass

    with caplog.at_level(logging.INFO, logger="lineage_graph.app"):
        asyncio.run(start_and_stop())
    assert f"planned {len(hot_statements())} lineage statements" in caplog.text
