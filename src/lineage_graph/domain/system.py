"""What the server knows about itself and the database behind it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatabaseInfo:
    name: str
    version: str
    edition: str
    node_count: int
    relationship_count: int
