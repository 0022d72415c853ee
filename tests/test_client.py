"""``ossnb.client.client.Client`` against the real ``ossnb serve`` emulator over real sockets.

Every operation runs through ``Client.execute`` signed with V4 and with V1; results
are checked against values computed here (MD5 ETags, CRC-64/XZ, multipart ETags, the
bytes themselves). Also: addressing (path-style, virtual-hosted ``bucket.localhost``),
the error tree, the transcript (and that no secret reaches it), presigned URLs fetched
with plain ``urllib``, and one client shared by many threads. Faults, retries,
progress, cancel and timeouts are in ``test_client_faults.py``.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import ServerHandle, Transcript

from ossnb.client.client import Client, Endpoint, RetryPolicy
from ossnb.protocol import errors
from ossnb.protocol.checksums import crc64, md5_b64, md5_hex, multipart_etag, normalize_etag
from ossnb.protocol.errors import (
    AccessDenied,
    EntityTooSmall,
    InvalidAccessKeyId,
    InvalidDigest,
    InvalidPart,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    RequestTimeTooSkewed,
    ServiceError,
    SignatureDoesNotMatch,
    error_from_response,
)
from ossnb.protocol.operations import (
    AbortMultipartUpload,
    CompleteMultipartUpload,
    DeleteBucket,
    DeleteObject,
    GetBucketInfo,
    GetObject,
    HeadObject,
    InitiateMultipartUpload,
    ListMultipartUploads,
    ListObjectsV2,
    ListParts,
    PutBucket,
    PutObject,
    UploadPart,
    UploadPartCopy,
)
from ossnb.protocol.signing import Credentials
from ossnb.protocol.transcript import Exchange

KiB = 1024
PART = 100 * KiB  # the smallest non-last part OSS accepts at Complete
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
REQUEST_ID = re.compile(r"^[0-9A-F]{24}$")
EC = re.compile(r"^\d{4}-\d{8}$")
TOKEN = "TOKENVALUE-sts/+="  # has characters that url-encoding changes


def make_client(server: ServerHandle, version: int = 4, **options: Any) -> Client:
    """A client for ``server`` with quick retries (options override)."""
    options.setdefault("retry", FAST)
    options.setdefault("region", server.region)
    endpoint = options.pop("endpoint", server.endpoint)
    credentials = options.pop(
        "credentials", Credentials(server.access_key_id, server.access_key_secret)
    )
    return Client(endpoint, credentials, signature_version=version, **options)


def etag_of(data: bytes) -> str:
    return f'"{md5_hex(data)}"'


def data_of(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture(params=[4, 1], ids=["v4", "v1"])
def version(request: pytest.FixtureRequest) -> int:
    value: int = request.param
    return value


@pytest.fixture
def transcript() -> Transcript:
    return Transcript()


@pytest.fixture
def client(server: ServerHandle, version: int, transcript: Transcript) -> Iterator[Client]:
    with make_client(server, version, on_exchange=transcript) as c:
        yield c


@pytest.fixture
def bucket(client: Client, bucket_name: str) -> str:
    client.execute(PutBucket(bucket_name))
    return bucket_name


def _error(call: Callable[[], object]) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        call()
    return info.value


def check_error(error: ServiceError, cls: type[ServiceError], status: int) -> None:
    """The class, status, code, request id, EC, hint and message of an OSS error."""
    assert type(error) is cls
    assert (error.status, error.error_code) == (status, cls.code)
    assert REQUEST_ID.match(error.request_id), error.request_id
    assert EC.match(error.ec), error.ec
    assert error.message
    assert error.hint == errors.ERROR_CODES[cls.code].hint
    assert str(error).startswith(f"{cls.code} ({status}): ")
    assert error.request_id in str(error)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------------ buckets


def test_bucket_create_info_delete(
    client: Client, server: ServerHandle, bucket_name: str, transcript: Transcript
) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    assert client.execute(PutBucket(bucket_name, acl="private")) is None
    info = client.execute(GetBucketInfo(bucket_name))
    assert info.name == bucket_name
    assert info.location == f"oss-{server.region}"
    assert info.acl == "private"
    assert info.storage_class == "Standard"
    assert before <= info.creation_date <= datetime.now(timezone.utc)
    assert transcript.last.path == f"/{bucket_name}/"
    assert transcript.last.query == (("bucketInfo", ""),)

    assert client.execute(DeleteBucket(bucket_name)) is None
    assert transcript.last.status == 204
    error = _error(lambda: client.execute(GetBucketInfo(bucket_name)))
    check_error(error, NoSuchBucket, 404)
    assert error.details.get("BucketName") == bucket_name
    assert error.request_id == transcript.last.response_headers["x-oss-request-id"]
    assert error.ec == transcript.last.response_headers["x-oss-ec"]
    assert "Create the bucket" in error.hint


# ------------------------------------------------------------------------------ objects


def test_put_get_head_delete_round_trip(client: Client, bucket: str) -> None:
    body = data_of(3000, 1)
    put = client.execute(PutObject(bucket, "docs/a.txt", body, metadata={"Owner": "Alice"}))
    assert put.etag == etag_of(body)
    assert put.crc64 == crc64(body)
    assert put.content_md5 == md5_b64(body)
    assert REQUEST_ID.match(put.request_id)

    got = client.execute(GetObject(bucket, "docs/a.txt"))
    assert got.body == body
    assert got.status == 200
    assert got.content_range is None
    assert got.info.size == len(body)
    assert got.info.etag == put.etag
    assert got.info.crc64 == crc64(body)
    assert got.info.object_type == "Normal"
    assert got.info.content_type == "text/plain"
    assert got.info.metadata == {"owner": "Alice"}

    head = client.execute(HeadObject(bucket, "docs/a.txt"))
    assert (head.size, head.etag, head.crc64) == (len(body), put.etag, crc64(body))
    assert head.content_md5 == md5_b64(body)
    assert head.metadata == {"owner": "Alice"}
    assert head.part_count is None
    assert head.last_modified is not None

    assert client.execute(DeleteObject(bucket, "docs/a.txt")) is None
    error = _error(lambda: client.execute(HeadObject(bucket, "docs/a.txt")))
    check_error(error, NoSuchKey, 404)  # from x-oss-err: HEAD answers have no body
    assert error.ec == "0026-00000001"
    assert client.execute(DeleteObject(bucket, "docs/a.txt")) is None  # 204 when absent too
    error = _error(lambda: client.execute(GetObject(bucket, "docs/a.txt")))
    check_error(error, NoSuchKey, 404)
    assert error.details.get("Key") == "docs/a.txt"


def test_overwrite_replaces_the_object(client: Client, bucket: str) -> None:
    client.execute(PutObject(bucket, "k", b"first version"))
    put = client.execute(PutObject(bucket, "k", b"second"))
    assert put.etag == etag_of(b"second")
    assert client.execute(GetObject(bucket, "k")).body == b"second"


def test_empty_object(client: Client, bucket: str) -> None:
    put = client.execute(PutObject(bucket, "empty", b""))
    assert put.etag == '"D41D8CD98F00B204E9800998ECF8427E"'
    assert put.crc64 == 0
    got = client.execute(GetObject(bucket, "empty"))
    assert (got.body, got.info.size) == (b"", 0)


@pytest.mark.parametrize(
    ("first", "last", "status", "expected"),
    [
        (0, 9, 206, (0, 10)),
        (990, None, 206, (990, 1000)),
        (999, 999, 206, (999, 1000)),
        (500, 2000, 200, (0, 1000)),  # OSS quirk: unsatisfiable range ignored -> whole object
        (1000, 2000, 200, (0, 1000)),
    ],
)
def test_ranges_and_the_oss_range_quirk(
    client: Client,
    bucket: str,
    first: int,
    last: int | None,
    status: int,
    expected: tuple[int, int],
) -> None:
    body = data_of(1000, 2)
    client.execute(PutObject(bucket, "r.bin", body))
    got = client.execute(GetObject(bucket, "r.bin", range=(first, last)))
    assert got.status == status
    assert got.body == body[expected[0] : expected[1]]
    assert got.info.size == 1000  # the whole object's size, also for a range
    assert got.info.crc64 == crc64(body)
    if status == 206:
        assert got.content_range == f"bytes {expected[0]}-{expected[1] - 1}/1000"
    else:
        assert got.content_range is None


def test_standard_range_behavior(client: Client, bucket: str) -> None:
    body = data_of(1000, 3)
    client.execute(PutObject(bucket, "s.bin", body))
    got = client.execute(
        GetObject(bucket, "s.bin", range=(500, 2000), range_behavior_standard=True)
    )
    assert (got.status, got.body, got.content_range) == (206, body[500:], "bytes 500-999/1000")
    error = _error(
        lambda: client.execute(
            GetObject(bucket, "s.bin", range=(1000, 2000), range_behavior_standard=True)
        )
    )
    check_error(error, InvalidRange, 416)


KEYS = [
    "plain.txt",
    "with space.txt",
    "a+b=c&d.bin",
    "100%.bin",
    "percent%2Fliteral",
    "dir/sub dir/leaf",
    "ünïcødé/日本語 😀.bin",
    "tilde~and'quote\"s",
]


@pytest.mark.parametrize("key", KEYS)
def test_keys_that_need_encoding(
    client: Client, bucket: str, key: str, transcript: Transcript
) -> None:
    body = key.encode() * 3
    assert client.execute(PutObject(bucket, key, body)).etag == etag_of(body)
    assert transcript.last.path == f"/{bucket}/{quote(key, safe='/~')}"
    assert client.execute(GetObject(bucket, key)).body == body
    assert client.execute(HeadObject(bucket, key)).size == len(body)
    listed = client.execute(ListObjectsV2(bucket, prefix=key))
    assert [o.key for o in listed.objects] == [key]
    assert listed.prefix == key
    client.execute(DeleteObject(bucket, key))
    assert client.execute(ListObjectsV2(bucket, prefix=key)).objects == []


def test_list_objects_pages_with_continuation_tokens(client: Client, bucket: str) -> None:
    sizes = {key: 10 + i for i, key in enumerate(KEYS)}
    for key, size in sizes.items():
        client.execute(PutObject(bucket, key, b"x" * size))
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = client.execute(ListObjectsV2(bucket, max_keys=3, continuation_token=token))
        pages += 1
        assert page.key_count == len(page.objects) <= 3
        for summary in page.objects:
            assert summary.size == sizes[summary.key]
            assert summary.etag == etag_of(b"x" * sizes[summary.key])
            assert summary.object_type == "Normal"
        seen += [o.key for o in page.objects]
        if not page.is_truncated:
            assert page.next_continuation_token == ""
            break
        assert page.next_continuation_token
        token = page.next_continuation_token
    assert pages == 3
    assert seen == sorted(KEYS, key=lambda k: k.encode())

    top = client.execute(ListObjectsV2(bucket, delimiter="/"))
    assert top.common_prefixes == ["dir/", "ünïcødé/"]
    assert "dir/sub dir/leaf" not in [o.key for o in top.objects]
    deeper = client.execute(ListObjectsV2(bucket, prefix="dir/", delimiter="/"))
    assert (deeper.objects, deeper.common_prefixes) == ([], ["dir/sub dir/"])
    after = client.execute(ListObjectsV2(bucket, start_after="tilde"))
    expected = ["tilde~and'quote\"s", "with space.txt", "ünïcødé/日本語 😀.bin"]
    assert [o.key for o in after.objects] == expected


# ---------------------------------------------------------------------------- multipart


def test_multipart_sequence(client: Client, bucket: str, transcript: Transcript) -> None:
    key = "video/2024/a+b c.mp4"
    started = client.execute(
        InitiateMultipartUpload(bucket, key, metadata={"owner": "Bob"}, content_type="video/mp4")
    )
    assert (started.bucket, started.key) == (bucket, key)
    upload_id = started.upload_id
    assert re.match(r"^[0-9A-F]{32}$", upload_id)
    empty = client.execute(ListParts(bucket, key, upload_id))
    assert (empty.parts, empty.is_truncated, empty.next_part_number_marker) == ([], False, 0)

    bodies = {1: data_of(PART, 11), 2: data_of(PART, 12), 3: data_of(1000, 13)}
    for number in (3, 1, 2):  # out of order
        result = client.execute(UploadPart(bucket, key, upload_id, number, bodies[number]))
        assert result.part_number == number
        assert result.etag == etag_of(bodies[number])
        assert result.crc64 == crc64(bodies[number])
        assert result.content_md5 == md5_b64(bodies[number])
    assert transcript.last.query == (("partNumber", "2"), ("uploadId", upload_id))

    bodies[2] = data_of(PART, 22)  # the later upload of a number wins
    again = client.execute(
        UploadPart(bucket, key, upload_id, 2, bodies[2], content_md5=md5_b64(bodies[2]))
    )
    assert again.etag == etag_of(bodies[2])

    listed = []
    marker: int | None = None
    while True:
        page = client.execute(
            ListParts(bucket, key, upload_id, max_parts=1, part_number_marker=marker)
        )
        listed += page.parts
        assert len(page.parts) == 1
        assert page.next_part_number_marker == page.parts[-1].part_number
        if not page.is_truncated:
            break
        marker = page.next_part_number_marker
    assert [p.part_number for p in listed] == [1, 2, 3]
    for part in listed:
        data = bodies[part.part_number]
        assert (part.etag, part.size, part.crc64) == (etag_of(data), len(data), crc64(data))

    whole = bodies[1] + bodies[2] + bodies[3]
    done = client.execute(
        CompleteMultipartUpload(
            bucket, key, upload_id, parts=[(n, etag_of(b)) for n, b in bodies.items()]
        )
    )
    assert done.etag == multipart_etag([etag_of(bodies[n]) for n in (1, 2, 3)])
    assert done.part_count == 3
    assert done.crc64 == crc64(whole)
    assert (done.bucket, done.key) == (bucket, key)

    got = client.execute(GetObject(bucket, key))
    assert got.body == whole
    assert got.info.object_type == "Multipart"
    assert got.info.content_type == "video/mp4"
    assert got.info.metadata == {"owner": "Bob"}
    assert got.info.content_md5 is None
    assert got.info.etag == done.etag

    gone = _error(lambda: client.execute(ListParts(bucket, key, upload_id)))
    check_error(gone, NoSuchUpload, 404)
    assert gone.details.get("UploadId") == upload_id
    assert "start a new one" in gone.hint
    again_abort = _error(lambda: client.execute(AbortMultipartUpload(bucket, key, upload_id)))
    assert isinstance(again_abort, NoSuchUpload)


def test_complete_all_uses_every_stored_part(client: Client, bucket: str) -> None:
    upload_id = client.execute(InitiateMultipartUpload(bucket, "all.bin")).upload_id
    first, last = data_of(PART, 31), data_of(777, 32)
    client.execute(UploadPart(bucket, "all.bin", upload_id, 2, last))
    client.execute(UploadPart(bucket, "all.bin", upload_id, 1, first))
    done = client.execute(CompleteMultipartUpload(bucket, "all.bin", upload_id, complete_all=True))
    assert done.etag == multipart_etag([etag_of(first), etag_of(last)])
    assert done.crc64 == crc64(first + last)
    assert client.execute(GetObject(bucket, "all.bin")).body == first + last


def test_complete_refuses_bad_part_lists(client: Client, bucket: str) -> None:
    upload_id = client.execute(InitiateMultipartUpload(bucket, "bad.bin")).upload_id
    small = data_of(1000, 41)
    client.execute(UploadPart(bucket, "bad.bin", upload_id, 1, small))
    client.execute(UploadPart(bucket, "bad.bin", upload_id, 2, small))
    wrong = _error(
        lambda: client.execute(
            CompleteMultipartUpload(bucket, "bad.bin", upload_id, parts=[(1, etag_of(b"other"))])
        )
    )
    check_error(wrong, InvalidPart, 400)
    too_small = _error(
        lambda: client.execute(
            CompleteMultipartUpload(
                bucket, "bad.bin", upload_id, parts=[(1, etag_of(small)), (2, etag_of(small))]
            )
        )
    )
    check_error(too_small, EntityTooSmall, 400)
    assert too_small.hint == "Every part but the last must be at least 100 KiB."
    # failed Completes leave the upload as it was
    assert len(client.execute(ListParts(bucket, "bad.bin", upload_id)).parts) == 2


def test_abort_deletes_the_upload(client: Client, bucket: str) -> None:
    upload_id = client.execute(InitiateMultipartUpload(bucket, "ab.bin")).upload_id
    client.execute(UploadPart(bucket, "ab.bin", upload_id, 1, b"data"))
    assert client.execute(AbortMultipartUpload(bucket, "ab.bin", upload_id)) is None
    for call in (
        lambda: client.execute(ListParts(bucket, "ab.bin", upload_id)),
        lambda: client.execute(UploadPart(bucket, "ab.bin", upload_id, 1, b"late")),
        lambda: client.execute(
            CompleteMultipartUpload(bucket, "ab.bin", upload_id, complete_all=True)
        ),
    ):
        check_error(_error(call), NoSuchUpload, 404)
    uploads = client.execute(ListMultipartUploads(bucket))
    assert upload_id not in [u.upload_id for u in uploads.uploads]
    assert _error(lambda: client.execute(GetObject(bucket, "ab.bin"))).error_code == "NoSuchKey"


def test_list_multipart_uploads_pages(client: Client, bucket: str) -> None:
    keys = ["a", "a", "b/c", "b/d", "e f", "ü"]
    expected = sorted(
        ((k, client.execute(InitiateMultipartUpload(bucket, k)).upload_id) for k in keys),
        key=lambda pair: (pair[0].encode(), pair[1]),
    )
    seen: list[tuple[str, str]] = []
    key_marker = upload_id_marker = ""
    pages = 0
    while True:
        page = client.execute(
            ListMultipartUploads(
                bucket, key_marker=key_marker, upload_id_marker=upload_id_marker, max_uploads=2
            )
        )
        pages += 1
        assert len(page.uploads) <= 2
        seen += [(u.key, u.upload_id) for u in page.uploads]
        if not page.is_truncated:
            break
        key_marker, upload_id_marker = page.next_key_marker, page.next_upload_id_marker
        assert (key_marker, upload_id_marker) == seen[-1]
    assert pages == 3
    assert seen == expected

    rolled = client.execute(ListMultipartUploads(bucket, delimiter="/"))
    assert rolled.common_prefixes == ["b/"]
    assert [u.key for u in rolled.uploads] == ["a", "a", "e f", "ü"]
    under = client.execute(ListMultipartUploads(bucket, prefix="b/"))
    assert [u.key for u in under.uploads] == ["b/c", "b/d"]


def test_upload_part_copy(client: Client, bucket: str, bucket_name: str) -> None:
    source_key = "src dir/ünï+source.bin"
    source = data_of(250_000, 51)
    client.execute(PutObject(bucket, source_key, source))
    upload_id = client.execute(InitiateMultipartUpload(bucket, "copy.bin")).upload_id
    one = client.execute(
        UploadPartCopy(bucket, "copy.bin", upload_id, 1, bucket, source_key, (0, PART - 1))
    )
    two = client.execute(
        UploadPartCopy(bucket, "copy.bin", upload_id, 2, bucket, source_key, (PART, 249_999))
    )
    assert one.etag == etag_of(source[:PART])
    assert two.etag == etag_of(source[PART:])
    parts = client.execute(ListParts(bucket, "copy.bin", upload_id)).parts
    assert [(p.size, p.crc64) for p in parts] == [
        (PART, crc64(source[:PART])),
        (250_000 - PART, crc64(source[PART:])),
    ]
    done = client.execute(
        CompleteMultipartUpload(bucket, "copy.bin", upload_id, parts=[(1, one.etag), (2, two.etag)])
    )
    assert done.crc64 == crc64(source)
    assert client.execute(GetObject(bucket, "copy.bin")).body == source

    whole_id = client.execute(InitiateMultipartUpload(bucket, "whole.bin")).upload_id
    whole = client.execute(UploadPartCopy(bucket, "whole.bin", whole_id, 1, bucket, source_key))
    assert whole.etag == etag_of(source)
    missing = _error(
        lambda: client.execute(
            UploadPartCopy(bucket, "whole.bin", whole_id, 2, bucket, "no such source")
        )
    )
    check_error(missing, NoSuchKey, 404)


# ---------------------------------------------------------------------------- addressing


def test_path_style_for_an_ip_endpoint(server: ServerHandle, bucket_name: str) -> None:
    seen = Transcript()
    with make_client(server, on_exchange=seen) as c:
        assert c.endpoint.path_style
        c.execute(PutBucket(bucket_name))
        c.execute(PutObject(bucket_name, "p/q r", b"path"))
    assert seen.last.host == f"127.0.0.1:{server.port}"
    assert seen.last.path == f"/{bucket_name}/p/q%20r"
    assert seen.last.request_headers["host"] == f"127.0.0.1:{server.port}"


@pytest.mark.parametrize("version", [4, 1], ids=["v4", "v1"])
def test_virtual_hosted_on_localhost(server: ServerHandle, bucket_name: str, version: int) -> None:
    seen = Transcript()
    endpoint = f"http://localhost:{server.port}"
    with make_client(server, version, endpoint=endpoint, path_style=False, on_exchange=seen) as c:
        assert not c.endpoint.path_style
        c.execute(PutBucket(bucket_name))
        assert (seen.last.host, seen.last.path) == (f"{bucket_name}.localhost:{server.port}", "/")
        body = data_of(PART, 61)
        put = c.execute(PutObject(bucket_name, "v h/ü+.bin", body))
        assert seen.last.path == "/v%20h/%C3%BC%2B.bin"
        assert seen.last.request_headers["host"] == f"{bucket_name}.localhost:{server.port}"
        assert c.execute(GetObject(bucket_name, "v h/ü+.bin")).body == body
        listed = c.execute(ListObjectsV2(bucket_name))
        assert [(o.key, o.etag) for o in listed.objects] == [("v h/ü+.bin", put.etag)]
        upload_id = c.execute(InitiateMultipartUpload(bucket_name, "mp")).upload_id
        part = c.execute(UploadPart(bucket_name, "mp", upload_id, 1, body))
        done = c.execute(CompleteMultipartUpload(bucket_name, "mp", upload_id, [(1, part.etag)]))
        assert done.crc64 == crc64(body)
        assert c.execute(GetBucketInfo(bucket_name)).name == bucket_name
    # the bucket really is the one the path-style client sees
    with make_client(server, version) as path_client:
        assert path_client.execute(GetObject(bucket_name, "mp")).body == body


def test_localhost_defaults_to_path_style() -> None:
    assert Endpoint.parse("http://localhost:9000").path_style
    assert Endpoint.parse("http://[::1]:9000").path_style
    assert not Endpoint.parse("oss-cn-hangzhou.aliyuncs.com").path_style
    # bucket.localhost is loopback (RFC 6761) even where the resolver does not know it
    local = Endpoint.parse("http://localhost:9000", path_style=False)
    assert local.connect_netloc("b.localhost:9000") == "localhost:9000"
    aliyun = Endpoint.parse("oss-cn-hangzhou.aliyuncs.com")
    host = "b.oss-cn-hangzhou.aliyuncs.com"
    assert aliyun.connect_netloc(host) == host
    assert (
        Endpoint.parse("oss-cn-hangzhou.aliyuncs.com").url == "https://oss-cn-hangzhou.aliyuncs.com"
    )


# -------------------------------------------------------------------------------- errors


def test_invalid_digest(client: Client, bucket: str) -> None:
    error = _error(
        lambda: client.execute(PutObject(bucket, "d", b"real body", content_md5=md5_b64(b"other")))
    )
    check_error(error, InvalidDigest, 400)
    assert "send the part again" in error.hint
    assert _error(lambda: client.execute(HeadObject(bucket, "d"))).error_code == "NoSuchKey"


def test_missing_bucket(client: Client, bucket_name: str) -> None:
    error = _error(lambda: client.execute(PutObject(bucket_name, "k", b"x")))
    check_error(error, NoSuchBucket, 404)
    assert error.details.get("BucketName") == bucket_name


def test_wrong_secret(server: ServerHandle, bucket_name: str, version: int) -> None:
    seen = Transcript()
    credentials = Credentials(server.access_key_id, "not-the-secret")
    with make_client(server, version, credentials=credentials, on_exchange=seen) as c:
        error = _error(lambda: c.execute(PutBucket(bucket_name)))
    check_error(error, SignatureDoesNotMatch, 403)
    assert "OSS_ACCESS_KEY_SECRET" in error.hint
    # the server signed the same text (only the key differs): the transcript shows it
    assert error.details.get("StringToSign") == seen.last.string_to_sign
    assert len(seen.exchanges) == 1, "a 403 is not retried"


def test_unknown_access_key(server: ServerHandle, bucket_name: str, version: int) -> None:
    credentials = Credentials("no-such-key-id", server.access_key_secret)
    with make_client(server, version, credentials=credentials) as c:
        error = _error(lambda: c.execute(PutBucket(bucket_name)))
    check_error(error, InvalidAccessKeyId, 403)
    assert error.hint == "Check OSS_ACCESS_KEY_ID."


@pytest.mark.parametrize("skew", [timedelta(minutes=-20), timedelta(hours=3)])
def test_clock_skew(server: ServerHandle, bucket_name: str, version: int, skew: timedelta) -> None:
    seen = Transcript()
    with make_client(
        server,
        version,
        clock=lambda: datetime.now(timezone.utc) + skew,
        on_exchange=seen,
        retry=RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.01),
    ) as c:
        error = _error(lambda: c.execute(PutBucket(bucket_name)))
    check_error(error, RequestTimeTooSkewed, 403)
    assert error.hint == "Fix this machine's clock."
    assert [e.attempt for e in seen.exchanges] == [1]


def test_every_service_error_is_typed() -> None:
    """The table and the classes agree, so ``except NoSuchUpload`` always works."""
    for code, spec in errors.ERROR_CODES.items():
        cls = errors.error_class(code)
        assert cls is not ServiceError and cls.code == code
        built = error_from_response(spec.status, {}, b"")
        assert built.status == spec.status


# ---------------------------------------------------------------------------- transcript


def test_transcript_shows_each_exchange(client: Client, bucket: str, version: int) -> None:
    seen = Transcript()
    client.add_listener(seen)
    body = b"transcript body"
    result = client.execute(PutObject(bucket, "t/x y.txt", body))
    client.remove_listener(seen)
    client.execute(HeadObject(bucket, "t/x y.txt"))
    assert len(seen.exchanges) == 1
    exchange = seen.last
    assert (exchange.operation, exchange.method, exchange.status) == ("PutObject", "PUT", 200)
    assert exchange.path == f"/{bucket}/t/x%20y.txt"
    assert exchange.attempt == 1 and exchange.error is None
    assert exchange.request_bytes == len(body)
    assert exchange.request_headers["content-length"] == str(len(body))
    assert exchange.request_headers["content-type"] == "text/plain"
    assert exchange.response_headers["etag"] == result.etag
    assert exchange.response_headers["x-oss-request-id"] == result.request_id
    assert exchange.response_headers["x-oss-hash-crc64ecma"] == str(crc64(body))
    assert exchange.elapsed > 0
    assert "PutObject: PUT" in exchange.summary() and "-> 200" in exchange.summary()
    auth = exchange.request_headers["authorization"]
    if version == 4:
        assert auth.startswith("OSS4-HMAC-SHA256 Credential=ossnb-dev-key/")
        assert re.search(r"Signature=[0-9a-f]{6}…$", auth)
        assert exchange.canonical_request is not None
        assert exchange.canonical_request.startswith(f"PUT\n/{bucket}/t/x%20y.txt\n\n")
        lines = exchange.string_to_sign.split("\n")
        assert lines[0] == "OSS4-HMAC-SHA256"
        assert lines[1] == exchange.request_headers["x-oss-date"]
        assert lines[3] == _sha256(exchange.canonical_request)
    else:
        assert re.match(r"^OSS ossnb-dev-key:.{6}…$", auth)
        assert exchange.canonical_request is None
        assert exchange.string_to_sign == (
            f"PUT\n\ntext/plain\n{exchange.request_headers['date']}\n/{bucket}/t/x y.txt"
        )


def test_transcript_masks_upload_query_and_errors(client: Client, bucket: str) -> None:
    seen = Transcript()
    client.add_listener(seen)
    upload_id = client.execute(InitiateMultipartUpload(bucket, "q")).upload_id
    client.execute(UploadPart(bucket, "q", upload_id, 7, b"seven"))
    _error(lambda: client.execute(GetObject(bucket, "missing")))
    initiate, upload, failed = seen.exchanges
    assert initiate.query == (("uploads", ""), ("encoding-type", "url"))
    assert initiate.target == f"/{bucket}/q?uploads&encoding-type=url"
    assert upload.query == (("partNumber", "7"), ("uploadId", upload_id))
    assert (failed.status, failed.error) == (404, "NoSuchKey")
    assert failed.response_headers["x-oss-ec"] == "0026-00000001"


def _everything_shown(exchanges: list[Exchange]) -> str:
    parts = []
    for e in exchanges:
        parts += [repr(e), e.summary(), e.target, e.string_to_sign, e.canonical_request or ""]
        parts += [f"{k}={v}" for k, v in e.request_headers.items()]
        parts += [f"{k}={v}" for k, v in e.response_headers.items()]
    return "\n".join(parts)


@pytest.mark.parametrize("secret_ok", [True, False], ids=["accepted", "bad-secret"])
def test_no_secret_or_token_anywhere(
    server: ServerHandle, bucket_name: str, version: int, secret_ok: bool
) -> None:
    secret = server.access_key_secret if secret_ok else "wrong-secret-value"
    credentials = Credentials(server.access_key_id, secret, security_token=TOKEN)
    seen = Transcript()
    shown: list[str] = []
    refused: list[ServiceError] = []
    with make_client(server, version, credentials=credentials, on_exchange=seen) as c:
        shown += [repr(c), str(c)]
        for call in (
            lambda: c.execute(PutBucket(bucket_name)),
            lambda: c.execute(PutObject(bucket_name, "k", b"body")),
            lambda: c.execute(GetObject(bucket_name, "missing")),
            lambda: c.execute(HeadObject(bucket_name, "missing")),
        ):
            try:
                call()
            except ServiceError as error:  # the emulator may refuse the token: fine
                refused.append(error)
                shown += [str(error), repr(error), error.message, repr(error.details)]
    assert len(seen.exchanges) == 4
    text = "\n".join(shown) + _everything_shown(seen.exchanges)
    hex_token = " ".join(f"{byte:02X}" for byte in TOKEN.encode())  # StringToSignBytes
    for value in {secret, TOKEN, quote(TOKEN, safe=""), quote(TOKEN), hex_token}:
        assert value not in text
    headers = [e.request_headers.get("x-oss-security-token") for e in seen.exchanges]
    assert headers == ["****"] * 4  # sent, but masked
    if version == 4:
        assert all(
            "x-oss-security-token:****" in (e.canonical_request or "") for e in seen.exchanges
        )
    else:
        assert all("x-oss-security-token:****" in e.string_to_sign for e in seen.exchanges)
    if not secret_ok:  # the bucket was not created: NoSuchBucket whatever the credentials
        assert [type(e) for e in refused] == [SignatureDoesNotMatch] + [NoSuchBucket] * 3
        if version == 4:  # the emulator echoes its CanonicalRequest, which lists the token
            echoed = refused[0].details["CanonicalRequest"]
            assert "x-oss-security-token:****" in echoed


# ------------------------------------------------------------------------------ presign


def _fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(
        url, data=data, method="PUT" if data is not None else "GET", headers=headers or {}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body: bytes = response.read()
        return body


def test_presigned_get_and_put(client: Client, bucket: str, version: int) -> None:
    body = data_of(5000, 71)
    client.execute(PutObject(bucket, "pre signed/ü+.bin", body))
    url = client.presign(GetObject(bucket, "pre signed/ü+.bin"), timedelta(minutes=5))
    if version == 4:
        assert "x-oss-signature-version=OSS4-HMAC-SHA256" in url and "x-oss-expires=300" in url
    else:
        assert "OSSAccessKeyId=ossnb-dev-key" in url and "Signature=" in url
    assert _fetch(url) == body

    upload = data_of(3000, 72)
    put_url = client.presign(PutObject(bucket, "uploaded.bin", b""))
    assert _fetch(put_url, upload, {"Content-Type": "application/octet-stream"}) == b""
    got = client.execute(GetObject(bucket, "uploaded.bin"))
    assert (got.body, got.info.etag) == (upload, etag_of(upload))


def test_expired_presigned_url(server: ServerHandle, bucket_name: str, version: int) -> None:
    with make_client(server, version) as c:
        c.execute(PutBucket(bucket_name))
        c.execute(PutObject(bucket_name, "old", b"old"))
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    with make_client(server, version, clock=lambda: past) as late:
        url = late.presign(GetObject(bucket_name, "old"), timedelta(hours=1))
    with pytest.raises(urllib.error.HTTPError) as info:
        _fetch(url)
    assert info.value.code == 403
    error = error_from_response(403, dict(info.value.headers.items()), info.value.read())
    check_error(error, AccessDenied, 403)
    assert "expired" in error.message.lower()


# -------------------------------------------------------------------------- concurrency


def _client_ports(server_port: int) -> set[int]:
    """Local ports of the client sockets to ``server_port``: open ones, and closed ones in
    TIME_WAIT (a client that did not reuse connections would leave those behind)."""
    close_wait = "08"  # a stale socket of some other test whose server had this port
    ports = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            local, remote, state = line.split()[1:4]
            if int(remote.rsplit(":", 1)[1], 16) == server_port and state != close_wait:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
def test_one_client_shared_by_eight_threads(
    server_factory: Callable[..., ServerHandle], bucket_name: str
) -> None:
    server = server_factory()
    # sockets of an earlier server that had this port number may linger in TIME_WAIT
    foreign = _client_ports(server.port)
    seen = Transcript()
    threads = 8
    with make_client(server, on_exchange=seen) as c:
        c.execute(PutBucket(bucket_name))
        upload_id = c.execute(InitiateMultipartUpload(bucket_name, "shared")).upload_id
        bodies = {n: data_of(PART if n < 48 else 999, n) for n in range(1, 49)}
        failures: list[BaseException] = []
        barrier = threading.Barrier(threads)

        def work(numbers: list[int]) -> None:
            try:
                barrier.wait(5)
                for n in numbers:
                    result = c.execute(UploadPart(bucket_name, "shared", upload_id, n, bodies[n]))
                    assert result.etag == etag_of(bodies[n])
            except BaseException as exc:  # reported below
                failures.append(exc)

        def run(numbers: list[int]) -> None:
            workers = [
                threading.Thread(target=work, args=(numbers[i::threads],)) for i in range(threads)
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join(30)
            assert not failures, failures

        run(list(range(1, 25)))
        first_ports = _client_ports(server.port) - foreign
        run(list(range(25, 49)))
        ports = _client_ports(server.port) - foreign

        parts = c.execute(ListParts(bucket_name, "shared", upload_id)).parts
        assert [(p.part_number, p.etag) for p in parts] == [
            (n, etag_of(b)) for n, b in sorted(bodies.items())
        ]
        done = c.execute(
            CompleteMultipartUpload(bucket_name, "shared", upload_id, complete_all=True)
        )
        assert done.crc64 == crc64(b"".join(bodies[n] for n in sorted(bodies)))
    assert len(seen.of("UploadPart")) == 48
    assert all(e.status == 200 and e.attempt == 1 for e in seen.of("UploadPart"))
    # 48 uploads from 8 threads went over at most 8 pooled connections, reused across rounds
    assert 1 <= len(first_ports) <= threads
    assert ports <= first_ports, (first_ports, ports)


def test_memoryview_body_without_progress_is_sent_whole(
    server: ServerHandle, bucket_name: str
) -> None:
    """A part body given as a memoryview (zero-copy slices of a file) goes out as bytes."""
    client = Client(
        server.endpoint,
        Credentials(server.access_key_id, server.access_key_secret),
        region=server.region,
    )
    data = os.urandom(300_000)
    client.execute(PutBucket(bucket_name))
    started = client.execute(InitiateMultipartUpload(bucket_name, "mv.bin"))
    result = client.execute(
        UploadPart(bucket_name, "mv.bin", started.upload_id, 1, memoryview(data))  # type: ignore[arg-type]
    )
    assert normalize_etag(result.etag) == md5_hex(data)
    assert result.crc64 == crc64(data)


def test_streamed_body_chunks_cross_h11_uncopied_and_a_missed_swap_fails_loudly() -> None:
    from ossnb.client import transport

    full = memoryview(bytearray(b"a" * (1024 * 1024)))
    short = memoryview(b"tail")
    assert transport.uncopied(full) is transport._STAND_IN  # h11 passes exact bytes through
    with pytest.raises(RuntimeError, match="copied"):
        transport.check_uncopied()  # the stand-in never reached the socket wrapper
    assert transport.uncopied(short) is short  # a short chunk travels as itself
    transport.check_uncopied()  # and nothing is pending


def test_an_h11_that_copies_body_chunks_fails_loudly_and_sends_nothing_wrong(
    client: Client, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stand-in relies on h11 passing one exact ``bytes`` object through. A future h11
    that copies it would put the stand-in's zeros on the wire: the write refuses first."""
    import h11

    real_send = h11.Connection.send

    def copying_send(self: h11.Connection, event: Any) -> bytes | None:
        # simulates an h11 that copies every body chunk (the installed one is pinned and
        # does not: a test of the real one is above); the real h11 does the rest
        if isinstance(event, h11.Data):
            event = h11.Data(data=bytes(bytearray(event.data)))
        return real_send(self, event)

    upload_id = client.execute(InitiateMultipartUpload(bucket, "pinned")).upload_id
    body = data_of(1024 * 1024, seed=13)  # exactly one full chunk: the whole body is a stand-in
    monkeypatch.setattr(h11.Connection, "send", copying_send)
    sent: list[int] = []
    with pytest.raises(RuntimeError, match="went through h11 copied"):
        client.execute(UploadPart(bucket, "pinned", upload_id, 1, body), progress=sent.append)
    monkeypatch.setattr(h11.Connection, "send", real_send)
    assert sent == [], "no byte of the chunk was reported sent"
    assert client.execute(ListParts(bucket, "pinned", upload_id)).parts == []
    # and with the real h11 the same call goes through, byte for byte
    result = client.execute(UploadPart(bucket, "pinned", upload_id, 1, body), progress=sent.append)
    assert normalize_etag(result.etag) == md5_hex(body) and result.crc64 == crc64(body)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_an_ipv6_endpoint_is_reached_and_addressed(
    server_factory: Callable[..., ServerHandle], bucket_name: str
) -> None:
    """``http://[::1]:port``: the connection goes to ``::1`` (no brackets), the Host
    header keeps them, and V4 and V1 both sign what the server sees."""
    server = server_factory("--host", "::1")
    assert server.endpoint.startswith("http://[::1]:")
    for version in (4, 1):
        with make_client(server, version) as c:
            c.execute(PutBucket(f"{bucket_name}-v{version}"))
            c.execute(PutObject(f"{bucket_name}-v{version}", "k", b"over IPv6"))
            got = c.execute(GetObject(f"{bucket_name}-v{version}", "k"))
            assert got.body == b"over IPv6"
