"""Webhook subscriptions, their delivery log, and the lease that makes one instance at a time deliver each.

A subscription's `cursor` is the global log sequence it has handled; deliveries go strictly in log order, so a
failing receiver holds its own subscription back and nobody else's. The lease (`lease_owner`, `lease_until`)
is taken in a write transaction that first locks the node, so two instances never both hold it; it expires,
so a killed instance's work is picked up by another (or by itself after a restart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from neo4j import AsyncManagedTransaction
from neo4j.time import DateTime

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.errors import NotFound
from lineage_graph.domain.webhooks import DeliveryResult, DeliveryStatus, Webhook, WebhookDelivery
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.stable_plans import KEEP_PLAN

_CREATE = """
OPTIONAL MATCH (h:AuditHead {id: 'audit'})
CREATE (w:Webhook {webhook_id: $id, url: $url, event_types: $event_types, group: $group, active: $active,
                   created_by: $actor, created_at: $now, cursor: coalesce(h.sequence, 0), failures: 0})
RETURN w {.*} AS w
"""
_LIST = "MATCH (w:Webhook) WITH w ORDER BY w.created_at RETURN collect(w {.*}) AS webhooks"
# Read from the count store: one operator whatever the database holds.
_COUNT = "MATCH (w:Webhook) RETURN count(w) AS subscriptions"
_GET = "MATCH (w:Webhook {webhook_id: $id}) RETURN w {.*} AS w"
_DELETE = """
MATCH (w:Webhook {webhook_id: $id})
OPTIONAL MATCH (d:WebhookDelivery {webhook_id: $id})
WITH w, w {.*} AS snapshot, collect(d) AS deliveries
FOREACH (d IN deliveries | DELETE d)
DELETE w
RETURN snapshot AS w
"""
_SET_ACTIVE = """
MATCH (w:Webhook {webhook_id: $id})
SET w.active = $active, w.failures = 0, w.next_attempt_at = null, w.disabled_reason = null
RETURN w {.*} AS w
"""
# `$limit` is a validated integer.
_DELIVERIES = """
MATCH (d:WebhookDelivery {webhook_id: $id})
WITH d ORDER BY d.sequence DESC LIMIT $limit
RETURN collect(d {.*}) AS deliveries
"""
_REDELIVER = """
MATCH (d:WebhookDelivery {delivery_id: $id})
SET d.status = 'REDELIVER'
RETURN d {.*} AS d
"""

# The subscriptions with work to do: active, not leased, not backing off, with events past their cursor or a
# delivery asked again. Subscriptions are few: the label scan is named, or a young database's statistics plan a
# scan of every node (and the statements keep their plan).
_DUE_SUBSCRIPTIONS = """
MATCH (w:Webhook)
USING SCAN w:Webhook
WHERE w.active AND (w.lease_until IS NULL OR w.lease_until < $now)
  AND (w.next_attempt_at IS NULL OR w.next_attempt_at <= $now)
  AND (w.cursor < $head OR EXISTS { MATCH (d:WebhookDelivery {webhook_id: w.webhook_id, status: 'REDELIVER'})
                                    USING INDEX d:WebhookDelivery(status) })
"""
_DUE = KEEP_PLAN + _DUE_SUBSCRIPTIONS + "RETURN count(w) AS due\n"

# The claim: lock each candidate first, then re-check it under the lock, so of two instances claiming at once
# the second sees the first one's lease and leaves the subscription alone.
_CLAIM = (
    KEEP_PLAN
    + _DUE_SUBSCRIPTIONS
    + """WITH w LIMIT $limit
SET w._lock = true
REMOVE w._lock
WITH w WHERE w.active AND (w.lease_until IS NULL OR w.lease_until < $now)
SET w.lease_owner = $owner, w.lease_until = $until
RETURN collect(w {.*}) AS webhooks
"""
)
_REDELIVERIES = """
MATCH (d:WebhookDelivery {webhook_id: $id, status: 'REDELIVER'})
WITH d ORDER BY d.sequence LIMIT $limit
RETURN collect(d.event_id) AS events
"""
# Every write of a worker is guarded by its lease: a worker that lost it (it stalled past `lease_until` and
# another instance took over) writes nothing.
_RECORD = """
MATCH (w:Webhook {webhook_id: $id}) WHERE w.lease_owner = $owner
MERGE (d:WebhookDelivery {webhook_id: $id, event_id: $event_id})
  ON CREATE SET d.delivery_id = $delivery_id, d.sequence = $sequence, d.event_type = $event_type, d.attempts = 0,
                d.first_attempt_at = $now
