"""The event worker's pacing: a pass that drained its work waits out the poll interval, one that stopped at its
bound goes again at once (no database: the passes are plain coroutines)."""

from __future__ import annotations

import asyncio
import contextlib

from lineage_graph.services.events import EventLog, EventWorker


def _passes_within(seconds: float, work: int, again_at: int) -> int:
    calls = 0

    async def step() -> int:
        nonlocal calls
        calls += 1
        return work

    async def scenario() -> None:
        worker = EventWorker(EventLog.__new__(EventLog), poll_interval=0.05)
        loop = asyncio.ensure_future(worker._loop(step, lambda done: done >= again_at))
        await asyncio.sleep(seconds)
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop

    asyncio.run(scenario())
    return calls


def test_a_pass_that_drained_its_work_waits_out_the_interval() -> None:
    assert _passes_within(0.3, work=3, again_at=100) <= 8  # ~6 passes of 0.05 s


def test_a_pass_that_stopped_at_its_bound_goes_again_at_once() -> None:
    assert _passes_within(0.3, work=100, again_at=100) > 50
