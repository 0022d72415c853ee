"""A bounded pool of worker threads that can be paused, resumed and stopped mid-flight.

Each worker takes the next part number from a queue and runs ``work(number, cancel)``.
``pause()`` and ``stop()`` set every in-flight ``cancel`` event, so requests are
closed at once; a part cancelled by a pause goes back to the front of the queue. The
first failure stops scheduling (in-flight parts still finish) and is kept in
:attr:`WorkerPool.failure`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

from ..protocol.errors import Cancelled

__all__ = ["WorkerPool"]

Work = Callable[[int, threading.Event], None]


class WorkerPool:
    """Run ``work`` over ``numbers`` on at most ``workers`` threads."""

    def __init__(self, work: Work, numbers: Iterable[int], workers: int, *, name: str) -> None:
        self._work = work
        self._queue = deque(numbers)
        self._size = max(1, min(workers, len(self._queue)))
        self._name = name
        self._cond = threading.Condition()
        self._inflight: dict[int, threading.Event] = {}
        self._threads: list[threading.Thread] = []
        self._paused = False
        self._stopping = False
        self.failure: BaseException | None = None

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        return tuple(self._threads)

    def start(self) -> None:
        """Start the worker threads (daemons: an interpreter exit never waits for them)."""
        for i in range(self._size):
            thread = threading.Thread(target=self._loop, name=f"{self._name}-{i + 1}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def pause(self) -> None:
        """Take no new parts and cancel those in flight (they will be sent again on resume)."""
        with self._cond:
            self._paused = True
            for event in self._inflight.values():
                event.set()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        """Take no new parts, cancel those in flight and let the workers exit."""
        with self._cond:
            self._stopping = True
            self._paused = False
            for event in self._inflight.values():
                event.set()
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every worker to exit; ``False`` if ``timeout`` passed first."""
        for thread in self._threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    def wait_while_paused(self) -> None:
        """Block while paused (returns at once when stopped)."""
        with self._cond:
            while self._paused and not self._stopping:
                self._cond.wait()

    def _next(self) -> tuple[int, threading.Event] | None:
        with self._cond:
            while self._paused and not self._stopping:
                self._cond.wait()
            if self._stopping or self.failure is not None or not self._queue:
                return None
            number = self._queue.popleft()
            cancel = threading.Event()
            self._inflight[number] = cancel
            return number, cancel

    def _loop(self) -> None:
        while (task := self._next()) is not None:
            number, cancel = task
            try:
                self._work(number, cancel)
            except Cancelled:
                with self._cond:
                    if not cancel.is_set():
                        self.failure = self.failure or Cancelled(f"part {number} was cancelled")
                    elif not self._stopping:
                        self._queue.appendleft(number)  # paused: send it again on resume
            except BaseException as exc:
                with self._cond:
                    if self.failure is None:
                        self.failure = exc
            finally:
                with self._cond:
                    self._inflight.pop(number, None)
