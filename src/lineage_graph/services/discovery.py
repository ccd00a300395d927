"""Reading the registry and the catalog: lookups by key (the DataLoaders' back-ends), lists, full-text search
and version comparison. Every method authorizes its caller first, so no adapter can read around the rules."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lineage_graph.domain.aliases import GroupAlias
from lineage_graph.domain.approval import ApprovalPolicy
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.compare import Comparison, compare
from lineage_graph.domain.errors import NotFound, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import (
    ApprovalStatus,
    CodeVersion,
    Dataset,
    DatasetVersion,
    Deployment,
    Job,
    ModelGroup,
    ModelVersion,
    Run,
)
from lineage_graph.domain.queries import (
    MAX_PAGE,
    DatasetFilter,
    DeploymentFilter,
    ModelLineage,
    Page,
    Paged,
    RunFilter,
    RunNeighbours,
    SearchHit,
)
from lineage_graph.domain.registry import version_name
from lineage_graph.services.authorization import require
from lineage_graph.store.approvals import ApprovalStore, RecordedDecision
from lineage_graph.store.catalog import CatalogStore
from lineage_graph.store.contracts import ContractStore
from lineage_graph.store.deployments import DeploymentStore
from lineage_graph.store.registry import RegistryStore

SEARCHABLE = (
    NodeKind.MODEL_GROUP,
    NodeKind.MODEL_VERSION,
    NodeKind.DATASET,
    NodeKind.DATASET_VERSION,
    NodeKind.JOB,
    NodeKind.RUN,
    NodeKind.CODE_VERSION,
)
_LUCENE_SPECIAL = re.compile(r'([+\-!(){}\[\]^"~*?:\\/]|&&|\|\|)')

VersionKey = tuple[str, int]
LatestKey = tuple[str, ApprovalStatus | None]


def lucene_query(text: str) -> str:
    """User text as a Lucene query: every term escaped, each matched as a prefix too ("fraud det" finds
    "fraud-detector"); Lucene syntax in the input is never interpreted."""
    terms = [t for t in re.split(r"\s+", text.strip()) if t]
    escaped = [_LUCENE_SPECIAL.sub(r"\\\1", t.lower()) for t in terms]
    return " AND ".join(f"({t} OR {t}*)" for t in escaped)


class DiscoveryService:
    def __init__(
        self,
        registry: RegistryStore,
        catalog: CatalogStore,
        deployments: DeploymentStore,
        approvals: ApprovalStore,
        contracts: ContractStore | None = None,
    ) -> None:
        self._contracts = contracts
        self._registry = registry
        self._catalog = catalog
        self._deployments = deployments
        self._approvals = approvals

    # ---- lookups by key, batched -----------------------------------------------------------------------
    async def groups(self, actor: Principal, names: Sequence[str]) -> dict[str, ModelGroup]:
        require(actor, Role.VIEWER)
        return await self._registry.groups_by_name(names)

    async def group_aliases(self, actor: Principal, names: Sequence[str]) -> dict[str, tuple[GroupAlias, ...]]:
        """Each group's aliases, with the version each names for readers and its protection."""
        require(actor, Role.VIEWER)
        return await self._registry.group_aliases(names)

    async def approval_policies(self, actor: Principal, names: Sequence[str]) -> dict[str, ApprovalPolicy]:
        require(actor, Role.VIEWER)
        return await self._approvals.policies(names)

    async def versions(self, actor: Principal, keys: Sequence[VersionKey]) -> dict[VersionKey, ModelVersion]:
        require(actor, Role.VIEWER)
        return await self._registry.versions_by_key(keys)

    async def latest_versions(self, actor: Principal, keys: Sequence[LatestKey]) -> dict[LatestKey, ModelVersion]:
        """Per (group, status or None): the newest non-archived version with that status."""
        require(actor, Role.VIEWER)
        return await self._registry.latest_versions(keys)

    async def datasets(self, actor: Principal, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Dataset]:
        require(actor, Role.VIEWER)
        return await self._catalog.datasets_by_key(keys)

    async def dataset_versions(
        self, actor: Principal, keys: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], DatasetVersion]:
        require(actor, Role.VIEWER)
        return await self._catalog.dataset_versions_by_key(keys)

    async def code_versions(
        self, actor: Principal, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], CodeVersion]:
        require(actor, Role.VIEWER)
        return await self._catalog.code_versions_by_key(keys)

    async def jobs(self, actor: Principal, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Job]:
        require(actor, Role.VIEWER)
        return await self._catalog.jobs_by_key(keys)

    async def runs(self, actor: Principal, run_ids: Sequence[str]) -> dict[str, Run]:
        require(actor, Role.VIEWER)
        return await self._catalog.runs_by_id(run_ids)

    async def run_neighbours(self, actor: Principal, run_ids: Sequence[str]) -> dict[str, RunNeighbours]:
        require(actor, Role.VIEWER)
        return await self._catalog.run_neighbours(run_ids)

    async def training_data(
        self, actor: Principal, keys: Sequence[VersionKey]
    ) -> dict[VersionKey, list[DatasetVersion]]:
        require(actor, Role.VIEWER)
        return await self._catalog.training_data(keys)

    async def model_lineage(self, actor: Principal, keys: Sequence[VersionKey]) -> dict[VersionKey, ModelLineage]:
        require(actor, Role.VIEWER)
        return await self._catalog.model_lineage(keys)

    async def deployments(self, actor: Principal, ids: Sequence[str]) -> dict[str, Deployment]:
        require(actor, Role.VIEWER)
        return await self._deployments.by_id(ids)

    async def deployments_of_versions(
        self, actor: Principal, keys: Sequence[VersionKey]
    ) -> dict[VersionKey, list[Deployment]]:
        require(actor, Role.VIEWER)
        return await self._deployments.for_versions(keys)

    async def decisions(self, actor: Principal, ids: Sequence[str]) -> dict[str, RecordedDecision]:
        require(actor, Role.VIEWER)
        return await self._approvals.decisions_by_id(ids)

    async def decisions_of_versions(
        self, actor: Principal, keys: Sequence[VersionKey]
    ) -> dict[VersionKey, list[RecordedDecision]]:
        """Every decision on each version, oldest first, with its evidence."""
        require(actor, Role.VIEWER)
        return await self._approvals.decisions_for(keys)

    async def versions_of_datasets(
        self, actor: Principal, keys: Sequence[tuple[str, str]], pg: Page
    ) -> dict[tuple[str, str], Paged[DatasetVersion]]:
        """One page of each dataset's versions, newest first."""
        require(actor, Role.VIEWER)
        found = await self._catalog.versions_of_datasets_page(keys, pg.offset, pg.limit)
        return {key: Paged(items, total) for key, (items, total) in found.items()}

    # ---- lists -------------------------------------------------------------------------------------------
    async def list_datasets(self, actor: Principal, flt: DatasetFilter, pg: Page) -> Paged[Dataset]:
        require(actor, Role.VIEWER)
        items, total = await self._catalog.list_datasets(flt, pg.offset, pg.limit)
        return Paged(items, total)

    async def list_runs(self, actor: Principal, flt: RunFilter, pg: Page) -> Paged[Run]:
        require(actor, Role.VIEWER)
        items, total = await self._catalog.list_runs(flt, pg.offset, pg.limit)
        return Paged(items, total)

    async def list_deployments(self, actor: Principal, flt: DeploymentFilter, pg: Page) -> Paged[Deployment]:
        require(actor, Role.VIEWER)
        items, total = await self._deployments.list_deployments(flt, pg.offset, pg.limit)
        return Paged(items, total)

    # ---- search and comparison ---------------------------------------------------------------------------
    async def search(self, actor: Principal, text: str, kinds: Sequence[NodeKind], limit: int) -> list[SearchHit]:
        """Full-text hits, best first, each with its whole entity (nothing to fetch again to show it)."""
        require(actor, Role.VIEWER)
        if not text.strip() or len(text) > 256:
            raise ValidationFailed.field("text", "must be 1-256 characters")
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed.field("first", f"must be between 1 and {MAX_PAGE}, got {limit}", "OUT_OF_RANGE")
        wanted = [k.label for k in kinds if k in SEARCHABLE]
        return await self._catalog.search(lucene_query(text), wanted, limit, version_name(text))

    async def compare(self, actor: Principal, refs: Sequence[NodeRef]) -> Comparison:
        require(actor, Role.VIEWER)
        if not 2 <= len(refs) <= 10:
            raise ValidationFailed.field("ids", "compare 2 to 10 model versions")
        for i, ref in enumerate(refs):
            ref.expect(NodeKind.MODEL_VERSION, field=f"ids[{i}]")
        keys = [(str(r.parts[0]), int(r.parts[1])) for r in refs]
        versions = await self._registry.versions_by_key(keys)
        for i, key in enumerate(keys):
            if key not in versions:
                raise NotFound("model version", str(refs[i]), f"ids[{i}]")
        lineage = await self._catalog.model_lineage(keys)
        datasets = [{f"{d.namespace}/{d.name}@{d.version}" for d in lineage[k].datasets} for k in keys]
        code = [{f"{c.repository}@{c.commit}" for c in lineage[k].code} for k in keys]
        groups = list(dict.fromkeys(g for g, _ in keys))
        found = await self._contracts.current_many(groups) if self._contracts is not None else {}
        contracts = [found[g].contract for g in groups if g in found]
        return compare([versions[k] for k in keys], datasets, code, contracts)
