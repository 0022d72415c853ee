"""Request building and result parsing of every operation (docs/PROTOCOL.md §2), without a network."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone

import pytest

from ossnb.protocol import operations as ops
from ossnb.protocol.checksums import EMPTY_MD5_B64, md5_b64
from ossnb.protocol.errors import ResponseError, UsageError
from ossnb.protocol.http import Request, Response
from ossnb.protocol.models import (
    BucketInfo,
    CompleteResult,
    GetObjectResult,
    InitiateResult,
    ObjectInfo,
    PutObjectResult,
    UploadPartResult,
)

EMPTY = {"content-md5": EMPTY_MD5_B64}
UPLOAD_ID = "0004B9894A22E5B1888A1E29F8230000"
UTC = timezone.utc


def ok(headers: dict[str, str] | None = None, body: bytes = b"", status: int = 200) -> Response:
    base = {"x-oss-request-id": "566B6BEB1BA604C27DD43805"}
    return Response(status, {**base, **(headers or {})}, body)


# ------------------------------------------------------------------------- the interface


ALL_OPERATIONS: list[ops.Operation[object]] = [
    ops.PutBucket("bkt"),
    ops.DeleteBucket("bkt"),
    ops.GetBucketInfo("bkt"),
    ops.PutObject("bkt", "k", b"x"),
    ops.GetObject("bkt", "k"),
    ops.HeadObject("bkt", "k"),
    ops.DeleteObject("bkt", "k"),
    ops.ListObjectsV2("bkt"),
    ops.InitiateMultipartUpload("bkt", "k"),
    ops.UploadPart("bkt", "k", UPLOAD_ID, 1, b"x"),
    ops.UploadPartCopy("bkt", "k", UPLOAD_ID, 1, "src", "s"),
    ops.CompleteMultipartUpload("bkt", "k", UPLOAD_ID, [(1, '"A"')]),
    ops.AbortMultipartUpload("bkt", "k", UPLOAD_ID),
    ops.ListMultipartUploads("bkt"),
    ops.ListParts("bkt", "k", UPLOAD_ID),
]


@pytest.mark.parametrize("op", ALL_OPERATIONS, ids=lambda op: op.name)
def test_every_operation_has_a_name_and_builds_a_request(op: ops.Operation[object]) -> None:
    assert op.name == type(op).__name__
    request = op.to_request()
    assert isinstance(request, Request)
    assert request.bucket == "bkt"
    assert all(name == name.lower() for name in request.headers)


@pytest.mark.parametrize("op", ALL_OPERATIONS, ids=lambda op: op.name)
def test_operations_are_frozen(op: ops.Operation[object]) -> None:
    with pytest.raises(AttributeError):
        op.bucket = "other"  # type: ignore[attr-defined]


def test_body_is_not_in_the_repr() -> None:
    assert "xxxx" not in repr(ops.PutObject("bkt", "k", b"x" * 100))
    assert "xxxx" not in repr(ops.UploadPart("bkt", "k", UPLOAD_ID, 1, b"x" * 100))


def test_caller_mappings_are_copied() -> None:
    metadata = {"a": "1"}
    op = ops.PutObject("bkt", "k", b"", metadata=metadata)
    metadata["b"] = "2"
    assert "x-oss-meta-b" not in op.to_request().headers


def test_public_names() -> None:
    for name in ops.__all__:
        assert hasattr(ops, name), name
    assert ops.__all__ == sorted(ops.__all__, key=lambda n: (not n.isupper(), n))


# ------------------------------------------------------------------------------- buckets


def test_put_bucket_plain() -> None:
    assert ops.PutBucket("bkt").to_request() == Request(
        "PUT", "bkt", None, (), {"content-type": "application/xml", **EMPTY}, b""
    )


def test_put_bucket_with_acl_and_storage_class() -> None:
    request = ops.PutBucket("bkt", acl="private", storage_class="IA").to_request()
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<CreateBucketConfiguration><StorageClass>IA</StorageClass></CreateBucketConfiguration>"
    )
    assert request == Request(
        "PUT",
        "bkt",
        headers={
            "content-type": "application/xml",
            "content-md5": md5_b64(body),
            "x-oss-acl": "private",
        },
        body=body,
    )
    ops.PutBucket("bkt").parse(ok())


@pytest.mark.parametrize("kwargs", [{"acl": "public"}, {"storage_class": "standard"}])
def test_put_bucket_refuses_unknown_values(kwargs: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        ops.PutBucket("bkt", **kwargs)


def test_delete_bucket() -> None:
    assert ops.DeleteBucket("bkt").to_request() == Request(
        "DELETE", "bkt", headers={"content-type": "application/xml", **EMPTY}
    )
    ops.DeleteBucket("bkt").parse(ok(status=204))


def test_get_bucket_info_request() -> None:
    assert ops.GetBucketInfo("bkt").to_request() == Request(
        "GET", "bkt", query=(("bucketInfo", ""),), headers=EMPTY
    )


def test_get_bucket_info_parse() -> None:
    body = b"""<BucketInfo><Bucket>
      <CreationDate>2013-07-31T10:56:21.000Z</CreationDate>
      <ExtranetEndpoint>oss-cn-hangzhou.aliyuncs.com</ExtranetEndpoint>
      <IntranetEndpoint>oss-cn-hangzhou-internal.aliyuncs.com</IntranetEndpoint>
      <Location>oss-cn-hangzhou</Location><StorageClass>Standard</StorageClass>
      <DataRedundancyType>LRS</DataRedundancyType><Name>bkt</Name>
      <Owner><DisplayName>1</DisplayName><ID>1</ID></Owner>
      <AccessControlList><Grant>private</Grant></AccessControlList></Bucket></BucketInfo>"""
    assert ops.GetBucketInfo("bkt").parse(ok(body=body)) == BucketInfo(
        name="bkt",
        location="oss-cn-hangzhou",
        creation_date=datetime(2013, 7, 31, 10, 56, 21, tzinfo=UTC),
        storage_class="Standard",
        extranet_endpoint="oss-cn-hangzhou.aliyuncs.com",
        intranet_endpoint="oss-cn-hangzhou-internal.aliyuncs.com",
        acl="private",
        data_redundancy_type="LRS",
    )


def test_get_bucket_info_without_bucket_element() -> None:
    with pytest.raises(ResponseError, match="<Bucket>"):
        ops.GetBucketInfo("bkt").parse(ok(body=b"<BucketInfo/>"))


# ------------------------------------------------------------------------------- objects


def test_put_object_minimal_guesses_content_type() -> None:
    request = ops.PutObject("bkt", "dir/a b.csv", b"1,2\n").to_request()
    assert request == Request(
        "PUT", "bkt", "dir/a b.csv", (), {"content-type": "text/csv"}, b"1,2\n"
    )
    assert request.path == "/bkt/dir/a%20b.csv"


def test_put_object_all_inputs() -> None:
    md5 = md5_b64(b"data")
    op = ops.PutObject(
        "bkt",
        "k.bin",
        b"data",
        content_type="application/x-thing",
        content_md5=md5,
        metadata={"Owner": "me", "run": "7"},
        forbid_overwrite=True,
        headers={"Cache-Control": "no-cache", "Content-Type": "ignored/explicit-wins"},
    )
    assert op.to_request().headers == {
        "cache-control": "no-cache",
        "content-type": "application/x-thing",
        "x-oss-meta-owner": "me",
        "x-oss-meta-run": "7",
        "x-oss-forbid-overwrite": "true",
        "content-md5": md5,
    }


def test_put_object_content_type_from_headers_when_not_given() -> None:
    op = ops.PutObject("bkt", "k.csv", b"", headers={"Content-Type": "text/x-mine"})
    assert op.to_request().headers["content-type"] == "text/x-mine"


def test_put_object_default_content_type() -> None:
    assert ops.PutObject("bkt", "noext", b"").to_request().headers == {
        "content-type": "application/octet-stream"
    }


def test_put_object_parse() -> None:
    response = ok(
        {
            "etag": '"5D41402ABC4B2A76B9719D911017C592"',
            "x-oss-hash-crc64ecma": "14897370096125855628",
            "content-md5": "XUFAKrxLKna5cZ2REBfFkg==",
        }
    )
    assert ops.PutObject("bkt", "k", b"hello").parse(response) == PutObjectResult(
        etag='"5D41402ABC4B2A76B9719D911017C592"',
        crc64=14897370096125855628,
        request_id="566B6BEB1BA604C27DD43805",
        content_md5="XUFAKrxLKna5cZ2REBfFkg==",
    )


def test_put_object_parse_without_crc() -> None:
    result = ops.PutObject("bkt", "k", b"").parse(
        ok({"etag": '"D41D8CD98F00B204E9800998ECF8427E"'})
    )
    assert result.crc64 is None


def test_put_object_parse_requires_etag() -> None:
    with pytest.raises(ResponseError, match="etag"):
        ops.PutObject("bkt", "k", b"").parse(ok())


@pytest.mark.parametrize("crc", ["-1", "abc", "18446744073709551616", "1.5"])
def test_bad_crc_header_is_a_response_error(crc: str) -> None:
    with pytest.raises(ResponseError, match="crc64"):
        ops.PutObject("bkt", "k", b"").parse(ok({"etag": '"X"', "x-oss-hash-crc64ecma": crc}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"content_md5": "not base64!"}, "content_md5"),
        ({"content_md5": base64.b64encode(b"short").decode()}, "16-byte"),
        ({"metadata": {"bad name": "v"}}, "metadata name"),
        ({"metadata": {"": "v"}}, "metadata name"),
        ({"metadata": {"a": "x", "A": "y"}}, "twice"),
        ({"metadata": {"a": "caf\u00e9"}}, "ASCII"),
        ({"metadata": {"a": "line\r\nx-oss-acl: public-read"}}, "ASCII"),
        ({"headers": {"Authorization": "x"}}, "signer"),
        ({"headers": {"Content-Length": "1"}}, "transport"),
        ({"headers": {"bad header": "x"}}, "header name"),
    ],
)
def test_put_object_refuses_bad_inputs(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ops.PutObject("bkt", "k", b"", **kwargs)  # type: ignore[arg-type]


OBJECT_HEADERS = {
    "content-length": "344606",
    "content-type": "image/jpeg",
    "etag": '"9AA9C1783224A1536D3F1E222C9C791B-6"',
    "last-modified": "Wed, 15 Nov 2017 10:38:33 GMT",
    "x-oss-object-type": "Multipart",
    "x-oss-hash-crc64ecma": "14897370096125855628",
    "x-oss-storage-class": "Standard",
    "accept-ranges": "bytes",
    "x-oss-meta-owner": "me",
    "x-oss-meta-run-id": "7",
}
OBJECT_INFO = ObjectInfo(
    size=344606,
    etag='"9AA9C1783224A1536D3F1E222C9C791B-6"',
    crc64=14897370096125855628,
    last_modified=datetime(2017, 11, 15, 10, 38, 33, tzinfo=UTC),
    object_type="Multipart",
    content_type="image/jpeg",
    storage_class="Standard",
    content_md5=None,
    metadata={"owner": "me", "run-id": "7"},
)


def test_head_object() -> None:
    op = ops.HeadObject("bkt", "a/b")
    assert op.to_request() == Request("HEAD", "bkt", "a/b")
    info = op.parse(ok(OBJECT_HEADERS))
    assert info == OBJECT_INFO
    assert info.part_count == 6


def test_head_object_minimal_headers() -> None:
    info = ops.HeadObject("bkt", "k").parse(ok({"content-length": "0", "etag": '"E"'}))
    assert info == ObjectInfo(0, '"E"', None, None, None, None, None, None, {})
    assert info.part_count is None


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"etag": '"E"'}, "content-length"),
        ({"content-length": "0"}, "etag"),
        ({"content-length": "x", "etag": '"E"'}, "Content-Length"),
        ({"content-length": "1", "etag": '"E"', "last-modified": "yesterday"}, "Last-Modified"),
    ],
)
def test_head_object_malformed(headers: dict[str, str], message: str) -> None:
    with pytest.raises(ResponseError, match=message):
        ops.HeadObject("bkt", "k").parse(ok(headers))


def test_get_object_requests() -> None:
    assert ops.GetObject("bkt", "k").to_request() == Request("GET", "bkt", "k")
    assert ops.GetObject("bkt", "k", range=(0, 99)).to_request().headers == {"range": "bytes=0-99"}
    assert ops.GetObject("bkt", "k", (100, None), True).to_request().headers == {
        "range": "bytes=100-",
        "x-oss-range-behavior": "standard",
    }


@pytest.mark.parametrize("rng", [(-1, 5), (5, 4), (-1, None)])
def test_get_object_bad_range(rng: tuple[int, int | None]) -> None:
    with pytest.raises(UsageError, match="range"):
        ops.GetObject("bkt", "k", range=rng)


def test_get_object_whole() -> None:
    result = ops.GetObject("bkt", "a/b").parse(ok(OBJECT_HEADERS, b"x" * 344606))
    assert result == GetObjectResult(
        b"x" * 344606, OBJECT_INFO, None, 200, "566B6BEB1BA604C27DD43805"
    )


def test_get_object_range_reports_whole_size() -> None:
    headers = {**OBJECT_HEADERS, "content-length": "100", "content-range": "bytes 0-99/344606"}
    result = ops.GetObject("bkt", "a/b", range=(0, 99)).parse(ok(headers, b"y" * 100, 206))
    assert result.status == 206
    assert result.content_range == "bytes 0-99/344606"
    assert result.info.size == 344606
    assert len(result.body) == 100


def test_get_object_without_content_length_uses_body() -> None:
    result = ops.GetObject("bkt", "k").parse(ok({"etag": '"E"'}, b"abc"))
    assert result.info.size == 3


def test_get_object_bad_content_range() -> None:
    with pytest.raises(ResponseError, match="Content-Range"):
        ops.GetObject("bkt", "k").parse(ok({"etag": '"E"', "content-range": "bytes x"}, b""))


def test_delete_object() -> None:
    assert ops.DeleteObject("bkt", "a/b").to_request() == Request(
        "DELETE", "bkt", "a/b", headers=EMPTY
    )
    ops.DeleteObject("bkt", "a/b").parse(ok(status=204))


def test_list_objects_v2_default_request() -> None:
    assert ops.ListObjectsV2("bkt").to_request() == Request(
        "GET",
        "bkt",
        query=(("list-type", "2"), ("encoding-type", "url")),
        headers={"content-type": "application/octet-stream", **EMPTY},
    )


def test_list_objects_v2_full_request() -> None:
    op = ops.ListObjectsV2("bkt", "a b/", "/", "a b/c", "tok+en", 1000, True)
    assert op.to_request().query == (
        ("list-type", "2"),
        ("encoding-type", "url"),
        ("prefix", "a b/"),
        ("delimiter", "/"),
        ("start-after", "a b/c"),
        ("continuation-token", "tok+en"),
        ("max-keys", "1000"),
        ("fetch-owner", "true"),
    )


@pytest.mark.parametrize("max_keys", [0, 1001, -1])
def test_list_objects_v2_max_keys(max_keys: int) -> None:
    with pytest.raises(UsageError, match="max_keys"):
        ops.ListObjectsV2("bkt", max_keys=max_keys)


# ----------------------------------------------------------------------------- multipart


def test_initiate_request() -> None:
    request = ops.InitiateMultipartUpload("bkt", "data/x.parquet").to_request()
    assert request == Request(
        "POST",
        "bkt",
        "data/x.parquet",
        (("uploads", ""), ("encoding-type", "url")),
        {"content-type": "application/octet-stream", **EMPTY},
    )


def test_initiate_request_with_headers() -> None:
    op = ops.InitiateMultipartUpload(
        "bkt",
        "x.json",
        metadata={"Src": "nb"},
        forbid_overwrite=True,
        headers={"x-oss-storage-class": "IA"},
    )
    assert op.to_request().headers == {
        "x-oss-storage-class": "IA",
        "x-oss-meta-src": "nb",
        "x-oss-forbid-overwrite": "true",
        "content-type": "application/json",
        **EMPTY,
    }
    explicit = ops.InitiateMultipartUpload("bkt", "x.json", content_type="text/plain")
    assert explicit.to_request().headers["content-type"] == "text/plain"
    from_headers = ops.InitiateMultipartUpload("bkt", "x.json", headers={"Content-Type": "a/b"})
    assert from_headers.to_request().headers["content-type"] == "a/b"


def test_initiate_parse() -> None:
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>a%2Fb%20c%25</Key>
<UploadId>{UPLOAD_ID}</UploadId><EncodingType>url</EncodingType>
</InitiateMultipartUploadResult>""".encode()
    result = ops.InitiateMultipartUpload("bkt", "a/b c%").parse(ok(body=body))
    assert result == InitiateResult("bkt", "a/b c%", UPLOAD_ID, "566B6BEB1BA604C27DD43805")


