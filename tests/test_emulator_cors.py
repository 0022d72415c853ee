"""Bucket CORS on the emulator, as OSS does it: the configuration API through both
official SDKs (oss2 2.19.1 and alibabacloud-oss-v2), preflights and response headers over
real sockets, and a presigned UploadPart PUT the way a browser sends it."""

from __future__ import annotations

import http.client
import urllib.parse

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from conftest import ServerHandle

ORIGIN = "http://127.0.0.1:8888"


@pytest.fixture
def bucket(server: ServerHandle, bucket_name: str) -> oss2.Bucket:
    auth = oss2.AuthV4(server.access_key_id, server.access_key_secret)
    b = oss2.Bucket(auth, server.endpoint, bucket_name, region=server.region)
    b.create_bucket()
    return b


def rule(**options: object) -> oss2.models.CorsRule:
    values: dict[str, object] = {
        "allowed_origins": [ORIGIN],
        "allowed_methods": ["PUT", "GET"],
        "allowed_headers": ["*"],
        "expose_headers": ["ETag", "x-oss-hash-crc64ecma", "x-oss-request-id"],
        "max_age_seconds": 600,
    }
    values.update(options)
    return oss2.models.CorsRule(**values)


def raw(
    server: ServerHandle, method: str, target: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, target, body=body or None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def test_oss2_put_get_delete_round_trip(bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchCors):
        bucket.get_bucket_cors()
    bucket.put_bucket_cors(oss2.models.BucketCors([rule(), rule(allowed_origins=["*"])]))
    got = bucket.get_bucket_cors()
    assert [r.allowed_origins for r in got.rules] == [[ORIGIN], ["*"]]
    assert got.rules[0].allowed_methods == ["PUT", "GET"]
    assert got.rules[0].expose_headers == ["ETag", "x-oss-hash-crc64ecma", "x-oss-request-id"]
    assert got.rules[0].max_age_seconds == 600
    assert got.response_vary is False  # always present, false by default
    bucket.put_bucket_cors(oss2.models.BucketCors([rule(allowed_origins=["http://b"])]))
    assert [r.allowed_origins for r in bucket.get_bucket_cors().rules] == [["http://b"]]
    bucket.delete_bucket_cors()
    bucket.delete_bucket_cors()  # twice is fine
    with pytest.raises(oss2.exceptions.NoSuchCors):
        bucket.get_bucket_cors()


def test_allowed_header_comes_back_lower_case_and_vary_round_trips(bucket: oss2.Bucket) -> None:
    bucket.put_bucket_cors(
        oss2.models.BucketCors([rule(allowed_headers=["X-Oss-Meta-A"])], response_vary=True)
    )
    got = bucket.get_bucket_cors()
    assert got.rules[0].allowed_headers == ["x-oss-meta-a"]
    assert got.response_vary is True


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"allowed_methods": ["PATCH"]}, "AllowedMethod"),
        ({"max_age_seconds": -1}, "MaxAgeSeconds"),
        ({"expose_headers": ["x-*"]}, "ExposeHeader"),
        ({"allowed_origins": ["http://*.a.*"]}, "AllowedOrigin"),
    ],
)
def test_invalid_rules_are_refused(
    bucket: oss2.Bucket, options: dict[str, object], argument: str
) -> None:
    with pytest.raises(oss2.exceptions.InvalidArgument) as err:
        bucket.put_bucket_cors(oss2.models.BucketCors([rule(**options)]))
    assert err.value.details["ArgumentName"] == argument


