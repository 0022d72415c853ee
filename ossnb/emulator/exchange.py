"""What flows between the socket server, the router and the operation handlers.

:class:`Body` is the request body as a bounded stream (the server implements it over
the socket); :class:`Call` is one routed request; :class:`Reply` is what goes back,
either small ``bytes`` or file slices streamed with ``sendfile``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from msgspec import Struct, field

from ..protocol import errors
from ..protocol.xml import MAX_XML_BYTES
from .blobs import Blob
from .faults import Fault
from .rules import content_md5
from .store import Store

__all__ = [
    "BODILESS",
    "Body",
    "Call",
    "ClientGone",
    "DropConnection",
    "Reply",
    "Segment",
    "empty_reply",
    "read_slices",
    "receive_blob",
    "xml_reply",
]

BODILESS = frozenset({"GET", "HEAD", "DELETE"})
"""Methods whose body OSS ignores: a declared ``Content-Length`` is not waited for."""

_SLICE_PIECE = 1 << 20
Segment = tuple[Path, int, int]
"""``(file, offset, count)``: a slice of a blob to send."""


class DropConnection(Exception):
    """Close the connection now without a response (fault injection)."""


class ClientGone(DropConnection):
    """The client closed the connection or stalled mid-body: nobody to answer."""


class Body(Protocol):
    """A request body read from the wire, bounded and framed by the server."""

    @property
    def declared(self) -> int | None:
        """``Content-Length``, or ``None`` when chunked or absent."""

    @property
    def chunked(self) -> bool: ...

    @property
    def present(self) -> bool:
        """Whether the request carries body framing (a length or chunked encoding)."""

    def chunks(self, limit: int) -> Iterator[memoryview]:
        """Yield the body in pieces (each valid until the next); ``EntityTooLarge`` past ``limit``."""

    def read_all(self, limit: int) -> bytes:
        """The whole body, at most ``limit`` bytes, else ``EntityTooLarge``."""

    def discard(self, count: int) -> None:
        """Read and drop up to ``count`` bytes."""


class Reply(Struct):
    """A response: status, headers, and a body as bytes or file slices.

    ``length`` overrides ``Content-Length`` (HEAD); ``release`` runs after sending;
    ``drop_after`` (fault injection) closes the connection after that many body bytes.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    segments: list[Segment] = field(default_factory=list)
    length: int | None = None
    release: Callable[[], None] | None = None
    drop_after: int | None = None
    op: str = ""
    stream: Iterator[bytes] | None = None
    """When set, the body is these pieces, sent chunked (no ``Content-Length``)."""

    @property
    def content_length(self) -> int:
        if self.length is not None:
            return self.length
        return len(self.body) + sum(count for _, _, count in self.segments)


def xml_reply(
    document: bytes, headers: Mapping[str, str] | None = None, status: int = 200
) -> Reply:
    return Reply(status, {"Content-Type": "application/xml", **(headers or {})}, document)


def empty_reply(status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, dict(headers or {}))


class Call(Struct):
    """One routed request: the operation, its target, decoded query and lower-case headers."""

    op: str
    method: str
    bucket: str
    key: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    body: Body
    store: Store
    host: str
    request_id: str
    virtual: bool = False
    fault: Fault | None = None

    def param(self, name: str) -> str:
        """A query parameter's value; ``""`` when absent or empty (docs/PROTOCOL.md §1.1)."""
        return self.params.get(name, "")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def flag(self, name: str) -> bool:
        """A ``true``/``false`` header (``x-oss-forbid-overwrite``)."""
        return (self.headers.get(name) or "").strip().lower() == "true"

    @property
    def url_encoding(self) -> bool:
        """Whether ``encoding-type=url`` was asked for (docs/PROTOCOL.md §1.5)."""
        value = self.param("encoding-type")
        if value not in ("", "url"):
            raise errors.InvalidArgument(
                "The encoding type must be url.",
                details={"ArgumentName": "encoding-type", "ArgumentValue": value[:100]},
            )
        return value == "url"

    def small_body(self, limit: int = MAX_XML_BYTES) -> bytes:
        """Read a small body (XML or nothing) and check its ``Content-MD5`` (docs/PROTOCOL.md §3.5)."""
        expected = content_md5(self.header("content-md5"))
        if self.method in BODILESS and self.body.present and self.body.declared != 0:
            return b""  # never wait for a body OSS ignores (the server closes after answering)
        data = self.body.read_all(limit) if self.body.present else b""
        if expected is not None and hashlib.md5(data, usedforsecurity=False).digest() != expected:
            raise errors.InvalidDigest(ec="0017-00000503")
        return data

    @property
    def location(self) -> str:
        """The object's URL as OSS reports it in Complete results."""
        if self.virtual:
            return f"http://{self.host}/{quote(self.key)}"
        return f"http://{self.host}/{self.bucket}/{quote(self.key)}"


def receive_blob(call: Call) -> Blob:
    """Stream a PutObject/UploadPart body into a new blob, hashing as it arrives.

    ``MissingContentLength`` without framing, ``EntityTooLarge`` above the part-size
    limit (before reading, when declared), ``InvalidDigest`` for a bad ``Content-MD5``.
    """
    body, limit = call.body, call.store.limits.max_part_size
    if not body.present:
        raise errors.MissingContentLength()
    if body.declared is not None and body.declared > limit:
        raise errors.EntityTooLarge(details={"MaxSizeAllowed": str(limit)})
    expected = content_md5(call.header("content-md5"))
    with call.store.blobs.writer() as writer:
        for chunk in body.chunks(limit):
            writer.write(chunk)
        blob = writer.finish()
    if expected is not None and blob.md5 != expected:
        call.store.blobs.delete([blob.id])
        raise errors.InvalidDigest(ec="0017-00000503")
    return blob


def read_slices(segments: list[Segment]) -> Iterator[bytes]:
    """The bytes of blob slices, in pieces of at most 1 MiB."""
    for path, offset, count in segments:
        with open(path, "rb") as src:
            src.seek(offset)
            while count > 0:
                chunk = src.read(min(count, _SLICE_PIECE))
                if not chunk:
                    raise errors.InternalError("A source blob is shorter than recorded.")
                yield chunk
                count -= len(chunk)
