"""Read side of the registry: lookups by natural key and by global id, filtered and paginated lists,
full-text search and version comparison."""

from __future__ import annotations

import asyncio

import strawberry

from lineage_graph.domain import queries
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import ApprovalStatus as ApprovalStatusModel
from lineage_graph.domain.models import DeploymentStatus as Status
from lineage_graph.domain.queries import DEFAULT_PAGE, MAX_PAGE, DatasetFilter, RunFilter, page
from lineage_graph.graphql.comparison import ModelVersionComparison
from lineage_graph.graphql.loaders import prime_version_page
from lineage_graph.graphql.pagination import Connection, connection, decode_cursor, item_fields
from lineage_graph.graphql.registry_inputs import (
    DeploymentFilter,
    ModelGroupFilter,
    ModelGroupSortField,
    ModelVersionFilter,
    ModelVersionSortField,
    SortDirection,
)
from lineage_graph.graphql.registry_types import (
    ApprovalStatus,
    CodeVersion,
    Dataset,
    DatasetVersion,
    Deployment,
    Info,
    Job,
    ModelGroup,
    ModelVersion,
    Node,
    NodeType,
    Run,
    RunKind,
    RunStatus,
    render,
    resolve_node,
)


@strawberry.type(description="A search hit: the node and how well it matched.")
class SearchResult:
    node: Node
    score: float


