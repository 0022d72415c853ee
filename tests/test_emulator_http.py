"""The emulator over raw HTTP: wire format, hostile input, persistence, faults, concurrency.

Real sockets throughout (``http.client`` or a bare socket); requests are signed with
ossnb's own signer where a valid signature is needed.
"""

from __future__ import annotations

import base64
import concurrent.futures
import http.client
import os
import re
import socket
import sqlite3
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import oss2
import pytest
from conftest import ServerHandle

from ossnb.emulator import Emulator, Fault
from ossnb.emulator import app as emulator_app
from ossnb.protocol import errors
from ossnb.protocol.checksums import crc64, md5_b64
from ossnb.protocol.http import Request, encode_query
from ossnb.protocol.parts import Limits
from ossnb.protocol.signing import Credentials, sign_v1, sign_v4

KIB = 1024
REQUEST_ID = re.compile(r"^[0-9A-F]{24}$")


class Target:
    """Where to send raw requests and how to sign them."""

    def __init__(self, port: int, key_id: str, secret: str, region: str) -> None:
        self.port = port
        self.credentials = Credentials(key_id, secret)
        self.region = region

    def signed(
        self,
        method: str,
        bucket: str | None = None,
        key: str | None = None,
        query: tuple[tuple[str, str], ...] = (),
        headers: dict[str, str] | None = None,
        version: str = "v4",
    ) -> tuple[str, dict[str, str]]:
        """``(request-target, headers)`` for a signed request."""
        request = Request(
            method, bucket, key, query, {k.lower(): v for k, v in (headers or {}).items()}
        )
        now = datetime.now(timezone.utc)
        if version == "v4":
            signed = sign_v4(request, self.credentials, self.region, now).request
        else:
            signed = sign_v1(request, self.credentials, now).request
        target = signed.path + (f"?{encode_query(signed.query)}" if signed.query else "")
        return target, dict(signed.headers)

    def call(
        self,
        method: str,
        bucket: str | None = None,
        key: str | None = None,
        *,
        query: tuple[tuple[str, str], ...] = (),
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        version: str = "v4",
    ) -> tuple[http.client.HTTPResponse, bytes]:
        target, sent = self.signed(method, bucket, key, query, headers, version)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request(method, target, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data


@pytest.fixture(name="target")
def target_fixture(server: ServerHandle) -> Target:
    return Target(server.port, server.access_key_id, server.access_key_secret, server.region)


@pytest.fixture(name="bucket")
def bucket_fixture(target: Target, bucket_name: str) -> str:
    response, _ = target.call("PUT", bucket_name)
    assert response.status == 200
    return bucket_name


def error_code(data: bytes) -> str:
    return ET.fromstring(data).findtext("Code") or ""


def raw_exchange(port: int, payload: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes, read until the server closes (or goes quiet)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def statuses(raw: bytes) -> list[int]:
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]


# -- wire format --------------------------------------------------------------------


def test_common_headers_and_error_document(target: Target, bucket: str) -> None:
    response, _ = target.call("PUT", bucket, "k", body=b"hello oss")
    assert response.status == 200
    assert REQUEST_ID.match(response.getheader("x-oss-request-id", ""))
    assert response.getheader("Server") == "AliyunOSS"
    assert response.getheader("Date", "").endswith(" GMT")
    assert response.getheader("Content-Length") == "0"
    assert response.getheader("ETag") == '"337B33C02F89493026843983FF272A30"'
    assert response.getheader("x-oss-hash-crc64ecma") == "15021467531229347219"
    assert response.getheader("Content-MD5") == md5_b64(b"hello oss")
    response, data = target.call("GET", bucket, "nope")
    assert response.status == 404
    assert response.getheader("Content-Type") == "application/xml"
    assert response.getheader("x-oss-ec") == "0026-00000001"
    assert int(response.getheader("Content-Length", "-1")) == len(data)
    root = ET.fromstring(data)
    assert [child.tag for child in root] == [
        "Code", "Message", "RequestId", "HostId", "Key", "EC", "RecommendDoc"
    ]  # fmt: skip
    assert root.findtext("RequestId") == response.getheader("x-oss-request-id")
    assert root.findtext("HostId") == f"127.0.0.1:{target.port}"
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_head_errors_carry_x_oss_err(target: Target, bucket: str) -> None:
    response, data = target.call("HEAD", bucket, "missing")
    assert response.status == 404 and data == b""
    document = base64.b64decode(response.getheader("x-oss-err", ""))
    assert error_code(document) == "NoSuchKey"
    assert response.getheader("x-oss-ec") == "0026-00000001"


def test_keep_alive_serves_many_requests_on_one_connection(target: Target, bucket: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
    for i in range(5):
        path, headers = target.signed("PUT", bucket, f"ka/{i}")
        conn.request("PUT", path, body=b"x" * i, headers=headers)
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Connection") == "keep-alive"
        response.read()
        path, headers = target.signed("GET", bucket, "ka/missing")
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        assert response.status == 404
        response.read()
    conn.close()


def test_virtual_hosted_addressing(target: Target, bucket: str) -> None:
    path, headers = target.signed("PUT", bucket, "vh/obj 1", headers={"Content-Type": "text/plain"})
    virtual_path = path[len(bucket) + 1 :]
    headers["Host"] = f"{bucket}.localhost:{target.port}"
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
    conn.request("PUT", virtual_path, body=b"virtual", headers=headers)
    assert conn.getresponse().status == 200
    conn.close()
    response, data = target.call("GET", bucket, "vh/obj 1")
    assert data == b"virtual" and response.getheader("Content-Type") == "text/plain"


def test_v1_header_signing_and_query_decoding(target: Target, bucket: str) -> None:
    for key in ("q/a b", "q/a+b", "q/c"):
        assert target.call("PUT", bucket, key, version="v1")[0].status == 200
    # oss2 form-encodes spaces in query values as '+': the server decodes with unquote_plus
    path, headers = target.signed(
        "GET", bucket, query=(("list-type", "2"), ("prefix", "q/a b")), version="v1"
    )
    path = path.replace("q%2Fa%20b", "q/a+b")
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    keys = [e.text for e in ET.fromstring(response.read()).iter("Key")]
    assert response.status == 200 and keys == ["q/a b"]


def test_unsigned_and_unknown(target: Target, bucket: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
    conn.request("GET", f"/{bucket}/k")
    response = conn.getresponse()
    assert response.status == 403 and error_code(response.read()) == "AccessDenied"
    conn.close()
    response, data = target.call("GET", bucket, "k", query=(("acl", ""),))
    assert (response.status, error_code(data)) == (501, "NotImplemented")
    response, data = target.call("PUT", bucket, query=(("lifecycle", ""),))
    assert (response.status, error_code(data)) == (501, "NotImplemented")
    response, data = target.call("PATCH", bucket, "k")
    assert (response.status, error_code(data)) == (405, "MethodNotAllowed")
    response, data = target.call("PUT", bucket, "k", query=(("uploadId", "X"),))
    assert (response.status, error_code(data)) == (400, "InvalidArgument")
    response, data = target.call("GET", "Bad_Bucket", "k")
    assert (response.status, error_code(data)) == (400, "InvalidBucketName")


def test_content_md5_checks(target: Target, bucket: str) -> None:
    response, data = target.call("PUT", bucket, "m", body=b"abc", headers={"Content-MD5": "nope"})
    assert (response.status, error_code(data)) == (400, "InvalidDigest")
    assert response.getheader("x-oss-ec") == "0017-00000502"
    ok = {"Content-MD5": md5_b64(b"abc")}
    assert target.call("PUT", bucket, "m", body=b"abc", headers=ok)[0].status == 200
    empty = {"Content-MD5": md5_b64(b"")}
    assert target.call("GET", bucket, query=(("bucketInfo", ""),), headers=empty)[0].status == 200


def test_v4_region_and_clock_are_checked(target: Target, bucket: str) -> None:
    wrong_region = Target(target.port, target.credentials.access_key_id,
                          target.credentials.access_key_secret, "cn-beijing")  # fmt: skip
    response, data = wrong_region.call("GET", bucket, query=(("bucketInfo", ""),))
    assert (response.status, error_code(data)) == (400, "InvalidArgument")
    request = Request("GET", bucket, None, (("bucketInfo", ""),), {})
    old = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    signed = sign_v4(request, target.credentials, target.region, old).request
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
    conn.request("GET", f"{signed.path}?{encode_query(signed.query)}", headers=dict(signed.headers))
    response = conn.getresponse()
    assert (response.status, error_code(response.read())) == (403, "RequestTimeTooSkewed")
    conn.close()


def test_complete_with_forbid_overwrite_and_url_encoding(target: Target, bucket: str) -> None:
    key = "url/é k+y"
    target.call("PUT", bucket, key, body=b"existing")
    _, data = target.call("POST", bucket, key, query=(("uploads", ""), ("encoding-type", "url")))
    root = ET.fromstring(data)
    assert root.findtext("Key") == "url%2F%C3%A9%20k%2By" and root.findtext("EncodingType") == "url"
    upload_id = root.findtext("UploadId") or ""
    query = (("partNumber", "1"), ("uploadId", upload_id))
    etag = target.call("PUT", bucket, key, query=query, body=b"new")[0].getheader("ETag")
    body = f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    forbid = {"x-oss-forbid-overwrite": "true"}
    response, data = target.call("POST", bucket, key, query=(("uploadId", upload_id),),
                                 headers=forbid, body=body.encode())  # fmt: skip
    assert (response.status, error_code(data)) == (409, "FileAlreadyExists")
    assert response.getheader("x-oss-ec") == "0042-00000214"
    response, data = target.call(
        "POST", bucket, key, query=(("uploadId", upload_id), ("encoding-type", "url")),
        body=body.replace(etag or "", (etag or "").strip('"').lower()).encode(),
    )  # fmt: skip
    assert response.status == 200
    assert ET.fromstring(data).findtext("Key") == "url%2F%C3%A9%20k%2By"
    assert target.call("GET", bucket, key)[1] == b"new"
    _, data = target.call("GET", bucket, query=(("list-type", "2"), ("encoding-type", "url")))
    assert [k.text for k in ET.fromstring(data).iter("Key")] == ["url%2F%C3%A9%20k%2By"]


# -- hostile input ------------------------------------------------------------------


def test_oversized_content_length_is_refused_before_reading(target: Target, bucket: str) -> None:
    path, headers = target.signed("PUT", bucket, "huge")
    head = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {6 << 30}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    started = time.monotonic()
    raw = raw_exchange(target.port, head.encode() + b"x" * 1000)
    assert time.monotonic() - started < 4
    assert statuses(raw) == [400]
    assert b"<Code>EntityTooLarge</Code>" in raw and b"Connection: close" in raw
    assert target.call("HEAD", bucket, "huge")[0].status == 404


def test_body_longer_than_declared(target: Target, bucket: str) -> None:
    path, headers = target.signed("PUT", bucket, "short")
    head = f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    raw = raw_exchange(target.port, head.encode() + b"0123456789EXTRA BYTES HERE\r\n\r\n")
    assert statuses(raw)[0] == 200
    assert statuses(raw)[1:] == [400]  # the excess is a malformed next request: refused, closed
    assert target.call("GET", bucket, "short")[1] == b"0123456789"


def _chunked_head(target: Target, bucket: str, key: str) -> bytes:
    path, headers = target.signed("PUT", bucket, key)
    head = f"PUT {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    return (head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


def test_chunked_bodies(target: Target, bucket: str) -> None:
    good = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
    raw = raw_exchange(target.port, _chunked_head(target, bucket, "chunked") + good, timeout=1)
    assert statuses(raw) == [200]
    assert target.call("GET", bucket, "chunked")[1] == b"hello world"
    for bad in (
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhello world\r\n0\r\n\r\n",
        b"1_0\r\n" + b"x" * 16,
    ):
        raw = raw_exchange(target.port, _chunked_head(target, bucket, "bad-chunked") + bad)
        assert statuses(raw) == [400], raw
        assert b"<Code>InvalidArgument</Code>" in raw and b"Connection: close" in raw
    assert target.call("HEAD", bucket, "bad-chunked")[0].status == 404


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&xxe;</ETag></Part></CompleteMultipartUpload>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&lol3;</ETag></Part></CompleteMultipartUpload>"""


@pytest.mark.parametrize(
    "body", [XXE, LAUGHS, b"<not xml", b"<Other/>", b"<CompleteMultipartUpload/>"]
)
def test_hostile_complete_bodies_are_malformed_xml(
    target: Target, bucket: str, body: bytes
) -> None:
    response, data = target.call("POST", bucket, "x", query=(("uploads", ""),))
    upload_id = ET.fromstring(data).findtext("UploadId") or ""
    target.call("PUT", bucket, "x", query=(("partNumber", "1"), ("uploadId", upload_id)), body=b"1")
    response, data = target.call("POST", bucket, "x", query=(("uploadId", upload_id),), body=body)
    assert (response.status, error_code(data)) == (400, "MalformedXML")
    assert b"root:" not in data


@pytest.mark.parametrize(
    "key",
    [
        "../escape",
        "a/../../b",
        "..",
        "x\\..\\y",
        "nul\x00byte",
        "/abs",
        "\\win",
    ],
)
def test_dangerous_keys_are_refused(
    server: ServerHandle, target: Target, bucket: str, key: str
) -> None:
    outside = server.data_dir.parent
    before = {p for p in outside.rglob("*") if not p.is_relative_to(server.data_dir)}
    response, data = target.call("PUT", bucket, key, body=b"payload")
    assert (response.status, error_code(data)) == (400, "InvalidObjectName")
    after = {p for p in outside.rglob("*") if not p.is_relative_to(server.data_dir)}
    assert after - before <= {server.log_path}
    for blob in (server.data_dir / "blobs").rglob("*"):
        assert re.fullmatch(r"[0-9a-f]{2}|[0-9a-f]{32}", blob.name)


def test_protocol_garbage_gets_xml_errors(target: Target) -> None:
    raw = raw_exchange(target.port, b"NOT AN HTTP REQUEST\r\n\r\n")
    assert statuses(raw) == [400] and b"<Error>" in raw
    huge = (
        b"GET / HTTP/1.1\r\n"
        + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(90))
        + b"\r\n"
    )
    raw = raw_exchange(target.port, huge)
    assert statuses(raw) == [431] and b"<Error>" in raw
    raw = raw_exchange(target.port, b"PUT /b/k HTTP/1.1\r\nContent-Length: -5\r\n\r\n")
    assert statuses(raw) == [400]


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"PUT /b/k HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        (b"GET / HTTP/1.1\r\nX-A: one\r\n  folded\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX-A: a\rX-B: b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nX-A: " + b"v" * 70000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / HTTP/1.x\r\n\r\n", 400),
    ],
)
def test_hostile_heads_are_refused_as_xml(target: Target, head: bytes, status: int) -> None:
    raw = raw_exchange(target.port, head)
    assert statuses(raw) == [status] and b"<Error>" in raw
    if b"Content-Length: 2" in head:  # disagreeing lengths: the argument is named
        assert b"<Code>InvalidArgument</Code>" in raw


# -- persistence --------------------------------------------------------------------


def test_restart_keeps_buckets_objects_and_uploads(
    server_factory: Callable[..., ServerHandle], bucket_name: str
) -> None:
    server = server_factory("--bucket", bucket_name)
    bucket = oss2.Bucket(
        oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint, bucket_name
    )
    parts = [os.urandom(100 * KIB), os.urandom(100 * KIB), os.urandom(10)]
    upload_id = bucket.init_multipart_upload("persist.bin").upload_id
    etags = [bucket.upload_part("persist.bin", upload_id, n, parts[n - 1]).etag for n in (1, 2)]
    bucket.put_object("plain", b"kept")
    assert server.process is not None
    server.process.kill()  # SIGKILL: committed state must survive a crash, not just a clean exit
    server.process.wait(5)
    server.restart()  # a new process on the same data dir and port
    listed = bucket.list_parts("persist.bin", upload_id).parts
    assert [(p.part_number, p.etag) for p in listed] == [(1, etags[0]), (2, etags[1])]
    etags.append(bucket.upload_part("persist.bin", upload_id, 3, parts[2]).etag)
    infos = [oss2.models.PartInfo(n, e) for n, e in enumerate(etags, 1)]
    done = bucket.complete_multipart_upload("persist.bin", upload_id, infos)
    assert done.crc == crc64(b"".join(parts))
    assert bucket.get_object("persist.bin").read() == b"".join(parts)
    assert bucket.get_object("plain").read() == b"kept"
    database = sqlite3.connect(server.data_dir / "meta.sqlite3")
    assert database.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    database.close()
    assert server.stop() == 0


def _blob_count(data_dir: Path) -> int:
    return sum(1 for p in (data_dir / "blobs").rglob("*") if p.is_file())


def test_overwritten_and_aborted_data_is_deleted(tmp_path: Path) -> None:
    with Emulator(tmp_path / "d", buckets=["bk1"], auth=False) as emu:
        target = Target(emu.port, "any", "any", emu.region)
        target.call("PUT", "bk1", "k", body=b"one")
        target.call("PUT", "bk1", "k", body=b"two")
        assert _blob_count(emu.data_dir) == 1
        _, data = target.call("POST", "bk1", "m", query=(("uploads", ""),))
        upload_id = ET.fromstring(data).findtext("UploadId") or ""
        for _ in range(3):  # the same part three times: one blob remains
            target.call(
                "PUT", "bk1", "m", query=(("partNumber", "1"), ("uploadId", upload_id)), body=b"p"
            )
        assert _blob_count(emu.data_dir) == 2
        target.call("DELETE", "bk1", "m", query=(("uploadId", upload_id),))
        target.call("DELETE", "bk1", "k")
        assert _blob_count(emu.data_dir) == 0
        # a body whose Content-MD5 disagrees, and one cut short: neither leaves a blob
        response, _ = target.call(
            "PUT", "bk1", "bad", headers={"content-md5": md5_b64(b"?")}, body=b"x"
        )
        assert response.status == 400
        path, sent = target.signed("PUT", "bk1", "cut", (), {"content-length": "1000"}, "v4")
        head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sent.items())
        with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
            sock.sendall(head.encode() + b"\r\n" + b"x" * 10)
            wait_for_blobs = time.monotonic() + 5
            while _blob_count(emu.data_dir) == 0 and time.monotonic() < wait_for_blobs:
                time.sleep(0.01)  # the body's blob file is open, 10 bytes in
        deadline = time.monotonic() + 5
        while _blob_count(emu.data_dir) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _blob_count(emu.data_dir) == 0


def test_startup_sweeps_orphans(tmp_path: Path) -> None:
    with Emulator(tmp_path / "sw", buckets=["bk1"], auth=False) as emu:
        _target(emu).call("PUT", "bk1", "kept", body=b"still here")
    orphan = tmp_path / "sw" / "blobs" / "ab" / ("ab" + "0" * 30)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"lost")
    with Emulator(tmp_path / "sw", auth=False) as emu:
        assert not orphan.exists()
        assert _target(emu).call("GET", "bk1", "kept")[1] == b"still here"


# -- limits, faults, crashes, concurrency (in-process emulator, real sockets) --------


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Emulator]:
    limits = Limits(min_part_size=1 * KIB, max_part_size=64 * KIB, max_parts=20)
    with Emulator(tmp_path / "small", buckets=["bkt"], limits=limits) as emu:
        yield emu


def _target(emu: Emulator) -> Target:
    return Target(
        emu.port, emu.credentials.access_key_id, emu.credentials.access_key_secret, emu.region
    )


def test_limits_are_parameters(small: Emulator) -> None:
    target = _target(small)
    response, data = target.call("PUT", "bkt", "big", body=b"x" * (64 * KIB + 1))
    assert (response.status, error_code(data)) == (400, "EntityTooLarge")
    raw = raw_exchange(
        small.port,
        _chunked_head(target, "bkt", "big-chunked") + (b"8000\r\n" + b"x" * 0x8000 + b"\r\n") * 3,
    )
    assert statuses(raw) == [400] and b"EntityTooLarge" in raw
    _, data = target.call("POST", "bkt", "m", query=(("uploads", ""),))
    upload_id = ET.fromstring(data).findtext("UploadId") or ""
    response, data = target.call(
        "PUT", "bkt", "m", query=(("partNumber", "21"), ("uploadId", upload_id))
    )
    assert (response.status, error_code(data)) == (400, "InvalidArgument")
    assert ET.fromstring(data).findtext("ArgumentValue") == "21"


def test_faults_from_python(small: Emulator) -> None:
    target = _target(small)
    target.call("PUT", "bkt", "obj", body=b"z" * 5000)
    small.faults.add(Fault("GetObject", action="drop"))
    path, headers = target.signed("GET", "bkt", "obj")
    conn = http.client.HTTPConnection("127.0.0.1", small.port, timeout=5)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    small.faults.add(Fault("HeadObject", nth=2, status=503, code="ServiceUnavailable"))
    assert target.call("HEAD", "bkt", "obj")[0].status == 200
    assert target.call("HEAD", "bkt", "obj")[0].status == 503
    assert target.call("HEAD", "bkt", "obj")[0].status == 200
    small.faults.add(Fault("PutObject", action="drop"))
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        target.call("PUT", "bkt", "dropped", body=b"y" * 50_000)
    assert target.call("HEAD", "bkt", "dropped")[0].status == 404
    small.faults.add(Fault("*", action="delay", delay=0.3))
    started = time.monotonic()
    assert target.call("HEAD", "bkt", "obj")[0].status == 200
    assert time.monotonic() - started >= 0.3


def test_handler_exception_is_a_500_not_a_dropped_connection(
    small: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(call: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setitem(emulator_app._HANDLERS, "GetBucketInfo", broken)
    target = _target(small)
    conn = http.client.HTTPConnection("127.0.0.1", small.port, timeout=5)
    for _ in range(2):  # and the connection stays usable
        path, headers = target.signed("GET", "bkt", query=(("bucketInfo", ""),))
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        assert (response.status, error_code(response.read())) == (500, "InternalError")
    conn.close()


def test_concurrent_part_uploads(small: Emulator) -> None:
    target = _target(small)
    _, data = target.call("POST", "bkt", "c", query=(("uploads", ""),))
    upload_id = ET.fromstring(data).findtext("UploadId") or ""

    def send(i: int) -> int:
        number = i % 5 + 1  # several writers race on each part number
        query = (("partNumber", str(number)), ("uploadId", upload_id))
        return target.call("PUT", "bkt", "c", query=query, body=bytes([number]) * 2048)[0].status

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert set(pool.map(send, range(40))) == {200}
    _, data = target.call("GET", "bkt", "c", query=(("uploadId", upload_id),))
    assert [p.findtext("PartNumber") for p in ET.fromstring(data).iter("Part")] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    assert _blob_count(small.data_dir) == 5


def test_bind_is_loopback_unless_asked(
    server_factory: Callable[..., ServerHandle], tmp_path: Path
) -> None:
    with Emulator(tmp_path / "lo", auth=False) as emu:
        assert emu.host == "127.0.0.1"
    wide = server_factory("--host", "0.0.0.0")
    assert "WARNING" in wide.log() and "0.0.0.0" in wide.log()
    assert wide.endpoint.startswith("http://127.0.0.1:")
    custom = server_factory("--access-key-id", "mine", "--access-key-secret", "a-very-secret-value")
    banner = "\n".join(custom.banner)
    assert "a-very-secret-value" not in banner and "mine" in banner


def test_second_server_on_same_data_dir_is_refused(server: ServerHandle, tmp_path: Path) -> None:
    from ossnb.emulator import DataDirInUse

    with pytest.raises(DataDirInUse):
        Emulator(server.data_dir)


def test_remembered_uploads_end_with_complete_and_abort(tmp_path: Path) -> None:
    """UploadPart finds its upload in memory, not SQL; an upload that ended must not
    be found there, and a client opening uploads without end cannot grow that memory."""
    from ossnb.emulator.store import Store, UploadInfo

    store = Store(tmp_path / "d")
    try:
        store.create_bucket("bk")

        def part(upload: UploadInfo, number: int, data: bytes) -> None:
            with store.blobs.writer() as writer:
                writer.write(data)
                store.put_part(upload, number, writer.finish())

        done = store.initiate("bk", "k", headers={})
        part(store.upload("bk", "k", done.upload_id), 1, b"one")
        store.complete(store.upload("bk", "k", done.upload_id), [(1, md5_hex_quoted(b"one"))])
        dropped = store.initiate("bk", "k", headers={})
        assert store.upload("bk", "k", dropped.upload_id) == dropped
        store.abort(dropped)
        for ended in (done, dropped):
            with pytest.raises(errors.NoSuchUpload):
                store.upload("bk", "k", ended.upload_id)
        with pytest.raises(errors.NoSuchUpload):  # known id, other key
            store.upload("bk", "other", store.initiate("bk", "k", headers={}).upload_id)
        many = [store.initiate("bk", f"k{i}", headers={}) for i in range(1100)]
        assert len(store._uploads) <= 1024
        assert store.upload("bk", "k0", many[0].upload_id) == many[0]  # forgotten: from SQL
    finally:
        store.close()


def md5_hex_quoted(data: bytes) -> str:
    return '"' + base64.b64decode(md5_b64(data)).hex().upper() + '"'