def test_initiate_parse_falls_back_to_request_names() -> None:
    body = b"<InitiateMultipartUploadResult><EncodingType>url</EncodingType>"
    body += b"<UploadId>U</UploadId></InitiateMultipartUploadResult>"
    result = ops.InitiateMultipartUpload("bkt", "100%").parse(ok(body=body))
    assert (result.bucket, result.key, result.upload_id) == ("bkt", "100%", "U")


def test_initiate_parse_requires_upload_id() -> None:
    body = b"<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>"
    with pytest.raises(ResponseError, match="<UploadId>"):
        ops.InitiateMultipartUpload("bkt", "k").parse(ok(body=body))


def test_upload_part() -> None:
    op = ops.UploadPart("bkt", "k", UPLOAD_ID, 7, b"abc")
    assert op.to_request() == Request(
        "PUT", "bkt", "k", (("partNumber", "7"), ("uploadId", UPLOAD_ID)), {}, b"abc"
    )
    md5 = md5_b64(b"abc")
    with_md5 = ops.UploadPart("bkt", "k", UPLOAD_ID, 7, b"abc", content_md5=md5)
    assert with_md5.to_request().headers == {"content-md5": md5}
    etag = '"' + hashlib.md5(b"abc").hexdigest().upper() + '"'
    response = ok({"etag": etag, "x-oss-hash-crc64ecma": "42", "content-md5": md5})
    assert op.parse(response) == UploadPartResult(7, etag, 42, md5, "566B6BEB1BA604C27DD43805")


