"""Signature V4 primitives: ``OSS4-HMAC-SHA256`` (docs/PROTOCOL.md §5.2).

Pure functions over :class:`~ossnb.protocol.http.Request` values; the public entry
points (``sign_v4``, ``presign_v4``, ``verify``) live in :mod:`ossnb.protocol.signing`.

::

    CanonicalRequest = VERB \\n CanonicalURI \\n CanonicalQuery \\n CanonicalHeaders \\n
                       AdditionalHeaders \\n HashedPayload
    StringToSign     = OSS4-HMAC-SHA256 \\n x-oss-date \\n Scope \\n hex(SHA256(CanonicalRequest))
    Scope            = <yyyymmdd>/<region>/<product>/aliyun_v4_request
    SigningKey       = HMAC chain "aliyun_v4" + secret → date → region → product → terminator
    Signature        = hex(HMAC-SHA256(SigningKey, StringToSign))
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from urllib.parse import quote

from msgspec import Struct

from .http import Query, Request, lower_headers
from .signing_v1 import as_utc, trim_ows

__all__ = [
    "ALGORITHM",
    "MAX_PRESIGN_SECONDS",
    "TERMINATOR",
    "UNSIGNED_PAYLOAD",
    "AuthorizationV4",
    "CredentialScope",
    "additional_header_names",
    "canonical_query_v4",
    "canonical_request_v4",
    "canonical_uri_v4",
    "format_authorization_v4",
    "format_timestamp_v4",
    "is_default_signed_v4",
    "parse_authorization_v4",
    "parse_credential_v4",
    "parse_timestamp_v4",
    "scope_v4",
    "signature_v4",
    "signing_key_chain_v4",
    "signing_key_v4",
    "string_to_sign_v4",
]

ALGORITHM = "OSS4-HMAC-SHA256"
TERMINATOR = "aliyun_v4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: Longest lifetime of a V4 presigned URL: 7 days (EC 0002-00000232).
MAX_PRESIGN_SECONDS = 604_800

_TIMESTAMP = re.compile(r"\d{8}T\d{6}Z", re.ASCII)
_DATE = re.compile(r"\d{8}", re.ASCII)


def format_timestamp_v4(moment: datetime) -> str:
    """``x-oss-date`` form: ``YYYYMMDDTHHMMSSZ`` in UTC."""
    return as_utc(moment).strftime("%Y%m%dT%H%M%SZ")


def parse_timestamp_v4(text: str) -> datetime | None:
    """Parse ``YYYYMMDDTHHMMSSZ`` strictly; ``None`` when it is not one."""
    if not _TIMESTAMP.fullmatch(text):
        return None
    try:
        return as_utc(datetime.strptime(text, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return None


def _encode(text: str, safe: str = "") -> str:
    # RFC 3986 unreserved (A-Z a-z 0-9 - _ . ~) kept, UTF-8 bytes as upper-case %XX.
    return quote(text, safe=safe)


def canonical_uri_v4(request: Request) -> str:
    """``/bucket/key`` percent-encoded, ``/`` kept; the bucket is always named."""
    if request.bucket is None:
        return "/"
    return _encode(f"/{request.bucket}/{request.key or ''}", safe="/")


def canonical_query_v4(query: Query) -> str:
    """Every decoded pair re-encoded, sorted by encoded name then value; bare name if empty."""
    pairs = sorted((_encode(name), _encode(value)) for name, value in query)
    return "&".join(f"{name}={value}" if value else name for name, value in pairs)


def is_default_signed_v4(name: str) -> bool:
    """Headers V4 always signs: ``x-oss-*``, ``content-type``, ``content-md5``."""
    name = name.lower()
    return name.startswith("x-oss-") or name in ("content-type", "content-md5")


def canonical_request_v4(request: Request, additional_headers: Iterable[str] = ()) -> str:
    """The V4 canonical request (docs/PROTOCOL.md §5.2).

    ``additional_headers`` are the names the signer declared (``AdditionalHeaders`` /
    ``x-oss-additional-headers``); they are lower-cased and sorted, and those present
    in the request join the canonical headers. Every query pair is included, so strip
    ``x-oss-signature`` from a presigned request first.
    """
    headers = lower_headers(request.headers)
    additional = sorted({name.strip().lower() for name in additional_headers if name.strip()})
    signed = sorted(
        (name, trim_ows(value))
        for name, value in headers.items()
        if is_default_signed_v4(name) or name in additional
    )
    return "\n".join(
        (
            request.method,
            canonical_uri_v4(request),
            canonical_query_v4(request.query),
            "".join(f"{name}:{value}\n" for name, value in signed),
            ";".join(additional),
            trim_ows(headers.get("x-oss-content-sha256", UNSIGNED_PAYLOAD)),
        )
    )


def scope_v4(date: str, region: str, product: str = "oss") -> str:
    """``<yyyymmdd>/<region>/<product>/aliyun_v4_request``."""
    return f"{date}/{region}/{product}/{TERMINATOR}"


def string_to_sign_v4(timestamp: str, scope: str, canonical_request: str) -> str:
    """``OSS4-HMAC-SHA256``, the ``x-oss-date`` timestamp, the scope, the request's hash."""
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def _hmac256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key_chain_v4(
    secret: str, date: str, region: str, product: str = "oss"
) -> tuple[bytes, bytes, bytes, bytes]:
    """``(kDate, kRegion, kProduct, kSigning)``; each step shown for teaching."""
    k_date = _hmac256(("aliyun_v4" + secret).encode("utf-8"), date)
    k_region = _hmac256(k_date, region)
    k_product = _hmac256(k_region, product)
    return k_date, k_region, k_product, _hmac256(k_product, TERMINATOR)


