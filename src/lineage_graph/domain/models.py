"""The registry's entities as frozen values. The store builds them from nodes; adapters render them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from lineage_graph.domain.ids import NodeKind, NodeRef

JSONValue = Any  # a JSON-compatible value (dict, list, str, int, float, bool, None)


class ApprovalStatus(Enum):
    """SageMaker's statuses, so imported and exported versions mean the same thing."""

    PENDING_MANUAL_APPROVAL = "PENDING_MANUAL_APPROVAL"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class RunKind(Enum):
    TRAINING = "TRAINING"
    EVALUATION = "EVALUATION"
    PROCESSING = "PROCESSING"
    INFERENCE = "INFERENCE"
    OTHER = "OTHER"


class RunStatus(Enum):
    """As Marquez names them; OpenLineage's START/RUNNING/COMPLETE/ABORT/FAIL/OTHER map onto these."""

    NEW = "NEW"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    ABORTED = "ABORTED"
    FAILED = "FAILED"
    OTHER = "OTHER"


class DeploymentStatus(Enum):
    ACTIVE = "ACTIVE"
    RETIRED = "RETIRED"


@dataclass(frozen=True)
class Metric:
    """One measured value; `step` for curves, `split` for the dataset split it was measured on."""

    name: str
    value: float
    step: int | None = None
    split: str | None = None

    @property
    def key(self) -> tuple[str, int | None, str | None]:
        # Two values with the same key would be an overwrite: the registry refuses that.
        return (self.name, self.step, self.split)


@dataclass(frozen=True)
class ModelGroup:
    name: str
    description: str | None
    owner: str | None
    tags: tuple[str, ...]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version_count: int = 0

    @property
    def ref(self) -> NodeRef:
        return NodeRef.of(NodeKind.MODEL_GROUP, self.name)


@dataclass(frozen=True)
class ModelVersion:
    group: str
    version: int
    artifact_uri: str
    artifact_digest: str | None
    framework: str | None
    framework_version: str | None
    description: str | None
    hyperparameters: Mapping[str, JSONValue]
    metrics: tuple[Metric, ...]
    custom_properties: Mapping[str, str]
    tags: tuple[str, ...]
    approval_status: ApprovalStatus
    archived: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    aliases: tuple[str, ...] = ()
    artifact_size: int | None = None
    artifact_etag: str | None = None
    needs_review: bool = False  # set when an upstream dataset version was flagged after approval
    # The registration as another registry's API received it (a SageMaker CreateModelPackage body), kept
    # verbatim so that API answers with exactly what it was given; None for versions registered here.
    external_spec: Mapping[str, JSONValue] | None = None

    @property
    def ref(self) -> NodeRef:
        return NodeRef.of(NodeKind.MODEL_VERSION, self.group, self.version)


@dataclass(frozen=True)
class Dataset:
    namespace: str
    name: str
    description: str | None
    tags: tuple[str, ...]
    created_at: datetime

    @property
    def ref(self) -> NodeRef:
        return NodeRef.of(NodeKind.DATASET, self.namespace, self.name)


@dataclass(frozen=True)
class DatasetVersion:
    namespace: str
    name: str
    version: str
    uri: str | None
    digest: str | None
    tags: tuple[str, ...]
    created_at: datetime
    facets: Mapping[str, JSONValue] = field(default_factory=dict)

    @property
    def ref(self) -> NodeRef:
        return NodeRef.of(NodeKind.DATASET_VERSION, self.namespace, self.name, self.version)


@dataclass(frozen=True)
class CodeVersion:
    repository: str
    commit: str
    path: str | None
    branch: str | None
    created_at: datetime

    @property
    def ref(self) -> NodeRef:
        return NodeRef.of(NodeKind.CODE_VERSION, self.repository, self.commit)


@dataclass(frozen=True)
class Job:
    namespace: str
    name: str
    description: str | None
    created_at: datetime
    facets: Mapping[str, JSONValue] = field(default_factory=dict)

    @property
    def ref(self) -> NodeRef:
        return NodeRef.of(NodeKind.JOB, self.namespace, self.name)


@dataclass(frozen=True)
class Run:
    run_id: str
    job_namespace: str
    job_name: str
    kind: RunKind
    status: RunStatus
    started_at: datetime | None
    ended_at: datetime | None
    parameters: Mapping[str, str]
    metrics: tuple[Metric, ...]
    created_at: datetime
    facets: Mapping[str, JSONValue] = field(default_factory=dict)

    @property
    def ref(self) -> NodeRef:
        return NodeRef.of(NodeKind.RUN, self.run_id)


@dataclass(frozen=True)
class Deployment:
    deployment_id: str
    endpoint: str
    environment: str
    group: str
    version: int
    traffic_share: float
    status: DeploymentStatus
    deployed_by: str | None
    deployed_at: datetime
    retired_at: datetime | None

    @property
    def ref(self) -> NodeRef:
        return NodeRef.of(NodeKind.DEPLOYMENT, self.deployment_id)

    @property
    def model_version(self) -> NodeRef:
        return NodeRef.of(NodeKind.MODEL_VERSION, self.group, self.version)
