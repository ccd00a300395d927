"""Webhook subscriptions and their delivery log (admins only)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from lineage_graph.domain import webhooks as domain
from lineage_graph.graphql.context import Context
from lineage_graph.graphql.permissions import IsAdmin

strawberry.enum(domain.DeliveryStatus, name="DeliveryStatus", description="Where one event's delivery stands.")


@strawberry.type(description="A subscription: events of the given types (and group) POSTed, signed, to `url`.")
class Webhook:
    id: strawberry.ID
    url: str
    event_types: list[str]
    group: str | None
    active: bool
    created_by: str
    created_at: datetime
    cursor: int = strawberry.field(description="The global log sequence handled last.")
    failures: int = strawberry.field(description="Failed attempts at the next event in order.")
    next_attempt_at: datetime | None
    disabled_reason: str | None

    @classmethod
    def from_model(cls, w: domain.Webhook) -> Webhook:
        return cls(
            id=strawberry.ID(w.webhook_id),
            url=w.url,
            event_types=list(w.event_types),
            group=w.group,
            active=w.active,
            created_by=w.created_by,
            created_at=w.created_at,
            cursor=w.cursor,
            failures=w.failures,
            next_attempt_at=w.next_attempt_at,
            disabled_reason=w.disabled_reason,
        )


@strawberry.type(description="One event's delivery to one subscription: attempts, last answer, latency.")
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: strawberry.ID
    event_id: str = strawberry.field(description="Sent as the `webhook-id` header: the receiver's dedup key.")
    sequence: int
    event_type: str
    status: domain.DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: float | None
    first_attempt_at: datetime
    last_attempt_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_model(cls, d: domain.WebhookDelivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(d.delivery_id),
            webhook_id=strawberry.ID(d.webhook_id),
            event_id=d.event_id,
            sequence=d.sequence,
            event_type=d.event_type,
            status=d.status,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            last_latency_ms=d.last_latency_ms,
            first_attempt_at=d.first_attempt_at,
            last_attempt_at=d.last_attempt_at,
            delivered_at=d.delivered_at,
        )


@strawberry.type
class CreatedWebhook:
    webhook: Webhook
    secret: str = strawberry.field(description="The signing secret (`whsec_…`), shown this once.")


@strawberry.input
class CreateWebhookInput:
    url: str
    event_types: list[str] = strawberry.field(description="Type names, `namespace.*`, or `*`.")
    group: str | None = None
    active: bool = True


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Every webhook subscription. Admin only.", permission_classes=[IsAdmin])
    async def webhooks(self, info: strawberry.Info[Context, None]) -> list[Webhook]:
        return [Webhook.from_model(w) for w in await info.context.services.webhooks.webhooks(info.context.principal)]

    @strawberry.field(description="A subscription's deliveries, newest first.", permission_classes=[IsAdmin])
    async def webhook_deliveries(
        self, info: strawberry.Info[Context, None], webhook_id: strawberry.ID, first: int = 50
    ) -> list[WebhookDelivery]:
        service = info.context.services.webhooks
        deliveries = await service.deliveries(info.context.principal, str(webhook_id), first)
        return [WebhookDelivery.from_model(d) for d in deliveries]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Subscribe a URL to events (secret shown once).", permission_classes=[IsAdmin])
    async def create_webhook(
        self, info: strawberry.Info[Context, None], input: CreateWebhookInput
    ) -> CreatedWebhook | None:
        created = await info.context.services.webhooks.create(
            info.context.principal, input.url, input.event_types, input.group, input.active
        )
        return CreatedWebhook(webhook=Webhook.from_model(created.webhook), secret=created.secret)

    @strawberry.mutation(description="Remove a subscription and its delivery log.", permission_classes=[IsAdmin])
    async def delete_webhook(self, info: strawberry.Info[Context, None], id: strawberry.ID) -> Webhook | None:
        return Webhook.from_model(await info.context.services.webhooks.delete(info.context.principal, str(id)))

    @strawberry.mutation(
        description="Pause or resume a subscription (resuming after an automatic disable retries where it stopped).",
        permission_classes=[IsAdmin],
    )
    async def set_webhook_active(
        self, info: strawberry.Info[Context, None], id: strawberry.ID, active: bool
    ) -> Webhook | None:
        webhook = await info.context.services.webhooks.set_active(info.context.principal, str(id), active)
        return Webhook.from_model(webhook)

    @strawberry.mutation(description="Send a recorded delivery's event again, once.", permission_classes=[IsAdmin])
    async def redeliver_webhook_delivery(
        self, info: strawberry.Info[Context, None], id: strawberry.ID
    ) -> WebhookDelivery | None:
        delivery = await info.context.services.webhooks.redeliver(info.context.principal, str(id))
        return WebhookDelivery.from_model(delivery)
