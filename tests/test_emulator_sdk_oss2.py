"""oss2 2.19.1, unchanged, against a running ``ossnb serve`` (V1 ``Auth`` and V4 ``AuthV4``).

The official SDK is the test of fidelity (docs/ARCHITECTURE.md §4): every call here is one a user
would make against real OSS, and every error is asserted as oss2's own exception.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import oss2
import pytest
from conftest import ServerHandle

from ossnb.protocol.checksums import crc64, multipart_etag

KIB = 1024
MIN_PART = 100 * KIB


def make_bucket(
    server: ServerHandle, name: str, version: str, secret: str | None = None
) -> oss2.Bucket:
    key_id, key_secret = server.access_key_id, secret or server.access_key_secret
    if version == "v4":
        auth = oss2.AuthV4(key_id, key_secret)
        return oss2.Bucket(auth, server.endpoint, name, region=server.region)
    return oss2.Bucket(oss2.Auth(key_id, key_secret), server.endpoint, name)


@pytest.fixture(params=["v1", "v4"])
def bucket(request: pytest.FixtureRequest, server: ServerHandle, bucket_name: str) -> oss2.Bucket:
    b = make_bucket(server, bucket_name, request.param)
    b.create_bucket()
    return b


def _md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


# -- buckets and objects ------------------------------------------------------------


def test_bucket_create_info_delete(bucket: oss2.Bucket) -> None:
    info = bucket.get_bucket_info()
    assert info.name == bucket.bucket_name
    assert info.location == "oss-cn-hangzhou"
    assert info.storage_class == "Standard"
    assert info.acl.grant == "private"
    bucket.create_bucket()  # same settings again: idempotent
    bucket.put_object("x", b"1")
    with pytest.raises(oss2.exceptions.BucketNotEmpty) as err:
        bucket.delete_bucket()
    assert err.value.status == 409
    bucket.delete_object("x")
    bucket.delete_bucket()
    with pytest.raises(oss2.exceptions.NoSuchBucket) as missing:
        bucket.get_bucket_info()
    assert missing.value.status == 404
    assert missing.value.details["BucketName"] == bucket.bucket_name


KEYS = ["plain.txt", "dir/with space.txt", "a+b=c&d;e.bin", "unicode/日本語 ü.txt", "deep/er/x~y%z"]


@pytest.mark.parametrize("key", KEYS)
def test_put_get_head_delete(bucket: oss2.Bucket, key: str) -> None:
    data = os.urandom(3000)
    put = bucket.put_object(key, data, headers={"x-oss-meta-Color": "blue"})
    assert put.etag == _md5_hex(data)
    assert put.crc == crc64(data)
    assert bucket.get_object(key).read() == data
    head = bucket.head_object(key)
    assert head.content_length == 3000
    assert head.etag == _md5_hex(data)
    assert head.object_type == "Normal"
    assert head.server_crc == crc64(data)
    assert head.headers["x-oss-meta-color"] == "blue"
    assert bucket.object_exists(key)
    bucket.delete_object(key)
    bucket.delete_object(key)  # deleting a missing key is still 204
    with pytest.raises(oss2.exceptions.NoSuchKey) as err:
        bucket.head_object(key)
    assert err.value.status == 404
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object(key)


def test_ranged_get_and_oss_range_quirk(bucket: oss2.Bucket) -> None:
    data = bytes(range(256)) * 4  # 1024 bytes
    bucket.put_object("r.bin", data)
    part = bucket.get_object("r.bin", byte_range=(10, 19))
    assert part.status == 206
    assert part.read() == data[10:20]
    assert part.headers["Content-Range"] == "bytes 10-19/1024"
    tail = bucket.get_object("r.bin", byte_range=(None, 24))
    assert tail.read() == data[-24:]
    beyond = bucket.get_object("r.bin", byte_range=(500, 2000))  # OSS ignores it: whole object
    assert beyond.status == 200 and beyond.read() == data
    standard = bucket.get_object(
        "r.bin", byte_range=(500, 2000), headers={"x-oss-range-behavior": "standard"}
    )
    assert standard.status == 206 and standard.read() == data[500:]
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.get_object(
            "r.bin", byte_range=(1024, 2000), headers={"x-oss-range-behavior": "standard"}
        )
    assert (err.value.status, err.value.code) == (416, "InvalidRange")


def test_conditional_get(bucket: oss2.Bucket) -> None:
    put = bucket.put_object("c.txt", b"conditional")
    assert bucket.get_object("c.txt", headers={"If-Match": put.etag}).read() == b"conditional"
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object("c.txt", headers={"If-Match": '"0000"'})
    with pytest.raises(oss2.exceptions.NotModified):
        bucket.get_object("c.txt", headers={"If-None-Match": f'"{put.etag}"'})


def test_listing_prefix_delimiter_paging(bucket: oss2.Bucket) -> None:
    keys = sorted(
        ["a.txt", "b/1", "b/2", "b/c/3", "with space/k 1", "with space/k+2", "plus+dir/x",
         "ü/1", "z"]
    )  # fmt: skip
    for key in keys:
        bucket.put_object(key, b"")
    assert [o.key for o in oss2.ObjectIteratorV2(bucket, max_keys=2)] == keys
    assert [o.key for o in oss2.ObjectIterator(bucket, max_keys=3)] == keys
    top = list(oss2.ObjectIteratorV2(bucket, delimiter="/", max_keys=2))
    assert [o.key for o in top] == ["a.txt", "b/", "plus+dir/", "with space/", "z", "ü/"]
    assert [o.is_prefix() for o in top] == [False, True, True, True, False, True]
    assert [o.key for o in oss2.ObjectIteratorV2(bucket, prefix="with space/")] == [
        "with space/k 1",
        "with space/k+2",
    ]
    under_b = list(oss2.ObjectIteratorV2(bucket, prefix="b/", delimiter="/"))
    assert [o.key for o in under_b] == ["b/1", "b/2", "b/c/"]
    page = bucket.list_objects_v2(start_after="b/2", max_keys=2)
    assert [o.key for o in page.object_list] == ["b/c/3", "plus+dir/x"]
    assert page.is_truncated
    page2 = bucket.list_objects_v2(continuation_token=page.next_continuation_token, max_keys=100)
    assert [o.key for o in page2.object_list] == ["with space/k 1", "with space/k+2", "z", "ü/1"]
    assert not page2.is_truncated


# -- multipart by hand --------------------------------------------------------------


def test_multipart_by_hand(bucket: oss2.Bucket) -> None:
    key = "multi/part file+1.bin"
    parts_data = {1: os.urandom(MIN_PART), 2: os.urandom(MIN_PART + 7), 3: os.urandom(999)}
    upload_id = bucket.init_multipart_upload(key, headers={"Content-Type": "text/x-test"}).upload_id
    assert len(upload_id) == 32 and upload_id.isupper()
    results = {}
    for number in (3, 1, 2):  # out of order
        results[number] = bucket.upload_part(key, upload_id, number, parts_data[number])
        assert results[number].crc == crc64(parts_data[number])
    parts_data[2] = os.urandom(MIN_PART + 11)  # overwrite part 2
    results[2] = bucket.upload_part(key, upload_id, 2, parts_data[2])
    listed = list(oss2.PartIterator(bucket, key, upload_id, max_parts=1))
    assert [p.part_number for p in listed] == [1, 2, 3]
    assert [p.size for p in listed] == [len(parts_data[n]) for n in (1, 2, 3)]
    assert [p.etag for p in listed] == [_md5_hex(parts_data[n]) for n in (1, 2, 3)]
    infos = [oss2.models.PartInfo(n, results[n].etag) for n in (1, 2, 3)]
    done = bucket.complete_multipart_upload(key, upload_id, infos)
    whole = parts_data[1] + parts_data[2] + parts_data[3]
    assert done.etag == multipart_etag(results[n].etag for n in (1, 2, 3)).strip('"')
    assert done.etag.endswith("-3")
    assert done.crc == crc64(whole)
    assert bucket.get_object(key).read() == whole
    head = bucket.head_object(key)
    assert head.object_type == "Multipart"
    assert head.content_type == "text/x-test"
    assert "Content-MD5" not in head.headers
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.complete_multipart_upload(key, upload_id, infos)


def test_complete_all(bucket: oss2.Bucket) -> None:
    upload_id = bucket.init_multipart_upload("all.bin").upload_id
    first, second = os.urandom(MIN_PART), os.urandom(10)
    bucket.upload_part("all.bin", upload_id, 2, second)
    bucket.upload_part("all.bin", upload_id, 1, first)
    done = bucket.complete_multipart_upload(
        "all.bin", upload_id, None, headers={"x-oss-complete-all": "yes"}
    )
    assert done.etag.endswith("-2")
    assert bucket.get_object("all.bin").read() == first + second


def test_abort_then_no_such_upload(bucket: oss2.Bucket) -> None:
    upload_id = bucket.init_multipart_upload("gone.bin").upload_id
    bucket.upload_part("gone.bin", upload_id, 1, b"x" * 10)
    bucket.abort_multipart_upload("gone.bin", upload_id)
    for call in (
        lambda: bucket.list_parts("gone.bin", upload_id),
        lambda: bucket.upload_part("gone.bin", upload_id, 2, b"y"),
        lambda: bucket.abort_multipart_upload("gone.bin", upload_id),
        lambda: bucket.complete_multipart_upload(
            "gone.bin", upload_id, [oss2.models.PartInfo(1, "0" * 32)]
        ),
    ):
        with pytest.raises(oss2.exceptions.NoSuchUpload) as err:
            call()
        assert err.value.status == 404
        assert err.value.details["UploadId"] == upload_id


def test_list_multipart_uploads(bucket: oss2.Bucket) -> None:
    keys = ["d/a", "d/a", "d/b", "e/1", "top", "with space"]
    ids = sorted((k, bucket.init_multipart_upload(k).upload_id) for k in keys)
    found = [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(bucket, max_uploads=2)]
    assert found == ids
    top = list(oss2.MultipartUploadIterator(bucket, delimiter="/", max_uploads=1))
    assert [(u.key, u.is_prefix()) for u in top] == [
        ("d/", True), ("e/", True), ("top", False), ("with space", False)
    ]  # fmt: skip
    assert [u.key for u in oss2.MultipartUploadIterator(bucket, prefix="d/")] == [
        "d/a",
        "d/a",
        "d/b",
    ]
    for key, upload_id in ids:
        bucket.abort_multipart_upload(key, upload_id)
    assert list(oss2.MultipartUploadIterator(bucket)) == []


def test_upload_part_copy(bucket: oss2.Bucket) -> None:
    source = os.urandom(MIN_PART + 5000)
    bucket.put_object("src/object one", source)
    upload_id = bucket.init_multipart_upload("copy.bin").upload_id
    first = bucket.upload_part_copy(
        bucket.bucket_name, "src/object one", (0, MIN_PART - 1), "copy.bin", upload_id, 1
    )
    assert first.etag == _md5_hex(source[:MIN_PART])
    second = bucket.upload_part_copy(
        bucket.bucket_name, "src/object one", (MIN_PART, len(source) - 1), "copy.bin", upload_id, 2
    )
    parts = [oss2.models.PartInfo(1, first.etag), oss2.models.PartInfo(2, second.etag)]
    bucket.complete_multipart_upload("copy.bin", upload_id, parts)
    assert bucket.get_object("copy.bin").read() == source


# -- the SDK's own resumable helpers ------------------------------------------------


def test_resumable_upload_and_download(bucket: oss2.Bucket, work_dir: Path) -> None:
    data = os.urandom(550 * KIB)
    src = work_dir / "src.bin"
    src.write_bytes(data)
    store = oss2.ResumableStore(root=str(work_dir))
    result = oss2.resumable_upload(
        bucket, "resumable.bin", str(src), store=store, multipart_threshold=MIN_PART,
        part_size=MIN_PART, num_threads=3,
    )  # fmt: skip
    assert result.etag.endswith("-6")
    assert bucket.get_object("resumable.bin").read() == data
    target = work_dir / "down.bin"
    oss2.resumable_download(
        bucket, "resumable.bin", str(target), multiget_threshold=MIN_PART, part_size=MIN_PART,
        num_threads=3, store=oss2.ResumableDownloadStore(root=str(work_dir)),
    )  # fmt: skip
    assert target.read_bytes() == data


@pytest.mark.parametrize("fault", ["error:500", "drop"])
def test_resumable_upload_resumes_after_fault(
    server_factory: Callable[..., ServerHandle], bucket_name: str, work_dir: Path, fault: str
) -> None:
    server = server_factory(
        "--verbose", "--bucket", bucket_name, "--fault", f"UploadPart@3={fault}"
    )
    bucket = make_bucket(server, bucket_name, "v4")
    data = os.urandom(450 * KIB)
    src = work_dir / "src.bin"
    src.write_bytes(data)
    store = oss2.ResumableStore(root=str(work_dir))
    kwargs = {
        "store": store,
        "multipart_threshold": MIN_PART,
        "part_size": MIN_PART,
        "num_threads": 1,
    }
    with pytest.raises((oss2.exceptions.ServerError, oss2.exceptions.RequestError)):
        oss2.resumable_upload(bucket, "resume.bin", str(src), **kwargs)
    uploads = list(oss2.MultipartUploadIterator(bucket))
    assert len(uploads) == 1
    assert [
        p.part_number for p in oss2.PartIterator(bucket, "resume.bin", uploads[0].upload_id)
    ] == [1, 2]
    oss2.resumable_upload(bucket, "resume.bin", str(src), **kwargs)
    assert bucket.get_object("resume.bin").read() == data
    assert list(oss2.MultipartUploadIterator(bucket)) == []
    assert server.log().count("InitiateMultipartUpload") == 1  # resumed, not restarted


# -- presigned URLs -----------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_presigned_put_and_get(server: ServerHandle, bucket_name: str, version: str) -> None:
    bucket = make_bucket(server, bucket_name, version)
    bucket.create_bucket()
    data = os.urandom(2048)
    put_url = bucket.sign_url("PUT", "pre/signed obj.bin", 60)
    parts = urllib.parse.urlsplit(put_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("PUT", f"{parts.path}?{parts.query}", body=data)
    response = conn.getresponse()
    assert response.status == 200, response.read()
    assert response.getheader("ETag") == f'"{_md5_hex(data)}"'
    conn.close()
    get_url = bucket.sign_url("GET", "pre/signed obj.bin", 60)
    with urllib.request.urlopen(get_url, timeout=10) as got:
        assert got.read() == data
    if version == "v1":  # V1 URLs carry an absolute expiry: one in the past is refused
        expired = bucket.sign_url("GET", "pre/signed obj.bin", -10)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(expired, timeout=10)
        assert err.value.code == 403
        assert b"<Code>AccessDenied</Code>" in err.value.read()


# -- errors, each as oss2's own exception -------------------------------------------


def test_error_cases(bucket: oss2.Bucket, server: ServerHandle) -> None:
    with pytest.raises(oss2.exceptions.InvalidDigest) as digest:
        bucket.put_object("d.bin", b"data", headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="})
    assert digest.value.status == 400
    upload_id = bucket.init_multipart_upload("e.bin").upload_id
    small = bucket.upload_part("e.bin", upload_id, 1, b"a" * 1000)
    last = bucket.upload_part("e.bin", upload_id, 2, b"b" * 10)
    with pytest.raises(oss2.exceptions.ServerError) as too_small:
        bucket.complete_multipart_upload(
            "e.bin", upload_id,
            [oss2.models.PartInfo(1, small.etag), oss2.models.PartInfo(2, last.etag)],
        )  # fmt: skip
    assert (too_small.value.status, too_small.value.code) == (400, "EntityTooSmall")
    with pytest.raises(oss2.exceptions.ServerError) as invalid_part:
        bucket.complete_multipart_upload("e.bin", upload_id, [oss2.models.PartInfo(1, "F" * 32)])
    assert (invalid_part.value.status, invalid_part.value.code) == (400, "InvalidPart")
    with pytest.raises(oss2.exceptions.ServerError) as order:
        bucket.complete_multipart_upload(
            "e.bin", upload_id, [oss2.models.PartInfo(1, small.etag)] * 2
        )
    assert (order.value.status, order.value.code) == (400, "InvalidPartOrder")
    with pytest.raises(oss2.exceptions.InvalidArgument) as bad_number:
        bucket.upload_part("e.bin", upload_id, 10001, b"x")
    assert bad_number.value.details["ArgumentName"] == "PartNumber"
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.upload_part("e.bin", "0" * 32, 1, b"x")
    with pytest.raises(oss2.exceptions.NoSuchKey) as head:
        bucket.head_object("missing")
    assert head.value.status == 404 and head.value.request_id
    version = "v4" if isinstance(bucket.auth, oss2.AuthV4) else "v1"
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        make_bucket(server, "no-such-bucket-here", version).get_object("k")
    wrong = make_bucket(server, bucket.bucket_name, version, secret="not-the-secret")
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as sig:
        wrong.get_object("anything")
    assert sig.value.status == 403
    stranger = oss2.Bucket(oss2.Auth("unknown-key", "x"), server.endpoint, bucket.bucket_name)
    with pytest.raises(oss2.exceptions.ServerError) as unknown:
        stranger.get_bucket_info()
    assert (unknown.value.status, unknown.value.code) == (403, "InvalidAccessKeyId")
    with pytest.raises(oss2.exceptions.ServerError) as forbid:
        bucket.put_object("d.bin", b"1")
        bucket.put_object("d.bin", b"2", headers={"x-oss-forbid-overwrite": "true"})
    assert (forbid.value.status, forbid.value.code) == (409, "FileAlreadyExists")
