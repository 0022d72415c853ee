"""What one HTTP exchange looked like, for the teaching transcript, with secrets masked.

The client builds an :class:`Exchange` after every attempt; sessions and widgets
show them. Nothing here can carry a secret: the access key secret never appears in
a request, and tokens and signatures are masked by :func:`mask_headers` and
:func:`mask_query` before an ``Exchange`` is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import quote, quote_plus

from msgspec import Struct, field

from .http import Query, encode_query

__all__ = [
    "FRAGMENT",
    "MIN_SECRET",
    "SHOWN_REQUEST_HEADERS",
    "SHOWN_RESPONSE_HEADERS",
    "Exchange",
    "mask_headers",
    "mask_query",
    "mask_text",
    "renderings",
]

MIN_SECRET = 8
"""Shorter values are not masked (they are no real secret, and would garble any text)."""
FRAGMENT = 12
"""The shortest run of a secret's characters that :func:`mask_text` masks on its own."""
_HIDDEN = "****"

SHOWN_REQUEST_HEADERS = (
    "authorization",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "host",
    "x-oss-complete-all",
    "x-oss-content-sha256",
    "x-oss-date",
    "x-oss-forbid-overwrite",
    "x-oss-security-token",
    "x-oss-copy-source",
    "range",
)
SHOWN_RESPONSE_HEADERS = (
    "content-length",
    "content-range",
    "content-type",
    "etag",
    "last-modified",
    "x-oss-hash-crc64ecma",
    "x-oss-object-type",
    "x-oss-request-id",
    "x-oss-ec",
)
_SECRET_PARAMS = {"signature", "x-oss-signature", "security-token", "x-oss-security-token"}
_SIGNATURE_IN_AUTH = re.compile(r"(Signature=|OSS [^:\s]+:)([^,\s]+)")


def _short(value: str) -> str:
    return value[:6] + "…" if len(value) > 6 else "…"


def renderings(secret: str) -> tuple[str, ...]:
    """The ways ``secret`` is spelled in texts that quote it: as is, percent-encoded (any
    safe set), form-encoded, escaped as a Python ``str``/``bytes`` repr or a JSON string
    (an HTTP library's "Illegal header value b'...'"), and as hex bytes (an OSS error's
    ``StringToSignBytes``). Longest first."""
    raw = secret.encode("utf-8", "backslashreplace")
    found = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        repr(secret)[1:-1],
        repr(raw)[2:-1],
        _json_escaped(secret, ascii_only=True),
        _json_escaped(secret, ascii_only=False),
        " ".join(f"{byte:02X}" for byte in raw),
        raw.hex(),
        raw.hex().upper(),
    }
    return tuple(sorted(found, key=len, reverse=True))


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _json_escaped(text: str, *, ascii_only: bool) -> str:
    """``text`` as it appears inside a JSON string (without the quotes)."""
    out = []
    for char in text:
        if char in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[char])
        elif ord(char) < 0x20 or (ascii_only and ord(char) > 0x7E):
            units = char.encode("utf-16-be")  # two units (a surrogate pair) above U+FFFF
            out.extend(f"\\u{units[i] << 8 | units[i + 1]:04x}" for i in range(0, len(units), 2))
        else:
            out.append(char)
    return "".join(out)


def mask_text(text: str, secrets: tuple[str, ...], *, fragments: bool = False) -> str:
    """``text`` with every rendering (see :func:`renderings`) of each secret of at least
    :data:`MIN_SECRET` characters replaced by ``****``.

    With ``fragments`` (for error messages, which may quote a value cut short), any run
    of :data:`FRAGMENT` or more characters of a secret or of its escaped forms is masked too.
    """
    for variant in _variants(secrets):
        if variant in text:
            text = text.replace(variant, _HIDDEN)
    if fragments:
        text = _mask_fragments(text, secrets)
    return text


@lru_cache(maxsize=32)
def _variants(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Every rendering of each long-enough secret, longest first (computed once: this runs
    for every exchange of the transcript)."""
    found = {form for s in secrets if len(s) >= MIN_SECRET for form in renderings(s)}
    return tuple(sorted(found, key=len, reverse=True))


@lru_cache(maxsize=32)
def _windows(secrets: tuple[str, ...]) -> frozenset[str]:
    """Every run of :data:`FRAGMENT` characters of each secret, as is and escaped."""
    windows: set[str] = set()
    for secret in secrets:
        if len(secret) < MIN_SECRET:
            continue
        raw = secret.encode("utf-8", "backslashreplace")
        for form in (secret, quote(secret, safe=""), repr(secret)[1:-1], repr(raw)[2:-1]):
            windows.update(form[i : i + FRAGMENT] for i in range(len(form) - FRAGMENT + 1))
    return frozenset(windows)


def _mask_fragments(text: str, secrets: tuple[str, ...]) -> str:
    windows = _windows(secrets)
    if not windows or len(text) < FRAGMENT:
        return text
    hidden = [False] * len(text)
    for start in range(len(text) - FRAGMENT + 1):
        if text[start : start + FRAGMENT] in windows:
            hidden[start : start + FRAGMENT] = [True] * FRAGMENT
    out: list[str] = []
    for index, char in enumerate(text):
        if not hidden[index]:
            out.append(char)
        elif index == 0 or not hidden[index - 1]:
            out.append(_HIDDEN)
    return "".join(out)


def mask_headers(headers: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The headers in ``names`` (lower-case), tokens hidden and signatures shortened."""
    shown: dict[str, str] = {}
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        if name == "x-oss-security-token" or name == "security-token":
            value = "****"
        elif name == "authorization":
            value = _SIGNATURE_IN_AUTH.sub(lambda m: m.group(1) + _short(m.group(2)), value)
        shown[name] = value
    return shown


def mask_query(query: Query) -> Query:
    """Query pairs with signatures shortened and security tokens hidden."""
    out = []
    for name, value in query:
        low = name.lower()
        if low in _SECRET_PARAMS:
            value = "****" if "token" in low else _short(value)
        out.append((name, value))
    return tuple(out)


class Exchange(Struct, frozen=True):
    """One request/response round trip (one attempt), as a teacher would show it."""

    operation: str
    method: str
    host: str
    path: str
    query: Query
    request_headers: Mapping[str, str] = field(default_factory=dict)
    status: int | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    string_to_sign: str = ""
    canonical_request: str | None = None
    request_bytes: int = 0
    response_bytes: int = 0
    elapsed: float = 0.0
    attempt: int = 1
    error: str | None = None

    @property
    def target(self) -> str:
        """``path?query`` as sent (masked)."""
        q = encode_query(self.query)
        return self.path + ("?" + q if q else "")

    def summary(self) -> str:
        """One line: ``PUT /b/k?partNumber=1&uploadId=… -> 200 (12.3 ms)``."""
        outcome = str(self.status) if self.status is not None else "no answer"
        if self.error:
            outcome += f" {self.error}"
        retry = f" [attempt {self.attempt}]" if self.attempt > 1 else ""
        return (
            f"{self.operation}: {self.method} {self.target} -> {outcome} "
            f"({self.elapsed * 1000:.1f} ms){retry}"
        )
