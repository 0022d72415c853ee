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
from dataclasses import dataclass
from typing import ClassVar

from . import xml

__all__ = [
    "ERROR_CODES",
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


class OssError(Exception):
    """Root of every error ossnb raises on purpose."""


class TransportError(OssError):
    """The request got no answer: refused, reset, timed out."""


class IntegrityError(OssError):
    """Data did not match its checksum (ETag/MD5, CRC-64 or size)."""


class ResponseError(OssError):
    """A response that does not follow the OSS protocol (bad XML, missing element)."""


class UsageError(OssError, ValueError):
    """Invalid input refused before any request is sent."""


class Cancelled(OssError):
    """The request was stopped on purpose (abort or pause) before it finished."""


class ServiceError(OssError):
    """An error answered by OSS (or the emulator).

    ``code`` is the OSS error code (``NoSuchUpload``), ``ec`` the diagnostic EC
    (``0017-00000244``) and ``details`` any other elements of the error document
    (``UploadId``, ``ArgumentName`` …).
    """

    code: ClassVar[str] = ""

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str = "",
        ec: str = "",
        host_id: str = "",
        details: Mapping[str, str] | None = None,
    ) -> None:
        spec = ERROR_CODES.get(code or type(self).code)
        self.status: int = status if status is not None else (spec.status if spec else 500)
        self.error_code: str = code or type(self).code or "UnknownError"
        self.message: str = message or (spec.message if spec else "")
        self.request_id = request_id
        self.ec = ec or (spec.ec if spec else "")
        self.host_id = host_id
        self.details: dict[str, str] = dict(details or {})
        super().__init__(self._summary())

    def _summary(self) -> str:
        text = f"{self.error_code} ({self.status}): {self.message}"
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text

    @property
    def hint(self) -> str:
        """What the user can do about it, in one line."""
        if is_storage_full(self):
            return STORAGE_FULL_HINT
        spec = ERROR_CODES.get(self.error_code)
        return spec.hint if spec else ""


@dataclass(frozen=True)
class ErrorCode:
    """A known OSS error code: its HTTP status, OSS's message, a typical EC and a hint."""

    status: int
    message: str
    ec: str = ""
    hint: str = ""


