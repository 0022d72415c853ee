"""GetObject with ``Accept-Encoding: gzip``: OSS compresses text objects of 1 KB or more.

The answer is gzip-encoded and chunked (no ``Content-Length``); ETag, CRC-64 and the
other object headers stay those of the stored bytes. Only whole-object answers are
compressed (a ``Range`` request is answered as usual).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from .exchange import Segment, read_slices

__all__ = ["GZIP_MIN_SIZE", "GZIP_TYPES", "accepts_gzip", "compressible", "gzip_pieces"]

GZIP_MIN_SIZE = 1024
"""Objects smaller than this are sent as they are."""
GZIP_TYPES = frozenset(
    {
        "text/cache-manifest",
        "text/css",
        "text/html",
        "text/javascript",
        "text/plain",
        "text/x-component",
        "text/xml",
        "application/javascript",
        "application/json",
        "application/rss+xml",
        "application/x-javascript",
        "application/xml",
    }
)
"""The content types OSS compresses."""


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value lists ``gzip`` (without ``q=0``)."""
    for item in (header or "").split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def compressible(content_type: str, size: int) -> bool:
    """Whether OSS compresses an object of this type and size."""
    return size >= GZIP_MIN_SIZE and content_type.split(";")[0].strip().lower() in GZIP_TYPES


def gzip_pieces(segments: list[Segment]) -> Iterator[bytes]:
    """The gzip stream of the bytes in ``segments``, produced as it is sent."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip header and trailer
    for chunk in read_slices(segments):
        yield packer.compress(chunk)
    yield packer.flush()
