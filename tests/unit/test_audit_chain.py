"""The chains on events built in memory: a partition intact, altered, missing, re-linked, truncated; the global
log's placement (partition order kept, gaps waited for) and its verification."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from lineage_graph.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    Head,
    LogEntry,
    LogVerifier,
    PartitionReport,
    PartitionVerifier,
    PendingEvent,
    StoredAuditEvent,
    canonical_content,
    chain_hash,
    group_of,
    log_link,
    partition_of,
    place,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def _chain(length: int, partition: str = "Principal") -> list[StoredAuditEvent]:
    events = []
    previous = GENESIS_HASH
    for sequence in range(1, length + 1):
        entry = AuditEntry("alice", "token.create", f"Principal:p{sequence}", {"n": sequence, "tags": ["a"]})
        at = START + timedelta(seconds=sequence)
        event_id = f"{partition}-{sequence}"
        digest = chain_hash(previous, canonical_content(event_id, partition, sequence, entry, at))
        events.append(
            StoredAuditEvent(
                event_id,
                partition,
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


def _verify(events: list[StoredAuditEvent], head: tuple[int, str]) -> tuple[int | None, str]:
    verifier = PartitionVerifier("Principal", log_through=0)
    for event in events:
        verifier.add(event)
    broken = verifier.finish(Head(*head))
    return (broken.sequence, broken.reason) if broken else (None, "")


def test_an_intact_chain_verifies() -> None:
    events = _chain(5)
    assert _verify(events, (5, events[-1].hash)) == (None, "")
    assert _verify([], (0, GENESIS_HASH)) == (None, "")


def test_an_altered_payload_is_caught_at_its_sequence() -> None:
    events = _chain(5)
    events[2] = replace(events[2], payload=json.dumps({"n": 999, "tags": ["a"]}))
    assert _verify(events, (5, events[-1].hash)) == (3, "the content does not match its hash (the event was altered)")


def test_an_event_moved_to_another_partition_is_caught() -> None:
    events = _chain(3)
    verifier = PartitionVerifier("ModelGroup", log_through=0)
    for event in events:
        verifier.add(replace(event, partition="ModelGroup"))
    assert verifier.broken is not None
    assert verifier.broken.sequence == 1


def test_a_recomputed_hash_breaks_the_next_link() -> None:
    events = _chain(5)
    forged = replace(events[1], actor="mallory")
    entry = AuditEntry(forged.actor, forged.action, forged.subject, json.loads(forged.payload), forged.outcome)
    content = canonical_content(forged.event_id, "Principal", 2, entry, forged.at)
    events[1] = replace(forged, hash=chain_hash(forged.previous_hash, content))
    assert _verify(events, (5, events[-1].hash))[0] == 3


def test_a_deleted_event_and_a_truncated_tail_are_caught() -> None:
    events = _chain(5)
    assert _verify(events[:2] + events[3:], (5, events[-1].hash))[0] == 3
    assert _verify(events[:4], (5, events[-1].hash))[0] == 5


def test_the_partition_report_says_how_far_the_chain_held() -> None:
    events = _chain(5)
    events[3] = replace(events[3], actor="mallory")
    verifier = PartitionVerifier("Principal", log_through=0)
    for event in events:
        verifier.add(event)
    head = Head(5, events[-1].hash)
    verifier.finish(head)
    report = verifier.report(head)
    assert report == PartitionReport("Principal", 5, 3, 3, verifier.broken)
    assert not report.intact
    assert report.broken is not None
    assert report.broken.sequence == 4


def test_a_field_that_no_longer_decodes_is_a_break() -> None:
    events = _chain(3)
    events[0] = replace(events[0], payload="{not json")
    assert _verify(events, (3, events[-1].hash)) == (1, "a stored field no longer decodes")


def test_partitions_follow_the_model_group() -> None:
    assert partition_of("ModelVersion:fraud/3") == partition_of("ModelGroup:fraud") == "group:fraud"
    assert partition_of("Principal:ci") == "Principal"
    assert partition_of(None) == "system"
    assert group_of("ModelVersion:fraud/3", {}) == "fraud"
    assert group_of("Deployment:abc", {"model_version": "ModelVersion:churn/2"}) == "churn"
    assert group_of("Principal:ci", {}) is None


def _pending(partition: str, sequence: int, second: int) -> PendingEvent:
    at = START + timedelta(seconds=second)
    return PendingEvent(f"{partition}-{sequence}", partition, sequence, at, f"h{sequence}")


def test_placement_keeps_each_partition_in_order_and_interleaves_by_time() -> None:
    pending = [_pending("a", 2, 3), _pending("b", 1, 2), _pending("a", 1, 1), _pending("a", 3, 4)]
    placed = place(pending, {"a": 0, "b": 0}, (10, "h"))
    assert [p.event_id for p in placed] == ["a-1", "b-1", "a-2", "a-3"]
    assert [p.sequence for p in placed] == [11, 12, 13, 14]
    assert placed[0].log_hash == log_link("h", 11, "a-1", "h1")
    assert placed[1].log_hash == log_link(placed[0].log_hash, 12, "b-1", "h1")


def test_placement_waits_for_a_gap_in_a_partition() -> None:
    # a-2 committed but was not seen: a-3 must wait, b goes ahead.
    placed = place([_pending("a", 3, 1), _pending("b", 5, 2)], {"a": 1, "b": 4}, (0, GENESIS_HASH))
    assert [p.event_id for p in placed] == ["b-5"]


def test_placement_keeps_partition_order_even_when_clocks_disagree() -> None:
    placed = place([_pending("a", 1, 9), _pending("a", 2, 1)], {"a": 0}, (0, GENESIS_HASH))
    assert [p.event_id for p in placed] == ["a-1", "a-2"]


def test_the_log_verifier_catches_moves_gaps_and_a_short_head() -> None:
    placed = place([_pending("a", 1, 1), _pending("a", 2, 2), _pending("a", 3, 3)], {"a": 0}, (0, GENESIS_HASH))
    entries = [LogEntry(p.sequence, p.event_id, f"h{i + 1}", p.log_hash) for i, p in enumerate(placed)]

    def verify(items: list[LogEntry], head: Head) -> int | None:
        verifier = LogVerifier()
        for item in items:
            verifier.add(item)
        broken = verifier.finish(head)
        return broken.sequence if broken else None

    head = Head(3, placed[-1].log_hash)
    assert verify(entries, head) is None
    assert verify([entries[0], entries[2]], head) == 2
    assert verify([entries[0], replace(entries[1], hash="forged"), entries[2]], head) == 2
    assert verify(entries[:2], head) == 3
