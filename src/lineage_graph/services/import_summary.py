"""What an import from another registry did: per kind of record, how many were created, updated, found
unchanged, skipped or failed, and why each failure happened. Every importer reports in this shape."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from lineage_graph.domain.errors import DomainError

OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")

# Told what is being imported now, one call per record; a command line shows it as a live line.
Progress = Callable[[str], None]


def no_progress(_: str) -> None:
    """For a caller that shows none."""


@dataclass
class ImportSummary:
    kinds: tuple[str, ...]
    counts: dict[str, Counter[str]] = field(init=False)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = {kind: Counter() for kind in self.kinds}

    def count(self, kind: str, outcome: str) -> None:
        self.counts[kind][outcome] += 1

    def fail(self, kind: str, what: str, error: DomainError) -> None:
        self.counts[kind]["failed"] += 1
        self.failures.append(f"{what}: {error.message}")

    @property
    def changed(self) -> int:
        return sum(c["created"] + c["updated"] for c in self.counts.values())

    @property
    def failed(self) -> bool:
        return any(c["failed"] for c in self.counts.values())