def signing_key_v4(secret: str, date: str, region: str, product: str = "oss") -> bytes:
    """The derived V4 signing key (``kSigning``)."""
    return signing_key_chain_v4(secret, date, region, product)[3]


def signature_v4(signing_key: bytes, string_to_sign: str) -> str:
    """64 lower-case hex characters."""
    return hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class CredentialScope(Struct, frozen=True):
    """A parsed ``<ak>/<yyyymmdd>/<region>/<product>/aliyun_v4_request``."""

    access_key_id: str
    date: str
    region: str
    product: str

    @property
    def scope(self) -> str:
        """The scope part (everything after the access key id)."""
        return scope_v4(self.date, self.region, self.product)


def parse_credential_v4(text: str) -> CredentialScope:
    """Parse a V4 credential; ``ValueError`` names what is wrong."""
    parts = text.strip().rsplit("/", 4)
    if len(parts) != 5 or parts[4] != TERMINATOR:
        raise ValueError(
            f"the credential must be <AccessKeyId>/<SignDate>/<Region>/<Product>/{TERMINATOR}"
        )
    access_key_id, date, region, product, _ = parts
    if not access_key_id or not region or not product:
        raise ValueError("the credential has an empty AccessKeyId, region or product")
    if not _DATE.fullmatch(date):
        raise ValueError("the credential date must be yyyymmdd")
    return CredentialScope(access_key_id, date, region, product)


class AuthorizationV4(Struct, frozen=True):
    """A parsed ``Authorization: OSS4-HMAC-SHA256 ...`` header."""

    credential: CredentialScope
    signature: str
    additional_headers: tuple[str, ...] = ()


_AUTH_FIELDS = ("Credential", "AdditionalHeaders", "Signature")


def parse_authorization_v4(value: str) -> AuthorizationV4:
    """Parse a V4 ``Authorization`` value in any field order, ``,`` or ``, `` separated.

    Raises ``ValueError`` with the reason when it is malformed.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        raise ValueError(f"the Authorization header must start with {ALGORITHM}")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, field_value = item.strip().partition("=")
        if not sep or name not in _AUTH_FIELDS or name in fields:
            raise ValueError(f"unexpected or repeated field {item.strip()!r}")
        fields[name] = field_value.strip()
    if not fields.get("Credential") or not fields.get("Signature"):
        raise ValueError("the Authorization header needs Credential and Signature")
    additional = tuple(
        name.strip().lower() for name in fields.get("AdditionalHeaders", "").split(";")
    )
    return AuthorizationV4(
        credential=parse_credential_v4(fields["Credential"]),
        signature=fields["Signature"],
        additional_headers=tuple(name for name in additional if name),
    )


def format_authorization_v4(
    access_key_id: str, scope: str, signature: str, additional_headers: Iterable[str] = ()
) -> str:
    """The header value as alibabacloud-oss-v2 writes it (``,`` without a space)."""
    value = f"{ALGORITHM} Credential={access_key_id}/{scope}"
    names = ";".join(additional_headers)
    if names:
        value += f",AdditionalHeaders={names}"
    return f"{value},Signature={signature}"


def additional_header_names(headers: Mapping[str, str], names: Iterable[str]) -> tuple[str, ...]:
    """What a signer should declare: lower-cased, sorted, present, not signed by default.

    Matches alibabacloud-oss-v2 (and oss2 for URLs): names of absent or empty headers
    and of headers V4 signs anyway are dropped.
    """
    present = lower_headers(headers)
    wanted = {name.strip().lower() for name in names}
    return tuple(
        sorted(name for name in wanted if present.get(name) and not is_default_signed_v4(name))
    )
