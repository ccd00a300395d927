"""A run being recorded: start, metrics gathered while it works, and its end (completed or failed)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypedDict

from lineage_graph.client import _operations as ops
from lineage_graph.client.models import Metric, Run


class RunOptions(TypedDict, total=False):
    """What `record_run` takes besides the job's name (all optional; a new run id, RUNNING, started now)."""

    run_id: str | None
    namespace: str
    kind: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    parameters: Mapping[str, Any] | None
    metrics: ops.MetricsArg | None
    inputs: Sequence[ops.DatasetArg]
    outputs: Sequence[ops.DatasetArg]
    code: ops.CodeArg | None


@dataclass
class RunRecord:
    """Everything `recordRun` is sent; the handle re-sends it with the final status (the server upserts
    by run id, so the end record completes the start record)."""

    run_id: str
    job: str
    namespace: str
    kind: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    inputs: Sequence[ops.DatasetArg] = ()
    outputs: Sequence[ops.DatasetArg] = ()
    code: ops.CodeArg | None = None

    @classmethod
    def new(
        cls,
        job: str,
        *,
        run_id: str | None = None,
        namespace: str = "pipelines",
        kind: str = "TRAINING",
        status: str = "RUNNING",
        started_at: datetime | None = None,
        ended_at: datetime | None = None,
        parameters: Mapping[str, Any] | None = None,
        metrics: ops.MetricsArg | None = None,
        inputs: Sequence[ops.DatasetArg] = (),
        outputs: Sequence[ops.DatasetArg] = (),
        code: ops.CodeArg | None = None,
    ) -> RunRecord:
        """A run about to be recorded; `RunOptions` are these keywords."""
        if started_at is None and status == "RUNNING":
            started_at = datetime.now(UTC)
        gathered = [Metric(str(k), float(v)) for k, v in metrics.items()] if isinstance(metrics, Mapping) else []
        if metrics is not None and not isinstance(metrics, Mapping):
            gathered = list(metrics)
        return cls(
            run_id=run_id or str(uuid.uuid4()),
            job=job,
            namespace=namespace,
            kind=kind,
            status=status,
            started_at=started_at,
            ended_at=ended_at,
            parameters=dict(parameters or {}),
            metrics=gathered,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            code=code,
        )

    def operation(self) -> ops.Operation[Run]:
        return ops.record_run(
            self.run_id,
            self.job,
            namespace=self.namespace,
            kind=self.kind,
            status=self.status,
            started_at=self.started_at,
            ended_at=self.ended_at,
            parameters=self.parameters,
            metrics=self.metrics,
            inputs=self.inputs,
            outputs=self.outputs,
            code=self.code,
        )

    def ending(self, failed: bool) -> RunRecord:
        return replace(self, status="FAILED" if failed else "COMPLETED", ended_at=datetime.now(UTC))


class RunHandleBase:
    """What a training script holds while its run is open: its id and a place to put metrics and params."""

    def __init__(self, record: RunRecord, run: Run | None = None) -> None:
        self.record = record
        self.run = run

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def log_metric(self, name: str, value: float, step: int | None = None, split: str | None = None) -> None:
        """Kept with the run and sent when it ends."""
        self.record.metrics.append(Metric(name, float(value), step, split))

    def log_params(self, **params: Any) -> None:
        self.record.parameters.update(params)

    def add_outputs(self, *datasets: ops.DatasetArg) -> None:
        self.record.outputs = (*self.record.outputs, *datasets)
