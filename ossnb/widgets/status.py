"""The toolbar's words: state, upload ID, bytes, rate, time left, and what is true now.

Rate and time left come from a :class:`RateMeter` over the last seconds of running, not
the session's average since Start: they freeze while paused (nothing moves, so nothing
is computed) and start afresh on Resume. Sizes and rates are binary (KiB, MiB/s).
"""

from __future__ import annotations

import time
from collections import deque

from msgspec import Struct

from ..upload.ledger import PartState, SessionSnapshot, SessionState
from .markup import esc, size, state_badge

__all__ = [
    "Pause",
    "Progress",
    "RateMeter",
    "confirmed_bytes",
    "numbers_html",
    "status_html",
    "truth_html",
]

_S = SessionState
_WINDOW = 5.0  # seconds of running the rate is measured over


class RateMeter:
    """Bytes per second over the last :data:`_WINDOW` seconds of running (updater thread)."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()
        self.rate: float | None = None

    def sample(self, running: bool, sent: int, now: float | None = None) -> float | None:
        """Record ``sent`` (bytes sent by this run) while running; the rate, frozen otherwise."""
        if not running:
            self._samples.clear()  # the next run measures afresh; the last rate stays shown
            return self.rate
        now = time.monotonic() if now is None else now
        samples = self._samples
        samples.append((now, sent))
        while len(samples) > 2 and now - samples[0][0] > _WINDOW:
            samples.popleft()
        (t0, b0), (t1, b1) = samples[0], samples[-1]
        if t1 - t0 >= 0.5:
            self.rate = max(0.0, (b1 - b0) / (t1 - t0))
        return self.rate


class Pause(Struct, frozen=True):
    """What a pause stopped: parts that were in flight go out again from their first byte."""

    stopped: tuple[int, ...]
    rate: float | None


def confirmed_bytes(snap: SessionSnapshot) -> int:
    """Bytes of the parts on the server (done or reused): what no pause can take back."""
    return sum(row.size for row in snap.rows if row.state is PartState.DONE)


class Progress:
    """Bytes to show and the rate, per render (updater thread): while paused, only the
    parts on the server count (a part stopped mid-flight is sent again from its first
    byte) and the rate is the one measured before the pause; after Abort, nothing."""

    def __init__(self) -> None:
        self._meter = RateMeter()
        self._sending: tuple[int, ...] = ()  # parts in flight at the last running render
        self.pause: Pause | None = None

    def update(self, snap: SessionSnapshot) -> tuple[int, float | None]:
        state, ledger = snap.state, snap.ledger
        rate = self._meter.sample(state is _S.RUNNING, ledger.bytes_done - ledger.bytes_reused)
        if state is _S.RUNNING:
            self._sending = tuple(r.number for r in snap.rows if r.state is PartState.SENDING)
        if state is _S.PAUSED:
            if self.pause is None:
                done = PartState.DONE
                stopped = tuple(n for n in self._sending if snap.rows[n - 1].state is not done)
                self.pause = Pause(stopped, rate)
            return confirmed_bytes(snap), rate
        self.pause = None
        return (0 if state is _S.ABORTED else ledger.bytes_done), rate


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole >= 3600:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    if whole >= 60:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole} s"


def numbers_html(snap: SessionSnapshot, shown: int, rate: float | None) -> str:
    """``1.2 MiB of 4.0 MiB (30%) · 0.5 MiB/s · about 6 s left``; frozen while paused."""
    total = snap.ledger.total_size
    percent = 100 * shown // total if total else (100 if snap.ledger.all_done else 0)
    parts = [f"{size(shown)} of {size(total)} ({percent}%)"]
    moving = snap.state is _S.RUNNING
    paused = snap.state is _S.PAUSED
    if rate and (moving or paused):
        parts.append(f"{'paused at ' if paused else ''}{size(rate)}/s")
        if moving:
            parts.append(f"about {_duration(max(0, total - shown) / rate)} left")
    elif moving:
        parts.append("measuring the rate…")
    return f'<span class="ossnb-numbers-text">{" · ".join(parts)}</span>'


def status_html(snap: SessionSnapshot) -> str:
    """State badge, upload ID, parts uploaded (and, after Abort, how many were dropped)."""
    upload_id = esc(snap.upload_id) if snap.upload_id else "(not initiated)"
    done = snap.ledger.count(PartState.DONE)
    total = len(snap.rows)
    if snap.state is _S.ABORTED:
        count = (
            f'parts uploaded <span class="ossnb-parts-done">0</span>/{total:,} '
            f'(<span class="ossnb-parts-dropped">{done:,}</span> sent, then dropped by Abort)'
        )
    else:
        count = f'parts uploaded <span class="ossnb-parts-done">{done:,}</span>/{total:,}'
    return (
        f"{state_badge(snap.state, label=_badge_label(snap))} "
        '<span class="ossnb-label">upload ID</span> '
        f'<code class="ossnb-upload-id">{upload_id}</code> · {count}'
    )


def _badge_label(snap: SessionSnapshot) -> str:
    """``ready to complete`` rather than ``initiated`` once every part is sent."""
    if snap.state is _S.INITIATED and snap.ledger.all_done:
        return "ready to complete"
    return ""


def truth_html(
    snap: SessionSnapshot,
    *,
    workers: int,
    auto_complete: bool,
    held: tuple[int, int] | None,
    upload_gone: bool,
    pause: Pause | None,
) -> str:
    """One or two lines on what is true now and what the buttons would do.

    ``held`` is (parts, bytes) a resumed upload already has on the server, seen before Start.
    """
    state = snap.state
    total = len(snap.rows)
    if state is _S.PLANNED:
        return (
            f"Nothing sent yet. <b>Start</b> sends {total:,} part(s) on {workers} worker(s); "
            "the <i>Step by step</i> tab walks the protocol one request at a time."
        )
    if state is _S.INITIATED:
        if snap.ledger.all_done:
            auto = "" if auto_complete else " (complete automatically is off)"
            return (
                f'<b class="ossnb-ready">All {total:,} part(s) sent: ready to complete.</b> '
                f"Click <b>Complete</b>{auto}: CompleteMultipartUpload, then a HEAD verifies "
                "size, ETag and CRC-64."
            )
        if upload_gone:
            return (
                f"The checkpoint names upload {esc(snap.upload_id)}, which the server no longer "
                "has: <b>Start</b> begins a new upload."
            )
        if held is not None:
            parts, held_bytes = held
            return (
                f'<b class="ossnb-resume">Resuming upload {esc(snap.upload_id)}: the server '
                f"already holds {parts:,} of {total:,} part(s) ({size(held_bytes)}).</b> "
                "Start re-checks each against the local bytes (CRC-64) and reuses it; "
                f"only the other {total - parts:,} are sent."
            )
        done = snap.ledger.count(PartState.DONE)
        return f"Initiated: {done:,} of {total:,} part(s) uploaded. <b>Start</b> sends the rest."
    if state is _S.RUNNING:
        sending = [row for row in snap.rows if row.state is PartState.SENDING]
        retrying = sum(1 for row in sending if row.attempts > 1)
        again = f", {retrying} sent again after a failed attempt" if retrying else ""
        return f"Sending: {len(sending)} part(s) in flight on {workers} worker(s){again}."
    if state is _S.PAUSED:
        stopped = pause.stopped if pause is not None else ()
        which = ", ".join(map(str, stopped[:8])) + (" …" if len(stopped) > 8 else "")
        lost = (
            f"{len(stopped)} part(s) in flight ({which}) were stopped; Resume sends them "
            "again from their first byte (their attempts go up by one)."
            if stopped
            else "No part was in flight."
        )
        return f"<b>Paused.</b> {lost} Bytes, rate and time left are frozen until Resume."
    if state is _S.COMPLETING:
        return "All parts sent: completing, then verifying ETag, CRC-64 and size…"
    if state is _S.ABORTING:
        return "Aborting: stopping the parts in flight, then AbortMultipartUpload…"
    return ""
