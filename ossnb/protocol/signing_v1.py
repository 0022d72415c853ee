"""Signature V1 primitives: ``OSS <AccessKeyId>:<Signature>`` (docs/PROTOCOL.md §5.1).

Pure functions over :class:`~ossnb.protocol.http.Request` values; the public entry
points (``sign_v1``, ``presign_v1``, ``verify``) live in :mod:`ossnb.protocol.signing`.

::

    Signature    = Base64(HMAC-SHA1(AccessKeySecret, StringToSign))
    StringToSign = VERB \\n Content-MD5 \\n Content-Type \\n Date \\n
                   CanonicalizedOSSHeaders + CanonicalizedResource
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection, Mapping
from datetime import datetime

from .dates import as_utc, format_http_date, parse_http_date
from .http import Request, lower_headers

__all__ = [
    "OSS2_SUBRESOURCES",
    "SUBRESOURCES",
    "V2_SUBRESOURCES",
    "as_utc",
    "canonical_headers_v1",
    "canonical_resource_v1",
    "http_date",
    "parse_http_date",
    "signature_v1",
    "string_to_sign_v1",
    "trim_ows",
]

_RESPONSE_OVERRIDES = frozenset(
    "response-" + name
    for name in (
        "content-type",
        "content-language",
        "expires",
        "cache-control",
        "content-disposition",
        "content-encoding",
    )
)

# fmt: off
#: Query names oss2 2.19.1 signs as sub-resources (docs/PROTOCOL.md §5.1).
OSS2_SUBRESOURCES: frozenset[str] = _RESPONSE_OVERRIDES | frozenset((
    "acl", "uploads", "uploadId", "partNumber", "location", "logging", "website", "referer",
    "cors", "lifecycle", "delete", "append", "position", "tagging", "objectMeta", "objectInfo",
    "stat", "bucketInfo", "security-token", "restore", "qos", "qosInfo", "live", "comp",
    "status", "vod", "startTime", "endTime", "symlink", "x-oss-process", "x-oss-async-process",
    "callback", "callback-var", "encryption", "versions", "versioning", "versionId", "policy",
    "requestPayment", "x-oss-request-payer", "x-oss-traffic-limit", "asyncFetch", "sequential",
    "inventory", "inventoryId", "continuation-token", "worm", "wormId", "wormExtend",
    "replication", "replicationLocation", "replicationProgress", "transferAcceleration",
    "cname", "metaQuery", "group", "link", "resourceGroup", "style", "styleName", "regionList",
    "x-oss-write-get-object-response", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask",
    "x-oss-ac-vpc-id", "x-oss-ac-forward-allow", "bucketArchiveDirectRead", "httpsConfig",
    "redundancyTransition", "x-oss-target-redundancy-type",
    "x-oss-redundancy-transition-taskid", "accessPoint", "accessPointPolicy",
    "publicAccessBlock", "x-oss-access-point-name", "requesterQosInfo", "qosRequester",
    "resourcePoolInfo", "resourcePool", "resourcePoolBuckets",
))

#: Query names alibabacloud-oss-v2 1.4.1 signs as sub-resources (docs/PROTOCOL.md §5.1).
V2_SUBRESOURCES: frozenset[str] = _RESPONSE_OVERRIDES | frozenset((
    "acl", "bucketInfo", "location", "stat", "delete", "append", "tagging", "objectMeta",
    "uploads", "uploadId", "partNumber", "security-token", "position", "restore", "callback",
    "callback-var", "versions", "versioning", "versionId", "sequential", "continuation-token",
    "regionList", "cloudboxes", "symlink", "resourceGroup",
))
# fmt: on

#: What ossnb signs and the emulator checks first: the union of both SDKs' lists.
SUBRESOURCES: frozenset[str] = OSS2_SUBRESOURCES | V2_SUBRESOURCES


def http_date(moment: datetime) -> str:
    """RFC 1123 GMT date, e.g. ``Mon, 15 Jan 2024 08:30:00 GMT`` (docs/PROTOCOL.md §1.4)."""
    return format_http_date(moment)


def trim_ows(value: str) -> str:
    """Drop the optional whitespace HTTP allows around a header value (SP and HTAB only)."""
    return value.strip(" \t")


def canonical_headers_v1(headers: Mapping[str, str]) -> str:
    """``CanonicalizedOSSHeaders``: every ``x-oss-*`` header, ``name:value\\n``, sorted."""
    signed = sorted(
        (name, trim_ows(value))
        for name, value in lower_headers(headers).items()
        if name.startswith("x-oss-")
    )
    return "".join(f"{name}:{value}\n" for name, value in signed)


def canonical_resource_v1(request: Request, subresources: Collection[str] = SUBRESOURCES) -> str:
    """``CanonicalizedResource``: ``/bucket/key`` (decoded) plus sorted sub-resources.

    The bucket is always named, whatever the addressing style (docs/PROTOCOL.md §5.1).
    """
    resource = "/" if request.bucket is None else f"/{request.bucket}/{request.key or ''}"
    pairs = sorted((name, value) for name, value in request.query if name in subresources)
    if pairs:
        resource += "?" + "&".join(f"{n}={v}" if v else n for n, v in pairs)
    return resource


def string_to_sign_v1(
    request: Request,
    date_or_expires: str,
    *,
    subresources: Collection[str] = SUBRESOURCES,
) -> str:
    """The V1 string to sign (docs/PROTOCOL.md §5.1).

    ``date_or_expires`` fills the date slot: the ``x-oss-date`` or ``Date`` header for
    header auth, the ``Expires`` unix time for a presigned URL.
    """
    headers = lower_headers(request.headers)
    return "\n".join(
        (
            request.method,
            trim_ows(headers.get("content-md5", "")),
            trim_ows(headers.get("content-type", "")),
            date_or_expires,
            canonical_headers_v1(headers) + canonical_resource_v1(request, subresources),
        )
    )


def signature_v1(secret: str, string_to_sign: str) -> str:
    """Base64 HMAC-SHA1 of the string to sign (UTF-8) under ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")
