"""Cypher for OpenLineage ingestion: lock and read the nodes a batch touches, then write the merged result.

One transaction per batch:
1. The `_LOCK_*` statements MERGE every keyed node the batch names (creating the missing ones; the uniqueness
   constraints make concurrent creators meet on one node) and takes its write lock with `SET n._lock`, so
   a concurrent batch touching the same run or dataset waits instead of reading a state about to change.
   Nodes are locked label by label in sorted key order, the same order in every batch, to avoid deadlocks.
2. The caller's pure plan merges the events onto that state, and the `_WRITE_*` statements store it with
   UNWIND batches; then the audit event is appended in the same transaction.
Tags: OpenLineage creates datasets and dataset versions with an empty tag list and never writes tags
afterwards, so the governance tags an approver set (docs/governance.md) survive every later event.
The driver may re-run the whole work function on a transient error; every step is a MERGE or a SET of a
computed value, so a re-run leaves the same graph.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.models import RunStatus
from lineage_graph.domain.openlineage import (
    DatasetState,
    FacetState,
    GraphChanges,
    GraphState,
    RunState,
    StateKeys,
)
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_all

# Each statement is small on purpose: Neo4j plans one large query of many updating subqueries in seconds
# (its eagerness analysis grows fast), and replans it whenever the statistics move; small ones plan in
# milliseconds. Empty batches are skipped, so a single event costs only the statements it needs.
_LOCK_JOBS = """
UNWIND $keys AS key
MERGE (j:Job {namespace: key[0], name: key[1]})
  ON CREATE SET j.created_at = $now
SET j._lock = true
RETURN key, j.facets AS facets, j.facets_at AS facets_at
"""

_LOCK_RUNS = """
UNWIND $keys AS key
MERGE (r:Run {run_id: key})
  ON CREATE SET r.created_at = $now, r.status = 'NEW', r.kind = 'OTHER'
SET r._lock = true
RETURN key, r.facets AS facets, r.facets_at AS facets_at, r.status AS status, r.status_at AS status_at,
       r.started_at AS started_at, r.ended_at AS ended_at
"""

_LOCK_DATASETS = """
UNWIND $keys AS key
MERGE (d:Dataset {namespace: key[0], name: key[1]})
  ON CREATE SET d.created_at = $now, d.tags = [], d.search_tags = ''
SET d._lock = true
RETURN key, d.facets AS facets, d.facets_at AS facets_at, d.current_version AS current_version,
       d.current_version_at AS current_version_at
"""

_LOCK_VERSIONS = """
UNWIND $keys AS key
MERGE (v:DatasetVersion {namespace: key[0], name: key[1], version: key[2]})
  ON CREATE SET v.created_at = $now, v.tags = [], v.search_tags = ''
SET v._lock = true
RETURN key, v.facets AS facets, v.facets_at AS facets_at
"""

_WRITE_JOBS = """
UNWIND $rows AS row
MATCH (j:Job {namespace: row.namespace, name: row.name})
SET j.facets = row.facets, j.facets_at = row.facets_at, j.description = coalesce(row.description, j.description)
REMOVE j._lock
"""

_WRITE_DATASETS = """
UNWIND $rows AS row
MATCH (d:Dataset {namespace: row.namespace, name: row.name})
SET d.facets = row.facets, d.facets_at = row.facets_at, d.current_version = row.current_version,
    d.current_version_at = row.current_version_at, d.description = coalesce(row.description, d.description)
REMOVE d._lock
"""

_WRITE_VERSIONS = """
UNWIND $rows AS row
MATCH (d:Dataset {namespace: row.namespace, name: row.name})
MATCH (v:DatasetVersion {namespace: row.namespace, name: row.name, version: row.version})
SET v.facets = row.facets, v.facets_at = row.facets_at
REMOVE v._lock
MERGE (v)-[:VERSION_OF]->(d)
"""

_LINK_VERSIONS = """
UNWIND $rows AS row
MATCH (d:Dataset {namespace: row.namespace, name: row.name})
MERGE (v:DatasetVersion {namespace: row.namespace, name: row.name, version: row.version})
  ON CREATE SET v.created_at = $now, v.facets = d.facets, v.facets_at = d.facets_at, v.tags = [], v.search_tags = ''
