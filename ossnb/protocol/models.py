"""Typed results of OSS operations: frozen records (``msgspec.Struct``), no behaviour beyond small helpers.

Each result mirrors one response of docs/PROTOCOL.md §2. Values are decoded (keys url-decoded,
timestamps as aware UTC datetimes, CRC-64 as ``int``); ETags are kept exactly as
received, quotes included (docs/PROTOCOL.md §1.4, §3.3), so they can be echoed back to OSS.
"""

from __future__ import annotations

import re
from datetime import datetime

from msgspec import Struct, field

from .http import Masked, repr_hiding_body
from .numbers import parse_uint

__all__ = [
    "BucketInfo",
    "CompleteResult",
    "GetObjectResult",
    "InitiateResult",
    "ListObjectsResult",
    "ListPartsResult",
    "ListUploadsResult",
    "ObjectInfo",
    "ObjectSummary",
    "PartInfo",
    "PutObjectResult",
    "UploadInfo",
    "UploadPartResult",
    "etag_part_count",
]

_MULTIPART_ETAG = re.compile(r'^\s*"?[0-9A-Fa-f]{32}-([0-9]+)"?\s*$')


def etag_part_count(etag: str) -> int | None:
    """``N`` for a multipart ETag ``"<hex>-N"`` (docs/PROTOCOL.md §3.3), else ``None``."""
    match = _MULTIPART_ETAG.match(etag)
    return parse_uint(match.group(1), max_digits=6) if match else None


class BucketInfo(Struct, frozen=True):
    """GetBucketInfo (docs/PROTOCOL.md §2.2)."""

    name: str
    location: str
    creation_date: datetime
    storage_class: str
    extranet_endpoint: str
    intranet_endpoint: str
    acl: str
    data_redundancy_type: str | None = None


class PutObjectResult(Struct, frozen=True):
    """PutObject (docs/PROTOCOL.md §2.3): the stored object's ETag and CRC-64 (``None`` if not sent)."""

    etag: str
    crc64: int | None
    request_id: str
    content_md5: str | None = None


class ObjectInfo(Struct, frozen=True):
    """An object's metadata from HeadObject / GetObject headers (docs/PROTOCOL.md §2.4, §2.5).

    ``size`` is the whole object's size, also for a ranged GET. ``metadata`` holds the
    ``x-oss-meta-*`` headers with the prefix removed (names lower-case).
    """

    size: int
    etag: str
    crc64: int | None
    last_modified: datetime | None
    object_type: str | None
    content_type: str | None
    storage_class: str | None
    content_md5: str | None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def part_count(self) -> int | None:
        """Number of parts of a completed multipart object (from its ETag), else ``None``."""
        return etag_part_count(self.etag)


class GetObjectResult(Masked, frozen=True):
    """GetObject (docs/PROTOCOL.md §2.4): ``status`` is 200 (whole object) or 206 (the range asked for)."""

    body: bytes
    info: ObjectInfo
    content_range: str | None
    status: int
    request_id: str = ""

    def __repr__(self) -> str:
        return repr_hiding_body(self)


class ObjectSummary(Struct, frozen=True):
    """One ``<Contents>`` entry of ListObjectsV2 (docs/PROTOCOL.md §2.7)."""

    key: str
    size: int
    etag: str
    last_modified: datetime
    object_type: str
    storage_class: str


class ListObjectsResult(Struct, frozen=True):
    """ListObjectsV2 (docs/PROTOCOL.md §2.7). ``next_continuation_token`` is ``""`` on the last page."""

    objects: list[ObjectSummary]
    common_prefixes: list[str]
    is_truncated: bool
    next_continuation_token: str
    key_count: int
    name: str = ""
    prefix: str = ""
    delimiter: str = ""
    start_after: str = ""
    continuation_token: str = ""
    max_keys: int | None = None


class InitiateResult(Struct, frozen=True):
    """InitiateMultipartUpload (docs/PROTOCOL.md §2.8)."""

    bucket: str
    key: str
    upload_id: str
    request_id: str = ""


class UploadPartResult(Struct, frozen=True):
    """UploadPart / UploadPartCopy (docs/PROTOCOL.md §2.9, §2.10). ``etag`` as received, quoted."""

    part_number: int
    etag: str
    crc64: int | None
    content_md5: str | None
    request_id: str


class CompleteResult(Struct, frozen=True):
    """CompleteMultipartUpload (docs/PROTOCOL.md §2.11): the object's ``"<hex>-N"`` ETag and CRC-64."""

    bucket: str
    key: str
    etag: str
    crc64: int | None
    location: str
    request_id: str

    @property
    def part_count(self) -> int | None:
        """``N`` from the multipart ETag, else ``None``."""
        return etag_part_count(self.etag)


class UploadInfo(Struct, frozen=True):
    """One ``<Upload>`` of ListMultipartUploads (docs/PROTOCOL.md §2.13)."""

    key: str
    upload_id: str
    initiated: datetime
    storage_class: str | None = None


class ListUploadsResult(Struct, frozen=True):
    """ListMultipartUploads (docs/PROTOCOL.md §2.13). Markers are ``""`` when absent."""

    uploads: list[UploadInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str
    next_upload_id_marker: str
    bucket: str = ""
    prefix: str = ""
    delimiter: str = ""
    key_marker: str = ""
    upload_id_marker: str = ""
    max_uploads: int | None = None


class PartInfo(Struct, frozen=True):
    """One ``<Part>`` of ListParts (docs/PROTOCOL.md §2.14); ``crc64`` from ``<HashCrc64ecma>``."""

    part_number: int
    etag: str
    size: int
    crc64: int | None
    last_modified: datetime


class ListPartsResult(Struct, frozen=True):
    """ListParts (docs/PROTOCOL.md §2.14). Page on with ``part_number_marker=next_part_number_marker``."""

    bucket: str
    key: str
    upload_id: str
    parts: list[PartInfo]
    is_truncated: bool
    next_part_number_marker: int
    part_number_marker: int = 0
    max_parts: int | None = None
    storage_class: str | None = None
