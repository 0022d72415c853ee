"""Server-side signature verification (docs/PROTOCOL.md §5): what the emulator runs on every request.

Import :func:`verify` from :mod:`ossnb.protocol.signing`. It recognises the four forms
OSS accepts (V1/V4 x header/presigned URL) and fails the way OSS does (docs/PROTOCOL.md §4.2):

============================  ====================  ==================================
failure                       exception             status
============================  ====================  ==================================
no signature at all           AccessDenied          403
no ``Date``/``x-oss-date``    AccessDenied          403
expired presigned URL         AccessDenied          403 ("Request has expired.")
unknown access key id         InvalidAccessKeyId    403
wrong signature               SignatureDoesNotMatch 403 (+ StringToSign, CanonicalRequest)
clock off by > ``max_skew``   RequestTimeTooSkewed  403 (+ RequestTime, ServerTime)
STS token not the expected    ServiceError          403 (code ``InvalidSecurityToken``)
malformed auth, bad region,   InvalidArgument       400 (+ ArgumentName, ArgumentValue)
payload hash, URL lifetime
============================  ====================  ==================================
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import TypeAlias

from msgspec import Struct
from msgspec.structs import replace

from .errors import (
    AccessDenied,
    InvalidAccessKeyId,
    InvalidArgument,
    RequestTimeTooSkewed,
    ServiceError,
    SignatureDoesNotMatch,
)
from .http import Request, lower_headers
from .numbers import parse_uint
from .signing_v1 import (
    OSS2_SUBRESOURCES,
    SUBRESOURCES,
    V2_SUBRESOURCES,
    as_utc,
    parse_http_date,
    signature_v1,
    string_to_sign_v1,
)
from .signing_v4 import (
    ALGORITHM,
    MAX_PRESIGN_SECONDS,
    UNSIGNED_PAYLOAD,
    CredentialScope,
    canonical_request_v4,
    parse_authorization_v4,
    parse_credential_v4,
    parse_timestamp_v4,
    signature_v4,
    signing_key_v4,
    string_to_sign_v4,
)

__all__ = ["Lookup", "verify"]

#: ``access key id -> secret`` (or ``-> security token``); ``None`` when unknown.
Lookup: TypeAlias = Callable[[str], str | None]

_V4_QUERY = ("x-oss-signature-version", "x-oss-credential", "x-oss-signature")
_V1_QUERY = ("OSSAccessKeyId", "Signature")


def verify(
    request: Request,
    secret_for: Lookup,
    now: datetime,
    region: str | None = None,
    max_skew: timedelta = timedelta(minutes=15),
    *,
    token_for: Lookup | None = None,
) -> str:
    """Check the signature of a received request; return its access key id (docs/PROTOCOL.md §5).

    Detects header V1 (``OSS ak:sig``), header V4 (``OSS4-HMAC-SHA256 ...``, any field
    order, ``,`` or ``, ``), presigned V1 (``OSSAccessKeyId/Expires/Signature``) and
    presigned V4 (``x-oss-signature-version=OSS4-HMAC-SHA256 ...``). ``request`` is
    what the server received: query pairs decoded with ``unquote_plus``, the key
    percent-decoded (docs/PROTOCOL.md §1.1). ``region=None`` accepts any region a V4 credential
    names. ``token_for``, when given, maps an access key id to the STS token it
    requires (``None``: no token); the token may come as ``x-oss-security-token``
    (header or V4 URL), ``security-token`` (V1 URL, and the header v2's V1 signer
    sends). V1 sub-resources are the union of both SDKs' lists, falling back to each
    SDK's own list. Raises the :mod:`~ossnb.protocol.errors` class OSS would answer.
    """
    check = _Check(
        request=request,
        headers=lower_headers(request.headers),
        secret_for=secret_for,
        token_for=token_for,
        now=as_utc(now),
        region=region,
        max_skew=max_skew,
    )
    authorization = check.headers.get("authorization")
    if authorization is not None:
        scheme = authorization.strip().partition(" ")[0]
        if scheme == ALGORITHM:
            return _verify_v4_header(check, authorization)
        if scheme == "OSS":
            return _verify_v1_header(check, authorization)
        raise _bad_authorization(authorization, "unknown signature scheme", "0002-00000061")
    names = {name for name, _ in request.query}
    if names.intersection(_V4_QUERY):
        return _verify_v4_query(check)
    if names.intersection(_V1_QUERY):
        return _verify_v1_query(check)
    raise AccessDenied("Anonymous access is forbidden for this operation.", ec="0003-00001201")


def _iso(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _same(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), provided.encode("utf-8"))


def _bad_argument(message: str, name: str, value: str, ec: str = "") -> InvalidArgument:
    return InvalidArgument(message, ec=ec, details={"ArgumentName": name, "ArgumentValue": value})


def _bad_authorization(value: str, reason: str, ec: str) -> InvalidArgument:
    return _bad_argument(f"Authorization header is invalid: {reason}.", "Authorization", value, ec)


def _mismatch(
    access_key_id: str, provided: str, string_to_sign: str, canonical: str | None, ec: str
) -> SignatureDoesNotMatch:
    details = {
        "OSSAccessKeyId": access_key_id,
        "SignatureProvided": provided,
        "StringToSign": string_to_sign,
        "StringToSignBytes": " ".join(f"{b:02X}" for b in string_to_sign.encode("utf-8")),
    }
    if canonical is not None:
        details["CanonicalRequest"] = canonical
    return SignatureDoesNotMatch("", ec=ec, details=details)


def _expired(deadline: datetime, now: datetime, ec: str) -> AccessDenied:
    details = {"Expires": _iso(deadline), "ServerTime": _iso(now)}
    return AccessDenied("Request has expired.", ec=ec, details=details)


class _Check(Struct, frozen=True):
    """One verification: the request plus the server's view (clock, keys, region)."""

    request: Request
    headers: dict[str, str]
    secret_for: Lookup
    token_for: Lookup | None
    now: datetime
    region: str | None
    max_skew: timedelta

    def within_skew(self, when: datetime, sent: str) -> None:
        if abs(self.now - when) > self.max_skew:
            raise RequestTimeTooSkewed(
                "",
                details={
                    "RequestTime": sent,
                    "ServerTime": _iso(self.now),
                    "MaxAllowedSkewMilliseconds": str(int(self.max_skew.total_seconds() * 1000)),
                },
            )

    def secret(self, access_key_id: str) -> str:
        secret = self.secret_for(access_key_id)
        if secret is None:
            raise InvalidAccessKeyId("", details={"OSSAccessKeyId": access_key_id})
        return secret

    def token(self, access_key_id: str, provided: str | None) -> None:
        if self.token_for is None:
            return
        expected = self.token_for(access_key_id)
        if (provided or None) != expected:
            raise ServiceError(
                "The security token you provided is invalid.",
                status=403,
                code="InvalidSecurityToken",
                ec="0002-00000008",
            )

    def region_matches(self, credential: CredentialScope, name: str, value: str) -> None:
        if self.region is not None and credential.region != self.region:
            raise _bad_argument(
                "The signing region in credential is invalid.", name, value, "0002-00000228"
            )