def test_upload_part_requires_etag() -> None:
    with pytest.raises(ResponseError, match="etag"):
        ops.UploadPart("bkt", "k", UPLOAD_ID, 1, b"").parse(ok({"x-oss-hash-crc64ecma": "1"}))


@pytest.mark.parametrize("number", [0, 10001, -3, True, 1.0])
def test_upload_part_number_range(number: object) -> None:
    with pytest.raises(UsageError, match="part number"):
        ops.UploadPart("bkt", "k", UPLOAD_ID, number, b"")  # type: ignore[arg-type]


@pytest.mark.parametrize("upload_id", ["", "a b", "x\n", "\u00e9"])
def test_upload_id_is_checked(upload_id: str) -> None:
    with pytest.raises(UsageError, match="upload ID"):
        ops.AbortMultipartUpload("bkt", "k", upload_id)


def test_upload_part_copy_request() -> None:
    op = ops.UploadPartCopy("bkt", "k", UPLOAD_ID, 2, "src", "dir/a b+c.bin", (0, 102399))
    assert op.to_request() == Request(
        "PUT",
        "bkt",
        "k",
        (("partNumber", "2"), ("uploadId", UPLOAD_ID)),
        {
            "x-oss-copy-source": "/src/dir/a%20b%2Bc.bin",
            "x-oss-copy-source-range": "bytes=0-102399",
            **EMPTY,
        },
    )
    whole = ops.UploadPartCopy("bkt", "k", UPLOAD_ID, 2, "src", "s").to_request()
    assert "x-oss-copy-source-range" not in whole.headers


