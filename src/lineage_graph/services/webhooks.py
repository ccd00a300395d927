"""Webhook subscriptions (admins only) and their delivery: at least once, in log order per subscription, with
exponential back-off, a delivery log, manual redelivery, and automatic disabling after persistent failure."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from lineage_graph.domain.audit import AuditEvent
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.events import event_body, event_type, matches, parse_types
from lineage_graph.domain.sagemaker import ArnScope
from lineage_graph.domain.webhooks import (
    DeliveryResult,
    Webhook,
    WebhookDelivery,
    backoff,
    derive_secret,
    url_problems,
)
from lineage_graph.services.authorization import require
from lineage_graph.store.audit import AuditStore
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.webhooks import Attempt, WebhookStore

logger = logging.getLogger(__name__)

MAX_PAGE = 100


class Sender(Protocol):
    async def send(self, url: str, secret: str, message_id: str, body: bytes) -> DeliveryResult: ...


AddressCheck = Callable[[str, bool], Awaitable[list[Problem]]]


@dataclass(frozen=True)
class DeliverySettings:
    timeout: float = 10.0
    lease_seconds: float = 30.0  # longer than one delivery's timeout: the lease is renewed after each
    max_attempts: int = 8  # failed attempts at one event before the subscription is disabled
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    batch: int = 50  # log events looked at per subscription per pass
    claim_limit: int = 20  # subscriptions claimed per pass
    allow_link_local: bool = False
    # While no subscription is known, how often an instance looks for one created through another instance.
    refresh_seconds: float = 5.0


class KnownSubscriptions:
    """Whether any webhook subscription exists, as this instance knows it: read from the database at most every
    `refresh` seconds, and true at once when this instance creates one. With none, the deliverer and the event
    log's placer stay off the database instead of polling it five times a second (docs/operations.md, "The hot
    path"); a subscription created through another instance starts within `refresh` seconds, and since its
    cursor starts at the log's head at its creation, it still receives every event from then on."""

    def __init__(self, store: WebhookStore, refresh: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._refresh = refresh
        self._clock = clock
        self._any = False
        self._read_at: float | None = None
        self._created = 0  # subscriptions created here: a read that started before one cannot undo it

    def created(self) -> None:
        self._created += 1
        self._any = True

    async def any(self) -> bool:
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self._refresh:
            created = self._created
            self._read_at = now
            found = await self._store.count() > 0
            self._any = found or self._created != created
        return self._any


@dataclass(frozen=True)
class CreatedWebhook:
    webhook: Webhook
    secret: str  # shown once


class WebhookService:
    def __init__(
        self,
        graph: Neo4jGraph,
        master_key: bytes,
        address_check: AddressCheck,
        settings: DeliverySettings = DeliverySettings(),
    ) -> None:
        self._store = WebhookStore(graph)
        self._master_key = master_key
        self._address_check = address_check
        self.settings = settings
        self.known = KnownSubscriptions(self._store, settings.refresh_seconds)

    async def create(
        self, actor: Principal, url: str, event_types: Sequence[str], group: str | None = None, active: bool = True
    ) -> CreatedWebhook:
        require(actor, Role.ADMIN)
        url = url.strip()
        problems = url_problems(url)
        try:
            types = parse_types(event_types, "eventTypes")
        except ValidationFailed as invalid:
            problems.extend(invalid.problems)
            types = ()
        if group is not None and not group.strip():
            problems.append(Problem("group", "must not be empty (omit it for every group)", "REQUIRED"))
        if not problems:
            problems = await self._address_check(url, self.settings.allow_link_local)
        if problems:
            raise ValidationFailed.of(problems)
        webhook_id = str(uuid.uuid4())
        webhook = await self._store.create(webhook_id, url, types, group, active, actor.name, datetime.now(UTC))
        self.known.created()
        return CreatedWebhook(webhook, derive_secret(self._master_key, webhook_id))

    async def webhooks(self, actor: Principal) -> list[Webhook]:
        require(actor, Role.ADMIN)
        return await self._store.webhooks()

    async def delete(self, actor: Principal, webhook_id: str) -> Webhook:
        require(actor, Role.ADMIN)
        return await self._store.delete(webhook_id, actor.name)

    async def set_active(self, actor: Principal, webhook_id: str, active: bool) -> Webhook:
        require(actor, Role.ADMIN)
        return await self._store.set_active(webhook_id, active, actor.name)

    async def deliveries(self, actor: Principal, webhook_id: str, first: int = 50) -> list[WebhookDelivery]:
        require(actor, Role.ADMIN)
        if not 1 <= first <= MAX_PAGE:
            raise ValidationFailed.field("first", f"must be between 1 and {MAX_PAGE}", "OUT_OF_RANGE")
        return await self._store.deliveries(webhook_id, first)

    async def redeliver(self, actor: Principal, delivery_id: str) -> WebhookDelivery:
        """Send a recorded delivery's event again, once, outside the ordered stream."""
        require(actor, Role.ADMIN)
        return await self._store.redeliver(delivery_id)

    def secret(self, webhook_id: str) -> str:
        return derive_secret(self._master_key, webhook_id)


class WebhookDispatcher:
    """The delivering half, run by every instance's event worker; the leases make them share the work."""

    def __init__(self, graph: Neo4jGraph, service: WebhookService, sender: Sender, scope: ArnScope) -> None:
        self._store = WebhookStore(graph)
        self._log = AuditStore(graph)
        self._service = service
        self._sender = sender
        self._scope = scope
        self._settings = service.settings
        self.owner = f"instance-{uuid.uuid4()}"  # one per process: a restart is a new owner

    async def deliver_due(self) -> int:
        """One bounded pass: claim subscriptions with work, deliver for each; returns deliveries attempted."""
        if not await self._service.known.any():
            return 0
        now = datetime.now(UTC)
        head = await self._log.log_head()
        claimed = await self._store.claim(self.owner, now, self._until(), head, self._settings.claim_limit)
        attempted = 0
        for webhook in claimed:
            released = False
            try:
                count, released = await self._deliver(webhook)
                attempted += count
            finally:
                if not released:
                    await self._store.release(webhook.webhook_id, self.owner)
        return attempted

    async def _deliver(self, webhook: Webhook) -> tuple[int, bool]:
        """Redeliveries first, then the log in order. Returns the attempts made and whether the subscription
        was already handed back (the last record releases it in its own transaction)."""
        attempted = 0
        for event in await self._log.events_by_id(await self._store.redeliveries(webhook.webhook_id, 10)):
            attempted += 1
            if await self._attempt(webhook, event, in_order=False) is None:
                return attempted, False
        # In order: the attempts of a run are recorded together, in one transaction, when the run ends (the batch
        # is done or an attempt failed) or a third of the lease has passed. At least once still holds: an instance
        # killed mid-run has recorded nothing of it, and whoever takes over sends the run again.
        run: list[Attempt] = []
        cursor = webhook.cursor
        flushed_at = time.monotonic()
        for event in await self._log.log_after(webhook.cursor, self._settings.batch):
            sequence = event.sequence or cursor
            kind = event_type(event.action, event.outcome)
            if not matches(webhook.event_types, kind) or (webhook.group is not None and event.group != webhook.group):
                cursor = sequence
                continue
            attempt = await self._send(webhook, event, kind)
            attempted += 1
            run.append(attempt)
            if not attempt.result.ok:
                break
            cursor = sequence
            if time.monotonic() - flushed_at > self._settings.lease_seconds / 3:
                updated = await self._record(webhook, run, cursor, release=False)
                if updated is None:
                    return attempted, False  # the lease was lost: nothing more is sent
                webhook, run, flushed_at = updated, [], time.monotonic()
        if not run and cursor == webhook.cursor:
            return attempted, False
        return attempted, await self._record(webhook, run, cursor, release=True) is not None

    async def _send(self, webhook: Webhook, event: AuditEvent, kind: str) -> Attempt:
        body = json.dumps(event_body(event, self._scope), separators=(",", ":"), default=str).encode()
        result = await self._sender.send(webhook.url, self._service.secret(webhook.webhook_id), event.event_id, body)
        if not result.ok:
            logger.info("webhook delivery failed", extra={"webhook": webhook.webhook_id, "error": result.error})
        return Attempt(str(uuid.uuid4()), event.event_id, event.sequence or 0, kind, datetime.now(UTC), result)

    async def _record(self, webhook: Webhook, run: list[Attempt], cursor: int, *, release: bool) -> Webhook | None:
        # Failures count the attempts at the event the cursor waits on: a run that delivered something moved
        # past the earlier one; a run of skipped events only leaves the count and the back-off as they were.
        failed = run[-1] if run and not run[-1].result.ok else None
        failures, next_attempt = (webhook.failures, webhook.next_attempt_at) if not run else (0, None)
        if failed is not None:
            failures = (webhook.failures if len(run) == 1 else 0) + 1
            wait = backoff(failures, self._settings.backoff_base, self._settings.backoff_cap)
            next_attempt = failed.at + timedelta(seconds=wait)
        give_up = failed is not None and failures >= self._settings.max_attempts
        return await self._store.record_run(
            webhook,
            self.owner,
            run,
            cursor,
            failures=failures,
            until=self._until(),
            next_attempt_at=next_attempt,
            give_up=give_up,
            release=release,
        )

    async def _attempt(self, webhook: Webhook, event: AuditEvent, *, in_order: bool) -> Webhook | None:
        body = json.dumps(event_body(event, self._scope), separators=(",", ":"), default=str).encode()
        result = await self._sender.send(webhook.url, self._service.secret(webhook.webhook_id), event.event_id, body)
        now = datetime.now(UTC)
        failures = webhook.failures + 1
        give_up = in_order and not result.ok and failures >= self._settings.max_attempts
        wait = backoff(failures, self._settings.backoff_base, self._settings.backoff_cap)
        next_attempt = None if result.ok or not in_order else now + timedelta(seconds=wait)
        if not result.ok:
            logger.info("webhook delivery failed", extra={"webhook": webhook.webhook_id, "error": result.error})
        return await self._store.record(
            webhook,
            self.owner,
            (event.event_id, event.sequence or 0, event_type(event.action, event.outcome)),
            result,
            delivery_id=str(uuid.uuid4()),
            in_order=in_order,
            now=now,
            until=self._until(),
            next_attempt_at=next_attempt,
            give_up=give_up,
        )

    def _until(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._settings.lease_seconds)
