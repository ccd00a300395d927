"""Retention in Neo4j: the live versions of a group as retention sees them, and archiving a batch of them.

The batch statement re-checks "not deployed, not aliased" under the write, so a deployment or alias added
between planning and archiving keeps its version live; each archived version gets its own audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.models import ApprovalStatus
from lineage_graph.domain.retention import ArchivePlan, RetentionCandidate
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.records import to_datetime

_CANDIDATES = """
MATCH (v:ModelVersion {group: $group})
WHERE NOT coalesce(v.archived, false)
WITH v ORDER BY v.version
RETURN collect({
  version: v.version, stage: v.stage, created_at: v.created_at, approval_status: v.approval_status,
  aliases: COLLECT { MATCH (a:Alias)-[:POINTS_TO]->(v) RETURN a.name },
  deployed: EXISTS { MATCH (:Deployment {status: 'ACTIVE'})-[:SERVES]->(v) }
}) AS candidates
"""

_GROUPS_WITH_RULES = """
MATCH (g:ModelGroup) WHERE g.retention IS NOT NULL
WITH g ORDER BY g.name
RETURN collect(g.name) AS groups
"""

_ARCHIVE = """
UNWIND $versions AS number
MATCH (v:ModelVersion {group: $group, version: number})
WHERE NOT coalesce(v.archived, false)
  AND NOT EXISTS { MATCH (:Deployment {status: 'ACTIVE'})-[:SERVES]->(v) }
  AND NOT EXISTS { MATCH (:Alias)-[:POINTS_TO]->(v) }
SET v.archived = true, v.updated_at = $now
RETURN collect(v.version) AS archived
"""


class RetentionStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def candidates(self, group: str, initial_stage: str) -> list[RetentionCandidate]:
        """Every live version of `group`, oldest first (one row: the list collected in the database)."""
        rows = await self._graph.rows(_CANDIDATES, group=group)
        return [
            RetentionCandidate(
                group=group,
                version=int(c["version"]),
                stage=c["stage"] or initial_stage,
                created_at=to_datetime(c["created_at"]),
                approval_status=ApprovalStatus(c["approval_status"] or "PENDING_MANUAL_APPROVAL"),
                aliases=tuple(c["aliases"]),
                deployed=bool(c["deployed"]),
            )
            for c in rows[0]["candidates"]
        ]

    async def groups_with_rules(self) -> list[str]:
        rows = await self._graph.rows(_GROUPS_WITH_RULES)
        return list(rows[0]["groups"])

    async def archive(self, group: str, batch: Sequence[ArchivePlan], actor: str) -> list[int]:
        """Archive one batch in one transaction; returns the versions archived (a version deployed or aliased
        meanwhile is left live)."""
        reasons = {p.version: p.reasons for p in batch}

        async def work(tx: AsyncManagedTransaction) -> list[int]:
            row = await fetch_one(tx, _ARCHIVE, group=group, versions=list(reasons), now=datetime.now(UTC))
            archived = sorted(int(v) for v in (row["archived"] if row else []))
            for version in archived:
                await append_audit_event(
                    tx,
                    AuditEntry(
                        actor,
                        "model_version.archive",
                        f"ModelVersion:{group}/{version}",
                        {"by": "retention", "reasons": list(reasons[version])},
                    ),
                )
            return archived

        return await self._graph.write(work)
