"""CPU time of a server and everything it started (Uvicorn workers, a managed Neo4j, job runners), from /proc.

A bench that reports throughput alone hides where the time went; the CPU a system spent per operation, children
included, is what it costs the machine, whichever process did the work (Neo4j's JVM for us, SQLite inside the
server's own process for MLflow).
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system seconds) of a live process; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def tree_cpu_seconds(*roots: int) -> float:
    """User + system CPU seconds of the `roots` and their live descendants (a process that exited meanwhile is
    not counted: the benches' servers keep theirs for the whole run). Several roots, for a server whose database
    runs apart from it (MLflow on PostgreSQL)."""
    stats = {pid: stat for pid in _pids() if (stat := _stat(pid)) is not None}
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, list(roots)
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo += children.get(pid, [])
    return total


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]
