"""Events out of the outbox: the sequencer that places committed audit events in the global log, the log's
read side for subscribers, and the background loop every server instance runs.

Nothing here is held only in memory: the log, its head and every cursor live in Neo4j, so any instance can
do the work, a restart resumes where the database says, and a writer on another instance is seen by polling.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from lineage_graph.domain.audit import AuditEvent
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import DomainError, Forbidden, Problem, ValidationFailed
from lineage_graph.domain.events import event_type, matches, most_privileged, parse_types, role_to_see
from lineage_graph.domain.sagemaker import ArnScope
from lineage_graph.services.authorization import require
from lineage_graph.store.audit import AuditStore
from lineage_graph.store.graph import Neo4jGraph

logger = logging.getLogger(__name__)

PLACE_BATCH = 500
MAX_ROUNDS = 20  # batches placed in one pass, so a backlog never keeps the loop from its other work


@dataclass(frozen=True)
class EventFilter:
    """What a subscriber asked for, already validated."""

    types: tuple[str, ...]
    group: str | None

    def admits(self, event: AuditEvent, principal: Principal) -> bool:
        kind = event_type(event.action, event.outcome)
        if not matches(self.types, kind) or (self.group is not None and event.group != self.group):
            return False
        return principal.role is not None and principal.role.includes(role_to_see(kind))


class EventLog:
    """The global log: placing committed events in it, and reading it in order."""

    def __init__(self, graph: Neo4jGraph, poll_interval: float = 0.2, scope: ArnScope | None = None) -> None:
        self._store = AuditStore(graph)
        self.poll_interval = poll_interval
        self.scope = scope or ArnScope()
        self.streams = 0  # subscribers reading the log through this instance now

    async def place_pending(self) -> int:
        """Place what has committed since the last pass (bounded); returns how many events were placed."""
        placed = 0
        for _ in range(MAX_ROUNDS):
            batch = await self._store.place_pending(PLACE_BATCH)
            placed += batch
            if batch < PLACE_BATCH:
                break
        return placed

    def subscription_filter(
        self, principal: Principal, types: Sequence[str] | None, group: str | None, after: int | None
    ) -> EventFilter:
        """Validate a subscription before it starts: types, the caller's right to them, the resume point."""
        require(principal, Role.VIEWER)
        wanted = parse_types(types if types is not None else ["*"], "types")
        if after is not None and after < 0:
            raise ValidationFailed.of([Problem("afterSequence", "must be 0 or more", "OUT_OF_RANGE")])
        # Naming a type the caller may not see is refused; a wildcard leaves out what the caller may not see.
        for index, kind in enumerate(wanted):
            needed = most_privileged([kind]) if "*" not in kind else Role.VIEWER
            if principal.role is None or not principal.role.includes(needed):
                message = f"receiving {kind} events needs the {needed.value} role"
                raise Forbidden(message, [Problem(f"types.{index}", message, "MISSING_ROLE")])
        return EventFilter(wanted, group)

    async def stream(
        self,
        principal: Principal,
        where: EventFilter,
        after: int | None,
        batch: int = 100,
    ) -> AsyncIterator[AuditEvent]:
        """Events after `after` (default: from now on), in log order, forever; polls the shared log, so an
        event committed on another instance arrives within a poll interval of its placement."""
        cursor = after if after is not None else await self._store.log_head()
        while True:
            events = await self._store.log_after(cursor, batch)
            for event in events:
                cursor = event.sequence or cursor
                if where.admits(event, principal):
                    yield event
            if len(events) < batch:
                await asyncio.sleep(self.poll_interval)


class EventWorker:
    """The background loops of one server instance: placing pending events, and each deliverer.

    They run side by side, so a slow receiver (up to the webhook timeout per attempt) never holds back placing,
    which every subscriber and every other webhook waits on. Each pass is bounded (batches, deliveries per
    subscription). A deliverer sleeps `poll_interval` after a pass that found nothing, or goes again at once.
    Placing goes again at once only after a pass that stopped at its bound: a pass that drained what had
    committed waits out the interval too, so a steady stream of commits is placed in batches instead of one
    pass (four statements and a commit) per event, which had cost Neo4j as much as the writes themselves.
    While nothing reads the log soon (`consumed()` false: no webhook subscription known, and no subscriber
    streaming through this instance), placing happens every `idle_interval` instead, in larger batches: the
    instance a subscriber reads through places at the poll interval itself. A failing pass is logged and
    retried on the next one."""

    def __init__(
        self,
        log: EventLog,
        deliverers: Sequence[Callable[[], Awaitable[int]]] = (),
        poll_interval: float = 0.2,
        consumed: Callable[[], Awaitable[bool]] | None = None,
        idle_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._deliverers = deliverers
        self._poll_interval = poll_interval
        self._consumed = consumed
        self._idle_interval = idle_interval
        self._clock = clock
        self._placed_at: float | None = None

    async def run(self) -> None:
        await asyncio.gather(
            self._loop(self._place, lambda placed: placed >= PLACE_BATCH * MAX_ROUNDS),
            *(self._loop(d, bool) for d in self._deliverers),
        )

    async def _place(self) -> int:
        now = self._clock()
        idle = self._placed_at is not None and now - self._placed_at < self._idle_interval
        if idle and self._consumed is not None and not self._log.streams and not await self._consumed():
            return 0
        self._placed_at = now
        return await self._log.place_pending()

    async def _loop(self, step: Callable[[], Awaitable[int]], again: Callable[[int], bool]) -> None:
        """Run `step` pass after pass; `again(work)` says whether to go on at once or wait `poll_interval`."""
        while True:
            try:
                work = await step()
            except DomainError as exc:  # the database is down or busy: try again on the next pass
                logger.warning("event worker pass failed: %s", exc.message)
                work = 0
            except Exception:
                logger.exception("event worker pass failed")
                work = 0
            await asyncio.sleep(0 if again(work) else self._poll_interval)
