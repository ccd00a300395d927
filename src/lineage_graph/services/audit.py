"""The audit log's read side: a filtered, paginated view for reviewers, and the chain verification."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from lineage_graph.domain.audit import (
    AuditEvent,
    ChainBreak,
    ChainReport,
    Head,
    LogVerifier,
    PartitionReport,
    PartitionVerifier,
)
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.services.authorization import require
from lineage_graph.store.audit import AuditFilter, AuditStore
from lineage_graph.store.graph import Neo4jGraph

MAX_PAGE = 100
# Reading the log reveals who did what to every model: reviewers (approver) and admins, not every viewer.
AUDIT_READER = Role.APPROVER


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    has_next_page: bool


class AuditService:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._store = AuditStore(graph)

    async def log(
        self,
        actor: Principal,
        *,
        subject: str | None = None,
        by: str | None = None,
        action: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        first: int = 50,
        after: tuple[datetime, str] | None = None,
    ) -> AuditPage:
        """Events newest first; `after` is the (at, event id) of the last event already seen."""
        require(actor, AUDIT_READER)
        problems = []
        if not 1 <= first <= MAX_PAGE:
            problems.append(Problem("first", f"must be between 1 and {MAX_PAGE}", "OUT_OF_RANGE"))
        for name, value in (("from", from_), ("to", to)):
            if value is not None and value.tzinfo is None:
                problems.append(Problem(name, "must include a time zone offset", "INVALID"))
        if from_ is not None and to is not None and from_.tzinfo and to.tzinfo and from_ >= to:
            problems.append(Problem("to", "must be later than from", "INVALID"))
        if problems:
            raise ValidationFailed.of(problems)
        where = AuditFilter(subject=subject, actor=by, action=action, from_=from_, to=to)
        # One extra row says whether another page exists without a count query.
        events = await self._store.events(where, before=after, limit=first + 1)
        return AuditPage(events=events[:first], has_next_page=len(events) > first)

    async def count(
        self,
        actor: Principal,
        *,
        subject: str | None = None,
        by: str | None = None,
        action: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> int:
        """How many events the same filter as `log` matches, across all its pages."""
        require(actor, AUDIT_READER)
        return await self._store.count(AuditFilter(subject=subject, actor=by, action=action, from_=from_, to=to))

    async def events(self, actor: Principal, event_ids: Sequence[str]) -> dict[str, AuditEvent]:
        """Events by id (refetching one a page listed); the ones that do not exist are left out."""
        require(actor, AUDIT_READER)
        return {e.event_id: e for e in await self._store.events_by_id(list(event_ids))}

    async def verify(self, actor: Principal) -> ChainReport:
        """Check every partition chain and the global log, each up to the head read at the start.

        Committed events are immutable and heads only move forward, so events committed while this runs lie
        beyond the heads read first and cannot look like a break; the report says how far it verified."""
        require(actor, AUDIT_READER)
        heads = await self._store.heads()
        log_through = heads.log.sequence if heads.log else 0
        events = unanchored = in_log = 0
        reports: list[PartitionReport] = []
        # Every partition is checked even after one breaks: the chains are independent, and a reader wants to
        # know which of them still hold.
        for name, head in sorted(heads.partitions.items()):
            verifier = await _settled(partial(self._verify_partition, name, head, log_through))
            reports.append(verifier.report(head))
            events += verifier.events
            unanchored += verifier.unanchored
            in_log += verifier.in_log
        broken = next((report.broken for report in reports if report.broken is not None), None)
        log = LogVerifier()
        if broken is None and heads.log is not None:
            log = await _settled(partial(self._verify_log, heads.log))
            broken = log.broken
        if broken is None and heads.log is None and events > unanchored and (await self._store.heads()).log is None:
            # Placed events and no log head: the sequencer may have placed the very first events (creating the
            # head) while this ran, so only a head that is still missing now is a break.
            broken = ChainBreak("log", 1, "the global log's head is missing although events were placed in it")
        if broken is None and in_log != log.events:
            # Every placed event must belong to a partition chain; a removed partition head shows up here.
            broken = ChainBreak(
                "log", log.events, f"the log holds {log.events} events but the partitions account for {in_log}"
            )
        return ChainReport(
            events, len(heads.partitions), log.last_sequence, log.last_hash, unanchored, broken, tuple(reports)
        )

    async def _verify_partition(self, name: str, head: Head, log_through: int) -> PartitionVerifier:
        verifier = PartitionVerifier(name, log_through)
        async for event in self._store.partition_chain(name, head.sequence):
            verifier.add(event)
            if verifier.broken is not None:
                break
        verifier.finish(head)
        return verifier

    async def _verify_log(self, head: Head) -> LogVerifier:
        verifier = LogVerifier()
        async for entry in self._store.log_chain(head.sequence):
            verifier.add(entry)
            if verifier.broken is not None:
                break
        verifier.finish(head)
        return verifier


Verifier = TypeVar("Verifier", PartitionVerifier, LogVerifier)

# Neo4j reads are read-committed and a commit becomes visible record by record: a head can be seen a moment
# before the index entry of the event committed with it. An event the head accounts for is therefore looked
# for again, briefly, before it is called missing; an altered event is reported at once.
SETTLE_ATTEMPTS = 5
SETTLE_PAUSE = 0.2


async def _settled(verify: Callable[[], Awaitable[Verifier]]) -> Verifier:
    verifier = await verify()
    for _ in range(SETTLE_ATTEMPTS):
        if verifier.broken is None or not verifier.broken.missing:
            break
        await asyncio.sleep(SETTLE_PAUSE)
        verifier = await verify()
    return verifier
