"""Byte-level helpers of the socket server: header text as clients send it, chunked output."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from io import BufferedIOBase

__all__ = ["send_chunked", "utf8_headers"]


def utf8_headers(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Header values as UTF-8 text: ``http.server`` decodes header bytes as Latin-1,
    but clients send UTF-8 (``x-oss-meta-x: 测试``); other bytes stay as Latin-1 text."""
    out = []
    for name, value in items:
        if value.isascii():
            out.append((name, value))
            continue
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            value = value.encode("latin-1").decode("utf-8")
        out.append((name, value))
    return out


def send_chunked(wfile: BufferedIOBase, pieces: Iterable[bytes]) -> None:
    """Write ``pieces`` with chunked transfer encoding, then the last chunk."""
    for piece in pieces:
        if piece:
            wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
    wfile.write(b"0\r\n\r\n")
