"""What each button's work came back with, as HTML for the step panel."""

from __future__ import annotations

from collections.abc import Sequence

from ..protocol.checksums import normalize_etag
from ..protocol.models import PartInfo
from ..upload.ledger import PartRow
from ..upload.receipt import Receipt
from .actions import StepRecord
from .markup import error_html, esc, kv_table, size, table
from .transcript import exchange_html

__all__ = ["aborted_html", "completed_html", "parts_html", "record_html", "uploaded_html"]

SHOWN_EXCHANGES = 4


def uploaded_html(row: PartRow) -> str:
    """Part ``n``: its ETag beside the local MD5, and its CRC-64."""
    same = bool(row.etag and row.md5 and normalize_etag(row.etag) == row.md5.upper())
    verdict = "equal ✓" if same else "differ ✗"
    return kv_table(
        [
            ("part", f'<span class="ossnb-step-part">{row.number}</span>'),
            ("bytes", f"{row.offset}–{max(row.end - 1, row.offset)} ({size(row.size)})"),
            ("local MD5", f'<code class="ossnb-step-md5">{esc(row.md5)}</code>'),
            ("ETag (OSS)", f'<code class="ossnb-step-etag">{esc(row.etag)}</code> {verdict}'),
            ("CRC-64", f"{esc(row.crc64)} (local = x-oss-hash-crc64ecma)"),
            ("attempts", str(row.attempts)),
        ]
    )


def parts_html(parts: Sequence[PartInfo]) -> str:
    """What ListParts returned: the server's own record of the upload."""
    rows = [
        [
            f"<td>{p.part_number}</td>",
            f"<td>{size(p.size)}</td>",
            f'<td class="ossnb-etag">{esc(p.etag)}</td>',
            f"<td>{esc(p.crc64)}</td>",
            f"<td>{esc(p.last_modified.isoformat(timespec='seconds'))}</td>",
        ]
        for p in parts[:50]
    ]
    more = f"<div>… and {len(parts) - 50:,} more</div>" if len(parts) > 50 else ""
    head = f'<div class="ossnb-listed">The server holds <b>{len(parts):,}</b> part(s).</div>'
    return head + table(("#", "size", "ETag", "CRC-64", "last modified"), rows) + more


def completed_html(receipt: Receipt) -> str:
    """The final ETag and CRC-64, and what was checked."""
    checked = (
        "equal to the parts' combined CRC-64; a HEAD confirmed size, ETag and CRC-64"
        if receipt.crc64_checked
        else "the parts' combined CRC-64; the server gave none for the object, so a HEAD "
        "confirmed size and ETag only"
    )
    return (
        '<div class="ossnb-okbox ossnb-completed">Completed and verified: ETag '
        f'<code class="ossnb-final-etag">{esc(receipt.etag)}</code>, CRC-64 '
        f'<code class="ossnb-final-crc">{esc(receipt.crc64)}</code> ({esc(checked)}).</div>'
    )


def aborted_html(receipt: Receipt) -> str:
    """The abort, and its proof: ListParts answered NoSuchUpload."""
    left = receipt.server_parts_after_abort
    proof = (
        "ListParts then answered NoSuchUpload: the server holds <b>no parts</b> for it."
        if left == 0
        else "The server's answer to ListParts was not checked."
    )
    return (
        f'<div class="ossnb-okbox ossnb-aborted">Aborted upload ID '
        f"<code>{esc(receipt.upload_id or '(none)')}</code>. {proof}</div>"
    )


def record_html(record: StepRecord | None) -> str:
    """The last button's work: title, outcome, and the HTTP exchanges it made."""
    if record is None:
        return ""
    head = f'<div><b class="ossnb-step-title">{esc(record.title)}</b>'
    if record.running:
        return head + ' <span class="ossnb-step-running">… running</span></div>'
    assert record.finished is not None
    took = f" ({(record.finished - record.started) * 1000:.0f} ms)</div>"
    body = error_html(record.error) if record.error is not None else record.result_html
    entries = record.entries[-SHOWN_EXCHANGES:]
    more = len(record.entries) - len(entries)
    exchanges = "".join(exchange_html(e) for e in entries)
    if more > 0:
        exchanges += f"<div>… {more} earlier exchange(s) in the transcript</div>"
    return head + took + body + exchanges
