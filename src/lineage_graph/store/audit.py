"""The append-only audit log, which is also the outbox of events (see domain/audit.py for the chains).

Writers append to their partition's chain inside the mutation's own transaction: the `AuditPartition` node of
that partition holds its last sequence and hash, and taking its write lock first (`SET p._lock`) serializes
the writers of that partition only. The sequencer then places committed events into the global log under the
one `AuditHead` lock, in batches, off the writers' path.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction
from neo4j.time import DateTime

from lineage_graph.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditEvent,
    Head,
    LogEntry,
    PendingEvent,
    StoredAuditEvent,
    canonical_content,
    chain_hash,
    group_of,
    partition_of,
    place,
)
from lineage_graph.store.filters import where_clause
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.records import to_datetime
from lineage_graph.store.stable_plans import KEEP_PLAN

_LOCK_PARTITION = """
MERGE (p:AuditPartition {name: $partition})
  ON CREATE SET p.sequence = 0, p.hash = $genesis
SET p._lock = true
RETURN p.sequence AS sequence, p.hash AS hash
"""

# Appends the event sealed in $audit and releases the partition's lock. A unit subquery, so a write can end
# its own statement with it: the change and its record then cost one round trip under the locks.
APPEND_EVENT = """
CALL () {
  MATCH (p:AuditPartition {name: $audit.partition})
  CREATE (e:AuditEvent {event_id: $audit.event_id, partition: $audit.partition,
                        partition_sequence: $audit.partition_sequence, actor: $audit.actor, action: $audit.action,
                        subject: $audit.subject, group: $audit.group, payload: $audit.payload,
                        outcome: $audit.outcome, at: datetime($audit.at), previous_hash: $audit.previous_hash,
                        hash: $audit.hash, pending: true})
  SET p.sequence = $audit.partition_sequence, p.hash = $audit.hash
  REMOVE p._lock
}
"""
_APPEND = APPEND_EVENT + "RETURN 1 AS appended"

# Takes the partition's lock and appends the event sealed in $audit only if the head is the one it was sealed
# against; answers the head found under the lock either way (`sequence`, `hash`, and `appended`: 1 or 0).
_LOCK_AND_APPEND_AT_HEAD = (
    """
MERGE (p:AuditPartition {name: $audit.partition})
  ON CREATE SET p.sequence = 0, p.hash = $genesis
SET p._lock = true
WITH p.sequence AS sequence, p.hash AS hash
CALL (sequence, hash) {
  WITH * WHERE sequence = $audit.partition_sequence - 1 AND hash = $audit.previous_hash
"""
    + APPEND_EVENT
    + """
  RETURN count(*) AS appended
}
"""
)
_APPEND_AT_HEAD = _LOCK_AND_APPEND_AT_HEAD + "RETURN sequence, hash, appended"


def audited(cypher: str) -> str:
    """`cypher` (one write statement returning one row, or none when it matched nothing) followed, in the same
    statement, by the lock of the event's partition and the append of the event sealed in `$audit` when the
    head is still the one it was sealed against: the change and its record in one round trip (`write_audited`).
    The write's own columns come back with `audit_sequence`, `audit_hash` and `audit_appended`."""
    body = cypher.strip()
    options = ""
    if body.startswith("CYPHER "):  # query options (e.g. KEEP_PLAN) go before the whole statement
        options, _, body = body.partition("\n")
        options += "\n"
    return (
        f"{options}CALL () {{\n{body}\n}}\nCALL () {{\n{_LOCK_AND_APPEND_AT_HEAD}"
        "RETURN sequence AS audit_sequence, hash AS audit_hash, appended AS audit_appended\n}\nRETURN *"
    )


def append_events(events: str, head: str) -> str:
    """A unit subquery (as APPEND_EVENT) appending the events sealed in the list `events`, one chain in order, and
    moving the partition's head to `head`, the last of them: a write of several changes records them all in one
    statement. `events` and `head` are parameter expressions (e.g. `$batch.events`), never values."""
    return f"""
CALL () {{
  UNWIND {events} AS a
  CREATE (:AuditEvent {{event_id: a.event_id, partition: a.partition, partition_sequence: a.partition_sequence,
                       actor: a.actor, action: a.action, subject: a.subject, group: a.group, payload: a.payload,
                       outcome: a.outcome, at: datetime(a.at), previous_hash: a.previous_hash, hash: a.hash,
                       pending: true}})
}}
CALL () {{
  MATCH (p:AuditPartition {{name: {head}.partition}})
  SET p.sequence = {head}.sequence, p.hash = {head}.hash
  REMOVE p._lock
}}
"""


