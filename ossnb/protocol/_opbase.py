"""What every operation shares: the base class, input validators, scalar codecs, XML reading.

Import these from :mod:`ossnb.protocol.operations`; this module only exists so that
``operations`` and ``multipart`` can both build on it without importing each other.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import ClassVar, Generic, TypeVar
from urllib.parse import unquote

from msgspec import Struct

from . import dates, xml
from .checksums import md5_b64
from .content_types import guess_content_type
from .dates import format_http_date
from .errors import ResponseError, UsageError
from .http import Request, Response

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_LIST_PAGE",
    "MAX_PART_NUMBER",
    "Operation",
    "format_http_date",
    "format_timestamp",
    "guess_content_type",
    "md5_header",
    "parse_crc64",
    "parse_http_date",
    "parse_timestamp",
    "validate_bucket_name",
    "validate_key",
    "validate_part_number",
    "validate_upload_id",
]

T = TypeVar("T", covariant=True)  # an Operation[PutObjectResult] is an Operation[object]

MAX_KEY_BYTES = 1023
MAX_PART_NUMBER = 10_000
MAX_LIST_PAGE = 1000


class Operation(Struct, Generic[T], frozen=True):
    """One OSS API call: inputs as the fields of a frozen ``msgspec.Struct``, no I/O
    (docs/ARCHITECTURE.md §1).

    ``to_request()`` builds the :class:`Request`; ``parse()`` turns a *successful*
    response into ``T`` (error statuses go through ``errors.error_from_response``).
    """

    name: ClassVar[str]

    def to_request(self) -> Request:
        """The request for this call."""
        raise NotImplementedError

    def parse(self, response: Response) -> T:
        """The typed result of a successful response; :class:`ResponseError` if malformed."""
        raise NotImplementedError


# ----------------------------------------------------------------------------- validation

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")


def validate_bucket_name(name: str) -> str:
    """Return ``name`` if it is a valid bucket name (docs/PROTOCOL.md §3.1), else raise :class:`UsageError`."""
    rule = "3-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"
    if not isinstance(name, str) or not 3 <= len(name) <= 63:
        size = f"{len(name)} characters" if isinstance(name, str) else "not a string"
        raise UsageError(f"invalid bucket name {name!r} ({size}): use {rule}")
    if not _BUCKET.match(name):
        raise UsageError(f"invalid bucket name {name!r}: use {rule}")
    return name


def validate_key(key: str, *, allow_control_chars: bool = False) -> str:
    """Return ``key`` if it is a valid object key, else raise :class:`UsageError`.

    OSS rules (docs/PROTOCOL.md §3.1): 1-1023 UTF-8 bytes, not starting with ``/`` or ``\\``. ossnb
    also refuses control characters unless ``allow_control_chars`` (OSS stores them).
    """
    if not isinstance(key, str) or not key:
        raise UsageError("object key must be a non-empty string")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise UsageError(f"object key {key!r} is not valid Unicode text ({exc.reason})") from None
    if size > MAX_KEY_BYTES:
        raise UsageError(f"object key is {size} bytes in UTF-8; OSS allows at most {MAX_KEY_BYTES}")
    if key[0] in "/\\":
        raise UsageError(
            f"object key {key!r} starts with {key[0]!r}; OSS refuses keys starting with / or \\ "
            "(write 'dir/file', not '/dir/file')"
        )
    if not allow_control_chars:
        for index, char in enumerate(key):
            if char < " " or "\x7f" <= char <= "\x9f":  # Unicode category Cc
                raise UsageError(
                    f"object key {key!r} contains control character U+{ord(char):04X} at "
                    f"index {index}; ossnb refuses control characters in keys for safety: they "
                    "are invisible in listings, break logs and terminals, and usually come from "
                    "a mistake (a stray newline)"
                )
    return key


def validate_part_number(number: int) -> int:
    """Return ``number`` if it is within 1..10000 (docs/PROTOCOL.md §3.1), else raise :class:`UsageError`."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise UsageError(f"part number must be an int, got {number!r}")
    if not 1 <= number <= MAX_PART_NUMBER:
        raise UsageError(
            f"part number {number} is outside 1..{MAX_PART_NUMBER} (docs/PROTOCOL.md §3.1)"
        )
    return number


def validate_upload_id(upload_id: str) -> str:
    """Return ``upload_id`` if it is a non-empty printable ASCII token, else raise."""
    if not isinstance(upload_id, str) or not upload_id:
        raise UsageError("upload ID must be a non-empty string")
    if not upload_id.isascii() or not upload_id.isprintable() or " " in upload_id:
        raise UsageError(f"upload ID {upload_id!r} must be printable ASCII without spaces")
    return upload_id


