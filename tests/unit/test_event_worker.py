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


def _placements(consumed: bool, streams: int) -> list[float]:
    """When placing passes ran, over 3 s of a fake clock at 0.1 s per pass."""
    log = EventLog.__new__(EventLog)
    log.streams = streams
    clock = [0.0]
    placed: list[float] = []

    async def place_pending() -> int:
        placed.append(clock[0])
        return 1

    async def reads_the_log() -> bool:
        return consumed

    log.place_pending = place_pending  # type: ignore[method-assign]
    worker = EventWorker(log, consumed=reads_the_log, idle_interval=1.0, clock=lambda: clock[0])

    async def scenario() -> None:
        for _ in range(30):
            await worker._place()
            clock[0] = round(clock[0] + 0.1, 1)

    asyncio.run(scenario())
    return placed


def test_placing_waits_out_the_idle_interval_while_nothing_reads_the_log() -> None:
    assert _placements(consumed=False, streams=0) == [0.0, 1.0, 2.0]


def test_placing_keeps_the_poll_interval_for_a_webhook_or_a_subscriber() -> None:
    assert len(_placements(consumed=True, streams=0)) == 30
    assert len(_placements(consumed=False, streams=1)) == 30
