"""The one seam between the protocol core and any transport.

A :class:`Request` names what is asked of OSS (method, bucket, key, decoded query,
headers, body) without deciding how it travels: the client turns it into a URL
(path-style or virtual-hosted) and the emulator builds one from what it received.
A :class:`Response` is what came back. Header names are always lower-case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, TypeAlias
from urllib.parse import quote, unquote_plus

from msgspec import Struct, field
from msgspec.structs import replace

__all__ = [
    "BODY_PIECE",
    "Body",
    "BodyReader",
    "Masked",
    "Request",
    "Response",
    "encode_key",
    "encode_query",
    "lower_headers",
    "mask_query",
    "repr_hiding_body",
]

BODY_PIECE = 1 << 20
"""The size of the pieces a request body goes out in (the last one may be shorter)."""


class BodyReader(Protocol):
    """A body that is read anew, piece by piece, each time it is sent.

    ``pieces()`` yields views of at most :data:`BODY_PIECE` bytes that add up to
    ``len()``; a view may be reused for the next piece, so it is valid only until then.
    ``file_span`` is where the piece yielded last lies in a regular file, as
    ``(descriptor, offset)``, or ``None``: a transport may send those bytes from the file
    (``os.sendfile``) rather than from the view. It then sends what the file holds at
    that moment, so the server must check what arrived against the view's checksum.
    """

    file_span: tuple[int, int] | None

    def __len__(self) -> int: ...

    def pieces(self) -> Iterator[memoryview]: ...


Body: TypeAlias = "bytes | BodyReader"

Query = tuple[tuple[str, str], ...]
_SECRET_NAMES = frozenset(
    {"x-oss-security-token", "security-token", "signature", "x-oss-signature"}
)


class Masked(Struct, frozen=True):
    """Base of a record whose ``repr()`` hides something: a secret, a token, a body.

    msgspec gives every Struct a ``__rich_repr__`` that lists each field, and rich's
    pretty printer (in most notebook environments) prefers it to ``repr()``. Here it
    offers nothing, so rich shows the masked ``repr()`` as it is.
    """

    # rich takes None as "no field list" and falls back to repr(); an empty list would
    # show ``Name()``, so the stub's list type is overridden on purpose
    def __rich_repr__(self) -> None:  # type: ignore[override]
        return None


def repr_hiding_body(value: Struct) -> str:
    """``Name(field=value, ...)`` with ``body`` shown by its length only (it can be GiBs)."""
    shown = (
        f"{name}=<{len(getattr(value, name))} bytes>"
        if name == "body"
        else f"{name}={getattr(value, name)!r}"
        for name in value.__struct_fields__
    )
    return f"{type(value).__name__}({', '.join(shown)})"


def lower_headers(headers: Mapping[str, str] | Sequence[tuple[str, str]]) -> dict[str, str]:
    """Return ``headers`` as a dict with lower-case names (later duplicates win)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name.lower(): value for name, value in items}


class Request(Masked, frozen=True):
    """A request to OSS before it is addressed to a host.

    ``query`` holds decoded ``(name, value)`` pairs in the order they are sent; an
    empty value means a bare parameter such as ``?uploads``. ``headers`` has
    lower-case names. ``bucket`` and ``key`` are ``None`` for service-level and
    bucket-level requests respectively.
    """

    method: str
    bucket: str | None = None
    key: str | None = None
    query: Query = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Body = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name`` (any case), or ``default``."""
        return self.headers.get(name.lower(), default)

    def __repr__(self) -> str:
        # Tokens and signatures never reach a repr (they may end up in logs).
        headers = {k: ("****" if k in _SECRET_NAMES else v) for k, v in self.headers.items()}
        if "authorization" in headers:
            headers["authorization"] = headers["authorization"].split(" ", 1)[0] + " ****"
        query = tuple((k, "****" if k.lower() in _SECRET_NAMES else v) for k, v in self.query)
        return (
            f"Request(method={self.method!r}, bucket={self.bucket!r}, key={self.key!r}, "
            f"query={query!r}, headers={headers!r}, body=<{len(self.body)} bytes>)"
        )

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``, or ``default`` when absent."""
        for k, v in self.query:
            if k == name:
                return v
        return default

    def with_headers(self, **headers: str) -> Request:
        """A copy with ``headers`` added; underscores in names become hyphens."""
        merged = dict(self.headers)
        merged.update({k.replace("_", "-").lower(): v for k, v in headers.items()})
        return replace(self, headers=merged)

    def with_header_map(self, headers: Mapping[str, str]) -> Request:
        """A copy with the given (any-case) headers added or replaced."""
        merged = dict(self.headers)
        merged.update(lower_headers(headers))
        return replace(self, headers=merged)

    def with_query(self, *pairs: tuple[str, str]) -> Request:
        """A copy with query pairs appended."""
        return replace(self, query=(*self.query, *pairs))

    @property
    def path(self) -> str:
        """The path-style path, percent-encoded as the v2 SDK sends it (``/`` kept)."""
        if self.bucket is None:
            return "/"
        if self.key is None:
            return f"/{self.bucket}/"
        return f"/{self.bucket}/{encode_key(self.key)}"

    @property
    def virtual_path(self) -> str:
        """The path for virtual-hosted addressing (bucket in the host name)."""
        if self.key is None:
            return "/"
        return "/" + encode_key(self.key)


class Response(Masked, frozen=True):
    """A response from OSS: status, lower-case headers and the whole body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name`` (any case), or ``default``."""
        return self.headers.get(name.lower(), default)

    def __repr__(self) -> str:
        return (
            f"Response(status={self.status}, request_id={self.request_id!r}, "
            f"body=<{len(self.body)} bytes>)"
        )

    @property
    def request_id(self) -> str:
        """The ``x-oss-request-id`` header, or an empty string."""
        return self.headers.get("x-oss-request-id", "")


def encode_key(key: str) -> str:
    """Percent-encode an object key for a URL path: RFC 3986 unreserved and ``/`` kept."""
    return quote(key, safe="/~")


def encode_query(query: Query) -> str:
    """Encode query pairs for a URL (``%20`` for spaces, never ``+``); bare names for empty values."""
    parts = []
    for name, value in query:
        n = quote(name, safe="~")
        parts.append(f"{n}={quote(value, safe='~')}" if value != "" else n)
    return "&".join(parts)


# A name starts the text or follows a delimiter (never a scan from every position).
_PAIR = re.compile(r"""(?:^|(?<=[?&;\s'"(]))(?P<name>[^=&?;\s'"]+)=(?P<value>[^&\s'"]*)""")


def mask_query(text: str) -> str:
    """``text`` (a URL, a request line, a log message) with secret query values masked.

    The values of ``security-token``, ``x-oss-security-token``, ``Signature`` and
    ``x-oss-signature`` become ``****``, whatever the case or percent-encoding of
    their names, so a request line can be logged.
    """

    def mask(match: re.Match[str]) -> str:
        if unquote_plus(match["name"]).strip().lower() in _SECRET_NAMES:
            return f"{match['name']}=****"
        return match[0]

    return _PAIR.sub(mask, text)
