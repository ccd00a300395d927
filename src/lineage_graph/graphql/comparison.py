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
    required: bool = strawberry.field(description="A required metric of the group's registration contract.")


@strawberry.type(description="A hyperparameter across the compared versions; values are JSON text, null where absent.")
class ParameterDifference:
    name: str
    values: list[str | None]
    required: bool = strawberry.field(description="A required hyperparameter of the group's registration contract.")


@strawberry.type(description="A dataset or code version used by some but not all of the compared versions.")
class LineageDifference:
    key: str
    used_by: list[bool]


@strawberry.type
class ModelVersionComparison:
    versions: list[ModelVersion]
    metrics: list[MetricComparison] = strawberry.field(
        description="The contract's required metrics first (in contract order, null where missing), then the rest."
    )
    hyperparameter_differences: list[ParameterDifference]
    contract_hyperparameters: list[ParameterDifference] = strawberry.field(
        description="Every required hyperparameter of the contract, in contract order, equal or not."
    )
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
                    required=m.required,
                )
                for m in c.metrics
            ],
            hyperparameter_differences=[_parameter(p) for p in c.hyperparameter_differences],
            contract_hyperparameters=[_parameter(p) for p in c.contract_hyperparameters],
            dataset_differences=[LineageDifference(key=d.key, used_by=list(d.used_by)) for d in c.dataset_differences],
            code_differences=[LineageDifference(key=d.key, used_by=list(d.used_by)) for d in c.code_differences],
            common_datasets=list(c.common_datasets),
        )


def _parameter(p: compare.ParameterRow) -> ParameterDifference:
    return ParameterDifference(name=p.name, values=list(p.values), required=p.required)
