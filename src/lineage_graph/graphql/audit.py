"""The audit log, newest first, filtered and paginated Relay-style (readers: approver and admin)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from lineage_graph.domain.audit import AuditEvent as AuditEventModel
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.queries import DEFAULT_PAGE
from lineage_graph.graphql.context import Context
from lineage_graph.graphql.pagination import PageInfo
from lineage_graph.graphql.permissions import IsApprover
from lineage_graph.graphql.registry_types import Node

_CURSOR_PREFIX = "audit:"


@strawberry.type(
    description="One recorded mutation (or refused attempt), chained by hash to the one before it in its partition "
    "and, once placed, to the one before it in the global log."
)
class AuditEvent(Node):
    event_id: str = strawberry.field(description="Stable id; webhook deliveries carry it as `webhook-id`.")
    partition: str = strawberry.field(description="The chain it belongs to: `group:<name>`, or a kind of subject.")
    partition_sequence: int = strawberry.field(description="Its position in its partition: 1, 2, 3… without gaps.")
    sequence: int | None = strawberry.field(
        description="Its position in the global log (the order of webhooks and subscriptions); null for the "
        "moment between its commit and its placement."
    )
    actor: str = strawberry.field(description="The principal who acted.")
    action: str = strawberry.field(description="What was done, e.g. `token.create`.")
    subject: str | None = strawberry.field(description="What it was done to, e.g. `Principal:ci`.")
    group: str | None = strawberry.field(description="The model group it concerns, if any.")
    payload: JSON
    outcome: str = strawberry.field(description="OK, or REFUSED for an attempt that was denied.")
    at: datetime
    previous_hash: str
    hash: str = strawberry.field(description="SHA-256 over previousHash and this event's canonical content.")
    log_hash: str | None = strawberry.field(description="SHA-256 linking this event into the global log.")

    @classmethod
    def from_model(cls, event: AuditEventModel) -> AuditEvent:
        return cls(
            id=strawberry.ID(NodeRef.of(NodeKind.AUDIT_EVENT, event.event_id).global_id),
            event_id=event.event_id,
            partition=event.partition,
            partition_sequence=event.partition_sequence,
            sequence=event.sequence,
            actor=event.actor,
            action=event.action,
            subject=event.subject,
            group=event.group,
            payload=cast(JSON, dict(event.payload)),
            outcome=event.outcome,
            at=event.at,
            previous_hash=event.previous_hash,
            hash=event.hash,
            log_hash=event.log_hash,
        )


@strawberry.type
class AuditEventEdge:
    cursor: str
    node: AuditEvent


@dataclass(frozen=True)
class _Filter:
    subject: str | None
    by: str | None
    action: str | None
    from_: datetime | None
    to: datetime | None


@strawberry.type
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo
    filter: strawberry.Private[_Filter]

    @strawberry.field(description="Events the filter matches across all pages (counted only when asked for).")
    async def total_count(self, info: strawberry.Info[Context, None]) -> int:
        f = self.filter
        return await info.context.services.audit.count(
            info.context.principal, subject=f.subject, by=f.by, action=f.action, from_=f.from_, to=f.to
        )

    @strawberry.field(description="The events of this page (the edges' nodes).")
    def nodes(self) -> list[AuditEvent]:
        return [edge.node for edge in self.edges]


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Audit events, newest first. `subject` is as recorded (e.g. `ModelVersion:fraud/3`) or a node's "
        "global id; `actor` a principal name; `from` inclusive, `to` exclusive. Approver or admin only.",
        permission_classes=[IsApprover],
    )
    async def audit_log(
        self,
        info: strawberry.Info[Context, None],
        subject: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        first: int | None = DEFAULT_PAGE,
        after: str | None = None,
    ) -> AuditEventConnection:
        f = _Filter(subject=_subject(subject), by=actor, action=action, from_=from_, to=to)
        page = await info.context.services.audit.log(
            info.context.principal,
            subject=f.subject,
            by=f.by,
            action=f.action,
            from_=f.from_,
            to=f.to,
            first=DEFAULT_PAGE if first is None else first,
            after=None if after is None else _decode_cursor(after),
        )
        edges = [AuditEventEdge(cursor=_cursor(e), node=AuditEvent.from_model(e)) for e in page.events]
        return AuditEventConnection(
            filter=f,
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


def _subject(value: str | None) -> str | None:
    """A global id becomes the recorded form `Label:part/part`; anything else is taken as recorded."""
    if value is None or ":" in value:
        return value
    try:
        return str(NodeRef.parse(value, "subject"))
    except ValidationFailed:
        return value


def _cursor(event: AuditEventModel) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{event.at.isoformat()}|{event.event_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        if raw.startswith(_CURSOR_PREFIX):
            at, _, event_id = raw[len(_CURSOR_PREFIX) :].partition("|")
            when = datetime.fromisoformat(at)
            if event_id and when.tzinfo is not None:
                return when, event_id
    except (ValueError, UnicodeDecodeError):
        pass
    raise ValidationFailed.field("after", "not a cursor returned by auditLog")
