"""The audit log's read side: a filtered, paginated view for reviewers and the chain verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lineage_graph.domain.audit import AuditEvent, ChainReport, ChainVerifier
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
        after: int | None = None,
    ) -> AuditPage:
        """Events newest first; `after` is the sequence of the last event already seen."""
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

    async def verify(self, actor: Principal) -> ChainReport:
        """Recompute every hash from the first event; report the first sequence number where it breaks."""
        require(actor, AUDIT_READER)
        verifier = ChainVerifier()
        async for event in self._store.chain():
            verifier.add(event)
            if verifier.broken is not None:
                break
        return verifier.finish(await self._store.head())
