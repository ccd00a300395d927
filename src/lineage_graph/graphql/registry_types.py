"""GraphQL types of the registry. Scalars are copied from domain values; relations resolve through the
request's DataLoaders, so nested selections batch instead of multiplying queries."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from lineage_graph.domain import models
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.queries import (
    DEFAULT_PAGE,
    DeploymentFilter,
    Entity,
    RunFilter,
    VersionFilter,
    VersionPageIncludes,
    page,
)
from lineage_graph.graphql.approval_readiness import ApprovalReadiness, readiness_field
from lineage_graph.graphql.context import Context
from lineage_graph.graphql.lineage import LineageGraph, lineage_field
from lineage_graph.graphql.loaders import prime_version_page
from lineage_graph.graphql.pagination import Connection, connection, decode_cursor, item_fields

if TYPE_CHECKING:
    from lineage_graph.graphql.approvals import ApprovalDecision, ApprovalPolicy
    from lineage_graph.graphql.contracts import RegistrationContract

Info = strawberry.Info[Context, None]

# The domain's enums, registered with Strawberry as they are (registration returns the same class).
strawberry.enum(models.ApprovalStatus, description="SageMaker's model approval statuses.")
strawberry.enum(models.RunKind, description="What a run did.")
strawberry.enum(models.RunStatus, description="Where a run is in its life (OpenLineage event types map here).")
strawberry.enum(models.DeploymentStatus)
ApprovalStatus = models.ApprovalStatus
RunKind = models.RunKind
RunStatus = models.RunStatus
DeploymentStatus = models.DeploymentStatus


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum(description="Kinds of node in the graph, for filters such as `search(types:)`.")
class NodeType(Enum):
    MODEL_GROUP = "ModelGroup"
    MODEL_VERSION = "ModelVersion"
    DATASET = "Dataset"
    DATASET_VERSION = "DatasetVersion"
    CODE_VERSION = "CodeVersion"
    JOB = "Job"
    RUN = "Run"
    DEPLOYMENT = "Deployment"

    @property
    def kind(self) -> NodeKind:
        return NodeKind.from_label(self.value)


@strawberry.interface(description="Anything with a stable global id, resolvable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type(description="A measured value: `step` for curves, `split` for the dataset split it was measured on.")
class Metric:
    name: str
    value: float
    step: int | None
    split: str | None

    @classmethod
    def from_model(cls, m: models.Metric) -> Metric:
        return cls(name=m.name, value=m.value, step=m.step, split=m.split)


@strawberry.type(description="A name (e.g. `champion`) that serving code resolves to one version of its group.")
class ModelAlias:
    name: str
    protected: bool = strawberry.field(description="Only an approver moves it, and only onto an APPROVED version.")
    version: int | None = strawberry.field(
        description="The version it names; null for a protected alias not set yet or naming no APPROVED version."
    )
    group_name: strawberry.Private[str]

    @strawberry.field(description="The version it names, as `modelVersionByAlias` resolves it.")
    async def model_version(self, info: Info) -> ModelVersion | None:
        if self.version is None:
            return None
        found = await info.context.loaders.versions.load((self.group_name, self.version))
        return ModelVersion.from_model(found) if found else None


@strawberry.type(description="A named family of model versions (SageMaker: model package group).")
class ModelGroup(Node):
    name: str
    description: str | None
    owner: str | None
    tags: list[str]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version_count: int = strawberry.field(description="Versions registered so far (numbers are never reused).")

    lineage: LineageGraph = lineage_field()

    @classmethod
    def from_model(cls, g: models.ModelGroup) -> ModelGroup:
        return cls(
            id=strawberry.ID(g.ref.global_id),
            name=g.name,
            description=g.description,
            owner=g.owner,
            tags=list(g.tags),
            created_by=g.created_by,
            created_at=g.created_at,
            updated_at=g.updated_at,
            version_count=g.version_count,
        )

    @strawberry.field(description="The registration contract in force: the columns every version carries.")
    async def registration_contract(
        self, info: Info
    ) -> Annotated[RegistrationContract, strawberry.lazy("lineage_graph.graphql.contracts")] | None:
        from lineage_graph.graphql.contracts import RegistrationContract as Contract

        found = await info.context.loaders.contracts.load(self.name)
        return Contract.from_model(found) if found else None

    @strawberry.field(description="The group's aliases by name, protected ones included even before they are set.")
    async def aliases(self, info: Info) -> list[ModelAlias]:
        found = await info.context.loaders.group_aliases.load(self.name) or ()
        return [ModelAlias(name=a.name, protected=a.protected, version=a.version, group_name=self.name) for a in found]

    @strawberry.field(description="What the group demands before a version may be approved.")
    async def approval_policy(
        self, info: Info
    ) -> Annotated[ApprovalPolicy, strawberry.lazy("lineage_graph.graphql.approvals")] | None:
        from lineage_graph.graphql.approvals import ApprovalPolicy as Policy  # it builds on this module's types

        found = await info.context.loaders.approval_policies.load(self.name)
        return Policy.from_model(found) if found else None

    @strawberry.field(description="The newest non-archived version, optionally with a given approval status.")
    async def latest_version(self, info: Info, approval_status: ApprovalStatus | None = None) -> ModelVersion | None:
        found = await info.context.loaders.latest_versions.load((self.name, approval_status))
        return ModelVersion.from_model(found) if found else None

    @strawberry.field(description="This group's versions, newest first by default; filter by approval status.")
    async def versions(
        self,
        info: Info,
        approval_status: ApprovalStatus | None = None,
        archived: bool | None = None,
        direction: SortDirection = SortDirection.DESC,
        first: int | None = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[ModelVersion]:
        pg = page(first, decode_cursor(after))
        found = await info.context.services.registry.version_page(
            info.context.principal,
            VersionFilter(group=self.name, approval_status=approval_status, archived=archived),
            "VERSION",
            direction is SortDirection.DESC,
            pg,
            VersionPageIncludes(training_data="trainedOn" in item_fields(info)),
        )
        prime_version_page(info.context.loaders, found)
        return connection(found.versions, found.total, pg.offset, ModelVersion.from_model)

    @strawberry.field(description="Deployments of this group's versions, newest first (retired ones included).")
    async def deployments(
        self,
        info: Info,
        status: DeploymentStatus | None = None,
        first: int | None = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[Deployment]:
        pg = page(first, decode_cursor(after))
        found = await info.context.services.discovery.list_deployments(
            info.context.principal, DeploymentFilter(group=self.name, status=status), pg
        )
        return connection(found.items, found.total, pg.offset, Deployment.from_model)


@strawberry.type(description="One registered model: an artifact with its metadata, approval status and lineage.")
class ModelVersion(Node):
    group_name: str
    version: int
    artifact_uri: str
    artifact_digest: str | None
    artifact_size: int | None
    artifact_etag: str | None
    framework: str | None
    framework_version: str | None
    description: str | None
    hyperparameters: JSON
    metrics: list[Metric]
    custom_properties: JSON
    tags: list[str]
    approval_status: ApprovalStatus
    archived: bool
    needs_review: bool = strawberry.field(description="An upstream dataset version was flagged after approval.")
    stage: str | None = strawberry.field(
        description="The lifecycle stage (as SageMaker's ModelLifeCycle.Stage); null: the group's first stage."
    )
    stage_status: str | None
    stage_description: str | None
    contract_version: int | None = strawberry.field(
        description="The registration contract version this version was checked against."
    )
    contract_violations: list[str] = strawberry.field(
        description="Contract violations recorded by an import that chose to flag rather than skip."
    )
    aliases: list[str]
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    lineage: LineageGraph = lineage_field()
    approval_readiness: ApprovalReadiness = readiness_field()

    @classmethod
    def from_model(cls, v: models.ModelVersion) -> ModelVersion:
        return cls(
            id=strawberry.ID(v.ref.global_id),
            group_name=v.group,
            version=v.version,
            artifact_uri=v.artifact_uri,
            artifact_digest=v.artifact_digest,
            artifact_size=v.artifact_size,
            artifact_etag=v.artifact_etag,
            framework=v.framework,
            framework_version=v.framework_version,
            description=v.description,
            hyperparameters=JSON(dict(v.hyperparameters)),
            metrics=[Metric.from_model(m) for m in v.metrics],
            custom_properties=JSON(dict(v.custom_properties)),
            tags=list(v.tags),
            approval_status=v.approval_status,
            archived=v.archived,
            needs_review=v.needs_review,
            stage=v.stage,
            stage_status=v.stage_status,
            stage_description=v.stage_description,
            contract_version=v.contract_version,
            contract_violations=list(v.contract_violations),
            aliases=list(v.aliases),
            created_by=v.created_by,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field
    async def group(self, info: Info) -> ModelGroup:
        found = await info.context.loaders.groups.load(self.group_name)
        assert found is not None  # a version cannot outlive its group
        return ModelGroup.from_model(found)

    @strawberry.field(description="Dataset versions this model was trained on (directly or via its run).")
    async def trained_on(self, info: Info) -> list[DatasetVersion]:
        found = await info.context.loaders.training_data.load((self.group_name, self.version))
        return [DatasetVersion.from_model(d) for d in found or []]

    @strawberry.field(description="The run that produced this model version, if recorded.")
    async def produced_by(self, info: Info) -> Run | None:
        lineage = await info.context.loaders.model_lineage.load((self.group_name, self.version))
        return Run.from_model(lineage.runs[0]) if lineage and lineage.runs else None

    @strawberry.field(description="The code version(s) this model was built from.")
    async def code(self, info: Info) -> list[CodeVersion]:
        lineage = await info.context.loaders.model_lineage.load((self.group_name, self.version))
        return [CodeVersion.from_model(c) for c in lineage.code] if lineage else []

    @strawberry.field(description="The model version this one was fine-tuned from.")
    async def derived_from(self, info: Info) -> ModelVersion | None:
        lineage = await info.context.loaders.model_lineage.load((self.group_name, self.version))
        if not lineage or not lineage.parents:
            return None
        parent = await info.context.loaders.versions.load(lineage.parents[0])
        return ModelVersion.from_model(parent) if parent else None

    @strawberry.field(description="Model versions fine-tuned from this one, by group and version.")
    async def fine_tunes(
        self, info: Info, first: int | None = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[ModelVersion]:
        pg = page(first, decode_cursor(after))
        lineage = await info.context.loaders.model_lineage.load((self.group_name, self.version))
        keys = lineage.children if lineage else []
        children = await info.context.loaders.versions.load_many(keys[pg.offset : pg.offset + pg.limit])
        found = [c for c in children if c]
        return connection(found, len(keys), pg.offset, ModelVersion.from_model)

    @strawberry.field(description="Every approval decision on this version, oldest first, with its evidence.")
    async def approval_history(
        self, info: Info
    ) -> list[Annotated[ApprovalDecision, strawberry.lazy("lineage_graph.graphql.approvals")]]:
        from lineage_graph.graphql.approvals import ApprovalDecision  # it builds on this module's types

        found = await info.context.loaders.decisions_of_version.load((self.group_name, self.version)) or []
        return [ApprovalDecision.from_model(d) for d in found]

    @strawberry.field(description="Deployments of this version, newest first (retired ones included).")
    async def deployments(self, info: Info, active_only: bool = False) -> list[Deployment]:
        found = await info.context.loaders.deployments_of_version.load((self.group_name, self.version)) or []
        return [
            Deployment.from_model(d) for d in found if not active_only or d.status is models.DeploymentStatus.ACTIVE
        ]


@strawberry.type(description="A dataset, identified as OpenLineage does: namespace and name.")
class Dataset(Node):
    namespace: str
    name: str
    description: str | None
    tags: list[str]
    created_at: datetime

    lineage: LineageGraph = lineage_field()

    @classmethod
    def from_model(cls, d: models.Dataset) -> Dataset:
        return cls(
            id=strawberry.ID(d.ref.global_id),
            namespace=d.namespace,
            name=d.name,
            description=d.description,
            tags=list(d.tags),
            created_at=d.created_at,
        )

    @strawberry.field(description="Versions of this dataset, newest first.")
    async def versions(
        self, info: Info, first: int | None = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[DatasetVersion]:
        pg = page(first, decode_cursor(after))
        found = await info.context.loaders.versions_of_dataset.load((self.namespace, self.name, pg.offset, pg.limit))
        if found is None:
            return connection([], 0, pg.offset, DatasetVersion.from_model)
        return connection(found.items, found.total, pg.offset, DatasetVersion.from_model)


@strawberry.type(description="One version of a dataset: its location and content digest where known.")
class DatasetVersion(Node):
    namespace: str
    name: str
    version: str
    uri: str | None
    digest: str | None
    tags: list[str]
    created_at: datetime
    facets: JSON = strawberry.field(description="OpenLineage facets reported for this version (schema, …).")

    lineage: LineageGraph = lineage_field()

    @classmethod
    def from_model(cls, d: models.DatasetVersion) -> DatasetVersion:
        return cls(
            id=strawberry.ID(d.ref.global_id),
            namespace=d.namespace,
            name=d.name,
            version=d.version,
            uri=d.uri,
            digest=d.digest,
            tags=list(d.tags),
            created_at=d.created_at,
            facets=JSON(dict(d.facets)),
        )

    @strawberry.field
    async def dataset(self, info: Info) -> Dataset:
        found = await info.context.loaders.datasets.load((self.namespace, self.name))
        assert found is not None
        return Dataset.from_model(found)


@strawberry.type(description="A commit of a repository.")
class CodeVersion(Node):
    repository: str
    commit: str
    path: str | None
    branch: str | None
    created_at: datetime

    lineage: LineageGraph = lineage_field()

    @classmethod
    def from_model(cls, c: models.CodeVersion) -> CodeVersion:
        return cls(
            id=strawberry.ID(c.ref.global_id),
            repository=c.repository,
            commit=c.commit,
            path=c.path,
            branch=c.branch,
            created_at=c.created_at,
        )


@strawberry.type(description="A pipeline job (OpenLineage job: namespace and name); runs are its executions.")
class Job(Node):
    namespace: str
    name: str
    description: str | None
    created_at: datetime
    facets: JSON

    lineage: LineageGraph = lineage_field()

    @classmethod
    def from_model(cls, j: models.Job) -> Job:
        return cls(
            id=strawberry.ID(j.ref.global_id),
            namespace=j.namespace,
            name=j.name,
            description=j.description,
            created_at=j.created_at,
            facets=JSON(dict(j.facets)),
        )

    @strawberry.field(description="Executions of this job, newest first; filter by status or kind.")
    async def runs(
        self,
        info: Info,
        status: RunStatus | None = None,
        kind: RunKind | None = None,
        first: int | None = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[Run]:
        pg = page(first, decode_cursor(after))
        found = await info.context.services.discovery.list_runs(
            info.context.principal, RunFilter(self.namespace, self.name, status, kind), pg
        )
        return connection(found.items, found.total, pg.offset, Run.from_model)


@strawberry.type(description="One execution: training, evaluation, processing… with what it read and wrote.")
class Run(Node):
    run_id: str
    job_namespace: str
    job_name: str
    kind: RunKind
    status: RunStatus
    started_at: datetime | None
    ended_at: datetime | None
    parameters: JSON
    metrics: list[Metric]
    facets: JSON
    created_at: datetime

    lineage: LineageGraph = lineage_field()

    @classmethod
    def from_model(cls, r: models.Run) -> Run:
        return cls(
            id=strawberry.ID(r.ref.global_id),
            run_id=r.run_id,
            job_namespace=r.job_namespace,
            job_name=r.job_name,
            kind=r.kind,
            status=r.status,
            started_at=r.started_at,
            ended_at=r.ended_at,
            parameters=JSON(dict(r.parameters)),
            metrics=[Metric.from_model(m) for m in r.metrics],
            facets=JSON(dict(r.facets)),
            created_at=r.created_at,
        )

    @strawberry.field
    async def job(self, info: Info) -> Job | None:
        found = await info.context.loaders.jobs.load((self.job_namespace, self.job_name))
        return Job.from_model(found) if found else None

    @strawberry.field(description="Dataset versions the run read.")
    async def inputs(self, info: Info) -> list[DatasetVersion]:
        found = await info.context.loaders.run_neighbours.load(self.run_id)
        return [DatasetVersion.from_model(d) for d in found.inputs] if found else []

    @strawberry.field(description="Dataset versions the run wrote.")
    async def outputs(self, info: Info) -> list[DatasetVersion]:
        found = await info.context.loaders.run_neighbours.load(self.run_id)
        return [DatasetVersion.from_model(d) for d in found.outputs] if found else []

    @strawberry.field(description="Model versions the run produced.")
    async def models(self, info: Info) -> list[ModelVersion]:
        found = await info.context.loaders.run_neighbours.load(self.run_id)
        if not found:
            return []
        versions = await info.context.loaders.versions.load_many(found.models)
        return [ModelVersion.from_model(v) for v in versions if v]

    @strawberry.field(description="The code the run executed.")
    async def code(self, info: Info) -> list[CodeVersion]:
        found = await info.context.loaders.run_neighbours.load(self.run_id)
        return [CodeVersion.from_model(c) for c in found.code] if found else []

    @strawberry.field(description="The parent run (OpenLineage parent run facet).")
    async def parent(self, info: Info) -> Run | None:
        found = await info.context.loaders.run_neighbours.load(self.run_id)
        if not found or not found.parents:
            return None
        parent = await info.context.loaders.runs.load(found.parents[0])
        return Run.from_model(parent) if parent else None


@strawberry.type(description="A model version serving on an endpoint with a share of its traffic.")
class Deployment(Node):
    deployment_id: str
    endpoint: str
    environment: str
    traffic_share: float = strawberry.field(description="Percent of the endpoint's traffic (0-100].")
    status: DeploymentStatus
    deployed_by: str | None
    deployed_at: datetime
    retired_at: datetime | None
    group_name: strawberry.Private[str]
    version: strawberry.Private[int]

    @classmethod
    def from_model(cls, d: models.Deployment) -> Deployment:
        return cls(
            id=strawberry.ID(d.ref.global_id),
            deployment_id=d.deployment_id,
            endpoint=d.endpoint,
            environment=d.environment,
            traffic_share=d.traffic_share,
            status=d.status,
            deployed_by=d.deployed_by,
            deployed_at=d.deployed_at,
            retired_at=d.retired_at,
            group_name=d.group,
            version=d.version,
        )

    @strawberry.field
    async def model_version(self, info: Info) -> ModelVersion:
        found = await info.context.loaders.versions.load((self.group_name, self.version))
        assert found is not None
        return ModelVersion.from_model(found)


async def resolve_node(info: Info, ref: NodeRef) -> Node | None:
    """Fetch any node by its identity through the request's loaders (used by `node(id:)` and search)."""
    loaders = info.context.loaders
    parts = ref.parts
    match ref.kind:
        case NodeKind.MODEL_GROUP:
            group = await loaders.groups.load(str(parts[0]))
            return ModelGroup.from_model(group) if group else None
        case NodeKind.MODEL_VERSION:
            version = await loaders.versions.load((str(parts[0]), int(parts[1])))
            return ModelVersion.from_model(version) if version else None
        case NodeKind.DATASET:
            dataset = await loaders.datasets.load((str(parts[0]), str(parts[1])))
            return Dataset.from_model(dataset) if dataset else None
        case NodeKind.DATASET_VERSION:
            dv = await loaders.dataset_versions.load((str(parts[0]), str(parts[1]), str(parts[2])))
            return DatasetVersion.from_model(dv) if dv else None
        case NodeKind.CODE_VERSION:
            code = await loaders.code_versions.load((str(parts[0]), str(parts[1])))
            return CodeVersion.from_model(code) if code else None
        case NodeKind.JOB:
            job = await loaders.jobs.load((str(parts[0]), str(parts[1])))
            return Job.from_model(job) if job else None
        case NodeKind.RUN:
            run = await loaders.runs.load(str(parts[0]))
            return Run.from_model(run) if run else None
        case NodeKind.DEPLOYMENT:
            deployment = await loaders.deployments.load(str(parts[0]))
            return Deployment.from_model(deployment) if deployment else None
        case NodeKind.APPROVAL_DECISION:
            from lineage_graph.graphql.approvals import ApprovalDecision  # it builds on this module's types

            decision = await loaders.decisions.load(str(parts[0]))
            return ApprovalDecision.from_model(decision) if decision else None
        case NodeKind.AUDIT_EVENT:
            from lineage_graph.graphql.audit import AuditEvent  # it builds on this module's types

            event = await loaders.audit_events.load(str(parts[0]))
            return AuditEvent.from_model(event) if event else None
    return None


def render(entity: Entity) -> Node:
    """The GraphQL object of a domain entity (search hits, `nodes(ids:)`)."""
    match entity:
        case models.ModelGroup():
            return ModelGroup.from_model(entity)
        case models.ModelVersion():
            return ModelVersion.from_model(entity)
        case models.Dataset():
            return Dataset.from_model(entity)
        case models.DatasetVersion():
            return DatasetVersion.from_model(entity)
        case models.CodeVersion():
            return CodeVersion.from_model(entity)
        case models.Job():
            return Job.from_model(entity)
        case models.Run():
            return Run.from_model(entity)
    return Deployment.from_model(entity)
