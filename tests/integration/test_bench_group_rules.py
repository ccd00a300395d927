"""Smoke test of bench/group_rules.py at a tiny size against the session's Neo4j."""

from __future__ import annotations

import asyncio

from bench.group_rules import run
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.services.container import Services
from lineage_graph.store.graph import Neo4jGraph


def test_the_group_rules_bench_runs_at_a_tiny_size(settings: Settings, db: Driver) -> None:
    async def bench() -> list[str]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            return await run(Services.build(graph), 3)
        finally:
            await graph.close()

    lines = asyncio.run(bench())
    assert any("contract + gated stages + promotion" in line for line in lines)
    assert any("archived" in line for line in lines)
