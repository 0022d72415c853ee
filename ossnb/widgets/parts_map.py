"""The parts map: every part as a cell coloured by its state, drawn in the browser.

An anywidget (an ES module and a stylesheet shipped in ``static/``, no build step): the
kernel sends three byte arrays, one byte per part for its state code, the fill of a part
in flight (0-255) and its attempts, at most as often as the updater renders (ten times a
second). A click in the map asks for one part's ETag and CRC-64 (:meth:`PartsMap.reply`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..upload.ledger import PartRow, PartState

__all__ = ["CODES", "PartsMap", "carriers", "encode"]

_STATIC = Path(__file__).with_name("static")
CODES = {
    "pending": 0,
    "sending": 1,
    "done": 2,
    "reused": 3,
    "failed": 4,
    "retrying": 5,
    "held": 6,  # on the server before Start (a resumed upload), re-checked when it runs
    "gone": 7,  # sent, then dropped by Abort
}


def code_of(row: PartRow, *, held: bool = False, aborted: bool = False) -> int:
    """The map's state code of ``row`` (see :data:`CODES`)."""
    state = row.state
    if state is PartState.DONE:
        if aborted:
            return CODES["gone"]
        return CODES["reused"] if row.reused else CODES["done"]
    if aborted:  # the server dropped what it held, sent now or before a restart
        return CODES["gone"] if held else CODES["pending"]
    if state is PartState.SENDING:
        return CODES["retrying"] if row.attempts > 1 else CODES["sending"]
    if state is PartState.FAILED:
        return CODES["failed"]
    return CODES["held"] if held else CODES["pending"]


def encode(
    rows: Sequence[PartRow], held: Collection[int] = (), *, aborted: bool = False
) -> tuple[bytes, bytes, bytes]:
    """State codes, fills (0-255 of a part in flight) and attempts (capped at 255), a byte each."""
    n = len(rows)
    codes = bytearray(n)  # 0: pending
    fills = bytearray(n)
    attempts = bytearray(n)
    done, sending, failed = PartState.DONE, PartState.SENDING, PartState.FAILED
    for i, row in enumerate(rows):
        state = row.state
        if row.attempts:
            attempts[i] = min(row.attempts, 255)
        if state is done or state is sending or state is failed or (held and row.number in held):
            codes[i] = code_of(row, held=row.number in held, aborted=aborted)
            if state is sending and row.size and not aborted:
                fills[i] = min(255, row.bytes_sent * 255 // row.size)
    return bytes(codes), bytes(fills), bytes(attempts)


def carriers(rows: Sequence[PartRow]) -> tuple[bytes, list[str]]:
    """Who carried each part, a byte each (0: nobody yet, k: ``names[k - 1]``), and the
    names: a Dask worker's address, ``browser``, or ``local`` for this process. Empty
    until a part is carried, so a fresh plan's state stays small."""
    names: dict[str, int] = {}
    marks = bytearray(len(rows))
    for i, row in enumerate(rows):
        label = row.worker or row.carrier
        if label and row.state is not PartState.PENDING:
            index = names.get(label)
            if index is None and len(names) < 255:
                index = names[label] = len(names) + 1
            marks[i] = index or 0
    return (bytes(marks) if names else b""), list(names)  # nothing carried yet: nothing sent


class PartsMap(anywidget.AnyWidget):
    """One cell per part; set :meth:`show` from the updater thread only."""

    _esm = _STATIC / "parts_map.js"
    _css = _STATIC / "parts_map.css"
    count = traitlets.Int(0).tag(sync=True)
    part_size = traitlets.Int(0).tag(sync=True)
    total_size = traitlets.Int(0).tag(sync=True)
    codes = traitlets.Bytes(b"").tag(sync=True)
    fills = traitlets.Bytes(b"").tag(sync=True)
    attempts = traitlets.Bytes(b"").tag(sync=True)
    workers = traitlets.Bytes(b"").tag(sync=True)
    worker_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    colour_by = traitlets.Enum(("state", "worker"), "state").tag(sync=True)
    """``"worker"`` colours each part by who carried it (a Dask worker, the browser)."""

    def __init__(
        self, part_size: int, total_size: int, details: Callable[[int], dict[str, Any]]
    ) -> None:
        super().__init__(part_size=part_size, total_size=total_size)
        self._details = details
        self.on_msg(self._on_msg)

    def show(
        self,
        codes: bytes,
        fills: bytes,
        attempts: bytes,
        workers: bytes = b"",
        names: Sequence[str] = (),
    ) -> None:
        """Send what changed, as one message."""
        with self.hold_sync():
            if self.count != len(codes):
                self.count = len(codes)
            if self.codes != codes:
                self.codes = codes
            if self.fills != fills:
                self.fills = fills
            if self.attempts != attempts:
                self.attempts = attempts
            if self.workers != workers:
                self.workers = workers
            if self.worker_names != list(names):
                self.worker_names = list(names)

    def reply(self, number: int) -> dict[str, Any]:
        """What a click on part ``number`` shows (also sent to the page)."""
        return {"kind": "part", "number": number, **self._details(number)}

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == "part":
            number = content.get("number")
            if isinstance(number, int) and 1 <= number <= self.count:
                self.send(self.reply(number))
