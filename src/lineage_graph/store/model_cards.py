"""Model cards in Neo4j: one `ModelCard` node per card version, `(card)-[:DESCRIBES]->(model version)`.

The newest version carries `current: true`. Updating locks that node before writing the next version, so
concurrent updates of one card get versions n+1 and n+2, never two n+1's (the (name, card_version)
constraint backs that up); creating twice under one name hits the same constraint.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction
from neo4j.exceptions import ConstraintError

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.errors import AlreadyExists, NotFound
from lineage_graph.domain.model_cards import CardNarrative, CardStatus, ModelCard
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.lifecycle import open_incidents_upstream
from lineage_graph.store.records import to_datetime

_CREATE = """
MATCH (v:ModelVersion {group: $group, version: $version})
WHERE NOT EXISTS { MATCH (:ModelCard {name: $name}) }
CREATE (c:ModelCard {name: $name, card_version: 1, group: $group, version: $version, status: $status,
                     narrative: $narrative, created_by: $actor, created_at: $now, first_created_at: $now,
                     current: true})
CREATE (c)-[:DESCRIBES]->(v)
RETURN c {.*} AS c
"""

_CARD_EXISTS = "MATCH (c:ModelCard {name: $name}) RETURN count(c) > 0 AS exists"

_LOCK_CURRENT = """
MATCH (c:ModelCard {name: $name, current: true})
SET c._lock = true
RETURN c {.*} AS c
"""

_NEXT = """
MATCH (old:ModelCard {name: $name, current: true})-[:DESCRIBES]->(v:ModelVersion)
SET old.current = false
REMOVE old._lock
CREATE (c:ModelCard {name: $name, card_version: old.card_version + 1, group: old.group, version: old.version,
                     status: $status, narrative: $narrative, created_by: $actor, created_at: $now,
                     first_created_at: old.first_created_at, current: true})
CREATE (c)-[:DESCRIBES]->(v)
RETURN c {.*} AS c
"""

_GET = """
MATCH (c:ModelCard {name: $name})
WHERE ($card_version IS NULL AND c.current) OR c.card_version = $card_version
RETURN c {.*} AS c
"""

_LIST = """
MATCH (c:ModelCard {current: true})
WHERE ($name_contains IS NULL OR toLower(c.name) CONTAINS toLower($name_contains))
  AND ($group IS NULL OR c.group = $group)
WITH c ORDER BY c.name
WITH collect(c {.*}) AS cards
RETURN cards[$offset..$offset + $limit] AS page, size(cards) AS total
"""

_VERSIONS = """
MATCH (c:ModelCard {name: $name})
WITH c ORDER BY c.card_version
RETURN collect(c {.*}) AS cards
"""

_DELETE = """
MATCH (c:ModelCard {name: $name})
WITH collect(c) AS cards, max(c.card_version) AS latest
FOREACH (c IN cards | DETACH DELETE c)
RETURN latest
"""

_VERSION_ELEMENT = "MATCH (v:ModelVersion {group: $group, version: $version}) RETURN elementId(v) AS element_id"


def _to_card(p: Mapping[str, Any]) -> ModelCard:
    return ModelCard(
        name=p["name"],
        card_version=int(p["card_version"]),
        group=p["group"],
        version=int(p["version"]),
        status=CardStatus(p["status"]),
        narrative=CardNarrative.from_json(p.get("narrative")),
        created_by=p.get("created_by"),
        created_at=to_datetime(p["created_at"]),
        first_created_at=to_datetime(p.get("first_created_at") or p["created_at"]),
    )


def _payload(card: ModelCard) -> dict[str, Any]:
    return {
        "card_version": card.card_version,
        "model_version": f"{card.group}/{card.version}",
        "status": card.status.value,
        "narrative": CardNarrative.to_json(card.narrative),
    }


class ModelCardStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def create(
        self, name: str, group: str, version: int, status: CardStatus, narrative: CardNarrative, actor: str
    ) -> ModelCard:
        """Card version 1 of a new card; AlreadyExists for a taken name, NotFound for a missing version."""

        async def work(tx: AsyncManagedTransaction) -> ModelCard:
            row = await fetch_one(
                tx,
                _CREATE,
                name=name,
                group=group,
                version=version,
                status=status.value,
                narrative=narrative.to_json(),
                actor=actor,
                now=datetime.now(UTC),
            )
            if row is None:
                exists = await fetch_one(tx, _CARD_EXISTS, name=name)
                if exists and exists["exists"]:
                    raise AlreadyExists("model card", name, "name")
                raise NotFound("model version", f"{group}/{version}", "modelVersionId")
            card = _to_card(row["c"])
            await append_audit_event(tx, AuditEntry(actor, "model_card.create", f"ModelCard:{name}", _payload(card)))
            return card

        try:
            return await self._graph.write(work)
        except ConstraintError:
            raise AlreadyExists("model card", name, "name") from None

    async def update(
        self, name: str, actor: str, narrative: CardNarrative | None, status: CardStatus | None
    ) -> ModelCard:
        """The card's next version: the given parts replaced, the others carried over."""

        async def work(tx: AsyncManagedTransaction) -> ModelCard:
            locked = await fetch_one(tx, _LOCK_CURRENT, name=name)
            if locked is None:
                raise NotFound("model card", name, "name")
            current = _to_card(locked["c"])
            row = await fetch_one(
                tx,
                _NEXT,
                name=name,
                status=(status or current.status).value,
                narrative=(narrative or current.narrative).to_json(),
                actor=actor,
                now=datetime.now(UTC),
            )
            assert row is not None
            card = _to_card(row["c"])
            await append_audit_event(tx, AuditEntry(actor, "model_card.update", f"ModelCard:{name}", _payload(card)))
            return card

        return await self._graph.write(work)

    async def get(self, name: str, card_version: int | None = None) -> ModelCard | None:
        rows = await self._graph.rows(_GET, name=name, card_version=card_version)
        return _to_card(rows[0]["c"]) if rows else None

    async def list_cards(
        self, name_contains: str | None, group: str | None, offset: int, limit: int
    ) -> tuple[list[ModelCard], int]:
        rows = await self._graph.rows(_LIST, name_contains=name_contains, group=group, offset=offset, limit=limit)
        return [_to_card(c) for c in rows[0]["page"]], int(rows[0]["total"])

    async def versions(self, name: str) -> list[ModelCard]:
        rows = await self._graph.rows(_VERSIONS, name=name)
        return [_to_card(c) for c in rows[0]["cards"]]

    async def delete(self, name: str, actor: str) -> int:
        """Delete every version of the card (the audit log keeps what each said); returns the last version."""

        async def work(tx: AsyncManagedTransaction) -> int:
            row = await fetch_one(tx, _DELETE, name=name)
            if row is None or row["latest"] is None:
                raise NotFound("model card", name, "name")
            await append_audit_event(
                tx, AuditEntry(actor, "model_card.delete", f"ModelCard:{name}", {"card_version": row["latest"]})
            )
            latest: int = row["latest"]
            return latest

        return await self._graph.write(work)

    async def open_incidents_upstream(self, group: str, version: int) -> tuple[str, ...]:
        """Dataset versions upstream of the model version with an open incident (the shared lineage walk)."""

        async def work(tx: AsyncManagedTransaction) -> tuple[str, ...]:
            row = await fetch_one(tx, _VERSION_ELEMENT, group=group, version=version)
            if row is None:
                return ()
            return await open_incidents_upstream(tx, row["element_id"], group, version)

        return await self._graph.read(work)
