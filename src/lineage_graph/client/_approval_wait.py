"""Waiting for a decision on a model version, without the I/O: each polled status either ends the wait
(approved), raises (rejected, or out of time), or says how long to sleep before polling again."""

from __future__ import annotations

import time

from lineage_graph.client.errors import ApprovalRejected, ApprovalTimeout


class ApprovalWait:
    def __init__(self, group: str, version: int, timeout: float, poll_interval: float) -> None:
        self._name = f"{group}/{version}"
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._deadline = time.monotonic() + timeout

    def pause_after(self, status: str) -> float | None:
        """None once APPROVED; otherwise the seconds to wait before the next poll."""
        if status == "APPROVED":
            return None
        if status == "REJECTED":
            raise ApprovalRejected(f"model version {self._name} was rejected")
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise ApprovalTimeout(f"model version {self._name} is still {status} after {self._timeout:g} s")
        return min(self._poll_interval, remaining)
