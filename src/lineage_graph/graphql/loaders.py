"""DataLoaders, made fresh for every request and bound to the caller: each nested field batches into one
service call per kind, so a response costs a bounded number of round trips however many items it lists, and
every batch is authorized by the service like any other read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Loaders:
    groups: DataLoader[str, ModelGroup | None]
    versions: DataLoader[tuple[str, int], ModelVersion | None]
    latest_versions: DataLoader[tuple[str, ApprovalStatus | None], ModelVersion | None]
    datasets: DataLoader[tuple[str, str], Dataset | None]
    dataset_versions: DataLoader[tuple[str, str, str], DatasetVersion | None]
    versions_of_dataset: DataLoader[tuple[str, str, int, int], Paged[DatasetVersion] | None]
    code_versions: DataLoader[tuple[str, str], CodeVersion | None]
    jobs: DataLoader[tuple[str, str], Job | None]
    runs: DataLoader[str, Run | None]
    run_neighbours: DataLoader[str, RunNeighbours | None]
    model_lineage: DataLoader[tuple[str, int], ModelLineage | None]
    training_data: DataLoader[tuple[str, int], list[DatasetVersion] | None]
    deployments_of_version: DataLoader[tuple[str, int], list[Deployment] | None]
    deployments: DataLoader[str, Deployment | None]
    contracts: DataLoader[str, ContractVersion | None]
    decisions: DataLoader[str, RecordedDecision | None]
    decisions_of_version: DataLoader[tuple[str, int], list[RecordedDecision] | None]
    group_aliases: DataLoader[str, tuple[GroupAlias, ...] | None]
    approval_policies: DataLoader[str, ApprovalPolicy | None]
    audit_events: DataLoader[str, AuditEvent | None]

    @classmethod
    def build(cls, services: Services, principal: Principal) -> Loaders:
        reads = services.discovery

        async def versions_of_datasets(
            actor: Principal, keys: Sequence[tuple[str, str, int, int]]
        ) -> dict[tuple[str, str, int, int], Paged[DatasetVersion]]:
            # Keys carry the page asked for; a response asks for one page size, so one call per distinct page.
            found: dict[tuple[str, str, int, int], Paged[DatasetVersion]] = {}
            for offset, limit in {(k[2], k[3]) for k in keys}:
                wanted = [(k[0], k[1]) for k in keys if (k[2], k[3]) == (offset, limit)]
                pages = await reads.versions_of_datasets(actor, wanted, Page(offset, limit))
                found.update({(*key, offset, limit): paged for key, paged in pages.items()})
            return found

        return cls(
            groups=_loader(principal, reads.groups),
            versions=_loader(principal, reads.versions),
            latest_versions=_loader(principal, reads.latest_versions),
            datasets=_loader(principal, reads.datasets),
            dataset_versions=_loader(principal, reads.dataset_versions),
            versions_of_dataset=_loader(principal, versions_of_datasets),
            code_versions=_loader(principal, reads.code_versions),
            jobs=_loader(principal, reads.jobs),
            runs=_loader(principal, reads.runs),
            run_neighbours=_loader(principal, reads.run_neighbours),
            model_lineage=_loader(principal, reads.model_lineage),
            training_data=_loader(principal, reads.training_data),
            deployments_of_version=_loader(principal, reads.deployments_of_versions),
            deployments=_loader(principal, reads.deployments),
            contracts=_loader(principal, services.contracts.contracts),
            decisions=_loader(principal, reads.decisions),
            decisions_of_version=_loader(principal, reads.decisions_of_versions),
            group_aliases=_loader(principal, reads.group_aliases),
            approval_policies=_loader(principal, reads.approval_policies),
            audit_events=_loader(principal, services.audit.events),
        )


def prime_version_page(loaders: Loaders, found: VersionPage) -> None:
    """What a page of versions was read with goes into the request's loaders, where its items' fields look."""
    loaders.groups.prime_many(found.groups)
    loaders.training_data.prime_many(found.training_data)
