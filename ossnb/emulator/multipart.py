"""Multipart-upload operations (docs/PROTOCOL.md §2.8-2.14): a :class:`Call` in, a :class:`Reply` out."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import unquote

from ..protocol import errors, xml
from ..protocol.numbers import parse_uint
from . import responses
from .blobs import Blob
from .exchange import Call, Reply, Segment, empty_reply, read_slices, receive_blob, xml_reply
from .handlers import (
    check_conditions,
    int_param,
    refuse_callback,
    require_xml_names,
    storage_class,
    stored_headers,
)
from .rules import check_bucket_name, check_key, offset
from .store import ObjectInfo, UploadInfo

__all__ = [
    "abort_upload",
    "complete_upload",
    "initiate_upload",
    "list_parts",
    "list_uploads",
    "upload_part",
]

_COPY_RANGE = re.compile(r"^\s*bytes=([0-9]+)-([0-9]*)\s*$")
_COPY_CHUNK = 1 << 20
SEQUENTIAL = "sequential"
"""Marker kept with an upload initiated with ``?sequential`` (not a header name)."""


def initiate_upload(call: Call) -> Reply:
    """InitiateMultipartUpload: the request's headers become the object's (docs/PROTOCOL.md §2.8)."""
    url = call.url_encoding
    call.small_body()
    klass, kept = storage_class(call), stored_headers(call)
    if SEQUENTIAL in call.params:
        kept[SEQUENTIAL] = "true"
    if call.flag("x-oss-forbid-overwrite"):
        call.store.bucket(call.bucket)
        call.store.check_overwrite(call.bucket, call.key, ec="0042-00000214")
    upload = call.store.initiate(call.bucket, call.key, headers=kept, storage_class=klass)
    return xml_reply(responses.initiate_result(upload, url))


def _part_number(call: Call) -> int:
    text, top = call.param("partNumber"), call.store.limits.max_parts
    number = parse_uint(text, max_digits=6)
    if number is None or not 1 <= number <= top:
        raise errors.InvalidArgument(
            f"Part number must be an integer between 1 and {top}, inclusive.",
            ec="0017-00000220",
            details={"ArgumentName": "PartNumber", "ArgumentValue": text[:100]},
        )
    return number


def upload_part(call: Call) -> Reply:
    """UploadPart, or UploadPartCopy with ``x-oss-copy-source`` (docs/PROTOCOL.md §2.9, §2.10).

    The cheap checks (part number, declared size, upload exists) come before the body
    is read; a re-uploaded number replaces the earlier part.
    """
    number = _part_number(call)
    limit = call.store.limits.max_part_size
    if call.body.declared is not None and call.body.declared > limit:
        raise errors.EntityTooLarge(details={"MaxSizeAllowed": str(limit)})
    upload = call.store.upload(call.bucket, call.key, call.param("uploadId"))
    if SEQUENTIAL in upload.headers:
        _check_sequence(call, upload, number)
    if call.header("x-oss-copy-source") is not None:
        return _upload_part_copy(call, upload, number)
    blob = receive_blob(call)
    part = call.store.put_part(upload, number, blob)
    headers = {
        "ETag": part.etag,
        "Content-MD5": blob.md5_b64,
        "x-oss-hash-crc64ecma": str(part.crc64),
    }
    return empty_reply(200, headers)


def _check_sequence(call: Call, upload: UploadInfo, number: int) -> None:
    """A ``sequential`` upload takes parts in order: part N follows part N-1 (or
    replaces part N, a retry); otherwise OSS answers PartNotSequential."""
    nearby, _ = call.store.parts(upload, after=max(number - 2, 0), limit=3)
    numbers = [p.number for p in nearby]
    previous = [number - 1] if number > 1 else []
    if numbers not in (previous, [*previous, number]):
        raise errors.ServiceError(
            "For sequential multipart upload, you must upload or complete parts with "
            "sequential part number.",
            status=400,
            code="PartNotSequential",
            details={"PartNumber": str(number)},
        )


def _copy_source(value: str) -> tuple[str, str]:
    path, _, query = value.partition("?")
    if query:
        raise errors.NotImplemented("Copying an object version is not implemented by the emulator.")
    bucket, _, raw_key = path.lstrip("/").partition("/")
    try:
        key = unquote(raw_key, errors="strict")
    except UnicodeDecodeError:
        raise errors.InvalidArgument(
            "The x-oss-copy-source key is not valid UTF-8.",
            details={"ArgumentName": "x-oss-copy-source", "ArgumentValue": value[:100]},
        ) from None
    check_bucket_name(bucket)
    check_key(key)
    return bucket, key


def _upload_part_copy(call: Call, upload: UploadInfo, number: int) -> Reply:
    call.small_body()
    source_bucket, source_key = _copy_source(call.header("x-oss-copy-source") or "")
    reader = call.store.open_object(source_bucket, source_key)
    try:
        info = reader.info
        check_conditions(call.headers, info, prefix="x-oss-copy-source-")
        first, last = 0, info.size - 1
        wanted = call.header("x-oss-copy-source-range")
        if wanted is not None:
            match = _COPY_RANGE.match(wanted)
            end = (match[2] or str(info.size - 1)) if match else ""  # bytes=N- : to the end
            if not match or offset(match[1]) > offset(end) or offset(end) >= info.size:
                raise errors.InvalidArgument(
                    "The x-oss-copy-source-range is not valid for the source object.",
                    details={
                        "ArgumentName": "x-oss-copy-source-range",
                        "ArgumentValue": wanted[:100],
                    },
                )
            first, last = offset(match[1]), offset(end)
        if last - first + 1 > call.store.limits.max_part_size:
            raise errors.EntityTooLarge()
        blob = _copy_slices(call, reader.segments(first, last))
    finally:
        reader.close()
    part = call.store.put_part(upload, number, blob)
    headers = {"ETag": part.etag, "x-oss-hash-crc64ecma": str(part.crc64)}
    if wanted is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
    return xml_reply(responses.copy_part_result(part.modified, part.etag), headers)


def _copy_slices(call: Call, segments: list[Segment]) -> Blob:
    with call.store.blobs.writer() as writer:
        for chunk in read_slices(segments):
            writer.write(chunk)
        return writer.finish()


def _listed_parts(body: bytes) -> list[tuple[int, str]]:
    """``(number, etag)`` pairs of a Complete body; ``MalformedXML`` if it is not one."""
    try:
        root = xml.parse(body)
    except xml.XMLError:
        raise errors.MalformedXML() from None
    parts = []
    for part in root.findall("Part") if root.tag == "CompleteMultipartUpload" else []:
        number = (xml.child_text(part, "PartNumber") or "").strip()
        etag = xml.child_text(part, "ETag")
        value = parse_uint(number, max_digits=6)
        if value is None or etag is None:
            raise errors.MalformedXML()
        parts.append((value, etag))
    if not parts:
        raise errors.MalformedXML()
    return parts


def complete_upload(call: Call) -> Reply:
    """CompleteMultipartUpload, checks in the order of docs/PROTOCOL.md §2.11."""
    url = call.url_encoding
    refuse_callback(call)
    upload = call.store.upload(call.bucket, call.key, call.param("uploadId"))
    body = call.small_body()
    complete_all = call.header("x-oss-complete-all")
    if complete_all is not None:
        if complete_all.strip().lower() != "yes" or body.strip():
            raise errors.InvalidArgument(
                "With x-oss-complete-all: yes the request body must be empty.",
                ec="0042-00000216",
                details={"ArgumentName": "x-oss-complete-all", "ArgumentValue": complete_all[:20]},
            )
        listed = None
    else:
        listed = _listed_parts(body)
    extra = {}
    acl = call.header("x-oss-object-acl")
    if acl is not None:
        extra["x-oss-object-acl"] = acl
    info = call.store.complete(
        upload, listed, forbid_overwrite=call.flag("x-oss-forbid-overwrite"), extra_headers=extra
    )
    if SEQUENTIAL in upload.headers:
        _record_whole_md5(call, info)
    headers = {"ETag": info.etag, "x-oss-hash-crc64ecma": str(info.crc64)}
    return xml_reply(responses.complete_result(info, call.location, url), headers)


def _record_whole_md5(call: Call, info: ObjectInfo) -> None:
    """An upload initiated with ``?sequential`` ends with the whole object's MD5 as its
    ``Content-MD5`` (OSS InitiateMultipartUpload reference, ``sequential``)."""
    digest = hashlib.md5(usedforsecurity=False)
    reader = call.store.open_object(call.bucket, call.key)
    try:
        for chunk in read_slices(reader.segments(0, info.size - 1)):
            digest.update(chunk)
    finally:
        reader.close()
    call.store.set_content_md5(info, base64.b64encode(digest.digest()).decode("ascii"))


def abort_upload(call: Call) -> Reply:
    call.small_body()
    call.store.abort(call.store.upload(call.bucket, call.key, call.param("uploadId")))
    return empty_reply(204)


def list_parts(call: Call) -> Reply:
    """ListParts: pages by ``part-number-marker``/``max-parts`` (docs/PROTOCOL.md §2.14)."""
    url = call.url_encoding
    call.small_body()
    upload = call.store.upload(call.bucket, call.key, call.param("uploadId"))
    marker = int_param(call, "part-number-marker", 0, 1_000_000, minimum=0)
    limit = int_param(call, "max-parts", 1000, 1000)
    parts, truncated = call.store.parts(upload, after=marker, limit=limit)
    document = responses.list_parts(
        upload, parts, marker=marker, max_parts=limit, truncated=truncated, url=url
    )
    return xml_reply(document)


def list_uploads(call: Call) -> Reply:
    """ListMultipartUploads: (key, upload ID) order, both markers, delimiter (docs/PROTOCOL.md §2.13)."""
    url = call.url_encoding
    call.small_body()
    prefix, delimiter = call.param("prefix"), call.param("delimiter")
    key_marker, id_marker = call.param("key-marker"), call.param("upload-id-marker")
    limit = int_param(call, "max-uploads", 1000, 1000)
    page = call.store.list_uploads(
        call.bucket, prefix=prefix, delimiter=delimiter, key_marker=key_marker,
        upload_id_marker=id_marker, limit=limit,
    )  # fmt: skip
    if not url:
        require_xml_names([name for name, _ in page.entries] + page.prefixes)
    document = responses.list_uploads(
        call.bucket, page, prefix=prefix, delimiter=delimiter, key_marker=key_marker,
        upload_id_marker=id_marker, max_uploads=limit, url=url,
    )  # fmt: skip
    return xml_reply(document)