SET d.attempts = d.attempts + 1, d.last_attempt_at = $now, d.last_status_code = $status_code,
    d.last_error = $error, d.last_latency_ms = $latency_ms,
    d.status = CASE WHEN $ok THEN 'DELIVERED' WHEN $gave_up THEN 'FAILED' ELSE 'PENDING' END,
    d.delivered_at = CASE WHEN $ok THEN $now ELSE d.delivered_at END
SET w.lease_until = $until
FOREACH (_ IN CASE WHEN $in_order THEN [1] ELSE [] END |
  SET w.cursor = CASE WHEN $ok THEN $sequence ELSE w.cursor END,
      w.failures = CASE WHEN $ok THEN 0 ELSE w.failures + 1 END,
      w.next_attempt_at = $next_attempt_at)
FOREACH (_ IN CASE WHEN $gave_up THEN [1] ELSE [] END |
  SET w.active = false, w.disabled_reason = $disabled_reason, w.lease_owner = null, w.lease_until = null)
RETURN w {.*} AS w
"""
# A run of in-order attempts, recorded in one transaction: every attempt but possibly the last succeeded.
# The cursor moves to the last event handled (delivered, or skipped as not wanted); a failed last attempt
# counts a failure and sets the back-off; `$release` hands the subscription back in the same transaction.
_RECORD_RUN = """
MATCH (w:Webhook {webhook_id: $id}) WHERE w.lease_owner = $owner
CALL (w) {
  UNWIND $attempts AS a
  MERGE (d:WebhookDelivery {webhook_id: w.webhook_id, event_id: a.event_id})
    ON CREATE SET d.delivery_id = a.delivery_id, d.sequence = a.sequence, d.event_type = a.event_type,
                  d.attempts = 0, d.first_attempt_at = a.at
  SET d.attempts = d.attempts + 1, d.last_attempt_at = a.at, d.last_status_code = a.status_code,
      d.last_error = a.error, d.last_latency_ms = a.latency_ms,
      d.status = CASE WHEN a.ok THEN 'DELIVERED' WHEN $gave_up THEN 'FAILED' ELSE 'PENDING' END,
      d.delivered_at = CASE WHEN a.ok THEN a.at ELSE d.delivered_at END
}
SET w.cursor = CASE WHEN $cursor > w.cursor THEN $cursor ELSE w.cursor END,
    w.failures = $failures, w.next_attempt_at = $next_attempt_at, w.lease_until = $until
FOREACH (_ IN CASE WHEN $release OR $gave_up THEN [1] ELSE [] END | SET w.lease_owner = null, w.lease_until = null)
FOREACH (_ IN CASE WHEN $gave_up THEN [1] ELSE [] END | SET w.active = false, w.disabled_reason = $disabled_reason)
RETURN w {.*} AS w
"""
_RELEASE = """
MATCH (w:Webhook {webhook_id: $id}) WHERE w.lease_owner = $owner
SET w.lease_owner = null, w.lease_until = null
"""


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt at one event, as the delivery log records it."""

    delivery_id: str
    event_id: str
    sequence: int
    event_type: str
    at: datetime
    result: DeliveryResult

    def row(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "event_id": self.event_id,
            "sequence": self.sequence,
            "event_type": self.event_type,
            "at": self.at,
            "status_code": self.result.status_code,
            "error": self.result.error,
            "latency_ms": self.result.latency_ms,
            "ok": self.result.ok,
        }


class WebhookStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def create(
        self,
        webhook_id: str,
        url: str,
        event_types: Sequence[str],
        group: str | None,
        active: bool,
        actor: str,
        now: datetime,
    ) -> Webhook:
        """Store a subscription (starting at the log's current head) and audit it, in one transaction."""

        async def work(tx: AsyncManagedTransaction) -> Webhook:
            row = await fetch_one(
                tx,
                _CREATE,
                id=webhook_id,
                url=url,
                event_types=list(event_types),
                group=group,
                active=active,
                actor=actor,
                now=now,
            )
            assert row is not None
            payload = {"url": url, "event_types": list(event_types), "group": group, "active": active}
            await append_audit_event(tx, AuditEntry(actor, "webhook.create", f"Webhook:{webhook_id}", payload))
            return _to_webhook(row["w"])

        return await self._graph.write(work)

    async def webhooks(self) -> list[Webhook]:
        rows = await self._graph.rows(_LIST)
        return [_to_webhook(w) for w in rows[0]["webhooks"]] if rows else []

    async def count(self) -> int:
        """How many subscriptions exist, active or not."""
        rows = await self._graph.rows(_COUNT)
        return int(rows[0]["subscriptions"]) if rows else 0

    async def webhook(self, webhook_id: str) -> Webhook | None:
        rows = await self._graph.rows(_GET, id=webhook_id)
        return _to_webhook(rows[0]["w"]) if rows else None

    async def delete(self, webhook_id: str, actor: str) -> Webhook:
        entry = AuditEntry(actor, "webhook.delete", f"Webhook:{webhook_id}", {})
        return await self._audited(_DELETE, webhook_id, entry)

    async def set_active(self, webhook_id: str, active: bool, actor: str) -> Webhook:
        entry = AuditEntry(actor, "webhook.update", f"Webhook:{webhook_id}", {"active": active})
        return await self._audited(_SET_ACTIVE, webhook_id, entry, active=active)

    async def _audited(self, cypher: str, webhook_id: str, entry: AuditEntry, **params: Any) -> Webhook:
        async def work(tx: AsyncManagedTransaction) -> Webhook:
            row = await fetch_one(tx, cypher, id=webhook_id, **params)
            if row is None:
                raise NotFound("webhook", webhook_id, "id")
            await append_audit_event(tx, entry)
            return _to_webhook(row["w"])

        return await self._graph.write(work)

    async def deliveries(self, webhook_id: str, limit: int) -> list[WebhookDelivery]:
        rows = await self._graph.rows(_DELIVERIES, id=webhook_id, limit=limit)
        return [_to_delivery(d) for d in rows[0]["deliveries"]] if rows else []

    async def redeliver(self, delivery_id: str) -> WebhookDelivery:
        async def work(tx: AsyncManagedTransaction) -> WebhookDelivery:
            row = await fetch_one(tx, _REDELIVER, id=delivery_id)
            if row is None:
                raise NotFound("webhook delivery", delivery_id, "id")
            return _to_delivery(row["d"])

        return await self._graph.write(work)

    # ---- the worker's side ----------------------------------------------------------------------------
    async def claim(self, owner: str, now: datetime, until: datetime, head: int, limit: int) -> list[Webhook]:
        """Lease up to `limit` subscriptions that have work and no live lease."""
        # Every instance polls: a read that finds nothing due keeps an idle poll off the write path.
        due = await self._graph.rows(_DUE, now=now, head=head)
        if not due or not due[0]["due"]:
            return []

        async def work(tx: AsyncManagedTransaction) -> list[Webhook]:
            row = await fetch_one(tx, _CLAIM, owner=owner, now=now, until=until, head=head, limit=limit)
            return [_to_webhook(w) for w in (row or {}).get("webhooks", [])]

        return await self._graph.write(work)

    async def redeliveries(self, webhook_id: str, limit: int) -> list[str]:
        rows = await self._graph.rows(_REDELIVERIES, id=webhook_id, limit=limit)
        return list(rows[0]["events"]) if rows else []

    async def record(
        self,
        webhook: Webhook,
        owner: str,
        event: tuple[str, int, str],  # (event id, sequence, event type)
        result: DeliveryResult,
        *,
        delivery_id: str,
        in_order: bool,
        now: datetime,
        until: datetime,
        next_attempt_at: datetime | None,
        give_up: bool,
    ) -> Webhook | None:
        """Record one attempt (and, in order, move the cursor or count the failure); on giving up, disable the
        subscription and append the event saying so, in the same transaction. None: the lease was lost."""
        event_id, sequence, event_type = event
        reason = f"{webhook.failures + 1} failed attempts; last: {result.error or result.status_code}"

        async def work(tx: AsyncManagedTransaction) -> Webhook | None:
            row = await fetch_one(
                tx,
                _RECORD,
                id=webhook.webhook_id,
                owner=owner,
                event_id=event_id,
                delivery_id=delivery_id,
                sequence=sequence,
                event_type=event_type,
                now=now,
                until=until,
                status_code=result.status_code,
                error=result.error,
                latency_ms=result.latency_ms,
                ok=result.ok,
                gave_up=give_up,
                in_order=in_order,
                next_attempt_at=next_attempt_at,
                disabled_reason=reason if give_up else None,
            )
            if row is None:
                return None
            if give_up:
                entry = AuditEntry(
                    "system",
                    "webhook.disable",
                    f"Webhook:{webhook.webhook_id}",
                    {"reason": reason, "url": webhook.url, "event_id": event_id, "sequence": sequence},
                )
                await append_audit_event(tx, entry)
            return _to_webhook(row["w"])

        return await self._graph.write(work)

    async def record_run(
        self,
        webhook: Webhook,
        owner: str,
        attempts: Sequence[Attempt],
        cursor: int,
        *,
        failures: int,
        until: datetime,
        next_attempt_at: datetime | None,
        give_up: bool,
        release: bool,
    ) -> Webhook | None:
        """Record a run of in-order attempts (all successful but possibly the last) and move the cursor to
        `cursor`, with the subscription's failure count and back-off after it, in one transaction; on giving
        up, disable the subscription and append the event saying so. None: the lease was lost, nothing written."""
        failed = attempts[-1] if attempts and not attempts[-1].result.ok else None
        reason = None
        if failed is not None:
            reason = f"{failures} failed attempts; last: {failed.result.error or failed.result.status_code}"

        async def work(tx: AsyncManagedTransaction) -> Webhook | None:
            row = await fetch_one(
                tx,
                _RECORD_RUN,
                id=webhook.webhook_id,
                owner=owner,
                attempts=[a.row() for a in attempts],
                cursor=cursor,
                failures=failures,
                next_attempt_at=next_attempt_at,
                until=until,
                gave_up=give_up,
                release=release,
                disabled_reason=reason if give_up else None,
            )
            if row is None:
                return None
            if give_up and failed is not None:
                entry = AuditEntry(
                    "system",
                    "webhook.disable",
                    f"Webhook:{webhook.webhook_id}",
                    {"reason": reason, "url": webhook.url, "event_id": failed.event_id, "sequence": failed.sequence},
                )
                await append_audit_event(tx, entry)
            return _to_webhook(row["w"])

        return await self._graph.write(work)

    async def release(self, webhook_id: str, owner: str) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            await (await tx.run(_RELEASE, id=webhook_id, owner=owner)).consume()

        await self._graph.write(work)


