"""Fault injection for tests and teaching (docs/ARCHITECTURE.md §4). Off unless a fault is added.

A :class:`Fault` fires on the ``nth`` matching request of an operation (``"UploadPart"``,
``"*"`` for any) and on the ``times - 1`` matching requests after it. Actions:

* ``error``: answer with an OSS error (``status``/``code``) after reading the body;
* ``delay``: sleep ``delay`` seconds, then serve the request normally;
* ``drop``: close the connection mid-body (half the request body read, or half the
  response body sent) without a complete response.

CLI form (``ossnb serve --fault``): ``OP[@N][xTIMES]=error[:STATUS[:CODE]]``,
``OP[@N][xTIMES]=delay:SECONDS`` or ``OP[@N][xTIMES]=drop`` — e.g.
``UploadPart@3x3=error:503:ServiceUnavailable``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Literal

from msgspec import Struct

__all__ = ["Fault", "Faults", "parse_fault"]

Action = Literal["error", "delay", "drop"]


class Fault(Struct, frozen=True):
    """One planned failure: which requests it hits and what happens to them."""

    operation: str
    action: Action = "error"
    nth: int = 1
    times: int = 1
    status: int = 500
    code: str = "InternalError"
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.nth < 1 or self.times < 1:
            raise ValueError("nth and times must be at least 1")
        if self.action not in ("error", "delay", "drop"):
            raise ValueError(f"unknown fault action {self.action!r}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"fault status must be an HTTP error status, not {self.status}")


class Faults:
    """A thread-safe set of faults with per-fault request counters."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._seen: list[int] = []
        for fault in faults:
            self.add(fault)

    def add(self, fault: Fault) -> Fault:
        """Arm ``fault``; its count starts at zero now."""
        with self._lock:
            self._faults.append(fault)
            self._seen.append(0)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()
            self._seen.clear()

    @property
    def armed(self) -> tuple[Fault, ...]:
        with self._lock:
            return tuple(self._faults)

    def match(self, operation: str) -> Fault | None:
        """Count this request against every fault and return the first that fires."""
        if not self._faults:
            return None
        fired: Fault | None = None
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.operation not in ("*", operation):
                    continue
                self._seen[i] += 1
                if fired is None and fault.nth <= self._seen[i] < fault.nth + fault.times:
                    fired = fault
        return fired


_SPEC = re.compile(
    r"^(?P<op>[A-Za-z*]+)(?:@(?P<nth>\d+))?(?:x(?P<times>\d+))?=(?P<action>\w+)(?::(?P<args>.*))?$"
)


def parse_fault(text: str) -> Fault:
    """Parse the CLI form described in the module docstring; ``ValueError`` if malformed."""
    match = _SPEC.match(text.strip())
    if not match:
        raise ValueError(
            f"bad fault {text!r}: expected OP[@N][xTIMES]=error[:STATUS[:CODE]]|delay:S|drop"
        )
    op, action = match["op"], match["action"]
    nth, times = int(match["nth"] or 1), int(match["times"] or 1)
    args = match["args"].split(":") if match["args"] else []
    if action == "error":
        status = int(args[0]) if args else 500
        code = args[1] if len(args) > 1 else _default_code(status)
        return Fault(op, "error", nth, times, status=status, code=code)
    if action == "delay":
        if not args:
            raise ValueError(f"bad fault {text!r}: delay needs seconds, e.g. delay:1.5")
        return Fault(op, "delay", nth, times, delay=float(args[0]))
    if action == "drop":
        return Fault(op, "drop", nth, times)
    raise ValueError(f"bad fault {text!r}: unknown action {action!r}")


def _default_code(status: int) -> str:
    return {503: "ServiceUnavailable", 500: "InternalError", 403: "AccessDenied"}.get(
        status, "InternalError" if status >= 500 else "InvalidRequest"
    )
