"""The shape of `compareModelVersions`."""

from __future__ import annotations

import strawberry

from lineage_graph.domain import compare
from lineage_graph.graphql.registry_types import ModelVersion


@strawberry.type(description="One metric across the compared versions, in their order; null where absent.")
class MetricComparison:
    name: str
    split: str | None
    values: list[float | None]
    best_index: int | None = strawberry.field(description="Index of the best value (null with fewer than two).")
    higher_is_better: bool


@strawberry.type(description="A hyperparameter whose values differ; values are JSON text, null where absent.")
class ParameterDifference:
    name: str
    values: list[str | None]


@strawberry.type(description="A dataset or code version used by some but not all of the compared versions.")
class LineageDifference:
    key: str
    used_by: list[bool]


@strawberry.type
class ModelVersionComparison:
    versions: list[ModelVersion]
    metrics: list[MetricComparison]
    hyperparameter_differences: list[ParameterDifference]
    dataset_differences: list[LineageDifference]
    code_differences: list[LineageDifference]
    common_datasets: list[str]

    @classmethod
    def from_model(cls, c: compare.Comparison) -> ModelVersionComparison:
        return cls(
            versions=[ModelVersion.from_model(v) for v in c.versions],
            metrics=[
                MetricComparison(
                    name=m.name,
                    split=m.split,
                    values=list(m.values),
                    best_index=m.best_index,
                    higher_is_better=m.higher_is_better,
                )
                for m in c.metrics
            ],
            hyperparameter_differences=[
                ParameterDifference(name=p.name, values=list(p.values)) for p in c.hyperparameter_differences
            ],
            dataset_differences=[LineageDifference(key=d.key, used_by=list(d.used_by)) for d in c.dataset_differences],
            code_differences=[LineageDifference(key=d.key, used_by=list(d.used_by)) for d in c.code_differences],
            common_datasets=list(c.common_datasets),
        )
