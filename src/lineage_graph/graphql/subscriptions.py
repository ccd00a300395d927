"""`subscription { events(...) }` over graphql-ws: the global log, streamed in order, resumable by sequence."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from lineage_graph.domain.audit import AuditEvent
from lineage_graph.domain.events import event_body, event_type
from lineage_graph.domain.sagemaker import ArnScope
from lineage_graph.graphql.context import Context


@strawberry.type(description="One event of the global log, as a webhook would receive it.")
class Event:
    type: str
    sequence: int = strawberry.field(description="Its place in the global log: resume with afterSequence.")
    event_id: str = strawberry.field(description="Stable id (a webhook delivery's `webhook-id`).")
    group: str | None
    subject: str | None
    actor: str
    at: datetime
    data: JSON = strawberry.field(description="The event's `data`, exactly as in a webhook delivery's body.")

    @classmethod
    def from_model(cls, event: AuditEvent, scope: ArnScope) -> Event:
        return cls(
            type=event_type(event.action, event.outcome),
            sequence=event.sequence or 0,
            event_id=event.event_id,
            group=event.group,
            subject=event.subject,
            actor=event.actor,
            at=event.at,
            data=cast(JSON, event_body(event, scope)["data"]),
        )


@strawberry.type
class EventSubscription:
    @strawberry.subscription(
        description="Events in log order as they commit (on any instance). `types`: type names, `namespace.*` or "
        "`*` (default); `group`: one model group's events; `afterSequence`: resume after that sequence (default: "
        "from now). Types a caller may not see are refused when named and left out of wildcards."
    )
    async def events(
        self,
        info: strawberry.Info[Context, None],
        types: list[str] | None = None,
        group: str | None = None,
        after_sequence: int | None = None,
    ) -> AsyncGenerator[Event, None]:
        log = info.context.services.events
        principal = info.context.principal
        where = log.subscription_filter(principal, types, group, after_sequence)
        async for event in log.stream(principal, where, after_sequence):
            yield Event.from_model(event, log.scope)
