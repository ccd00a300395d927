"""Upgrading a database that earlier releases wrote (`lineage-graph migrate`; docs/operations.md).

These shapes predate the current model:
- the audit log as one global chain (events with a `sequence` and a hash over the old content, no event id,
  no partition). They are anchored, untouched, as the `legacy` partition and the first positions of the global
  log: their original hashes stay what verification checks (see domain/audit.py, `legacy_content`).
- datasets and dataset versions that OpenLineage created without `tags` / `search_tags`;
- a synchronous full-text index (`registry_search`), which every commit waited for; it is rebuilt;
- model versions with a `name` (`group/version`) and an empty `search_tags`, which put every version into the
  full-text index (a Lucene flush per registration); both are removed, and a search for `group/version` finds
  the version by its key.

Every step is a batch of idempotent writes that only touches what is still in the old shape, so an interrupted
migration is finished by running it again, and a finished one finds nothing to do.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from neo4j import AsyncManagedTransaction
from neo4j.time import DateTime

from lineage_graph.domain.audit import LEGACY_PARTITION, AuditEntry, StoredAuditEvent, group_of, legacy_event_id
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.constraints import rebuild_search_index, search_index_is_synchronous
from lineage_graph.store.graph import Neo4jGraph, fetch_one

_PLAN = """
CALL () { MATCH (e:AuditEvent) WHERE e.partition IS NULL RETURN count(e) AS unanchored }
CALL () { OPTIONAL MATCH (p:AuditPartition {name: $legacy}) RETURN p.sequence AS anchored_head }
CALL () { MATCH (d:Dataset) WHERE d.tags IS NULL OR d.search_tags IS NULL RETURN count(d) AS datasets }
CALL () { MATCH (v:DatasetVersion) WHERE v.tags IS NULL OR v.search_tags IS NULL RETURN count(v) AS versions }
CALL () { MATCH (v:ModelVersion) WHERE v.name IS NOT NULL OR v.search_tags = '' RETURN count(v) AS named }
RETURN unanchored, anchored_head, datasets, versions, named
"""

# The legacy chain, anchored or not: its position is its old global sequence. `$limit` is a validated integer.
_LEGACY_CHAIN = """
MATCH (e:AuditEvent)
WHERE (e.partition IS NULL OR e.partition = $legacy) AND e.sequence > $after
WITH e ORDER BY e.sequence LIMIT $limit
RETURN collect(e {.sequence, .actor, .action, .subject, .payload, .outcome, .at, .previous_hash, .hash,
                  .event_id, .log_hash}) AS events
"""

# Anchoring adds fields and changes none the hash covers; the old chain's hash doubles as its log hash.
_ANCHOR = """
UNWIND $events AS x
MATCH (e:AuditEvent {sequence: x.sequence}) WHERE e.partition IS NULL
SET e.partition = $legacy, e.partition_sequence = e.sequence, e.event_id = x.event_id, e.log_hash = e.hash,
    e.group = x.group
RETURN count(e) AS anchored
"""

_LEGACY_HEAD = """
MERGE (p:AuditPartition {name: $legacy})
  ON CREATE SET p.sequence = $sequence, p.hash = $hash, p.legacy = true
"""

# What OpenLineage wrote earlier: no tag list. `search_tags` is the tags joined by spaces, as writers set it.
_FILL_DATASET_TAGS = """
MATCH (d:Dataset) WHERE d.tags IS NULL OR d.search_tags IS NULL
WITH d LIMIT $limit
WITH d, coalesce(d.tags, []) AS tags
SET d.tags = tags,
    d.search_tags = coalesce(d.search_tags, reduce(s = '', t IN tags | CASE s WHEN '' THEN t ELSE s + ' ' + t END))
RETURN count(d) AS filled
"""
_FILL_VERSION_TAGS = """
MATCH (v:DatasetVersion) WHERE v.tags IS NULL OR v.search_tags IS NULL
WITH v LIMIT $limit
WITH v, coalesce(v.tags, []) AS tags
SET v.tags = tags,
    v.search_tags = coalesce(v.search_tags, reduce(s = '', t IN tags | CASE s WHEN '' THEN t ELSE s + ' ' + t END))