def validate_page_size(name: str, value: int | None) -> int | None:
    """``max-keys`` / ``max-uploads`` / ``max-parts``: ``None`` or 1..1000 (docs/PROTOCOL.md §3.1)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIST_PAGE:
        raise UsageError(f"{name} must be between 1 and {MAX_LIST_PAGE}, got {value!r}")
    return value


def md5_header(body: bytes = b"") -> dict[str, str]:
    """The ``Content-MD5`` v2 adds to non-data requests (docs/PROTOCOL.md §1.2)."""
    return {"content-md5": md5_b64(body)}


def validate_content_md5(value: str | None) -> str | None:
    """A caller-supplied ``Content-MD5``: base64 of 16 bytes (docs/PROTOCOL.md §3.5)."""
    if value is None:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise UsageError(f"content_md5 {value!r} is not the base64 of a 16-byte MD5 digest")
    return value


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "content-length",
        "date",
        "host",
        "transfer-encoding",
        "x-oss-content-sha256",
        "x-oss-date",
        "x-oss-security-token",
    }
)


def _check_header_value(name: str, value: str) -> None:
    if not isinstance(value, str) or not all(c == "\t" or " " <= c <= "~" for c in value):
        raise UsageError(
            f"header {name!r} has value {value!r}: HTTP header values must be printable "
            "ASCII (url-encode other text first)"
        )


def object_headers(
    metadata: Mapping[str, str], headers: Mapping[str, str], forbid_overwrite: bool
) -> dict[str, str]:
    """Extra headers, ``x-oss-meta-*`` and ``x-oss-forbid-overwrite``, validated (docs/PROTOCOL.md §2.3)."""
    out: dict[str, str] = {}
    for raw_name, value in headers.items():
        name = raw_name.lower()
        if not _TOKEN.match(name):
            raise UsageError(f"{raw_name!r} is not a valid HTTP header name")
        if name in _RESERVED_HEADERS:
            raise UsageError(f"header {raw_name!r} is set by the transport or signer, not here")
        _check_header_value(name, value)
        out[name] = value
    seen: set[str] = set()
    for raw_name, value in metadata.items():
        if not raw_name or not _TOKEN.match(raw_name):
            raise UsageError(f"metadata name {raw_name!r} must be a header token (e.g. 'owner')")
        if raw_name.lower() in seen:
            raise UsageError(f"metadata name {raw_name!r} is given twice (names ignore case)")
        seen.add(raw_name.lower())
        name = "x-oss-meta-" + raw_name.lower()
        _check_header_value(name, value)
        out[name] = value
    if forbid_overwrite:
        out["x-oss-forbid-overwrite"] = "true"
    return out


# ------------------------------------------------------------------------- scalar codecs

_TIMESTAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$")
_DIGITS = re.compile(r"^[0-9]+$")


def parse_timestamp(text: str) -> datetime:
    """``2024-01-15T08:30:00.000Z`` → aware UTC datetime (docs/PROTOCOL.md §1.4); ``ValueError`` if not."""
    match = _TIMESTAMP.match(text.strip())
    if not match:
        raise ValueError(f"not an OSS timestamp: {text!r}")
    *fields, fraction = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    year, month, day, hour, minute, second = (int(f) for f in fields)
    return datetime(year, month, day, hour, minute, second, micros, tzinfo=timezone.utc)


def format_timestamp(when: datetime) -> str:
    """Aware datetime → ``YYYY-MM-DDTHH:MM:SS.000Z`` (oss2 requires exactly ``.000``)."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_http_date(text: str) -> datetime:
    """RFC 1123 date (``Mon, 15 Jan 2024 08:30:00 GMT``) → aware UTC datetime."""
    when = dates.parse_http_date(text)
    if when is None:
        raise ValueError(f"not an HTTP date: {text!r}")
    return when


def parse_crc64(text: str) -> int:
    """An unsigned 64-bit decimal CRC (docs/PROTOCOL.md §3.4) → int; ``ValueError`` if not one."""
    value = text.strip()
    if not _DIGITS.match(value) or len(value) > 20 or int(value) >= 1 << 64:
        raise ValueError(f"not a CRC-64 value: {text!r}")
    return int(value)


def parse_count(text: str) -> int:
    """A non-negative decimal integer; ``ValueError`` otherwise."""
    value = text.strip()
    if not _DIGITS.match(value):
        raise ValueError(f"not a non-negative integer: {text!r}")
    return int(value)


