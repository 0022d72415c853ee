"""Ending an upload: complete and verify the object, or abort and confirm nothing is left.

Complete (docs/PROTOCOL.md §2.11) lists every part with its ETag in ascending order. The combined
CRC-64 of the parts (``crc64_combine_all``) must equal Complete's
``x-oss-hash-crc64ecma``, and a HEAD must show the same size, ETag and CRC-64; any
mismatch is an :class:`IntegrityError`. A retried Complete that meets NoSuchUpload
(the first try landed, its answer was lost) is accepted only if the object is exactly
the one these parts make (docs/PROTOCOL.md §6.4). Abort (docs/PROTOCOL.md §2.12) is confirmed by ListParts
answering NoSuchUpload.
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec import Struct

from ..protocol.checksums import crc64_combine_all, multipart_etag, normalize_etag
from ..protocol.errors import IntegrityError, NoSuchKey, NoSuchUpload
from ..protocol.models import CompleteResult
from ..protocol.operations import AbortMultipartUpload, CompleteMultipartUpload, HeadObject
from .ledger import PartRow
from .listing import Executor, list_all_parts

__all__ = ["Completed", "abort_and_confirm", "complete_and_verify"]


class Completed(Struct, frozen=True):
    """A completed, verified object: its ETag and CRC-64 (the parts' combined one), and
    whether the server gave the object's CRC-64 to compare it with (a proxy may strip it)."""

    etag: str
    crc64: int
    size: int
    crc64_checked: bool


def complete_and_verify(
    executor: Executor, bucket: str, key: str, upload_id: str, rows: Sequence[PartRow]
) -> Completed:
    """Complete with ``rows`` (all done, in order) and verify the stored object."""
    size = sum(r.size for r in rows)
    expected_crc = crc64_combine_all((r.crc64 or 0, r.size) for r in rows)
    etags = [r.etag or "" for r in rows]
    operation = CompleteMultipartUpload(
        bucket, key, upload_id, parts=[(r.number, r.etag or "") for r in rows]
    )
    try:
        result = executor.execute(operation)
    except NoSuchUpload:
        result = _completed_already(executor, bucket, key, upload_id, size, etags, expected_crc)
    if result.crc64 is not None and result.crc64 != expected_crc:
        raise IntegrityError(
            f"Complete returned CRC-64 {result.crc64}, but the parts combine to {expected_crc}: "
            f"oss://{bucket}/{key} is not the local bytes; delete it and upload again"
        )
    info = executor.execute(HeadObject(bucket, key))
    problems = []
    if info.size != size:
        problems.append(f"size {info.size}, expected {size}")
    if normalize_etag(info.etag) != normalize_etag(result.etag):
        problems.append(f"ETag {info.etag}, expected {result.etag}")
    if info.crc64 is not None and info.crc64 != expected_crc:
        problems.append(f"CRC-64 {info.crc64}, expected {expected_crc}")
    if problems:
        raise IntegrityError(
            f"HEAD oss://{bucket}/{key} after Complete: {'; '.join(problems)}; "
            "the object is not what was uploaded"
        )
    checked = result.crc64 is not None or info.crc64 is not None
    return Completed(result.etag, expected_crc, size, checked)


def _completed_already(
    executor: Executor,
    bucket: str,
    key: str,
    upload_id: str,
    size: int,
    etags: list[str],
    crc: int,
) -> CompleteResult:
    expected = multipart_etag(etags)
    try:
        info = executor.execute(HeadObject(bucket, key))
    except NoSuchKey:
        info = None
    if (
        info is None
        or info.size != size
        or normalize_etag(info.etag) != normalize_etag(expected)
        or info.crc64 not in (None, crc)
    ):
        raise NoSuchUpload(
            f"upload {upload_id} no longer exists (aborted, or completed by someone else) and "
            f"oss://{bucket}/{key} is not the object its parts make",
            details={"UploadId": upload_id},
        )
    return CompleteResult(bucket, key, info.etag, info.crc64, "", "")


def abort_and_confirm(
    executor: Executor, bucket: str, key: str, upload_id: str, *, missing_ok: bool = True
) -> bool:
    """AbortMultipartUpload, then confirm with ListParts that the upload and its parts are gone.

    Returns True if this call aborted it, False if the server did not know the upload
    (already completed or aborted, or never there). With ``missing_ok=False`` that is a
    :class:`NoSuchUpload` instead: an abort the user asked for by ID must not report a
    success it did not have. :class:`IntegrityError` if the server still lists it afterwards.
    """
    try:
        executor.execute(AbortMultipartUpload(bucket, key, upload_id))
        aborted = True
    except NoSuchUpload:
        if not missing_ok:
            raise NoSuchUpload(
                f"the server has no unfinished upload {upload_id} for oss://{bucket}/{key}: "
                "it was never there, or was already completed or aborted. Nothing was aborted; "
                f"check the ID and key (ossnb uploads list oss://{bucket}/)",
                details={"UploadId": upload_id},
            ) from None
        aborted = False
    try:
        left = list_all_parts(executor, bucket, key, upload_id)
    except NoSuchUpload:
        return aborted
    raise IntegrityError(
        f"after AbortMultipartUpload the server still lists upload {upload_id} with "
        f"{len(left)} part(s); abort it again"
    )
