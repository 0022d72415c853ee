"""HTTP exchanges as HTML, for the teaching transcript and the step panel.

An :class:`~ossnb.protocol.transcript.Exchange` is masked where it is built (tokens
hidden, signatures shortened), so these renderers only escape and lay it out: method,
path and query, status, the key headers both ways, and the string that was signed.
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec import Struct

from ..protocol.checksums import EMPTY_MD5_B64
from ..protocol.transcript import Exchange
from .markup import esc, kv_table

__all__ = ["Entry", "exchange_html", "summary_html", "transcript_html"]

SHOWN = 20


class Entry(Struct, frozen=True):
    """An exchange as the widget saw it: its sequence number and part (if any)."""

    seq: int
    exchange: Exchange
    part: int | None = None


def _status(exchange: Exchange) -> str:
    status = exchange.status
    text = str(status) if status is not None else "no answer"
    if exchange.error:
        text += f" {exchange.error}"
    ok = status is not None and status < 300
    return f'<b class="ossnb-status ossnb-status-{"ok" if ok else "error"}">{esc(text)}</b>'


def summary_html(entry: Entry) -> str:
    """One line: ``#12 UploadPart PUT /b/k?partNumber=3&uploadId=… → 200 (12.3 ms)``."""
    ex = entry.exchange
    retry = f" [attempt {ex.attempt}]" if ex.attempt > 1 else ""
    return (
        f'<div class="ossnb-exchange-line">#{entry.seq} <b>{esc(ex.operation)}</b> '
        f"<code>{esc(ex.method)} {esc(ex.target)}</code> → {_status(ex)} "
        f"({ex.elapsed * 1000:.1f} ms){esc(retry)}</div>"
    )


def exchange_html(entry: Entry) -> str:
    """The whole exchange: request line, key headers, status, response headers, string signed."""
    ex = entry.exchange
    headers = {"host": ex.host, **ex.request_headers}
    request = kv_table([(k, _header(k, v)) for k, v in headers.items()])
    response = kv_table([(k, esc(v)) for k, v in ex.response_headers.items()])
    signed = f'<div>string to sign:</div><pre class="ossnb-sts">{esc(ex.string_to_sign)}</pre>'
    if ex.canonical_request:
        signed += f"<div>canonical request:</div><pre>{esc(ex.canonical_request)}</pre>"
    return (
        f'<div class="ossnb-exchange">{summary_html(entry)}'
        f'<div style="display:flex;gap:16px;flex-wrap:wrap"><div><i>request</i>{request}</div>'
        f"<div><i>answer</i>{response}</div></div>{signed}</div>"
    )


def _header(name: str, value: str) -> str:
    """A request header's value, with a word on the one that puzzles people."""
    if name.lower() == "content-md5" and value == EMPTY_MD5_B64:
        return (
            f'{esc(value)} <i class="ossnb-note">(the MD5 of an empty body: this request has '
            "none; sent and signed anyway, as the official V2 SDK does for this operation)</i>"
        )
    return esc(value)


def transcript_html(entries: Sequence[Entry], total: int, shown: int = SHOWN) -> str:
    """The newest ``shown`` exchanges in full, newest first, with how many there were."""
    if not entries:
        return "<i>No HTTP exchanges yet.</i>"
    last = list(entries)[-shown:][::-1]
    head = f'<div class="ossnb-transcript-count">{total:,} exchange(s); the last {len(last)} shown, newest first. Secrets are masked.</div>'
    return head + "<hr>".join(exchange_html(e) for e in last)
