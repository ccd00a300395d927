"""DataLoaders, made fresh for every request and bound to the caller: each nested field batches into one
service call per kind, so a response costs a bounded number of round trips however many items it lists, and
every batch is authorized by the service like any other read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from functools import cached_property
from typing import TypeVar

from strawberry.dataloader import DataLoader

from lineage_graph.domain.aliases import GroupAlias
from lineage_graph.domain.approval import ApprovalPolicy
from lineage_graph.domain.audit import AuditEvent
from lineage_graph.domain.auth import Principal
from lineage_graph.domain.contracts import ContractVersion
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
from lineage_graph.domain.queries import ModelLineage, Page, Paged, RunNeighbours, VersionPage
from lineage_graph.services.container import Services
from lineage_graph.store.approvals import RecordedDecision

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _loader(
    principal: Principal, fetch: Callable[[Principal, Sequence[K]], Awaitable[Mapping[K, V]]]
) -> DataLoader[K, V | None]:
    async def load(keys: list[K]) -> list[V | None]:
        found = await fetch(principal, keys)
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """The request's DataLoaders, each made on first use: most requests read through one or two of the twenty,
    and making all of them up front was a tenth of a small request's CPU."""

    def __init__(self, services: Services, principal: Principal) -> None:
        self._services = services
        self._reads = services.discovery
        self._principal = principal

    @classmethod
    def build(cls, services: Services, principal: Principal) -> Loaders:
        return cls(services, principal)

    async def _versions_of_datasets(
        self, actor: Principal, keys: Sequence[tuple[str, str, int, int]]
    ) -> dict[tuple[str, str, int, int], Paged[DatasetVersion]]:
        # Keys carry the page asked for; a response asks for one page size, so one call per distinct page.
        found: dict[tuple[str, str, int, int], Paged[DatasetVersion]] = {}
        for offset, limit in {(k[2], k[3]) for k in keys}:
            wanted = [(k[0], k[1]) for k in keys if (k[2], k[3]) == (offset, limit)]
            pages = await self._reads.versions_of_datasets(actor, wanted, Page(offset, limit))
            found.update({(*key, offset, limit): paged for key, paged in pages.items()})
        return found

    @cached_property
    def groups(self) -> DataLoader[str, ModelGroup | None]:
        return _loader(self._principal, self._reads.groups)

    @cached_property
    def versions(self) -> DataLoader[tuple[str, int], ModelVersion | None]:
        return _loader(self._principal, self._reads.versions)

    @cached_property
    def latest_versions(self) -> DataLoader[tuple[str, ApprovalStatus | None], ModelVersion | None]:
        return _loader(self._principal, self._reads.latest_versions)

    @cached_property
    def datasets(self) -> DataLoader[tuple[str, str], Dataset | None]:
        return _loader(self._principal, self._reads.datasets)

    @cached_property
    def dataset_versions(self) -> DataLoader[tuple[str, str, str], DatasetVersion | None]:
        return _loader(self._principal, self._reads.dataset_versions)

    @cached_property
    def versions_of_dataset(self) -> DataLoader[tuple[str, str, int, int], Paged[DatasetVersion] | None]:
        return _loader(self._principal, self._versions_of_datasets)

    @cached_property
    def code_versions(self) -> DataLoader[tuple[str, str], CodeVersion | None]:
        return _loader(self._principal, self._reads.code_versions)

    @cached_property
    def jobs(self) -> DataLoader[tuple[str, str], Job | None]:
        return _loader(self._principal, self._reads.jobs)

    @cached_property
    def runs(self) -> DataLoader[str, Run | None]:
        return _loader(self._principal, self._reads.runs)

    @cached_property
    def run_neighbours(self) -> DataLoader[str, RunNeighbours | None]:
        return _loader(self._principal, self._reads.run_neighbours)

    @cached_property
    def model_lineage(self) -> DataLoader[tuple[str, int], ModelLineage | None]:
        return _loader(self._principal, self._reads.model_lineage)

    @cached_property
    def training_data(self) -> DataLoader[tuple[str, int], list[DatasetVersion] | None]:
        return _loader(self._principal, self._reads.training_data)

    @cached_property
    def deployments_of_version(self) -> DataLoader[tuple[str, int], list[Deployment] | None]:
        return _loader(self._principal, self._reads.deployments_of_versions)

    @cached_property
    def deployments(self) -> DataLoader[str, Deployment | None]:
        return _loader(self._principal, self._reads.deployments)

    @cached_property
    def contracts(self) -> DataLoader[str, ContractVersion | None]:
        return _loader(self._principal, self._services.contracts.contracts)

    @cached_property
    def decisions(self) -> DataLoader[str, RecordedDecision | None]:
        return _loader(self._principal, self._reads.decisions)

    @cached_property
    def decisions_of_version(self) -> DataLoader[tuple[str, int], list[RecordedDecision] | None]:
        return _loader(self._principal, self._reads.decisions_of_versions)

    @cached_property
    def group_aliases(self) -> DataLoader[str, tuple[GroupAlias, ...] | None]:
        return _loader(self._principal, self._reads.group_aliases)

    @cached_property
    def approval_policies(self) -> DataLoader[str, ApprovalPolicy | None]:
        return _loader(self._principal, self._reads.approval_policies)

    @cached_property
    def audit_events(self) -> DataLoader[str, AuditEvent | None]:
        return _loader(self._principal, self._services.audit.events)


def prime_version_page(loaders: Loaders, found: VersionPage) -> None:
    """What a page of versions was read with goes into the request's loaders, where its items' fields look."""
    loaders.groups.prime_many(found.groups)
    loaders.training_data.prime_many(found.training_data)