def test_more_than_ten_rules_and_bad_xml_are_refused(bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_bucket_cors(oss2.models.BucketCors([rule()] * 11))
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.put_bucket_cors(b"<CORSConfiguration><CORSRule>")
    assert err.value.code == "MalformedXML"


def test_v2_sdk_round_trip_and_option_object(server: ServerHandle, bucket_name: str) -> None:
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        server.access_key_id, server.access_key_secret
    )
    cfg.region, cfg.endpoint = server.region, server.endpoint
    client = oss.Client(cfg)
    client.put_bucket(oss.PutBucketRequest(bucket=bucket_name))
    client.put_bucket_cors(
        oss.PutBucketCorsRequest(
            bucket=bucket_name,
            cors_configuration=oss.CORSConfiguration(
                cors_rules=[
                    oss.CORSRule(
                        allowed_origins=["http://www.example.com"],
                        allowed_methods=["PUT", "POST"],
                        allowed_headers=["*"],
                        expose_headers=["ETag"],
                        max_age_seconds=100,
                    )
                ],
                response_vary=False,
            ),
        )
    )
    got = client.get_bucket_cors(oss.GetBucketCorsRequest(bucket=bucket_name))
    assert got.cors_configuration.cors_rules[0].allowed_methods == ["PUT", "POST"]
    result = client.option_object(
        oss.OptionObjectRequest(
            bucket=bucket_name,
            key="obj",
            origin="http://www.example.com",
            access_control_request_method="PUT",
            access_control_request_headers="x-oss-test2",
        )
    )
    assert result.access_control_allow_origin == "http://www.example.com"
    assert result.access_control_allow_methods == "PUT, POST"
    assert result.access_control_allow_headers == "x-oss-test2"
    assert result.access_control_expose_headers == "ETag"
    assert result.access_control_max_age == 100
    with pytest.raises(oss.exceptions.OperationError) as err:
        client.option_object(
            oss.OptionObjectRequest(
                bucket=bucket_name,
                key="obj",
                origin="http://elsewhere",
                access_control_request_method="PUT",
            )
        )
    assert "AccessForbidden" in str(err.value)
    client.delete_bucket_cors(oss.DeleteBucketCorsRequest(bucket=bucket_name))


def test_preflight_of_a_presigned_part_url_needs_no_signature(
    server: ServerHandle, bucket: oss2.Bucket
) -> None:
    bucket.put_bucket_cors(oss2.models.BucketCors([rule()]))
    upload_id = bucket.init_multipart_upload("big.bin").upload_id
    url = bucket.sign_url("PUT", "big.bin", 600, params={"partNumber": "1", "uploadId": upload_id})
    target = urllib.parse.urlsplit(url)
    path = f"{target.path}?{target.query}"
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type, content-md5",
    }
    status, headers, body = raw(server, "OPTIONS", path, preflight)
    assert status == 200 and body == b""
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-methods"] == "PUT, GET"
    assert headers["access-control-allow-headers"] == "content-type, content-md5"
    assert (
        headers["access-control-expose-headers"] == "ETag, x-oss-hash-crc64ecma, x-oss-request-id"
    )
    assert headers["access-control-max-age"] == "600"
    assert "x-oss-request-id" in headers
    # the PUT itself, as a browser sends it: the part lands and ETag is readable
    status, headers, _ = raw(server, "PUT", path, {"Origin": ORIGIN}, b"a" * 1000)
    assert status == 200
    assert headers["access-control-allow-origin"] == ORIGIN
    assert "ETag" in headers["access-control-expose-headers"]
    assert headers["etag"]
    assert [p.part_number for p in bucket.list_parts("big.bin", upload_id).parts] == [1]
    bucket.abort_multipart_upload("big.bin", upload_id)


def test_errors_carry_cors_headers_so_a_browser_can_read_the_code(
    server: ServerHandle, bucket: oss2.Bucket
) -> None:
    bucket.put_bucket_cors(oss2.models.BucketCors([rule()]))
    target = f"/{bucket.bucket_name}/k?partNumber=1&uploadId=nope"
    status, headers, body = raw(server, "PUT", target, {"Origin": ORIGIN}, b"x")
    assert status == 403  # unsigned
    assert headers["access-control-allow-origin"] == ORIGIN
    assert b"<Code>" in body


