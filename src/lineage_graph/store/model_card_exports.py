"""Model card export jobs in Neo4j: one `ModelCardExportJob` node per job, keyed by (card, name).

A job is recorded once, with its outcome, in the transaction that writes its audit event; the (card, name)
constraint turns a second job of the same name into AlreadyExists. Jobs outlive the card they exported (the
card's record of what was published where)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neo4j import AsyncManagedTransaction
from neo4j.exceptions import ConstraintError

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.errors import AlreadyExists
from lineage_graph.domain.model_card_exports import SORTS, ExportFilter, ExportJob, ExportStatus
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.records import to_datetime

_CREATE = """
CREATE (j:ModelCardExportJob {card: $card, name: $name, card_version: $card_version, output_path: $output_path,
                              status: $status, artifact: $artifact, failure_reason: $failure_reason,
                              created_by: $actor, created_at: $now})
RETURN j {.*} AS j
"""

_GET = "MATCH (j:ModelCardExportJob {card: $card, name: $name}) RETURN j {.*} AS j"

# The sort key is chosen from a fixed list (SORTS); descending reverses the whole ordered list before the page
# is cut, so pages are consistent in both directions.
_LIST = """
MATCH (j:ModelCardExportJob {card: $card})
WHERE ($card_version IS NULL OR j.card_version = $card_version)
  AND ($name_contains IS NULL OR toLower(j.name) CONTAINS toLower($name_contains))
  AND ($status IS NULL OR j.status = $status)
  AND ($after IS NULL OR j.created_at > $after)
  AND ($before IS NULL OR j.created_at < $before)
WITH j ORDER BY CASE $sort WHEN 'name' THEN j.name WHEN 'status' THEN j.status ELSE null END, j.created_at, j.name
WITH collect(j {.*}) AS ordered
WITH CASE WHEN $descending THEN reverse(ordered) ELSE ordered END AS jobs
RETURN jobs[$offset..$offset + $limit] AS page, size(jobs) AS total
"""


def _to_job(p: Mapping[str, Any]) -> ExportJob:
    return ExportJob(
        card=p["card"],
        name=p["name"],
        card_version=int(p["card_version"]),
        output_path=p["output_path"],
        status=ExportStatus(p["status"]),
        artifact=p.get("artifact"),
        failure_reason=p.get("failure_reason"),
        created_by=p.get("created_by"),
        created_at=to_datetime(p["created_at"]),
    )


class ModelCardExportStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def record(self, job: ExportJob) -> ExportJob:
        """Record a finished job with its audit event; AlreadyExists when the card has a job of that name."""

        async def work(tx: AsyncManagedTransaction) -> ExportJob:
            if await fetch_one(tx, _GET, card=job.card, name=job.name) is not None:
                raise AlreadyExists("model card export job", f"{job.card}/{job.name}", "ModelCardExportJobName")
            row = await fetch_one(
                tx,
                _CREATE,
                card=job.card,
                name=job.name,
                card_version=job.card_version,
                output_path=job.output_path,
                status=job.status.value,
                artifact=job.artifact,
                failure_reason=job.failure_reason,
                actor=job.created_by,
                now=job.created_at,
            )
            assert row is not None
            await append_audit_event(
                tx,
                AuditEntry(
                    job.created_by or "",
                    "model_card.exported",
                    f"ModelCard:{job.card}",
                    {
                        "job": job.name,
                        "card_version": job.card_version,
                        "status": job.status.value,
                        "artifact": job.artifact,
                        "failure_reason": job.failure_reason,
                    },
                ),
            )
            return _to_job(row["j"])

        try:
            return await self._graph.write(work)
        except ConstraintError:
            raise AlreadyExists("model card export job", f"{job.card}/{job.name}", "ModelCardExportJobName") from None

    async def exists(self, card: str, name: str) -> bool:
        return bool(await self._graph.rows(_GET, card=card, name=name))

    async def get(self, card: str, name: str) -> ExportJob | None:
        rows = await self._graph.rows(_GET, card=card, name=name)
        return _to_job(rows[0]["j"]) if rows else None

    async def list_jobs(
        self, flt: ExportFilter, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[ExportJob], int]:
        rows = await self._graph.rows(
            _LIST,
            card=flt.card,
            card_version=flt.card_version,
            name_contains=flt.name_contains,
            status=flt.status.value if flt.status else None,
            after=flt.created_after,
            before=flt.created_before,
            sort=SORTS[sort],
            descending=descending,
            offset=offset,
            limit=limit,
        )
        return [_to_job(j) for j in rows[0]["page"]], int(rows[0]["total"])
