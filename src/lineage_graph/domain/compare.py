"""Side-by-side comparison of model versions: metrics (best marked), hyperparameter and lineage differences."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class ParameterRow:
    name: str
    values: tuple[str | None, ...]  # JSON text of each version's value, None where absent


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


def compare(versions: Sequence[ModelVersion], datasets: Sequence[set[str]], code: Sequence[set[str]]) -> Comparison:
    finals = [_final_values(v.metrics) for v in versions]
    metric_rows = []
    for name, split in sorted({k for f in finals for k in f}, key=lambda k: (k[0], k[1] or "")):
        values = tuple(f.get((name, split)) for f in finals)
        up = higher_is_better(name)
        present = [(v, i) for i, v in enumerate(values) if v is not None]
        best = (max(present) if up else min(present))[1] if len(present) > 1 else None
        metric_rows.append(MetricRow(name, split, values, best, up))

    params: list[Mapping[str, Any]] = [v.hyperparameters for v in versions]
    param_rows = []
    for key in sorted({k for p in params for k in p}):
        rendered = tuple(json.dumps(p[key], sort_keys=True) if key in p else None for p in params)
        if len(set(rendered)) > 1:
            param_rows.append(ParameterRow(key, rendered))

    dataset_rows, common = _rows(datasets)
    code_rows, _ = _rows(code)
    return Comparison(tuple(versions), tuple(metric_rows), tuple(param_rows), dataset_rows, code_rows, common)