@pytest.mark.parametrize(
    ("origin", "method", "requested"),
    [
        ("http://other:1", "PUT", ""),  # origin not allowed
        (ORIGIN, "DELETE", ""),  # method not allowed
    ],
)
def test_preflights_no_rule_allows_are_403_without_cors_headers(
    server: ServerHandle, bucket: oss2.Bucket, origin: str, method: str, requested: str
) -> None:
    bucket.put_bucket_cors(oss2.models.BucketCors([rule()]))
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    status, got, body = raw(server, "OPTIONS", f"/{bucket.bucket_name}/k", headers)
    assert status == 403 and b"<Code>AccessForbidden</Code>" in body
    assert not [h for h in got if h.startswith("access-control-")]


def test_requested_headers_must_each_match_an_allowed_header(
    server: ServerHandle, bucket: oss2.Bucket
) -> None:
    bucket.put_bucket_cors(oss2.models.BucketCors([rule(allowed_headers=["content-*"])]))
    base = {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    ok = {**base, "Access-Control-Request-Headers": "Content-Type,content-md5"}
    assert raw(server, "OPTIONS", f"/{bucket.bucket_name}/k", ok)[0] == 200
    bad = {**base, "Access-Control-Request-Headers": "content-type, x-oss-meta-a"}
    assert raw(server, "OPTIONS", f"/{bucket.bucket_name}/k", bad)[0] == 403


def test_a_bucket_without_cors_refuses_preflight_and_adds_nothing(
    server: ServerHandle, bucket: oss2.Bucket
) -> None:
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    status, _, body = raw(server, "OPTIONS", f"/{bucket.bucket_name}/k", headers)
    assert status == 403 and b"AccessForbidden" in body
    bucket.put_object("k", b"1")
    _, got, _ = raw(server, "GET", f"/{bucket.bucket_name}/k", {"Origin": ORIGIN})
    assert not [h for h in got if h.startswith("access-control-")]


def test_response_vary_adds_vary_origin_even_without_a_match(
    server: ServerHandle, bucket: oss2.Bucket
) -> None:
    bucket.put_bucket_cors(oss2.models.BucketCors([rule()], response_vary=True))
    _, got, _ = raw(server, "GET", f"/{bucket.bucket_name}/k", {"Origin": "http://nobody"})
    assert got.get("vary") == "Origin"
    assert "access-control-allow-origin" not in got


def test_cors_survives_a_restart_and_goes_with_the_bucket(
    server_factory: object, bucket_name: str
) -> None:
    handle = server_factory()  # type: ignore[operator]
    auth = oss2.AuthV4(handle.access_key_id, handle.access_key_secret)
    b = oss2.Bucket(auth, handle.endpoint, bucket_name, region=handle.region)
    b.create_bucket()
    b.put_bucket_cors(oss2.models.BucketCors([rule()]))
    handle.restart()
    assert b.get_bucket_cors().rules[0].allowed_origins == [ORIGIN]
    b.delete_bucket()
    b.create_bucket()
    with pytest.raises(oss2.exceptions.NoSuchCors):
        b.get_bucket_cors()


def test_ossnb_client_operations_round_trip(server: ServerHandle, bucket_name: str) -> None:
    from session_fixtures import make_client

    from ossnb.protocol import errors
    from ossnb.protocol.cors import (
        CorsConfig,
        CorsRule,
        DeleteBucketCors,
        GetBucketCors,
        PutBucketCors,
    )
    from ossnb.protocol.operations import PutBucket

    with make_client(server) as client:
        client.execute(PutBucket(bucket_name))
        with pytest.raises(errors.NoSuchCORSConfiguration):
            client.execute(GetBucketCors(bucket_name))
        config = CorsConfig(
            (CorsRule((ORIGIN,), ("PUT",), ("*",), ("ETag", "x-oss-hash-crc64ecma"), 600),),
        )
        client.execute(PutBucketCors(bucket_name, config))
        got = client.execute(GetBucketCors(bucket_name))
        assert got == config
        assert got.match(ORIGIN, "PUT", ["content-md5"]) == config.rules[0]
        assert got.match("http://other", "PUT") is None
        client.execute(DeleteBucketCors(bucket_name))
        with pytest.raises(errors.NoSuchCORSConfiguration):
            client.execute(GetBucketCors(bucket_name))
