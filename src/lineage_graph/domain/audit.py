"""The audit log's hash chain: each event's hash covers the previous hash and its own canonical content."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """What a mutation asks to be recorded; the store assigns the sequence number and the chain hash."""

    actor: str
    action: str
    subject: str | None
    payload: Mapping[str, Any]
    outcome: str = "OK"  # OK, or REFUSED for an attempt that was denied and changed nothing else


@dataclass(frozen=True)
class AuditEvent:
    sequence: int
    actor: str
    action: str
    subject: str | None
    payload: Mapping[str, Any]
    outcome: str
    at: datetime
    previous_hash: str
    hash: str


def canonical_content(sequence: int, entry: AuditEntry, at: datetime) -> str:
    """The exact bytes the hash covers: sorted keys, no whitespace, UTC timestamp in ISO form."""
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


def chain_hash(previous_hash: str, content: str) -> str:
    return hashlib.sha256((previous_hash + content).encode()).hexdigest()


@dataclass(frozen=True)
class StoredAuditEvent:
    """An event exactly as read back from the database, before anything is trusted: verification must
    judge what is stored, so a field that was tampered into the wrong type or bad JSON is kept as it is."""

    sequence: Any
    actor: Any
    action: Any
    subject: Any
    payload: Any  # the stored JSON text
    outcome: Any
    at: Any
    previous_hash: Any
    hash: Any


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold: which sequence number and why."""

    sequence: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    events: int
    last_sequence: int
    last_hash: str
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


class ChainVerifier:
    """Folds stored events, oldest first, into a verdict; keeps only the previous link, so memory is constant."""

    def __init__(self) -> None:
        self.events = 0
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
            self.last_sequence = expected
            self.last_hash = str(event.hash)

    def finish(self, head: tuple[int, str] | None) -> ChainReport:
        """Compare the end of the chain with the head, so deleting the newest events is caught too."""
        if self.broken is None and head is not None and head != (self.last_sequence, self.last_hash):
            self.broken = ChainBreak(
                self.last_sequence + 1,
                f"the log ends at {self.last_sequence} but the head records sequence {head[0]}: events are missing",
            )
        if self.broken is None and head is None and self.events:
            self.broken = ChainBreak(self.last_sequence, "the audit head is missing")
        return ChainReport(self.events, self.last_sequence, self.last_hash, self.broken)

    def _check(self, event: StoredAuditEvent, expected: int) -> ChainBreak | None:
        if event.sequence != expected:
            return ChainBreak(expected, f"event {expected} is missing (next stored is {event.sequence})")
        if event.previous_hash != self.last_hash:
            return ChainBreak(expected, "previous_hash does not match the hash of the event before it")
        try:
            payload = json.loads(event.payload)
            entry = AuditEntry(event.actor, event.action, event.subject, payload, event.outcome)
            content = canonical_content(expected, entry, event.at)
        except (TypeError, ValueError, AttributeError):
            return ChainBreak(expected, "a stored field no longer decodes")
        if chain_hash(self.last_hash, content) != event.hash:
            return ChainBreak(expected, "the content does not match its hash (the event was altered)")
        return None
