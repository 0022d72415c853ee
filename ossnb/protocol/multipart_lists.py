"""The multipart listings (docs/PROTOCOL.md §2.13-§2.14): ListMultipartUploads and
ListParts, one page each. Import them from ``operations``."""

from __future__ import annotations

from typing import ClassVar

from ._opbase import (
    MAX_PART_NUMBER,
    Doc,
    Operation,
    md5_header,
    validate_bucket_name,
    validate_key,
    validate_page_size,
    validate_upload_id,
)
from .errors import UsageError
from .http import Request, Response
from .models import ListPartsResult, ListUploadsResult, PartInfo, UploadInfo

__all__ = ["ListMultipartUploads", "ListParts"]

_URL = ("encoding-type", "url")


class ListMultipartUploads(Operation[ListUploadsResult], frozen=True):
    """One page of unfinished uploads in a bucket (docs/PROTOCOL.md §2.13): ``GET /B/?uploads``."""

    name: ClassVar[str] = "ListMultipartUploads"
    bucket: str
    prefix: str = ""
    delimiter: str = ""
    key_marker: str = ""
    upload_id_marker: str = ""
    max_uploads: int | None = None

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)
        validate_page_size("max_uploads", self.max_uploads)

    def to_request(self) -> Request:
        query: list[tuple[str, str]] = [("uploads", ""), _URL]
        for name, value in (
            ("prefix", self.prefix),
            ("delimiter", self.delimiter),
            ("key-marker", self.key_marker),
            ("upload-id-marker", self.upload_id_marker),
        ):
            if value:
                query.append((name, value))
        if self.max_uploads is not None:
            query.append(("max-uploads", str(self.max_uploads)))
        return Request("GET", self.bucket, query=tuple(query), headers=md5_header())

    def parse(self, response: Response) -> ListUploadsResult:
        doc = Doc.load(response.body, "ListMultipartUploadsResult", self.name)
        uploads = [
            UploadInfo(
                key=u.name("Key"),
                upload_id=u.req("UploadId"),
                initiated=u.timestamp("Initiated"),
                storage_class=u.opt("StorageClass"),
            )
            for u in doc.children("Upload")
        ]
        return ListUploadsResult(
            uploads=uploads,
            common_prefixes=doc.prefixes(),
            is_truncated=doc.boolean("IsTruncated"),
            next_key_marker=doc.name("NextKeyMarker"),
            next_upload_id_marker=doc.req("NextUploadIdMarker"),
            bucket=doc.opt("Bucket") or self.bucket,
            prefix=doc.name("Prefix", ""),
            delimiter=doc.name("Delimiter", ""),
            key_marker=doc.name("KeyMarker", ""),
            upload_id_marker=doc.opt("UploadIdMarker") or "",
            max_uploads=doc.opt_integer("MaxUploads"),
        )


class ListParts(Operation[ListPartsResult], frozen=True):
    """One page of an upload's parts (docs/PROTOCOL.md §2.14): ``GET /B/K?uploadId=ID``.

    The truth on resume: each part's number, ETag, size and CRC-64 (docs/ARCHITECTURE.md §3).
    """

    name: ClassVar[str] = "ListParts"
    bucket: str
    key: str
    upload_id: str
    max_parts: int | None = None
    part_number_marker: int | None = None

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)
        validate_key(self.key)
        validate_upload_id(self.upload_id)
        validate_page_size("max_parts", self.max_parts)
        marker = self.part_number_marker
        if marker is not None and (
            isinstance(marker, bool)
            or not isinstance(marker, int)
            or not 0 <= marker <= MAX_PART_NUMBER
        ):
            raise UsageError(f"part_number_marker must be 0..{MAX_PART_NUMBER}, got {marker!r}")

    def to_request(self) -> Request:
        query: list[tuple[str, str]] = [("uploadId", self.upload_id), _URL]
        if self.max_parts is not None:
            query.append(("max-parts", str(self.max_parts)))
        if self.part_number_marker is not None:
            query.append(("part-number-marker", str(self.part_number_marker)))
        return Request("GET", self.bucket, self.key, query=tuple(query), headers=md5_header())

    def parse(self, response: Response) -> ListPartsResult:
        doc = Doc.load(response.body, "ListPartsResult", self.name)
        parts = [
            PartInfo(
                part_number=p.integer("PartNumber"),
                etag=p.req("ETag"),
                size=p.integer("Size"),
                crc64=p.crc64("HashCrc64ecma"),
                last_modified=p.timestamp("LastModified"),
            )
            for p in doc.children("Part")
        ]
        return ListPartsResult(
            bucket=doc.opt("Bucket") or self.bucket,
            key=doc.name("Key", self.key),
            upload_id=doc.opt("UploadId") or self.upload_id,
            parts=parts,
            is_truncated=doc.boolean("IsTruncated"),
            next_part_number_marker=doc.integer("NextPartNumberMarker"),
            part_number_marker=doc.opt_integer("PartNumberMarker") or 0,
            max_parts=doc.opt_integer("MaxParts"),
            storage_class=doc.opt("StorageClass"),
        )