@dataclass(frozen=True)
class PartitionHead:
    """A partition's head as read under its lock: the next event's predecessor."""

    partition: str
    sequence: int
    hash: str


# The head each partition was left at by this process's last append to it (see `append_audit_event`). Kept per
# process, bounded; a head from another database or another writer only ever makes the guess miss.
_REMEMBERED_PARTITIONS = 4096
_LAST_APPENDED: OrderedDict[str, PartitionHead] = OrderedDict()


async def lock_partition(tx: AsyncManagedTransaction, partition: str) -> PartitionHead:
    """Take `partition`'s lock inside `tx` (created with the genesis hash when new) and read its head."""
    head = await fetch_one(tx, _LOCK_PARTITION, partition=partition, genesis=GENESIS_HASH)
    assert head is not None
    return PartitionHead(partition, int(head["sequence"]), str(head["hash"]))


def seal(head: PartitionHead, entry: AuditEntry) -> tuple[AuditEvent, dict[str, Any]]:
    """The event that follows `head` for `entry` (its id, time and hash), and the `$audit` parameter that
    APPEND_EVENT writes it from. Within a partition time follows the sequence: it is called either after the
    lock, or before it against a head this process wrote earlier, and then the event is only appended when that
    head is still the partition's (`append_audit_event`, the registration's remembered guess)."""
    at = datetime.now(UTC)
    event_id = str(uuid.uuid4())
    sequence = head.sequence + 1
    digest = chain_hash(head.hash, canonical_content(event_id, head.partition, sequence, entry, at))
    group = group_of(entry.subject, entry.payload)
    event = AuditEvent(
        event_id,
        head.partition,
        sequence,
        entry.actor,
        entry.action,
        entry.subject,
        group,
        entry.payload,
        entry.outcome,
        at,
        head.hash,
        digest,
    )
    params = {
        "event_id": event_id,
        "partition": head.partition,
        "partition_sequence": sequence,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "group": group,
        "payload": _dumps(entry.payload),
        "outcome": entry.outcome,
        "at": at.isoformat(),  # built into a DateTime by Neo4j: the driver's own conversion costs ~100 µs
        "previous_hash": head.hash,
        "hash": digest,
    }
    return event, params


async def append_audit_event(tx: AsyncManagedTransaction, entry: AuditEntry) -> AuditEvent:
    """Append `entry` to its partition's chain inside `tx`; it commits or rolls back with the change it records.

    The event's hash covers its predecessor's, so it is sealed against a head. When this process remembers the
    head its own last append to the partition left, the event is sealed against that in advance and one
    statement takes the lock, checks the head and appends; when the head moved (another writer, a rolled-back
    transaction) that statement appends nothing and answers the head it found, under the lock, to seal again.
    The memory is a guess checked under the lock, never trusted: a wrong one costs one more statement."""
    partition = partition_of(entry.subject)
    remembered = _LAST_APPENDED.get(partition)
    if remembered is not None:
        event, params = seal(remembered, entry)
        row = await fetch_one(tx, _APPEND_AT_HEAD, audit=params, genesis=GENESIS_HASH)
        assert row is not None  # MERGE always yields the partition
        if row["appended"]:
            _remember(event)
            return event
        head = PartitionHead(partition, int(row["sequence"]), str(row["hash"]))  # locked by the statement
    else:
        head = await lock_partition(tx, partition)
    event, params = seal(head, entry)
    await tx.run(_APPEND, audit=params)
    _remember(event)
    return event


def _remember(event: AuditEvent) -> None:
    _LAST_APPENDED[event.partition] = PartitionHead(event.partition, event.partition_sequence, event.hash)
    _LAST_APPENDED.move_to_end(event.partition)
    while len(_LAST_APPENDED) > _REMEMBERED_PARTITIONS:
        _LAST_APPENDED.popitem(last=False)


