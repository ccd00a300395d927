"""The asyncio client (httpx.AsyncClient), for async pipelines and services; the same calls as `Client`."""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Sequence
from types import TracebackType
from typing import Any, TypeVar, Unpack

import httpx

from lineage_graph.client import _operations as ops
from lineage_graph.client._approval_wait import ApprovalWait
from lineage_graph.client._transport import Endpoint, Exchange, RetryPolicy, Wait
from lineage_graph.client.models import ApprovalReadiness, LineageGraph, ModelVersion, Run
from lineage_graph.client.runs import RunHandleBase, RunOptions, RunRecord

T = TypeVar("T")


class AsyncRunHandle(RunHandleBase):
    """An open run of `AsyncClient`; `await handle.finish()` records its end."""

    def __init__(self, client: AsyncClient, record: RunRecord) -> None:
        super().__init__(record)
        self._client = client

    async def start(self) -> AsyncRunHandle:
        self.run = await self._client.execute(self.record.operation())
        return self

    async def finish(self, failed: bool = False) -> Run:
        self.record = self.record.ending(failed)
        self.run = await self._client.execute(self.record.operation())
        return self.run


class PendingRun:
    """What `AsyncClient.record_run` returns: `await` it to record the run, or `async with` it to record the
    start on entry and the end (COMPLETED, or FAILED when the block raised) on exit."""

    def __init__(self, handle: AsyncRunHandle) -> None:
        self._handle = handle

    def __await__(self) -> Generator[Any, None, AsyncRunHandle]:
        return self._handle.start().__await__()

    async def __aenter__(self) -> AsyncRunHandle:
        return await self._handle.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._handle.finish(failed=exc_type is not None)


class AsyncClient:
    """`AsyncClient(url, token)`; both default to LINEAGE_GRAPH_URL / LINEAGE_GRAPH_TOKEN."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.endpoint = Endpoint.resolve(url, token)
        self.retry = retry or RetryPolicy()
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def execute(self, operation: ops.Operation[T]) -> T:
        exchange = Exchange(operation, self.endpoint, self.retry)
        while True:
            step = exchange.reply(await self._send(exchange))
            if not isinstance(step, Wait):
                return step
            await asyncio.sleep(step.seconds)

    async def _send(self, exchange: Exchange[T]) -> httpx.Response | httpx.TransportError:
        try:
            return await self._http.post(exchange.url, content=exchange.body, headers=exchange.headers)
        except httpx.TransportError as exc:
            return exc

    # ---- registration ------------------------------------------------------------------------
    async def create_model_group(
        self, name: str, *, description: str | None = None, owner: str | None = None, tags: Sequence[str] = ()
    ) -> str:
        return await self.execute(ops.create_model_group(name, description=description, owner=owner, tags=tags))

    async def register_model_version(
        self, group: str, artifact_uri: str, **options: Unpack[ops.RegistrationOptions]
    ) -> ModelVersion:
        """Register the group's next version with its lineage. Retried calls reuse one client token, so the
        server registers it once; pass `client_token` to make a re-run of the whole job idempotent too."""
        return await self.execute(ops.register_model_version(group, artifact_uri, **options))

    def record_run(self, job: str, **options: Unpack[RunOptions]) -> PendingRun:
        """`await client.record_run(…)` records a run (RUNNING, started now, unless told otherwise);
        `async with client.record_run(…) as run:` also records its end when the block exits."""
        return PendingRun(AsyncRunHandle(self, RunRecord.new(job, **options)))

    async def add_metrics(self, model_version_id: str, metrics: ops.MetricsArg) -> ModelVersion:
        return await self.execute(ops.add_metrics(model_version_id, metrics))

    async def set_alias(self, alias: str, model_version_id: str) -> ModelVersion:
        return await self.execute(ops.set_alias(alias, model_version_id))

    # ---- reads -------------------------------------------------------------------------------
    async def model_version(self, group: str, version: int) -> ModelVersion:
        return await self.execute(ops.model_version(group, version))

    async def model_version_by_alias(self, group: str, alias: str) -> ModelVersion:
        return await self.execute(ops.model_version_by_alias(group, alias))

    async def approval_readiness(self, group: str, version: int) -> ApprovalReadiness:
        """Whether an approval would be recorded now and every rule still unmet (judged for this caller:
        a pipeline's own token sees FOUR_EYES or MISSING_ROLE among them)."""
        return await self.execute(ops.approval_readiness(group, version))

    async def lineage(self, group: str, version: int, *, direction: str = "UPSTREAM", depth: int = 5) -> LineageGraph:
        """The subgraph around a model version (upstream by default: what it came from)."""
        return await self.execute(ops.model_version_lineage(group, version, direction, depth))

    async def node_lineage(self, node_id: str, *, direction: str = "BOTH", depth: int = 5) -> LineageGraph:
        """The subgraph around any node, by its global id."""
        return await self.execute(ops.lineage(node_id, direction, depth))

    async def wait_for_approval(
        self, group: str, version: int, timeout: float, poll_interval: float = 2.0
    ) -> ModelVersion:
        """Block until the version is APPROVED (returned), REJECTED (`ApprovalRejected`) or `timeout` seconds
        have passed (`ApprovalTimeout`)."""
        wait = ApprovalWait(group, version, timeout, poll_interval)
        while True:
            pause = wait.pause_after(await self.execute(ops.approval_status(group, version)))
            if pause is None:
                return await self.model_version(group, version)
            await asyncio.sleep(pause)
