"""An MLflow run as our lineage: the run with its parameters and metrics, the datasets it logged as inputs,
and the commit it ran from. Pure, shared by the MLflow registry facade and the importer."""

from __future__ import annotations

from datetime import UTC, datetime

from lineage_graph.domain.commands import CodeVersionSpec, DatasetVersionSpec, RecordRun
from lineage_graph.domain.mlflow import JOB_NAMESPACE, RUN_STATUS, MlflowRun, metric_name
from lineage_graph.domain.models import Metric, RunKind, RunStatus
from lineage_graph.domain.registry import COMMIT

TAG_COMMIT = "mlflow.source.git.commit"
TAG_REPOSITORY = "mlflow.source.git.repoURL"
TAG_SOURCE_NAME = "mlflow.source.name"


def _time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def code_of(run: MlflowRun) -> CodeVersionSpec | None:
    commit = run.tags.get(TAG_COMMIT)
    repository = run.tags.get(TAG_REPOSITORY) or run.tags.get(TAG_SOURCE_NAME)
    if not commit or not repository or not COMMIT.fullmatch(commit):
        return None
    return CodeVersionSpec(repository, commit, path=run.tags.get(TAG_SOURCE_NAME))


def metrics_of(run: MlflowRun) -> tuple[Metric, ...]:
    """The run's latest value of each metric (what MLflow shows as the run's metrics)."""
    latest: dict[str, Metric] = {}
    for key, value, step in run.metrics:
        name = metric_name(key)
        latest[name] = Metric(name, value, step or None)
    return tuple(Metric(m.name, m.value) for m in latest.values())


def datasets_of(run: MlflowRun) -> tuple[DatasetVersionSpec, ...]:
    """Each logged input dataset: namespace from where it lives (its URI, else its source type), the digest as
    the version MLflow identifies it by."""
    specs: dict[tuple[str, str, str], DatasetVersionSpec] = {}
    for dataset in run.datasets:
        namespace = dataset.source or f"mlflow-{dataset.source_type or 'dataset'}"
        spec = DatasetVersionSpec(namespace, dataset.name, dataset.digest or "unversioned", uri=dataset.source)
        specs[(spec.namespace, spec.name, spec.version)] = spec
    return tuple(specs.values())


def record_of(run: MlflowRun) -> RecordRun:
    return RecordRun(
        run_id=run.run_id,
        job_namespace=JOB_NAMESPACE,
        job_name=run.experiment,
        kind=RunKind.TRAINING,
        status=RunStatus(RUN_STATUS.get(run.status, "OTHER")),
        started_at=_time(run.start_ms),
        ended_at=_time(run.end_ms),
        parameters=dict(run.params),
        metrics=metrics_of(run),
        input_specs=datasets_of(run),
        code=code_of(run),
    )
