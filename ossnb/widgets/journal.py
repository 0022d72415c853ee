"""What a widget remembers between renders, fed by session events from any thread.

The session calls :meth:`Journal.observe` on worker threads; it only appends to bounded
deques under a lock and pokes the updater (never a widget, never a print). The updater
reads consistent copies back.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from ..upload.ledger import Event, ExchangeEvent, PartDone
from .transcript import Entry

__all__ = ["Journal"]


class Journal:
    """Exchanges seen (the last ``keep``, numbered from 1) and recently finished parts."""

    def __init__(self, poke: Callable[[], object], keep: int = 1000, recent: int = 20) -> None:
        self._poke = poke
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque(maxlen=keep)
        self._recent: deque[int] = deque(maxlen=recent)
        self._seq = 0

    def observe(self, event: Event) -> None:
        """The session observer: quick, thread-safe, no output."""
        if isinstance(event, ExchangeEvent):
            with self._lock:
                self._seq += 1
                self._entries.append(Entry(self._seq, event.exchange, event.part_number))
        elif isinstance(event, PartDone):
            with self._lock:
                self._recent.appendleft(event.row.number)
        self._poke()

    @property
    def seq(self) -> int:
        """How many exchanges were seen so far (the number of the last one)."""
        with self._lock:
            return self._seq

    def entries(self) -> tuple[Entry, ...]:
        with self._lock:
            return tuple(self._entries)

    def since(self, seq: int, part: int | None = None) -> tuple[Entry, ...]:
        """Exchanges after number ``seq`` that are not about another part than ``part``."""
        with self._lock:
            return tuple(
                e for e in self._entries if e.seq > seq and (e.part is None or e.part == part)
            )

    def recent(self) -> tuple[int, ...]:
        """Recently finished part numbers, newest first."""
        with self._lock:
            return tuple(self._recent)
