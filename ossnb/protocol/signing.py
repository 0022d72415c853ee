"""OSS request signing: V1 and V4, header and presigned URL, and server-side checks (docs/PROTOCOL.md §5).

The public module; the algorithms live in :mod:`.signing_v1`, :mod:`.signing_v4` and
:mod:`.signing_verify`. Everything is a pure function of its arguments: the clock is a
parameter, nothing is sent anywhere.

::

    sign_v1(request, credentials, now)                     -> SignedRequest  (Authorization: OSS ak:sig)
    sign_v4(request, credentials, region, now)             -> SignedRequest  (OSS4-HMAC-SHA256 ...)
    presign_v1(request, credentials, expires)              -> SignedRequest  (?OSSAccessKeyId&Expires&Signature)
    presign_v4(request, credentials, region, now, seconds) -> SignedRequest  (?x-oss-signature-version ...)
    verify(request, secret_for, now, region=None)          -> access key id, or an OSS error

A :class:`SignedRequest` carries the signed request and what was signed
(``string_to_sign``, V4's ``canonical_request``) for the teaching transcript; neither
it nor :class:`Credentials` shows the secret or the STS token in ``repr``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from msgspec.structs import replace

from .errors import UsageError
from .http import Masked, Request, lower_headers
from .signing_v1 import (
    OSS2_SUBRESOURCES,
    SUBRESOURCES,
    V2_SUBRESOURCES,
    as_utc,
    canonical_resource_v1,
    http_date,
    signature_v1,
    string_to_sign_v1,
)
from .signing_v4 import (
    ALGORITHM,
    MAX_PRESIGN_SECONDS,
    UNSIGNED_PAYLOAD,
    additional_header_names,
    canonical_request_v4,
    format_authorization_v4,
    format_timestamp_v4,
    scope_v4,
    signature_v4,
    signing_key_chain_v4,
    signing_key_v4,
    string_to_sign_v4,
)
from .signing_verify import Lookup, verify
from .transcript import renderings

__all__ = [
    "ALGORITHM",
    "MAX_PRESIGN_SECONDS",
    "OSS2_SUBRESOURCES",
    "SUBRESOURCES",
    "UNSIGNED_PAYLOAD",
    "V2_SUBRESOURCES",
    "Credentials",
    "Lookup",
    "SignedRequest",
    "canonical_request_v4",
    "canonical_resource_v1",
    "check_credential",
    "http_date",
    "presign_v1",
    "presign_v4",
    "sign_v1",
    "sign_v4",
    "signing_key_chain_v4",
    "string_to_sign_v1",
    "string_to_sign_v4",
    "verify",
]

_MASK = "***"
_TOKEN_HEADERS = ("x-oss-security-token", "security-token")
_TOKEN_PARAMS = ("security-token", "x-oss-security-token")
_V1_QUERY_AUTH = ("OSSAccessKeyId", "Expires", "Signature", "security-token")
_V4_QUERY_AUTH = (
    "x-oss-signature-version",
    "x-oss-date",
    "x-oss-expires",
    "x-oss-credential",
    "x-oss-security-token",
    "x-oss-additional-headers",
    "x-oss-signature",
)


def check_credential(name: str, value: str) -> None:
    """Raise :class:`UsageError` unless ``value`` is a usable key id, secret or token:
    non-empty printable ASCII without spaces (what HTTP headers and the signatures carry).

    The message names ``name`` and the position of the first bad character, never the
    value: a line break in a token would otherwise reach the HTTP library, whose error
    quotes the whole header.
    """
    if not isinstance(value, str) or not value:
        raise UsageError(f"{name} is empty")
    for index, char in enumerate(value, 1):
        if "!" <= char <= "~":
            continue
        if char in "\r\n":
            what = "a line break (CR or LF)"
        elif char.isspace():
            what = "white space"
        elif char.isascii():
            what = "a control character"
        else:
            what = "a non-ASCII character"
        raise UsageError(
            f"{name} has {what} at character {index} of {len(value)}; credentials are printable "
            "ASCII without spaces: copy it again as issued (it is not shown here)"
        )


class Credentials(Masked, frozen=True):
    """An AccessKey pair, plus the STS token for temporary credentials.

    ``repr``/``str`` mask the secret and the token.
    """

    access_key_id: str
    access_key_secret: str
    security_token: str | None = None

    def __post_init__(self) -> None:
        check_credential("the access key id", self.access_key_id)
        check_credential("the access key secret", self.access_key_secret)
        if self.security_token:
            check_credential("the security token", self.security_token)

    def __repr__(self) -> str:
        token = None if self.security_token is None else _MASK
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, "
            f"access_key_secret={_MASK!r}, security_token={token!r})"
        )


class SignedRequest(Masked, frozen=True):
    """A signed request and what was signed.

    ``request`` is the input plus the auth headers (header auth) or the auth query
    parameters (presigned). ``canonical_request`` is ``None`` for V1. ``repr`` masks
    the STS token wherever it appears.
    """

    request: Request
    string_to_sign: str
    canonical_request: str | None = None

    def __repr__(self) -> str:
        headers = lower_headers(self.request.headers)
        tokens = {headers[name] for name in _TOKEN_HEADERS if headers.get(name)}
        tokens |= {value for name, value in self.request.query if name in _TOKEN_PARAMS and value}

        forms = sorted({form for token in tokens for form in renderings(token)}, key=len)

        def mask(text: str) -> str:
            for form in reversed(forms):  # longest first; percent-encoded and escaped too
                text = text.replace(form, _MASK)
            return text

        request = replace(
            self.request,
            headers={name: mask(value) for name, value in headers.items()},
            query=tuple((name, mask(value)) for name, value in self.request.query),
        )
        canonical = None if self.canonical_request is None else mask(self.canonical_request)
        return (
            f"SignedRequest(request={request!r}, string_to_sign={mask(self.string_to_sign)!r}, "
            f"canonical_request={canonical!r})"
        )


def _without(request: Request, names: Iterable[str]) -> Request:
    drop = set(names)
    return replace(request, query=tuple(pair for pair in request.query if pair[0] not in drop))


def sign_v1(request: Request, credentials: Credentials, now: datetime) -> SignedRequest:
    """Sign with V1 in the ``Authorization`` header (docs/PROTOCOL.md §5.1).

    Adds ``date`` (RFC 1123 of ``now``) unless ``x-oss-date`` or ``date`` is already
    set, ``x-oss-security-token`` for STS credentials, and ``authorization``.
    """
    headers = lower_headers(request.headers)
    headers.pop("authorization", None)
    if credentials.security_token:
        headers["x-oss-security-token"] = credentials.security_token
    date = (headers.get("x-oss-date") or headers.get("date") or "").strip()
    if not date:
        date = headers["date"] = http_date(now)
    string_to_sign = string_to_sign_v1(replace(request, headers=headers), date)
    signature = signature_v1(credentials.access_key_secret, string_to_sign)
    headers["authorization"] = f"OSS {credentials.access_key_id}:{signature}"
    return SignedRequest(replace(request, headers=headers), string_to_sign)


def presign_v1(request: Request, credentials: Credentials, expires: datetime) -> SignedRequest:
    """A V1 presigned request: ``OSSAccessKeyId``, ``Expires`` (absolute unix seconds),
    ``security-token`` (STS; signed as a sub-resource) and ``Signature`` appended to
    the query (docs/PROTOCOL.md §5.1). Headers the request carries are signed as they are.
    """
    deadline = str(int(as_utc(expires).timestamp()))
    query = _without(request, _V1_QUERY_AUTH).query
    query += (("OSSAccessKeyId", credentials.access_key_id), ("Expires", deadline))
    if credentials.security_token:
        query += (("security-token", credentials.security_token),)
    unsigned = replace(request, query=query)
    string_to_sign = string_to_sign_v1(unsigned, deadline)
    signature = signature_v1(credentials.access_key_secret, string_to_sign)
    return SignedRequest(unsigned.with_query(("Signature", signature)), string_to_sign)


def _check_region(region: str) -> None:
    if not region:
        raise UsageError("V4 signing needs a region, e.g. 'cn-hangzhou'")


def sign_v4(
    request: Request,
    credentials: Credentials,
    region: str,
    now: datetime,
    additional_headers: Iterable[str] = (),
    product: str = "oss",
) -> SignedRequest:
    """Sign with V4 in the ``Authorization`` header (docs/PROTOCOL.md §5.2).

    Adds ``x-oss-date``, ``x-oss-content-sha256: UNSIGNED-PAYLOAD``,
    ``x-oss-security-token`` (STS) and ``authorization``. ``additional_headers`` name
    extra headers to sign (e.g. ``host``); absent ones and those V4 signs anyway are
    dropped, as alibabacloud-oss-v2 does.
    """
    _check_region(region)
    headers = lower_headers(request.headers)
    headers.pop("authorization", None)
    timestamp = format_timestamp_v4(now)
    headers["x-oss-date"] = timestamp
    headers["x-oss-content-sha256"] = UNSIGNED_PAYLOAD
    if credentials.security_token:
        headers["x-oss-security-token"] = credentials.security_token
    names = additional_header_names(headers, additional_headers)
    canonical = canonical_request_v4(replace(request, headers=headers), names)
    scope = scope_v4(timestamp[:8], region, product)
    string_to_sign = string_to_sign_v4(timestamp, scope, canonical)
    key = signing_key_v4(credentials.access_key_secret, timestamp[:8], region, product)
    signature = signature_v4(key, string_to_sign)
    headers["authorization"] = format_authorization_v4(
        credentials.access_key_id, scope, signature, names
    )
    return SignedRequest(replace(request, headers=headers), string_to_sign, canonical)


def presign_v4(
    request: Request,
    credentials: Credentials,
    region: str,
    now: datetime,
    expires_in: int,
    additional_headers: Iterable[str] = (),
    product: str = "oss",
) -> SignedRequest:
    """A V4 presigned request (docs/PROTOCOL.md §5.2).

    Appends ``x-oss-signature-version``, ``x-oss-date`` (``now``), ``x-oss-expires``
    (``expires_in`` seconds, 1 to 604800, relative to ``x-oss-date``),
    ``x-oss-credential``, ``x-oss-security-token`` (STS), ``x-oss-additional-headers``
    (when any) and finally ``x-oss-signature``. Headers are left as they are.
    """
    _check_region(region)
    if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
        raise UsageError(f"expires_in must be 1 to {MAX_PRESIGN_SECONDS} seconds (7 days)")
    timestamp = format_timestamp_v4(now)
    scope = scope_v4(timestamp[:8], region, product)
    names = additional_header_names(request.headers, additional_headers)
    query = (
        *_without(request, _V4_QUERY_AUTH).query,
        ("x-oss-signature-version", ALGORITHM),
        ("x-oss-date", timestamp),
        ("x-oss-expires", str(expires_in)),
        ("x-oss-credential", f"{credentials.access_key_id}/{scope}"),
    )
    if credentials.security_token:
        query += (("x-oss-security-token", credentials.security_token),)
    if names:
        query += (("x-oss-additional-headers", ";".join(names)),)
    unsigned = replace(request, query=query)
    canonical = canonical_request_v4(unsigned, names)
    string_to_sign = string_to_sign_v4(timestamp, scope, canonical)
    key = signing_key_v4(credentials.access_key_secret, timestamp[:8], region, product)
    signed = unsigned.with_query(("x-oss-signature", signature_v4(key, string_to_sign)))
    return SignedRequest(signed, string_to_sign, canonical)