COPY_BODY = b"""<?xml version="1.0" encoding="UTF-8"?>
<CopyPartResult><LastModified>2015-12-12T00:36:26.000Z</LastModified>
<ETag>"4DE8075FB607DF4D13FBC480EA488EFA"</ETag></CopyPartResult>"""


def test_upload_part_copy_parse_header_first() -> None:
    op = ops.UploadPartCopy("bkt", "k", UPLOAD_ID, 2, "src", "s")
    result = op.parse(ok({"etag": '"FROM-HEADER"'}, COPY_BODY))
    assert result.etag == '"FROM-HEADER"'
    assert result.part_number == 2


def test_upload_part_copy_parse_falls_back_to_body() -> None:
    op = ops.UploadPartCopy("bkt", "k", UPLOAD_ID, 2, "src", "s")
    assert op.parse(ok(body=COPY_BODY)).etag == '"4DE8075FB607DF4D13FBC480EA488EFA"'


def test_upload_part_copy_parse_errors() -> None:
    op = ops.UploadPartCopy("bkt", "k", UPLOAD_ID, 2, "src", "s")
    with pytest.raises(ResponseError, match="ETag"):
        op.parse(ok())
    with pytest.raises(ResponseError, match="CopyPartResult"):
        op.parse(ok({"etag": '"E"'}, b"<Other/>"))


