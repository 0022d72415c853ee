"""A session on a terminal: a tqdm bar and notes driven from the main thread, and tables.

Workers only put events on a queue; the main thread polls the session ten times a
second, prints the notes and moves the bar (docs/ARCHITECTURE.md §2: never print from a worker).
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from typing import TextIO

from ..client.config import env_secrets
from ..protocol.parts import format_size
from ..protocol.transcript import mask_text
from ..upload.ledger import Event, ExchangeEvent, Notice, PartFailed, PartRow
from ..upload.receipt import Receipt, verified_line
from ..upload.session import UploadSession

__all__ = ["default_note", "print_parts", "print_receipt", "run_with_progress"]

Narrator = Callable[[Event], "str | None"]
MAX_ROWS = 100


def default_note(event: Event) -> str | None:
    """What a terminal shows for an event: notices, failed attempts, failed parts."""
    if isinstance(event, Notice):
        return event.text
    if isinstance(event, PartFailed):
        return f"part {event.row.number} failed: {event.row.error}"
    if isinstance(event, ExchangeEvent) and event.exchange.error:
        ex = event.exchange
        what = f"part {event.part_number}" if event.part_number else ex.operation
        status = ex.status if ex.status is not None else "no answer"
        return f"{what}: attempt {ex.attempt} failed ({status} {ex.error})"
    return None


def run_with_progress(
    session: UploadSession,
    *,
    out: TextIO,
    err: TextIO,
    note: Narrator = default_note,
) -> Receipt:
    """Start ``session`` (or continue it), show progress until it settles, return its receipt.

    Raises what :meth:`UploadSession.wait` raises, and ``KeyboardInterrupt`` unchanged.
    """
    notes: queue.SimpleQueue[str] = queue.SimpleQueue()
    secrets = env_secrets()

    def collect(event: Event) -> None:
        text = note(event)
        if text:  # as every error line: no rendering of an OSS_* secret is printed
            notes.put(mask_text(text, secrets, fragments=True))

    from tqdm import tqdm  # loaded when a bar is drawn, not for --help

    unsubscribe = session.subscribe(collect)
    bar = tqdm(
        total=session.plan.size,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=err,
        desc=session.key.rsplit("/", 1)[-1][:24],
        dynamic_ncols=True,
    )

    def flush(draw: bool = True) -> None:
        if not notes.empty():
            bar.clear()
            while not notes.empty():
                print(notes.get(), file=out, flush=True)
        bar.n = session.snapshot().ledger.bytes_done
        if draw:
            bar.refresh()

    try:
        session.start()
        while True:
            try:
                receipt = session.wait(0.1)
            except TimeoutError:
                flush()
                continue
            break
    finally:
        flush(draw=False)  # close() draws the last state once (twice in a log otherwise)
        bar.close()
        unsubscribe()
    return receipt


def print_parts(rows: Sequence[PartRow], out: TextIO) -> None:
    """The part table: number, range, size, attempts, ETag, CRC-64 (long tables shortened)."""
    print(
        f"{'PART':>6} {'OFFSET':>14} {'SIZE':>11} {'TRIES':>5} {'ETAG':<36} {'CRC-64':>20}",
        file=out,
    )
    shown = list(rows) if len(rows) <= MAX_ROWS else [*rows[: MAX_ROWS - 10], *rows[-10:]]
    for i, row in enumerate(shown):
        if len(rows) > MAX_ROWS and i == MAX_ROWS - 10:
            print(
                f"{'…':>6} ({len(rows) - MAX_ROWS} more parts; --receipt FILE has them all)",
                file=out,
            )
        tries = "reuse" if row.reused else str(row.attempts)
        crc = "" if row.crc64 is None else str(row.crc64)
        print(
            f"{row.number:>6} {row.offset:>14} {format_size(row.size):>11} {tries:>5} "
            f"{row.etag or '':<36} {crc:>20}",
            file=out,
        )


def print_receipt(receipt: Receipt, out: TextIO) -> None:
    """The verified result in two lines."""
    rate = receipt.throughput
    speed = f" at {format_size(rate)}/s" if rate else ""
    elapsed = f" in {receipt.elapsed_seconds:.2f} s" if receipt.elapsed_seconds else ""
    reused = sum(1 for p in receipt.parts if p.reused)
    print(
        f"completed {receipt.url}: {len(receipt.parts)} part(s), {format_size(receipt.size)}"
        f"{elapsed}{speed}" + (f"; {reused} part(s) reused after a CRC-64 check" if reused else ""),
        file=out,
    )
    print(
        "verified: " + verified_line(receipt.etag, receipt.crc64, receipt.crc64_checked),
        file=out,
        flush=True,
    )
