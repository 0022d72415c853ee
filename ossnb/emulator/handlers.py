"""Service, bucket and object operations (docs/PROTOCOL.md §2.1-2.7): a :class:`Call` in, a :class:`Reply` out."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from ..protocol import errors, xml
from ..protocol.checksums import normalize_etag
from ..protocol.numbers import parse_uint
from . import responses
from .compression import accepts_gzip, compressible, gzip_pieces
from .exchange import Call, Reply, empty_reply, receive_blob, xml_reply
from .rules import check_tagging, http_date, parse_http_date, resolve_range, xml_safe
from .store import ObjectInfo

__all__ = [
    "STORAGE_CLASSES",
    "check_conditions",
    "delete_bucket",
    "delete_object",
    "get_bucket_info",
    "get_bucket_location",
    "get_object",
    "int_param",
    "list_buckets",
    "list_objects",
    "object_headers",
    "put_bucket",
    "put_object",
    "refuse_callback",
    "require_xml_names",
    "stored_headers",
]

STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
_ACLS = ("private", "public-read", "public-read-write")
_BUCKET_FEATURES = (
    "x-oss-server-side-encryption", "x-oss-server-side-data-encryption",
    "x-oss-server-side-encryption-key-id", "x-oss-resource-group-id", "x-oss-bucket-tagging",
)  # fmt: skip
_KEPT = (
    "content-type", "cache-control", "content-disposition", "content-encoding",
    "content-language", "expires", "x-oss-server-side-encryption",
    "x-oss-server-side-data-encryption", "x-oss-server-side-encryption-key-id", "x-oss-tagging",
    "x-oss-object-acl",
)  # fmt: skip
_SHOWN = {
    "content-type": "Content-Type", "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition", "content-encoding": "Content-Encoding",
    "content-language": "Content-Language", "expires": "Expires",
    "x-oss-server-side-encryption": "x-oss-server-side-encryption",
    "x-oss-server-side-data-encryption": "x-oss-server-side-data-encryption",
    "x-oss-server-side-encryption-key-id": "x-oss-server-side-encryption-key-id",
}  # fmt: skip
_OVERRIDES = {
    "response-content-type": "Content-Type", "response-content-language": "Content-Language",
    "response-expires": "Expires", "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}  # fmt: skip


def int_param(call: Call, name: str, default: int, maximum: int, minimum: int = 1) -> int:
    """An integer query parameter of at least ``minimum``; values above ``maximum`` are clamped."""
    text = call.param(name)
    if not text:
        return default
    value = parse_uint(text, max_digits=12)
    if value is None or value < minimum:
        raise errors.InvalidArgument(
            f"{name} must be an integer of at least {minimum}.",
            details={"ArgumentName": name, "ArgumentValue": text[:100]},
        )
    return min(value, maximum)


def storage_class(call: Call) -> str:
    """``x-oss-storage-class``, else the bucket's class (objects inherit it, as on OSS)."""
    value = call.header("x-oss-storage-class") or call.store.bucket(call.bucket).storage_class
    if value not in STORAGE_CLASSES:
        raise errors.InvalidArgument(
            "Invalid storage class.",
            details={"ArgumentName": "x-oss-storage-class", "ArgumentValue": value[:100]},
        )
    return value


def stored_headers(call: Call) -> dict[str, str]:
    """The request headers an object keeps (docs/PROTOCOL.md §2.3, §2.8): content headers, meta, SSE."""
    kept = {n: v for n, v in call.headers.items() if n in _KEPT or n.startswith("x-oss-meta-")}
    if "x-oss-tagging" in kept:
        check_tagging(kept["x-oss-tagging"])
    kept.setdefault("content-type", "application/octet-stream")
    return kept


def object_headers(info: ObjectInfo) -> dict[str, str]:
    """Headers of GetObject/HeadObject (docs/PROTOCOL.md §2.4, §2.5)."""
    out = {
        "Content-Type": "application/octet-stream",
        "ETag": info.etag,
        "Last-Modified": http_date(info.modified),
        "Accept-Ranges": "bytes",
        "x-oss-object-type": info.object_type,
        "x-oss-storage-class": info.storage_class,
        "x-oss-hash-crc64ecma": str(info.crc64),
    }
    for name, value in info.headers.items():
        if name in _SHOWN:
            out[_SHOWN[name]] = value
        elif name.startswith("x-oss-meta-"):
            out[name] = value
    if info.headers.get("x-oss-tagging"):
        out["x-oss-tagging-count"] = str(len(info.headers["x-oss-tagging"].split("&")))
    if info.content_md5:
        out["Content-MD5"] = info.content_md5
    return out


