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

if TYPE_CHECKING:
    from lineage_graph.services.mlflow_import import ImportSummary
    from lineage_graph.store.graph import Neo4jGraph

GraphOpener = Callable[[Settings], AbstractAsyncContextManager["Neo4jGraph"]]


def _date(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def add_mlflow_import(importers: Any, open_graph: GraphOpener) -> None:
    """Add `import mlflow` beside the other importers; `open_graph` is how admin commands reach the database."""
    command = importers.add_parser("mlflow", help="MLflow registered models, versions, aliases and their runs")
    command.add_argument("--tracking-uri", required=True, help="the MLflow tracking server (http://host:5000)")
    command.add_argument("--token", help="bearer token for the tracking server (default: $MLFLOW_TRACKING_TOKEN)")
    command.add_argument("--since", type=_date, help="only registered models changed since (ISO date or time)")

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        return cmd_import_mlflow(args, settings, open_graph)

    command.set_defaults(handler=handler)


def cmd_import_mlflow(args: argparse.Namespace, settings: Settings, open_graph: GraphOpener) -> int:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from lineage_graph.domain.errors import DomainError
    from lineage_graph.integrations.mlflow.tracking import MlflowTracking
    from lineage_graph.services.container import Services
    from lineage_graph.services.mlflow_import import KINDS, MlflowImporter
    from lineage_graph.store.constraints import apply_constraints

    console = Console()

    async def run() -> ImportSummary:
        source = MlflowTracking.connect(args.tracking_uri, args.token or os.environ.get("MLFLOW_TRACKING_TOKEN"))
        try:
            async with open_graph(settings) as graph:
                await apply_constraints(graph)
                importer = MlflowImporter(Services.build(graph))
                with Progress(
                    SpinnerColumn(),
                    TextColumn("{task.completed} items"),
                    TextColumn("{task.description}"),
                    TimeElapsedColumn(),
                    console=console,
                    transient=True,
                ) as progress:
                    task = progress.add_task("importing", total=None)

                    def tick(what: str) -> None:
                        progress.update(task, description=f"importing {what}", advance=1)

                    return await importer.run(source, args.since, tick)
        finally:
            await source.close()

    try:
        summary = asyncio.run(run())
    except DomainError as exc:
        console.print(f"error: {exc.message}")
        return 2
    table = Table(title="MLflow import")
    for column in ("kind", "created", "updated", "unchanged", "skipped", "failed"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in KINDS:
        c = summary.counts[kind]
        table.add_row(kind, *(str(c[o]) for o in ("created", "updated", "unchanged", "skipped", "failed")))
    console.print(table)
    for failure in summary.failures:
        console.print(f"[yellow]! {failure}[/yellow]")
    return 1 if any(summary.counts[k]["failed"] for k in KINDS) else 0
