"""The append-only audit log: one `AuditEvent` per mutation, written in the mutation's own transaction.

A single `AuditHead` node holds the last sequence number and hash. Taking its write lock first (the
`SET head._lock` below) serializes appenders, so sequence numbers are gap-free and each event chains to
the one committed before it; the uniqueness constraint on `AuditEvent.sequence` backs that up.
"""

from __future__ import annotations

import json
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
    StoredAuditEvent,
    canonical_content,
    chain_hash,
)
from lineage_graph.store.graph import Neo4jGraph, fetch_one

_LOCK_HEAD = """
MERGE (head:AuditHead {id: 'audit'})
  ON CREATE SET head.sequence = 0, head.hash = $genesis
SET head._lock = true
RETURN head.sequence AS sequence, head.hash AS hash
"""

_APPEND = """
MATCH (head:AuditHead {id: 'audit'})
CREATE (e:AuditEvent {sequence: $sequence, actor: $actor, action: $action, subject: $subject,
                      payload: $payload, outcome: $outcome, at: $at, previous_hash: $previous_hash,
                      hash: $hash})
SET head.sequence = $sequence, head.hash = $hash
REMOVE head._lock
"""


async def append_audit_event(tx: AsyncManagedTransaction, entry: AuditEntry) -> AuditEvent:
    """Append `entry` to the chain inside `tx`; it commits or rolls back with the change it records."""
    head = await fetch_one(tx, _LOCK_HEAD, genesis=GENESIS_HASH)
    assert head is not None
    sequence = int(head["sequence"]) + 1
    previous_hash = str(head["hash"])
    at = datetime.now(UTC)
    digest = chain_hash(previous_hash, canonical_content(sequence, entry, at))
    await tx.run(
        _APPEND,
        sequence=sequence,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        payload=_dumps(entry.payload),
        outcome=entry.outcome,
        at=at,
        previous_hash=previous_hash,
        hash=digest,
    )
    return AuditEvent(
        sequence, entry.actor, entry.action, entry.subject, entry.payload, entry.outcome, at, previous_hash, digest
    )


def _dumps(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# ---- the read side ------------------------------------------------------------------------------------
# Newest first. `$before` is the sequence of the last event of the previous page (the cursor), so each page
# is an index seek on the sequence constraint, never an OFFSET scan. `$limit` is a validated integer.
_LIST = """
MATCH (e:AuditEvent)
WHERE ($before IS NULL OR e.sequence < $before)
  AND ($subject IS NULL OR e.subject = $subject)
  AND ($actor IS NULL OR e.actor = $actor)
  AND ($action IS NULL OR e.action = $action)
  AND ($from IS NULL OR e.at >= $from)
  AND ($to IS NULL OR e.at < $to)
RETURN e.sequence AS sequence, e.actor AS actor, e.action AS action, e.subject AS subject,
       e.payload AS payload, e.outcome AS outcome, e.at AS at, e.previous_hash AS previous_hash, e.hash AS hash
ORDER BY e.sequence DESC
LIMIT $limit
"""

# Oldest first, in batches, for verification: memory stays bounded however long the log.
_CHAIN_BATCH = """
MATCH (e:AuditEvent)
WHERE e.sequence > $after
RETURN e.sequence AS sequence, e.actor AS actor, e.action AS action, e.subject AS subject,
       e.payload AS payload, e.outcome AS outcome, e.at AS at, e.previous_hash AS previous_hash, e.hash AS hash
ORDER BY e.sequence
LIMIT $limit
"""

_HEAD = "MATCH (head:AuditHead {id: 'audit'}) RETURN head.sequence AS sequence, head.hash AS hash"


@dataclass(frozen=True)
class AuditFilter:
    subject: str | None = None
    actor: str | None = None
    action: str | None = None
    from_: datetime | None = None
    to: datetime | None = None


class AuditStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def events(self, where: AuditFilter, *, before: int | None, limit: int) -> list[AuditEvent]:
        """Events matching `where`, newest first, with sequence below `before`, at most `limit` of them."""
        rows = await self._graph.rows(
            _LIST,
            before=before,
            subject=where.subject,
            actor=where.actor,
            action=where.action,
            limit=limit,
            **{"from": where.from_, "to": where.to},
        )
        return [_to_event(row) for row in rows]

    async def chain(self, batch_size: int = 1000) -> AsyncIterator[StoredAuditEvent]:
        """Every event, oldest first, as stored (a field that no longer decodes is kept raw for verify)."""
        after = 0
        while True:
            rows = await self._graph.rows(_CHAIN_BATCH, after=after, limit=batch_size)
            for row in rows:
                yield _to_stored(row)
            if len(rows) < batch_size:
                return
            after = int(rows[-1]["sequence"])

    async def head(self) -> tuple[int, str] | None:
        """The head's (sequence, hash): what the chain must end at, so deleting the newest events shows."""
        rows = await self._graph.rows(_HEAD)
        return (int(rows[0]["sequence"]), str(rows[0]["hash"])) if rows else None


def _to_event(row: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        sequence=int(row["sequence"]),
        actor=row["actor"],
        action=row["action"],
        subject=row["subject"],
        payload=json.loads(row["payload"]) if row["payload"] else {},
        outcome=row["outcome"],
        at=_native(row["at"]),
        previous_hash=row["previous_hash"],
        hash=row["hash"],
    )


def _to_stored(row: dict[str, Any]) -> StoredAuditEvent:
    return StoredAuditEvent(
        sequence=row["sequence"],
        actor=row["actor"],
        action=row["action"],
        subject=row["subject"],
        payload=row["payload"],
        outcome=row["outcome"],
        at=_native(row["at"]) if row["at"] is not None else None,
        previous_hash=row["previous_hash"],
        hash=row["hash"],
    )


def _native(value: Any) -> Any:
    return value.to_native() if isinstance(value, DateTime) else value


async def write_audited(graph: Neo4jGraph, cypher: str, entry: AuditEntry, **params: Any) -> dict[str, Any] | None:
    """Run one write statement and, when it matched something, append `entry` in the same transaction.
    Returns the statement's row, or None (and nothing written) when it matched nothing."""

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any] | None:
        row = await fetch_one(tx, cypher, **params)
        if row is not None:
            await append_audit_event(tx, entry)
        return row

    return await graph.write(work)