@pytest.mark.parametrize("rng", [(5, 4), (-1, 3)])
def test_upload_part_copy_bad_range(rng: tuple[int, int]) -> None:
    with pytest.raises(UsageError, match="source_range"):
        ops.UploadPartCopy("bkt", "k", UPLOAD_ID, 1, "src", "s", rng)


def test_upload_part_copy_checks_source() -> None:
    with pytest.raises(UsageError, match="bucket"):
        ops.UploadPartCopy("bkt", "k", UPLOAD_ID, 1, "Src", "s")
    with pytest.raises(UsageError, match="key"):
        ops.UploadPartCopy("bkt", "k", UPLOAD_ID, 1, "src", "/s")


def test_complete_request() -> None:
    parts = [(5, "8EFDA8BE206636A695359836FE0A0E00"), (1, '"3349DC700140D7F86A0784842780D0E0"')]
    op = ops.CompleteMultipartUpload("bkt", "k", UPLOAD_ID, parts)
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>'
        b'<Part><PartNumber>1</PartNumber><ETag>"3349DC700140D7F86A0784842780D0E0"</ETag></Part>'
        b'<Part><PartNumber>5</PartNumber><ETag>"8EFDA8BE206636A695359836FE0A0E00"</ETag></Part>'
        b"</CompleteMultipartUpload>"
    )
    assert op.to_request() == Request(
        "POST",
        "bkt",
        "k",
        (("uploadId", UPLOAD_ID), ("encoding-type", "url")),
        {"content-md5": md5_b64(body)},
        body,
    )
    assert ops.complete_body(parts) == body


