"""DataLoaders, made fresh for every request: each nested field batches into one query per kind, so a
response costs a bounded number of round trips however many items it lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from strawberry.dataloader import DataLoader

from lineage_graph.domain.contracts import ContractVersion
from lineage_graph.domain.models import (
    CodeVersion,
    Dataset,
    DatasetVersion,
    Deployment,
    Job,
    ModelGroup,
    ModelVersion,
    Run,
)
from lineage_graph.services.container import Services
from lineage_graph.store.catalog import ModelLineage, RunNeighbours

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _loader(fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]]) -> DataLoader[K, V | None]:
    async def load(keys: list[K]) -> list[V | None]:
        found = await fetch(keys)
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


@dataclass(frozen=True)
class Loaders:
    groups: DataLoader[str, ModelGroup | None]
    versions: DataLoader[tuple[str, int], ModelVersion | None]
    datasets: DataLoader[tuple[str, str], Dataset | None]
    dataset_versions: DataLoader[tuple[str, str, str], DatasetVersion | None]
    versions_of_dataset: DataLoader[tuple[str, str], list[DatasetVersion] | None]
    code_versions: DataLoader[tuple[str, str], CodeVersion | None]
    jobs: DataLoader[tuple[str, str], Job | None]
    runs: DataLoader[str, Run | None]
    run_neighbours: DataLoader[str, RunNeighbours | None]
    model_lineage: DataLoader[tuple[str, int], ModelLineage | None]
    deployments_of_version: DataLoader[tuple[str, int], list[Deployment] | None]
    deployments: DataLoader[str, Deployment | None]
    contracts: DataLoader[str, ContractVersion | None]

    @classmethod
    def build(cls, services: Services) -> Loaders:
        registry = services.registry.registry
        catalog = services.registry.catalog
        deployments = services.registry.deployments
        return cls(
            groups=_loader(registry.groups_by_name),
            versions=_loader(registry.versions_by_key),
            datasets=_loader(catalog.datasets_by_key),
            dataset_versions=_loader(catalog.dataset_versions_by_key),
            versions_of_dataset=_loader(catalog.versions_of_datasets),
            code_versions=_loader(catalog.code_versions_by_key),
            jobs=_loader(catalog.jobs_by_key),
            runs=_loader(catalog.runs_by_id),
            run_neighbours=_loader(catalog.run_neighbours),
            model_lineage=_loader(catalog.model_lineage),
            deployments_of_version=_loader(deployments.for_versions),
            deployments=_loader(deployments.by_id),
            contracts=_loader(services.contracts.store.current_many),
        )
