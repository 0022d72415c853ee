"""The emulator answers as OSS does where official clients differ from ossnb's own.

Real sockets and real SDKs: the request forms of the official C SDK (IP endpoint,
path-style, the slash between bucket and key sent as ``%2F``) built and signed with
ossnb's signer; UTF-8 metadata through oss2 and alibabacloud-oss-v2; and the other
differences found by running the official SDKs' test suites against the emulator.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from urllib.parse import quote

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from conftest import ServerHandle
from test_emulator_http import (  # noqa: F401 - target and bucket are fixtures
    Target,
    bucket_fixture,
    error_code,
    raw_exchange,
    statuses,
    target_fixture,
)

from ossnb.protocol.http import Request, encode_query
from ossnb.protocol.signing import Credentials, sign_v1, sign_v4

KIB = 1024


def _oss2_bucket(server: ServerHandle, name: str) -> oss2.Bucket:
    auth = oss2.AuthV4(server.access_key_id, server.access_key_secret)
    return oss2.Bucket(auth, server.endpoint, name, region=server.region)


# -- 1. the C SDK's request form: IP endpoint, path-style, encoded slash ----------------


def _csdk_call(
    server: ServerHandle,
    style: tuple[str, str],
    method: str,
    bucket: str,
    key: str,
    query: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """A request as aliyun-oss-c-sdk sends it, signed over the decoded bucket and key:
    to http://127.0.0.1:PORT path-style with every ``/`` after the first percent-encoded
    (``/bucket%2Fdoc%2Fobj.bin``); to http://localhost:PORT virtual-hosted
    (``Host: bucket.localhost:PORT``, ``/doc%2Fobj.bin``)."""
    version, addressing = style
    credentials = Credentials(server.access_key_id, server.access_key_secret)
    host = f"127.0.0.1:{server.port}" if addressing == "ip" else f"{bucket}.localhost:{server.port}"
    headers = {"host": host, "content-length": str(len(body))}
    request = Request(method, bucket, key, query, headers)
    now = datetime.now(timezone.utc)
    signed = (
        sign_v4(request, credentials, server.region, now)
        if version == "v4"
        else sign_v1(request, credentials, now)
    ).request
    target = f"/{bucket}%2F" if addressing == "ip" else "/"
    target += quote(key, safe="")
    if query:
        target += "?" + encode_query(query)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(method, target, body=body, headers=dict(signed.headers))
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


@pytest.mark.parametrize(
    "style", [("v4", "ip"), ("v1", "ip"), ("v4", "localhost"), ("v1", "localhost")], ids=str
)
def test_c_sdk_request_forms(server: ServerHandle, bucket: str, style: tuple[str, str]) -> None:
    key = "doc/obj.bin"
    status, _, data = _csdk_call(server, style, "POST", bucket, key, (("uploads", ""),))
    assert status == 200, data
    upload_id = ET.fromstring(data).findtext("UploadId") or ""
    part = b"c-sdk part " * 100
    status, headers, data = _csdk_call(
        server, style, "PUT", bucket, key,
        (("partNumber", "1"), ("uploadId", upload_id)), part,
    )  # fmt: skip
    assert status == 200, data
    complete = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{headers['etag']}</ETag></Part></CompleteMultipartUpload>"
    ).encode()
    status, _, data = _csdk_call(
        server, style, "POST", bucket, key, (("uploadId", upload_id),), complete
    )
    assert status == 200, data
    assert ET.fromstring(data).findtext("Key") == key
    status, _, data = _csdk_call(server, style, "GET", bucket, key)
    assert (status, data) == (200, part)
    assert _oss2_bucket(server, bucket).get_object(key).read() == part
    status, _, _ = _csdk_call(server, style, "DELETE", bucket, key)
    assert status == 204


# -- 2. UTF-8 header values ---------------------------------------------------------------


def test_utf8_metadata_with_oss2(server: ServerHandle, bucket: str) -> None:
    client = _oss2_bucket(server, bucket)
    client.put_object("meta", b"x", headers={"x-oss-meta-x": "测试".encode()})
    value = client.head_object("meta").headers["x-oss-meta-x"]
    assert value.encode("latin-1").decode("utf-8") == "测试"  # requests reads bytes as Latin-1


def test_utf8_metadata_read_with_v2(server: ServerHandle, bucket: str) -> None:
    """Stored through oss2, read through v2: the bytes come back as they were sent."""
    _oss2_bucket(server, bucket).put_object("meta", b"x", headers={"x-oss-meta-x": "测试".encode()})
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        server.access_key_id, server.access_key_secret
    )
    cfg.region, cfg.endpoint = server.region, server.endpoint
    result = oss.Client(cfg).head_object(oss.HeadObjectRequest(bucket=bucket, key="meta"))
    assert result.metadata is not None
    # http.client reads header bytes as Latin-1 text
    assert result.metadata["x"].encode("latin-1").decode("utf-8") == "测试"


# -- 3. a GET/HEAD/DELETE declaring a body it never sends ----------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_bodiless_method_with_content_length_is_answered(
    target: Target, bucket: str, method: str
) -> None:
    assert target.call("PUT", bucket, "k", body=b"hello")[0].status == 200
    path, headers = target.signed(method, bucket, "k", headers={"content-length": "9"})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    raw = raw_exchange(target.port, (head + "\r\n").encode(), timeout=5.0)
    assert statuses(raw) == [{"GET": 200, "HEAD": 200, "DELETE": 204}[method]], raw[:300]
    if method == "GET":
        assert raw.endswith(b"hello")


# -- 4. UploadPartCopy with an open-ended range ---------------------------------------------


def test_upload_part_copy_open_ended_range(server: ServerHandle, bucket: str) -> None:
    client = _oss2_bucket(server, bucket)
    source = bytes(range(256)) * 500  # 128000 bytes
    client.put_object("src", source)
    upload_id = client.init_multipart_upload("dst").upload_id
    headers = {"x-oss-copy-source-range": "bytes=102400-"}
    result = client.upload_part_copy(bucket, "src", None, "dst", upload_id, 1, headers=headers)
    client.complete_multipart_upload("dst", upload_id, [oss2.models.PartInfo(1, result.etag)])
    assert client.get_object("dst").read() == source[102400:]


# -- 5. a missing bucket with wrong credentials ---------------------------------------------


def test_missing_bucket_with_wrong_credentials_is_no_such_bucket(
    server: ServerHandle, bucket: str
) -> None:
    wrong = Target(server.port, server.access_key_id, "not-the-secret", server.region)
    response, data = wrong.call("GET", "no-such-bucket-here", "k")
    assert (response.status, error_code(data)) == (404, "NoSuchBucket")
    response, data = wrong.call("GET", bucket, "k")  # the bucket exists: the signature counts
    assert (response.status, error_code(data)) == (403, "SignatureDoesNotMatch")
    stranger = Target(server.port, "unknown-key", "x", server.region)
    response, data = stranger.call("PUT", "no-such-bucket-either")  # creating: credentials first
    assert (response.status, error_code(data)) == (403, "InvalidAccessKeyId")


# -- 6. keys with control characters ---------------------------------------------------------


def test_keys_with_control_characters(server: ServerHandle, target: Target, bucket: str) -> None:
    client = _oss2_bucket(server, bucket)
    key = "ctl-\x01\x07\x0c\t\n-end"
    before = set(server.data_dir.rglob("*"))
    client.put_object(key, b"payload")
    assert client.get_object(key).read() == b"payload"
    assert [o.key for o in client.list_objects_v2().object_list] == [key]  # encoding-type=url
    v1 = oss2.Bucket(
        oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint, bucket
    )
    with pytest.raises(oss2.exceptions.InvalidArgument):  # (oss2's V4 cannot sign a None)
        v1.list_objects_v2(encoding_type=None)  # XML 1.0 cannot carry \x01
    new = {p.name for p in set(server.data_dir.rglob("*")) - before}
    assert not any("ctl" in name for name in new), new  # keys never become file names
    client.delete_object(key)
    upload_id = client.init_multipart_upload(key).upload_id
    assert [u.key for u in client.list_multipart_uploads().upload_list] == [key]  # url
    response, data = target.call("GET", bucket, query=(("uploads", ""),))  # no encoding-type
    assert (response.status, error_code(data)) == (400, "InvalidArgument")
    client.abort_multipart_upload(key, upload_id)
    with pytest.raises(oss2.exceptions.InvalidObjectName):
        client.put_object("nul\x00key", b"x")


# -- 7. objects inherit the bucket's storage class ---------------------------------------


def test_objects_inherit_bucket_storage_class(server: ServerHandle, bucket_name: str) -> None:
    client = _oss2_bucket(server, bucket_name)
    client.create_bucket(oss2.BUCKET_ACL_PRIVATE, oss2.models.BucketCreateConfig("IA"))
    client.put_object("plain", b"x")
    upload_id = client.init_multipart_upload("multi").upload_id
    etag = client.upload_part("multi", upload_id, 1, b"y").etag
    client.complete_multipart_upload("multi", upload_id, [oss2.models.PartInfo(1, etag)])
    client.put_object("standard", b"z", headers={"x-oss-storage-class": "Standard"})
    listed = {o.key: o.storage_class for o in client.list_objects().object_list}
    assert listed == {"plain": "IA", "multi": "IA", "standard": "Standard"}
    assert client.head_object("plain").headers["x-oss-storage-class"] == "IA"


# -- 8. Accept-Encoding: gzip -------------------------------------------------------------------


def _get(
    target: Target, bucket: str, key: str, headers: dict[str, str]
) -> http.client.HTTPResponse:
    path, sent = target.signed("GET", bucket, key, headers=headers)
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
    conn.request("GET", path, headers=sent)
    return conn.getresponse()


def test_gzip_for_text_objects_of_1_kib_or_more(target: Target, bucket: str) -> None:
    text = b"hello gzip " * 200
    for key, content_type, body in [
        ("big.txt", "text/plain", text),
        ("small.txt", "text/plain", text[:1023]),
        ("big.bin", "application/octet-stream", text),
    ]:
        target.call("PUT", bucket, key, headers={"content-type": content_type}, body=body)
    response = _get(target, bucket, "big.txt", {"accept-encoding": "gzip"})
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Length") is None
    assert gzip.decompress(response.read()) == text
    assert response.getheader("ETag") == f'"{hashlib.md5(text).hexdigest().upper()}"'
    for key, headers in [
        ("small.txt", {"accept-encoding": "gzip"}),  # under 1 KB
        ("big.bin", {"accept-encoding": "gzip"}),  # not a text type
        ("big.txt", {}),  # not asked for
        ("big.txt", {"accept-encoding": "gzip", "range": "bytes=0-99"}),  # a range
    ]:
        response = _get(target, bucket, key, headers)
        assert response.getheader("Content-Encoding") is None, (key, headers)
        assert response.getheader("Content-Length") == str(len(response.read()))


# -- 9. GetBucketInfo elements; V4 presigned URL without a region ----------------------------


def test_bucket_info_block_public_access_and_resource_group(target: Target, bucket: str) -> None:
    response, data = target.call("GET", bucket, query=(("bucketInfo", ""),))
    info = ET.fromstring(data).find("Bucket")
    assert info is not None
    assert info.findtext("BlockPublicAccess") == "false"
    group = info.findtext("ResourceGroupId")
    assert group
    # the shared server holds other tests' buckets too: list from this one's name on
    query = (("prefix", bucket),)
    response, data = target.call("GET", query=query, headers={"x-oss-resource-group-id": group})
    assert response.status == 200
    assert bucket in [n.text for n in ET.fromstring(data).iter("Name")]


def test_v4_presigned_url_with_empty_region(server: ServerHandle, bucket: str) -> None:
    auth = oss2.AuthV4(server.access_key_id, server.access_key_secret)
    url = oss2.Bucket(auth, server.endpoint, bucket).sign_url("PUT", "k", 60)  # no region
    assert "%2F%2Foss%2Faliyun_v4_request" in url or "//oss/aliyun_v4_request" in url
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("PUT", url.split(str(server.port), 1)[1], body=b"x")
    response = conn.getresponse()
    data = response.read()
    assert response.status == 400
    assert ET.fromstring(data).findtext("Message") == "The signing region in credential is invalid."


# -- 10. refused rather than silently accepted --------------------------------------------------


def test_sequential_upload_gets_whole_content_md5(server: ServerHandle, bucket: str) -> None:
    client = _oss2_bucket(server, bucket)
    parts = [b"a" * (100 * KIB), b"b" * (100 * KIB), b"c" * 10]
    upload_id = client.init_multipart_upload("seq", params={"sequential": ""}).upload_id
    with pytest.raises(oss2.exceptions.PartNotSequential):
        client.upload_part("seq", upload_id, 2, parts[1])
    infos = [
        oss2.models.PartInfo(n, client.upload_part("seq", upload_id, n, data).etag)
        for n, data in enumerate(parts, 1)
    ]
    client.complete_multipart_upload("seq", upload_id, infos)
    whole = base64.b64encode(hashlib.md5(b"".join(parts)).digest()).decode()
    assert client.head_object("seq").headers["Content-MD5"] == whole
    upload_id = client.init_multipart_upload("plain").upload_id  # without: no Content-MD5
    etag = client.upload_part("plain", upload_id, 1, b"x").etag
    client.complete_multipart_upload("plain", upload_id, [oss2.models.PartInfo(1, etag)])
    assert "Content-MD5" not in client.head_object("plain").headers


def test_describe_regions_is_not_a_bucket_list(target: Target) -> None:
    response, data = target.call("GET", query=(("regions", ""),))
    assert (response.status, error_code(data)) == (501, "NotImplemented")


@pytest.mark.parametrize(
    "tagging",
    [
        "=a&b=a",
        "a" * 129 + "=b",
        "a=" + "v" * 257,
        "a=b&a=b",
        "&".join(f"k{i}=v" for i in range(11)),
    ],
    ids=["empty key", "long key", "long value", "duplicate key", "eleven tags"],
)
def test_invalid_tagging_on_initiate_is_refused(target: Target, bucket: str, tagging: str) -> None:
    response, data = target.call(
        "POST", bucket, "k", query=(("uploads", ""),), headers={"x-oss-tagging": tagging}
    )
    assert (response.status, error_code(data)) == (400, "InvalidArgument")
    response, data = target.call("GET", bucket, query=(("uploads", ""),))
    assert ET.fromstring(data).find("Upload") is None  # nothing was stored


def test_valid_tagging_on_initiate_is_kept(server: ServerHandle, bucket: str) -> None:
    client = _oss2_bucket(server, bucket)
    upload_id = client.init_multipart_upload("k", headers={"x-oss-tagging": "a=&b=c"}).upload_id
    etag = client.upload_part("k", upload_id, 1, b"x").etag
    client.complete_multipart_upload("k", upload_id, [oss2.models.PartInfo(1, etag)])
    assert client.head_object("k").headers["x-oss-tagging-count"] == "2"


# -- DeleteMultipleObjects (the suites' listing tests clean up with it) ------------------


def test_batch_delete_with_oss2(server: ServerHandle, bucket: str) -> None:
    client = _oss2_bucket(server, bucket)
    keys = ["a", "中文\x0c-1.txt", "<hello>", "never-existed"]
    for key in keys[:3]:
        client.put_object(key, b"x")
    client.put_object("kept", b"y")
    assert client.batch_delete_objects(keys).deleted_keys == keys
    assert [o.key for o in client.list_objects_v2().object_list] == ["kept"]


def test_batch_delete_needs_content_md5(target: Target, bucket: str) -> None:
    body = b"<Delete><Object><Key>a</Key></Object></Delete>"
    response, data = target.call("POST", bucket, query=(("delete", ""),), body=body)
    assert (response.status, error_code(data)) == (400, "InvalidRequest")


@pytest.mark.parametrize("operation", ["PutObject", "CompleteMultipartUpload"])
def test_upload_callback_is_refused(target: Target, bucket: str, operation: str) -> None:
    callback = base64.b64encode(b'{"callbackUrl":"http://127.0.0.1:9/"}').decode()
    if operation == "PutObject":
        response, data = target.call(
            "PUT", bucket, "k", headers={"x-oss-callback": callback}, body=b"x"
        )
    else:
        _, data = target.call("POST", bucket, "k", query=(("uploads", ""),))
        upload_id = ET.fromstring(data).findtext("UploadId") or ""
        response, data = target.call(
            "POST", bucket, "k", query=(("uploadId", upload_id),),
            headers={"x-oss-callback": callback, "x-oss-complete-all": "yes"},
        )  # fmt: skip
    assert (response.status, error_code(data)) == (501, "NotImplemented")
    assert target.call("HEAD", bucket, "k")[0].status == 404  # nothing was stored
