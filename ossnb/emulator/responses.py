"""XML documents the emulator answers with (docs/PROTOCOL.md §2 shapes, §1.5 conventions, §4.1 errors).

No namespace on any root; timestamps end in ``.000Z``; ETags are quoted upper-case;
with ``encoding-type=url`` every name-like field is percent-encoded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

from ..protocol import errors
from ..protocol.xml import element, to_bytes
from .listing import Page
from .rules import iso8601, url_encode
from .store import BucketInfo, ObjectInfo, PartInfo, UploadInfo

__all__ = [
    "OWNER_ID",
    "RESOURCE_GROUP_ID",
    "bucket_info",
    "complete_result",
    "copy_part_result",
    "error_document",
    "initiate_result",
    "list_buckets",
    "list_objects",
    "list_parts",
    "list_uploads",
    "location",
]

OWNER_ID = "1234567890123456"
RESOURCE_GROUP_ID = "rg-default-id"
"""Every bucket is in the account's default resource group (the emulator has no others)."""
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _t(tag: str, value: str | int | None, url: bool = False) -> ET.Element:
    """An element whose text is ``value``; names are url-encoded when asked."""
    text = "" if value is None else str(value)
    return element(tag, url_encode(text) if url else _NOT_XML.sub("\ufffd", text))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _owner() -> ET.Element:
    return element("Owner", children=[_t("ID", OWNER_ID), _t("DisplayName", OWNER_ID)])


def error_document(exc: errors.ServiceError, request_id: str, host_id: str) -> bytes:
    """The ``<Error>`` document of docs/PROTOCOL.md §4.1, extra elements before ``EC``."""
    children = [
        _t("Code", exc.error_code),
        _t("Message", exc.message),
        _t("RequestId", request_id),
        _t("HostId", host_id),
        *(_t(name, value) for name, value in exc.details.items()),
    ]
    if exc.ec:
        children += [
            _t("EC", exc.ec),
            _t("RecommendDoc", f"https://api.aliyun.com/troubleshoot?q={exc.ec}"),
        ]
    return to_bytes(element("Error", children=children))


def bucket_info(info: BucketInfo, endpoint: str) -> bytes:
    """GetBucketInfo (docs/PROTOCOL.md §2.2): every element oss2 requires."""
    bucket = element(
        "Bucket",
        children=[
            _t("AccessMonitor", "Disabled"),
            _t("CreationDate", iso8601(info.created)),
            _t("ExtranetEndpoint", endpoint),
            _t("IntranetEndpoint", endpoint),
            _t("Location", f"oss-{info.region}"),
            _t("StorageClass", info.storage_class),
            _t("DataRedundancyType", info.redundancy),
            _t("TransferAcceleration", "Disabled"),
            _t("CrossRegionReplication", "Disabled"),
            _t("Name", info.name),
            _t("ResourceGroupId", RESOURCE_GROUP_ID),
            _owner(),
            element("AccessControlList", children=[_t("Grant", info.acl)]),
            _t("Comment", ""),
            _t("BlockPublicAccess", "false"),
            element("ServerSideEncryptionRule", children=[_t("SSEAlgorithm", "None")]),
        ],
    )
    return to_bytes(element("BucketInfo", children=[bucket]))


def location(region: str) -> bytes:
    return to_bytes(_t("LocationConstraint", f"oss-{region}"))


def list_buckets(
    buckets: Sequence[BucketInfo],
    endpoint: str,
    *,
    prefix: str,
    marker: str,
    max_keys: int,
    truncated: bool,
) -> bytes:
    items = [
        element(
            "Bucket",
            children=[
                _t("CreationDate", iso8601(b.created)),
                _t("ExtranetEndpoint", endpoint),
                _t("IntranetEndpoint", endpoint),
                _t("Location", f"oss-{b.region}"),
                _t("Name", b.name),
                _t("Region", b.region),
                _t("StorageClass", b.storage_class),
                _t("ResourceGroupId", RESOURCE_GROUP_ID),
            ],
        )
        for b in buckets
    ]
    children = [_t("Prefix", prefix), _t("Marker", marker), _t("MaxKeys", max_keys)]
    children.append(_t("IsTruncated", _bool(truncated)))
    if truncated and buckets:
        children.append(_t("NextMarker", buckets[-1].name))
    children += [_owner(), element("Buckets", children=items)]
    return to_bytes(element("ListAllMyBucketsResult", children=children))


def _contents(info: ObjectInfo, url: bool, owner: bool) -> ET.Element:
    children = [
        _t("Key", info.key, url),
        _t("LastModified", iso8601(info.modified)),
        _t("ETag", info.etag),
        _t("Type", info.object_type),
        _t("Size", info.size),
        _t("StorageClass", info.storage_class),
    ]
    if owner:
        children.append(_owner())
    return element("Contents", children=children)