def _match_v1(check: _Check, access_key_id: str, secret: str, provided: str, date_slot: str) -> str:
    tried: list[str] = []
    for subresources in (SUBRESOURCES, OSS2_SUBRESOURCES, V2_SUBRESOURCES):
        string_to_sign = string_to_sign_v1(check.request, date_slot, subresources=subresources)
        if string_to_sign in tried:
            continue
        tried.append(string_to_sign)
        if _same(signature_v1(secret, string_to_sign), provided):
            return access_key_id
    raise _mismatch(access_key_id, provided, tried[0], None, "0002-00000040")


def _verify_v1_header(check: _Check, authorization: str) -> str:
    credentials = authorization.strip().partition(" ")[2]
    access_key_id, sep, provided = (part.strip() for part in credentials.partition(":"))
    if not sep or not access_key_id or not provided:
        raise _bad_authorization(
            authorization, "expected 'OSS <AccessKeyId>:<Signature>'", "0002-00000062"
        )
    sent = (check.headers.get("x-oss-date") or check.headers.get("date") or "").strip()
    if not sent:
        raise AccessDenied(
            "The request must carry a Date or x-oss-date header.", ec="0002-00000503"
        )
    when = parse_http_date(sent) or parse_timestamp_v4(sent)
    if when is None:
        raise AccessDenied(f"Invalid date format: {sent!r}.", ec="0002-00000503")
    check.within_skew(when, sent)
    secret = check.secret(access_key_id)
    token = check.headers.get("x-oss-security-token") or check.headers.get("security-token")
    check.token(access_key_id, token)
    return _match_v1(check, access_key_id, secret, provided, sent)


def _verify_v1_query(check: _Check) -> str:
    access_key_id = check.request.param("OSSAccessKeyId") or ""
    provided = check.request.param("Signature") or ""
    expires = check.request.param("Expires") or ""
    if not access_key_id or not provided:
        raise AccessDenied("A signed URL needs both OSSAccessKeyId and Signature.")
    if not expires:
        raise AccessDenied("The signed URL carries no Expires.", ec="0002-00000068")
    deadline = parse_uint(expires)
    if deadline is None:
        raise _bad_argument(
            "Expires must be a unix time.", "Expires", expires[:100], "0002-00000070"
        )
    if check.now.timestamp() > deadline:
        when = datetime.fromtimestamp(deadline, timezone.utc)
        raise _expired(when, check.now, "0002-00000069")
    secret = check.secret(access_key_id)
    check.token(access_key_id, check.request.param("security-token"))
    # A '+' left unencoded in the URL decodes to a space (docs/PROTOCOL.md §1.1): undo that.
    return _match_v1(check, access_key_id, secret, provided.replace(" ", "+"), expires)


