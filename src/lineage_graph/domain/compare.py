"""Side-by-side comparison of model versions: metrics (best marked), hyperparameter and lineage differences.

When the versions' groups have registration contracts, the contract's required metrics (with their split) and
hyperparameters are the first columns, in contract order, whether or not a version has a value (null: missing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lineage_graph.domain.contracts import RegistrationContract, RequiredHyperparameter, RequiredMetric
from lineage_graph.domain.models import Metric, ModelVersion
from lineage_graph.domain.registry import higher_is_better


@dataclass(frozen=True)
class MetricRow:
    """One metric (name and split) across the versions; values align with the compared versions' order."""

    name: str
    split: str | None
    values: tuple[float | None, ...]
    best_index: int | None
    higher_is_better: bool
    required: bool = False  # a column of the registration contract


@dataclass(frozen=True)
class ParameterRow:
    name: str
    values: tuple[str | None, ...]  # JSON text of each version's value, None where absent
    required: bool = False


@dataclass(frozen=True)
class LineageRow:
    """A dataset version or code version and which of the compared versions use it."""

    key: str
    used_by: tuple[bool, ...]


@dataclass(frozen=True)
class Comparison:
    versions: tuple[ModelVersion, ...]
    metrics: tuple[MetricRow, ...]
    hyperparameter_differences: tuple[ParameterRow, ...]
    dataset_differences: tuple[LineageRow, ...]
    code_differences: tuple[LineageRow, ...]
    common_datasets: tuple[str, ...]
    contract_hyperparameters: tuple[ParameterRow, ...] = ()  # every required one, equal or not


def _final_values(metrics: Sequence[Metric]) -> dict[tuple[str, str | None], float]:
    """A metric's value for comparison: the one at the highest step (a curve's end), or the unstepped one."""
    chosen: dict[tuple[str, str | None], tuple[int, float]] = {}
    for m in metrics:
        step = -1 if m.step is None else m.step
        key = (m.name, m.split)
        if key not in chosen or step >= chosen[key][0]:
            chosen[key] = (step, m.value)
    return {k: v for k, (_, v) in chosen.items()}


def _rows(usage: Sequence[set[str]]) -> tuple[tuple[LineageRow, ...], tuple[str, ...]]:
    everything = sorted(set().union(*usage)) if usage else []
    common = tuple(k for k in everything if all(k in u for u in usage))
    differing = tuple(LineageRow(k, tuple(k in u for u in usage)) for k in everything if k not in common)
    return differing, common


def _metric_row(name: str, split: str | None, values: tuple[float | None, ...], required: bool) -> MetricRow:
    up = higher_is_better(name)
    present = [(v, i) for i, v in enumerate(values) if v is not None]
    best = (max(present) if up else min(present))[1] if len(present) > 1 else None
    return MetricRow(name, split, values, best, up, required)


def _required_key(finals: Mapping[tuple[str, str | None], float], req: RequiredMetric) -> tuple[str, str | None]:
    """Which of a version's metrics fills a contract column. One without a split is met by any split (as the
    contract checks it): the unsplit value, else the first split's by name."""
    if req.split is not None or (req.name, None) in finals:
        return (req.name, req.split)
    splits = sorted(split for name, split in finals if name == req.name and split is not None)
    return (req.name, splits[0]) if splits else (req.name, None)


def contract_columns(
    contracts: Sequence[RegistrationContract],
) -> tuple[tuple[RequiredMetric, ...], tuple[RequiredHyperparameter, ...]]:
    """The required metrics and hyperparameters of the compared versions' contracts, in contract order (a
    comparison across groups takes each group's in turn), each once."""
    metrics: dict[tuple[str, str | None], RequiredMetric] = {}
    params: dict[str, RequiredHyperparameter] = {}
    for contract in contracts:
        for m in contract.required_metrics:
            metrics.setdefault((m.name, m.split), m)
        for h in contract.required_hyperparameters:
            params.setdefault(h.name, h)
    return tuple(metrics.values()), tuple(params.values())


def compare(
    versions: Sequence[ModelVersion],
    datasets: Sequence[set[str]],
    code: Sequence[set[str]],
    contracts: Sequence[RegistrationContract] = (),
) -> Comparison:
    required_metrics, required_params = contract_columns(contracts)
    finals = [_final_values(v.metrics) for v in versions]
    metric_rows = []
    shown = {(r.name, r.split) for r in required_metrics}
    for req in required_metrics:
        keys = [_required_key(f, req) for f in finals]
        shown.update(keys)  # a value shown in a contract column is not repeated below
        values = tuple(f.get(k) for f, k in zip(finals, keys, strict=True))
        metric_rows.append(_metric_row(req.name, req.split, values, True))
    for name, split in sorted({k for f in finals for k in f} - shown, key=lambda k: (k[0], k[1] or "")):
        metric_rows.append(_metric_row(name, split, tuple(f.get((name, split)) for f in finals), False))

    params: list[Mapping[str, Any]] = [v.hyperparameters for v in versions]

    def rendered(key: str) -> tuple[str | None, ...]:
        return tuple(json.dumps(p[key], sort_keys=True) if key in p else None for p in params)

    contract_rows = tuple(ParameterRow(h.name, rendered(h.name), True) for h in required_params)
    param_rows = []
    for key in sorted({k for p in params for k in p}):
        texts = rendered(key)
        if len(set(texts)) > 1:
            param_rows.append(ParameterRow(key, texts, key in {h.name for h in required_params}))

    dataset_rows, common = _rows(datasets)
    code_rows, _ = _rows(code)
    return Comparison(
        tuple(versions), tuple(metric_rows), tuple(param_rows), dataset_rows, code_rows, common, contract_rows
    )
