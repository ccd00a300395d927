"""The audit log, newest first, filtered and paginated Relay-style (readers: approver and admin)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from lineage_graph.domain.audit import AuditEvent as AuditEventModel
from lineage_graph.domain.audit import ChainBreak, ChainReport, PartitionReport
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


@strawberry.enum(description="Whether every chain checked holds.")
class AuditChainStatus(Enum):
    INTACT = "INTACT"
    BROKEN = "BROKEN"


@strawberry.type(description="The first place a chain does not hold.")
class AuditChainBreak:
    chain: str = strawberry.field(description="A partition's name, or `log` for the global log.")
    sequence: int = strawberry.field(description="The position in that chain where it breaks.")
    reason: str
    missing: bool = strawberry.field(
        description="An event the chain's head accounts for was not found (otherwise a stored event is wrong)."
    )

    @classmethod
    def from_model(cls, broken: ChainBreak | None) -> AuditChainBreak | None:
        if broken is None:
            return None
        return cls(chain=broken.chain, sequence=broken.sequence, reason=broken.reason, missing=broken.missing)


@strawberry.type(description="One partition chain's verdict, against the head read when verification started.")
class AuditPartitionVerification:
    name: str
    status: AuditChainStatus
    head_sequence: int = strawberry.field(description="The partition's head: how far it was to be verified.")
    verified_through: int = strawberry.field(description="The last event of the chain found sound.")
    unanchored: int = strawberry.field(description="Verified events not yet placed in the global log.")
    first_break: AuditChainBreak | None

    @classmethod
    def from_model(cls, report: PartitionReport) -> AuditPartitionVerification:
        return cls(
            name=report.name,
            status=AuditChainStatus.INTACT if report.intact else AuditChainStatus.BROKEN,
            head_sequence=report.head_sequence,
            verified_through=report.verified_through,
            unanchored=report.unanchored,
            first_break=AuditChainBreak.from_model(report.broken),
        )


@strawberry.type(
    description="The audit log's hash chains recomputed (as `lineage-graph audit verify` does): every partition up "
    "to the head read at the start, then the global log up to its head. Events committed meanwhile are not covered."
)
class AuditVerification:
    status: AuditChainStatus
    events: int = strawberry.field(description="Events verified across all partitions.")
    log_sequence: int = strawberry.field(
        description="The global log was verified through this sequence (0 when a partition broke: the log is "
        "checked once the partitions hold)."
    )
    log_hash: str = strawberry.field(description="The global log's hash at that sequence.")
    unanchored: int = strawberry.field(description="Events verified in their partition, not yet in the global log.")
    partitions: list[AuditPartitionVerification] = strawberry.field(description="Every partition, by name.")
    first_break: AuditChainBreak | None = strawberry.field(
        description="Where the chain first fails: a partition's break (in name order), else the global log's."
    )

    @classmethod
    def from_model(cls, report: ChainReport) -> AuditVerification:
        return cls(
            status=AuditChainStatus.INTACT if report.intact else AuditChainStatus.BROKEN,
            events=report.events,
            log_sequence=report.log_sequence,
            log_hash=report.log_hash,
            unanchored=report.unanchored,
            partitions=[AuditPartitionVerification.from_model(p) for p in report.partition_reports],
            first_break=AuditChainBreak.from_model(report.broken),
        )


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Verify the audit log's hash chains now and say how far they hold. Approver or admin only.",
        permission_classes=[IsApprover],
    )
    async def audit_verification(self, info: strawberry.Info[Context, None]) -> AuditVerification:
        return AuditVerification.from_model(await info.context.services.audit.verify(info.context.principal))

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
