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