MERGE (v)-[:VERSION_OF]->(d)
"""

_WRITE_RUNS = """
UNWIND $rows AS row
MATCH (r:Run {run_id: row.run_id})
MATCH (j:Job {namespace: row.job_namespace, name: row.job_name})
SET r.status = row.status, r.status_at = row.status_at, r.started_at = row.started_at,
    r.ended_at = row.ended_at, r.facets = row.facets, r.facets_at = row.facets_at,
    r.job_namespace = row.job_namespace, r.job_name = row.job_name
REMOVE r._lock
MERGE (r)-[:INSTANCE_OF]->(j)
"""

_WRITE_PARENTS = """
UNWIND $rows AS row
MERGE (job:Job {namespace: row.job_namespace, name: row.job_name})
  ON CREATE SET job.created_at = $now
MERGE (parent:Run {run_id: row.parent_run_id})
  ON CREATE SET parent.created_at = $now, parent.status = 'NEW', parent.kind = 'OTHER',
                parent.job_namespace = row.job_namespace, parent.job_name = row.job_name
MERGE (parent)-[:INSTANCE_OF]->(job)
WITH parent, row
MATCH (child:Run {run_id: row.run_id})
MERGE (child)-[:CHILD_OF]->(parent)
"""

_WRITE_INPUTS = """
UNWIND $rows AS row
MATCH (v:DatasetVersion {namespace: row.namespace, name: row.name, version: row.version})
MATCH (r:Run {run_id: row.run_id})
MERGE (v)-[:INPUT_TO]->(r)
"""

_WRITE_OUTPUTS = """
UNWIND $rows AS row
MATCH (v:DatasetVersion {namespace: row.namespace, name: row.name, version: row.version})
MATCH (r:Run {run_id: row.run_id})
MERGE (r)-[:OUTPUT]->(v)
"""

# Nodes first (versions need their datasets, runs their jobs), then the edges between them.
_WRITES = (
    ("jobs", _WRITE_JOBS),
    ("datasets", _WRITE_DATASETS),
    ("versions", _WRITE_VERSIONS),
    ("linked", _LINK_VERSIONS),
    ("runs", _WRITE_RUNS),
    ("parents", _WRITE_PARENTS),
    ("inputs", _WRITE_INPUTS),
    ("outputs", _WRITE_OUTPUTS),
)

INGEST_TIMEOUT = 60.0

Plan = Callable[[GraphState], GraphChanges]
FollowUps = Callable[[GraphState, GraphChanges], Sequence[AuditEntry]]


class OpenLineageStore:
    """Persists OpenLineage batches; decides nothing (the plan does), only locks, reads and writes."""

    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def ingest(
        self, keys: StateKeys, plan: Plan, audit: AuditEntry, follow_ups: FollowUps = lambda current, changes: ()
    ) -> GraphChanges:
        """Lock the nodes named by `keys`, write `plan(current state)`, and append `audit` and the events that
        `follow_ups(current, changes)` names (e.g. runs that completed): all or nothing."""

        async def work(tx: AsyncManagedTransaction) -> GraphChanges:
            now = datetime.now(UTC)
            # Always the same label order, and sorted keys within each, so batches lock in one global order.
            record = {
                "jobs": await _lock(tx, _LOCK_JOBS, [list(key) for key in keys.jobs], now),
                "runs": await _lock(tx, _LOCK_RUNS, list(keys.runs), now),
                "datasets": await _lock(tx, _LOCK_DATASETS, [list(key) for key in keys.datasets], now),
                "versions": await _lock(tx, _LOCK_VERSIONS, [list(key) for key in keys.versions], now),
            }
            current = _to_state(record)
            changes = plan(current)
            params = _write_params(changes)
            for name, cypher in _WRITES:
                if params[name]:
                    result = await tx.run(cypher, rows=params[name], now=now)
                    await result.consume()
            await append_audit_event(tx, audit)
            for entry in follow_ups(current, changes):
                await append_audit_event(tx, entry)
            return changes

        # Ingestion is a batch API, not an interactive one: a batch of up to 1000 events (or the first request on a
        # cold database, which plans every statement) may need more than the interactive budget.
        return await self._graph.write(work, timeout=max(self._graph.query_timeout, INGEST_TIMEOUT))


async def _lock(tx: AsyncManagedTransaction, cypher: str, keys: list[Any], now: datetime) -> list[dict[str, Any]]:
    return await fetch_all(tx, cypher, keys=keys, now=now) if keys else []


def _to_state(record: dict[str, list[dict[str, Any]]]) -> GraphState:
    state = GraphState()
    for row in record["jobs"]:
        state.jobs[(row["key"][0], row["key"][1])] = _to_facets(row)
    for row in record["runs"]:
        state.runs[row["key"]] = RunState(
            status=RunStatus(row["status"] or RunStatus.NEW.value),
            status_at=_native(row["status_at"]),
            started_at=_native(row["started_at"]),
            ended_at=_native(row["ended_at"]),
            facets=_to_facets(row),
        )
    for row in record["datasets"]:
        state.datasets[(row["key"][0], row["key"][1])] = DatasetState(
            facets=_to_facets(row),
            current_version=row["current_version"],
            current_version_at=_native(row["current_version_at"]),
        )
    for row in record["versions"]:
        state.versions[(row["key"][0], row["key"][1], row["key"][2])] = _to_facets(row)
    return state


def _to_facets(row: dict[str, Any]) -> FacetState:
    facets = json.loads(row["facets"]) if row["facets"] else {}
    set_at = json.loads(row["facets_at"]) if row["facets_at"] else {}
    return FacetState(facets=facets, set_at=set_at)


def _native(value: Any) -> datetime | None:
    # Driver temporal types stay in the store: the domain sees plain datetimes.
    if value is None:
        return None
    native: datetime = value.to_native()
    return native


def _write_params(changes: GraphChanges) -> dict[str, Any]:
    state = changes.state
    return {
        "jobs": [
            {"namespace": ns, "name": name, **_facet_props(facets), "description": _description(facets)}
            for (ns, name), facets in state.jobs.items()
        ],
        "datasets": [
            {
                "namespace": ns,
                "name": name,
                **_facet_props(dataset.facets),
                "description": _description(dataset.facets),
                "current_version": dataset.current_version,
                "current_version_at": dataset.current_version_at,
            }
            for (ns, name), dataset in state.datasets.items()
        ],
        "versions": [
            {"namespace": ns, "name": name, "version": version, **_facet_props(facets)}
            for (ns, name, version), facets in state.versions.items()
        ],
        "linked": [
            {"namespace": ns, "name": name, "version": version} for ns, name, version in changes.linked_versions
        ],
        "runs": [
            {
                "run_id": run_id,
                "job_namespace": changes.run_jobs[run_id][0],
                "job_name": changes.run_jobs[run_id][1],
                "status": run.status.value,
                "status_at": run.status_at,
                "started_at": run.started_at,
                "ended_at": run.ended_at,
                **_facet_props(run.facets),
            }
            for run_id, run in state.runs.items()
        ],
        "parents": [
            {
                "run_id": run_id,
                "parent_run_id": parent.run_id,
                "job_namespace": parent.job_namespace,
                "job_name": parent.job_name,
            }
            for run_id, parent in changes.parents.items()
        ],
        "inputs": [_link(link.run_id, link.key) for link in changes.inputs],
        "outputs": [_link(link.run_id, link.key) for link in changes.outputs],
    }


def _facet_props(state: FacetState) -> dict[str, str]:
    return {
        "facets": json.dumps(state.facets, sort_keys=True, separators=(",", ":")),
        "facets_at": json.dumps(state.set_at, sort_keys=True, separators=(",", ":")),
    }


def _description(state: FacetState) -> str | None:
    documentation = state.facets.get("documentation")
    if isinstance(documentation, dict) and isinstance(documentation.get("description"), str):
        return str(documentation["description"])
    return None


def _link(run_id: str, key: tuple[str, ...]) -> dict[str, str]:
    return {"run_id": run_id, "namespace": key[0], "name": key[1], "version": key[2]}