# ------------------------------------------------------------------------ response reading


def header(response: Response, name: str, where: str) -> str:
    """A required response header; :class:`ResponseError` naming it when absent."""
    value = response.header(name)
    if value is None:
        raise ResponseError(f"{where} response has no {name} header")
    return value


def crc_header(response: Response, where: str) -> int | None:
    """``x-oss-hash-crc64ecma`` as int, ``None`` when absent (docs/PROTOCOL.md §3.4)."""
    value = response.header("x-oss-hash-crc64ecma")
    if value is None or value == "":
        return None
    try:
        return parse_crc64(value)
    except ValueError as exc:
        raise ResponseError(f"{where} response: bad x-oss-hash-crc64ecma: {exc}") from None


class Doc:
    """An XML element read with the error messages OSS callers need (docs/PROTOCOL.md §1.5).

    Missing required elements and bad scalars raise :class:`ResponseError` naming the
    operation and element; ``name()`` url-decodes when the document says
    ``<EncodingType>url</EncodingType>``.
    """

    __slots__ = ("el", "url", "where")

    def __init__(self, el: ET.Element, where: str, url: bool) -> None:
        self.el = el
        self.where = where
        self.url = url

    @classmethod
    def load(cls, body: bytes, root: str, where: str) -> Doc:
        """Parse ``body`` and check its root tag."""
        try:
            el = xml.parse(body)
        except xml.XMLError as exc:
            raise ResponseError(f"{where} response body is not valid XML: {exc}") from None
        if el.tag != root:
            raise ResponseError(f"{where} response has root <{el.tag}>, expected <{root}>")
        url = (xml.child_text(el, "EncodingType") or "").strip().lower() == "url"
        return cls(el, where, url)

    def children(self, tag: str) -> list[Doc]:
        """Every direct child ``tag``, in document order."""
        return [Doc(child, self.where, self.url) for child in self.el.findall(tag)]

    def opt(self, path: str) -> str | None:
        """Text at ``path`` (``""`` when empty) or ``None`` when absent."""
        return xml.child_text(self.el, path)

    def req(self, path: str) -> str:
        """Text at ``path``; :class:`ResponseError` when absent."""
        value = xml.child_text(self.el, path)
        if value is None:
            raise ResponseError(f"{self.where} response is missing <{path}> in <{self.el.tag}>")
        return value

    def _count(self, path: str, text: str) -> int:
        try:
            return parse_count(text)
        except ValueError:
            raise ResponseError(
                f"{self.where} response has <{path}>{text}</{path}>, not a non-negative integer"
            ) from None

    def name(self, path: str, default: str | None = None) -> str:
        """A name-like field (key, prefix, marker), url-decoded if the document is encoded."""
        if default is None:
            text = self.req(path)
        else:
            text = self.opt(path) or ""
            if not text:
                return default
        return unquote(text) if self.url else text

    def integer(self, path: str) -> int:
        """A required non-negative integer."""
        return self._count(path, self.req(path))

    def opt_integer(self, path: str) -> int | None:
        """A non-negative integer, or ``None`` when absent or empty."""
        text = self.opt(path)
        if text is None or text.strip() == "":
            return None
        return self._count(path, text)

    def boolean(self, path: str) -> bool:
        """A required ``true``/``false`` (exactly, as oss2 insists: docs/PROTOCOL.md §1.4)."""
        text = self.req(path).strip()
        if text not in ("true", "false"):
            raise ResponseError(f"{self.where} response has <{path}>{text}</{path}>, not a boolean")
        return text == "true"

    def timestamp(self, path: str) -> datetime:
        """A required ``YYYY-MM-DDTHH:MM:SS.000Z`` timestamp (docs/PROTOCOL.md §1.4)."""
        text = self.req(path)
        try:
            return parse_timestamp(text)
        except ValueError:
            raise ResponseError(
                f"{self.where} response has <{path}>{text}</{path}>, not a timestamp"
            ) from None

    def crc64(self, path: str) -> int | None:
        """An optional CRC-64 element (``<HashCrc64ecma>``)."""
        text = self.opt(path)
        if text is None or text.strip() == "":
            return None
        try:
            return parse_crc64(text)
        except ValueError:
            raise ResponseError(
                f"{self.where} response has <{path}>{text}</{path}>, not a CRC-64"
            ) from None

    def prefixes(self) -> list[str]:
        """``<CommonPrefixes><Prefix>`` values, decoded."""
        return [p.name("Prefix") for p in self.children("CommonPrefixes")]