RETURN count(v) AS filled
"""

# A model version's own words only (see store/registration.py): no name, no empty tag words.
_UNNAME_VERSIONS = """
MATCH (v:ModelVersion) WHERE v.name IS NOT NULL OR v.search_tags = ''
WITH v LIMIT $limit
REMOVE v.name
SET v.search_tags = CASE v.search_tags WHEN '' THEN null ELSE v.search_tags END
RETURN count(v) AS unnamed
"""


@dataclass(frozen=True)
class MigrationPlan:
    """What is still in an old shape."""

    unanchored_events: int  # audit events of the pre-partition chain not yet anchored
    legacy_head: int | None  # the legacy partition's head, once anchored
    untagged_datasets: int
    untagged_dataset_versions: int
    synchronous_search_index: bool
    named_model_versions: int  # versions the full-text index holds by their `group/version` name

    @property
    def empty(self) -> bool:
        return not (
            self.unanchored_events
            or self.untagged_datasets
            or self.untagged_dataset_versions
            or self.synchronous_search_index
            or self.named_model_versions
        )


class MigrationStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def plan(self) -> MigrationPlan:
        row = (await self._graph.rows(_PLAN, legacy=LEGACY_PARTITION))[0]
        head = row["anchored_head"]
        return MigrationPlan(
            int(row["unanchored"]),
            None if head is None else int(head),
            int(row["datasets"]),
            int(row["versions"]),
            await search_index_is_synchronous(self._graph),
            int(row["named"]),
        )

    async def rebuild_search_index(self) -> None:
        await rebuild_search_index(self._graph)

    async def legacy_chain(self, batch_size: int = 1000) -> AsyncIterator[StoredAuditEvent]:
        """The pre-partition chain, oldest first, as stored."""
        after = 0
        while True:
            rows = await self._graph.rows(_LEGACY_CHAIN, legacy=LEGACY_PARTITION, after=after, limit=batch_size)
            events = rows[0]["events"] if rows else []
            for e in events:
                yield _to_legacy(e)
            if len(events) < batch_size:
                return
            after = int(events[-1]["sequence"])

    async def anchor(self, events: list[StoredAuditEvent]) -> int:
        """Anchor these legacy events (those not anchored yet) as the legacy partition; returns how many."""
        rows = []
        for event in events:
            payload = _payload(event.payload)
            rows.append(
                {
                    "sequence": event.sequence,
                    "event_id": legacy_event_id(int(event.sequence)),
                    "group": group_of(event.subject if isinstance(event.subject, str) else None, payload),
                }
            )

        async def work(tx: AsyncManagedTransaction) -> int:
            row = await fetch_one(tx, _ANCHOR, events=rows, legacy=LEGACY_PARTITION)
            return int(row["anchored"]) if row else 0

        return await self._graph.write(work)

    async def fill_tags(self, limit: int = 1000) -> int:
        """Give one batch of datasets and dataset versions their empty tag list; returns how many changed."""

        async def work(tx: AsyncManagedTransaction) -> int:
            filled = 0
            for cypher in (_FILL_DATASET_TAGS, _FILL_VERSION_TAGS):
                row = await fetch_one(tx, cypher, limit=limit)
                filled += int(row["filled"]) if row else 0
            return filled

        return await self._graph.write(work)

    async def unname_versions(self, limit: int = 1000) -> int:
        """Take one batch of model versions out of the full-text index's name entries; returns how many."""

        async def work(tx: AsyncManagedTransaction) -> int:
            row = await fetch_one(tx, _UNNAME_VERSIONS, limit=limit)
            return int(row["unnamed"]) if row else 0

        return await self._graph.write(work)

    async def finish(self, legacy_head: tuple[int, str] | None, entry: AuditEntry) -> None:
        """Close the legacy chain with its head (when there is one) and record the migration, together."""

        async def work(tx: AsyncManagedTransaction) -> None:
            if legacy_head is not None:
                sequence, digest = legacy_head
                await (await tx.run(_LEGACY_HEAD, legacy=LEGACY_PARTITION, sequence=sequence, hash=digest)).consume()
            await append_audit_event(tx, entry)

        await self._graph.write(work)


def _payload(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _to_legacy(e: dict[str, Any]) -> StoredAuditEvent:
    at = e["at"]
    return StoredAuditEvent(
        event_id=e.get("event_id"),
        partition=LEGACY_PARTITION,
        partition_sequence=e["sequence"],
        actor=e["actor"],
        action=e["action"],
        subject=e["subject"],
        payload=e["payload"],
        outcome=e["outcome"],
        at=at.to_native() if isinstance(at, DateTime) else at,
        previous_hash=e["previous_hash"],
        hash=e["hash"],
        sequence=e["sequence"],
        log_hash=e.get("log_hash"),
    )
