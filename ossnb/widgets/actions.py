"""Button work that may block (a request or several) runs here, never in a click handler.

A click handler calls :meth:`Actions.run` and returns at once; the call runs on a
short-lived daemon thread and leaves a :class:`StepRecord` (what was asked, what came
back or went wrong, and the HTTP exchanges it made) for the updater to show. Exclusive
actions run one at a time; Abort is not exclusive, so it can stop a step in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from msgspec import Struct
from msgspec.structs import replace

from .journal import Journal
from .transcript import Entry

__all__ = ["Actions", "StepRecord"]


class StepRecord(Struct, frozen=True):
    """One button's work: ``result_html`` once it succeeded, ``error`` if it failed."""

    number: int
    name: str
    title: str
    started: float
    finished: float | None = None
    result_html: str = ""
    error: BaseException | None = None
    entries: tuple[Entry, ...] = ()

    @property
    def running(self) -> bool:
        return self.finished is None


class Actions:
    """Runs and records the widget's session calls; ``on_change`` pokes the updater."""

    def __init__(self, journal: Journal, on_change: Callable[[], object]) -> None:
        self._journal = journal
        self._on_change = on_change
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._busy: StepRecord | None = None
        self._last: StepRecord | None = None
        self._count = 0

    @property
    def busy(self) -> StepRecord | None:
        """The exclusive action in flight, if any."""
        with self._lock:
            return self._busy

    @property
    def last(self) -> StepRecord | None:
        """The most recent action (running or finished)."""
        with self._lock:
            return self._last

    def run(
        self,
        name: str,
        title: str,
        call: Callable[[], str],
        *,
        exclusive: bool = True,
        part: int | None = None,
        background: bool = True,
    ) -> bool:
        """Run ``call`` (it returns HTML describing its result); False if refused as busy.

        ``background=False`` runs it in the caller's thread, for calls that return at once.
        """
        with self._lock:
            if exclusive and self._busy is not None:
                return False
            self._count += 1
            record = StepRecord(self._count, name, title, time.monotonic())
            if exclusive:
                self._busy = record
            self._last = record
        seq = self._journal.seq
        if not background:
            self._execute(record, call, seq, part, exclusive)
            return True
        thread = threading.Thread(
            target=self._execute,
            args=(record, call, seq, part, exclusive),
            name=f"ossnb-widget-{name}",
            daemon=True,
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        self._on_change()
        return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every action thread; False if some still run after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                alive = [t for t in self._threads if t.is_alive()]
            if not alive:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            alive[0].join(left)

    def _execute(
        self,
        record: StepRecord,
        call: Callable[[], str],
        seq: int,
        part: int | None,
        exclusive: bool,
    ) -> None:
        result, error = "", None
        try:
            result = call()
        except Exception as exc:  # shown in the widget; a dying thread is otherwise silent
            error = exc
        done = replace(
            record,
            finished=time.monotonic(),
            result_html=result,
            error=error,
            entries=self._journal.since(seq, part),
        )
        with self._lock:
            if self._busy is record:
                self._busy = None
            if self._last is None or self._last.number <= done.number:
                self._last = done
        self._on_change()
