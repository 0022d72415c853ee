"""Measuring a child process from the inside, and running one from the parent.

A child measures only its upload: wall time with ``perf_counter``, CPU as
``getrusage(RUSAGE_SELF)`` user+sys, both taken after its libraries are imported and its
client is built. Peak RSS is the process's high-water mark (``VmHWM``; ``ru_maxrss`` only
where ``/proc`` is missing, since on Linux ``ru_maxrss`` survives ``exec`` and would
report the parent's size). The child prints one ``BENCH-RESULT {json}`` line.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "MARK",
    "ChildFailed",
    "Clock",
    "clock",
    "cpu_seconds",
    "emit",
    "peak_rss_bytes",
    "run_child",
    "run_main",
]

MARK = "BENCH-RESULT "
ROOT = Path(__file__).resolve().parent.parent


class ChildFailed(RuntimeError):
    """A child process exited badly or printed no result."""


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sys_seconds() -> float:
    """System (kernel) CPU seconds of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def peak_rss_bytes() -> int:
    """This process's peak resident set size in bytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


@dataclass
class Clock:
    """Wall and CPU seconds of a measured block (filled in when the block ends)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    sys_s: float = 0.0  # the kernel's share of cpu_s (copies, syscalls)

    def as_dict(self) -> dict[str, float]:
        return {"wall_s": self.wall_s, "cpu_s": self.cpu_s, "cpu_sys_s": self.sys_s}


@contextmanager
def clock() -> Iterator[Clock]:
    """Measure the wall and CPU time of the ``with`` block."""
    result = Clock()
    wall, cpu, kernel = time.perf_counter(), cpu_seconds(), sys_seconds()
    try:
        yield result
    finally:
        result.wall_s = time.perf_counter() - wall
        result.cpu_s = cpu_seconds() - cpu
        result.sys_s = sys_seconds() - kernel


def emit(result: dict[str, Any]) -> None:
    """Print the child's result (plus its totals) as the one marked line."""
    result.setdefault("cpu_total_s", cpu_seconds())
    result.setdefault("peak_rss_bytes", peak_rss_bytes())
    print(MARK + json.dumps(result), flush=True)


def run_main(main: Callable[[list[str]], dict[str, Any]]) -> None:
    """A child module's ``__main__``: run ``main(argv)`` and emit what it returns."""
    emit(main(sys.argv[1:]))


def child_env() -> dict[str, str]:
    """The environment for children: the repo importable, no proxy for loopback."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.pop("PYTHONMALLOC", None)
    return env


def run_child(module: str, args: list[str], timeout: float, label: str = "") -> dict[str, Any]:
    """Run ``python -m <module> <args>`` and return its result dictionary."""
    label = label or module
    command = [sys.executable, "-m", module, *args]
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ChildFailed(f"{label} did not finish within {timeout:.0f} s") from exc
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARK):
            if done.returncode != 0:
                break
            result: dict[str, Any] = json.loads(line[len(MARK) :])
            return result
    tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
    raise ChildFailed(f"{label} exited {done.returncode}:\n" + "\n".join(tail))
