"""Small HTML helpers shared by the widgets: escaping, sizes, tables, errors, state badges.

Every value that came from outside (keys, ETags, headers, error text) goes through
:func:`esc`; nothing here ever sees credentials.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..protocol.errors import ServiceError
from ..protocol.parts import format_size
from ..upload.ledger import SessionState

__all__ = [
    "STYLE",
    "error_html",
    "esc",
    "kv_table",
    "size",
    "state_badge",
    "table",
]

STYLE = (
    "<style>"
    + (Path(__file__).with_name("static") / "upload.css").read_text(encoding="utf-8")
    + "</style>"
)
"""The widgets' stylesheet (theme variables only), sent once in the header."""


def esc(value: object) -> str:
    """``value`` as text, HTML-escaped (``None`` as an empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


def size(n: float | None) -> str:
    return "" if n is None else format_size(n)


def state_badge(state: SessionState | str, css: str = "ossnb-state", label: str = "") -> str:
    """A badge coloured by theme variables; its text is the state's value (tests read it),
    or ``label`` when that says more (the class still names the state)."""
    value = state.value if isinstance(state, SessionState) else state
    return f'<span class="ossnb-badge ossnb-badge-{esc(value)} {css}">{esc(label or value)}</span>'


def table(
    head: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    css: str = "",
    row_css: Sequence[str] = (),
) -> str:
    """A table from cells that are already HTML (escape them first); ``row_css`` per row."""
    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = []
    for i, cells in enumerate(rows):
        cls = f' class="{row_css[i]}"' if i < len(row_css) and row_css[i] else ""
        body.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    return f'<table class="{css}"><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def kv_table(pairs: Iterable[tuple[str, str]], css: str = "ossnb-kv") -> str:
    """Two columns: an escaped label, and a value that is already HTML."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="{css}">{rows}</table>'


def error_html(error: BaseException | str, *, code: str | None = None, hint: str = "") -> str:
    """An error box: the OSS code and HTTP status if there are any, the message, the hint."""
    if isinstance(error, ServiceError):
        code = code or error.error_code
        hint = hint or error.hint
        head = f"{error.error_code} (HTTP {error.status})"
    elif isinstance(error, BaseException):
        head = code or type(error).__name__
    else:
        head = code or "Error"
    hint_html = f'<div class="ossnb-hint">Hint: {esc(hint)}</div>' if hint else ""
    return (
        f'<div class="ossnb-errbox"><b class="ossnb-error-code">{esc(head)}</b> '
        f'<span class="ossnb-error-message">{esc(error)}</span>{hint_html}</div>'
    )
