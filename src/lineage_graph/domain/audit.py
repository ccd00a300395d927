"""The audit log's hash chains: one chain per partition, anchored event by event into one global log.

A mutation appends its event to the chain of the event's *partition* (one per model group; for anything else,
one per kind of subject), in the mutation's own transaction. Only writers of the same partition queue behind
each other, so registrations into different groups commit in parallel. Each event's `hash` covers the previous
hash of its partition and its own canonical content.

Shortly after commit, the log's sequencer gives every event its place in the global log: a gap-free `sequence`
and a `log_hash` that chains the event's hash to the log hash before it. That global order respects each
partition's order (an event is never placed before an earlier event of its partition), and it is the order of
webhooks and subscriptions. Verification checks every partition chain and the global chain, each up to the
head read at its start.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64

# Subjects are recorded as `Label:part/part` (NodeRef's string form); these labels belong to a model group.
_GROUP_LABELS = ("ModelGroup", "ModelVersion")
SYSTEM_PARTITION = "system"
# The one chain of a database written before partitions existed, kept as it was (see `legacy_content`).
LEGACY_PARTITION = "legacy"


@dataclass(frozen=True)
class AuditEntry:
    """What a mutation asks to be recorded; the store assigns the id, the partition sequence and the hash."""

    actor: str
    action: str
    subject: str | None
    payload: Mapping[str, Any]
    outcome: str = "OK"  # OK, or REFUSED for an attempt that was denied and changed nothing else


@dataclass(frozen=True)
class AuditEvent:
    """A recorded event. `sequence` and `log_hash` are its place in the global log: None for the moment
    between its commit and the sequencer anchoring it."""

    event_id: str
    partition: str
    partition_sequence: int
    actor: str
    action: str
    subject: str | None
    group: str | None
    payload: Mapping[str, Any]
    outcome: str
    at: datetime
    previous_hash: str
    hash: str
    sequence: int | None = None
    log_hash: str | None = None


def group_of(subject: str | None, payload: Mapping[str, Any]) -> str | None:
    """The model group an event concerns, for subscription filters: from the subject, else the payload."""
    if subject is not None:
        label, _, key = subject.partition(":")
        if label in _GROUP_LABELS and key:
            return key.split("/", 1)[0]
    group = payload.get("group")
    if isinstance(group, str) and group:
        return group
    version = payload.get("model_version")  # deployments record the version they serve as `ModelVersion:g/v`
    if isinstance(version, str):
        return group_of(version, {})
    return None


def partition_of(subject: str | None) -> str:
    """The chain an event joins: `group:<name>` for a group and its versions, else the subject's label.

    Partitioning by group is what lets unrelated registrations commit in parallel; everything about one group
    stays in one chain, so its events keep their exact commit order."""
    if subject is None:
        return SYSTEM_PARTITION
    label, _, key = subject.partition(":")
    if label in _GROUP_LABELS and key:
        return f"group:{key.split('/', 1)[0]}"
    return label if label and label != LEGACY_PARTITION else SYSTEM_PARTITION  # the legacy chain is closed


def canonical_content(event_id: str, partition: str, partition_sequence: int, entry: AuditEntry, at: datetime) -> str:
    """The exact bytes the partition hash covers: sorted keys, no whitespace, UTC timestamp in ISO form."""
    body = {
        "id": event_id,
        "partition": partition,
        "sequence": partition_sequence,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "payload": entry.payload,
        "outcome": entry.outcome,
        "at": at.isoformat(),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def legacy_content(sequence: int, entry: AuditEntry, at: datetime) -> str:
    """The bytes a hash covered before partitions: one global chain, no event id, no partition. Events of
    that chain keep their original hashes (`lineage-graph migrate` anchors them as the legacy partition and
    the first positions of the global log), so they are verified against this form."""
    body = {
        "sequence": sequence,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "payload": entry.payload,
        "outcome": entry.outcome,
        "at": at.isoformat(),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def legacy_event_id(sequence: int) -> str:
    """A legacy event's id: derived from its position, so anchoring it twice gives the same id."""
    return f"legacy-{sequence}"


def chain_hash(previous_hash: str, content: str) -> str:
    return hashlib.sha256((previous_hash + content).encode()).hexdigest()


def log_link(previous_log_hash: str, sequence: int, event_id: str, event_hash: str) -> str:
    """The global log's link: its position, the event's id and the event's partition hash, chained."""
    return chain_hash(previous_log_hash, f"{sequence}:{event_id}:{event_hash}")