def _dumps(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


_AUDIT_COLUMNS = ("audit_sequence", "audit_hash", "audit_appended")


async def fetch_audited(
    tx: AsyncManagedTransaction, cypher: str, entry: AuditEntry, **params: Any
) -> dict[str, Any] | None:
    """Run `cypher`, one write statement whose entry is known before it runs, and append `entry` in the same
    statement when it returns its row; None (and no event) when it matched nothing.

    As in `append_audit_event`, the event is sealed in advance against the head this process remembers for the
    partition; with nothing remembered, or when the head moved, the statement appends nothing and answers the
    head it found under the lock, and a second statement appends the event sealed against that head."""
    partition = partition_of(entry.subject)
    remembered = _LAST_APPENDED.get(partition)
    if remembered is not None:
        event, audit = seal(remembered, entry)
    else:
        event, audit = None, {"partition": partition, "partition_sequence": -1}  # a check that never holds
    row = await fetch_one(tx, audited(cypher), audit=audit, genesis=GENESIS_HASH, **params)
    if row is None:
        return None
    if event is None or not row["audit_appended"]:
        head = PartitionHead(partition, int(row["audit_sequence"]), str(row["audit_hash"]))  # locked by the statement
        event, audit = seal(head, entry)
        await tx.run(_APPEND, audit=audit)
    _remember(event)
    return {key: value for key, value in row.items() if key not in _AUDIT_COLUMNS}


async def write_audited(graph: Neo4jGraph, cypher: str, entry: AuditEntry, **params: Any) -> dict[str, Any] | None:
    """Run one write statement and, when it matched something, append `entry` in the same transaction (in the
    same statement, see `fetch_audited`). Returns the statement's row, or None (and nothing written) when it
    matched nothing."""

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any] | None:
        return await fetch_audited(tx, cypher, entry, **params)

    return await graph.write(work)


# ---- the sequencer ------------------------------------------------------------------------------------
_LOCK_LOG = (
    KEEP_PLAN
    + """
MERGE (h:AuditHead {id: 'audit'})
  ON CREATE SET h.sequence = 0, h.hash = $genesis
SET h._lock = true
RETURN h.sequence AS sequence, h.hash AS hash
"""
)

# `$limit` is a validated integer. The pending flag is indexed and removed once placed, so this is a seek. The
# time comes as a string: the driver would build each DateTime in Python (store/records.py, VERSION_TIMES), a
# few hundred µs per event placed, that is per write.
_PENDING = (
    KEEP_PLAN
    + """
MATCH (e:AuditEvent) USING INDEX e:AuditEvent(pending) WHERE e.pending = true
WITH e ORDER BY e.at LIMIT $limit
RETURN collect({event_id: e.event_id, partition: e.partition, partition_sequence: e.partition_sequence,
                at: toString(e.at), hash: e.hash}) AS events
"""
)

# For each partition, is the event just before its first pending one already placed (or is there none)?
_PLACED_BEFORE = (
    KEEP_PLAN
    + """
UNWIND $checks AS c
OPTIONAL MATCH (e:AuditEvent {partition: c.partition, partition_sequence: c.before})
RETURN collect({partition: c.partition, placed: c.before = 0 OR (e IS NOT NULL AND e.pending IS NULL)}) AS checks
"""
)

_PLACE = (
    KEEP_PLAN
    + """
UNWIND $placements AS p
MATCH (e:AuditEvent {event_id: p.event_id})
SET e.sequence = p.sequence, e.log_hash = p.log_hash
REMOVE e.pending
WITH count(e) AS placed
MATCH (h:AuditHead {id: 'audit'})
SET h.sequence = $sequence, h.hash = $hash
REMOVE h._lock
RETURN placed
"""
)


async def _place_pending(tx: AsyncManagedTransaction, limit: int) -> int:
    head_row = await fetch_one(tx, _LOCK_LOG, genesis=GENESIS_HASH)
    assert head_row is not None
    head = (int(head_row["sequence"]), str(head_row["hash"]))
    row = await fetch_one(tx, _PENDING, limit=limit)
    pending = [
        PendingEvent(e["event_id"], e["partition"], int(e["partition_sequence"]), to_datetime(e["at"]), e["hash"])
        for e in (row or {}).get("events", [])
    ]
    if not pending:
        return 0
    first: dict[str, int] = {}
    for event in pending:
        first[event.partition] = min(first.get(event.partition, event.partition_sequence), event.partition_sequence)
    checks = await fetch_one(
        tx, _PLACED_BEFORE, checks=[{"partition": p, "before": s - 1} for p, s in sorted(first.items())]
    )
    ready = {c["partition"] for c in (checks or {}).get("checks", []) if c["placed"]}
    placements = place([e for e in pending if e.partition in ready], {p: first[p] - 1 for p in ready}, head)
    if not placements:
        return 0
    last = placements[-1]
    await fetch_one(
        tx,
        _PLACE,
        placements=[{"event_id": p.event_id, "sequence": p.sequence, "log_hash": p.log_hash} for p in placements],
        sequence=last.sequence,
        hash=last.log_hash,
    )
    return len(placements)


