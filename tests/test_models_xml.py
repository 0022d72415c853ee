"""Response documents of docs/PROTOCOL.md §2 parsed into models; encoding-type=url; malformed documents;
round trips of the Complete body, url-encoded keys and the scalar codecs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ossnb.protocol import operations as ops
from ossnb.protocol.checksums import md5_b64
from ossnb.protocol.errors import ResponseError
from ossnb.protocol.http import Response
from ossnb.protocol.models import (
    ListObjectsResult,
    ListPartsResult,
    ListUploadsResult,
    ObjectSummary,
    PartInfo,
    UploadInfo,
    etag_part_count,
)

UTC = timezone.utc
UPLOAD_ID = "D4E111D4EA834F3ABCE4877B27790000"


def ok(body: bytes) -> Response:
    return Response(200, {"content-type": "application/xml"}, body)


def osskey(text: str) -> str:
    """How OSS url-encodes a name for encoding-type=url (docs/PROTOCOL.md §1.5)."""
    return quote(text, safe="")


# ------------------------------------------------------------------ docs/PROTOCOL.md §2 sample documents

SPEC_LIST_OBJECTS = b"""<ListBucketResult>
    <Name>B</Name>
    <Prefix>a/</Prefix>
    <StartAfter>b</StartAfter>                 <!-- echo if given -->
    <ContinuationToken>...</ContinuationToken> <!-- echo if given -->
    <MaxKeys>100</MaxKeys>
    <Delimiter>/</Delimiter>
    <EncodingType>url</EncodingType>           <!-- if requested -->
    <IsTruncated>false</IsTruncated>
    <NextContinuationToken>...</NextContinuationToken>  <!-- only when truncated; opaque -->
    <Contents>
      <Key>a/b</Key>
      <LastModified>2020-05-18T05:45:47.000Z</LastModified>
      <ETag>"35A27C2B9EAEEB6F48FD7FB5861D0000"</ETag>
      <Type>Normal</Type>                      <!-- Normal | Multipart | Appendable | Symlink -->
      <Size>25</Size>
      <StorageClass>Standard</StorageClass>
      <Owner><ID>...</ID><DisplayName>...</DisplayName></Owner>  <!-- only with fetch-owner=true -->
      <RestoreInfo>...</RestoreInfo>          <!-- archive only -->
    </Contents>
    <CommonPrefixes><Prefix>a/b/</Prefix></CommonPrefixes>
    <KeyCount>3</KeyCount>                     <!-- Contents + CommonPrefixes returned -->
  </ListBucketResult>"""


def test_spec_list_objects_v2() -> None:
    result = ops.ListObjectsV2("bkt").parse(ok(SPEC_LIST_OBJECTS))
    assert result == ListObjectsResult(
        objects=[
            ObjectSummary(
                key="a/b",
                size=25,
                etag='"35A27C2B9EAEEB6F48FD7FB5861D0000"',
                last_modified=datetime(2020, 5, 18, 5, 45, 47, tzinfo=UTC),
                object_type="Normal",
                storage_class="Standard",
            )
        ],
        common_prefixes=["a/b/"],
        is_truncated=False,
        next_continuation_token="...",
        key_count=3,
        name="B",
        prefix="a/",
        delimiter="/",
        start_after="b",
        continuation_token="...",
        max_keys=100,
    )


SPEC_INITIATE = b"""<InitiateMultipartUploadResult>
    <Bucket>B</Bucket>
    <Key>K</Key>                       <!-- url-encoded if encoding-type=url -->
    <UploadId>0004B9894A22E5B1888A1E29F8230000</UploadId>
    <EncodingType>url</EncodingType>   <!-- only if requested -->
  </InitiateMultipartUploadResult>"""


def test_spec_initiate() -> None:
    result = ops.InitiateMultipartUpload("bkt", "k").parse(ok(SPEC_INITIATE))
    assert (result.bucket, result.key, result.upload_id) == (
        "B",
        "K",
        "0004B9894A22E5B1888A1E29F8230000",
    )


SPEC_COMPLETE_BODY = b"""<CompleteMultipartUpload>
    <Part><PartNumber>1</PartNumber><ETag>"3349DC700140D7F86A0784842780D0E0"</ETag></Part>
    <Part><PartNumber>5</PartNumber><ETag>"8EFDA8BE206636A695359836FE0A0E00"</ETag></Part>
  </CompleteMultipartUpload>"""


def test_spec_complete_body() -> None:
    parts = [
        (1, '"3349DC700140D7F86A0784842780D0E0"'),
        (5, '"8EFDA8BE206636A695359836FE0A0E00"'),
    ]
    assert ops.parse_complete_body(SPEC_COMPLETE_BODY) == parts
    assert ops.parse_complete_body(ops.complete_body(parts)) == parts


def test_go_style_escaped_quotes_parse() -> None:
    body = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
    body += b"<ETag>&#34;ABC&#34;</ETag></Part></CompleteMultipartUpload>"
    assert ops.parse_complete_body(body) == [(1, '"ABC"')]


SPEC_COMPLETE_RESULT = b"""<CompleteMultipartUploadResult>
    <EncodingType>url</EncodingType>   <!-- if requested -->
    <Location>http://B.oss-cn-hangzhou.aliyuncs.com/K</Location>
    <Bucket>B</Bucket>
    <Key>K</Key>
    <ETag>"1C787C506EABFB9B45EAAA8DB039F4B2-2"</ETag>
  </CompleteMultipartUploadResult>"""


def test_spec_complete_result() -> None:
    op = ops.CompleteMultipartUpload("bkt", "k", "U", [(1, "A"), (2, "B")])
    result = op.parse(ok(SPEC_COMPLETE_RESULT))
    assert result.etag == '"1C787C506EABFB9B45EAAA8DB039F4B2-2"'
    assert result.location == "http://B.oss-cn-hangzhou.aliyuncs.com/K"
    assert (result.bucket, result.key, result.crc64) == ("B", "K", None)


SPEC_LIST_UPLOADS = b"""<ListMultipartUploadsResult>
    <EncodingType>url</EncodingType>
    <Bucket>B</Bucket>
    <KeyMarker></KeyMarker>
    <UploadIdMarker></UploadIdMarker>
    <NextKeyMarker>oss.avi</NextKeyMarker>
    <NextUploadIdMarker>0004B99B8E707874FC2D692FA5D77D3F</NextUploadIdMarker>
    <Delimiter></Delimiter>
    <Prefix></Prefix>
    <MaxUploads>1000</MaxUploads>
    <IsTruncated>false</IsTruncated>
    <Upload>
      <Key>multipart.data</Key>
      <UploadId>0004B999EF518A1FE585B0C9360DC4C8</UploadId>
      <StorageClass>Standard</StorageClass>
      <Initiated>2012-02-23T04:18:23.000Z</Initiated>
    </Upload>
    <CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>
  </ListMultipartUploadsResult>"""


def test_spec_list_uploads() -> None:
    assert ops.ListMultipartUploads("bkt").parse(ok(SPEC_LIST_UPLOADS)) == ListUploadsResult(
        uploads=[
            UploadInfo(
                key="multipart.data",
                upload_id="0004B999EF518A1FE585B0C9360DC4C8",
                initiated=datetime(2012, 2, 23, 4, 18, 23, tzinfo=UTC),
                storage_class="Standard",
            )
        ],
        common_prefixes=["dir/"],
        is_truncated=False,
        next_key_marker="oss.avi",
        next_upload_id_marker="0004B99B8E707874FC2D692FA5D77D3F",
        bucket="B",
        max_uploads=1000,
    )


SPEC_LIST_PARTS = b"""<ListPartsResult>
    <EncodingType>url</EncodingType>        <!-- if requested -->
    <Bucket>B</Bucket>
    <Key>K</Key>
    <UploadId>D4E111D4EA834F3ABCE4877B27790000</UploadId>
    <StorageClass>Standard</StorageClass>
    <PartNumberMarker>0</PartNumberMarker>
    <NextPartNumberMarker>1</NextPartNumberMarker>
    <MaxParts>1000</MaxParts>
    <IsTruncated>false</IsTruncated>
    <Part>
      <PartNumber>1</PartNumber>
      <LastModified>2023-11-22T05:42:34.000Z</LastModified>
      <ETag>"CF3F46D505093571E916FCDD49670000"</ETag>
      <HashCrc64ecma>12066172435287683848</HashCrc64ecma>
      <Size>96316</Size>
    </Part>
  </ListPartsResult>"""


def test_spec_list_parts() -> None:
    assert ops.ListParts("bkt", "k", UPLOAD_ID).parse(ok(SPEC_LIST_PARTS)) == ListPartsResult(
        bucket="B",
        key="K",
        upload_id=UPLOAD_ID,
        parts=[
            PartInfo(
                part_number=1,
                etag='"CF3F46D505093571E916FCDD49670000"',
                size=96316,
                crc64=12066172435287683848,
                last_modified=datetime(2023, 11, 22, 5, 42, 34, tzinfo=UTC),
            )
        ],
        is_truncated=False,
        next_part_number_marker=1,
        part_number_marker=0,
        max_parts=1000,
        storage_class="Standard",
    )


def test_list_parts_of_a_fresh_upload_and_without_crc() -> None:
    empty = b"""<ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>U</UploadId>
    <PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>0</NextPartNumberMarker>
    <MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated></ListPartsResult>"""
    result = ops.ListParts("bkt", "k", "U").parse(ok(empty))
    assert (result.parts, result.next_part_number_marker) == ([], 0)
    no_crc = SPEC_LIST_PARTS.replace(b"<HashCrc64ecma>12066172435287683848</HashCrc64ecma>", b"")
    assert ops.ListParts("bkt", "k", "U").parse(ok(no_crc)).parts[0].crc64 is None


SPEC_BUCKET_INFO = b"""<BucketInfo>
    <Bucket>
      <AccessMonitor>Disabled</AccessMonitor>
      <CreationDate>2013-07-31T10:56:21.000Z</CreationDate>
      <ExtranetEndpoint>oss-cn-hangzhou.aliyuncs.com</ExtranetEndpoint>
      <IntranetEndpoint>oss-cn-hangzhou-internal.aliyuncs.com</IntranetEndpoint>
      <Location>oss-cn-hangzhou</Location>
      <StorageClass>Standard</StorageClass>
      <DataRedundancyType>LRS</DataRedundancyType>
      <TransferAcceleration>Disabled</TransferAcceleration>
      <CrossRegionReplication>Disabled</CrossRegionReplication>
      <Name>B</Name>
      <ResourceGroupId>rg-...</ResourceGroupId>        <!-- optional -->
      <Owner><DisplayName>123</DisplayName><ID>123</ID></Owner>
      <AccessControlList><Grant>private</Grant></AccessControlList>
      <Comment/>  <Versioning>Enabled</Versioning>     <!-- optional -->
      <ServerSideEncryptionRule><SSEAlgorithm>None</SSEAlgorithm></ServerSideEncryptionRule> <!-- optional -->
    </Bucket>
  </BucketInfo>"""


def test_spec_bucket_info() -> None:
    info = ops.GetBucketInfo("bkt").parse(ok(SPEC_BUCKET_INFO))
    assert (info.name, info.location, info.acl, info.storage_class) == (
        "B",
        "oss-cn-hangzhou",
        "private",
        "Standard",
    )
    assert info.creation_date == datetime(2013, 7, 31, 10, 56, 21, tzinfo=UTC)


def test_namespaced_root_is_accepted() -> None:
    body = SPEC_INITIATE.replace(
        b"<InitiateMultipartUploadResult>",
        b'<InitiateMultipartUploadResult xmlns="http://doc.oss-cn-hangzhou.aliyuncs.com">',
    )
    assert ops.InitiateMultipartUpload("bkt", "k").parse(ok(body)).upload_id


# ---------------------------------------------------------------------- encoding-type=url


def test_url_encoded_listing_is_decoded() -> None:
    body = b"""<ListBucketResult><Name>b</Name><Prefix>demo%2F</Prefix>
    <Delimiter>%2F</Delimiter><StartAfter>demo%2Fa%20b</StartAfter>
    <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
    <NextContinuationToken>ZGVtby9n%2B%3D</NextContinuationToken>
    <Contents><Key>demo%2Fgp-%0C%0A%0B</Key><LastModified>2020-05-18T05:45:47.000Z</LastModified>
    <ETag>"E"</ETag><Type>Normal</Type><Size>1</Size><StorageClass>IA</StorageClass></Contents>
    <Contents><Key>demo%2F100%25%20%2B%26%E4%B8%AD</Key>
    <LastModified>2020-05-18T05:45:47.000Z</LastModified>
    <ETag>"F"</ETag><Type>Multipart</Type><Size>2</Size><StorageClass>IA</StorageClass></Contents>
    <CommonPrefixes><Prefix>demo%2Fsub%20dir%2F</Prefix></CommonPrefixes>
    </ListBucketResult>"""
    result = ops.ListObjectsV2("bkt").parse(ok(body))
    assert [o.key for o in result.objects] == ["demo/gp-\x0c\n\x0b", "demo/100% +&中"]
    assert result.common_prefixes == ["demo/sub dir/"]
    assert (result.prefix, result.delimiter, result.start_after) == ("demo/", "/", "demo/a b")
    assert result.next_continuation_token == "ZGVtby9n+="
    assert result.key_count == 3  # no <KeyCount>: counted


def test_without_encoding_type_names_are_kept_raw() -> None:
    body = SPEC_LIST_OBJECTS.replace(b"<EncodingType>url</EncodingType>", b"")
    body = body.replace(b"<Key>a/b</Key>", b"<Key>a%2Fb</Key>")
    assert ops.ListObjectsV2("bkt").parse(ok(body)).objects[0].key == "a%2Fb"


def test_url_encoded_upload_listing_is_decoded() -> None:
    body = b"""<ListMultipartUploadsResult><EncodingType>url</EncodingType><Bucket>b</Bucket>
    <KeyMarker>a%20b</KeyMarker><UploadIdMarker>U%201</UploadIdMarker>
    <NextKeyMarker>c%2Fd</NextKeyMarker><NextUploadIdMarker>U2</NextUploadIdMarker>
    <Delimiter>%2F</Delimiter><Prefix>c%2F</Prefix><IsTruncated>true</IsTruncated>
    <Upload><Key>c%2Fd</Key><UploadId>U2</UploadId><Initiated>2012-02-23T04:18:23.000Z</Initiated>
    </Upload><CommonPrefixes><Prefix>c%2Fe%2F</Prefix></CommonPrefixes>
    </ListMultipartUploadsResult>"""
    result = ops.ListMultipartUploads("bkt").parse(ok(body))
    assert result.uploads[0].key == "c/d"
    assert result.uploads[0].storage_class is None
    assert (result.key_marker, result.next_key_marker) == ("a b", "c/d")
    assert (result.prefix, result.delimiter, result.common_prefixes) == ("c/", "/", ["c/e/"])
    assert result.upload_id_marker == "U%201"  # upload IDs are not encoded
    assert result.is_truncated


def test_url_encoded_list_parts_key() -> None:
    body = SPEC_LIST_PARTS.replace(b"<Key>K</Key>", b"<Key>a%2Fb%20c</Key>")
    assert ops.ListParts("bkt", "k", "U").parse(ok(body)).key == "a/b c"


valid_keys = st.text(min_size=1, max_size=300).filter(
    lambda k: k[0] not in "/\\" and len(k.encode("utf-8")) <= 1023
)


@given(keys=st.lists(valid_keys, min_size=1, max_size=5))
def test_random_keys_survive_url_encoding(keys: list[str]) -> None:
    contents = "".join(
        f"<Contents><Key>{osskey(k)}</Key><LastModified>2020-05-18T05:45:47.000Z</LastModified>"
        '<ETag>"E"</ETag><Type>Normal</Type><Size>1</Size><StorageClass>Standard</StorageClass>'
        "</Contents>"
        for k in keys
    )
    body = (
        "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
        f"{contents}</ListBucketResult>"
    ).encode()
    assert [o.key for o in ops.ListObjectsV2("bkt").parse(ok(body)).objects] == keys


@given(key=valid_keys)
def test_random_keys_survive_initiate_and_complete(key: str) -> None:
    initiate = (
        "<InitiateMultipartUploadResult><Bucket>b</Bucket>"
        f"<Key>{osskey(key)}</Key><UploadId>U</UploadId><EncodingType>url</EncodingType>"
        "</InitiateMultipartUploadResult>"
    ).encode()
    assert ops.InitiateMultipartUpload("bkt", "x").parse(ok(initiate)).key == key
    complete = (
        "<CompleteMultipartUploadResult><EncodingType>url</EncodingType>"
        f'<Key>{osskey(key)}</Key><ETag>"E-1"</ETag></CompleteMultipartUploadResult>'
    ).encode()
    assert ops.CompleteMultipartUpload("bkt", "x", "U", [(1, "E")]).parse(ok(complete)).key == key


# ---------------------------------------------------------------------- malformed documents

LIST_PARTS = ops.ListParts("bkt", "k", "U")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid XML"),
        (b"<ListPartsResult>", "not valid XML"),
        (b"<html><body>502 Bad Gateway</body></html>", "root <html>"),
        (b"<Error><Code>NoSuchUpload</Code></Error>", "root <Error>"),
        (
            b"<ListPartsResult><NextPartNumberMarker>0</NextPartNumberMarker></ListPartsResult>",
            "<IsTruncated>",
        ),
        (
            b"<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>",
            "<NextPartNumberMarker>",
        ),
        (
            b"<ListPartsResult><IsTruncated>False</IsTruncated>"
            b"<NextPartNumberMarker>0</NextPartNumberMarker></ListPartsResult>",
            "not a boolean",
        ),
        (
            b"<ListPartsResult><IsTruncated>1</IsTruncated>"
            b"<NextPartNumberMarker>0</NextPartNumberMarker></ListPartsResult>",
            "not a boolean",
        ),
        (
            b"<ListPartsResult><IsTruncated>false</IsTruncated>"
            b"<NextPartNumberMarker>-1</NextPartNumberMarker></ListPartsResult>",
            "integer",
        ),
        (
            b"<ListPartsResult><IsTruncated>false</IsTruncated>"
            b"<NextPartNumberMarker></NextPartNumberMarker></ListPartsResult>",
            "integer",
        ),
    ],
)
def test_malformed_list_parts(body: bytes, message: str) -> None:
    with pytest.raises(ResponseError, match=message):
        LIST_PARTS.parse(ok(body))


PART = {
    "PartNumber": "1",
    "LastModified": "2023-11-22T05:42:34.000Z",
    "ETag": '"E"',
    "HashCrc64ecma": "1",
    "Size": "5",
}


def _parts_doc(part: dict[str, str]) -> bytes:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in part.items())
    return (
        "<ListPartsResult><IsTruncated>false</IsTruncated>"
        f"<NextPartNumberMarker>1</NextPartNumberMarker><Part>{inner}</Part></ListPartsResult>"
    ).encode()


@pytest.mark.parametrize("missing", ["PartNumber", "LastModified", "ETag", "Size"])
def test_list_parts_missing_part_element(missing: str) -> None:
    part = {k: v for k, v in PART.items() if k != missing}
    with pytest.raises(ResponseError, match=f"ListParts response is missing <{missing}>"):
        LIST_PARTS.parse(ok(_parts_doc(part)))


@pytest.mark.parametrize(
    ("element", "value", "message"),
    [
        ("LastModified", "2023-11-22 05:42:34", "timestamp"),
        ("LastModified", "Wed, 22 Nov 2023 05:42:34 GMT", "timestamp"),
        ("LastModified", "2023-13-22T05:42:34.000Z", "timestamp"),
        ("Size", "12.5", "integer"),
        ("PartNumber", "one", "integer"),
        ("HashCrc64ecma", "0x10", "CRC-64"),
        ("HashCrc64ecma", "18446744073709551616", "CRC-64"),
    ],
)
def test_list_parts_bad_scalars(element: str, value: str, message: str) -> None:
    with pytest.raises(ResponseError, match=message):
        LIST_PARTS.parse(ok(_parts_doc({**PART, element: value})))


@pytest.mark.parametrize("missing", ["Key", "LastModified", "ETag", "Type", "Size", "StorageClass"])
def test_list_objects_missing_contents_element(missing: str) -> None:
    fields = {
        "Key": "k",
        "LastModified": "2020-05-18T05:45:47.000Z",
        "ETag": '"E"',
        "Type": "Normal",
        "Size": "1",
        "StorageClass": "Standard",
    }
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items() if k != missing)
    body = (
        "<ListBucketResult><IsTruncated>false</IsTruncated>"
        f"<Contents>{inner}</Contents></ListBucketResult>"
    ).encode()
    with pytest.raises(ResponseError, match=f"<{missing}>"):
        ops.ListObjectsV2("bkt").parse(ok(body))


def test_truncated_listing_needs_a_token() -> None:
    body = b"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"
    with pytest.raises(ResponseError, match="<NextContinuationToken>"):
        ops.ListObjectsV2("bkt").parse(ok(body))
    done = b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"
    assert ops.ListObjectsV2("bkt").parse(ok(done)).next_continuation_token == ""


@pytest.mark.parametrize("missing", ["IsTruncated", "NextKeyMarker", "NextUploadIdMarker"])
def test_list_uploads_required_elements(missing: str) -> None:
    fields = {"IsTruncated": "false", "NextKeyMarker": "", "NextUploadIdMarker": ""}
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items() if k != missing)
    body = f"<ListMultipartUploadsResult>{inner}</ListMultipartUploadsResult>".encode()
    with pytest.raises(ResponseError, match=f"<{missing}>"):
        ops.ListMultipartUploads("bkt").parse(ok(body))


@pytest.mark.parametrize("missing", ["Key", "UploadId", "Initiated"])
def test_list_uploads_upload_elements(missing: str) -> None:
    fields = {"Key": "k", "UploadId": "U", "Initiated": "2012-02-23T04:18:23.000Z"}
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items() if k != missing)
    body = (
        "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><NextKeyMarker/>"
        f"<NextUploadIdMarker/><Upload>{inner}</Upload></ListMultipartUploadsResult>"
    ).encode()
    with pytest.raises(ResponseError, match=f"<{missing}>"):
        ops.ListMultipartUploads("bkt").parse(ok(body))


@pytest.mark.parametrize(
    "missing",
    [
        "Name",
        "Location",
        "CreationDate",
        "StorageClass",
        "ExtranetEndpoint",
        "IntranetEndpoint",
        "AccessControlList/Grant",
    ],
)
def test_bucket_info_required_elements(missing: str) -> None:
    tag = missing.split("/")[-1].encode()
    start = SPEC_BUCKET_INFO.index(b"<" + tag + b">")
    end = SPEC_BUCKET_INFO.index(b"</" + tag + b">") + len(tag) + 3
    body = SPEC_BUCKET_INFO[:start] + SPEC_BUCKET_INFO[end:]
    with pytest.raises(ResponseError, match=f"<{missing}>"):
        ops.GetBucketInfo("bkt").parse(ok(body))


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
        b"<ListPartsResult><IsTruncated>&a;</IsTruncated></ListPartsResult>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<ListPartsResult>&x;</ListPartsResult>",
    ],
)
def test_entities_are_refused(body: bytes) -> None:
    with pytest.raises(ResponseError, match="not valid XML"):
        LIST_PARTS.parse(ok(body))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<Complete/>", "root <Complete>"),
        (
            b"<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>",
            "<PartNumber>",
        ),
        (
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
            b"</CompleteMultipartUpload>",
            "<ETag>",
        ),
        (
            b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
            b"</CompleteMultipartUpload>",
            "integer",
        ),
    ],
)
def test_malformed_complete_body(body: bytes, message: str) -> None:
    with pytest.raises(ResponseError, match=message):
        ops.parse_complete_body(body)


# -------------------------------------------------------------------- complete body round trip

etags = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"'),
    min_size=1,
    max_size=40,
)
part_lists = st.dictionaries(
    st.integers(min_value=1, max_value=10_000), etags, min_size=1, max_size=60
).map(lambda d: list(d.items()))


@given(parts=part_lists)
def test_complete_body_round_trip(parts: list[tuple[int, str]]) -> None:
    expected = sorted((n, f'"{e}"') for n, e in parts)
    assert ops.parse_complete_body(ops.complete_body(parts)) == expected
    quoted = [(n, f'"{e}"') for n, e in parts]
    assert ops.parse_complete_body(ops.complete_body(quoted)) == expected


@given(parts=part_lists)
def test_complete_request_body_matches_its_md5(parts: list[tuple[int, str]]) -> None:
    request = ops.CompleteMultipartUpload("bkt", "k", "U", parts).to_request()
    assert request.headers["content-md5"] == md5_b64(request.body)
    assert [n for n, _ in ops.parse_complete_body(request.body)] == sorted(n for n, _ in parts)


def test_ten_thousand_parts_fit_the_xml_limit() -> None:
    parts = [(n, f"{n:032X}") for n in range(1, 10_001)]
    body = ops.complete_body(parts)
    assert len(ops.parse_complete_body(body)) == 10_000


# ------------------------------------------------------------------------------ scalar codecs

aware = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(when=aware)
def test_timestamp_round_trip(when: datetime) -> None:
    text = ops.format_timestamp(when)
    assert text.endswith(".000Z")
    assert ops.parse_timestamp(text) == when.replace(microsecond=0)


@given(when=aware)
def test_http_date_round_trip(when: datetime) -> None:
    text = ops.format_http_date(when)
    assert text.endswith(" GMT")
    assert ops.parse_http_date(text) == when.replace(microsecond=0)


def test_timestamp_details() -> None:
    assert ops.parse_timestamp("2024-01-15T08:30:00.123Z") == datetime(
        2024, 1, 15, 8, 30, 0, 123000, tzinfo=UTC
    )
    assert ops.parse_timestamp("2024-01-15T08:30:00Z").tzinfo is UTC
    plus8 = datetime(2024, 1, 15, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    assert ops.format_timestamp(plus8) == "2024-01-15T08:30:00.000Z"
    assert ops.format_http_date(plus8) == "Mon, 15 Jan 2024 08:30:00 GMT"
    assert ops.format_http_date(datetime(2024, 2, 5, tzinfo=UTC)) == "Mon, 05 Feb 2024 00:00:00 GMT"
    for bad in ("2024-01-15T08:30:00+08:00", "2024-01-15", "x"):
        with pytest.raises(ValueError):
            ops.parse_timestamp(bad)
    with pytest.raises(ValueError):
        ops.parse_http_date("not a date")


@given(value=st.integers(min_value=0, max_value=2**64 - 1))
def test_crc64_text_round_trip(value: int) -> None:
    assert ops.parse_crc64(str(value)) == value


@pytest.mark.parametrize(
    ("etag", "count"),
    [
        ('"9AA9C1783224A1536D3F1E222C9C791B-6"', 6),
        ("9aa9c1783224a1536d3f1e222c9c791b-10000", 10000),
        ('"9AA9C1783224A1536D3F1E222C9C791B"', None),
        ('"abc-2"', None),
    ],
)
def test_etag_part_count(etag: str, count: int | None) -> None:
    assert etag_part_count(etag) == count
