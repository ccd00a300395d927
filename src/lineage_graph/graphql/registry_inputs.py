"""Input types of the registry's mutations and filters, and their translation into domain commands."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from lineage_graph.domain import commands
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.ids import NodeRef
from lineage_graph.domain.models import Metric
from lineage_graph.graphql.registry_types import ApprovalStatus, DeploymentStatus, RunKind, RunStatus
from lineage_graph.graphql.registry_types import SortDirection as SortDirection  # importable from here too


@strawberry.input
class MetricInput:
    name: str
    value: float
    step: int | None = None
    split: str | None = strawberry.field(default=None, description="e.g. train, validation, test")

    def to_domain(self) -> Metric:
        return Metric(self.name, self.value, self.step, self.split)


@strawberry.input(description="A dataset version by natural key; created when it does not exist yet.")
class DatasetVersionKeyInput:
    namespace: str
    name: str
    version: str
    uri: str | None = None
    digest: str | None = None

    def to_domain(self) -> commands.DatasetVersionSpec:
        return commands.DatasetVersionSpec(self.namespace, self.name, self.version, self.uri, self.digest)


@strawberry.input
class CodeVersionInput:
    repository: str
    commit: str
    path: str | None = None
    branch: str | None = None

    def to_domain(self) -> commands.CodeVersionSpec:
        return commands.CodeVersionSpec(self.repository, self.commit, self.path, self.branch)


@strawberry.input(description="The producing run, by its run id (an OpenLineage runId works as is).")
class RunReferenceInput:
    run_id: str


@strawberry.input
class CreateModelGroupInput:
    name: str
    description: str | None = None
    owner: str | None = None
    tags: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="Fields left null keep their value.")
class UpdateModelGroupInput:
    description: str | None = None
    owner: str | None = None
    tags: list[str] | None = None


@strawberry.input
class RegisterModelVersionInput:
    group: str
    artifact_uri: str
    artifact_digest: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    description: str | None = None
    hyperparameters: JSON | None = strawberry.field(default=None, description="A JSON object.")
    metrics: list[MetricInput] = strawberry.field(default_factory=list)
    custom_properties: JSON | None = strawberry.field(default=None, description="A map of string to string.")
    tags: list[str] = strawberry.field(default_factory=list)
    trained_on: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Existing dataset version ids."
    )
    trained_on_datasets: list[DatasetVersionKeyInput] = strawberry.field(
        default_factory=list, description="Dataset versions by namespace/name/version, created if missing."
    )
    produced_by: RunReferenceInput | None = None
    code: CodeVersionInput | None = None
    derived_from: strawberry.ID | None = strawberry.field(
        default=None, description="The model version this one fine-tunes."
    )
    client_token: str | None = strawberry.field(
        default=None, description="Idempotency key: a retry with the same token returns the same version."
    )

    def to_domain(self) -> commands.RegisterModelVersion:
        return commands.RegisterModelVersion(
            group=self.group,
            artifact_uri=self.artifact_uri,
            artifact_digest=self.artifact_digest,
            framework=self.framework,
            framework_version=self.framework_version,
            description=self.description,
            hyperparameters=_object("hyperparameters", self.hyperparameters),
            metrics=tuple(m.to_domain() for m in self.metrics),
            custom_properties=string_map("customProperties", self.custom_properties),
            tags=tuple(self.tags),
            trained_on=tuple(NodeRef.parse(i, f"trainedOn[{n}]") for n, i in enumerate(self.trained_on)),
            trained_on_specs=tuple(d.to_domain() for d in self.trained_on_datasets),
            produced_by=commands.RunSpec(self.produced_by.run_id) if self.produced_by else None,
            code=self.code.to_domain() if self.code else None,
            derived_from=NodeRef.parse(self.derived_from, "derivedFrom") if self.derived_from else None,
            client_token=self.client_token,
        )


@strawberry.input(description="Fields left null keep their value; custom properties are merged.")
class UpdateModelVersionInput:
    description: str | None = None
    tags: list[str] | None = None
    custom_properties: JSON | None = None
    remove_custom_properties: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class RegisterDatasetInput:
    namespace: str
    name: str
    description: str | None = None
    tags: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class RegisterDatasetVersionInput:
    namespace: str
    name: str
    version: str
    uri: str | None = None
    digest: str | None = None
    tags: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class JobInput:
    namespace: str
    name: str


@strawberry.input(description="Upsert of a run by id: replaying the same record changes nothing.")
class RecordRunInput:
    run_id: str
    job: JobInput
    kind: RunKind = RunKind.OTHER
    status: RunStatus = RunStatus.RUNNING
    started_at: datetime | None = None
    ended_at: datetime | None = None
    parameters: JSON | None = None
    metrics: list[MetricInput] = strawberry.field(default_factory=list)
    inputs: list[strawberry.ID] = strawberry.field(default_factory=list)
    input_datasets: list[DatasetVersionKeyInput] = strawberry.field(default_factory=list)
    outputs: list[strawberry.ID] = strawberry.field(default_factory=list)
    output_datasets: list[DatasetVersionKeyInput] = strawberry.field(default_factory=list)
    code: CodeVersionInput | None = None

    def to_domain(self) -> commands.RecordRun:
        return commands.RecordRun(
            run_id=self.run_id,
            job_namespace=self.job.namespace,
            job_name=self.job.name,
            kind=self.kind,
            status=self.status,
            started_at=self.started_at,
            ended_at=self.ended_at,
            parameters=string_map("parameters", self.parameters),
            metrics=tuple(m.to_domain() for m in self.metrics),
            inputs=tuple(NodeRef.parse(i, f"inputs[{n}]") for n, i in enumerate(self.inputs)),
            input_specs=tuple(d.to_domain() for d in self.input_datasets),
            outputs=tuple(NodeRef.parse(i, f"outputs[{n}]") for n, i in enumerate(self.outputs)),
            output_specs=tuple(d.to_domain() for d in self.output_datasets),
            code=self.code.to_domain() if self.code else None,
        )


@strawberry.input
class CreateDeploymentInput:
    endpoint: str
    environment: str
    model_version_id: strawberry.ID
    traffic_share: float = 100.0

    def to_domain(self) -> commands.CreateDeployment:
        return commands.CreateDeployment(
            self.endpoint, self.environment, NodeRef.parse(self.model_version_id, "modelVersionId"), self.traffic_share
        )


@strawberry.input
class ModelGroupFilter:
    name_contains: str | None = None
    owner: str | None = None
    tag: str | None = None


@strawberry.enum
class ModelGroupSortField(Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"


@strawberry.input
class ModelVersionFilter:
    group: str | None = None
    approval_status: ApprovalStatus | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    archived: bool | None = None


@strawberry.enum
class ModelVersionSortField(Enum):
    VERSION = "VERSION"
    CREATED_AT = "CREATED_AT"


@strawberry.input
class DeploymentFilter:
    endpoint: str | None = None
    environment: str | None = None
    status: DeploymentStatus | None = None
    model_version_id: strawberry.ID | None = None


def _object(field: str, value: object) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed.field(field, "must be a JSON object")
    return value


def string_map(field: str, value: object) -> dict[str, str]:
    mapping = _object(field, value)
    bad = [k for k, v in mapping.items() if not isinstance(v, str)]
    if bad:
        raise ValidationFailed.field(f"{field}.{bad[0]}", "values must be strings")
    return {str(k): str(v) for k, v in mapping.items()}