def _native(value: Any) -> Any:
    return value.to_native() if isinstance(value, DateTime) else value


def _to_webhook(w: dict[str, Any]) -> Webhook:
    return Webhook(
        webhook_id=w["webhook_id"],
        url=w["url"],
        event_types=tuple(w["event_types"]),
        group=w.get("group"),
        active=bool(w["active"]),
        created_by=w["created_by"],
        created_at=_native(w["created_at"]),
        cursor=int(w.get("cursor") or 0),
        failures=int(w.get("failures") or 0),
        next_attempt_at=_native(w.get("next_attempt_at")),
        disabled_reason=w.get("disabled_reason"),
    )


def _to_delivery(d: dict[str, Any]) -> WebhookDelivery:
    return WebhookDelivery(
        delivery_id=d["delivery_id"],
        webhook_id=d["webhook_id"],
        event_id=d["event_id"],
        sequence=int(d["sequence"]),
        event_type=d["event_type"],
        status=DeliveryStatus(d["status"]),
        attempts=int(d["attempts"]),
        last_status_code=d.get("last_status_code"),
        last_error=d.get("last_error"),
        last_latency_ms=d.get("last_latency_ms"),
        first_attempt_at=_native(d["first_attempt_at"]),
        last_attempt_at=_native(d["last_attempt_at"]),
        delivered_at=_native(d.get("delivered_at")),
    )
