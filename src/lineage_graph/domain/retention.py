"""Retention: which versions of a group to archive, and why. A pure plan that a dry run shows and a run
carries out, so both always agree.

Rules (each optional): keep the last N versions per stage; archive versions older than D days that are
neither approved, aliased nor deployed. What is deployed is never archived, by any rule; nor is what an
alias points at (an alias must resolve to a live version).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.models import ApprovalStatus

MAX_KEEP = 10_000
MAX_DAYS = 36_500
DEFAULT_BATCH = 100
MAX_BATCH = 1_000


@dataclass(frozen=True)
class RetentionPolicy:
    keep_last_per_stage: int | None = None
    archive_older_than_days: int | None = None

    @property
    def enabled(self) -> bool:
        return self.keep_last_per_stage is not None or self.archive_older_than_days is not None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> RetentionPolicy:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        return cls(data.get("keep_last_per_stage"), data.get("archive_older_than_days"))

    def validate(self) -> None:
        problems = []
        n, d = self.keep_last_per_stage, self.archive_older_than_days
        if n is not None and not 1 <= n <= MAX_KEEP:
            problems.append(Problem("keepLastPerStage", f"must be between 1 and {MAX_KEEP}", "OUT_OF_RANGE"))
        if d is not None and not 1 <= d <= MAX_DAYS:
            problems.append(Problem("archiveOlderThanDays", f"must be between 1 and {MAX_DAYS}", "OUT_OF_RANGE"))
        if problems:
            raise ValidationFailed.of(problems)


@dataclass(frozen=True)
class RetentionCandidate:
    """A live (not yet archived) version as retention sees it."""

    group: str
    version: int
    stage: str
    created_at: datetime
    approval_status: ApprovalStatus
    aliases: tuple[str, ...]
    deployed: bool  # at least one active deployment serves it


@dataclass(frozen=True)
class ArchivePlan:
    group: str
    version: int
    reasons: tuple[str, ...]


def plan_archival(
    policy: RetentionPolicy, candidates: Sequence[RetentionCandidate], now: datetime
) -> list[ArchivePlan]:
    """The versions to archive, oldest first, each with the rule(s) that select it."""
    reasons: dict[tuple[str, int], list[str]] = {}
    live = [c for c in candidates if not c.deployed and not c.aliases]
    if policy.keep_last_per_stage is not None:
        n = policy.keep_last_per_stage
        by_stage: dict[str, list[RetentionCandidate]] = {}
        for c in candidates:
            by_stage.setdefault(c.stage, []).append(c)
        for stage, members in by_stage.items():
            newest_first = sorted(members, key=lambda c: c.version, reverse=True)
            for c in newest_first[n:]:
                if c in live:
                    reasons.setdefault((c.group, c.version), []).append(f"beyond the last {n} in stage {stage}")
    if policy.archive_older_than_days is not None:
        days = policy.archive_older_than_days
        cutoff = now - timedelta(days=days)
        for c in live:
            if c.created_at < cutoff and c.approval_status is not ApprovalStatus.APPROVED:
                reasons.setdefault((c.group, c.version), []).append(
                    f"older than {days} days and neither approved, aliased nor deployed"
                )
    return [ArchivePlan(g, v, tuple(r)) for (g, v), r in sorted(reasons.items())]
