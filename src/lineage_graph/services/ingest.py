"""OpenLineage ingestion: a batch of validated events becomes one transaction of graph merges and one audit event.

The store locks the nodes a batch touches and hands their current state to `plan`, a pure function; because
the rules in `domain.openlineage` depend on event times only, replays, out-of-order and concurrent deliveries
converge on the same graph.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.models import RunStatus
from lineage_graph.domain.openlineage import (
    UNVERSIONED,
    DatasetEvent,
    DatasetKey,
    DatasetState,
    FacetState,
    GraphChanges,
    GraphState,
    JobEvent,
    JobKey,
    LineageDataset,
    LineageEvent,
    RunEvent,
    RunLink,
    RunState,
    StateKeys,
    VersionKey,
)
from lineage_graph.services.authorization import require
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.openlineage import OpenLineageStore

AUDIT_ACTION = "openlineage.ingest"


@dataclass(frozen=True)
class IngestResult:
    events: int
    runs: int
    jobs: int
    datasets: int


class IngestService:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._store = OpenLineageStore(graph)

    async def ingest_request(
        self, principal: Principal, read: Callable[[], Awaitable[Sequence[LineageEvent]]]
    ) -> IngestResult:
        """Authorize the caller, then `read()` the events (the request body is read and parsed only for a
        caller who may ingest), then ingest them."""
        require(principal, Role.CONTRIBUTOR)
        return await self.ingest(principal, await read())

    async def ingest(self, principal: Principal, events: Sequence[LineageEvent]) -> IngestResult:
        """Merge `events` into the graph in one transaction, with one audit event naming the caller."""
        require(principal, Role.CONTRIBUTOR)
        ordered = sorted(events, key=lambda event: event.event_time)
        keys = keys_of(ordered)
        audit = AuditEntry(
            actor=principal.name,
            action=AUDIT_ACTION,
            subject=f"Run:{keys.runs[0]}" if len(keys.runs) == 1 else None,
            payload={
                "events": len(ordered),
                "runs": list(keys.runs),
                "jobs": [f"{ns}/{name}" for ns, name in keys.jobs],
                "datasets": len(keys.datasets),
            },
        )
        await self._store.ingest(keys, lambda state: plan(ordered, state), audit, partial(completions, principal.name))
        return IngestResult(len(ordered), len(keys.runs), len(keys.jobs), len(keys.datasets))


def completions(actor: str, current: GraphState, changes: GraphChanges) -> list[AuditEntry]:
    """A `run.complete` event for each run this batch moved to COMPLETED (a replay moves nothing)."""
    return [
        AuditEntry(
            actor,
            "run.complete",
            f"Run:{run_id}",
            {
                "job": "/".join(changes.run_jobs[run_id]) if run_id in changes.run_jobs else None,
                "ended_at": run.ended_at.isoformat() if run.ended_at else None,
            },
        )
        for run_id, run in sorted(changes.state.runs.items())
        if run.status is RunStatus.COMPLETED
        and (run_id not in current.runs or current.runs[run_id].status is not RunStatus.COMPLETED)
    ]


def keys_of(events: Sequence[LineageEvent]) -> StateKeys:
    jobs: set[JobKey] = set()
    runs: set[str] = set()
    datasets: set[DatasetKey] = set()
    versions: set[VersionKey] = set()
    for event in events:
        if isinstance(event, DatasetEvent):
            datasets.add((event.dataset.namespace, event.dataset.name))
            continue
        jobs.add((event.job_namespace, event.job_name))
        for dataset in (*event.inputs, *event.outputs):
            datasets.add((dataset.namespace, dataset.name))
        if isinstance(event, RunEvent):
            runs.add(event.run_id)
            for dataset in event.inputs:
                if dataset.version_facet is not None:
                    versions.add((dataset.namespace, dataset.name, dataset.version_facet))
            for dataset in event.outputs:
                versions.add((dataset.namespace, dataset.name, _output_version(dataset, event.run_id)))
    return StateKeys(tuple(sorted(jobs)), tuple(sorted(runs)), tuple(sorted(datasets)), tuple(sorted(versions)))


def plan(events: Sequence[LineageEvent], current: GraphState) -> GraphChanges:
    """Fold `events` (in event-time order) onto `current`; pure, so the store may run it again on a retry."""
    state = copy.deepcopy(current)
    changes = GraphChanges(state=state)
    for event in events:
        if isinstance(event, DatasetEvent):
            _dataset_state(state, event.dataset).facets.merge(event.dataset.facets, event.event_time)
            continue
        job = state.jobs.setdefault((event.job_namespace, event.job_name), FacetState())
        job.merge(event.job_facets, event.event_time)
        if isinstance(event, JobEvent):
            for dataset in (*event.inputs, *event.outputs):
                _dataset_state(state, dataset).facets.merge(dataset.facets, event.event_time)
            continue
        _plan_run_event(event, state, changes)
    return changes


def _plan_run_event(event: RunEvent, state: GraphState, changes: GraphChanges) -> None:
    at = event.event_time
    run = state.runs.setdefault(event.run_id, RunState())
    run.apply(event.event_type, at)
    run.facets.merge(event.run_facets, at)
    changes.run_jobs[event.run_id] = (event.job_namespace, event.job_name)
    parent = event.parent
    if parent is not None and parent.run_id != event.run_id:
        changes.parents[event.run_id] = parent
    for dataset in event.inputs:
        dataset_state = _dataset_state(state, dataset)
        dataset_state.facets.merge(dataset.facets, at)
        version = dataset.version_facet
        if version is None:
            # A reader that names no version read the latest one produced, or the dataset as it came.
            version = dataset_state.current_version or UNVERSIONED
            changes.linked_versions.add((dataset.namespace, dataset.name, version))
        else:
            _version_state(state, dataset, version).merge({**dataset.facets, **dataset.io_facets}, at)
        changes.inputs.add(RunLink(event.run_id, (dataset.namespace, dataset.name, version)))
    for dataset in event.outputs:
        dataset_state = _dataset_state(state, dataset)
        dataset_state.facets.merge(dataset.facets, at)
        version = _output_version(dataset, event.run_id)
        dataset_state.produced(version, at)
        _version_state(state, dataset, version).merge({**dataset.facets, **dataset.io_facets}, at)
        changes.outputs.add(RunLink(event.run_id, (dataset.namespace, dataset.name, version)))
    # A version both linked and written in this batch is written (with its facets), which also creates it.
    changes.linked_versions -= set(state.versions)


def _output_version(dataset: LineageDataset, run_id: str) -> str:
    # Without a version facet each producing run makes one version, named after the run.
    return dataset.version_facet or run_id


def _dataset_state(state: GraphState, dataset: LineageDataset) -> DatasetState:
    return state.datasets.setdefault((dataset.namespace, dataset.name), DatasetState())


def _version_state(state: GraphState, dataset: LineageDataset, version: str) -> FacetState:
    return state.versions.setdefault((dataset.namespace, dataset.name, version), FacetState())
