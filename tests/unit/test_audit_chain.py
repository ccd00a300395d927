"""The chain verifier on events built in memory: intact, altered, missing, re-linked, truncated."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from lineage_graph.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    ChainVerifier,
    StoredAuditEvent,
    canonical_content,
    chain_hash,
)


def _chain(length: int) -> list[StoredAuditEvent]:
    events = []
    previous = GENESIS_HASH
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for sequence in range(1, length + 1):
        entry = AuditEntry("alice", "token.create", f"Principal:p{sequence}", {"n": sequence, "tags": ["a"]})
        at = start + timedelta(seconds=sequence)
        digest = chain_hash(previous, canonical_content(sequence, entry, at))
        events.append(
            StoredAuditEvent(
                sequence,
                entry.actor,
                entry.action,
                entry.subject,
                json.dumps(entry.payload),
                entry.outcome,
                at,
                previous,
                digest,
            )
        )
        previous = digest
    return events


def _verify(events: list[StoredAuditEvent], head: tuple[int, str] | None) -> tuple[int | None, str]:
    verifier = ChainVerifier()
    for event in events:
        verifier.add(event)
    report = verifier.finish(head)
    return (report.broken.sequence, report.broken.reason) if report.broken else (None, "")


def test_an_intact_chain_verifies() -> None:
    events = _chain(5)
    assert _verify(events, (5, events[-1].hash)) == (None, "")
    assert _verify([], None) == (None, "")


def test_an_altered_payload_is_caught_at_its_sequence() -> None:
    events = _chain(5)
    events[2] = replace(events[2], payload=json.dumps({"n": 999, "tags": ["a"]}))
    assert _verify(events, (5, events[-1].hash)) == (3, "the content does not match its hash (the event was altered)")


def test_a_recomputed_hash_breaks_the_next_link() -> None:
    events = _chain(5)
    forged = replace(events[1], actor="mallory")
    entry = AuditEntry(forged.actor, forged.action, forged.subject, json.loads(forged.payload), forged.outcome)
    events[1] = replace(forged, hash=chain_hash(forged.previous_hash, canonical_content(2, entry, forged.at)))
    assert _verify(events, (5, events[-1].hash))[0] == 3


def test_a_deleted_event_and_a_truncated_tail_are_caught() -> None:
    events = _chain(5)
    assert _verify(events[:2] + events[3:], (5, events[-1].hash))[0] == 3
    assert _verify(events[:4], (5, events[-1].hash))[0] == 5


def test_a_field_that_no_longer_decodes_is_a_break() -> None:
    events = _chain(3)
    events[0] = replace(events[0], payload="{not json")
    assert _verify(events, (3, events[-1].hash)) == (1, "a stored field no longer decodes")
