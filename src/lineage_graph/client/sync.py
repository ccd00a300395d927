"""The blocking client, for training scripts and CI steps."""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType
from typing import TypeVar, Unpack

import httpx

from lineage_graph.client import _operations as ops
from lineage_graph.client._approval_wait import ApprovalWait
from lineage_graph.client._transport import Endpoint, Exchange, RetryPolicy, Wait
from lineage_graph.client.models import ApprovalReadiness, LineageGraph, ModelVersion, Run
from lineage_graph.client.runs import RunHandleBase, RunOptions, RunRecord

T = TypeVar("T")


class RunHandle(RunHandleBase):
    """Returned by `Client.record_run`; as a context manager it records the end: COMPLETED, or FAILED when
    the block raised (the exception still propagates)."""

    def __init__(self, client: Client, record: RunRecord, run: Run) -> None:
        super().__init__(record, run)
        self._client = client

    def finish(self, failed: bool = False) -> Run:
        self.record = self.record.ending(failed)
        self.run = self._client.execute(self.record.operation())
        return self.run

    def __enter__(self) -> RunHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish(failed=exc_type is not None)


class Client:
    """`Client(url, token)`; both default to LINEAGE_GRAPH_URL / LINEAGE_GRAPH_TOKEN."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.endpoint = Endpoint.resolve(url, token)
        self.retry = retry or RetryPolicy()
        self._http = http or httpx.Client(timeout=timeout)
        self._owns_http = http is None

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, operation: ops.Operation[T]) -> T:
        exchange = Exchange(operation, self.endpoint, self.retry)
        while True:
            step = exchange.reply(self._send(exchange))
            if not isinstance(step, Wait):
                return step
            time.sleep(step.seconds)

    def _send(self, exchange: Exchange[T]) -> httpx.Response | httpx.TransportError:
        try:
            return self._http.post(exchange.url, content=exchange.body, headers=exchange.headers)
        except httpx.TransportError as exc:
            return exc

    # ---- registration ------------------------------------------------------------------------
    def create_model_group(
        self, name: str, *, description: str | None = None, owner: str | None = None, tags: Sequence[str] = ()
    ) -> str:
        return self.execute(ops.create_model_group(name, description=description, owner=owner, tags=tags))

    def register_model_version(
        self, group: str, artifact_uri: str, **options: Unpack[ops.RegistrationOptions]
    ) -> ModelVersion:
        """Register the group's next version with its lineage. Retried calls reuse one client token, so the
        server registers it once; pass `client_token` to make a re-run of the whole job idempotent too."""
        return self.execute(ops.register_model_version(group, artifact_uri, **options))

    def record_run(self, job: str, **options: Unpack[RunOptions]) -> RunHandle:
        """Record a run now (RUNNING, started now, unless told otherwise). Used as `with client.record_run(…) as
        run:`, the run's end is recorded when the block exits — with the metrics logged on `run` meanwhile."""
        record = RunRecord.new(job, **options)
        return RunHandle(self, record, self.execute(record.operation()))

    def add_metrics(self, model_version_id: str, metrics: ops.MetricsArg) -> ModelVersion:
        return self.execute(ops.add_metrics(model_version_id, metrics))

    def set_alias(self, alias: str, model_version_id: str) -> ModelVersion:
        return self.execute(ops.set_alias(alias, model_version_id))

    # ---- reads -------------------------------------------------------------------------------
    def model_version(self, group: str, version: int) -> ModelVersion:
        return self.execute(ops.model_version(group, version))

    def model_version_by_alias(self, group: str, alias: str) -> ModelVersion:
        return self.execute(ops.model_version_by_alias(group, alias))

    def approval_readiness(self, group: str, version: int) -> ApprovalReadiness:
        """Whether an approval would be recorded now and every rule still unmet (judged for this caller:
        a pipeline's own token sees FOUR_EYES or MISSING_ROLE among them)."""
        return self.execute(ops.approval_readiness(group, version))

    def lineage(self, group: str, version: int, *, direction: str = "UPSTREAM", depth: int = 5) -> LineageGraph:
        """The subgraph around a model version (upstream by default: what it came from)."""
        return self.execute(ops.model_version_lineage(group, version, direction, depth))

    def node_lineage(self, node_id: str, *, direction: str = "BOTH", depth: int = 5) -> LineageGraph:
        """The subgraph around any node, by its global id."""
        return self.execute(ops.lineage(node_id, direction, depth))

    def wait_for_approval(self, group: str, version: int, timeout: float, poll_interval: float = 2.0) -> ModelVersion:
        """Block until the version is APPROVED (returned), REJECTED (`ApprovalRejected`) or `timeout` seconds
        have passed (`ApprovalTimeout`)."""
        wait = ApprovalWait(group, version, timeout, poll_interval)
        while True:
            pause = wait.pause_after(self.execute(ops.approval_status(group, version)))
            if pause is None:
                return self.model_version(group, version)
            time.sleep(pause)
