"""What a group's own rules cost: registering into a group with a contract, gated stages and automated
promotion against registering into a plain group (the baseline, same run, same database), the pattern
safety check, and a retention dry run against the run that carries it out.

    .venv/bin/python bench/group_rules.py [--versions 200]                  # a private Neo4j on a free port
    NEO4J_URI=bolt://… NEO4J_PASSWORD=… .venv/bin/python bench/group_rules.py   # an existing one (new groups only)

Prints figures; nothing asserts. Service calls, no HTTP: the ratio to the plain group is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lineage_graph.config import Settings
from lineage_graph.domain.approval import MetricRequirement
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.commands import CodeVersionSpec, CreateModelGroup, DatasetVersionSpec, RegisterModelVersion
from lineage_graph.domain.contracts import RegistrationContract, RequiredHyperparameter, RequiredMetric, ValueType
from lineage_graph.domain.lifecycle import DEFAULT_STAGES, LifecyclePolicy, StageDefinition, StageGate
from lineage_graph.domain.models import Metric
from lineage_graph.domain.patterns import pattern_problem
from lineage_graph.domain.promotion import PromotionPolicy
from lineage_graph.domain.retention import RetentionPolicy
from lineage_graph.neo4j_local import Connection, LocalNeo4j, free_port
from lineage_graph.services.container import Services
from lineage_graph.store.constraints import apply_constraints
from lineage_graph.store.graph import GraphSettings, Neo4jGraph

ADMIN = Principal("bench-admin", Role.ADMIN)
PIPELINE = Principal("bench-pipeline", Role.CONTRIBUTOR)


@contextmanager
def neo4j() -> Iterator[Connection]:
    if os.environ.get("NEO4J_URI"):
        yield Connection(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
        return
    with tempfile.TemporaryDirectory() as home:
        instance = LocalNeo4j(Path(home), Settings().cache_dir, free_port(), heap="1g", pagecache="256m")
        conn = instance.start()
        try:
            yield conn
        finally:
            instance.stop()


def _command(group: str, i: int) -> RegisterModelVersion:
    return RegisterModelVersion(
        group=group,
        artifact_uri=f"s3://bench/{group}/{i}",
        hyperparameters={"max_depth": 6},
        metrics=(Metric("auc", 0.9, split="validation"),),
        trained_on_specs=(DatasetVersionSpec("s3://bench", "events", str(i % 10)),),
        code=CodeVersionSpec("github.com/bench/model", "1c9e2b7a55d0"),
    )


async def _timed(call: Callable[[int], Awaitable[object]], n: int) -> list[float]:
    samples = []
    for i in range(n):
        start = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - start) * 1000)
    return sorted(samples)


def _line(name: str, samples: list[float], baseline: list[float] | None = None) -> str:
    p50, p95 = statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]
    ratio = f"   x{p50 / statistics.median(baseline):.2f} of plain at p50" if baseline else ""
    return f"{name:34s} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms{ratio}"


async def run(services: Services, versions: int) -> list[str]:
    """Register `versions` versions into a plain and a ruled group; returns the printed lines."""
    suffix = uuid.uuid4().hex[:8]
    plain, ruled = f"plain-{suffix}", f"ruled-{suffix}"
    for name in (plain, ruled):
        await services.registry.create_group(ADMIN, CreateModelGroup(name))
    await services.contracts.set_contract(
        ADMIN,
        ruled,
        RegistrationContract(
            required_metrics=(RequiredMetric("auc", "validation"),),
            required_hyperparameters=(RequiredHyperparameter("max_depth", ValueType.INTEGER),),
            require_training_data=True,
            require_code_version=True,
        ),
    )
    staging = StageDefinition("Staging", StageGate(metric_thresholds=(MetricRequirement("auc", ">=", 0.85),)))
    stages = (DEFAULT_STAGES[0], staging, *DEFAULT_STAGES[2:])
    await services.lifecycle.set_stages(ADMIN, ruled, LifecyclePolicy(stages))
    await services.promotion.set_policy(ADMIN, ruled, PromotionPolicy(to_stage="Staging"))
    for name in (plain, ruled):  # warm-up
        await services.registry.register_version(PIPELINE, _command(name, 0))
    base = await _timed(lambda i: services.registry.register_version(PIPELINE, _command(plain, i + 1)), versions)
    rules = await _timed(lambda i: services.registry.register_version(PIPELINE, _command(ruled, i + 1)), versions)
    lines = [
        f"== registration, {versions} sequential versions per group",
        _line("plain group (baseline)", base),
        _line("contract + gated stages + promotion", rules, base),
    ]
    await services.retention.set_policy(ADMIN, ruled, RetentionPolicy(keep_last_per_stage=max(1, versions // 2)))
    dry = await _timed(lambda _: services.retention.run(ADMIN, ruled, dry_run=True), 3)
    start = time.perf_counter()
    [report] = await services.retention.run(ADMIN, ruled, dry_run=False)
    lines += [
        "== retention",
        _line(f"dry run ({len(report.planned)} planned)", dry),
        f"{'run (batches of 100)':34s} {(time.perf_counter() - start) * 1000:7.2f} ms for {len(report.archived)}"
        " archived",
    ]
    patterns = [r"ML-\d+", r"(a+)+$", r"(?:eu|us)-[a-z]+", "x" * 200]
    start = time.perf_counter()
    for _ in range(1000):
        for p in patterns:
            pattern_problem(p)
    lines += ["== pattern safety check", f"{'4 patterns x 1000':34s} {(time.perf_counter() - start) * 1000:7.2f} ms"]
    return lines


async def main(versions: int) -> None:
    logging.getLogger("neo4j").setLevel(logging.ERROR)  # the driver's notifications are not the figures
    with neo4j() as conn:
        # Generous budgets: the first writes into a freshly started Neo4j can be slow on a loaded machine.
        graph = Neo4jGraph.connect(GraphSettings(conn.uri, conn.user, conn.password, query_timeout=120, retry_time=10))
        try:
            await apply_constraints(graph)
            for line in await run(Services.build(graph), versions):
                print(line)
        finally:
            await graph.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=200)
    asyncio.run(main(parser.parse_args().versions))
