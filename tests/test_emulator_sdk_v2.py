"""alibabacloud-oss-v2 1.4.1, unchanged, against a running ``ossnb serve`` (V4 default, V1 opt-in).

Covers the calls users make, the SDK's Uploader/Downloader (they check CRC-64 end to
end), checkpoint resume after an injected failure, presigned URLs and the error cases,
each asserted as the SDK's own ``ServiceError`` code and status.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest
from conftest import ServerHandle

from ossnb.protocol.checksums import crc64

KIB = 1024
MIN_PART = 100 * KIB


def make_client(
    server: ServerHandle, version: str = "v4", secret: str | None = None, key_id: str | None = None
) -> oss.Client:
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        key_id or server.access_key_id, secret or server.access_key_secret
    )
    cfg.region = server.region
    cfg.endpoint = server.endpoint
    if version == "v1":
        cfg.signature_version = "v1"
    return oss.Client(cfg)


class Ctx:
    def __init__(self, client: oss.Client, bucket: str) -> None:
        self.client, self.bucket = client, bucket


@pytest.fixture(params=["v4", "v1"])
def ctx(request: pytest.FixtureRequest, server: ServerHandle, bucket_name: str) -> Ctx:
    client = make_client(server, request.param)
    client.put_bucket(oss.PutBucketRequest(bucket=bucket_name))
    return Ctx(client, bucket_name)


def service_error(
    excinfo: pytest.ExceptionInfo[oss.exceptions.OperationError],
) -> oss.exceptions.ServiceError:
    err = excinfo.value.unwrap()
    assert isinstance(err, oss.exceptions.ServiceError), err
    return err


def _md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


def test_bucket_info_and_location(ctx: Ctx) -> None:
    info = ctx.client.get_bucket_info(oss.GetBucketInfoRequest(bucket=ctx.bucket)).bucket_info
    assert info.name == ctx.bucket
    assert info.location == "oss-cn-hangzhou"
    assert info.storage_class == "Standard"
    assert info.creation_date is not None
    location = ctx.client.get_bucket_location(oss.GetBucketLocationRequest(bucket=ctx.bucket))
    assert location.location == "oss-cn-hangzhou"
    assert ctx.client.is_bucket_exist(ctx.bucket)


@pytest.mark.parametrize("key", ["plain", "dir/sub/with space.txt", "a+b%c&d=e", "ключ/ü 1"])
def test_put_get_head_delete(ctx: Ctx, key: str) -> None:
    c, b = ctx.client, ctx.bucket
    data = os.urandom(4096)
    put = c.put_object(oss.PutObjectRequest(bucket=b, key=key, body=data, metadata={"k": "v"}))
    assert put.etag == f'"{_md5_hex(data)}"'
    assert put.hash_crc64 == str(crc64(data))
    got = c.get_object(oss.GetObjectRequest(bucket=b, key=key))
    assert got.body.read() == data
    assert got.metadata == {"k": "v"}
    ranged = c.get_object(oss.GetObjectRequest(bucket=b, key=key, range_header="bytes=100-199"))
    assert ranged.content_range == "bytes 100-199/4096"
    assert ranged.body.read() == data[100:200]
    clamped = c.get_object(
        oss.GetObjectRequest(
            bucket=b, key=key, range_header="bytes=4000-9999", range_behavior="standard"
        )
    )
    assert clamped.body.read() == data[4000:]
    head = c.head_object(oss.HeadObjectRequest(bucket=b, key=key))
    assert head.content_length == 4096
    assert head.object_type == "Normal"
    assert head.hash_crc64 == str(crc64(data))
    assert c.is_object_exist(b, key)
    c.delete_object(oss.DeleteObjectRequest(bucket=b, key=key))
    assert not c.is_object_exist(b, key)


def test_list_objects_v2_paginator(ctx: Ctx) -> None:
    keys = sorted(["x/1", "x/2 two", "x/y/3", "x+plus", "top", "z z", "é/1"])
    for key in keys:
        ctx.client.put_object(oss.PutObjectRequest(bucket=ctx.bucket, key=key, body=b"."))
    paginator = ctx.client.list_objects_v2_paginator(limit=2)
    pages = list(paginator.iter_page(oss.ListObjectsV2Request(bucket=ctx.bucket)))
    assert len(pages) == 4
    assert [o.key for p in pages for o in p.contents or []] == keys
    nested = paginator.iter_page(
        oss.ListObjectsV2Request(bucket=ctx.bucket, prefix="x/", delimiter="/")
    )
    found = [
        (sorted(o.key for o in p.contents or []), [cp.prefix for cp in p.common_prefixes or []])
        for p in nested
    ]
    assert [k for keys_, _ in found for k in keys_] == ["x/1", "x/2 two"]
    assert [cp for _, cps in found for cp in cps] == ["x/y/"]


def test_multipart_by_hand(ctx: Ctx) -> None:
    c, b, key = ctx.client, ctx.bucket, "mp/v2 object+1"
    init = c.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=b, key=key))
    upload_id = init.upload_id
    assert init.key == key
    data = {1: os.urandom(MIN_PART), 2: os.urandom(MIN_PART), 3: os.urandom(123)}
    etags = {}
    for number in (2, 3, 1, 2):  # out of order, part 2 twice
        if number == 2 and number in etags:
            data[2] = os.urandom(MIN_PART + 1)
        res = c.upload_part(
            oss.UploadPartRequest(
                bucket=b, key=key, upload_id=upload_id, part_number=number, body=data[number]
            )
        )
        assert res.hash_crc64 == str(crc64(data[number]))
        etags[number] = res.etag
    paginator = c.list_parts_paginator(limit=1)
    pages = list(paginator.iter_page(oss.ListPartsRequest(bucket=b, key=key, upload_id=upload_id)))
    parts = [p for page in pages for p in page.parts or []]
    assert [p.part_number for p in parts] == [1, 2, 3]
    assert [p.etag for p in parts] == [etags[1], etags[2], etags[3]]
    assert [p.hash_crc64 for p in parts] == [str(crc64(data[n])) for n in (1, 2, 3)]
    done = c.complete_multipart_upload(
        oss.CompleteMultipartUploadRequest(
            bucket=b, key=key, upload_id=upload_id,
            complete_multipart_upload=oss.CompleteMultipartUpload(
                parts=[oss.UploadPart(part_number=n, etag=etags[n]) for n in (1, 2, 3)]
            ),
        )
    )  # fmt: skip
    whole = data[1] + data[2] + data[3]
    assert done.key == key
    assert done.etag.endswith('-3"')
    assert done.hash_crc64 == str(crc64(whole))
    assert c.get_object(oss.GetObjectRequest(bucket=b, key=key)).body.read() == whole


def test_complete_all_abort_and_uploads_listing(ctx: Ctx) -> None:
    c, b = ctx.client, ctx.bucket
    ids = []
    for key in ("u/a", "u/b", "u/b", "v"):
        ids.append(
            (
                key,
                c.initiate_multipart_upload(
                    oss.InitiateMultipartUploadRequest(bucket=b, key=key)
                ).upload_id,
            )
        )
    listed = [
        (u.key, u.upload_id)
        for page in c.list_multipart_uploads_paginator(limit=1).iter_page(
            oss.ListMultipartUploadsRequest(bucket=b)
        )
        for u in page.uploads or []
    ]
    assert listed == sorted(ids)
    key, upload_id = ids[0]
    c.upload_part(
        oss.UploadPartRequest(bucket=b, key=key, upload_id=upload_id, part_number=1, body=b"only")
    )
    done = c.complete_multipart_upload(
        oss.CompleteMultipartUploadRequest(
            bucket=b, key=key, upload_id=upload_id, complete_all="yes"
        )
    )
    assert done.etag.endswith('-1"')
    assert c.get_object(oss.GetObjectRequest(bucket=b, key=key)).body.read() == b"only"
    for key, upload_id in ids[1:]:
        c.abort_multipart_upload(
            oss.AbortMultipartUploadRequest(bucket=b, key=key, upload_id=upload_id)
        )
    with pytest.raises(oss.exceptions.OperationError) as excinfo:
        c.list_parts(oss.ListPartsRequest(bucket=b, key=ids[1][0], upload_id=ids[1][1]))
    err = service_error(excinfo)
    assert (err.status_code, err.code) == (404, "NoSuchUpload")


def test_upload_part_copy(ctx: Ctx) -> None:
    c, b = ctx.client, ctx.bucket
    source = os.urandom(MIN_PART * 2)
    c.put_object(oss.PutObjectRequest(bucket=b, key="src obj", body=source))
    upload_id = c.initiate_multipart_upload(
        oss.InitiateMultipartUploadRequest(bucket=b, key="dst")
    ).upload_id
    etags = []
    for number, (first, last) in enumerate([(0, MIN_PART - 1), (MIN_PART, 2 * MIN_PART - 1)], 1):
        res = c.upload_part_copy(
            oss.UploadPartCopyRequest(
                bucket=b, key="dst", upload_id=upload_id, part_number=number, source_bucket=b,
                source_key="src obj", source_range=f"bytes={first}-{last}",
            )
        )  # fmt: skip
        assert res.etag == f'"{_md5_hex(source[first : last + 1])}"'
        etags.append(res.etag)
    c.complete_multipart_upload(
        oss.CompleteMultipartUploadRequest(
            bucket=b, key="dst", upload_id=upload_id,
            complete_multipart_upload=oss.CompleteMultipartUpload(
                parts=[oss.UploadPart(part_number=n, etag=e) for n, e in enumerate(etags, 1)]
            ),
        )
    )  # fmt: skip
    assert c.get_object(oss.GetObjectRequest(bucket=b, key="dst")).body.read() == source


def test_uploader_and_downloader(ctx: Ctx, work_dir: Path) -> None:
    data = os.urandom(650 * KIB)
    src = work_dir / "src.bin"
    src.write_bytes(data)
    result = ctx.client.uploader(part_size=200 * KIB, parallel_num=3).upload_file(
        oss.PutObjectRequest(bucket=ctx.bucket, key="up/loaded.bin"), str(src)
    )
    assert result.etag.endswith('-4"')
    assert result.hash_crc64 == str(crc64(data))
    target = work_dir / "down.bin"
    ctx.client.downloader(part_size=150 * KIB, parallel_num=3).download_file(
        oss.GetObjectRequest(bucket=ctx.bucket, key="up/loaded.bin"), str(target)
    )
    assert target.read_bytes() == data


def test_uploader_resumes_from_checkpoint(
    server_factory: Callable[..., ServerHandle], bucket_name: str, work_dir: Path
) -> None:
    # v2 retries a 500 three times: fail the 3rd UploadPart on all three attempts.
    server = server_factory(
        "--verbose", "--bucket", bucket_name, "--fault", "UploadPart@3x3=error:500"
    )
    client = make_client(server)
    data = os.urandom(5 * MIN_PART + 77)
    src = work_dir / "src.bin"
    src.write_bytes(data)
    checkpoints = work_dir / "cp"
    checkpoints.mkdir()
    options = {"part_size": MIN_PART, "parallel_num": 1, "enable_checkpoint": True,
               "checkpoint_dir": f"{checkpoints}/"}  # fmt: skip
    request = oss.PutObjectRequest(bucket=bucket_name, key="resume.bin")
    with pytest.raises(oss.exceptions.BaseError):
        client.uploader(**options).upload_file(request, str(src))
    assert len(list(checkpoints.iterdir())) == 1
    result = client.uploader(**options).upload_file(request, str(src))
    assert result.hash_crc64 == str(crc64(data))
    assert (
        client.get_object(oss.GetObjectRequest(bucket=bucket_name, key="resume.bin")).body.read()
        == data
    )
    log = server.log()
    assert log.count("InitiateMultipartUpload") == 1  # the checkpoint's upload was resumed
    assert log.count(" ListParts ") == 1
    assert list(checkpoints.iterdir()) == []


@pytest.mark.parametrize("version", ["v4", "v1"])
def test_presigned_put_and_get(server: ServerHandle, bucket_name: str, version: str) -> None:
    client = make_client(server, version)
    client.put_bucket(oss.PutBucketRequest(bucket=bucket_name))
    data = os.urandom(1500)
    put = client.presign(oss.PutObjectRequest(bucket=bucket_name, key="pre signed/ü.bin"))
    parts = urllib.parse.urlsplit(put.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request(
        "PUT", f"{parts.path}?{parts.query}", body=data, headers=dict(put.signed_headers or {})
    )
    response = conn.getresponse()
    assert response.status == 200, response.read()
    response.read()
    get = client.presign(oss.GetObjectRequest(bucket=bucket_name, key="pre signed/ü.bin"))
    parts = urllib.parse.urlsplit(get.url)
    conn.request("GET", f"{parts.path}?{parts.query}")
    response = conn.getresponse()
    assert response.status == 200
    assert response.read() == data
    assert response.getheader("x-oss-hash-crc64ecma") == str(crc64(data))
    conn.close()


def test_error_cases(ctx: Ctx, server: ServerHandle) -> None:
    c, b = ctx.client, ctx.bucket

    def fails(call: Callable[[], object]) -> tuple[int, str]:
        with pytest.raises(oss.exceptions.OperationError) as excinfo:
            call()
        err = service_error(excinfo)
        assert err.request_id and err.ec
        return err.status_code, err.code

    bad_md5 = oss.PutObjectRequest(
        bucket=b, key="k", body=b"abc", content_md5="1B2M2Y8AsgTpgAmY7PhCfg=="
    )
    assert fails(lambda: c.put_object(bad_md5)) == (400, "InvalidDigest")
    upload_id = c.initiate_multipart_upload(
        oss.InitiateMultipartUploadRequest(bucket=b, key="e")
    ).upload_id
    etags = [
        c.upload_part(
            oss.UploadPartRequest(bucket=b, key="e", upload_id=upload_id, part_number=n, body=body)
        ).etag
        for n, body in ((1, b"a" * 100), (2, b"b" * 100))
    ]

    def complete(parts: list[tuple[int, str]]) -> object:
        return c.complete_multipart_upload(
            oss.CompleteMultipartUploadRequest(
                bucket=b, key="e", upload_id=upload_id,
                complete_multipart_upload=oss.CompleteMultipartUpload(
                    parts=[oss.UploadPart(part_number=n, etag=e) for n, e in parts]
                ),
            )
        )  # fmt: skip

    assert fails(lambda: complete([(1, etags[0]), (2, etags[1])])) == (400, "EntityTooSmall")
    assert fails(lambda: complete([(2, etags[1]), (1, etags[0])])) == (400, "InvalidPartOrder")
    assert fails(lambda: complete([(1, etags[1])])) == (400, "InvalidPart")
    assert fails(lambda: complete([(3, etags[0])])) == (400, "InvalidPart")
    no_upload = oss.ListPartsRequest(bucket=b, key="e", upload_id="F" * 32)
    assert fails(lambda: c.list_parts(no_upload)) == (404, "NoSuchUpload")
    assert fails(lambda: c.head_object(oss.HeadObjectRequest(bucket=b, key="nope"))) == (
        404,
        "NoSuchKey",
    )
    assert fails(lambda: c.get_object(oss.GetObjectRequest(bucket=b, key="nope"))) == (
        404,
        "NoSuchKey",
    )
    missing = oss.GetBucketInfoRequest(bucket="no-such-bucket-v2")
    assert fails(lambda: c.get_bucket_info(missing)) == (404, "NoSuchBucket")
    info = oss.GetBucketInfoRequest(bucket=b)
    wrong = make_client(server, secret="wrong-secret")
    assert fails(lambda: wrong.get_bucket_info(info)) == (403, "SignatureDoesNotMatch")
    stranger = make_client(server, key_id="nobody")
    assert fails(lambda: stranger.get_bucket_info(info)) == (403, "InvalidAccessKeyId")
