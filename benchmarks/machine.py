"""How busy the machine is with other people's work (a shared box makes noisy figures).

``/proc/stat`` counts every core's busy time. Between samples the benchmark's own
processes are idle, so what is busy then is someone else; during a sample, the busy time
minus the child's and the server's own CPU is the foreign load that ran alongside.
"""

from __future__ import annotations

import os
import time

__all__ = ["busy_cores", "cpu_busy_seconds", "wait_for_quiet"]

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_busy_seconds() -> float | None:
    """Busy CPU seconds of all cores since boot (``None`` without ``/proc/stat``)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10]) if len(fields) > 9 else 0  # already counted in user/nice
    return (sum(fields) - idle - guest) / _TICK


def busy_cores(interval: float = 0.5) -> float | None:
    """How many cores were busy, on average, over the next ``interval`` seconds."""
    before, start = cpu_busy_seconds(), time.perf_counter()
    time.sleep(interval)
    after = cpu_busy_seconds()
    if before is None or after is None:
        return None
    return (after - before) / (time.perf_counter() - start)


def wait_for_quiet(limit: float, threshold: float = 0.3) -> float | None:
    """Wait up to ``limit`` seconds for other work to use less than ``threshold`` cores;
    returns the last reading (``None`` where it cannot be measured)."""
    deadline = time.monotonic() + limit
    while True:
        busy = busy_cores()
        if busy is None or busy < threshold or time.monotonic() >= deadline:
            return busy
