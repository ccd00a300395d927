"""OpenLineage events as the domain sees them, and the pure rules that fold them into graph state.

Events may arrive twice, out of order, or concurrently, so every rule here is a merge that depends only on
the event times, never on arrival order: folding the same events in any order gives the same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from lineage_graph.domain.models import RunStatus

# The version of an input dataset that no event has versioned or produced yet (e.g. a source table).
UNVERSIONED = "unversioned"

Facets = Mapping[str, Any]


class EventType(Enum):
    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"


# OTHER carries extra metadata and never changes the status (except naming it for a run seen only so).
_STATUS_OF = {
    EventType.START: RunStatus.RUNNING,
    EventType.RUNNING: RunStatus.RUNNING,
    EventType.COMPLETE: RunStatus.COMPLETED,
    EventType.ABORT: RunStatus.ABORTED,
    EventType.FAIL: RunStatus.FAILED,
}
TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.ABORTED, RunStatus.FAILED})


@dataclass(frozen=True)
class LineageDataset:
    namespace: str
    name: str
    facets: Facets = field(default_factory=dict)
    # inputFacets or outputFacets: about this run's use of the dataset, kept on the version it used.
    io_facets: Facets = field(default_factory=dict)

    @property
    def version_facet(self) -> str | None:
        version = self.facets.get("version")
        if isinstance(version, Mapping) and isinstance(version.get("datasetVersion"), str):
            return str(version["datasetVersion"])
        return None


@dataclass(frozen=True)
class ParentRun:
    run_id: str
    job_namespace: str
    job_name: str


@dataclass(frozen=True)
class RunEvent:
    event_type: EventType
    event_time: datetime
    run_id: str
    job_namespace: str
    job_name: str
    run_facets: Facets = field(default_factory=dict)
    job_facets: Facets = field(default_factory=dict)
    inputs: tuple[LineageDataset, ...] = ()
    outputs: tuple[LineageDataset, ...] = ()

    @property
    def parent(self) -> ParentRun | None:
        facet = self.run_facets.get("parent")
        if not isinstance(facet, Mapping):
            return None
        run, job = facet.get("run"), facet.get("job")
        if not (isinstance(run, Mapping) and isinstance(job, Mapping)):
            return None
        return ParentRun(str(run.get("runId")), str(job.get("namespace")), str(job.get("name")))


@dataclass(frozen=True)
class JobEvent:
    """Static job metadata (no run): the job and the datasets it reads and writes."""

    event_time: datetime
    job_namespace: str
    job_name: str
    job_facets: Facets = field(default_factory=dict)
    inputs: tuple[LineageDataset, ...] = ()
    outputs: tuple[LineageDataset, ...] = ()


@dataclass(frozen=True)
class DatasetEvent:
    """Static dataset metadata (no run, no job)."""

    event_time: datetime
    dataset: LineageDataset


LineageEvent = RunEvent | JobEvent | DatasetEvent


@dataclass
class FacetState:
    """A node's facets, with the event time each facet was last set at, so the latest event wins per key."""

    facets: dict[str, Any] = field(default_factory=dict)
    set_at: dict[str, str] = field(default_factory=dict)

    def merge(self, facets: Facets, at: datetime) -> None:
        # Same zone (UTC) and precision everywhere, so the strings compare as the times do.
        stamp = at.astimezone(UTC).isoformat(timespec="microseconds")
        for key, value in facets.items():
            if isinstance(value, Mapping) and value.get("_deleted") is True:
                if self.set_at.get(key, "") <= stamp:
                    self.facets.pop(key, None)
                    self.set_at[key] = stamp
                continue
            if key not in self.set_at or self.set_at[key] <= stamp:
                self.facets[key] = value
                self.set_at[key] = stamp


@dataclass
class RunState:
    """What the graph knows of one run; `apply` moves it as one event says, whatever order events come in."""

    status: RunStatus = RunStatus.NEW
    status_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    facets: FacetState = field(default_factory=FacetState)

    def apply(self, event_type: EventType, at: datetime) -> None:
        status = _STATUS_OF.get(event_type)
        if event_type is EventType.START:
            self.started_at = at if self.started_at is None else min(self.started_at, at)
        if status in TERMINAL:
            # The terminal event with the latest time ends the run; a replay of an earlier one changes nothing.
            self.ended_at = at if self.ended_at is None else max(self.ended_at, at)
        if status is None:
            if self.status is RunStatus.NEW:
                self.status, self.status_at = RunStatus.OTHER, at
            elif self.status is RunStatus.OTHER and self.status_at is not None:
                self.status_at = min(self.status_at, at)  # the earliest, so the order of OTHERs does not matter
            return
        if self._wins(status, at):
            self.status, self.status_at = status, at

    def _wins(self, status: RunStatus, at: datetime) -> bool:
        current_terminal = self.status in TERMINAL
        if status in TERMINAL:
            return not current_terminal or self.status_at is None or at >= self.status_at
        # A run that has ended never goes back to RUNNING, whatever time a late START carries.
        if current_terminal:
            return False
        return self.status_at is None or at >= self.status_at or self.status is RunStatus.OTHER


@dataclass
class DatasetState:
    facets: FacetState = field(default_factory=FacetState)
    # The version most recently produced (by event time): what a reader that names no version read.
    current_version: str | None = None
    current_version_at: datetime | None = None

    def produced(self, version: str, at: datetime) -> None:
        if self.current_version_at is None or at >= self.current_version_at:
            self.current_version, self.current_version_at = version, at


def status_of(event_type: EventType) -> RunStatus | None:
    return _STATUS_OF.get(event_type)


JobKey = tuple[str, str]  # (namespace, name)
DatasetKey = tuple[str, str]  # (namespace, name)
VersionKey = tuple[str, str, str]  # (namespace, name, version)


@dataclass(frozen=True)
class StateKeys:
    """The nodes a batch merges into, so the store can lock and read exactly those (sorted, to avoid deadlocks)."""

    jobs: tuple[JobKey, ...]
    runs: tuple[str, ...]
    datasets: tuple[DatasetKey, ...]
    versions: tuple[VersionKey, ...]


@dataclass
class GraphState:
    """The current state of the nodes a batch touches; missing keys are nodes that do not exist yet."""

    jobs: dict[JobKey, FacetState] = field(default_factory=dict)
    runs: dict[str, RunState] = field(default_factory=dict)
    datasets: dict[DatasetKey, DatasetState] = field(default_factory=dict)
    versions: dict[VersionKey, FacetState] = field(default_factory=dict)


@dataclass(frozen=True)
class RunLink:
    """An edge between a run and something keyed by strings: a job, a parent run, a dataset version."""

    run_id: str
    key: tuple[str, ...]


@dataclass
class GraphChanges:
    """Everything one batch writes: the merged nodes and the edges (each edge MERGEd, so replays are no-ops)."""

    state: GraphState
    run_jobs: dict[str, JobKey] = field(default_factory=dict)
    parents: dict[str, ParentRun] = field(default_factory=dict)
    # Input versions resolved to an existing dataset's current version are linked, never rewritten.
    linked_versions: set[VersionKey] = field(default_factory=set)
    inputs: set[RunLink] = field(default_factory=set)
    outputs: set[RunLink] = field(default_factory=set)
