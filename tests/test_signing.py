"""Signing: the docs/PROTOCOL.md §5.3 vectors byte for byte, verify() round trips and rejections, secrets."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from msgspec.structs import replace

from ossnb.protocol.errors import (
    AccessDenied,
    InvalidAccessKeyId,
    InvalidArgument,
    RequestTimeTooSkewed,
    ServiceError,
    SignatureDoesNotMatch,
    UsageError,
)
from ossnb.protocol.http import Request, encode_query
from ossnb.protocol.signing import (
    OSS2_SUBRESOURCES,
    SUBRESOURCES,
    V2_SUBRESOURCES,
    Credentials,
    SignedRequest,
    canonical_request_v4,
    canonical_resource_v1,
    http_date,
    presign_v1,
    presign_v4,
    sign_v1,
    sign_v4,
    signing_key_chain_v4,
    string_to_sign_v1,
    verify,
)
from ossnb.protocol.signing_v4 import parse_authorization_v4

AK = "LTAI5tTestVectorAK"
SK = "TestVectorSecretKey0123456789abcd"
TOKEN = "STS.TestSecurityToken/with+odd=chars"
T0 = datetime(2024, 1, 15, 8, 30, 0, tzinfo=timezone.utc)
REGION = "cn-hangzhou"
BUCKET = "examplebucket"
HOST = "examplebucket.oss-cn-hangzhou.aliyuncs.com"
CREDS = Credentials(AK, SK)
STS = Credentials(AK, SK, TOKEN)
UPLOAD_ID = "0004B9895DBBB6EC98E36C8F2E3A0F01"
SCOPE = "20240115/cn-hangzhou/oss/aliyun_v4_request"


def url(request: Request) -> str:
    """The virtual-hosted URL a client would send (docs/PROTOCOL.md §1.1)."""
    query = encode_query(request.query)
    return f"http://{HOST}{request.virtual_path}" + (f"?{query}" if query else "")


def upload_part() -> Request:
    return Request(
        "PUT",
        BUCKET,
        "dir/my object.bin",
        (("partNumber", "2"), ("uploadId", UPLOAD_ID)),
        {"content-type": "application/octet-stream", "content-md5": "eB5eJF1ptWaXm4bijSPyxw=="},
    )


def initiate() -> Request:
    return Request(
        "POST",
        BUCKET,
        "video/2024/a+b.mp4",
        (("uploads", ""), ("encoding-type", "url")),
        {"content-type": "video/mp4"},
    )


def get_object() -> Request:
    return Request("GET", BUCKET, "dir/my object.bin")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- docs/PROTOCOL.md §5.3 vectors ------------------------------------------------------------------


def test_v4_1_upload_part_header() -> None:
    signed = sign_v4(upload_part(), CREDS, REGION, T0)
    assert signed.canonical_request == (
        "PUT\n"
        "/examplebucket/dir/my%20object.bin\n"
        f"partNumber=2&uploadId={UPLOAD_ID}\n"
        "content-md5:eB5eJF1ptWaXm4bijSPyxw==\n"
        "content-type:application/octet-stream\n"
        "x-oss-content-sha256:UNSIGNED-PAYLOAD\n"
        "x-oss-date:20240115T083000Z\n"
        "\n"
        "\n"
        "UNSIGNED-PAYLOAD"
    )
    assert signed.string_to_sign == (
        "OSS4-HMAC-SHA256\n20240115T083000Z\n"
        f"{SCOPE}\n"
        "c6cab440670ada565a98bada51a53e5377e16db146d5794933cb2145babb77b1"
    )
    assert signed.request.headers["authorization"] == (
        f"OSS4-HMAC-SHA256 Credential={AK}/{SCOPE},"
        "Signature=d2f4c2b8e7ca905f3baea710025bc7dab533bcc49f3d4656f505bf746e6e0f97"
    )
    assert signed.request.headers["x-oss-date"] == "20240115T083000Z"
    assert signed.request.headers["x-oss-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert "date" not in signed.request.headers


def test_v4_1_signing_key_chain() -> None:
    chain = [k.hex() for k in signing_key_chain_v4(SK, "20240115", REGION, "oss")]
    assert chain == [
        "2d057a40d41e679f3ed48e43a7fcbf1442bac8306c7f1da70303594e2fc552a1",
        "8a3a62b5840993153f4fa860303c1225e669394cf50cd9081f5295afa1d15886",
        "e97c6a96e1ab3d17324a78fa4e74312061da2b464c82baf31fa8658e69abf10e",
        "9346eb0c6bda8b0736af33ee2ebec3e748d76bbcb2d1a29331dc2b1570b998a9",
    ]


def test_v4_2_initiate_sts_metadata_additional_host() -> None:
    request = initiate().with_header_map(
        {"Host": HOST, "x-oss-meta-Owner": "Alice", "x-oss-forbid-overwrite": "true"}
    )
    signed = sign_v4(request, Credentials(AK, SK, "STS.TestSecurityToken"), REGION, T0, ["host"])
    assert signed.canonical_request == (
        "POST\n"
        "/examplebucket/video/2024/a%2Bb.mp4\n"
        "encoding-type=url&uploads\n"
        "content-type:video/mp4\n"
        f"host:{HOST}\n"
        "x-oss-content-sha256:UNSIGNED-PAYLOAD\n"
        "x-oss-date:20240115T083000Z\n"
        "x-oss-forbid-overwrite:true\n"
        "x-oss-meta-owner:Alice\n"
        "x-oss-security-token:STS.TestSecurityToken\n"
        "\n"
        "host\n"
        "UNSIGNED-PAYLOAD"
    )
    assert signed.string_to_sign.endswith(
        "\n13e0b2713cd3afb26314c4f7a47957cf3fdcfccd44328fec9be69e85ede7b855"
    )
    assert signed.request.headers["authorization"] == (
        f"OSS4-HMAC-SHA256 Credential={AK}/{SCOPE},AdditionalHeaders=host,"
        "Signature=4f12c1453257c3e486941a60e4a3500c952f45c35c267f726fa9c3d5774fc586"
    )
    assert signed.request.headers["x-oss-security-token"] == "STS.TestSecurityToken"


def test_v4_3_list_objects_bucket_level() -> None:
    request = Request(
        "GET",
        BUCKET,
        None,
        (
            ("list-type", "2"),
            ("prefix", "dir/"),
            ("delimiter", "/"),
            ("max-keys", "100"),
            ("encoding-type", "url"),
        ),
    )
    signed = sign_v4(request, CREDS, REGION, T0)
    assert signed.canonical_request is not None
    lines = signed.canonical_request.split("\n")
    assert lines[1] == "/examplebucket/"
    assert lines[2] == "delimiter=%2F&encoding-type=url&list-type=2&max-keys=100&prefix=dir%2F"
    assert lines[3:5] == ["x-oss-content-sha256:UNSIGNED-PAYLOAD", "x-oss-date:20240115T083000Z"]
    assert signed.string_to_sign.endswith(
        "\nad235d6f3cd7e66e0035cd2087d7428b84d989e29985c5c9f756f4f61f9f82cb"
    )
    assert signed.request.headers["authorization"] == (
        f"OSS4-HMAC-SHA256 Credential={AK}/{SCOPE},"
        "Signature=cfb7805dfd71eadea86a67d980c8f500344ea4807901696452d928ecbea2e9da"
    )


def test_v4_4_presigned_get() -> None:
    signed = presign_v4(get_object(), CREDS, REGION, T0, 3600)
    assert signed.canonical_request == (
        "GET\n"
        "/examplebucket/dir/my%20object.bin\n"
        f"x-oss-credential={AK}%2F20240115%2Fcn-hangzhou%2Foss%2Faliyun_v4_request"
        "&x-oss-date=20240115T083000Z&x-oss-expires=3600"
        "&x-oss-signature-version=OSS4-HMAC-SHA256\n"
        "\n"
        "\n"
        "UNSIGNED-PAYLOAD"
    )
    assert signed.string_to_sign.endswith(
        "\nc8f011de4554bcde216967617597a77c4fa37a5f3dca3aaf0924b7dccc62711f"
    )
    assert url(signed.request) == (
        "http://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/my%20object.bin"
        "?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-date=20240115T083000Z"
        f"&x-oss-expires=3600&x-oss-credential={AK}%2F20240115%2Fcn-hangzhou%2Foss%2F"
        "aliyun_v4_request"
        "&x-oss-signature=a8b7da0a802d35a46cdecd754475119a21a77a01693ac345bf90bb8c51b2cad3"
    )
    assert signed.request.headers == {}


def test_v1_1_upload_part_header() -> None:
    request = upload_part().with_header_map({"x-oss-meta-Owner": "Alice"})
    signed = sign_v1(request, CREDS, T0)
    assert signed.string_to_sign == (
        "PUT\n"
        "eB5eJF1ptWaXm4bijSPyxw==\n"
        "application/octet-stream\n"
        "Mon, 15 Jan 2024 08:30:00 GMT\n"
        "x-oss-meta-owner:Alice\n"
        f"/examplebucket/dir/my object.bin?partNumber=2&uploadId={UPLOAD_ID}"
    )
    assert signed.request.headers["authorization"] == f"OSS {AK}:f/sbgzZzRMBAFlWIEOTzszVSezM="
    assert signed.request.headers["date"] == "Mon, 15 Jan 2024 08:30:00 GMT"
    assert signed.canonical_request is None


def test_v1_2_initiate() -> None:
    signed = sign_v1(initiate(), CREDS, T0)
    assert signed.string_to_sign == (
        "POST\n\nvideo/mp4\nMon, 15 Jan 2024 08:30:00 GMT\n/examplebucket/video/2024/a+b.mp4?uploads"
    )
    assert signed.request.headers["authorization"] == f"OSS {AK}:Rt8bshAgnFaviNqrwqcd3d6GTlo="


def test_v1_3_presigned_get() -> None:
    signed = presign_v1(get_object(), CREDS, datetime(2024, 1, 15, 9, 30, tzinfo=timezone.utc))
    assert signed.string_to_sign == "GET\n\n\n1705311000\n/examplebucket/dir/my object.bin"
    assert url(signed.request) == (
        "http://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/my%20object.bin"
        f"?OSSAccessKeyId={AK}&Expires=1705311000&Signature=ue%2FhwpzLjf2XidDtN0j0nhNHV4Y%3D"
    )


def test_official_v2_cross_check_vector() -> None:
    request = Request(
        "PUT",
        "bucket",
        "1234+-/123/1.txt",
        (
            ("param1", "value1"),
            ("+param1", "value3"),
            ("|param1", "value4"),
            ("+param2", ""),
            ("|param2", ""),
            ("param2", ""),
        ),
        {
            "x-oss-head1": "value",
            "abc": "value",
            "zabc": "value",
            "xyz": "value",
            "content-type": "text/plain",
            "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
        },
    )
    when = datetime.fromtimestamp(1702743657, timezone.utc)
    signed = sign_v4(request, Credentials("ak", "sk"), REGION, when)
    assert signed.request.headers["authorization"].endswith(
        "Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe"
    )
    assert signed.canonical_request is not None
    assert signed.canonical_request.split("\n")[2] == (
        "%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2"
    )


# --- canonicalisation details -------------------------------------------------------------


def test_subresource_sets_match_both_sdks() -> None:
    oss2_auth = pytest.importorskip("oss2.auth")
    v2_signer = pytest.importorskip("alibabacloud_oss_v2.signer")
    assert oss2_auth.ProviderAuth._subresource_key_set == OSS2_SUBRESOURCES
    assert v2_signer.SignerV1._subresource_key_set == V2_SUBRESOURCES
    assert SUBRESOURCES == OSS2_SUBRESOURCES | V2_SUBRESOURCES


def test_v1_canonical_resource_forms() -> None:
    assert canonical_resource_v1(Request("GET")) == "/"
    assert canonical_resource_v1(Request("GET", query=(("regionList", ""),))) == "/?regionList"
    listing = Request("GET", BUCKET, query=(("continuation-token", ""), ("prefix", "a")))
    assert canonical_resource_v1(listing) == "/examplebucket/?continuation-token"
    part = Request("PUT", BUCKET, "k", (("uploadId", "U"), ("partNumber", "1")))
    assert canonical_resource_v1(part) == "/examplebucket/k?partNumber=1&uploadId=U"


def test_v1_string_to_sign_uses_given_date_and_trims_values() -> None:
    request = Request("GET", BUCKET, "k", headers={"x-oss-meta-a": "  v  ", "content-type": " t "})
    assert string_to_sign_v1(request, "D") == "GET\n\nt\nD\nx-oss-meta-a:v\n/examplebucket/k"


def test_sign_v1_keeps_caller_dates() -> None:
    fixed = "Sun, 14 Jan 2024 08:30:00 GMT"
    signed = sign_v1(get_object().with_headers(date=fixed), CREDS, T0)
    assert signed.request.headers["date"] == fixed
    assert f"\n{fixed}\n" in signed.string_to_sign
    signed = sign_v1(get_object().with_headers(x_oss_date=fixed), CREDS, T0)
    assert "date" not in signed.request.headers
    assert signed.string_to_sign.split("\n")[3] == fixed


def test_sign_v1_with_token_adds_signed_header() -> None:
    signed = sign_v1(get_object(), STS, T0)
    assert signed.request.headers["x-oss-security-token"] == TOKEN
    assert f"x-oss-security-token:{TOKEN}\n" in signed.string_to_sign


def test_presign_v1_token_is_a_signed_subresource() -> None:
    signed = presign_v1(get_object(), STS, T0 + timedelta(minutes=5))
    assert signed.request.param("security-token") == TOKEN
    assert signed.string_to_sign.endswith(f"/dir/my object.bin?security-token={TOKEN}")
    assert [name for name, _ in signed.request.query] == [
        "OSSAccessKeyId",
        "Expires",
        "security-token",
        "Signature",
    ]


def test_presign_replaces_stale_auth_params() -> None:
    once = presign_v4(get_object(), STS, REGION, T0, 60)
    twice = presign_v4(once.request, STS, REGION, T0, 60)
    assert twice.request.query == once.request.query
    once1 = presign_v1(get_object(), STS, T0)
    assert presign_v1(once1.request, STS, T0).request.query == once1.request.query


def test_additional_headers_are_filtered_and_sorted() -> None:
    request = get_object().with_header_map({"Range": "bytes=0-9", "Host": HOST, "x-oss-a": "1"})
    signed = sign_v4(request, CREDS, REGION, T0, ["Range", "HOST", "x-oss-a", "absent", "host"])
    assert "AdditionalHeaders=host;range," in signed.request.headers["authorization"]
    assert signed.canonical_request is not None
    assert "\nhost;range\nUNSIGNED-PAYLOAD" in signed.canonical_request
    presigned = presign_v4(request, CREDS, REGION, T0, 60, ["range", "host"])
    assert presigned.request.param("x-oss-additional-headers") == "host;range"


def test_canonical_request_v4_declared_but_absent_header_stays_listed() -> None:
    # oss2's header signer lists additional headers whether or not they are present.
    canonical = canonical_request_v4(get_object(), ["zz", "aa"])
    assert canonical.endswith("\n\naa;zz\nUNSIGNED-PAYLOAD")


def test_parse_authorization_v4_forms() -> None:
    signature = "ab" * 32
    forms = [
        f"OSS4-HMAC-SHA256 Credential={AK}/{SCOPE},AdditionalHeaders=host;range,Signature={signature}",
        f"OSS4-HMAC-SHA256 Credential={AK}/{SCOPE}, Signature={signature}, AdditionalHeaders=range;host",
        f"OSS4-HMAC-SHA256 Credential={AK}/{SCOPE}, AdditionalHeaders=Host;Range, Signature={signature}",
    ]
    for form in forms:
        parsed = parse_authorization_v4(form)
        assert parsed.credential.access_key_id == AK
        assert parsed.credential.scope == SCOPE
        assert sorted(parsed.additional_headers) == ["host", "range"]
        assert parsed.signature == signature


@pytest.mark.parametrize(
    "value",
    [
        "OSS4-HMAC-SHA256 Credential=ak/20240115/cn-hangzhou/oss/abc,Signature=x",
        "OSS4-HMAC-SHA256 Credential=ak/2024-01-15/cn-hangzhou/oss/aliyun_v4_request,Signature=x",
        "OSS4-HMAC-SHA256 Credential=ak/20240115/cn-hangzhou/oss/aliyun_v4_request",
        "OSS4-HMAC-SHA256 Signature=x",
        "OSS4-HMAC-SHA256 Credential=a/20240115/r/oss/aliyun_v4_request,Signature=x,Foo=1",
        "OSS4-HMAC-SHA256 Credential=a/20240115/r/oss/aliyun_v4_request;Signature=x",
        "OSS4-HMAC-SHA256",
    ],
)
def test_parse_authorization_v4_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        parse_authorization_v4(value)


def test_usage_errors() -> None:
    with pytest.raises(UsageError):
        presign_v4(get_object(), CREDS, REGION, T0, 604_801)
    with pytest.raises(UsageError):
        presign_v4(get_object(), CREDS, REGION, T0, 0)
    with pytest.raises(UsageError):
        sign_v4(get_object(), CREDS, "", T0)


def test_naive_datetimes_are_utc() -> None:
    naive = T0.replace(tzinfo=None)
    assert http_date(naive) == "Mon, 15 Jan 2024 08:30:00 GMT"
    assert sign_v4(get_object(), CREDS, REGION, naive) == sign_v4(get_object(), CREDS, REGION, T0)
    other_zone = T0.astimezone(timezone(timedelta(hours=8)))
    assert sign_v1(get_object(), CREDS, other_zone) == sign_v1(get_object(), CREDS, T0)


# --- verify(): accepted ------------------------------------------------------------------

SECRETS = {AK: SK, "other-ak": "other-secret"}
TOKENS = {AK: TOKEN}


def secret_for(access_key_id: str) -> str | None:
    return SECRETS.get(access_key_id)


Signer = Callable[[Request, Credentials], SignedRequest]

SIGNERS: dict[str, Signer] = {
    "v1-header": lambda r, c: sign_v1(r, c, T0),
    "v4-header": lambda r, c: sign_v4(r, c, REGION, T0),
    "v1-presign": lambda r, c: presign_v1(r, c, T0 + timedelta(hours=1)),
    "v4-presign": lambda r, c: presign_v4(r, c, REGION, T0, 3600),
}


@pytest.mark.parametrize("form", SIGNERS)
@pytest.mark.parametrize("creds", [CREDS, STS], ids=["ak", "sts"])
@pytest.mark.parametrize("make", [upload_part, initiate, get_object])
def test_verify_accepts_all_forms(
    form: str, creds: Credentials, make: Callable[[], Request]
) -> None:
    signed = SIGNERS[form](make(), creds)
    assert verify(signed.request, secret_for, T0 + timedelta(minutes=10)) == AK
    token_for = TOKENS.get if creds.security_token else (lambda _ak: None)
    assert verify(signed.request, secret_for, T0, REGION, token_for=token_for) == AK


def test_verify_accepts_oss2_authorization_layout() -> None:
    request = get_object().with_header_map({"Range": "bytes=0-1", "Host": HOST})
    signed = sign_v4(request, CREDS, REGION, T0, ["range", "host"])
    signature = signed.request.headers["authorization"].rpartition("Signature=")[2]
    oss2_style = (
        f"OSS4-HMAC-SHA256 Credential={AK}/{SCOPE}, Signature={signature}, "
        "AdditionalHeaders=range;host"
    )
    received = signed.request.with_headers(authorization=oss2_style)
    assert verify(received, secret_for, T0, REGION) == AK


def test_verify_accepts_v2_v1_token_quirk() -> None:
    # alibabacloud-oss-v2's V1 signer sends the token as an unsigned `security-token` header.
    signed = sign_v1(get_object(), CREDS, T0)
    received = signed.request.with_header_map({"security-token": TOKEN})
    assert verify(received, secret_for, T0, token_for=TOKENS.get) == AK


def test_verify_accepts_x_oss_date_in_v1() -> None:
    signed = sign_v1(get_object().with_headers(x_oss_date=http_date(T0)), CREDS, T0)
    assert verify(signed.request, secret_for, T0) == AK


def test_verify_v1_falls_back_to_one_sdk_list() -> None:
    # v2 does not sign `cors` (it declares it per request); oss2 does not sign `cloudboxes`.
    for name, subresources in (("cors", V2_SUBRESOURCES), ("cloudboxes", OSS2_SUBRESOURCES)):
        request = Request("GET", BUCKET, None, ((name, ""),), {"date": http_date(T0)})
        string_to_sign = string_to_sign_v1(request, http_date(T0), subresources=subresources)
        from ossnb.protocol.signing_v1 import signature_v1

        auth = f"OSS {AK}:{signature_v1(SK, string_to_sign)}"
        assert verify(request.with_headers(authorization=auth), secret_for, T0) == AK


def test_verify_boundaries() -> None:
    signed = sign_v4(get_object(), CREDS, REGION, T0)
    assert verify(signed.request, secret_for, T0 + timedelta(minutes=15)) == AK
    assert verify(signed.request, secret_for, T0 - timedelta(minutes=15)) == AK
    presigned = presign_v4(get_object(), CREDS, REGION, T0, 60)
    assert verify(presigned.request, secret_for, T0 + timedelta(seconds=60)) == AK
    presigned1 = presign_v1(get_object(), CREDS, T0 + timedelta(seconds=60))
    assert verify(presigned1.request, secret_for, T0 + timedelta(seconds=60)) == AK


# --- verify(): rejected ------------------------------------------------------------------


def rejects(
    request: Request,
    error: type[ServiceError],
    status: int,
    *,
    now: datetime = T0,
    region: str | None = None,
    token_for: Callable[[str], str | None] | None = None,
) -> ServiceError:
    with pytest.raises(error) as caught:
        verify(request, secret_for, now, region, token_for=token_for)
    assert type(caught.value) is error
    assert caught.value.status == status
    return caught.value


@pytest.mark.parametrize("form", SIGNERS)
def test_reject_wrong_secret(form: str) -> None:
    signed = SIGNERS[form](upload_part(), Credentials(AK, "not-the-secret"))
    err = rejects(signed.request, SignatureDoesNotMatch, 403)
    assert err.error_code == "SignatureDoesNotMatch"
    assert err.details["StringToSign"] == signed.string_to_sign
    assert err.details["OSSAccessKeyId"] == AK
    if signed.canonical_request is not None:
        assert err.details["CanonicalRequest"] == signed.canonical_request


@pytest.mark.parametrize("form", SIGNERS)
def test_reject_unknown_key_id(form: str) -> None:
    signed = SIGNERS[form](upload_part(), Credentials("nobody", SK))
    err = rejects(signed.request, InvalidAccessKeyId, 403)
    assert err.details["OSSAccessKeyId"] == "nobody"


@pytest.mark.parametrize("form", SIGNERS)
@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r.with_header_map({"x-oss-meta-extra": "1"}),
        lambda r: r.with_header_map({"content-type": "text/plain"}),
        lambda r: replace(r, key="dir/my object.bin2"),
        lambda r: replace(r, bucket="otherbucket"),
        lambda r: replace(r, method="DELETE"),
        lambda r: r.with_query(("uploadId", "X")),
        lambda r: replace(r, query=tuple((n, "3" if n == "partNumber" else v) for n, v in r.query)),
    ],
    ids=["header", "content-type", "key", "bucket", "method", "added-param", "changed-param"],
)
def test_reject_tampered(form: str, tamper: Callable[[Request], Request]) -> None:
    signed = SIGNERS[form](upload_part(), CREDS)
    rejects(tamper(signed.request), SignatureDoesNotMatch, 403)


def test_v4_signs_every_query_param_v1_only_subresources() -> None:
    # prefix is no sub-resource: V1 accepts it added afterwards, V4 does not.
    v1 = sign_v1(get_object(), CREDS, T0).request.with_query(("prefix", "x"))
    assert verify(v1, secret_for, T0) == AK
    v4 = sign_v4(get_object(), CREDS, REGION, T0).request.with_query(("prefix", "x"))
    rejects(v4, SignatureDoesNotMatch, 403)


@pytest.mark.parametrize("form", ["v1-presign", "v4-presign"])
def test_reject_expired_presign(form: str) -> None:
    signed = SIGNERS[form](get_object(), CREDS)
    err = rejects(signed.request, AccessDenied, 403, now=T0 + timedelta(hours=1, seconds=1))
    assert err.message == "Request has expired."
    assert err.details["Expires"] == "2024-01-15T09:30:00.000Z"
    assert err.details["ServerTime"] == "2024-01-15T09:30:01.000Z"


@pytest.mark.parametrize("form", ["v1-header", "v4-header"])
@pytest.mark.parametrize("offset", [timedelta(minutes=16), -timedelta(minutes=16)])
def test_reject_skewed_clock(form: str, offset: timedelta) -> None:
    signed = SIGNERS[form](get_object(), CREDS)
    err = rejects(signed.request, RequestTimeTooSkewed, 403, now=T0 + offset)
    sent = signed.request.headers.get("date") or signed.request.headers["x-oss-date"]
    assert err.details["RequestTime"] == sent
    assert err.details["ServerTime"] == (T0 + offset).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_reject_presign_v4_from_the_future() -> None:
    signed = presign_v4(get_object(), CREDS, REGION, T0 + timedelta(hours=1), 60)
    rejects(signed.request, RequestTimeTooSkewed, 403)


def test_reject_no_auth() -> None:
    err = rejects(get_object(), AccessDenied, 403)
    assert err.error_code == "AccessDenied"


@pytest.mark.parametrize("form", ["v1-header", "v4-header"])
def test_reject_missing_date(form: str) -> None:
    signed = SIGNERS[form](get_object(), CREDS)
    headers = {k: v for k, v in signed.request.headers.items() if k not in ("date", "x-oss-date")}
    rejects(replace(signed.request, headers=headers), AccessDenied, 403)


def test_reject_unparseable_date() -> None:
    signed = sign_v1(get_object().with_headers(date="yesterday"), CREDS, T0)
    rejects(signed.request, AccessDenied, 403)


@pytest.mark.parametrize(
    "value",
    [
        "OSS",
        f"OSS {AK}",
        f"OSS {AK}:",
        "OSS :abc",
        "AWS4-HMAC-SHA256 Credential=x",
        "Bearer abc",
        "",
        f"OSS4-HMAC-SHA256 Credential={AK}/{SCOPE}",
        f"OSS4-HMAC-SHA256 Credential={AK}/20240115/cn-hangzhou/oss/abc,Signature=00",
        f"OSS4-HMAC-SHA256 Credential={AK}/{SCOPE},Signature=00,Extra=1",
    ],
)
def test_reject_malformed_authorization(value: str) -> None:
    signed = sign_v4(get_object(), CREDS, REGION, T0)
    err = rejects(signed.request.with_headers(authorization=value), InvalidArgument, 400)
    assert err.details["ArgumentName"] == "Authorization"


def test_reject_v4_scope_date_not_x_oss_date() -> None:
    signed = sign_v4(get_object(), CREDS, REGION, T0)
    auth = signed.request.headers["authorization"].replace("/20240115/", "/20240114/")
    rejects(signed.request.with_headers(authorization=auth), InvalidArgument, 400)


@pytest.mark.parametrize(
    "value", [None, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
)
def test_reject_v4_payload_hash(value: str | None) -> None:
    signed = sign_v4(get_object(), CREDS, REGION, T0)
    headers = dict(signed.request.headers)
    headers.pop("x-oss-content-sha256")
    if value is not None:
        headers["x-oss-content-sha256"] = value
    err = rejects(replace(signed.request, headers=headers), InvalidArgument, 400)
    assert err.details["ArgumentName"] == "x-oss-content-sha256"


@pytest.mark.parametrize("form", ["v4-header", "v4-presign"])
def test_region(form: str) -> None:
    signed = SIGNERS[form](get_object(), CREDS)
    assert verify(signed.request, secret_for, T0, "cn-hangzhou") == AK
    assert verify(signed.request, secret_for, T0, None) == AK
    rejects(signed.request, InvalidArgument, 400, region="cn-beijing")


def test_region_from_credential_is_what_is_signed() -> None:
    signed = sign_v4(get_object(), CREDS, "cn-beijing", T0)
    assert verify(signed.request, secret_for, T0) == AK
    auth = signed.request.headers["authorization"].replace("cn-beijing", "cn-hangzhou")
    rejects(signed.request.with_headers(authorization=auth), SignatureDoesNotMatch, 403)


def test_cloudbox_product() -> None:
    signed = sign_v4(get_object(), CREDS, "cb-123", T0, product="oss-cloudbox")
    assert "/cb-123/oss-cloudbox/aliyun_v4_request," in signed.request.headers["authorization"]
    assert verify(signed.request, secret_for, T0) == AK


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-oss-expires", "604801"),
        ("x-oss-expires", "0"),
        ("x-oss-expires", "abc"),
        ("x-oss-signature-version", "OSS2"),
        ("x-oss-credential", f"{AK}/20240115/cn-hangzhou/oss/abc"),
        ("x-oss-date", "2024-01-15T08:30:00Z"),
        ("x-oss-signature", ""),
    ],
)
def test_reject_bad_presign_v4_params(name: str, value: str) -> None:
    signed = presign_v4(get_object(), CREDS, REGION, T0, 3600)
    query = tuple((n, value if n == name else v) for n, v in signed.request.query)
    err = rejects(replace(signed.request, query=query), InvalidArgument, 400)
    assert err.details["ArgumentName"] == name


def test_reject_presign_v4_lifetime_over_seven_days_before_checking_signature() -> None:
    signed = presign_v4(get_object(), CREDS, REGION, T0, 604_800)
    assert verify(signed.request, secret_for, T0 + timedelta(days=7)) == AK
    query = tuple((n, "691200" if n == "x-oss-expires" else v) for n, v in signed.request.query)
    rejects(replace(signed.request, query=query), InvalidArgument, 400)


@pytest.mark.parametrize(
    ("drop", "error", "status"),
    [
        ("Expires", AccessDenied, 403),
        ("OSSAccessKeyId", AccessDenied, 403),
    ],
)
def test_reject_incomplete_presign_v1(drop: str, error: type[ServiceError], status: int) -> None:
    signed = presign_v1(get_object(), CREDS, T0 + timedelta(hours=1))
    query = tuple(pair for pair in signed.request.query if pair[0] != drop)
    rejects(replace(signed.request, query=query), error, status)


def test_reject_presign_v1_bad_expires() -> None:
    signed = presign_v1(get_object(), CREDS, T0 + timedelta(hours=1))
    query = tuple((n, "soon" if n == "Expires" else v) for n, v in signed.request.query)
    err = rejects(replace(signed.request, query=query), InvalidArgument, 400)
    assert err.details["ArgumentName"] == "Expires"


def test_presign_v1_signature_with_unencoded_plus() -> None:
    # A '+' in the Signature sent unencoded arrives as a space after unquote_plus.
    for minute in range(60):
        signed = presign_v1(get_object(), CREDS, T0 + timedelta(minutes=minute))
        signature = signed.request.param("Signature") or ""
        if "+" in signature:
            break
    else:
        pytest.skip("no signature with '+' in range")
    query = tuple(
        (n, v.replace("+", " ") if n == "Signature" else v) for n, v in signed.request.query
    )
    assert verify(replace(signed.request, query=query), secret_for, T0) == AK


@pytest.mark.parametrize("form", SIGNERS)
def test_reject_tampered_token(form: str) -> None:
    signed = SIGNERS[form](get_object(), STS)
    headers = {
        k: ("STS.forged" if k == "x-oss-security-token" else v)
        for k, v in signed.request.headers.items()
    }
    query = tuple(
        (n, "STS.forged" if n in ("security-token", "x-oss-security-token") else v)
        for n, v in signed.request.query
    )
    rejects(replace(signed.request, headers=headers, query=query), SignatureDoesNotMatch, 403)


@pytest.mark.parametrize("form", SIGNERS)
@pytest.mark.parametrize(
    ("creds", "expected"),
    [(STS, "STS.other-token"), (CREDS, TOKEN), (STS, None)],
    ids=["wrong-token", "missing-token", "unexpected-token"],
)
def test_reject_token_mismatch(form: str, creds: Credentials, expected: str | None) -> None:
    signed = SIGNERS[form](get_object(), creds)
    err = rejects(signed.request, ServiceError, 403, token_for=lambda _ak: expected)
    assert err.error_code == "InvalidSecurityToken"


# --- secrets stay out of repr -------------------------------------------------------------


def test_credentials_repr_masks_secret_and_token() -> None:
    for text in (repr(STS), str(STS)):
        assert SK not in text
        assert TOKEN not in text
        assert AK in text
    assert "security_token=None" in repr(CREDS)


@pytest.mark.parametrize("form", SIGNERS)
def test_signed_request_repr_masks_secret_and_token(form: str) -> None:
    from urllib.parse import quote

    signed = SIGNERS[form](upload_part(), STS)
    for text in (repr(signed), str(signed)):
        assert SK not in text
        assert TOKEN not in text
        assert quote(TOKEN, safe="") not in text
        assert "***" in text
