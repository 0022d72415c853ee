"""The part ledger as one page of an HTML table: cheap at 10,000 parts.

Never one widget per part: a page (50 rows by default) is rendered as HTML, with counts
by state above it. The default order puts what needs attention first: failed parts,
then parts in flight, then (while the upload moves) the most recently finished, then
the rest by number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from msgspec import Struct

from ..protocol.checksums import normalize_etag
from ..upload.ledger import LedgerSnapshot, PartRow, PartState
from .markup import esc, size, table

__all__ = [
    "ORDERS",
    "PAGE_SIZE",
    "LedgerPage",
    "counts_html",
    "ledger_html",
    "order_rows",
    "page_of",
]

PAGE_SIZE = 50
ORDERS = {"attention": "failures first", "number": "by part number"}
_HEAD = ("#", "bytes", "size", "state", "attempts", "ETag", "CRC-64", "note")


class LedgerPage(Struct, frozen=True):
    """Rows ``start .. start + len(rows)`` of ``total`` in the chosen order."""

    rows: tuple[PartRow, ...]
    start: int
    total: int
    page: int  # 0-based, clamped
    pages: int


def order_rows(rows: Sequence[PartRow], recent: Sequence[int], order: str) -> list[PartRow]:
    """All rows in ``order``; ``recent`` lists recently finished part numbers, newest first."""
    if order == "number":
        return list(rows)
    failed, sending, rest = [], [], []
    for row in rows:
        if row.state is PartState.FAILED:
            failed.append(row)
        elif row.state is PartState.SENDING:
            sending.append(row)
        else:
            rest.append(row)
    fresh: list[PartRow] = []
    seen: set[int] = set()
    for number in recent:
        if 1 <= number <= len(rows) and number not in seen:
            row = rows[number - 1]
            if row.state is PartState.DONE:
                fresh.append(row)
                seen.add(number)
    if seen:
        rest = [row for row in rest if row.number not in seen]
    return failed + sending + fresh + rest


def page_of(
    rows: Sequence[PartRow],
    recent: Sequence[int],
    order: str,
    page: int,
    page_size: int = PAGE_SIZE,
) -> LedgerPage:
    """Page ``page`` (clamped to the pages there are) of the rows in ``order``."""
    pages = max(1, math.ceil(len(rows) / page_size))
    page = min(max(0, page), pages - 1)
    start = page * page_size
    if order == "number":
        chosen = tuple(rows[start : start + page_size])
    else:
        chosen = tuple(order_rows(rows, recent, order)[start : start + page_size])
    return LedgerPage(chosen, start, len(rows), page, pages)


def counts_html(ledger: LedgerSnapshot, *, aborted: bool = False) -> str:
    """``done 12 · sending 4 · failed 0 · pending 84`` with a class per count; after an
    abort the parts that had been sent count as ``gone``."""
    counts = {state.value: 0 for state in PartState}
    for row in ledger.rows:
        counts[row.state.value] += 1
    names = ["done", "sending", "failed", "pending"]
    if aborted:
        counts["gone"], counts["done"] = counts["done"], 0
        names = ["gone", "pending"]
        counts["pending"] += counts["sending"] + counts["failed"]
    items = [
        f'<span class="ossnb-count-{name}">{name} <b>{counts[name]:,}</b></span>' for name in names
    ]
    return (
        f'<div class="ossnb-counts">{len(ledger.rows):,} part(s): ' + " · ".join(items) + "</div>"
    )


def _cells(row: PartRow, gone: bool) -> list[str]:
    last = max(row.end - 1, row.offset)
    etag = esc(row.etag)
    if gone:
        etag += " (dropped)"
    elif row.etag and row.md5:
        ok = normalize_etag(row.etag) == row.md5.upper()
        mark = "✓" if ok else "✗"
        same = "equals" if ok else "differs from"
        etag += f' <span title="ETag {same} the local MD5 {esc(row.md5)}">{mark}</span>'

    note = ""
    if gone:
        note = "dropped by Abort"
    elif row.error_code or row.error:
        note = f'<span class="ossnb-part-error" title="{esc(row.error)}">{esc(row.error_code or row.error)}</span>'
    elif row.reused:
        note = "reused (CRC-64 re-checked)"
    elif row.state is PartState.SENDING:
        note = f"{size(row.bytes_sent)} sent"
    return [
        f'<td class="ossnb-num">{row.number}</td>',
        f"<td>{row.offset}–{last}</td>",
        f"<td>{size(row.size)}</td>",
        f'<td class="ossnb-part-state">{"gone" if gone else row.state.value}</td>',
        f"<td>{row.attempts}</td>",
        f'<td class="ossnb-etag">{etag}</td>',
        f'<td class="ossnb-crc">{esc(row.crc64)}</td>',
        f"<td>{note}</td>",
    ]


def ledger_html(page: LedgerPage, order: str, *, aborted: bool = False) -> str:
    """The page as a table, with a line saying which rows of how many it shows; after an
    abort, parts that had been sent show as gone (the server dropped them)."""
    if page.rows:
        shown = f"rows {page.start + 1:,}–{page.start + len(page.rows):,} of {page.total:,}"
    else:
        shown = "no parts"
    caption = (
        f'<div class="ossnb-ledger-caption">{shown} ({esc(ORDERS.get(order, order))}), '
        f"page {page.page + 1} of {page.pages}</div>"
    )
    gone = [aborted and row.state is PartState.DONE for row in page.rows]
    css = [
        f"ossnb-part ossnb-part-{'gone' if g else row.state.value}"
        for row, g in zip(page.rows, gone, strict=True)
    ]
    cells = (_cells(row, g) for row, g in zip(page.rows, gone, strict=True))
    return caption + table(_HEAD, cells, css="ossnb-ledger-table", row_css=css)
