"""The registry's use cases: validate, authorize, then one store call that writes everything or nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from lineage_graph.domain.aliases import check_may_move, check_target, normalize_protected
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.commands import (
    CodeVersionSpec,
    CreateDeployment,
    CreateModelGroup,
    DatasetVersionSpec,
    RecordRun,
    RegisterDataset,
    RegisterDatasetVersion,
    RegisterModelVersion,
    UpdateModelGroup,
    UpdateModelVersion,
)
from lineage_graph.domain.contracts import ContractMode
from lineage_graph.domain.errors import NotFound
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import (
    ApprovalStatus,
    CodeVersion,
    Dataset,
    DatasetVersion,
    Deployment,
    Metric,
    ModelGroup,
    ModelVersion,
    Run,
)
from lineage_graph.domain.queries import MAX_PAGE as MAX_PAGE  # importable from here too
from lineage_graph.domain.queries import Page as Page
from lineage_graph.domain.queries import VersionPage, VersionPageIncludes
from lineage_graph.domain.queries import page as page
from lineage_graph.domain.registry import Checker, as_utc, merge_metrics
from lineage_graph.domain.tags import TagChange, TagPolicy
from lineage_graph.services.authorization import require, require_approver
from lineage_graph.store.catalog import TAGGED_KINDS, CatalogStore
from lineage_graph.store.deployments import DeploymentFilter, DeploymentStore
from lineage_graph.store.group_rules import GroupRules
from lineage_graph.store.records import dumps, metrics_to_json, search_words
from lineage_graph.store.registration import RunLineage
from lineage_graph.store.registry import GroupFilter, RegistryStore, VersionFilter

if TYPE_CHECKING:
    from lineage_graph.services.artifacts import ArtifactVerifier
    from lineage_graph.services.registration_rules import RegistrationRules


def _check_dataset_spec(check: Checker, path: str, spec: DatasetVersionSpec) -> None:
    check.text(f"{path}.namespace", spec.namespace, required=True)
    check.text(f"{path}.name", spec.name, required=True)
    check.text(f"{path}.version", spec.version, 256, required=True)
    check.text(f"{path}.uri", spec.uri, 2048)
    check.digest(f"{path}.digest", spec.digest)


def _check_code(check: Checker, path: str, spec: CodeVersionSpec) -> None:
    check.text(f"{path}.repository", spec.repository, required=True)
    check.commit(f"{path}.commit", spec.commit)
    check.text(f"{path}.path", spec.path)
    check.text(f"{path}.branch", spec.branch, 256)


class RegistryService:
    def __init__(
        self,
        registry: RegistryStore,
        catalog: CatalogStore,
        deployments: DeploymentStore,
        production_environments: Sequence[str] = ("production", "prod"),
        artifacts: ArtifactVerifier | None = None,
        tag_policy: TagPolicy | None = None,
        rules: RegistrationRules | None = None,
    ) -> None:
        self.registry = registry
        self.tags = tag_policy or TagPolicy()
        self.rules = rules  # the group's contract, stages and automated promotion
        self.artifacts = artifacts
        self.catalog = catalog
        self.deployments = deployments
        self._production = frozenset(production_environments)

    def check_read(self, actor: Principal) -> None:
        """Reads of the catalog (datasets, runs, code, jobs) need the viewer role."""
        require(actor, Role.VIEWER)

    # ---- model groups --------------------------------------------------------------------------
    async def create_group(self, actor: Principal, cmd: CreateModelGroup) -> ModelGroup:
        require(actor, Role.CONTRIBUTOR)
        check = Checker()
        check.group_name("name", cmd.name)
        check.description("description", cmd.description)
        check.text("owner", cmd.owner, 256)
        check.tags("tags", cmd.tags)
        check.done()
        self.tags.check_input(actor, cmd.name, cmd.tags, "tags")
        return await self.registry.create_group(cmd, actor.name)

    async def update_group(self, actor: Principal, cmd: UpdateModelGroup) -> ModelGroup:
        require(actor, Role.CONTRIBUTOR, cmd.name)
        check = Checker()
        check.description("description", cmd.description)
        check.text("owner", cmd.owner, 256)
        check.tags("tags", cmd.tags)
        check.done()
        self.tags.check_input(actor, cmd.name, cmd.tags, "tags")
        return await self.registry.update_group(cmd, actor.name, lambda current: self.tags.merge(current, cmd.tags))

    async def group(self, actor: Principal, name: str) -> ModelGroup | None:
        require(actor, Role.VIEWER)
        return (await self.registry.groups_by_name([name])).get(name)

    async def list_groups(
        self, actor: Principal, flt: GroupFilter, sort: str, descending: bool, pg: Page
    ) -> tuple[list[ModelGroup], int]:
        require(actor, Role.VIEWER)
        return await self.registry.list_groups(flt, sort, descending, pg.offset, pg.limit)

    # ---- model versions ------------------------------------------------------------------------
    async def register_version(
        self, actor: Principal, cmd: RegisterModelVersion, contract_mode: ContractMode = ContractMode.REFUSE
    ) -> ModelVersion:
        """Register the group's next version with its lineage; a repeated client token returns the version
        that token already created. A registration breaking the group's contract is refused (or, for an
        import that asks for it, recorded with its violations)."""
        require(actor, Role.CONTRIBUTOR, cmd.group)
        check = Checker()
        check.text("group", cmd.group, 63, required=True)
        check.artifact_uri("artifactUri", cmd.artifact_uri)
        check.digest("artifactDigest", cmd.artifact_digest)
        check.text("framework", cmd.framework, 128)
        check.text("frameworkVersion", cmd.framework_version, 64)
        check.description("description", cmd.description)
        check.json_object("hyperparameters", cmd.hyperparameters)
        check.metrics("metrics", cmd.metrics)
        check.string_map("customProperties", cmd.custom_properties)
        check.tags("tags", cmd.tags)
        check.text("clientToken", cmd.client_token, 128)
        check.json_object("externalSpec", cmd.external_spec)
        for i, ref in enumerate(cmd.trained_on):
            if ref.kind is not NodeKind.DATASET_VERSION:
                check.fail(f"trainedOn[{i}]", f"expected a DatasetVersion id, got a {ref.kind.label}")
        for i, spec in enumerate(cmd.trained_on_specs):
            _check_dataset_spec(check, f"trainedOnDatasets[{i}]", spec)
        if cmd.produced_by is not None:
            check.text("producedBy.runId", cmd.produced_by.run_id, 256, required=True)
        if cmd.code is not None:
            _check_code(check, "code", cmd.code)
        if cmd.derived_from is not None and cmd.derived_from.kind is not NodeKind.MODEL_VERSION:
            check.fail("derivedFrom", f"expected a ModelVersion id, got a {cmd.derived_from.kind.label}")
        check.done()
        self.tags.check_input(actor, cmd.group, cmd.tags, "tags")
        props: dict[str, Any] = {
            "artifact_uri": cmd.artifact_uri,
            "artifact_digest": cmd.artifact_digest,
            "framework": cmd.framework,
            "framework_version": cmd.framework_version,
            "description": cmd.description,
            "hyperparameters": dumps(dict(cmd.hyperparameters)),
            "metrics": metrics_to_json(cmd.metrics),
            "custom_properties": dumps(dict(cmd.custom_properties)),
            "tags": list(cmd.tags),
            "search_tags": search_words(NodeKind.MODEL_VERSION, cmd.tags),
            "approval_status": ApprovalStatus.PENDING_MANUAL_APPROVAL.value,
            "archived": False,
            "external_spec": dumps(dict(cmd.external_spec)) if cmd.external_spec is not None else None,
        }
        if self.artifacts is not None:  # S3 verification (a setting): refused before anything is written
            verified = await self.artifacts.verify(cmd.artifact_uri, cmd.artifact_digest)
            if verified is not None:
                props.update(artifact_size=verified.size, artifact_etag=verified.etag, artifact_digest=verified.digest)
        rules = self.rules

        def decide(found: GroupRules, run: RunLineage | None) -> dict[str, Any] | None:
            return {} if rules is None else rules.decide(cmd, contract_mode, found, run)

        registered = await self.registry.register_version(cmd, props, actor.name, decide)
        version = registered.version
        # Automated promotion reads the rules again only when the group has it on.
        promotes = registered.rules is not None and registered.rules.promotion.enabled
        if registered.created and promotes and rules is not None and await rules.after_change([version], "registered"):
            version = await self._reread(version)
        return version

    async def _reread(self, version: ModelVersion) -> ModelVersion:
        key = (version.group, version.version)
        return (await self.registry.versions_by_key([key])).get(key, version)

    async def versions(self, actor: Principal, refs: Sequence[NodeRef]) -> dict[NodeRef, ModelVersion]:
        require(actor, Role.VIEWER)
        found = await self.registry.versions_by_key([(str(r.parts[0]), int(r.parts[1])) for r in refs])
        return {NodeRef.of(NodeKind.MODEL_VERSION, *key): v for key, v in found.items()}

    async def version(self, actor: Principal, ref: NodeRef) -> ModelVersion:
        found = (await self.versions(actor, [ref])).get(ref)
        if found is None:
            raise NotFound("model version", str(ref), "id")
        return found

    async def list_versions(
        self, actor: Principal, flt: VersionFilter, sort: str, descending: bool, pg: Page
    ) -> tuple[list[ModelVersion], int]:
        require(actor, Role.VIEWER)
        return await self.registry.list_versions(flt, sort, descending, pg.offset, pg.limit)

    async def version_page(
        self,
        actor: Principal,
        flt: VersionFilter,
        sort: str,
        descending: bool,
        pg: Page,
        include: VersionPageIncludes,
    ) -> VersionPage:
        """`list_versions` with what the page's reader will ask of each version (its group, its training
        data), read in the same statement; a viewer may read all of it."""
        require(actor, Role.VIEWER)
        return await self.registry.version_page(flt, sort, descending, pg.offset, pg.limit, include)

    async def latest_version(self, actor: Principal, group: str, status: ApprovalStatus | None) -> ModelVersion | None:
        require(actor, Role.VIEWER)
        return await self.registry.latest_version(group, status)

    async def update_version(self, actor: Principal, cmd: UpdateModelVersion) -> ModelVersion:
        ref = cmd.ref.expect(NodeKind.MODEL_VERSION)
        require(actor, Role.CONTRIBUTOR, str(ref.parts[0]))
        check = Checker()
        check.description("description", cmd.description)
        check.tags("tags", cmd.tags)
        check.string_map("customProperties", cmd.custom_properties)
        check.done()
        self.tags.check_input(actor, str(ref.parts[0]), cmd.tags, "tags")
        if self.rules is not None:
            await self.rules.check_tags(str(ref.parts[0]), cmd.tags)

        def merge(current: Mapping[str, str]) -> dict[str, str]:
            merged = {**current, **(cmd.custom_properties or {})}
            for key in cmd.remove_custom_properties:
                merged.pop(key, None)
            inner = Checker()
            inner.string_map("customProperties", merged)
            inner.done()
            return merged

        return await self.registry.update_version(
            cmd, actor.name, merge, lambda current: self.tags.merge(current, cmd.tags)
        )

    async def add_metrics(self, actor: Principal, ref: NodeRef, metrics: Sequence[Metric]) -> ModelVersion:
        """Add metrics (e.g. a later evaluation); an existing value is never overwritten."""
        ref = ref.expect(NodeKind.MODEL_VERSION)
        require(actor, Role.CONTRIBUTOR, str(ref.parts[0]))
        check = Checker()
        check.metrics("metrics", metrics)
        check.done()
        version = await self.registry.add_metrics(
            str(ref.parts[0]), int(ref.parts[1]), actor.name, lambda existing: merge_metrics(existing, metrics)
        )
        if self.rules is not None and await self.rules.after_change([version], "metrics_added"):
            version = await self._reread(version)
        return version

    async def set_archived(self, actor: Principal, ref: NodeRef, archived: bool) -> ModelVersion:
        ref = ref.expect(NodeKind.MODEL_VERSION)
        require(actor, Role.CONTRIBUTOR, str(ref.parts[0]))
        return await self.registry.set_archived(str(ref.parts[0]), int(ref.parts[1]), archived, actor.name)

    # ---- aliases -------------------------------------------------------------------------------
    async def set_alias(self, actor: Principal, group: str, alias: str, ref: NodeRef) -> ModelVersion:
        """Point `alias` at the version `ref` of `group` (moving it if it pointed elsewhere), atomically.
        A protected alias moves only by an approver, and only onto an APPROVED version."""
        require(actor, Role.CONTRIBUTOR, group)
        check = Checker()
        check.alias("alias", alias)
        if ref.kind is not NodeKind.MODEL_VERSION:
            check.fail("modelVersionId", f"expected a ModelVersion id, got a {ref.kind.label}")
        elif ref.parts[0] != group:
            check.fail("modelVersionId", f"version {ref} belongs to group {ref.parts[0]}, not {group}", "WRONG_GROUP")
        check.done()
        if self.rules is not None:
            await self.rules.check_alias(group, alias)
        version = int(ref.parts[1])
        # The role is checked against the protection before any lock; the store checks both again under it.
        protected = await self.registry.protected_aliases(group)
        check_may_move(actor, group, alias, alias in (protected or ()))

        def rule(is_protected: bool, status: ApprovalStatus) -> None:
            check_may_move(actor, group, alias, is_protected)
            check_target(group, alias, version, is_protected, status)

        await self.registry.set_alias(group, alias, version, actor.name, rule)
        return await self.version(actor, ref)

    async def delete_alias(self, actor: Principal, group: str, alias: str) -> int:
        require(actor, Role.CONTRIBUTOR, group)
        protected = await self.registry.protected_aliases(group)
        check_may_move(actor, group, alias, alias in (protected or ()))
        return await self.registry.delete_alias(
            group, alias, actor.name, lambda is_protected: check_may_move(actor, group, alias, is_protected)
        )

    async def version_by_alias(self, actor: Principal, group: str, alias: str) -> ModelVersion | None:
        """The version `alias` names; a protected alias names nothing unless its version is APPROVED."""
        require(actor, Role.VIEWER)
        return await self.registry.version_by_alias(group, alias)

    async def protected_aliases(self, actor: Principal, group: str) -> tuple[str, ...]:
        require(actor, Role.VIEWER)
        found = await self.registry.protected_aliases(group)
        if found is None:
            raise NotFound("model group", group, "group")
        return found

    async def set_protected_aliases(self, actor: Principal, group: str, aliases: Sequence[str]) -> tuple[str, ...]:
        """Replace the group's protected aliases (an admin's policy decision, like the approval policy)."""
        require(actor, Role.ADMIN)
        check = Checker()
        for i, alias in enumerate(aliases):
            check.alias(f"aliases[{i}]", alias)
        check.done()
        return await self.registry.set_protected_aliases(group, normalize_protected(aliases), actor.name)

    # ---- datasets, code, runs ------------------------------------------------------------------
    async def register_dataset(self, actor: Principal, cmd: RegisterDataset) -> Dataset:
        require(actor, Role.CONTRIBUTOR)
        check = Checker()
        check.text("namespace", cmd.namespace, required=True)
        check.text("name", cmd.name, required=True)
        check.description("description", cmd.description)
        check.tags("tags", cmd.tags)
        check.done()
        self.tags.check_input(actor, None, cmd.tags, "tags")
        # Registering again with no tags keeps the ones recorded.
        requested = cmd.tags or None
        return await self.catalog.register_dataset(cmd, actor.name, lambda current: self.tags.merge(current, requested))

    async def register_dataset_version(self, actor: Principal, cmd: RegisterDatasetVersion) -> DatasetVersion:
        require(actor, Role.CONTRIBUTOR)
        check = Checker()
        _check_dataset_spec(
            check, "input", DatasetVersionSpec(cmd.namespace, cmd.name, cmd.version, cmd.uri, cmd.digest)
        )
        check.tags("tags", cmd.tags)
        check.done()
        self.tags.check_input(actor, None, cmd.tags, "tags")
        requested = cmd.tags or None
        return await self.catalog.register_dataset_version(
            cmd, actor.name, lambda current: self.tags.merge(current, requested)
        )

    async def change_governance_tags(
        self, actor: Principal, ref: NodeRef, add: Sequence[str], remove: Sequence[str], reason: str
    ) -> TagChange:
        """Set and clear governance tags on a group, version, dataset or dataset version (approvers only:
        of the group for models, globally for datasets), with a reason; audited before/after."""
        group = str(ref.parts[0]) if ref.kind in (NodeKind.MODEL_GROUP, NodeKind.MODEL_VERSION) else None
        require_approver(actor, group)
        check = Checker()
        if ref.kind not in TAGGED_KINDS:
            check.fail(
                "id", f"a {ref.kind.label} has no tags (expected a model group, version, dataset or dataset version)"
            )
        check.text("reason", reason, 4096, required=True)
        check.done()
        self.tags.check_change(add, remove)
        return await self.catalog.change_tags(
            ref, actor.name, lambda current: self.tags.change(current, add, remove), reason
        )

    async def register_code_version(self, actor: Principal, spec: CodeVersionSpec) -> CodeVersion:
        require(actor, Role.CONTRIBUTOR)
        check = Checker()
        _check_code(check, "input", spec)
        check.done()
        return await self.catalog.register_code_version(spec, actor.name)

    async def record_run(self, actor: Principal, cmd: RecordRun) -> Run:
        require(actor, Role.CONTRIBUTOR)
        check = Checker()
        check.text("runId", cmd.run_id, 256, required=True)
        check.text("job.namespace", cmd.job_namespace, required=True)
        check.text("job.name", cmd.job_name, required=True)
        check.timestamp("startedAt", cmd.started_at)
        check.timestamp("endedAt", cmd.ended_at)
        check.done()
        check.time_range("endedAt", cmd.started_at, cmd.ended_at)
        check.string_map("parameters", cmd.parameters)
        check.metrics("metrics", cmd.metrics)
        for field, refs in (("inputs", cmd.inputs), ("outputs", cmd.outputs)):
            for i, ref in enumerate(refs):
                if ref.kind is not NodeKind.DATASET_VERSION:
                    check.fail(f"{field}[{i}]", f"expected a DatasetVersion id, got a {ref.kind.label}")
        for field, specs in (("inputDatasets", cmd.input_specs), ("outputDatasets", cmd.output_specs)):
            for i, spec in enumerate(specs):
                _check_dataset_spec(check, f"{field}[{i}]", spec)
        if cmd.code is not None:
            _check_code(check, "code", cmd.code)
        check.done()
        cmd = replace(
            cmd, started_at=cmd.started_at and as_utc(cmd.started_at), ended_at=cmd.ended_at and as_utc(cmd.ended_at)
        )
        return await self.catalog.record_run(cmd, actor.name)

    # ---- deployments ---------------------------------------------------------------------------
    def is_production(self, environment: str) -> bool:
        return environment in self._production

    async def create_deployment(self, actor: Principal, cmd: CreateDeployment) -> Deployment:
        """Record a deployment. Production environments only take APPROVED versions."""
        ref = cmd.model_version.expect(NodeKind.MODEL_VERSION, field="modelVersionId")
        require(actor, Role.CONTRIBUTOR, str(ref.parts[0]))
        check = Checker()
        check.text("endpoint", cmd.endpoint, 256, required=True)
        check.environment("environment", cmd.environment)
        check.traffic_share("trafficShare", cmd.traffic_share)
        check.done()
        return await self.deployments.create(cmd, actor.name, require_approved=self.is_production(cmd.environment))

    async def retire_deployment(self, actor: Principal, deployment_id: str) -> Deployment:
        """Retire a deployment: the contributor role for the group of the version it serves, as deploying."""
        require(actor, Role.VIEWER)  # a caller who may not read learns nothing, not even whether it exists
        found = (await self.deployments.by_id([deployment_id])).get(deployment_id)
        if found is None:
            raise NotFound("deployment", deployment_id, "id")
        require(actor, Role.CONTRIBUTOR, found.group)
        return await self.deployments.retire(deployment_id, actor.name)

    async def list_deployments(self, actor: Principal, flt: DeploymentFilter, pg: Page) -> tuple[list[Deployment], int]:
        require(actor, Role.VIEWER)
        return await self.deployments.list_deployments(flt, pg.offset, pg.limit)