def _etag_matches(header: str, etag: str) -> bool:
    wanted = normalize_etag(etag)
    return any(t.strip() == "*" or normalize_etag(t) == wanted for t in header.split(","))


def check_conditions(headers: Mapping[str, str], info: ObjectInfo, prefix: str = "") -> int:
    """Evaluate If-Match & co. (quotes optional); 200, 304, or ``PreconditionFailed``.

    With ``prefix="x-oss-copy-source-"`` (UploadPartCopy) a 304 case is a 412.
    """
    if_match = headers.get(prefix + "if-match")
    if if_match is not None and not _etag_matches(if_match, info.etag):
        raise errors.PreconditionFailed(details={"Condition": "If-Match"})
    since = parse_http_date(headers.get(prefix + "if-unmodified-since"))
    if if_match is None and since is not None and info.modified > since:
        raise errors.PreconditionFailed(details={"Condition": "If-Unmodified-Since"})
    none_match = headers.get(prefix + "if-none-match")
    modified = parse_http_date(headers.get(prefix + "if-modified-since"))
    unchanged = (none_match is not None and _etag_matches(none_match, info.etag)) or (
        none_match is None and modified is not None and info.modified <= modified
    )
    if unchanged:
        if prefix:
            raise errors.PreconditionFailed(details={"Condition": "If-None-Match"})
        return 304
    return 200


# -- service and buckets -------------------------------------------------------------


def list_buckets(call: Call) -> Reply:
    prefix, marker = call.param("prefix"), call.param("marker")
    limit = int_param(call, "max-keys", 100, 1000)
    group = call.header("x-oss-resource-group-id")
    chosen = [b for b in call.store.buckets() if b.name.startswith(prefix) and b.name > marker]
    if group and group != responses.RESOURCE_GROUP_ID:
        chosen = []  # buckets are all in the default resource group
    page = chosen[:limit]
    document = responses.list_buckets(
        page, call.host, prefix=prefix, marker=marker, max_keys=limit,
        truncated=len(chosen) > limit,
    )  # fmt: skip
    return xml_reply(document)


def _refuse_bucket_features(call: Call) -> None:
    """PutBucket headers for features the emulator lacks answer NotImplemented."""
    for name in _BUCKET_FEATURES:
        value = call.header(name)
        if value and (name != "x-oss-resource-group-id" or value != responses.RESOURCE_GROUP_ID):
            raise errors.NotImplemented(
                f"The {name} header of PutBucket is not implemented by the ossnb emulator.",
                details={"Header": name},
            )


def put_bucket(call: Call) -> Reply:
    _refuse_bucket_features(call)
    acl = call.header("x-oss-acl") or "private"
    if acl not in _ACLS:
        raise errors.InvalidArgument(details={"ArgumentName": "x-oss-acl", "ArgumentValue": acl})
    body = call.small_body()
    klass, redundancy = "Standard", "LRS"
    if body.strip():
        try:
            root = xml.parse(body)
        except xml.XMLError:
            raise errors.MalformedXML() from None
        if root.tag != "CreateBucketConfiguration":
            raise errors.MalformedXML()
        klass = xml.child_text(root, "StorageClass") or klass
        redundancy = xml.child_text(root, "DataRedundancyType") or redundancy
        if klass not in STORAGE_CLASSES or redundancy not in ("LRS", "ZRS"):
            raise errors.InvalidArgument(
                "Invalid storage class or redundancy type.",
                details={"ArgumentName": "CreateBucketConfiguration", "ArgumentValue": klass},
            )
    call.store.create_bucket(call.bucket, acl=acl, storage_class=klass, redundancy=redundancy)
    return empty_reply(200, {"Location": f"/{call.bucket}"})


def get_bucket_info(call: Call) -> Reply:
    call.small_body()
    return xml_reply(responses.bucket_info(call.store.bucket(call.bucket), call.host))


def get_bucket_location(call: Call) -> Reply:
    call.small_body()
    return xml_reply(responses.location(call.store.bucket(call.bucket).region))


def delete_bucket(call: Call) -> Reply:
    call.small_body()
    call.store.delete_bucket(call.bucket)
    return empty_reply(204)


# -- objects -------------------------------------------------------------------------


def refuse_callback(call: Call) -> None:
    """Upload callbacks (``x-oss-callback``) answer NotImplemented, never a silent success."""
    if call.header("x-oss-callback") is not None:
        raise errors.NotImplemented(
            "Upload callbacks (x-oss-callback) are not implemented by the ossnb emulator.",
            details={"Header": "x-oss-callback"},
        )


