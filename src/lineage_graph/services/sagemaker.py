"""SageMaker's lineage operations (artifacts, actions, contexts, associations, QueryLineage) and imported
approval decisions, on the same graph and under the same roles as everything else."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.commands import CodeVersionSpec, RecordRun, RegisterDatasetVersion
from lineage_graph.domain.errors import NotFound, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import ApprovalStatus, Job, Run, RunKind, RunStatus
from lineage_graph.domain.registry import Checker
from lineage_graph.domain.sagemaker import (
    ASSOCIATION_TYPES,
    GENERIC_EDGE,
    JOB_NAMESPACE,
    UNVERSIONED,
    dataset_of_uri,
    edge_for,
)
from lineage_graph.domain.sagemaker import association_type as type_of
from lineage_graph.services.authorization import require
from lineage_graph.services.registry import RegistryService
from lineage_graph.store.catalog import ModelLineage
from lineage_graph.store.sagemaker import ASSOCIATION_EDGES, Association, LineageWalk, SageMakerStore
from lineage_graph.store.sagemaker_entities import (
    EntityFields,
    EntityFilter,
    EntityRecord,
    Family,
    SageMakerEntityStore,
)

MAX_LINEAGE_DEPTH = 10
_ACTION_STATUS = {
    "Unknown": RunStatus.OTHER,
    "InProgress": RunStatus.RUNNING,
    "Completed": RunStatus.COMPLETED,
    "Failed": RunStatus.FAILED,
    "Stopping": RunStatus.RUNNING,
    "Stopped": RunStatus.ABORTED,
}


class Direction(Enum):
    ASCENDANTS = "Ascendants"
    DESCENDANTS = "Descendants"
    BOTH = "Both"


@dataclass(frozen=True)
class ArtifactSpec:
    uri: str
    artifact_type: str | None = None
    name: str | None = None
    source_ids: Mapping[str, str] | None = None  # SourceIdType -> Value (S3ETag, Custom, CommitId…)


class SageMakerService:
    def __init__(self, store: SageMakerStore, registry: RegistryService, entities: SageMakerEntityStore) -> None:
        self._store = store
        self._registry = registry
        self._entities = entities

    # ---- importer support ----------------------------------------------------------------------------
    async def versions_for_tokens(self, actor: Principal, group: str, tokens: Sequence[str]) -> dict[str, int]:
        require(actor, Role.VIEWER)
        return await self._store.versions_for_tokens(group, tokens)

    async def import_approval(
        self, actor: Principal, ref: NodeRef, status: ApprovalStatus, comment: str | None, source: str
    ) -> bool:
        """Mirror a decision taken in SageMaker (admins only: it bypasses our approval rules by design)."""
        require(actor, Role.ADMIN)
        ref = ref.expect(NodeKind.MODEL_VERSION)
        return await self._store.import_approval(
            str(ref.parts[0]), int(ref.parts[1]), status, comment, source, actor.name
        )

    async def runs(self, actor: Principal, run_ids: Sequence[str]) -> dict[str, Run]:
        require(actor, Role.VIEWER)
        return await self._registry.catalog.runs_by_id(run_ids)

    async def model_lineage(self, actor: Principal, ref: NodeRef) -> ModelLineage:
        require(actor, Role.VIEWER)
        found = await self._registry.catalog.model_lineage([(str(ref.parts[0]), int(ref.parts[1]))])
        lineage = found.get((str(ref.parts[0]), int(ref.parts[1])))
        if lineage is None:
            raise NotFound("model version", str(ref), "ModelPackageArn")
        return lineage

    # ---- lineage entities -----------------------------------------------------------------------------
    async def create_artifact(self, actor: Principal, spec: ArtifactSpec) -> NodeRef:
        """Code artifacts with a commit become code versions; everything else a dataset version, keyed by the
        OpenLineage identity of its URI and versioned by its first source id (an ETag, a digest…)."""
        require(actor, Role.CONTRIBUTOR)
        check = Checker()
        check.text("Source.SourceUri", spec.uri, 2048, required=True)
        check.done()
        ids = dict(spec.source_ids or {})
        if (spec.artifact_type or "").lower() == "code" and "CommitId" in ids:
            code = await self._registry.register_code_version(actor, CodeVersionSpec(spec.uri, ids["CommitId"]))
            return code.ref
        namespace, name = dataset_of_uri(spec.uri)
        version = next(iter(ids.values()), UNVERSIONED)
        digest = ids.get("Digest") if ids.get("Digest", "").count(":") == 1 else None
        created = await self._registry.register_dataset_version(
            actor, RegisterDatasetVersion(namespace, name, version, spec.uri, digest)
        )
        return created.ref

    async def create_action(
        self, actor: Principal, name: str, action_type: str | None, status: str | None, parameters: Mapping[str, str]
    ) -> NodeRef:
        """An action is a run (id = the action name) of the job named after its type."""
        check = Checker()
        check.text("ActionName", name, 120, required=True)
        if status is not None and status not in _ACTION_STATUS:
            check.fail("Status", f"must be one of {', '.join(_ACTION_STATUS)}")
        check.done()
        run = await self._registry.record_run(
            actor,
            RecordRun(
                run_id=name,
                job_namespace=JOB_NAMESPACE,
                job_name=action_type or "action",
                kind=RunKind.PROCESSING if action_type == "Processing" else RunKind.OTHER,
                status=_ACTION_STATUS.get(status or "", RunStatus.OTHER),
                parameters=parameters,
            ),
        )
        return run.ref

    async def create_context(
        self, actor: Principal, name: str, context_type: str | None, description: str | None, uri: str | None
    ) -> Job:
        require(actor, Role.CONTRIBUTOR)
        check = Checker()
        check.text("ContextName", name, 120, required=True)
        check.description("Description", description)
        check.done()
        facets = {"sagemaker": {"contextType": context_type, "sourceUri": uri}}
        return await self._store.create_context(JOB_NAMESPACE, name, description, facets, actor.name)

    # ---- associations and lineage ---------------------------------------------------------------------
    async def add_association(
        self, actor: Principal, source: NodeRef, destination: NodeRef, association_type: str
    ) -> str:
        """Record the association as our own lineage edge where one fits; returns the edge chosen."""
        require(actor, Role.CONTRIBUTOR)
        if association_type not in ASSOCIATION_TYPES:
            raise ValidationFailed.field("AssociationType", f"must be one of {', '.join(ASSOCIATION_TYPES)}")
        if source == destination:
            raise ValidationFailed.field("DestinationArn", "an entity cannot be associated with itself")
        edge = edge_for(source.kind, destination.kind, association_type)
        await self._store.add_association(source, destination, edge, association_type, actor.name)
        return edge

    async def list_associations(
        self,
        actor: Principal,
        source: NodeRef | None,
        destination: NodeRef | None,
        association_type: str | None,
        offset: int,
        limit: int,
    ) -> list[Association]:
        require(actor, Role.VIEWER)
        edges = [e for e in ASSOCIATION_EDGES if association_type is None or _may_carry(e, association_type)]
        found = await self._store.list_associations(source, destination, edges, offset, limit)
        if association_type is None:
            return found
        return [a for a in found if type_of(a.edge, a.association_type) == association_type]

    async def query_lineage(
        self, actor: Principal, starts: Sequence[NodeRef], direction: Direction, max_depth: int
    ) -> LineageWalk:
        require(actor, Role.VIEWER)
        if len(starts) != 1:
            # SageMaker itself accepts exactly one start ARN.
            raise ValidationFailed.field("StartArns", "give exactly one ARN")
        if not 0 <= max_depth <= MAX_LINEAGE_DEPTH:
            raise ValidationFailed.field("MaxDepth", f"must be between 0 and {MAX_LINEAGE_DEPTH}")
        if not await self._store.exists(starts[0]):
            raise NotFound(starts[0].kind.label, str(starts[0]), "StartArns")
        return await self._store.walk(
            starts,
            upstream=direction in (Direction.ASCENDANTS, Direction.BOTH),
            downstream=direction in (Direction.DESCENDANTS, Direction.BOTH),
            max_depth=max_depth,
        )

    async def delete_association(self, actor: Principal, source: NodeRef, destination: NodeRef) -> list[str]:
        require(actor, Role.CONTRIBUTOR)
        return await self._entities.delete_association(source, destination, actor.name)

    # ---- describing, updating, deleting and listing lineage entities ----------------------------------
    async def entities(self, actor: Principal, refs: Sequence[NodeRef]) -> dict[NodeRef, EntityRecord]:
        require(actor, Role.VIEWER)
        return await self._entities.describe(refs)

    async def write_entity(
        self,
        actor: Principal,
        ref: NodeRef,
        change: Callable[[Mapping[str, Any]], tuple[dict[str, Any], EntityFields]],
        created: bool = False,
    ) -> EntityRecord:
        """Set what SageMaker says about an entity (at creation, or an Update*); `created` revives a deleted one."""
        require(actor, Role.CONTRIBUTOR)

        def checked(current: Mapping[str, Any]) -> tuple[dict[str, Any], EntityFields]:
            doc, fields = change(current)
            check = Checker()
            check.json_object("document", doc)
            check.string_map("Properties", doc.get("Properties"))
            check.done()
            return doc, fields

        action = "lineage_entity.create" if created else "lineage_entity.update"
        return await self._entities.write(ref, checked, action, actor.name, revive=created)

    async def delete_entity(self, actor: Principal, ref: NodeRef) -> None:
        require(actor, Role.CONTRIBUTOR)
        await self._entities.delete(ref, actor.name)

    async def list_entities(
        self, actor: Principal, family: Family, flt: EntityFilter, sort: str, descending: bool, offset: int, limit: int
    ) -> list[EntityRecord]:
        require(actor, Role.VIEWER)
        return await self._entities.page(family, flt, sort, descending, offset, limit)


def _may_carry(edge: str, association_type: str) -> bool:
    return edge == GENERIC_EDGE or type_of(edge, None) == association_type
