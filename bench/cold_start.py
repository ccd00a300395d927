"""The first lineage walks after Neo4j starts: without the server's start-up planning, with it, and warm.

    .venv/bin/python bench/cold_start.py                   # two private Neo4j starts (a fresh JVM each, with
                                                           # the JIT `serve` gives the managed Neo4j here)
    NEO4J_URI=bolt://… NEO4J_PASSWORD=… .venv/bin/python bench/cold_start.py --versions 3   # an existing one

Each mode starts from a Neo4j that has planned none of the walk's statements: a freshly started one (its JVM
cold too, as after a restart), or, against NEO4J_URI, the same one with its query caches cleared (planning
alone; that JVM is already warm). It writes a small fine-tune lineage (each version trained on its own dataset
version by a run with code, and derived from the one before), then times, through the store's traversal:
the start-up planning when the mode has it, the first walk of each shape (upstream, downstream, both ways;
depth 5, every edge type), and the same walks once warm, the baseline (median of `--repeat`). Prints seconds
and the ratio first/warm. It is not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from neo4j import AsyncManagedTransaction

from lineage_graph.config import Settings
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import DEFAULT_BUDGET, Direction, LineageRequest, Truncation
from lineage_graph.neo4j_local import Connection, LocalNeo4j, free_port, jit_for_machine
from lineage_graph.store.constraints import apply_constraints
from lineage_graph.store.graph import GraphSettings, Neo4jGraph
from lineage_graph.store.lineage import Neo4jLineageStore
from lineage_graph.store.plans import hot_statements, warm_plans

GROUP = "cold-start"

_CHAIN = """
UNWIND range(1, $versions) AS n
MERGE (d:DatasetVersion {namespace: 'bench', name: 'cold-start', version: toString(n)})
MERGE (c:CodeVersion {repository: 'bench/cold-start', commit: toString(n)})
MERGE (r:Run {run_id: 'cold-start-' + toString(n)})
MERGE (v:ModelVersion {group: $group, version: n})
MERGE (d)-[:INPUT_TO]->(r)
MERGE (c)-[:EXECUTED_BY]->(r)
MERGE (r)-[:OUTPUT]->(v)
WITH v, n
OPTIONAL MATCH (parent:ModelVersion {group: $group, version: n - 1})
FOREACH (p IN CASE WHEN parent IS NULL THEN [] ELSE [parent] END | MERGE (v)-[:DERIVED_FROM]->(p))
"""
_CLEAR = """
MATCH (n) WHERE n.namespace = 'bench' OR n.repository = 'bench/cold-start' OR n.run_id STARTS WITH 'cold-start-'
   OR n.group = $group