# ---- anchoring ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PendingEvent:
    """A committed event the sequencer has not placed yet."""

    event_id: str
    partition: str
    partition_sequence: int
    at: datetime
    hash: str


@dataclass(frozen=True)
class Placement:
    event_id: str
    sequence: int
    log_hash: str


def place(
    pending: Sequence[PendingEvent], anchored_through: Mapping[str, int], head: tuple[int, str]
) -> list[Placement]:
    """Give `pending` events their global sequence numbers, continuing the log from `head`.

    Per partition only the contiguous run after `anchored_through[partition]` (the last placed partition
    sequence) is placed: a reader can see event n+1 of a partition committed a moment before it sees n, and
    placing n+1 first would break that partition's order. Across partitions, events go by commit time."""
    by_partition: dict[str, list[PendingEvent]] = defaultdict(list)
    for event in pending:
        by_partition[event.partition].append(event)
    ready: list[PendingEvent] = []
    for partition, events in by_partition.items():
        expected = anchored_through.get(partition, 0) + 1
        for event in sorted(events, key=_by_sequence):
            if event.partition_sequence != expected:
                break
            ready.append(event)
            expected += 1
    # Time orders partitions against each other; within one, the partition sequence always wins.
    slots = sorted(ready, key=lambda e: (e.at, e.partition, e.partition_sequence))
    in_order = {p: sorted((e for e in ready if e.partition == p), key=_by_sequence) for p in by_partition}
    taken: dict[str, int] = defaultdict(int)
    sequence, previous = head
    placements = []
    for slot in slots:
        event = in_order[slot.partition][taken[slot.partition]]
        taken[slot.partition] += 1
        sequence += 1
        previous = log_link(previous, sequence, event.event_id, event.hash)
        placements.append(Placement(event.event_id, sequence, previous))
    return placements


def _by_sequence(event: PendingEvent) -> int:
    return event.partition_sequence


# ---- verification -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredAuditEvent:
    """An event exactly as read back from the database, before anything is trusted: verification must
    judge what is stored, so a field that was tampered into the wrong type or bad JSON is kept as it is."""

    event_id: Any
    partition: Any
    partition_sequence: Any
    actor: Any
    action: Any
    subject: Any
    payload: Any  # the stored JSON text
    outcome: Any
    at: Any
    previous_hash: Any
    hash: Any
    sequence: Any = None
    log_hash: Any = None


@dataclass(frozen=True)
class ChainBreak:
    """The first place a chain does not hold: which chain, which sequence number in it, and why."""

    chain: str  # a partition's name, or "log" for the global log
    sequence: int
    reason: str
    missing: bool = False  # an event the head accounts for was not found (the others: an event is wrong)


@dataclass(frozen=True)
class Head:
    sequence: int
    hash: str


@dataclass(frozen=True)
class PartitionReport:
    """One partition chain's verdict: how far it held, against the head read at the start."""

    name: str
    head_sequence: int  # the head read at the start: the chain was to be verified this far
    verified_through: int  # the last event found sound (the head's sequence when intact)
    unanchored: int  # of those, events not yet placed in the global log
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


@dataclass(frozen=True)
class ChainReport:
    """What verify proved: every partition up to the head it read at the start, and the global log up to
    its head; events committed after that are not covered (and are reported as such by the caller)."""

    events: int  # events checked across all partitions
    partitions: int
    log_sequence: int  # the global log was verified through this sequence
    log_hash: str
    unanchored: int  # events verified in their partition but not yet placed in the global log
    broken: ChainBreak | None  # the first break: a partition's (in name order), else the global log's
    partition_reports: tuple[PartitionReport, ...] = ()  # one per partition, in name order

    @property
    def intact(self) -> bool:
        return self.broken is None


