"""Is the object already there? Checked against the source, never assumed.

An upload whose ID the server no longer knows was completed or aborted by someone: a run
interrupted while Complete was in flight, or another process that drove the same upload.
:func:`find_source_object` HEADs the object and compares it with the local bytes: the
size, the CRC-64 (``x-oss-hash-crc64ecma``) and the multipart ETag of the planned parts.
It reads the source once, using the CRC-64 and MD5 of parts already known; that is far
cheaper than sending it all again. :class:`ResumeFinder` uses it when a resumed upload is
gone, so the next run says the object is there instead of uploading it again.
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec import Struct

from ..protocol.checksums import crc64_combine_all, multipart_etag, normalize_etag
from ..protocol.errors import NoSuchKey
from ..protocol.http import BODY_PIECE
from ..protocol.operations import HeadObject
from .ledger import Notice, PartRow, PartState, SessionState
from .listing import Executor
from .part_stream import scan
from .session_core import SessionCore
from .source import Source

__all__ = ["FoundObject", "ResumeFinder", "find_source_object"]


class FoundObject(Struct, frozen=True):
    """An object that holds exactly the source's bytes, and what each planned part is."""

    etag: str
    crc64: int
    size: int
    parts: tuple[tuple[int, str], ...]  # (CRC-64, upper-case hex MD5) of each part
    checked: str  # what was compared, in words: "size, ETag and CRC-64"
    crc64_checked: bool  # the server gave the object's CRC-64, and it matched


def find_source_object(
    executor: Executor, bucket: str, key: str, source: Source, rows: Sequence[PartRow]
) -> FoundObject | None:
    """The object at ``bucket/key`` if it holds the source's bytes (size, CRC-64 when the
    server gives one, and the multipart ETag of ``rows`` when it has one), else None."""
    try:
        info = executor.execute(HeadObject(bucket, key))
    except NoSuchKey:
        return None
    if info.size != source.size:
        return None
    parts = tuple(_part_sums(source, row) for row in rows)
    whole = crc64_combine_all((crc, row.size) for (crc, _), row in zip(parts, rows, strict=True))
    if info.crc64 is not None and info.crc64 != whole:
        return None
    checked = ["size"]
    etag = normalize_etag(info.etag)
    if etag.endswith(f"-{len(rows)}"):
        if etag != normalize_etag(multipart_etag(md5 for _, md5 in parts)):
            return None
        checked.append("ETag")
    if info.crc64 is not None:
        checked.append("CRC-64")
    if len(checked) == 1:  # neither a CRC-64 nor a multipart ETag to compare
        return None
    words = " and ".join(checked) if len(checked) == 2 else "size, ETag and CRC-64"
    return FoundObject(info.etag, whole, info.size, parts, words, info.crc64 is not None)


def _part_sums(source: Source, row: PartRow) -> tuple[int, str]:
    if row.state is PartState.DONE and row.crc64 is not None and row.md5:
        return row.crc64, row.md5
    buffer = memoryview(bytearray(min(BODY_PIECE, row.size)))
    crc, md5 = scan(source, row.offset, row.size, buffer, md5=True)
    assert md5 is not None  # asked for
    return crc, md5


class ResumeFinder(SessionCore):
    """A resumed upload the server no longer knows may have been completed: look first."""

    def _completed_already(self, upload_id: str) -> bool:
        """If the object holds the source's bytes, settle completed and say so."""
        rows = self._ledger.snapshot().rows
        found = find_source_object(self._calls, self.bucket, self.key, self.source, rows)
        if found is None:
            return False
        for row, (crc, md5) in zip(rows, found.parts, strict=True):
            self._ledger.update(row.number, state=PartState.DONE, crc64=crc, md5=md5)
        with self._lock:
            self._result = (found.etag, found.crc64, found.crc64_checked)
        self._observers.emit(
            Notice(
                f"upload {upload_id} is no longer on the server, but {self.url} is, and holds "
                f"this file: {found.checked} match ({found.etag}). An earlier run completed "
                "it; nothing was sent"
            )
        )
        self._remove_checkpoint()
        self._settle(SessionState.COMPLETED, f"already there: {found.etag}; verified")
        return True