# ---- the read side ------------------------------------------------------------------------------------
_FIELDS = """e.event_id AS event_id, e.partition AS partition, e.partition_sequence AS partition_sequence,
       e.sequence AS sequence, e.actor AS actor, e.action AS action, e.subject AS subject, e.group AS group,
       e.payload AS payload, e.outcome AS outcome, e.at AS at, e.previous_hash AS previous_hash, e.hash AS hash,
       e.log_hash AS log_hash"""

_PROJECTION = (
    ".event_id, .partition, .partition_sequence, .sequence, .actor, .action, .subject, .group, .payload, .outcome, "
    ".at, .previous_hash, .hash, .log_hash"
)

# Newest first by commit time (an event is listed as soon as it commits, before the sequencer places it).
# The cursor is the (at, event_id) of the last event of the previous page, so each page is an index seek.
_LIST = f"""
MATCH (e:AuditEvent)
WHERE ($before_at IS NULL OR e.at < $before_at OR (e.at = $before_at AND e.event_id < $before_id))
  AND ($subject IS NULL OR e.subject = $subject)
  AND ($actor IS NULL OR e.actor = $actor)
  AND ($action IS NULL OR e.action = $action)
  AND ($from IS NULL OR e.at >= $from)
  AND ($to IS NULL OR e.at < $to)
WITH e ORDER BY e.at DESC, e.event_id DESC LIMIT $limit
RETURN collect(e {{{_PROJECTION}}}) AS events
"""

# The global log after a position, oldest first: what webhooks and subscriptions consume.
_LOG_AFTER = f"""
MATCH (e:AuditEvent) WHERE e.sequence > $after
WITH e ORDER BY e.sequence LIMIT $limit
RETURN {_FIELDS}
"""

_HEADS = """
OPTIONAL MATCH (h:AuditHead {id: 'audit'})
WITH h
CALL () { MATCH (p:AuditPartition) RETURN collect({name: p.name, sequence: p.sequence, hash: p.hash}) AS parts }
RETURN h.sequence AS sequence, h.hash AS hash, parts
"""

_PARTITION_BATCH = f"""
MATCH (e:AuditEvent) WHERE e.partition = $partition AND $after < e.partition_sequence <= $through
WITH e ORDER BY e.partition_sequence LIMIT $limit
RETURN {_FIELDS}
"""

_LOG_BATCH = """
MATCH (e:AuditEvent) WHERE $after < e.sequence <= $through
WITH e ORDER BY e.sequence LIMIT $limit
RETURN collect({sequence: e.sequence, event_id: e.event_id, hash: e.hash, log_hash: e.log_hash, partition: e.partition,
                previous_hash: e.previous_hash}) AS entries
"""

# How many events match a filter: only the supplied conditions (no `$x IS NULL OR …`), so the count of the
# whole log comes from the count store and a filtered one from the filter's index.
_COUNT_CONDITIONS = {
    "subject": "e.subject = $subject",
    "actor": "e.actor = $actor",
    "action": "e.action = $action",
    "from": "e.at >= $from",
    "to": "e.at < $to",
}
_COUNT = "MATCH (e:AuditEvent) {where} RETURN count(e) AS total"

_BY_ID = f"""
UNWIND $ids AS id
MATCH (e:AuditEvent {{event_id: id}})
RETURN {_FIELDS}
"""
_ANY_PENDING = (
    KEEP_PLAN
    + "MATCH (e:AuditEvent) USING INDEX e:AuditEvent(pending) WHERE e.pending = true RETURN e.event_id AS id LIMIT 1"
)
_LOG_HEAD = KEEP_PLAN + "MATCH (h:AuditHead {id: 'audit'}) RETURN h.sequence AS sequence"


@dataclass(frozen=True)
class AuditFilter:
    subject: str | None = None
    actor: str | None = None
    action: str | None = None
    from_: datetime | None = None
    to: datetime | None = None


@dataclass(frozen=True)
class Heads:
    """The global log's head and every partition's head, read together at the start of a verification."""

    log: Head | None  # None: no event was ever placed (or the head was removed)
    partitions: dict[str, Head]


class AuditStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def events(self, where: AuditFilter, *, before: tuple[datetime, str] | None, limit: int) -> list[AuditEvent]:
        """Events matching `where`, newest first, older than the `(at, event_id)` cursor, at most `limit`."""
        rows = await self._graph.rows(
            _LIST,
            before_at=before[0] if before else None,
            before_id=before[1] if before else None,
            subject=where.subject,
            actor=where.actor,
            action=where.action,
            limit=limit,
            **{"from": where.from_, "to": where.to},
        )
        return [_to_event(row) for row in rows[0]["events"]] if rows else []

    async def count(self, where: AuditFilter) -> int:
        """How many events match `where` (the whole filtered log, not one page)."""
        params = {"subject": where.subject, "actor": where.actor, "action": where.action}
        clause, supplied = where_clause(_COUNT_CONDITIONS, {**params, "from": where.from_, "to": where.to})
        rows = await self._graph.rows(_COUNT.format(where=clause), **supplied)
        return int(rows[0]["total"]) if rows else 0

    async def log_after(self, after: int, limit: int) -> list[AuditEvent]:
        """Events placed in the global log after sequence `after`, oldest first."""
        return [_to_event(row) for row in await self._graph.rows(_LOG_AFTER, after=after, limit=limit)]

    async def events_by_id(self, event_ids: list[str]) -> list[AuditEvent]:
        return [_to_event(row) for row in await self._graph.rows(_BY_ID, ids=event_ids)]

    async def log_head(self) -> int:
        rows = await self._graph.rows(_LOG_HEAD)
        return int(rows[0]["sequence"]) if rows else 0

    async def place_pending(self, limit: int = 500) -> int:
        """Place up to `limit` committed events into the global log; returns how many were placed."""
        # Every instance polls: a read that finds nothing pending keeps an idle poll off the write path.
        if not await self._graph.rows(_ANY_PENDING):
            return 0

        async def work(tx: AsyncManagedTransaction) -> int:
            return await _place_pending(tx, limit)

        return await self._graph.write(work)

    async def heads(self) -> Heads:
        """The log head first, then the partitions' heads: every event the log covers is in a partition
        up to the head read here, since partitions only ever grow after the log head was read."""
        rows = await self._graph.rows(_HEADS)
        row = rows[0]
        log = None if row["sequence"] is None else Head(int(row["sequence"]), str(row["hash"]))
        parts = {str(p["name"]): Head(int(p["sequence"]), str(p["hash"])) for p in row["parts"]}
        return Heads(log, parts)

    async def partition_chain(
        self, partition: str, through: int, batch_size: int = 1000
    ) -> AsyncIterator[StoredAuditEvent]:
        """A partition's events up to `through`, oldest first, as stored (undecodable fields kept raw)."""
        after = 0
        while after < through:
            rows = await self._graph.rows(
                _PARTITION_BATCH, partition=partition, after=after, through=through, limit=batch_size
            )
            for row in rows:
                yield _to_stored(row)
            if len(rows) < batch_size:
                return
            after = int(rows[-1]["partition_sequence"])

    async def log_chain(self, through: int, batch_size: int = 5000) -> AsyncIterator[LogEntry]:
        """The global log's links up to `through`, oldest first."""
        after = 0
        while after < through:
            rows = await self._graph.rows(_LOG_BATCH, after=after, through=through, limit=batch_size)
            entries = rows[0]["entries"] if rows else []
            for entry in entries:
                yield LogEntry(
                    entry["sequence"],
                    entry["event_id"],
                    entry["hash"],
                    entry["log_hash"],
                    entry["partition"],
                    entry["previous_hash"],
                )
            if len(entries) < batch_size:
                return
            after = int(entries[-1]["sequence"])


def _to_event(row: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        event_id=row["event_id"],
        partition=row["partition"],
        partition_sequence=int(row["partition_sequence"]),
        actor=row["actor"],
        action=row["action"],
        subject=row["subject"],
        group=row["group"],
        payload=_loads(row["payload"]),
        outcome=row["outcome"],
        at=_native(row["at"]),
        previous_hash=row["previous_hash"],
        hash=row["hash"],
        sequence=None if row["sequence"] is None else int(row["sequence"]),
        log_hash=row["log_hash"],
    )


def _loads(payload: Any) -> dict[str, Any]:
    # A tampered payload must not take the log's read side down; verify is what reports it.
    try:
        value = json.loads(payload) if payload else {}
    except (TypeError, ValueError):
        return {"unreadable": str(payload)[:200]}
    return value if isinstance(value, dict) else {"value": value}


def _to_stored(row: dict[str, Any]) -> StoredAuditEvent:
    return StoredAuditEvent(
        event_id=row["event_id"],
        partition=row["partition"],
        partition_sequence=row["partition_sequence"],
        actor=row["actor"],
        action=row["action"],
        subject=row["subject"],
        payload=row["payload"],
        outcome=row["outcome"],
        at=_native(row["at"]) if row["at"] is not None else None,
        previous_hash=row["previous_hash"],
        hash=row["hash"],
        sequence=row["sequence"],
        log_hash=row["log_hash"],
    )


def _native(value: Any) -> Any:
    return value.to_native() if isinstance(value, DateTime) else value
