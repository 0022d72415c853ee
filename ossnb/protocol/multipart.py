"""Multipart-upload operations (docs/PROTOCOL.md §2.8-§2.14). Import them from ``operations``.

Query parameters go out in one fixed order: the sub-resource (``uploads``, ``uploadId``,
``partNumber``), then ``encoding-type=url`` where v2 sends it, then the optional
parameters in field order. OSS does not care about the order (docs/PROTOCOL.md §2.9).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import ClassVar

from msgspec import field
from msgspec.structs import force_setattr

from . import xml
from ._opbase import (
    Doc,
    Operation,
    crc_header,
    guess_content_type,
    header,
    object_headers,
    validate_bucket_name,
    validate_content_md5,
    validate_key,
    validate_part_number,
    validate_upload_id,
)
from .checksums import EMPTY_MD5_B64, md5_b64
from .errors import ResponseError, UsageError
from .http import Body, Masked, Request, Response, encode_key, repr_hiding_body
from .models import (
    CompleteResult,
    InitiateResult,
    UploadPartResult,
)
from .multipart_lists import ListMultipartUploads, ListParts

__all__ = [
    "AbortMultipartUpload",
    "CompleteMultipartUpload",
    "InitiateMultipartUpload",
    "ListMultipartUploads",
    "ListParts",
    "UploadPart",
    "UploadPartCopy",
    "complete_body",
    "parse_complete_body",
]

_EMPTY_MD5 = {"content-md5": EMPTY_MD5_B64}
_URL = ("encoding-type", "url")


def _target(bucket: str, key: str, upload_id: str | None = None) -> None:
    validate_bucket_name(bucket)
    validate_key(key)
    if upload_id is not None:
        validate_upload_id(upload_id)


def _quoted(etag: str) -> str:
    bare = etag.strip().strip('"').strip()
    if not bare:
        raise UsageError(f"empty ETag {etag!r}")
    return f'"{bare}"'


def _checked_parts(parts: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """Parts sorted ascending with quoted ETags; duplicates and bad numbers refused."""
    if not parts:
        raise UsageError("CompleteMultipartUpload needs at least one part (or complete_all=True)")
    out = sorted((validate_part_number(n), _quoted(etag)) for n, etag in parts)
    for (a, _), (b, _) in pairwise(out):
        if a == b:
            raise UsageError(f"part {a} is listed twice")
    return out


def complete_body(parts: Sequence[tuple[int, str]]) -> bytes:
    """The ``<CompleteMultipartUpload>`` document for ``(part_number, etag)`` pairs (docs/PROTOCOL.md §2.11).

    Parts are sorted by number (OSS answers ``InvalidPartOrder`` otherwise) and ETags
    quoted as the SDKs send them; a part listed twice is a :class:`UsageError`.
    """
    root = xml.element(
        "CompleteMultipartUpload",
        children=[
            xml.element(
                "Part",
                children=[xml.element("PartNumber", str(n)), xml.element("ETag", etag)],
            )
            for n, etag in _checked_parts(parts)
        ],
    )
    return xml.to_bytes(root)


def parse_complete_body(body: bytes) -> list[tuple[int, str]]:
    """``(part_number, etag)`` pairs of a Complete body, in document order, ETags as sent.

    For the emulator and tests; a malformed document raises :class:`ResponseError`.
    """
    doc = Doc.load(body, "CompleteMultipartUpload", "CompleteMultipartUpload request")
    return [(p.integer("PartNumber"), p.req("ETag")) for p in doc.children("Part")]


class InitiateMultipartUpload(Operation[InitiateResult], frozen=True):
    """``POST /B/K?uploads&encoding-type=url`` (docs/PROTOCOL.md §2.8); headers become the object's."""

    name: ClassVar[str] = "InitiateMultipartUpload"
    bucket: str
    key: str
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    forbid_overwrite: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _target(self.bucket, self.key)
        object_headers(self.metadata, self.headers, self.forbid_overwrite)
        force_setattr(self, "metadata", dict(self.metadata))  # a copy: frozen means frozen
        force_setattr(self, "headers", dict(self.headers))

    def to_request(self) -> Request:
        headers = object_headers(self.metadata, self.headers, self.forbid_overwrite)
        if self.content_type is not None:
            headers["content-type"] = self.content_type
        elif "content-type" not in headers:
            headers["content-type"] = guess_content_type(self.key)
        headers.update(_EMPTY_MD5)
        query = (("uploads", ""), _URL)
        return Request("POST", self.bucket, self.key, query=query, headers=headers)

    def parse(self, response: Response) -> InitiateResult:
        doc = Doc.load(response.body, "InitiateMultipartUploadResult", self.name)
        return InitiateResult(
            bucket=doc.opt("Bucket") or self.bucket,
            key=doc.name("Key", self.key),
            upload_id=doc.req("UploadId"),
            request_id=response.request_id,
        )


def _part_result(response: Response, where: str, number: int, etag: str) -> UploadPartResult:
    return UploadPartResult(
        part_number=number,
        etag=etag,
        crc64=crc_header(response, where),
        content_md5=response.header("content-md5"),
        request_id=response.request_id,
    )


