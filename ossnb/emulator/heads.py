"""Request heads read strictly: the request line and the header fields (RFC 9112 §3, §5).

The emulator's own reader, not ``http.server``'s (which hands the header block to
``email.parser``, a tenth of a millisecond a request). Every head is hostile: a line
over 64 KiB, more than 100 fields or 64 KiB of fields in all is ``431``; a field
line without a colon, with a space before it, with a name that is not a token,
folded onto the previous line, or carrying CR or NUL is ``400``; so are two
``Content-Length`` fields that disagree (which one frames the body would be a guess).
Field names keep their case, values lose leading blanks and the line end
(what ``http.server`` gave).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BufferedIOBase

__all__ = ["MAX_FIELDS", "MAX_HEADER_BYTES", "MAX_LINE", "BadHead", "Fields", "RequestLine"]

MAX_LINE = 65536
"""Longest request line or field line, in bytes."""
MAX_FIELDS = 100
MAX_HEADER_BYTES = 64 << 10
"""Most bytes of names and values in all."""
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


class BadHead(Exception):
    """A head the emulator refuses: answer ``status`` (OSS ``code``) with ``message``, then close."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class RequestLine:
    """``METHOD target HTTP/x.y`` (or ``GET target``, HTTP/0.9) split and checked."""

    __slots__ = ("keep_alive", "method", "target", "version")

    def __init__(self, raw: bytes, default_version: str) -> None:
        text = str(raw, "iso-8859-1").rstrip("\r\n")
        words = text.split()
        self.version, self.keep_alive = default_version, False
        if len(words) >= 3:
            version = words[-1]
            number = _version(version)
            if number is None:
                raise BadHead(400, f"Bad request version ({version[:100]!r})")
            if number >= (2, 0):
                raise BadHead(505, f"Invalid HTTP version ({version[:100]!r})")
            self.keep_alive = number >= (1, 1)
            self.version = version
        if not 2 <= len(words) <= 3:
            raise BadHead(400, f"Bad request syntax ({text[:100]!r})")
        self.method, self.target = words[0], words[1]
        if len(words) == 2 and self.method != "GET":
            raise BadHead(400, f"Bad HTTP/0.9 request type ({self.method[:100]!r})")
        if self.target.startswith("//"):
            self.target = "/" + self.target.lstrip("/")


def _version(text: str) -> tuple[int, int] | None:
    if not text.startswith("HTTP/"):
        return None
    major, dot, minor = text[5:].partition(".")
    if not dot or not major.isdigit() or not minor.isdigit() or not major.isascii():
        return None
    if not minor.isascii() or len(major) > 10 or len(minor) > 10:
        return None
    return int(major), int(minor)


class Fields:
    """The header fields of one request, in order; :meth:`get` finds the first by any case."""

    __slots__ = ("_first", "items")

    def __init__(self, rfile: BufferedIOBase) -> None:
        self.items: list[tuple[str, str]] = []
        self._first: dict[str, str] = {}
        total = 0
        for line in _lines(rfile):
            name, colon, value = str(line, "iso-8859-1").partition(":")
            if not colon:
                raise BadHead(400, "A header line without a colon.")
            if not _TOKEN.match(name):  # also a folded line, or a blank before the colon
                raise BadHead(400, f"Bad header name ({name[:100]!r}).")
            value = value.lstrip(" \t").rstrip("\r\n")
            if "\r" in value or "\0" in value:
                raise BadHead(400, f"Bad character in the {name[:100]} header.")
            total += len(name) + len(value)
            if total > MAX_HEADER_BYTES:
                raise BadHead(431, "The request headers are too large.")
            lower = name.lower()
            first = self._first.setdefault(lower, value)
            if lower == "content-length" and first.strip() != value.strip():
                raise BadHead(400, "Content-Length headers that disagree.", "InvalidArgument")
            self.items.append((name, value))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name`` (lower-case), else ``default``."""
        return self._first.get(name, default)


def _lines(rfile: BufferedIOBase) -> Iterator[bytes]:
    """Field lines up to the empty line (or the end of the stream)."""
    for _ in range(MAX_FIELDS + 1):
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise BadHead(431, "Line too long")
        if line in (b"\r\n", b"\n", b""):
            return
        yield line
    raise BadHead(431, f"Too many headers (more than {MAX_FIELDS})")