DETACH DELETE n
"""


@dataclass(frozen=True)
class Figures:
    mode: str
    planning: float | None  # seconds of start-up planning; None: the mode has none
    first: dict[str, float]  # walk shape -> seconds of its first run
    warm: dict[str, float]  # walk shape -> median seconds once warm


def _walks(versions: int) -> dict[str, LineageRequest]:
    newest = NodeRef.of(NodeKind.MODEL_VERSION, GROUP, versions).global_id
    oldest_data = NodeRef.of(NodeKind.DATASET_VERSION, "bench", "cold-start", "1").global_id
    middle = NodeRef.of(NodeKind.MODEL_VERSION, GROUP, max(1, versions // 2)).global_id
    return {
        "upstream": LineageRequest.validate(newest, Direction.UPSTREAM, 5),
        "downstream": LineageRequest.validate(oldest_data, Direction.DOWNSTREAM, 5),
        "both": LineageRequest.validate(middle, Direction.BOTH, 5),
    }


async def _timed(store: Neo4jLineageStore, request: LineageRequest, budget: float = DEFAULT_BUDGET) -> float:
    """Seconds of one walk under the product's time budget; a walk that budget cut short is reported (TIMEOUT
    is what a user would have seen), its time kept."""
    started = time.perf_counter()
    graph = await store.traverse(request, budget)
    elapsed = time.perf_counter() - started
    if graph.truncated is Truncation.TIMEOUT:
        print(f"  a walk came back cut short by its {budget:g} s budget (TIMEOUT) after {elapsed:.2f} s")
    return elapsed


async def _measure(
    connection: Connection, mode: str, plan: bool, versions: int, repeat: int, warm_up_seconds: float
) -> Figures:
    graph = Neo4jGraph.connect(GraphSettings(connection.uri, connection.user, connection.password, query_timeout=120))
    try:
        await apply_constraints(graph)
        await graph.schema_command("CALL db.clearQueryCaches()")
        planning = None
        if plan:
            started = time.perf_counter()
            # As the server does: likeliest first, capped.
            planned = await warm_plans(graph, hot_statements(), warm_up_seconds)
            planning = time.perf_counter() - started
            print(f"  start-up planning: {planned} of {len(hot_statements())} statements in {planning:.2f} s")
        store = Neo4jLineageStore(graph)
        walks = _walks(versions)
        first = {shape: await _timed(store, request) for shape, request in walks.items()}
        warm = {
            shape: statistics.median([await _timed(store, request) for _ in range(repeat)])
            for shape, request in walks.items()
        }
        return Figures(mode, planning, first, warm)
    finally:
        await graph.close()


async def _write_chain(connection: Connection, versions: int) -> None:
    graph = Neo4jGraph.connect(GraphSettings(connection.uri, connection.user, connection.password, query_timeout=120))
    try:
        await apply_constraints(graph)

        async def work(tx: AsyncManagedTransaction) -> None:
            await (await tx.run(_CLEAR, group=GROUP)).consume()
            await (await tx.run(_CHAIN, group=GROUP, versions=versions)).consume()

        await graph.write(work)
    finally:
        await graph.close()


@asynccontextmanager
async def _neo4j(args: argparse.Namespace) -> AsyncIterator[Connection]:
    """NEO4J_URI's database, or a private Neo4j started for this mode alone (a fresh JVM)."""
    if os.environ.get("NEO4J_URI"):
        yield Connection(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
        return
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="cold-start-") as home:
        # The JIT `serve` gives its managed Neo4j on this machine (LINEAGE_GRAPH_NEO4J_JIT, "auto" by default).
        instance = LocalNeo4j(
            home=Path(home),
            cache_dir=settings.cache_dir,
            bolt_port=free_port(),
            heap=args.heap,
            pagecache="256m",
            jit=jit_for_machine(settings.neo4j_jit),
        )
        connection = await asyncio.to_thread(instance.start)
        try:
            yield connection
        finally:
            await asyncio.to_thread(instance.stop)


async def _run(args: argparse.Namespace) -> list[Figures]:
    figures = []
    for mode, plan in (("no start-up planning", False), ("start-up planning", True)):
        async with _neo4j(args) as connection:
            await _write_chain(connection, args.versions)
            figures.append(await _measure(connection, mode, plan, args.versions, args.repeat, args.warm_up_seconds))
    return figures


def report(figures: list[Figures], fresh: bool) -> None:
    if fresh:
        jit = jit_for_machine(Settings().neo4j_jit)
        print(f"Neo4j: a fresh start per mode (cold JVM, the {jit} JIT `serve` would give it here)")
    else:
        print("Neo4j: NEO4J_URI, query caches cleared per mode")
    shapes = list(figures[0].first)
    header = f"{'mode':<22} {'planning s':>10} " + " ".join(f"{'first ' + s + ' s':>18}" for s in shapes)
    print(header + f" {'warm upstream s':>16} {'first/warm upstream':>20}")
    for f in figures:
        planning = "-" if f.planning is None else f"{f.planning:.2f}"
        firsts = " ".join(f"{f.first[s]:>18.3f}" for s in shapes)
        ratio = f.first["upstream"] / f.warm["upstream"] if f.warm["upstream"] else float("inf")
        print(f"{f.mode:<22} {planning:>10} {firsts} {f.warm['upstream']:>16.3f} {ratio:>20.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--versions", type=int, default=20, help="model versions in the fine-tune chain")
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per walk (their median is the baseline)")
    parser.add_argument("--heap", default="1g")
    parser.add_argument(
        "--warm-up-seconds", type=float, default=Settings().warm_up_seconds, help="the start-up planning's cap"
    )
    args = parser.parse_args()
    report(asyncio.run(_run(args)), fresh=not os.environ.get("NEO4J_URI"))


if __name__ == "__main__":
    main()
