"""Retention over GraphQL: a group's rules, and a dry run or run (admin) of the archival they call for."""

from __future__ import annotations

import strawberry

from lineage_graph.domain import retention
from lineage_graph.graphql.registry_types import Info
from lineage_graph.services.retention import RetentionReport as Report


@strawberry.type(description="Which versions of a group to archive. Deployed versions are never archived.")
class RetentionPolicy:
    keep_last_per_stage: int | None = strawberry.field(description="Keep the newest N versions of each stage.")
    archive_older_than_days: int | None = strawberry.field(
        description="Archive versions older than D days that are neither approved, aliased nor deployed."
    )

    @classmethod
    def from_model(cls, p: retention.RetentionPolicy) -> RetentionPolicy:
        return cls(keep_last_per_stage=p.keep_last_per_stage, archive_older_than_days=p.archive_older_than_days)


@strawberry.input
class RetentionPolicyInput:
    keep_last_per_stage: int | None = None
    archive_older_than_days: int | None = None


@strawberry.type(description="A version retention selects, with the rule(s) that select it.")
class ArchivePlan:
    version: int
    reasons: list[str]


@strawberry.type(description="What a retention run of one group planned and (unless a dry run) archived.")
class RetentionReport:
    group: str
    dry_run: bool
    planned: list[ArchivePlan]
    archived: list[int]

    @classmethod
    def from_model(cls, r: Report) -> RetentionReport:
        return cls(
            group=r.group,
            dry_run=r.dry_run,
            planned=[ArchivePlan(version=p.version, reasons=list(p.reasons)) for p in r.planned],
            archived=list(r.archived),
        )


@strawberry.type
class RetentionQuery:
    @strawberry.field(description="A group's retention rules (null when the group does not exist).")
    async def retention_policy(self, info: Info, group: str) -> RetentionPolicy | None:
        found = await info.context.services.retention.policy(info.context.principal, group)
        return RetentionPolicy.from_model(found) if found else None


@strawberry.type
class RetentionMutation:
    @strawberry.mutation(description="Set a group's retention rules (admin).")
    async def set_retention_policy(
        self, info: Info, group: str, policy: RetentionPolicyInput
    ) -> RetentionPolicy | None:
        saved = await info.context.services.retention.set_policy(
            info.context.principal,
            group,
            retention.RetentionPolicy(policy.keep_last_per_stage, policy.archive_older_than_days),
        )
        return RetentionPolicy.from_model(saved)

    @strawberry.mutation(
        description="Apply retention (admin) to one group or every group with rules; dryRun (the default) only "
        "lists what would be archived and why. Archived versions keep their lineage and history."
    )
    async def run_retention(
        self, info: Info, group: str | None = None, dry_run: bool = True
    ) -> list[RetentionReport] | None:
        reports = await info.context.services.retention.run(info.context.principal, group, dry_run=dry_run)
        return [RetentionReport.from_model(r) for r in reports]
