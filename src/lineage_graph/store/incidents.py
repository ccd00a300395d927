"""Clearing a dataset version's incident in Neo4j: its incident tag goes, the record of the incident stays
(with who cleared it and when), and the model versions downstream are returned for re-evaluation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.errors import Conflict, NotFound
from lineage_graph.domain.ids import NodeKind
from lineage_graph.domain.lineage import LINEAGE_EDGES, Direction, WalkLimits
from lineage_graph.domain.models import ModelVersion
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_all, fetch_one
from lineage_graph.store.records import to_model_version
from lineage_graph.store.traversal import Walk, to_lineage_node

_READ = """
MATCH (d:DatasetVersion {namespace: $namespace, name: $name, version: $version})
SET d._lock = true
RETURN elementId(d) AS element_id, d.incident AS incident, d.tags AS tags
"""

_CLEAR = """
MATCH (d:DatasetVersion {namespace: $namespace, name: $name, version: $version})
SET d.incident = $incident, d.tags = [t IN d.tags WHERE t <> $tag]
REMOVE d._lock
"""

_VERSIONS = """
UNWIND $keys AS k
MATCH (v:ModelVersion {group: k.group, version: k.version})
RETURN v {.*} AS v, COLLECT { MATCH (al:Alias)-[:POINTS_TO]->(v) RETURN al.name } AS aliases
"""


class IncidentStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def clear(self, namespace: str, name: str, version: str, comment: str, actor: str) -> list[ModelVersion]:
        """Close the open incident of a dataset version; returns the model versions downstream of it."""
        key = f"{namespace}/{name}@{version}"

        async def work(tx: AsyncManagedTransaction) -> list[ModelVersion]:
            row = await fetch_one(tx, _READ, namespace=namespace, name=name, version=version)
            if row is None:
                raise NotFound("dataset version", key, "id")
            incident = json.loads(row["incident"] or "{}")
            tag = incident.get("tag", "incident")
            if not incident or tag not in (row["tags"] or ()):
                raise Conflict(f"dataset version {key} has no open incident")
            now = datetime.now(UTC)
            cleared = {**incident, "cleared_by": actor, "cleared_at": now.isoformat(), "comment": comment}
            await tx.run(_CLEAR, namespace=namespace, name=name, version=version, incident=json.dumps(cleared), tag=tag)
            seed = {
                row["element_id"]: to_lineage_node(
                    ["DatasetVersion"], {"namespace": namespace, "name": name, "version": version}, 0
                )
            }
            walk = Walk.of(seed, Direction.DOWNSTREAM, LINEAGE_EDGES, WalkLimits())
            await walk.run(tx)
            keys = [
                {"group": n.ref.parts[0], "version": n.ref.parts[1]}
                for n in walk.nodes.values()
                if n.ref.kind is NodeKind.MODEL_VERSION
            ]
            rows = await fetch_all(tx, _VERSIONS, keys=keys) if keys else []
            versions = sorted(
                (to_model_version(r["v"], r["aliases"]) for r in rows), key=lambda v: (v.group, v.version)
            )
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "dataset_version.incident_cleared",
                    f"DatasetVersion:{namespace}/{name}/{version}",
                    {"tag": tag, "comment": comment, "downstream": [str(v.ref) for v in versions]},
                ),
            )
            return versions

        return await self._graph.write(work)

    async def versions(self, keys: list[tuple[str, int]]) -> list[ModelVersion]:
        rows = await self._graph.rows(_VERSIONS, keys=[{"group": g, "version": v} for g, v in keys])
        return sorted((to_model_version(r["v"], r["aliases"]) for r in rows), key=lambda v: (v.group, v.version))
