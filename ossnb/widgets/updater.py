"""The one thread that writes to a widget's traits, at most ``1 / interval`` times a second.

Workers, observers and click handlers never touch widgets: they :meth:`Updater.poke`
it (a counter and an event, cheap from any thread), and the updater calls ``render``
from its own daemon thread, no sooner than ``interval`` after the previous render
(docs/ARCHITECTURE.md §2). While ``live()`` holds (an upload is moving) it also renders every
``interval`` unpoked, so elapsed time and rates keep moving. Once nothing is live and
nothing was asked for ``idle_exit`` seconds, the thread ends; the next poke starts a new
one. :meth:`stop` ends it for good; :meth:`flush` waits until what was asked is shown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Updater", "resend_state"]


def resend_state(root: Any) -> None:
    """Send the full state of ``root`` and every widget below it again.

    A trait change that reached the kernel between two cells can be lost to a front end
    that records per cell (nbclient keeps only the running cell's messages), and an
    unchanged value is never re-sent; ``join()`` ends with this so the saved and shown
    state is final whatever was dropped before.
    """
    stack = [root]
    while stack:
        widget = stack.pop()
        if getattr(widget, "comm", None) is not None:
            widget.send_state()
        stack.extend(getattr(widget, "children", ()))


class Updater:
    """Calls ``render()`` from one daemon thread at a time, throttled; see the module docstring."""

    def __init__(
        self,
        render: Callable[[], None],
        *,
        live: Callable[[], bool] = lambda: False,
        interval: float = 0.1,
        idle_exit: float = 10.0,
        name: str = "ossnb-widget-updater",
    ) -> None:
        self._render = render
        self._live = live
        self.interval = interval
        self.idle_exit = idle_exit
        self.name = name
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._asked = 0  # tickets handed out by poke()
        self._done = 0  # tickets covered by a finished render
        self.renders = 0
        self.errors: list[BaseException] = []

    @property
    def running(self) -> bool:
        """Whether the thread is alive now (it ends when idle, and after :meth:`stop`)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def poke(self) -> int:
        """Ask for a render soon; returns a ticket for :meth:`flush`. Safe from any thread."""
        with self._cond:
            self._asked += 1
            ticket = self._asked
            if self._thread is None and not self._stopped.is_set():
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
        self._wake.set()
        return ticket

    def flush(self, timeout: float = 5.0) -> bool:
        """Ask for a render and wait until one has finished; False on timeout or when stopped."""
        ticket = self.poke()
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._done < ticket:
                left = deadline - time.monotonic()
                if left <= 0 or self._stopped.is_set():
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def stop(self, timeout: float = 2.0) -> None:
        """End the thread for good (after the render in progress, if any)."""
        self._stopped.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            live = bool(self._safe(self._live, False))
            woke = self._wake.wait(self.interval if live else self.idle_exit)
            if self._stopped.is_set():
                break
            if not woke and not live:
                with self._cond:
                    if self._asked == self._done and not self._wake.is_set():
                        self._thread = None  # idle: the next poke starts a new thread
                        return
                continue
            self._wake.clear()
            with self._cond:
                ticket = self._asked
            started = time.monotonic()
            self._safe(self._render, None)
            self.renders += 1
            with self._cond:
                self._done = max(self._done, ticket)
                self._cond.notify_all()
            self._stopped.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def _safe(self, call: Callable[[], object], default: object) -> object:
        try:
            return call()
        except Exception as exc:  # a render bug must not kill the thread, nor print
            if len(self.errors) < 100:
                self.errors.append(exc)
            return default
