"""The append-only audit log: one `AuditEvent` per mutation, written in the mutation's own transaction.

A single `AuditHead` node holds the last sequence number and hash. Taking its write lock first (the
`SET head._lock` below) serializes appenders, so sequence numbers are gap-free and each event chains to
the one committed before it; the uniqueness constraint on `AuditEvent.sequence` backs that up.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import GENESIS_HASH, AuditEntry, AuditEvent, canonical_content, chain_hash
from lineage_graph.store.graph import fetch_one

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
