"""The session's single source of truth: one row per part, guarded by a lock (docs/ARCHITECTURE.md §2).

Rows and snapshots are frozen; the :class:`Ledger` replaces a row on every change (byte
counts are kept in place and folded into a fresh row when it is read) and keeps the
byte totals, so a widget or a progress bar reads one consistent
:class:`LedgerSnapshot` at a time. Events tell observers what changed; they carry
numbers, ETags, CRCs, error codes and masked exchanges, never credentials.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from ..protocol.parts import Part
from ..protocol.transcript import Exchange

__all__ = [
    "BytesSent",
    "Event",
    "ExchangeEvent",
    "Ledger",
    "LedgerSnapshot",
    "Notice",
    "Observers",
    "PartDone",
    "PartFailed",
    "PartRow",
    "PartStarted",
    "PartState",
    "SessionSnapshot",
    "SessionState",
    "StateChanged",
]


class PartState(str, Enum):
    """Where one part stands."""

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"


class SessionState(str, Enum):
    """Where the whole upload stands."""

    PLANNED = "planned"  # nothing sent yet
    INITIATED = "initiated"  # upload ID known; parts may be sent step by step
    RUNNING = "running"  # background workers are sending parts
    PAUSED = "paused"
    COMPLETING = "completing"
    COMPLETED = "completed"  # completed and verified
    ABORTING = "aborting"
    ABORTED = "aborted"  # aborted, and the server confirmed it holds no parts
    FAILED = "failed"  # a part or the completion failed; resumable from the checkpoint


class PartRow(Struct, frozen=True):
    """One part: its range, state, attempts, bytes on the wire, checksums and last error.

    ``bytes_sent`` counts the current attempt's bytes and rewinds on a retry. ``md5`` is
    the local upper-case hex MD5; ``etag`` what OSS returned (equal to it once verified).
    ``reused`` marks a part found on the server and re-checked instead of sent.
    ``carrier`` names what carried the part (``"local"``, ``"dask"``…) and ``worker``
    where (a Dask worker's address), for a view to colour parts by; ``None`` until sent.
    """

    number: int
    offset: int
    size: int
    state: PartState = PartState.PENDING
    attempts: int = 0
    bytes_sent: int = 0
    etag: str | None = None
    crc64: int | None = None
    md5: str | None = None
    error: str | None = None
    error_code: str | None = None
    reused: bool = False
    elapsed: float = 0.0
    carrier: str | None = None
    worker: str | None = None

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def progress(self) -> int:
        """Bytes of this part that count as uploaded."""
        return self.size if self.state is PartState.DONE else self.bytes_sent


class LedgerSnapshot(Struct, frozen=True):
    """All rows at one instant, with totals."""

    rows: tuple[PartRow, ...]
    total_size: int
    bytes_done: int  # size of done parts plus bytes of parts in flight
    bytes_reused: int  # size of parts found on the server and re-checked

    def count(self, state: PartState) -> int:
        return sum(1 for row in self.rows if row.state is state)

    @property
    def fraction(self) -> float:
        """0.0 to 1.0 (1.0 for an empty source once its one part is done)."""
        if self.total_size == 0:
            return 1.0 if self.rows and self.count(PartState.DONE) == len(self.rows) else 0.0
        return self.bytes_done / self.total_size

    @property
    def all_done(self) -> bool:
        return all(row.state is PartState.DONE for row in self.rows)

    def row(self, number: int) -> PartRow:
        return self.rows[number - 1]


class SessionSnapshot(Struct, frozen=True):
    """The whole session at one instant: state, upload ID, every part row, totals, rates."""

    state: SessionState
    upload_id: str | None
    ledger: LedgerSnapshot
    error: str | None
    elapsed: float
    bytes_per_second: float | None
    etag: str | None = None
    crc64: int | None = None

    @property
    def rows(self) -> tuple[PartRow, ...]:
        return self.ledger.rows

    @property
    def fraction(self) -> float:
        return self.ledger.fraction

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the current rate, if there is one."""
        if not self.bytes_per_second:
            return None
        return max(0.0, self.ledger.total_size - self.ledger.bytes_done) / self.bytes_per_second


class Ledger:
    """Thread-safe rows for parts ``1..n``; every change returns the new row."""

    def __init__(self, parts: Iterable[Part]) -> None:
        self._lock = threading.Lock()
        self._rows = [PartRow(p.number, p.offset, p.size) for p in parts]
        # bytes_sent per part, counted in place: add_sent runs for every MiB on the wire,
        # so it bumps an int and the frozen row is rebuilt only when someone reads it
        self._sent = [0] * len(self._rows)
        self._total = sum(row.size for row in self._rows)
        self._done = 0

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, number: int) -> PartRow:
        with self._lock:
            return self._current(number - 1)

    def _current(self, index: int) -> PartRow:
        """The row at ``index`` with its live byte count (lock held)."""
        row = self._rows[index]
        sent = self._sent[index]
        if row.bytes_sent != sent:
            row = self._rows[index] = replace(row, bytes_sent=sent)
        return row

    def update(self, number: int, **changes: Any) -> PartRow:
        """Replace fields of part ``number``'s row."""
        with self._lock:
            old = self._current(number - 1)
            new = replace(old, **changes)
            self._rows[number - 1] = new
            self._sent[number - 1] = new.bytes_sent
            self._done += new.progress - old.progress
            return new

    def add_sent(self, number: int, delta: int) -> tuple[int, int]:
        """Count ``delta`` bytes (negative to rewind) for part ``number``.

        Returns the part's bytes sent and the total bytes done. Called for every chunk on
        the wire, so it only counts: the frozen row is rebuilt when it is next read.
        """
        index = number - 1
        with self._lock:
            old = self._sent[index]
            new = self._sent[index] = max(0, old + delta)
            if self._rows[index].state is not PartState.DONE:
                self._done += new - old
            return new, self._done

    def numbers(self, *states: PartState) -> list[int]:
        """Part numbers whose state is one of ``states``, ascending."""
        with self._lock:
            return [row.number for row in self._rows if row.state in states]

    def snapshot(self) -> LedgerSnapshot:
        with self._lock:
            rows = tuple(self._current(i) for i in range(len(self._rows)))
            done = self._done
        reused = sum(row.size for row in rows if row.reused and row.state is PartState.DONE)
        return LedgerSnapshot(rows, self._total, done, reused)