def _match_v4(
    request: Request,
    credential: CredentialScope,
    additional: Iterable[str],
    timestamp: str,
    secret: str,
    provided: str,
) -> str:
    canonical = canonical_request_v4(request, additional)
    string_to_sign = string_to_sign_v4(timestamp, credential.scope, canonical)
    key = signing_key_v4(secret, credential.date, credential.region, credential.product)
    if _same(signature_v4(key, string_to_sign), provided):
        return credential.access_key_id
    raise _mismatch(credential.access_key_id, provided, string_to_sign, canonical, "0002-00000201")


def _verify_v4_header(check: _Check, authorization: str) -> str:
    try:
        auth = parse_authorization_v4(authorization)
    except ValueError as exc:
        raise _bad_authorization(authorization, str(exc), "0002-00000213") from None
    credential = auth.credential
    sent = check.headers.get("x-oss-date", "").strip()
    if not sent:
        raise AccessDenied("A V4 signed request must carry x-oss-date.", ec="0002-00000503")
    when = parse_timestamp_v4(sent)
    if when is None:
        raise AccessDenied(f"Invalid x-oss-date {sent!r}: use YYYYMMDDTHHMMSSZ.")
    if credential.date != sent[:8]:
        raise _bad_authorization(authorization, "the credential date is not x-oss-date's", "")
    check.region_matches(credential, "Authorization", authorization)
    payload = check.headers.get("x-oss-content-sha256")
    if payload is None or payload.strip() != UNSIGNED_PAYLOAD:
        raise _bad_argument(
            "The value of the x-oss-content-sha256 header is invalid: use UNSIGNED-PAYLOAD.",
            "x-oss-content-sha256",
            payload or "",
            "0002-00000214",
        )
    check.within_skew(when, sent)
    secret = check.secret(credential.access_key_id)
    check.token(credential.access_key_id, check.headers.get("x-oss-security-token"))
    return _match_v4(
        check.request, credential, auth.additional_headers, sent, secret, auth.signature
    )


def _verify_v4_query(check: _Check) -> str:
    param = check.request.param
    version = param("x-oss-signature-version") or ""
    if version != ALGORITHM:
        raise _bad_argument(
            f"x-oss-signature-version must be {ALGORITHM}.",
            "x-oss-signature-version",
            version,
            "0002-00000066",
        )
    raw_credential = param("x-oss-credential") or ""
    if raw_credential.count("/") == 4 and not raw_credential.split("/")[2]:
        raise _bad_argument(  # what OSS answers a URL presigned without a region
            "The signing region in credential is invalid.",
            "x-oss-credential",
            raw_credential,
            "0002-00000228",
        )
    try:
        credential = parse_credential_v4(raw_credential)
    except ValueError as exc:
        message = f"x-oss-credential is invalid: {exc}."
        raise _bad_argument(message, "x-oss-credential", raw_credential, "0002-00000224") from None
    sent = param("x-oss-date") or ""
    when = parse_timestamp_v4(sent)
    if when is None:
        raise _bad_argument("x-oss-date must be YYYYMMDDTHHMMSSZ.", "x-oss-date", sent)
    lifetime = param("x-oss-expires") or ""
    seconds = parse_uint(lifetime)
    if seconds is None or not 1 <= seconds <= MAX_PRESIGN_SECONDS:
        raise _bad_argument(
            f"x-oss-expires must be 1 to {MAX_PRESIGN_SECONDS} seconds.",
            "x-oss-expires",
            lifetime[:100],
            "0002-00000232",
        )
    provided = param("x-oss-signature") or ""
    if not provided:
        raise _bad_argument("x-oss-signature is missing.", "x-oss-signature", "")
    if credential.date != sent[:8]:
        raise _bad_argument(
            "The credential date is not x-oss-date's.", "x-oss-credential", raw_credential
        )
    check.region_matches(credential, "x-oss-credential", raw_credential)
    try:
        deadline = when + timedelta(seconds=seconds)
    except OverflowError:  # x-oss-date in year 9999: never expires, and is too skewed below
        deadline = datetime.max.replace(tzinfo=timezone.utc)
    if check.now > deadline:
        raise _expired(deadline, check.now, "")
    if when - check.now > check.max_skew:
        check.within_skew(when, sent)
    secret = check.secret(credential.access_key_id)
    check.token(credential.access_key_id, param("x-oss-security-token"))
    unsigned = replace(
        check.request,
        query=tuple(pair for pair in check.request.query if pair[0] != "x-oss-signature"),
    )
    additional = (param("x-oss-additional-headers") or "").split(";")
    return _match_v4(unsigned, credential, additional, sent, secret, provided)
