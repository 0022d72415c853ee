"""One exception tree for everything ossnb can fail with.

::

    OssError
    ├── ServiceError            OSS answered with an error document (status, code, EC …)
    │   ├── AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed
    │   ├── NoSuchBucket, NoSuchKey, NoSuchUpload
    │   ├── InvalidDigest, InvalidPart, InvalidPartOrder, EntityTooSmall, EntityTooLarge
    │   └── … one class per code in ``ERROR_CODES``; unknown codes stay ``ServiceError``
    ├── TransportError          the request did not get an answer (connection, timeout)
    ├── Cancelled               stopped on purpose (abort, pause) while in flight
    ├── IntegrityError          a checksum did not match (ETag, CRC-64, size)
    ├── ResponseError           an answer that is not valid OSS (bad XML, missing field)
    └── UsageError              bad input caught before anything is sent (also a ValueError)

``error_from_response`` turns an error response into the right class, reading the
body or, for HEAD requests (no body), the base64 ``x-oss-err`` header (docs/PROTOCOL.md §2.5).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from . import xml
from .error_base import (
    STORAGE_FULL,
    STORAGE_FULL_HINT,
    Cancelled,
    IntegrityError,
    OssError,
    ResponseError,
    ServiceError,
    TransportError,
    UsageError,
    is_storage_full,
)
from .error_codes import ERROR_CODES, ErrorCode

__all__ = [
    "ERROR_CODES",
    "STORAGE_FULL",
    "STORAGE_FULL_HINT",
    "AccessDenied",
    "AccessForbidden",
    "BucketAlreadyExists",
    "BucketNotEmpty",
    "Cancelled",
    "EntityTooLarge",
    "EntityTooSmall",
    "ErrorCode",
    "FileAlreadyExists",
    "IntegrityError",
    "InternalError",
    "InvalidAccessKeyId",
    "InvalidArgument",
    "InvalidBucketName",
    "InvalidDigest",
    "InvalidObjectName",
    "InvalidPart",
    "InvalidPartOrder",
    "InvalidRange",
    "InvalidSecurityToken",
    "MalformedXML",
    "MethodNotAllowed",
    "MissingContentLength",
    "NoSuchBucket",
    "NoSuchCORSConfiguration",
    "NoSuchKey",
    "NoSuchUpload",
    "NotImplemented",
    "OssError",
    "PreconditionFailed",
    "RequestTimeTooSkewed",
    "ResponseError",
    "ServiceError",
    "ServiceUnavailable",
    "SignatureDoesNotMatch",
    "TransportError",
    "UsageError",
    "error_class",
    "error_from_response",
    "is_storage_full",
    "is_transient",
]


# One class per known code, so callers can ``except NoSuchUpload``.


class AccessDenied(ServiceError):
    """OSS error ``AccessDenied``."""

    code = "AccessDenied"


class InvalidAccessKeyId(ServiceError):
    """OSS error ``InvalidAccessKeyId``."""

    code = "InvalidAccessKeyId"


class SignatureDoesNotMatch(ServiceError):
    """OSS error ``SignatureDoesNotMatch``."""

    code = "SignatureDoesNotMatch"


class InvalidSecurityToken(ServiceError):
    """OSS error ``InvalidSecurityToken``."""

    code = "InvalidSecurityToken"


class RequestTimeTooSkewed(ServiceError):
    """OSS error ``RequestTimeTooSkewed``."""

    code = "RequestTimeTooSkewed"


class InvalidArgument(ServiceError):
    """OSS error ``InvalidArgument``."""

    code = "InvalidArgument"


class InvalidDigest(ServiceError):
    """OSS error ``InvalidDigest``."""

    code = "InvalidDigest"


class MalformedXML(ServiceError):
    """OSS error ``MalformedXML``."""

    code = "MalformedXML"


class NoSuchBucket(ServiceError):
    """OSS error ``NoSuchBucket``."""

    code = "NoSuchBucket"


class NoSuchKey(ServiceError):
    """OSS error ``NoSuchKey``."""

    code = "NoSuchKey"


class NoSuchCORSConfiguration(ServiceError):
    """OSS error ``NoSuchCORSConfiguration``: the bucket has no CORS rules."""

    code = "NoSuchCORSConfiguration"


class AccessForbidden(ServiceError):
    """OSS error ``AccessForbidden``: a CORS preflight that no rule allows."""

    code = "AccessForbidden"


class NoSuchUpload(ServiceError):
    """OSS error ``NoSuchUpload``."""

    code = "NoSuchUpload"


class InvalidPart(ServiceError):
    """OSS error ``InvalidPart``."""

    code = "InvalidPart"


class InvalidPartOrder(ServiceError):
    """OSS error ``InvalidPartOrder``."""

    code = "InvalidPartOrder"


class EntityTooSmall(ServiceError):
    """OSS error ``EntityTooSmall``."""

    code = "EntityTooSmall"


class EntityTooLarge(ServiceError):
    """OSS error ``EntityTooLarge``."""

    code = "EntityTooLarge"


class FileAlreadyExists(ServiceError):
    """OSS error ``FileAlreadyExists``."""

    code = "FileAlreadyExists"


class InvalidObjectName(ServiceError):
    """OSS error ``InvalidObjectName``."""

    code = "InvalidObjectName"


class InvalidBucketName(ServiceError):
    """OSS error ``InvalidBucketName``."""

    code = "InvalidBucketName"


class BucketAlreadyExists(ServiceError):
    """OSS error ``BucketAlreadyExists``."""

    code = "BucketAlreadyExists"


class BucketNotEmpty(ServiceError):
    """OSS error ``BucketNotEmpty``."""

    code = "BucketNotEmpty"


class InvalidRange(ServiceError):
    """OSS error ``InvalidRange``."""

    code = "InvalidRange"


class PreconditionFailed(ServiceError):
    """OSS error ``PreconditionFailed``."""

    code = "PreconditionFailed"


class MissingContentLength(ServiceError):
    """OSS error ``MissingContentLength``."""

    code = "MissingContentLength"


class MethodNotAllowed(ServiceError):
    """OSS error ``MethodNotAllowed``."""

    code = "MethodNotAllowed"


class InternalError(ServiceError):
    """OSS error ``InternalError``."""

    code = "InternalError"


class ServiceUnavailable(ServiceError):
    """OSS error ``ServiceUnavailable``."""

    code = "ServiceUnavailable"


class NotImplemented(ServiceError):
    """OSS error ``NotImplemented``."""

    code = "NotImplemented"


_CLASSES: dict[str, type[ServiceError]] = {
    cls.code: cls
    for cls in (
        AccessDenied,
        InvalidAccessKeyId,
        SignatureDoesNotMatch,
        InvalidSecurityToken,
        RequestTimeTooSkewed,
        InvalidArgument,
        InvalidDigest,
        MalformedXML,
        NoSuchBucket,
        NoSuchKey,
        NoSuchUpload,
        NoSuchCORSConfiguration,
        AccessForbidden,
        InvalidPart,
        InvalidPartOrder,
        EntityTooSmall,
        EntityTooLarge,
        FileAlreadyExists,
        InvalidObjectName,
        InvalidBucketName,
        BucketAlreadyExists,
        BucketNotEmpty,
        InvalidRange,
        PreconditionFailed,
        MissingContentLength,
        MethodNotAllowed,
        InternalError,
        ServiceUnavailable,
        NotImplemented,
    )
}


def is_transient(error: OssError) -> bool:
    """Whether retrying may help: no answer, a server fault, or throttling (5xx, 429).

    Not when the server says its storage is full: that lasts until someone frees space.
    """
    if isinstance(error, TransportError):
        return True
    if is_storage_full(error):
        return False
    return isinstance(error, ServiceError) and (error.status >= 500 or error.status == 429)


def error_class(code: str) -> type[ServiceError]:
    """The exception class for an OSS error code (``ServiceError`` for unknown codes)."""
    return _CLASSES.get(code, ServiceError)


def _details_from_xml(document: bytes) -> dict[str, str]:
    root = xml.parse(document)
    if root.tag != "Error":
        raise ResponseError(f"error response has root <{root.tag}>, not <Error>")
    return {child.tag: (child.text or "") for child in root}


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ServiceError:
    """Build the :class:`ServiceError` subclass that an error response stands for.

    Falls back to the base64 ``x-oss-err`` header when there is no body (HEAD), and to
    a bare status when neither says more.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    document = body
    if not document.strip() and lower.get("x-oss-err"):
        try:
            document = base64.b64decode(lower["x-oss-err"], validate=False)
        except (binascii.Error, ValueError):
            document = b""
    fields: dict[str, str] = {}
    if document.strip():
        try:
            fields = _details_from_xml(document)
        except (ResponseError, xml.XMLError):
            fields = {"Message": document[:200].decode("utf-8", "replace")}
    code = fields.pop("Code", "") or _code_for_status(status)
    message = fields.pop("Message", "")
    request_id = fields.pop("RequestId", "") or lower.get("x-oss-request-id", "")
    ec = fields.pop("EC", "") or lower.get("x-oss-ec", "")
    host_id = fields.pop("HostId", "")
    fields.pop("RecommendDoc", None)
    cls = error_class(code)
    return cls(
        message,
        status=status,
        code=code,
        request_id=request_id,
        ec=ec,
        host_id=host_id,
        details=fields,
    )


def _code_for_status(status: int) -> str:
    return {
        403: "AccessDenied",
        404: "NoSuchKey",
        500: "InternalError",
        503: "ServiceUnavailable",
    }.get(status, f"HTTP{status}")