# ----------------------------------------------------------------------------- events


class PartStarted(Struct, frozen=True):
    """A worker began part ``number``; ``attempt`` counts HTTP attempts, from 1."""

    number: int
    attempt: int


class BytesSent(Struct, frozen=True):
    """``delta`` bytes of part ``number`` went out (negative: a failed attempt rewound)."""

    number: int
    delta: int
    part_bytes: int
    total_bytes: int


class PartDone(Struct, frozen=True):
    """A part is on the server and verified (sent, or reused after a CRC-64 check)."""

    row: PartRow


class PartFailed(Struct, frozen=True):
    """A part failed for good (after its retries); ``row.error`` says why."""

    row: PartRow


class StateChanged(Struct, frozen=True):
    """The session moved from ``old`` to ``new``; ``detail`` says why in a few words."""

    old: SessionState
    new: SessionState
    detail: str = ""


class Notice(Struct, frozen=True):
    """Something worth telling a person, e.g. "resuming upload X: 7 parts on the server"."""

    text: str


class ExchangeEvent(Struct, frozen=True):
    """One HTTP attempt the session made (masked: no secrets)."""

    exchange: Exchange
    part_number: int | None = None


Event = PartStarted | BytesSent | PartDone | PartFailed | StateChanged | Notice | ExchangeEvent
Observer = Callable[[Event], None]


class Observers:
    """Callbacks for events, called on whichever thread made the change.

    An observer that raises is kept out of the upload's way: the exception is stored in
    :attr:`errors` (the session never prints from worker threads).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._observers: list[Observer] = []
        self.errors: list[BaseException] = []

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Add ``observer``; returns a function that removes it."""
        with self._lock:
            self._observers.append(observer)

        def unsubscribe() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            observers = tuple(self._observers)
        for observer in observers:
            try:
                observer(event)
            except Exception as exc:  # an observer's bug must not break the upload
                with self._lock:
                    if len(self.errors) < 100:
                        self.errors.append(exc)
