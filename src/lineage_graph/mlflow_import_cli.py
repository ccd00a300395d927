"""`lineage-graph import mlflow --tracking-uri …`: an MLflow registry and its runs into the graph (idempotent)."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lineage_graph.config import Settings
from lineage_graph.domain.auth import Principal

if TYPE_CHECKING:
    from lineage_graph.services.import_summary import ImportSummary
    from lineage_graph.store.graph import Neo4jGraph

GraphOpener = Callable[[Settings], AbstractAsyncContextManager["Neo4jGraph"]]
Operator = Callable[[Settings], Principal]


def _date(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def add_mlflow_import(importers: Any, open_graph: GraphOpener, operator: Operator) -> None:
    """Add `import mlflow` beside the other importers; `open_graph` is how admin commands reach the database,
    `operator` the identity they act (and are audited) as."""
    command = importers.add_parser("mlflow", help="MLflow registered models, versions, aliases and their runs")
    command.add_argument("--tracking-uri", required=True, help="the MLflow tracking server (http://host:5000)")
    command.add_argument("--token", help="bearer token for the tracking server (default: $MLFLOW_TRACKING_TOKEN)")
    command.add_argument("--since", type=_date, help="only registered models changed since (ISO date or time)")

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        return cmd_import_mlflow(args, settings, open_graph, operator(settings))

    command.set_defaults(handler=handler)


def cmd_import_mlflow(args: argparse.Namespace, settings: Settings, open_graph: GraphOpener, actor: Principal) -> int:
    from rich.console import Console

    from lineage_graph.domain.errors import DomainError
    from lineage_graph.import_console import import_progress, print_summary
    from lineage_graph.integrations.mlflow.tracking import MlflowTracking
    from lineage_graph.services.container import Services
    from lineage_graph.services.mlflow_import import MlflowImporter
    from lineage_graph.store.constraints import apply_constraints

    console = Console()

    async def run() -> ImportSummary:
        source = MlflowTracking.connect(args.tracking_uri, args.token or os.environ.get("MLFLOW_TRACKING_TOKEN"))
        try:
            async with open_graph(settings) as graph:
                await apply_constraints(graph)
                importer = MlflowImporter(Services.build(graph), actor)
                with import_progress(console) as tick:
                    return await importer.run(source, args.since, tick)
        finally:
            await source.close()

    try:
        summary = asyncio.run(run())
    except DomainError as exc:
        console.print(f"error: {exc.message}")
        return 2
    return print_summary(console, "MLflow import", summary)
