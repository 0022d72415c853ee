"""The OSS error codes ossnb knows: HTTP status, OSS's message, a typical EC and a hint
for people (docs/PROTOCOL.md §4.2)."""

from __future__ import annotations

from msgspec import Struct

__all__ = ["ERROR_CODES", "ErrorCode"]


class ErrorCode(Struct, frozen=True):
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
