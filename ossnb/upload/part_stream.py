"""A part read from its source piece by piece as it is sent (``checksum="crc64"``).

With no Content-MD5 to put in the headers, nothing needs the whole part before its
first byte goes out. So each 1 MiB piece is read into one small reused buffer,
added to the CRC-64 and sent while it is still in the CPU's cache: one pass over the
bytes instead of three over an 8 MiB buffer that does not fit in it, and a worker
holds 1 MiB instead of a part. The CRC-64 is of the bytes read in the last complete
pass (a retry reads and sums them again), which is what the server's
``x-oss-hash-crc64ecma`` is compared with. Over a plain-HTTP connection a file's
pieces go from the file to the socket in the kernel (``file_span``): should the file
change between the read and the send, the two CRC-64s differ and the part is sent again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from ..protocol.checksums import crc64
from ..protocol.http import BODY_PIECE
from .source import Source

__all__ = ["PartStream", "scan"]


class PartStream:
    """``size`` bytes of ``source`` from ``offset``, read into ``buffer`` as they are sent."""

    def __init__(self, source: Source, offset: int, size: int, buffer: memoryview) -> None:
        if len(buffer) < min(size, BODY_PIECE):
            raise ValueError("the buffer must hold a piece")
        self.source, self.offset, self.size = source, offset, size
        self._buffer = buffer[:BODY_PIECE]
        self.crc64: int | None = None
        """The CRC-64 of the last complete pass; ``None`` before one has finished."""
        self.file_span: tuple[int, int] | None = None
        """Where the piece yielded last lies in the source file, if it is one."""

    def __len__(self) -> int:
        return self.size

    def pieces(self) -> Iterator[memoryview]:
        self.crc64 = None
        crc, offset = 0, self.offset
        for view in _read(self.source, self.offset, self.size, self._buffer):
            crc = crc64(view, crc)
            self.file_span = self.source.file_span(offset)
            offset += len(view)
            yield view
        self.file_span = None
        self.crc64 = crc


def scan(
    source: Source, offset: int, size: int, buffer: memoryview, *, md5: bool
) -> tuple[int, str | None]:
    """The CRC-64 (and upper-case hex MD5 when ``md5``) of a range, read through ``buffer``."""
    hasher = hashlib.md5(usedforsecurity=False) if md5 else None
    crc = 0
    for view in _read(source, offset, size, buffer[:BODY_PIECE]):
        crc = crc64(view, crc)
        if hasher is not None:
            hasher.update(view)
    if hasher is None:
        return crc, None
    return crc, hasher.hexdigest().upper()


def _read(source: Source, offset: int, size: int, buffer: memoryview) -> Iterator[memoryview]:
    for start in range(0, size, len(buffer)):
        view = buffer[: min(len(buffer), size - start)]
        source.read_into(offset + start, view)
        yield view
