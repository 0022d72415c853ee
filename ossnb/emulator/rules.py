"""Pure OSS rules the emulator applies: names, ranges, formats (no I/O, no state).

Names follow docs/PROTOCOL.md §3.1; ranges follow the OSS quirk of docs/PROTOCOL.md §2.4; formats docs/PROTOCOL.md §1.4.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from datetime import datetime, timezone
from urllib.parse import quote, unquote

from msgspec import Struct

from ..protocol import errors
from ..protocol.dates import format_http_date
from ..protocol.dates import parse_http_date as parse_date
from ..protocol.numbers import parse_uint
from ..protocol.operations import validate_bucket_name, validate_key

__all__ = [
    "ByteRange",
    "check_bucket_name",
    "check_key",
    "check_tagging",
    "content_md5",
    "http_date",
    "iso8601",
    "offset",
    "parse_http_date",
    "resolve_range",
    "url_encode",
    "xml_safe",
]

_RANGE = re.compile(r"^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$", re.IGNORECASE)
_HUGE = 1 << 63
_MAX_TAGS = 10
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_bucket_name(name: str) -> None:
    """``InvalidBucketName`` unless ``name`` is 3-63 of ``[a-z0-9-]``, alphanumeric at both ends."""
    try:
        validate_bucket_name(name)
    except errors.UsageError as exc:
        raise errors.InvalidBucketName(str(exc), details={"BucketName": name[:100]}) from None


def check_key(key: str) -> None:
    """``InvalidObjectName`` for keys OSS (or this emulator, for safety) refuses.

    docs/PROTOCOL.md §3.1: 1-1023 UTF-8 bytes, not starting with ``/`` or ``\\``. Control
    characters are accepted as OSS accepts them (keys never become file paths here,
    docs/PROTOCOL.md §7.3), except NUL; the emulator also refuses ``..`` path segments,
    the usual payload of path-traversal
    attempts.
    """
    try:
        validate_key(key, allow_control_chars=True)
    except errors.UsageError as exc:
        raise errors.InvalidObjectName(str(exc)) from None
    if "\x00" in key:
        raise errors.InvalidObjectName("The object name must not contain a NUL character.")
    if ".." in re.split(r"[/\\]", key):
        raise errors.InvalidObjectName("The object name must not contain a .. path segment.")


def content_md5(value: str | None) -> bytes | None:
    """Decode a ``Content-MD5`` header to 16 bytes; ``InvalidDigest`` if it is not one (docs/PROTOCOL.md §3.5)."""
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise errors.InvalidDigest(ec="0017-00000502")
    return raw


def offset(digits: str) -> int:
    """A byte offset spelled in ASCII digits; any number past 2**63 counts as 2**63.

    (Beyond every object's end, so range rules apply without converting a huge string.)
    """
    value = parse_uint(digits, overflow=_HUGE)
    if value is None:
        raise ValueError(f"not a byte offset: {digits[:40]!r}")
    return value


class ByteRange(Struct, frozen=True):
    """An inclusive byte range ``first..last`` of an object of ``total`` bytes."""

    first: int
    last: int
    total: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.total}"


def resolve_range(header: str | None, size: int, standard: bool) -> ByteRange | None:
    """The slice a ``Range`` header asks for, or ``None`` for the whole object (docs/PROTOCOL.md §2.4).

    Only the first range of a list is honoured. Without ``standard`` behaviour OSS
    ignores malformed or unsatisfiable ranges (whole object, 200); with it, a start
    beyond the end is ``InvalidRange`` (416) and an end beyond it is clamped.
    """
    if header is None:
        return None
    match = _RANGE.match(header.split(",", 1)[0])
    if not match or (not match.group(1) and not match.group(2)):
        return None  # malformed ranges are ignored in both modes
    first_s, last_s = match.groups()
    if not first_s:  # suffix: the last n bytes
        n = offset(last_s)
        if n == 0 or size == 0:
            return _unsatisfiable(header, size, standard)
        if n > size:
            return ByteRange(0, size - 1, size) if standard else None
        return ByteRange(size - n, size - 1, size)
    first = offset(first_s)
    last = offset(last_s) if last_s else size - 1
    if last_s and last < first:
        return _unsatisfiable(header, size, standard)
    if first >= size:
        return _unsatisfiable(header, size, standard)
    if last >= size:
        if not standard and last_s:
            return None
        last = size - 1
    return ByteRange(first, last, size)


def _unsatisfiable(header: str, size: int, standard: bool) -> ByteRange | None:
    if standard:
        raise errors.InvalidRange(
            details={"RangeRequested": header[:100], "ActualObjectSize": str(size)}
        )
    return None


_NOW: list[tuple[int, str]] = [(-1, "")]  # (second, its date): one formatting a second


def http_date(ts: float | None = None) -> str:
    """RFC 1123 date with a two-digit day and ``GMT`` (docs/PROTOCOL.md §1.4); now by default."""
    if ts is not None:
        return format_http_date(datetime.fromtimestamp(ts, timezone.utc))
    second = int(time.time())
    cached = _NOW[0]
    if cached[0] != second:
        cached = (second, format_http_date(datetime.fromtimestamp(second, timezone.utc)))
        _NOW[0] = cached
    return cached[1]


def parse_http_date(value: str | None) -> float | None:
    """Seconds since the epoch for an HTTP date, or ``None`` if absent or unparsable."""
    parsed = parse_date(value) if value else None
    return None if parsed is None else parsed.timestamp()


def iso8601(ts: float) -> str:
    """XML timestamp with the ``.000Z`` fraction oss2 insists on (docs/PROTOCOL.md §1.4)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(int(ts)))


def url_encode(text: str) -> str:
    """``encoding-type=url`` form: every byte but ``A-Za-z0-9-_.~`` as upper-case ``%XX`` (docs/PROTOCOL.md §1.5)."""
    return quote(text, safe="")


def xml_safe(text: str) -> bool:
    """Whether XML 1.0 can carry ``text`` (most control characters it cannot)."""
    return _NOT_XML.search(text) is None


def check_tagging(value: str) -> None:
    """``InvalidArgument`` unless ``x-oss-tagging`` is a valid tag set: URL-encoded
    ``k=v`` pairs joined by ``&``, at most 10, keys 1-128 and values 0-256 characters,
    no key twice (OSS object tagging limits)."""
    seen: set[str] = set()
    pairs = value.split("&") if value else []
    for pair in pairs:
        raw_key, _, raw_value = pair.partition("=")
        try:
            key, text = unquote(raw_key, errors="strict"), unquote(raw_value, errors="strict")
        except UnicodeDecodeError:
            key, text = "", ""
        if not 1 <= len(key) <= 128 or len(text) > 256 or key in seen or len(pairs) > _MAX_TAGS:
            raise errors.InvalidArgument(
                "The x-oss-tagging header is not a valid tag set.",
                details={"ArgumentName": "x-oss-tagging", "ArgumentValue": value[:300]},
            )
        seen.add(key)