@strawberry.type
class RegistryQuery:
    @strawberry.field(description="Any node by its global id (null when it does not exist).")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, NodeRef.parse(id))

    @strawberry.field(description="Nodes by their global ids, in the order asked (null where one does not exist).")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_PAGE:
            raise ValidationFailed.field("ids", f"must hold at most {MAX_PAGE} ids, got {len(ids)}", "OUT_OF_RANGE")
        refs = [NodeRef.parse(i, f"ids[{n}]") for n, i in enumerate(ids)]
        # Resolved together, so ids of one kind share one loader batch.
        return list(await asyncio.gather(*(resolve_node(info, ref) for ref in refs)))

    @strawberry.field(description="A model group by name.")
    async def model_group(self, info: Info, name: str) -> ModelGroup | None:
        found = await info.context.services.registry.group(info.context.principal, name)
        return ModelGroup.from_model(found) if found else None

    @strawberry.field
    async def model_groups(
        self,
        info: Info,
        filter: ModelGroupFilter | None = None,
        sort: ModelGroupSortField = ModelGroupSortField.NAME,
        direction: SortDirection = SortDirection.ASC,
        first: int | None = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[ModelGroup]:
        pg = page(first, decode_cursor(after))
        flt = filter or ModelGroupFilter()
        items, total = await info.context.services.registry.list_groups(
            info.context.principal,
            queries.GroupFilter(flt.name_contains, flt.owner, flt.tag),
            sort.value,
            direction is SortDirection.DESC,
            pg,
        )
        return connection(items, total, pg.offset, ModelGroup.from_model)

    @strawberry.field(description="A model version by group and version number.")
    async def model_version(self, info: Info, group: str, version: int) -> ModelVersion | None:
        ref = NodeRef.of(NodeKind.MODEL_VERSION, group, version)
        found = (await info.context.services.registry.versions(info.context.principal, [ref])).get(ref)
        return ModelVersion.from_model(found) if found else None

    @strawberry.field(description="The version an alias (e.g. champion) of a group points at.")
    async def model_version_by_alias(self, info: Info, group: str, alias: str) -> ModelVersion | None:
        found = await info.context.services.registry.version_by_alias(info.context.principal, group, alias)
        return ModelVersion.from_model(found) if found else None

    @strawberry.field(description="The newest non-archived version of a group, optionally with a given status.")
    async def latest_model_version(
        self, info: Info, group: str, approval_status: ApprovalStatus | None = None
    ) -> ModelVersion | None:
        found = await info.context.services.registry.latest_version(info.context.principal, group, approval_status)
        return ModelVersion.from_model(found) if found else None

    @strawberry.field
    async def model_versions(
        self,
        info: Info,
        filter: ModelVersionFilter | None = None,
        sort: ModelVersionSortField = ModelVersionSortField.VERSION,
        direction: SortDirection = SortDirection.ASC,
        first: int | None = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[ModelVersion]:
        pg = page(first, decode_cursor(after))
        f = filter or ModelVersionFilter()
        status = ApprovalStatusModel(f.approval_status.value) if f.approval_status else None
        wanted = item_fields(info)
        found = await info.context.services.registry.version_page(
            info.context.principal,
            queries.VersionFilter(f.group, status, f.tag, f.created_after, f.created_before, f.archived),
            sort.value,
            direction is SortDirection.DESC,
            pg,
            queries.VersionPageIncludes(groups="group" in wanted, training_data="trainedOn" in wanted),
        )
        prime_version_page(info.context.loaders, found)
        return connection(found.versions, found.total, pg.offset, ModelVersion.from_model)

    @strawberry.field
    async def dataset(self, info: Info, namespace: str, name: str) -> Dataset | None:
        found = await info.context.loaders.datasets.load((namespace, name))
        return Dataset.from_model(found) if found else None

    @strawberry.field
    async def dataset_version(self, info: Info, namespace: str, name: str, version: str) -> DatasetVersion | None:
        found = await info.context.loaders.dataset_versions.load((namespace, name, version))
        return DatasetVersion.from_model(found) if found else None

    @strawberry.field(description="Datasets by namespace and name; filter by namespace, name fragment or tag.")
    async def datasets(
        self,
        info: Info,
        namespace: str | None = None,
        name_contains: str | None = None,
        tag: str | None = None,
        first: int | None = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[Dataset]:
        pg = page(first, decode_cursor(after))
        found = await info.context.services.discovery.list_datasets(
            info.context.principal, DatasetFilter(namespace, name_contains, tag), pg
        )
        return connection(found.items, found.total, pg.offset, Dataset.from_model)

    @strawberry.field
    async def code_version(self, info: Info, repository: str, commit: str) -> CodeVersion | None:
        found = await info.context.loaders.code_versions.load((repository, commit))
        return CodeVersion.from_model(found) if found else None

    @strawberry.field
    async def job(self, info: Info, namespace: str, name: str) -> Job | None:
        found = await info.context.loaders.jobs.load((namespace, name))
        return Job.from_model(found) if found else None

    @strawberry.field
    async def run(self, info: Info, run_id: str) -> Run | None:
        found = await info.context.loaders.runs.load(run_id)
        return Run.from_model(found) if found else None

    @strawberry.field(description="Runs, newest first; filter by job, status or kind.")
    async def runs(
        self,
        info: Info,
        job_namespace: str | None = None,
        job_name: str | None = None,
        status: RunStatus | None = None,
        kind: RunKind | None = None,
        first: int | None = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[Run]:
        pg = page(first, decode_cursor(after))
        found = await info.context.services.discovery.list_runs(
            info.context.principal, RunFilter(job_namespace, job_name, status, kind), pg
        )
        return connection(found.items, found.total, pg.offset, Run.from_model)

    @strawberry.field(description="Deployments, newest first; filter by endpoint, environment, status, version.")
    async def deployments(
        self,
        info: Info,
        filter: DeploymentFilter | None = None,
        first: int | None = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[Deployment]:
        pg = page(first, decode_cursor(after))
        f = filter or DeploymentFilter()
        group: str | None = None
        version: int | None = None
        if f.model_version_id:
            ref = NodeRef.parse(f.model_version_id, "filter.modelVersionId").expect(
                NodeKind.MODEL_VERSION, field="filter.modelVersionId"
            )
            group, version = str(ref.parts[0]), int(ref.parts[1])
        found = await info.context.services.discovery.list_deployments(
            info.context.principal,
            queries.DeploymentFilter(
                f.endpoint, f.environment, Status(f.status.value) if f.status else None, group, version
            ),
            pg,
        )
        return connection(found.items, found.total, pg.offset, Deployment.from_model)

    @strawberry.field(description="Full-text search over names, descriptions and tags.")
    async def search(
        self, info: Info, text: str, types: list[NodeType] | None = None, first: int | None = DEFAULT_PAGE
    ) -> list[SearchResult]:
        kinds = [t.kind for t in types] if types else []
        limit = DEFAULT_PAGE if first is None else first
        hits = await info.context.services.discovery.search(info.context.principal, text, kinds, limit)
        return [SearchResult(node=render(hit.entity), score=hit.score) for hit in hits]

    @strawberry.field(description="Metrics side by side (best marked), hyperparameter and lineage differences.")
    async def compare_model_versions(self, info: Info, ids: list[strawberry.ID]) -> ModelVersionComparison:
        refs = [NodeRef.parse(i, f"ids[{n}]") for n, i in enumerate(ids)]
        result = await info.context.services.discovery.compare(info.context.principal, refs)
        return ModelVersionComparison.from_model(result)
