"""How the `import …` commands show their work: a live line while records are imported, then the summary as
a table with every failure under it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from lineage_graph.services.import_summary import OUTCOMES, ImportSummary
from lineage_graph.services.import_summary import Progress as ProgressCallback


@contextmanager
def import_progress(console: Console) -> Iterator[ProgressCallback]:
    """A callback for an importer's `progress`, drawn as one transient line (gone once the import ends)."""
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

        yield tick


def print_summary(console: Console, title: str, summary: ImportSummary) -> int:
    """Print the summary; the command's exit status: 1 when any record failed, else 0."""
    table = Table(title=title)
    for column in ("kind", *OUTCOMES):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in summary.kinds:
        counts = summary.counts[kind]
        table.add_row(kind, *(str(counts[outcome]) for outcome in OUTCOMES))
    console.print(table)
    for failure in summary.failures:
        console.print(f"[yellow]! {failure}[/yellow]")
    return 1 if summary.failed else 0
