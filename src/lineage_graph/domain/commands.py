"""What a caller asks the registry to do, independent of the transport it came through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage_graph.domain.ids import NodeRef
from lineage_graph.domain.models import Metric, RunKind, RunStatus


@dataclass(frozen=True)
class CreateModelGroup:
    name: str
    description: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdateModelGroup:
    """Only the fields that are not None change."""

    name: str
    description: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DatasetVersionSpec:
    """A dataset version named by its natural key; created on the fly when missing."""

    namespace: str
    name: str
    version: str
    uri: str | None = None
    digest: str | None = None


@dataclass(frozen=True)
class CodeVersionSpec:
    repository: str
    commit: str
    path: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class RunSpec:
    """The run that produced a model: an existing run by id (e.g. an OpenLineage runId reported by a
    pipeline; created as NEW when it has not been reported yet, so order does not matter)."""

    run_id: str


@dataclass(frozen=True)
class RegisterModelVersion:
    group: str
    artifact_uri: str
    artifact_digest: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    description: str | None = None
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    custom_properties: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    trained_on: tuple[NodeRef, ...] = ()  # existing DatasetVersion ids
    trained_on_specs: tuple[DatasetVersionSpec, ...] = ()  # created on the fly when missing
    produced_by: RunSpec | None = None
    code: CodeVersionSpec | None = None
    derived_from: NodeRef | None = None
    client_token: str | None = None
    external_spec: Mapping[str, Any] | None = None  # see ModelVersion.external_spec


@dataclass(frozen=True)
class UpdateModelVersion:
    ref: NodeRef
    description: str | None = None
    tags: tuple[str, ...] | None = None
    custom_properties: Mapping[str, str] | None = None  # merged into the existing map
    remove_custom_properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisterDataset:
    namespace: str
    name: str
    description: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisterDatasetVersion:
    namespace: str
    name: str
    version: str
    uri: str | None = None
    digest: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordRun:
    """An upsert by run id: replaying the same record changes nothing."""

    run_id: str
    job_namespace: str
    job_name: str
    kind: RunKind = RunKind.OTHER
    status: RunStatus = RunStatus.RUNNING
    started_at: datetime | None = None
    ended_at: datetime | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    inputs: tuple[NodeRef, ...] = ()
    input_specs: tuple[DatasetVersionSpec, ...] = ()
    outputs: tuple[NodeRef, ...] = ()
    output_specs: tuple[DatasetVersionSpec, ...] = ()
    code: CodeVersionSpec | None = None


@dataclass(frozen=True)
class CreateDeployment:
    endpoint: str
    environment: str
    model_version: NodeRef
    traffic_share: float = 100.0