def test_complete_all_request() -> None:
    op = ops.CompleteMultipartUpload(
        "bkt", "k", UPLOAD_ID, complete_all=True, forbid_overwrite=True
    )
    assert op.to_request() == Request(
        "POST",
        "bkt",
        "k",
        (("uploadId", UPLOAD_ID), ("encoding-type", "url")),
        {"x-oss-complete-all": "yes", **EMPTY, "x-oss-forbid-overwrite": "true"},
        b"",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parts": [(1, '"A"')], "complete_all": True}, "not both"),
        ({}, "at least one part"),
        ({"parts": [(1, '"A"'), (1, '"B"')]}, "listed twice"),
        ({"parts": [(0, '"A"')]}, "part number"),
        ({"parts": [(1, '""')]}, "empty ETag"),
    ],
)
def test_complete_refuses_bad_inputs(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ops.CompleteMultipartUpload("bkt", "k", UPLOAD_ID, **kwargs)  # type: ignore[arg-type]


def test_complete_parse() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult><EncodingType>url</EncodingType>
<Location>http://bkt.oss-cn-hangzhou.aliyuncs.com/a%2Fb</Location>
<Bucket>bkt</Bucket><Key>a%2Fb</Key><ETag>"1C787C506EABFB9B45EAAA8DB039F4B2-2"</ETag>
</CompleteMultipartUploadResult>"""
    headers = {"etag": '"1C787C506EABFB9B45EAAA8DB039F4B2-2"', "x-oss-hash-crc64ecma": "99"}
    result = ops.CompleteMultipartUpload("bkt", "a/b", UPLOAD_ID, [(1, "A")]).parse(
        ok(headers, body)
    )
    assert result == CompleteResult(
        bucket="bkt",
        key="a/b",
        etag='"1C787C506EABFB9B45EAAA8DB039F4B2-2"',
        crc64=99,
        location="http://bkt.oss-cn-hangzhou.aliyuncs.com/a%2Fb",
        request_id="566B6BEB1BA604C27DD43805",
    )
    assert result.part_count == 2


def test_complete_parse_body_etag_and_empty_body() -> None:
    op = ops.CompleteMultipartUpload("bkt", "k", UPLOAD_ID, complete_all=True)
    body = b'<CompleteMultipartUploadResult><ETag>"B-1"</ETag></CompleteMultipartUploadResult>'
    assert op.parse(ok(body=body)).etag == '"B-1"'
    bare = op.parse(ok({"etag": '"H-1"'}))
    assert (bare.bucket, bare.key, bare.location, bare.crc64) == ("bkt", "k", "", None)
    with pytest.raises(ResponseError, match="ETag"):
        op.parse(ok())


def test_abort() -> None:
    op = ops.AbortMultipartUpload("bkt", "k", UPLOAD_ID)
    assert op.to_request() == Request("DELETE", "bkt", "k", (("uploadId", UPLOAD_ID),), EMPTY)
    op.parse(ok(status=204))


def test_list_uploads_requests() -> None:
    assert ops.ListMultipartUploads("bkt").to_request() == Request(
        "GET", "bkt", None, (("uploads", ""), ("encoding-type", "url")), EMPTY
    )
    full = ops.ListMultipartUploads("bkt", "p/", "/", "p/k", UPLOAD_ID, 10).to_request()
    assert full.query == (
        ("uploads", ""),
        ("encoding-type", "url"),
        ("prefix", "p/"),
        ("delimiter", "/"),
        ("key-marker", "p/k"),
        ("upload-id-marker", UPLOAD_ID),
        ("max-uploads", "10"),
    )
    with pytest.raises(UsageError, match="max_uploads"):
        ops.ListMultipartUploads("bkt", max_uploads=1001)


def test_list_parts_requests() -> None:
    assert ops.ListParts("bkt", "k", UPLOAD_ID).to_request() == Request(
        "GET", "bkt", "k", (("uploadId", UPLOAD_ID), ("encoding-type", "url")), EMPTY
    )
    paged = ops.ListParts("bkt", "k", UPLOAD_ID, max_parts=1, part_number_marker=0).to_request()
    assert paged.query[2:] == (("max-parts", "1"), ("part-number-marker", "0"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_parts": 0}, "max_parts"),
        ({"max_parts": 1001}, "max_parts"),
        ({"part_number_marker": -1}, "part_number_marker"),
        ({"part_number_marker": 10001}, "part_number_marker"),
    ],
)
def test_list_parts_bad_inputs(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ops.ListParts("bkt", "k", UPLOAD_ID, **kwargs)


# ------------------------------------------------------------------------------ validators


@pytest.mark.parametrize("name", ["abc", "a-b", "0bucket9", "a" * 63, "my-bucket-2024"])
def test_valid_bucket_names(name: str) -> None:
    assert ops.validate_bucket_name(name) == name


@pytest.mark.parametrize(
    "name", ["ab", "a" * 64, "-abc", "abc-", "ABC", "a_b", "a.b", "a b", "", "bücket"]
)
def test_invalid_bucket_names(name: str) -> None:
    with pytest.raises(UsageError, match="bucket name"):
        ops.validate_bucket_name(name)


@pytest.mark.parametrize("key", ["a", "a/b/c", "dir/", "é" * 511, "x" * 1023, "a\\b", " lead"])
def test_valid_keys(key: str) -> None:
    assert ops.validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "non-empty"),
        ("/abs", "starts with"),
        ("\\win", "starts with"),
        ("x" * 1024, "1024 bytes"),
        ("é" * 512, "1024 bytes"),
        ("a\x00b", "U\\+0000"),
        ("line\n", "U\\+000A"),
        ("del\x7f", "U\\+007F"),
        ("c1\x85", "U\\+0085"),
        ("bad\udc80", "Unicode"),
    ],
)
def test_invalid_keys(key: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ops.validate_key(key)


def test_control_characters_explain_why_and_can_be_allowed() -> None:
    with pytest.raises(UsageError, match="for safety"):
        ops.validate_key("a\tb")
    assert ops.validate_key("demo/gp-\x0c\n\x0b", allow_control_chars=True)


def test_usage_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        ops.HeadObject("bkt", "")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a.CSV", "text/csv"),
        ("dir.d/file", "application/octet-stream"),
        (".bashrc", "application/octet-stream"),
        ("x.tar.gz", "application/gzip"),
        ("notes.txt", "text/plain"),
        ("nb.ipynb", "application/x-ipynb+json"),
    ],
)
def test_guess_content_type(key: str, expected: str) -> None:
    assert ops.guess_content_type(key) == expected
