"""Retention: per-group rules (admin), a dry run that lists what would be archived and why, and a run that
archives exactly that plan in bounded batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import NotFound, ValidationFailed
from lineage_graph.domain.retention import DEFAULT_BATCH, MAX_BATCH, ArchivePlan, RetentionPolicy, plan_archival
from lineage_graph.services.authorization import require
from lineage_graph.store.group_rules import GroupRules, GroupRulesStore
from lineage_graph.store.retention import RetentionStore


@dataclass(frozen=True)
class RetentionReport:
    group: str
    dry_run: bool
    planned: tuple[ArchivePlan, ...]
    archived: tuple[int, ...]  # empty for a dry run


class RetentionService:
    def __init__(self, rules: GroupRulesStore, store: RetentionStore) -> None:
        self.rules = rules
        self.store = store

    async def set_policy(self, actor: Principal, group: str, policy: RetentionPolicy) -> RetentionPolicy:
        require(actor, Role.ADMIN)
        policy.validate()

        def change(_current: GroupRules) -> dict[str, str]:
            return {"retention": policy.to_json()}

        saved = await self.rules.update(group, actor.name, "model_group.retention_set", change)
        return saved.retention

    async def policy(self, actor: Principal, group: str) -> RetentionPolicy | None:
        require(actor, Role.VIEWER)
        found = await self.rules.rules(group)
        return found.retention if found else None

    async def run(
        self,
        actor: Principal,
        group: str | None = None,
        *,
        dry_run: bool = True,
        batch_size: int = DEFAULT_BATCH,
        now: datetime | None = None,
    ) -> list[RetentionReport]:
        """Plan (and unless `dry_run`, archive) for `group`, or for every group with retention rules."""
        require(actor, Role.ADMIN)
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValidationFailed.field("batchSize", f"must be between 1 and {MAX_BATCH}", "OUT_OF_RANGE")
        groups = [group] if group is not None else await self.store.groups_with_rules()
        moment = now or datetime.now(UTC)
        reports = []
        for name in groups:
            rules = await self.rules.rules(name)
            if rules is None:
                raise NotFound("model group", name, "group")
            candidates = await self.store.candidates(name, rules.lifecycle.initial)
            planned = tuple(plan_archival(rules.retention, candidates, moment))
            archived: list[int] = []
            if not dry_run:
                for start in range(0, len(planned), batch_size):
                    archived += await self.store.archive(name, planned[start : start + batch_size], actor.name)
            reports.append(RetentionReport(name, dry_run, planned, tuple(archived)))
        return reports