class UploadPart(Operation[UploadPartResult], Masked, frozen=True):
    """``PUT /B/K?partNumber=N&uploadId=ID`` with the part's bytes (docs/PROTOCOL.md §2.9)."""

    name: ClassVar[str] = "UploadPart"
    bucket: str
    key: str
    upload_id: str
    part_number: int
    body: Body
    content_md5: str | None = None

    def __repr__(self) -> str:
        return repr_hiding_body(self)

    def __post_init__(self) -> None:
        _target(self.bucket, self.key, self.upload_id)
        validate_part_number(self.part_number)
        validate_content_md5(self.content_md5)

    def to_request(self) -> Request:
        query = (("partNumber", str(self.part_number)), ("uploadId", self.upload_id))
        headers = {} if self.content_md5 is None else {"content-md5": self.content_md5}
        return Request("PUT", self.bucket, self.key, query=query, headers=headers, body=self.body)

    def parse(self, response: Response) -> UploadPartResult:
        etag = header(response, "etag", self.name)
        return _part_result(response, self.name, self.part_number, etag)


class UploadPartCopy(Operation[UploadPartResult], frozen=True):
    """A part copied from another object (docs/PROTOCOL.md §2.10); ``source_range`` is inclusive."""

    name: ClassVar[str] = "UploadPartCopy"
    bucket: str
    key: str
    upload_id: str
    part_number: int
    source_bucket: str
    source_key: str
    source_range: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        _target(self.bucket, self.key, self.upload_id)
        validate_part_number(self.part_number)
        _target(self.source_bucket, self.source_key)
        if self.source_range is not None:
            first, last = self.source_range
            if not 0 <= first <= last:
                raise UsageError(
                    f"source_range {self.source_range!r} must be (first, last), 0 <= first <= last"
                )

    def to_request(self) -> Request:
        query = (("partNumber", str(self.part_number)), ("uploadId", self.upload_id))
        headers = {"x-oss-copy-source": f"/{self.source_bucket}/{encode_key(self.source_key)}"}
        if self.source_range is not None:
            headers["x-oss-copy-source-range"] = "bytes={}-{}".format(*self.source_range)
        headers.update(_EMPTY_MD5)
        return Request("PUT", self.bucket, self.key, query=query, headers=headers)

    def parse(self, response: Response) -> UploadPartResult:
        etag = response.header("etag")
        if response.body.strip():
            doc = Doc.load(response.body, "CopyPartResult", self.name)
            etag = etag or doc.opt("ETag")
        if not etag:
            raise ResponseError(f"{self.name} response has no ETag header and no <ETag> element")
        return _part_result(response, self.name, self.part_number, etag)


class CompleteMultipartUpload(Operation[CompleteResult], frozen=True):
    """``POST /B/K?uploadId=ID&encoding-type=url`` with the part list (docs/PROTOCOL.md §2.11).

    ``complete_all=True`` sends ``x-oss-complete-all: yes`` and no body: OSS then uses
    every part it holds. ``parts`` are sorted and their ETags quoted.
    """

    name: ClassVar[str] = "CompleteMultipartUpload"
    bucket: str
    key: str
    upload_id: str
    parts: Sequence[tuple[int, str]] = ()
    complete_all: bool = False
    forbid_overwrite: bool = False

    def __post_init__(self) -> None:
        _target(self.bucket, self.key, self.upload_id)
        if self.complete_all and self.parts:
            raise UsageError(
                "give either parts or complete_all=True, not both (docs/PROTOCOL.md §2.11)"
            )
        if not self.complete_all:
            force_setattr(self, "parts", tuple(_checked_parts(self.parts)))

    def to_request(self) -> Request:
        headers: dict[str, str] = {}
        body = b""
        if self.complete_all:
            headers["x-oss-complete-all"] = "yes"
        else:
            body = complete_body(self.parts)
        headers["content-md5"] = md5_b64(body)
        if self.forbid_overwrite:
            headers["x-oss-forbid-overwrite"] = "true"
        query = (("uploadId", self.upload_id), _URL)
        return Request("POST", self.bucket, self.key, query=query, headers=headers, body=body)

    def parse(self, response: Response) -> CompleteResult:
        etag = response.header("etag")
        bucket, key, location = self.bucket, self.key, ""
        if response.body.strip():
            doc = Doc.load(response.body, "CompleteMultipartUploadResult", self.name)
            etag = etag or doc.opt("ETag")
            bucket = doc.opt("Bucket") or bucket
            key = doc.name("Key", key)
            location = doc.opt("Location") or ""
        if not etag:
            raise ResponseError(f"{self.name} response has no ETag header and no <ETag> element")
        return CompleteResult(
            bucket=bucket,
            key=key,
            etag=etag,
            crc64=crc_header(response, self.name),
            location=location,
            request_id=response.request_id,
        )


class AbortMultipartUpload(Operation[None], frozen=True):
    """``DELETE /B/K?uploadId=ID`` → 204; the parts are deleted (docs/PROTOCOL.md §2.12)."""

    name: ClassVar[str] = "AbortMultipartUpload"
    bucket: str
    key: str
    upload_id: str

    def __post_init__(self) -> None:
        _target(self.bucket, self.key, self.upload_id)

    def to_request(self) -> Request:
        query = (("uploadId", self.upload_id),)
        return Request("DELETE", self.bucket, self.key, query=query, headers=dict(_EMPTY_MD5))

    def parse(self, response: Response) -> None:
        return None
