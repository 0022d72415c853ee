"""Sans-I/O OSS operations: one frozen record (``msgspec.Struct``) per API call (docs/PROTOCOL.md §2, docs/ARCHITECTURE.md §1).

::

    op = PutObject("bkt", "a/b.txt", b"hello")
    request = op.to_request()          # Request: method, bucket, key, query, headers, body
    result = op.parse(response)        # PutObjectResult, for a 2xx response

Inputs are validated when the operation is built (:class:`UsageError`); malformed
answers raise :class:`ResponseError`. Requests follow the v2 SDK (docs/PROTOCOL.md §6.4): empty-body
``Content-MD5`` where v2 sends it, ``encoding-type=url`` on listings and multipart calls,
Content-Type guessed from the key for PutObject and Initiate. This module is the public
import point; the multipart calls live in :mod:`ossnb.protocol.multipart`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar

from msgspec import field
from msgspec.structs import force_setattr

from . import xml
from ._opbase import (
    MAX_KEY_BYTES,
    MAX_LIST_PAGE,
    MAX_PART_NUMBER,
    Doc,
    Operation,
    crc_header,
    format_http_date,
    format_timestamp,
    guess_content_type,
    header,
    md5_header,
    object_headers,
    parse_count,
    parse_crc64,
    parse_http_date,
    parse_timestamp,
    validate_bucket_name,
    validate_content_md5,
    validate_key,
    validate_part_number,
    validate_upload_id,
)
from .errors import ResponseError, UsageError
from .http import Masked, Request, Response, repr_hiding_body
from .list_objects import ListObjectsV2
from .models import (
    BucketInfo,
    GetObjectResult,
    ObjectInfo,
    PutObjectResult,
)
from .multipart import (
    AbortMultipartUpload,
    CompleteMultipartUpload,
    InitiateMultipartUpload,
    ListMultipartUploads,
    ListParts,
    UploadPart,
    UploadPartCopy,
    complete_body,
    parse_complete_body,
)
from .numbers import parse_uint

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_LIST_PAGE",
    "MAX_PART_NUMBER",
    "AbortMultipartUpload",
    "CompleteMultipartUpload",
    "DeleteBucket",
    "DeleteObject",
    "GetBucketInfo",
    "GetObject",
    "HeadObject",
    "InitiateMultipartUpload",
    "ListMultipartUploads",
    "ListObjectsV2",
    "ListParts",
    "Operation",
    "PutBucket",
    "PutObject",
    "UploadPart",
    "UploadPartCopy",
    "complete_body",
    "format_http_date",
    "format_timestamp",
    "guess_content_type",
    "parse_complete_body",
    "parse_crc64",
    "parse_http_date",
    "parse_timestamp",
    "validate_bucket_name",
    "validate_key",
    "validate_part_number",
    "validate_upload_id",
]

BUCKET_ACLS = ("private", "public-read", "public-read-write")
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")


# ------------------------------------------------------------------------------- buckets


class PutBucket(Operation[None], frozen=True):
    """Create a bucket (docs/PROTOCOL.md §2.1): ``PUT /B/``, ``x-oss-acl``, optional storage class body."""

    name: ClassVar[str] = "PutBucket"
    bucket: str
    acl: str | None = None
    storage_class: str | None = None

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)
        if self.acl is not None and self.acl not in BUCKET_ACLS:
            raise UsageError(f"acl must be one of {', '.join(BUCKET_ACLS)}; got {self.acl!r}")
        if self.storage_class is not None and self.storage_class not in STORAGE_CLASSES:
            raise UsageError(
                f"storage_class must be one of {', '.join(STORAGE_CLASSES)}; "
                f"got {self.storage_class!r}"
            )

    def to_request(self) -> Request:
        body = b""
        if self.storage_class is not None:
            config = xml.element(
                "CreateBucketConfiguration",
                children=[xml.element("StorageClass", self.storage_class)],
            )
            body = xml.to_bytes(config)
        headers = {"content-type": "application/xml", **md5_header(body)}
        if self.acl is not None:
            headers["x-oss-acl"] = self.acl
        return Request("PUT", self.bucket, headers=headers, body=body)

    def parse(self, response: Response) -> None:
        return None


class DeleteBucket(Operation[None], frozen=True):
    """Delete an empty bucket: ``DELETE /B/`` → 204."""

    name: ClassVar[str] = "DeleteBucket"
    bucket: str

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)

    def to_request(self) -> Request:
        headers = {"content-type": "application/xml", **md5_header()}
        return Request("DELETE", self.bucket, headers=headers)

    def parse(self, response: Response) -> None:
        return None


class GetBucketInfo(Operation[BucketInfo], frozen=True):
    """``GET /B/?bucketInfo`` (docs/PROTOCOL.md §2.2)."""

    name: ClassVar[str] = "GetBucketInfo"
    bucket: str

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)

    def to_request(self) -> Request:
        return Request("GET", self.bucket, query=(("bucketInfo", ""),), headers=md5_header())

    def parse(self, response: Response) -> BucketInfo:
        doc = Doc.load(response.body, "BucketInfo", self.name)
        buckets = doc.children("Bucket")
        if not buckets:
            raise ResponseError(f"{self.name} response is missing <Bucket> in <BucketInfo>")
        bucket = buckets[0]
        return BucketInfo(
            name=bucket.req("Name"),
            location=bucket.req("Location"),
            creation_date=bucket.timestamp("CreationDate"),
            storage_class=bucket.req("StorageClass"),
            extranet_endpoint=bucket.req("ExtranetEndpoint"),
            intranet_endpoint=bucket.req("IntranetEndpoint"),
            acl=bucket.req("AccessControlList/Grant"),
            data_redundancy_type=bucket.opt("DataRedundancyType"),
        )


# ------------------------------------------------------------------------------- objects


def _content_type(key: str, given: str | None, headers: Mapping[str, str]) -> str:
    """Explicit argument, else a ``Content-Type`` in ``headers``, else guessed from the key."""
    if given is not None:
        return given
    return headers.get("content-type") or guess_content_type(key)


class PutObject(Operation[PutObjectResult], Masked, frozen=True):
    """Upload a whole object in one request (docs/PROTOCOL.md §2.3): ``PUT /B/K``.

    ``headers`` carries any other object header (``Cache-Control``,
    ``x-oss-storage-class`` …); explicit arguments win over it.
    """

    name: ClassVar[str] = "PutObject"
    bucket: str
    key: str
    body: bytes
    content_type: str | None = None
    content_md5: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    forbid_overwrite: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return repr_hiding_body(self)

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)
        validate_key(self.key)
        validate_content_md5(self.content_md5)
        object_headers(self.metadata, self.headers, self.forbid_overwrite)
        force_setattr(self, "metadata", dict(self.metadata))  # a copy: frozen means frozen
        force_setattr(self, "headers", dict(self.headers))

    def to_request(self) -> Request:
        headers = object_headers(self.metadata, self.headers, self.forbid_overwrite)
        headers["content-type"] = _content_type(self.key, self.content_type, headers)
        if self.content_md5 is not None:
            headers["content-md5"] = self.content_md5
        return Request("PUT", self.bucket, self.key, headers=headers, body=self.body)

    def parse(self, response: Response) -> PutObjectResult:
        return PutObjectResult(
            etag=header(response, "etag", self.name),
            crc64=crc_header(response, self.name),
            request_id=response.request_id,
            content_md5=response.header("content-md5"),
        )


_CONTENT_RANGE = re.compile(r"^\s*bytes\s+([0-9]+)-([0-9]+)/([0-9]+|\*)\s*$")


def object_info(response: Response, where: str, size: int | None = None) -> ObjectInfo:
    """:class:`ObjectInfo` from HEAD/GET headers (docs/PROTOCOL.md §2.5); ``size`` overrides Content-Length."""
    if size is None:
        try:
            size = parse_count(header(response, "content-length", where))
        except ValueError as exc:
            raise ResponseError(f"{where} response: bad Content-Length: {exc}") from None
    modified = response.header("last-modified")
    try:
        last_modified = parse_http_date(modified) if modified else None
    except ValueError as exc:
        raise ResponseError(f"{where} response: bad Last-Modified: {exc}") from None
    metadata = {
        name[len("x-oss-meta-") :]: value
        for name, value in response.headers.items()
        if name.startswith("x-oss-meta-")
    }
    return ObjectInfo(
        size=size,
        etag=header(response, "etag", where),
        crc64=crc_header(response, where),
        last_modified=last_modified,
        object_type=response.header("x-oss-object-type"),
        content_type=response.header("content-type"),
        storage_class=response.header("x-oss-storage-class"),
        content_md5=response.header("content-md5"),
        metadata=metadata,
    )


class GetObject(Operation[GetObjectResult], frozen=True):
    """Read an object or a byte range (docs/PROTOCOL.md §2.4): ``GET /B/K`` with ``Range: bytes=a-b``.

    ``range`` is ``(first, last)`` inclusive, or ``(first, None)`` for "to the end". Without
    ``range_behavior_standard`` OSS ignores an unsatisfiable range and answers 200.
    """

    name: ClassVar[str] = "GetObject"
    bucket: str
    key: str
    range: tuple[int, int | None] | None = None
    range_behavior_standard: bool = False

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)
        validate_key(self.key)
        if self.range is not None:
            first, last = self.range
            if first < 0 or (last is not None and last < first):
                raise UsageError(
                    f"range {self.range!r} must be (first, last) with 0 <= first <= last"
                )

    def to_request(self) -> Request:
        headers: dict[str, str] = {}
        if self.range is not None:
            first, last = self.range
            headers["range"] = f"bytes={first}-{'' if last is None else last}"
        if self.range_behavior_standard:
            headers["x-oss-range-behavior"] = "standard"
        return Request("GET", self.bucket, self.key, headers=headers)

    def parse(self, response: Response) -> GetObjectResult:
        content_range = response.header("content-range")
        size: int | None = None
        if content_range is not None:
            match = _CONTENT_RANGE.match(content_range)
            total = None if match is None or match[3] == "*" else parse_uint(match[3])
            if match is None or (total is None and match[3] != "*"):
                bad = content_range[:100]
                raise ResponseError(f"{self.name} response: bad Content-Range {bad!r}")
            size = total
        elif response.header("content-length") is None:
            size = len(response.body)
        return GetObjectResult(
            body=response.body,
            info=object_info(response, self.name, size),
            content_range=content_range,
            status=response.status,
            request_id=response.request_id,
        )


class HeadObject(Operation[ObjectInfo], frozen=True):
    """An object's metadata without its body (docs/PROTOCOL.md §2.5): ``HEAD /B/K``."""

    name: ClassVar[str] = "HeadObject"
    bucket: str
    key: str

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)
        validate_key(self.key)

    def to_request(self) -> Request:
        return Request("HEAD", self.bucket, self.key)

    def parse(self, response: Response) -> ObjectInfo:
        return object_info(response, self.name)


class DeleteObject(Operation[None], frozen=True):
    """``DELETE /B/K`` → 204, also when the key does not exist (docs/PROTOCOL.md §2.6)."""

    name: ClassVar[str] = "DeleteObject"
    bucket: str
    key: str

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)
        validate_key(self.key)

    def to_request(self) -> Request:
        return Request("DELETE", self.bucket, self.key, headers=md5_header())

    def parse(self, response: Response) -> None:
        return None