class PartitionVerifier:
    """Folds one partition's stored events, oldest first, into a verdict; keeps only the previous link."""

    def __init__(self, partition: str, log_through: int) -> None:
        self.partition = partition
        self.log_through = log_through
        self.events = 0
        self.unanchored = 0  # not yet placed in the global log when it was read
        self.in_log = 0  # placed at or below `log_through`: the global log's verification covers these
        self.last_sequence = 0
        self.last_hash = GENESIS_HASH
        self.broken: ChainBreak | None = None

    def add(self, event: StoredAuditEvent) -> None:
        if self.broken is not None:
            return
        expected = self.last_sequence + 1
        self.broken = self._check(event, expected)
        if self.broken is None:
            self.events += 1
            if event.sequence is None:
                self.unanchored += 1
            elif isinstance(event.sequence, int) and event.sequence <= self.log_through:
                self.in_log += 1
            self.last_sequence = expected
            self.last_hash = str(event.hash)

    def finish(self, head: Head) -> ChainBreak | None:
        """Compare the end of the chain with the head, so deleting the newest events is caught too."""
        if self.broken is None and head.sequence != self.last_sequence:
            self.broken = self._break(
                self.last_sequence + 1,
                f"the chain ends at {self.last_sequence} but its head records {head.sequence}: events are missing",
                missing=True,
            )
        if self.broken is None and head.hash != self.last_hash:
            self.broken = self._break(self.last_sequence, "the head's hash does not match the last event")
        return self.broken

    def _break(self, sequence: int, reason: str, missing: bool = False) -> ChainBreak:
        return ChainBreak(self.partition, sequence, reason, missing)

    def report(self, head: Head) -> PartitionReport:
        return PartitionReport(self.partition, head.sequence, self.last_sequence, self.unanchored, self.broken)

    def _check(self, event: StoredAuditEvent, expected: int) -> ChainBreak | None:
        if event.partition_sequence != expected:
            return self._break(
                expected, f"event {expected} is missing (next stored is {event.partition_sequence})", missing=True
            )
        if event.previous_hash != self.last_hash:
            return self._break(expected, "previous_hash does not match the hash of the event before it")
        try:
            payload = json.loads(event.payload)
            entry = AuditEntry(event.actor, event.action, event.subject, payload, event.outcome)
            if self.partition == LEGACY_PARTITION:
                content = legacy_content(expected, entry, event.at)
            else:
                content = canonical_content(event.event_id, self.partition, expected, entry, event.at)
        except (TypeError, ValueError, AttributeError):
            return self._break(expected, "a stored field no longer decodes")
        if chain_hash(self.last_hash, content) != event.hash:
            return self._break(expected, "the content does not match its hash (the event was altered)")
        return None


@dataclass(frozen=True)
class LogEntry:
    """One event's place in the global log as stored: what the log's chain covers."""

    sequence: Any
    event_id: Any
    hash: Any
    log_hash: Any
    partition: Any = None
    previous_hash: Any = None


@dataclass
class LogVerifier:
    """Folds the global log, oldest first: gap-free sequence numbers, each link over the event's hash.

    A database that predates partitions starts its log with the legacy chain: there the old chain is the log
    (each event's log hash is its own hash, linked through `previous_hash`), and the log continues from the
    last legacy hash. Legacy events only ever form that prefix."""

    events: int = 0
    last_sequence: int = 0
    last_hash: str = GENESIS_HASH
    broken: ChainBreak | None = None
    past_legacy: bool = False

    def add(self, entry: LogEntry) -> None:
        if self.broken is not None:
            return
        expected = self.last_sequence + 1
        if entry.sequence != expected:
            self.broken = ChainBreak(
                "log", expected, f"event {expected} is missing (next stored is {entry.sequence})", missing=True
            )
            return
        if entry.partition is None and entry.log_hash is None:
            self.broken = ChainBreak(
                "log", expected, "the event predates partitioned chains: run `lineage-graph migrate` to anchor it"
            )
            return
        if entry.partition == LEGACY_PARTITION:
            if self.past_legacy or entry.previous_hash != self.last_hash or entry.log_hash != entry.hash:
                self.broken = ChainBreak("log", expected, "the legacy segment does not link (an event was moved)")
                return
        elif log_link(self.last_hash, expected, str(entry.event_id), str(entry.hash)) != entry.log_hash:
            self.broken = ChainBreak("log", expected, "the log link does not match (an event was moved or altered)")
            return
        self.past_legacy = self.past_legacy or entry.partition != LEGACY_PARTITION
        self.events += 1
        self.last_sequence = expected
        self.last_hash = str(entry.log_hash)

    def finish(self, head: Head) -> ChainBreak | None:
        if self.broken is None and head.sequence != self.last_sequence:
            self.broken = ChainBreak(
                "log",
                self.last_sequence + 1,
                f"the log ends at {self.last_sequence} but its head records {head.sequence}: events are missing",
                missing=True,
            )
        if self.broken is None and head.hash != self.last_hash:
            self.broken = ChainBreak("log", self.last_sequence, "the head's hash does not match the last event")
        return self.broken