def put_object(call: Call) -> Reply:
    """PutObject (docs/PROTOCOL.md §2.3): checks before the body is read, then stream, hash, verify."""
    if call.header("x-oss-copy-source") is not None:
        raise errors.NotImplemented("CopyObject is not implemented by the ossnb emulator.")
    refuse_callback(call)
    store = call.store
    klass, kept = storage_class(call), stored_headers(call)
    forbid = call.flag("x-oss-forbid-overwrite")
    store.bucket(call.bucket)
    if forbid:
        store.check_overwrite(call.bucket, call.key)
    blob = receive_blob(call)
    info = store.put_object(
        call.bucket, call.key, blob, headers=kept, storage_class=klass, forbid_overwrite=forbid
    )
    return empty_reply(
        200,
        {"ETag": info.etag, "x-oss-hash-crc64ecma": str(info.crc64), "Content-MD5": blob.md5_b64},
    )


def get_object(call: Call) -> Reply:
    """GetObject/HeadObject/GetObjectMeta (docs/PROTOCOL.md §2.4, §2.5): conditions, OSS range quirk, streaming."""
    call.small_body()
    head = call.method == "HEAD"
    reader = None if head else call.store.open_object(call.bucket, call.key)
    try:
        info = call.store.head_object(call.bucket, call.key) if reader is None else reader.info
        headers = object_headers(info)
        if check_conditions(call.headers, info) == 304:
            if reader is not None:
                reader.close()
            return empty_reply(304, {"ETag": info.etag, "Last-Modified": headers["Last-Modified"]})
        standard = (call.header("x-oss-range-behavior") or "").lower() == "standard"
        rng = None if head else resolve_range(call.header("range"), info.size, standard)
        for name, header in _OVERRIDES.items():
            if call.param(name):
                headers[header] = call.param(name)
        first, last = (rng.first, rng.last) if rng else (0, info.size - 1)
        if rng is not None:
            headers["Content-Range"] = rng.content_range
        status = 206 if rng is not None else 200
        if reader is None:
            return Reply(status, headers, length=info.size)
        segments = reader.segments(first, last)
        if rng is None and _gzip_wanted(call, headers, info.size):
            headers["Content-Encoding"] = "gzip"
            return Reply(status, headers, stream=gzip_pieces(segments), release=reader.close)
        return Reply(status, headers, segments=segments, release=reader.close)
    except BaseException:
        if reader is not None:
            reader.close()
        raise


def _gzip_wanted(call: Call, headers: Mapping[str, str], size: int) -> bool:
    """Whether to answer gzip-encoded: the client accepts it and OSS compresses this object
    (one stored with its own Content-Encoding is sent as it is)."""
    if "Content-Encoding" in headers:
        return False
    return accepts_gzip(call.header("accept-encoding")) and compressible(
        headers.get("Content-Type", ""), size
    )


def delete_object(call: Call) -> Reply:
    call.small_body()
    call.store.delete_object(call.bucket, call.key)
    return empty_reply(204)


def _token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode("utf-8")).decode("ascii").rstrip("=")


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        raise errors.InvalidArgument(
            "The continuation token provided is incorrect.",
            details={"ArgumentName": "continuation-token", "ArgumentValue": token[:100]},
        ) from None


def require_xml_names(names: list[str]) -> None:
    """Names XML 1.0 cannot carry (control characters) need ``encoding-type=url``."""
    bad = next((name for name in names if not xml_safe(name)), None)
    if bad is not None:
        raise errors.InvalidArgument(
            "An object name in this listing holds characters XML cannot carry: "
            "list with encoding-type=url.",
            details={"ArgumentName": "encoding-type", "ArgumentValue": ""},
        )


def list_objects(call: Call) -> Reply:
    """ListObjects (``marker``) and ListObjectsV2 (``list-type=2``) (docs/PROTOCOL.md §2.7)."""
    call.small_body()
    v2 = call.param("list-type") == "2"
    url = call.url_encoding
    prefix, delimiter = call.param("prefix"), call.param("delimiter")
    limit = int_param(call, "max-keys", 100, 1000)
    token = call.params.get("continuation-token") if v2 else None
    start_after = call.param("start-after") if v2 else ""
    after = (_untoken(token) if token else start_after) if v2 else call.param("marker")
    page = call.store.list_objects(
        call.bucket, prefix=prefix, delimiter=delimiter, after=after, limit=limit
    )
    if not url:
        require_xml_names([name for name, _ in page.entries] + page.prefixes)
    document = responses.list_objects(
        call.bucket, page, v2=v2, prefix=prefix, delimiter=delimiter, max_keys=limit, url=url,
        marker=after, start_after=start_after, token=token or None,
        next_token=_token(page.last), owner=call.param("fetch-owner") == "true",
    )  # fmt: skip
    return xml_reply(document)