ERROR_CODES: dict[str, ErrorCode] = {
    "AccessDenied": ErrorCode(
        403,
        "AccessDenied",
        "0003-00000001",
        "Check the credentials and that the request has not expired.",
    ),
    "InvalidAccessKeyId": ErrorCode(
        403,
        "The OSS Access Key Id you provided does not exist in our records.",
        "0002-00000902",
        "Check OSS_ACCESS_KEY_ID.",
    ),
    "SignatureDoesNotMatch": ErrorCode(
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        "0002-00000040",
        "Check OSS_ACCESS_KEY_SECRET, the region (V4) and the signature version.",
    ),
    "InvalidSecurityToken": ErrorCode(
        403,
        "The security token you provided is invalid.",
        "0002-00000008",
        "Check OSS_SESSION_TOKEN: STS tokens expire.",
    ),
    "RequestTimeTooSkewed": ErrorCode(
        403,
        "The difference between the request time and the current time is too large.",
        "0002-00000504",
        "Fix this machine's clock.",
    ),
    "InvalidArgument": ErrorCode(
        400, "Invalid Argument.", "0017-00000220", "A parameter is out of range; see ArgumentName."
    ),
    "InvalidDigest": ErrorCode(
        400,
        "The Content-MD5 you specified is not valid.",
        "0017-00000503",
        "The bytes sent differ from their Content-MD5: the data changed "
        "or was corrupted on the way; send the part again.",
    ),
    "MalformedXML": ErrorCode(
        400,
        "The XML you provided was not well-formed or did not validate against our published schema.",
        "0016-00000608",
    ),
    "NoSuchBucket": ErrorCode(
        404,
        "The specified bucket does not exist.",
        "0015-00000101",
        "Create the bucket first, or check its name and the endpoint.",
    ),
    "NoSuchKey": ErrorCode(404, "The specified key does not exist.", "0026-00000001"),
    "NoSuchCORSConfiguration": ErrorCode(
        404,
        "The CORS Configuration does not exist.",
        "0034-00000001",
        "The bucket has no CORS rules: a browser cannot send parts to it until one is added.",
    ),
    "AccessForbidden": ErrorCode(
        403,
        "CORSResponse: This CORS request is not allowed.",
        "0003-00000001",
        "Add a CORS rule to the bucket that allows this origin, method and headers.",
    ),
    "NoSuchUpload": ErrorCode(
        404,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed.",
        "0017-00000244",
        "The upload was aborted or completed; start a new one.",
    ),
    "InvalidPart": ErrorCode(
        400,
        "One or more of the specified parts could not be found or the specified entity tag "
        "might not have matched the part's entity tag.",
        "0042-00000210",
        "Complete with the ETags that ListParts returns.",
    ),
    "InvalidPartOrder": ErrorCode(
        400,
        "The list of parts was not in ascending order. The parts list must be specified in "
        "order by part number.",
        "0042-00000209",
        "List the parts in ascending part-number order.",
    ),
    "EntityTooSmall": ErrorCode(
        400,
        "Your proposed upload is smaller than the minimum allowed size.",
        "0042-00000213",
        "Every part but the last must be at least 100 KiB.",
    ),
    "EntityTooLarge": ErrorCode(
        400,
        "Your proposed upload exceeds the maximum allowed size.",
        "0017-00000301",
        "Use multipart upload or smaller parts.",
    ),
    "FileAlreadyExists": ErrorCode(
        409, "The object you specified already exists and can not be overwritten.", "0026-00000201"
    ),
    "InvalidObjectName": ErrorCode(
        400,
        "The specified object is not valid.",
        "0016-00000005",
        "Keys are 1-1023 UTF-8 bytes and must not start with / or \\.",
    ),
    "InvalidBucketName": ErrorCode(
        400,
        "The specified bucket is not valid.",
        "0015-00000001",
        "Bucket names are 3-63 characters of a-z, 0-9 and -.",
    ),
    "BucketAlreadyExists": ErrorCode(
        409, "The requested bucket name is not available.", "0015-00000002"
    ),
    "BucketNotEmpty": ErrorCode(
        409, "The bucket you tried to delete is not empty.", "0015-00000301"
    ),
    "InvalidRange": ErrorCode(416, "The requested range cannot be satisfied", "0017-00000302"),
    "PreconditionFailed": ErrorCode(
        412, "At least one of the pre-conditions you specified did not hold.", "0026-00000301"
    ),
    "MissingContentLength": ErrorCode(
        411, "You must provide the Content-Length HTTP header.", "0017-00000101"
    ),
    "MethodNotAllowed": ErrorCode(
        405, "The specified method is not allowed against this resource.", "0017-00000001"
    ),
    "InternalError": ErrorCode(
        500,
        "We encountered an internal error. Please try again.",
        "0000-00000001",
        "A server fault; retrying usually helps.",
    ),
    "ServiceUnavailable": ErrorCode(
        503, "Please reduce your request rate.", "0000-00000002", "The server is busy; retry later."
    ),
    "NotImplemented": ErrorCode(
        501, "A header you provided implies functionality that is not implemented.", "0000-00000003"
    ),
}

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


STORAGE_FULL = "The server's storage is full"
"""How the ossnb emulator's ``InternalError`` message starts when its disk is full.

OSS has no error code for that, so the emulator answers ``InternalError`` (500), as OSS
does for server faults, with this message; clients then say so and do not retry."""
STORAGE_FULL_HINT = (
    "The server's disk is full: free space there (for the ossnb emulator, in its "
    "--data-dir), then resume; retrying before that will not help."
)


def is_storage_full(error: BaseException) -> bool:
    """Whether ``error`` is the emulator's "storage is full" ``InternalError``."""
    return (
        isinstance(error, ServiceError)
        and error.error_code == "InternalError"
        and error.message.startswith(STORAGE_FULL)
    )


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
