"""Import a SageMaker model registry with its lineage: groups, packages, training jobs, endpoints.

The source (boto3 in integrations/sagemaker/source.py) hands over plain records; this module decides what
each becomes in our graph and writes it through the services, so the registry's rules and audit hold.

Idempotent: a package is registered with a client token derived from its ARN, so a second import finds the
version the first one created; runs, approvals and deployments are compared before anything is written.
Version numbers: packages are imported in SageMaker version order, so a group imported into an empty group
gets the same numbers; our numbers are gap-free, so a deleted SageMaker version (a gap there) or versions
registered here first shift them. The SageMaker ARN and version number are kept as custom properties
(`sagemaker:arn`, `sagemaker:version`), which is how anything maps back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.commands import (
    CodeVersionSpec,
    CreateDeployment,
    CreateModelGroup,
    DatasetVersionSpec,
    RecordRun,
    RegisterModelVersion,
    RunSpec,
    UpdateModelGroup,
    UpdateModelVersion,
)
from lineage_graph.domain.contracts import ContractMode
from lineage_graph.domain.errors import DomainError, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import DeploymentStatus, Metric, Run, RunKind
from lineage_graph.domain.registry import COMMIT, ENVIRONMENT
from lineage_graph.domain.sagemaker import (
    JOB_NAMESPACE,
    PREFIX,
    PROP_APPROVAL_DESCRIPTION,
    PROP_ARN,
    PROP_IMAGE,
    PROP_VERSION,
    UNVERSIONED,
    approval_from_aws,
    dataset_of_uri,
    metrics_from_reports,
    training_status,
)
from lineage_graph.domain.sagemaker_lifecycle import is_current, stage_change
from lineage_graph.services.authorization import require
from lineage_graph.services.container import Services
from lineage_graph.services.import_summary import ImportSummary, Progress, no_progress
from lineage_graph.services.registry import page
from lineage_graph.store.deployments import DeploymentFilter

IMPORTER = Principal(name="sagemaker-import", role=Role.ADMIN)
DEFAULT_ENVIRONMENT = "sagemaker"
KINDS = ("groups", "versions", "approvals", "stages", "runs", "deployments")


# ---- what the source reads --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceGroup:
    name: str
    description: str | None
    created_at: datetime


@dataclass(frozen=True)
class SourcePackage:
    arn: str
    group: str
    version: int
    created_at: datetime
    approval_status: str
    approval_description: str | None
    description: str | None
    model_data_url: str | None
    image: str | None
    framework: str | None
    framework_version: str | None
    customer_properties: Mapping[str, str]
    metadata: Mapping[str, str]  # MetadataProperties: CommitId, Repository, GeneratedBy, ProjectId
    lifecycle: Mapping[str, str]  # ModelLifeCycle: Stage, StageStatus, StageDescription
    reports: Mapping[str, Any]  # ModelMetrics section ("ModelQuality.Statistics") -> the parsed JSON report
    # The package's CreateModelPackage members as DescribeModelPackage reported them, so our SageMaker API
    # answers with the same document (see domain.sagemaker.package_spec).
    spec: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceTrainingJob:
    arn: str
    name: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    hyperparameters: Mapping[str, str]
    final_metrics: Mapping[str, float]
    input_uris: Sequence[str]
    model_artifact: str | None


@dataclass(frozen=True)
class SourceVariant:
    name: str
    weight: float
    package_arn: str | None
    model_data_url: str | None


@dataclass(frozen=True)
class SourceEndpoint:
    name: str
    environment: str | None  # from an `environment` tag
    variants: Sequence[SourceVariant]


class SageMakerSource(Protocol):
    def groups(self, names: Sequence[str]) -> Iterable[SourceGroup]: ...
    def packages(self, group: str, since: datetime | None) -> Iterable[SourcePackage]: ...
    def training_job(self, name: str) -> SourceTrainingJob | None: ...
    def training_jobs(self, since: datetime | None) -> Iterable[SourceTrainingJob]: ...
    def endpoints(self, since: datetime | None) -> Iterable[SourceEndpoint]: ...


def _token(arn: str) -> str:
    return "sagemaker:" + hashlib.sha256(arn.encode()).hexdigest()[:40]


def _training_job_name(generated_by: str | None) -> str | None:
    if generated_by and ":training-job/" in generated_by:
        return generated_by.rsplit("/", 1)[1]
    return None


class SageMakerImporter:
    def __init__(
        self, services: Services, actor: Principal = IMPORTER, on_contract_violation: ContractMode = ContractMode.REFUSE
    ) -> None:
        self._services = services
        self._actor = actor
        # REFUSE: a package breaking its group's contract is reported and skipped; FLAG: imported, flagged.
        self._contract_mode = on_contract_violation
        self._by_artifact: dict[str, SourceTrainingJob] | None = None
        self._imported: dict[str, NodeRef] = {}  # package ARN and model data URL -> our version

    async def run(
        self,
        source: SageMakerSource,
        groups: Sequence[str] = (),
        since: datetime | None = None,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Import the named groups (all when empty) and every endpoint serving what was imported."""
        require(self._actor, Role.ADMIN)
        summary = ImportSummary(KINDS)
        tick = progress or no_progress
        self._source = source
        self._since = since
        for group in source.groups(groups):
            tick(f"group {group.name}")
            if not await self._group(group, summary):
                continue
            for package in sorted(source.packages(group.name, since), key=lambda p: p.version):
                tick(f"package {package.group}/{package.version}")
                try:
                    await self._package(package, summary)
                except ValidationFailed as exc:
                    if not any(p.code.startswith("CONTRACT_") for p in exc.problems):
                        summary.fail("versions", package.arn, exc)
                        continue
                    summary.count("versions", "skipped")
                    summary.failures.append(f"{package.arn}: skipped, {exc.message}")
                except DomainError as exc:
                    summary.fail("versions", package.arn, exc)
        for endpoint in source.endpoints(since):
            tick(f"endpoint {endpoint.name}")
            await self._endpoint(endpoint, summary)
        return summary

    # ---- groups and packages ------------------------------------------------------------------------------
    async def _group(self, group: SourceGroup, summary: ImportSummary) -> bool:
        registry = self._services.registry
        try:
            existing = await registry.group(self._actor, group.name)
            if existing is None:
                await registry.create_group(self._actor, CreateModelGroup(group.name, group.description))
                summary.count("groups", "created")
            elif group.description and existing.description != group.description:
                await registry.update_group(self._actor, UpdateModelGroup(group.name, description=group.description))
                summary.count("groups", "updated")
            else:
                summary.count("groups", "unchanged")
        except DomainError as exc:
            summary.fail("groups", group.name, exc)
            return False
        return True

    async def _package(self, package: SourcePackage, summary: ImportSummary) -> None:
        artifact = package.model_data_url
        if artifact is None:
            summary.count("versions", "skipped")
            summary.failures.append(f"{package.arn}: no ModelDataUrl; nothing to register")
            return
        job = await self._job_for(package)
        run_id = await self._run(job, summary) if job else None
        token = _token(package.arn)
        sagemaker = self._services.sagemaker
        found = await sagemaker.versions_for_tokens(self._actor, package.group, [token])
        props = self._properties(package)
        if token in found:
            ref = NodeRef.of(NodeKind.MODEL_VERSION, package.group, found[token])
            current = await self._services.registry.version(self._actor, ref)
            ours = current.approval_status
            if dict(current.external_spec or {}) != dict(package.spec):
                await self._services.sagemaker_registry.update_spec(self._actor, ref, lambda _: dict(package.spec))
            if dict(current.custom_properties) != props or (current.description or None) != package.description:
                await self._services.registry.update_version(
                    self._actor,
                    UpdateModelVersion(
                        ref,
                        description=package.description,
                        custom_properties=props,
                        remove_custom_properties=tuple(k for k in current.custom_properties if k not in props),
                    ),
                )
                summary.count("versions", "updated")
            else:
                summary.count("versions", "unchanged")
        else:
            producer = run_id or package.metadata.get("GeneratedBy")
            commit, repository = package.metadata.get("CommitId"), package.metadata.get("Repository")
            code = CodeVersionSpec(repository, commit) if commit and repository and COMMIT.fullmatch(commit) else None
            version = await self._services.registry.register_version(
                self._actor,
                RegisterModelVersion(
                    group=package.group,
                    artifact_uri=artifact,
                    framework=package.framework,
                    framework_version=package.framework_version,
                    description=package.description,
                    metrics=tuple(metrics_from_reports(package.reports)),
                    custom_properties=props,
                    produced_by=RunSpec(producer) if producer else None,
                    code=code,
                    client_token=token,
                    external_spec=dict(package.spec) or None,
                ),
                self._contract_mode,
            )
            ref, ours = version.ref, version.approval_status
            summary.count("versions", "created")
            if version.contract_violations:
                summary.failures.append(f"{package.arn}: imported flagged: {'; '.join(version.contract_violations)}")
        self._imported[package.arn] = ref
        self._imported[artifact] = ref
        status = approval_from_aws(package.approval_status)
        if status is ours:  # the common case costs no write transaction
            summary.count("approvals", "unchanged")
        elif await sagemaker.import_approval(self._actor, ref, status, package.approval_description, package.arn):
            summary.count("approvals", "created")
        else:
            summary.count("approvals", "unchanged")
        if package.lifecycle:
            await self._stage(package, ref, summary)

    async def _stage(self, package: SourcePackage, ref: NodeRef, summary: ImportSummary) -> None:
        """ModelLifeCycle becomes the version's stage (after its approval, which a gate may need)."""
        lifecycle = self._services.lifecycle
        try:
            policy = await lifecycle.policy(self._actor, package.group)
            change = stage_change(package.lifecycle, policy)
            current = await self._services.registry.version(self._actor, ref)
            if is_current(current, change, policy):
                summary.count("stages", "unchanged")
                return
            await lifecycle.import_stage(self._actor, ref, change)
            summary.count("stages", "updated")
        except DomainError as exc:
            summary.fail("stages", package.arn, exc)

    def _properties(self, package: SourcePackage) -> dict[str, str]:
        props = {k: v for k, v in package.customer_properties.items() if not k.startswith(PREFIX)}
        props[PROP_ARN] = package.arn
        props[PROP_VERSION] = str(package.version)
        optional = {
            PROP_IMAGE: package.image,
            PROP_APPROVAL_DESCRIPTION: package.approval_description,
            "sagemaker:project_id": package.metadata.get("ProjectId"),
        }
        commit = package.metadata.get("CommitId")
        if commit and not COMMIT.fullmatch(commit):
            optional["sagemaker:commit_id"] = commit  # not a git hash: kept, but not a code version
        props.update({k: v for k, v in optional.items() if v})
        return props

    # ---- training jobs ---------------------------------------------------------------------------------------
    async def _job_for(self, package: SourcePackage) -> SourceTrainingJob | None:
        name = _training_job_name(package.metadata.get("GeneratedBy"))
        if name is not None:
            return self._source.training_job(name)
        if self._by_artifact is None:
            # No GeneratedBy: find the training job whose output is this artifact (one listing per import).
            self._by_artifact = {j.model_artifact: j for j in self._source.training_jobs(None) if j.model_artifact}
        return self._by_artifact.get(package.model_data_url or "")

    async def _run(self, job: SourceTrainingJob, summary: ImportSummary) -> str | None:
        cmd = RecordRun(
            run_id=job.arn,
            job_namespace=JOB_NAMESPACE,
            job_name=job.name,
            kind=RunKind.TRAINING,
            status=training_status(job.status),
            started_at=job.started_at,
            ended_at=job.ended_at,
            parameters=dict(job.hyperparameters),
            metrics=tuple(Metric(k, v) for k, v in sorted(job.final_metrics.items())),
            input_specs=tuple(
                DatasetVersionSpec(*dataset_of_uri(uri), version=UNVERSIONED, uri=uri) for uri in job.input_uris
            ),
        )
        try:
            existing = await self._services.sagemaker.runs(self._actor, [job.arn])
            before = existing.get(job.arn)
            if before is not None and _same_run(before, cmd):
                summary.count("runs", "unchanged")
                return job.arn
            await self._services.registry.record_run(self._actor, cmd)
            summary.count("runs", "created" if before is None else "updated")
        except DomainError as exc:
            summary.fail("runs", job.arn, exc)
            return None
        return job.arn

    # ---- endpoints -----------------------------------------------------------------------------------------
    async def _endpoint(self, endpoint: SourceEndpoint, summary: ImportSummary) -> None:
        registry = self._services.registry
        environment = (endpoint.environment or DEFAULT_ENVIRONMENT).lower()
        if not ENVIRONMENT.fullmatch(environment):
            environment = DEFAULT_ENVIRONMENT
        total = sum(v.weight for v in endpoint.variants) or 1.0
        wanted: dict[NodeRef, float] = {}
        for variant in endpoint.variants:
            ref = await self._version_of(variant)
            if ref is None:
                summary.count("deployments", "skipped")
                continue
            wanted[ref] = wanted.get(ref, 0.0) + round(variant.weight / total * 100, 4)
        try:
            active, _ = await registry.list_deployments(
                self._actor,
                DeploymentFilter(endpoint=endpoint.name, status=DeploymentStatus.ACTIVE),
                page(100, 0),
            )
            current = {d.model_version: d for d in active}
            # Retire what changed first, so the new shares fit under the endpoint's 100%.
            for ref, deployment in current.items():
                if abs(wanted.get(ref, -1.0) - deployment.traffic_share) > 1e-6:
                    await registry.retire_deployment(self._actor, deployment.deployment_id)
                    if ref not in wanted:
                        summary.count("deployments", "updated")
            for ref, share in wanted.items():
                before = current.get(ref)
                if before is not None and abs(before.traffic_share - share) <= 1e-6:
                    summary.count("deployments", "unchanged")
                    continue
                await registry.create_deployment(self._actor, CreateDeployment(endpoint.name, environment, ref, share))
                summary.count("deployments", "created" if before is None else "updated")
        except DomainError as exc:
            summary.fail("deployments", endpoint.name, exc)

    async def _version_of(self, variant: SourceVariant) -> NodeRef | None:
        if variant.package_arn and variant.package_arn in self._imported:
            return self._imported[variant.package_arn]
        if variant.package_arn:
            # Imported by an earlier run (e.g. before this --since): the client token finds it.
            group = variant.package_arn.split(":model-package/", 1)[-1].rsplit("/", 1)[0]
            found = await self._services.sagemaker.versions_for_tokens(
                self._actor, group, [_token(variant.package_arn)]
            )
            if found:
                return NodeRef.of(NodeKind.MODEL_VERSION, group, next(iter(found.values())))
        if variant.model_data_url:
            return self._imported.get(variant.model_data_url)
        return None


def _same_run(run: Run, cmd: RecordRun) -> bool:
    return (
        run.status == cmd.status
        and dict(run.parameters) == dict(cmd.parameters)
        and run.ended_at == cmd.ended_at
        and run.started_at == cmd.started_at
        and {m.key: m.value for m in run.metrics} == {m.key: m.value for m in cmd.metrics}
    )