def list_objects(
    bucket: str,
    page: Page[ObjectInfo],
    *,
    v2: bool,
    prefix: str,
    delimiter: str,
    max_keys: int,
    url: bool,
    marker: str = "",
    start_after: str = "",
    token: str | None = None,
    next_token: str = "",
    owner: bool = False,
) -> bytes:
    """ListObjects (V1, ``marker``) or ListObjectsV2 (``list-type=2``) result (docs/PROTOCOL.md §2.7)."""
    children = [_t("Name", bucket), _t("Prefix", prefix, url)]
    if v2:
        if start_after:
            children.append(_t("StartAfter", start_after, url))
        if token is not None:
            children.append(_t("ContinuationToken", token, url))
    else:
        children.append(_t("Marker", marker, url))
    children += [_t("MaxKeys", max_keys), _t("Delimiter", delimiter, url)]
    if url:
        children.append(_t("EncodingType", "url"))
    children.append(_t("IsTruncated", _bool(page.truncated)))
    if page.truncated:
        children.append(
            _t("NextContinuationToken", next_token, url) if v2 else _t("NextMarker", page.last, url)
        )
    children += [_contents(info, url, owner or not v2) for _, info in page.entries]
    children += [element("CommonPrefixes", children=[_t("Prefix", p, url)]) for p in page.prefixes]
    if v2:
        children.append(_t("KeyCount", len(page.entries) + len(page.prefixes)))
    return to_bytes(element("ListBucketResult", children=children))


def _encoding(url: bool) -> list[ET.Element]:
    return [_t("EncodingType", "url")] if url else []


def initiate_result(upload: UploadInfo, url: bool) -> bytes:
    children = [
        *_encoding(url),
        _t("Bucket", upload.bucket),
        _t("Key", upload.key, url),
        _t("UploadId", upload.upload_id),
    ]
    return to_bytes(element("InitiateMultipartUploadResult", children=children))


def complete_result(info: ObjectInfo, location_url: str, url: bool) -> bytes:
    children = [
        *_encoding(url),
        _t("Location", location_url),
        _t("Bucket", info.bucket),
        _t("Key", info.key, url),
        _t("ETag", info.etag),
    ]
    return to_bytes(element("CompleteMultipartUploadResult", children=children))


def copy_part_result(modified: int, etag: str) -> bytes:
    children = [_t("LastModified", iso8601(modified)), _t("ETag", etag)]
    return to_bytes(element("CopyPartResult", children=children))


def list_parts(
    upload: UploadInfo,
    parts: Sequence[PartInfo],
    *,
    marker: int,
    max_parts: int,
    truncated: bool,
    url: bool,
) -> bytes:
    """ListParts (docs/PROTOCOL.md §2.14): ``NextPartNumberMarker`` always, ``HashCrc64ecma`` per part."""
    children = [
        *_encoding(url),
        _t("Bucket", upload.bucket),
        _t("Key", upload.key, url),
        _t("UploadId", upload.upload_id),
        _t("StorageClass", upload.storage_class),
        _t("PartNumberMarker", marker),
        _t("NextPartNumberMarker", parts[-1].number if parts else marker),
        _t("MaxParts", max_parts),
        _t("IsTruncated", _bool(truncated)),
    ]
    children += [
        element(
            "Part",
            children=[
                _t("PartNumber", p.number),
                _t("LastModified", iso8601(p.modified)),
                _t("ETag", p.etag),
                _t("HashCrc64ecma", p.crc64),
                _t("Size", p.size),
            ],
        )
        for p in parts
    ]
    return to_bytes(element("ListPartsResult", children=children))


def list_uploads(
    bucket: str,
    page: Page[UploadInfo],
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
    url: bool,
) -> bytes:
    """ListMultipartUploads (docs/PROTOCOL.md §2.13), element order as real OSS sends it."""
    last_id = "" if page.last_is_prefix or not page.entries else page.entries[-1][1].upload_id
    children = [
        *_encoding(url),
        _t("Bucket", bucket),
        _t("KeyMarker", key_marker, url),
        _t("UploadIdMarker", upload_id_marker),
        _t("NextKeyMarker", page.last, url),
        _t("NextUploadIdMarker", last_id),
        _t("Delimiter", delimiter, url),
        _t("Prefix", prefix, url),
        _t("MaxUploads", max_uploads),
        _t("IsTruncated", _bool(page.truncated)),
    ]
    children += _uploads(page.entries, url)
    children += [element("CommonPrefixes", children=[_t("Prefix", p, url)]) for p in page.prefixes]
    return to_bytes(element("ListMultipartUploadsResult", children=children))


def _uploads(entries: Iterable[tuple[str, UploadInfo]], url: bool) -> list[ET.Element]:
    return [
        element(
            "Upload",
            children=[
                _t("Key", u.key, url),
                _t("UploadId", u.upload_id),
                _t("StorageClass", u.storage_class),
                _t("Initiated", iso8601(u.initiated)),
            ],
        )
        for _, u in entries
    ]
