"""What the client puts on the wire and reads off it: body pieces (with progress and
cancellation), the fixed request headers, per-phase timeouts, response header text."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..protocol.errors import Cancelled
from ..protocol.http import BODY_PIECE, Body

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_TIMEOUT",
    "FIXED_HEADERS",
    "Progress",
    "chunks",
    "decoded_headers",
    "timeouts",
    "whole",
]

Progress = Callable[[int], None]
DEFAULT_TIMEOUT = 60.0
"""Seconds for each read, write and pool wait (connecting: 10 s) unless ``timeout=`` says."""

FIXED_HEADERS = [(b"accept-encoding", b"identity"), (b"user-agent", b"ossnb")]


def timeouts(timeout: float | httpx.Timeout | None) -> dict[str, float | None]:
    """Per-phase seconds: ``None`` gives :data:`DEFAULT_TIMEOUT` (connecting: 10 s), a number
    bounds every phase, an ``httpx.Timeout`` says each one."""
    if timeout is None:
        return {"connect": 10.0, "read": DEFAULT_TIMEOUT, "write": DEFAULT_TIMEOUT,
                "pool": DEFAULT_TIMEOUT}  # fmt: skip
    if isinstance(timeout, (int, float)):
        return dict.fromkeys(("connect", "read", "write", "pool"), float(timeout))
    phases: dict[str, float | None] = timeout.as_dict()
    return phases


def decoded_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Response headers with lower-case names; a repeated header's values joined with ", ".

    Values are ASCII, else UTF-8, else Latin-1, judged over all of them (as httpx does).
    """
    encoding = "iso-8859-1"
    for candidate in ("ascii", "utf-8"):
        try:
            for _, value in raw:
                value.decode(candidate)
        except UnicodeDecodeError:
            continue
        encoding = candidate
        break
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode(encoding)
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _pieces(body: Body) -> Iterator[memoryview]:
    """``body`` in pieces of at most :data:`BODY_PIECE` bytes (a reader's are read now)."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        yield from body.pieces()
        return
    view = memoryview(body)
    for start in range(0, len(view), BODY_PIECE):
        yield view[start : start + BODY_PIECE]


def whole(body: Body) -> bytes:
    """``body`` as one ``bytes`` (httpcore would take a memoryview or bytearray for an iterable)."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    return b"".join(bytes(piece) for piece in body.pieces())  # a reader reuses its views


def chunks(
    body: Body, progress: Progress | None, cancel: threading.Event | None, sent: list[int]
) -> Iterator[bytes | memoryview]:
    from .transport import check_uncopied, uncopied

    reader = None if isinstance(body, (bytes, bytearray, memoryview)) else body
    for chunk in _pieces(body):
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled in flight")
        span = reader.file_span if reader is not None else None
        yield uncopied(chunk, span)  # written when the next chunk is asked for
        check_uncopied()
        sent[0] += len(chunk)
        if progress is not None:
            progress(len(chunk))
