"""Unit tests of the core helpers: checksums (docs/PROTOCOL.md §3.3, §3.4), part planning (docs/PROTOCOL.md §3.1,
§6.4) and error mapping (docs/PROTOCOL.md §4)."""

from __future__ import annotations

import base64
import hashlib
import os
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ossnb.protocol import errors
from ossnb.protocol.checksums import (
    EMPTY_MD5_B64,
    crc64,
    crc64_combine,
    crc64_combine_all,
    digest,
    md5_b64,
    md5_hex,
    multipart_etag,
    normalize_etag,
)
from ossnb.protocol.parts import (
    DEFAULT_PART_SIZE,
    KiB,
    Limits,
    MiB,
    Part,
    format_size,
    parse_size,
    plan_parts,
)

GiB = 1024 * MiB

# ------------------------------------------------------------------------------ checksums


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0),
        (b"123456789", 11051210869376104954),
        (b"hello oss", 15021467531229347219),
        (b"a" * 102400, 12696911168479852064),
        (b"b" * 1000, 16208029625697213207),
    ],
)
def test_crc64_check_values(data: bytes, expected: int) -> None:
    assert crc64(data) == expected
    assert crc64(memoryview(data)) == expected


def test_crc64_check_value_hex() -> None:
    assert crc64(b"123456789") == 0x995DC9BBDF1939FA


def test_crc64_combine_spec_example() -> None:
    part1, part2 = b"a" * 102400, b"b" * 1000
    combined = crc64_combine(crc64(part1), crc64(part2), len(part2))
    assert combined == 10189816783531802777 == crc64(part1 + part2)
    assert crc64_combine_all([(crc64(part1), len(part1)), (crc64(part2), len(part2))]) == combined


def test_crc64_combine_all_many_equal_parts() -> None:
    """Past 64 parts of one size the combine switches to look-up tables: same result."""
    parts = [os.urandom(257) for _ in range(150)] + [b"", os.urandom(3)] + [b"\xff" * 257] * 70
    assert crc64_combine_all((crc64(p), len(p)) for p in parts) == crc64(b"".join(parts))


def test_crc64_streaming_form() -> None:
    assert crc64(b"b" * 1000, previous=crc64(b"a" * 102400)) == 10189816783531802777


def test_crc64_combine_edge_cases() -> None:
    assert crc64_combine(12345, 0, 0) == 12345
    assert crc64_combine_all([]) == 0
    assert crc64_combine_all([(crc64(b"x"), 1)]) == crc64(b"x")
    assert crc64_combine(0, crc64(b"abc"), 3) == crc64(b"abc")


@settings(max_examples=200)
@given(a=st.binary(max_size=3000), b=st.binary(max_size=3000))
def test_crc64_combine_equals_direct(a: bytes, b: bytes) -> None:
    assert crc64_combine(crc64(a), crc64(b), len(b)) == crc64(a + b)


@given(chunks=st.lists(st.binary(max_size=700), max_size=12))
def test_crc64_combine_all_equals_direct(chunks: list[bytes]) -> None:
    pairs = [(crc64(c), len(c)) for c in chunks]
    assert crc64_combine_all(pairs) == crc64(b"".join(chunks))


@given(size=st.integers(min_value=1, max_value=2**40), crc_a=st.integers(0, 2**64 - 1))
def test_crc64_combine_stays_64_bit(size: int, crc_a: int) -> None:
    assert 0 <= crc64_combine(crc_a, 0, size) < 2**64


def test_md5_forms() -> None:
    assert md5_hex(b"") == "D41D8CD98F00B204E9800998ECF8427E"
    assert md5_b64(b"") == EMPTY_MD5_B64 == "1B2M2Y8AsgTpgAmY7PhCfg=="
    assert md5_hex(b"a" * 102400) == "302D3A0C8E319EAA95B059B346DE1D1D"
    assert md5_hex(b"b" * 1000) == "C73C16DE8912C313C06AC38B9961E806"


@given(data=st.binary(max_size=5000))
def test_digest_agrees_with_the_single_functions(data: bytes) -> None:
    d = digest(data)
    assert (d.size, d.md5_hex, d.md5_b64, d.crc64) == (
        len(data),
        md5_hex(data),
        md5_b64(data),
        crc64(data),
    )
    assert d.etag == f'"{hashlib.md5(data).hexdigest().upper()}"'
    assert base64.b64decode(d.md5_b64) == hashlib.md5(data).digest()


@pytest.mark.parametrize(
    ("etag", "expected"),
    [
        ('"ABC"', "ABC"),
        (' "abc" ', "ABC"),
        ("abc", "ABC"),
        ('" abc-2 "', "ABC-2"),
    ],
)
def test_normalize_etag(etag: str, expected: str) -> None:
    assert normalize_etag(etag) == expected


def test_multipart_etag_recorded_example() -> None:
    parts = ["4DE8075FB607DF4D13FBC480EA488EFA", "AF947EC157726CEA88ED83B3C989063B"]
    assert multipart_etag(parts) == '"1C787C506EABFB9B45EAAA8DB039F4B2-2"'
    # quoted or lower-case part ETags give the same result
    assert multipart_etag([f'"{p.lower()}"' for p in parts]) == multipart_etag(parts)


def test_multipart_etag_computed_example() -> None:
    parts = [md5_hex(b"a" * 102400), md5_hex(b"b" * 1000)]
    assert multipart_etag(parts) == '"090978F3FDABF992C84535BA4A870EE0-2"'


def test_multipart_etag_is_not_s3s() -> None:
    parts = ["4DE8075FB607DF4D13FBC480EA488EFA", "AF947EC157726CEA88ED83B3C989063B"]
    s3 = hashlib.md5(b"".join(bytes.fromhex(p) for p in parts)).hexdigest().upper()
    assert s3 == "0DF038210DB5A89CC49FF5BD8E784E95"
    assert s3 not in multipart_etag(parts)


# ---------------------------------------------------------------------------------- parts


def test_oss_limits() -> None:
    limits = Limits()
    assert (limits.min_part_size, limits.max_part_size, limits.max_parts) == (
        102_400,
        5 * GiB,
        10_000,
    )
    assert limits.max_object_size == 5 * GiB * 10_000


def test_zero_byte_body_is_one_empty_part() -> None:
    plan = plan_parts(0)
    assert plan.part_count == 1
    assert plan.parts() == [Part(1, 0, 0)]
    assert not plan.grown


def test_exact_multiple_and_short_last_part() -> None:
    assert [p.size for p in plan_parts(3 * 8 * MiB).parts()] == [8 * MiB] * 3
    parts = plan_parts(2 * MiB + 5, MiB).parts()
    assert [(p.number, p.offset, p.size) for p in parts] == [
        (1, 0, MiB),
        (2, MiB, MiB),
        (3, 2 * MiB, 5),
    ]
    assert parts[0].range_text == f"bytes 0-{MiB - 1}"
    assert parts[2].end == 2 * MiB + 5


def test_ten_thousand_parts_fit_without_growth() -> None:
    plan = plan_parts(10_000 * DEFAULT_PART_SIZE)
    assert (plan.part_count, plan.part_size, plan.grown) == (10_000, DEFAULT_PART_SIZE, False)


def test_growth_past_ten_thousand_parts() -> None:
    plan = plan_parts(10_001 * DEFAULT_PART_SIZE)
    assert plan.grown
    assert plan.part_size == 9 * MiB  # rounded up to whole MiB
    assert plan.requested_part_size == DEFAULT_PART_SIZE
    assert plan.part_count == 8890 <= 10_000


def test_growth_uses_kib_steps_for_small_parts() -> None:
    limits = Limits(max_parts=10)
    plan = plan_parts(10 * 100 * KiB + 1, 100 * KiB, limits)
    assert plan.part_size == 101 * KiB
    assert plan.part_count == 10


def test_largest_object() -> None:
    plan = plan_parts(Limits().max_object_size)
    assert (plan.part_size, plan.part_count) == (5 * GiB, 10_000)


@pytest.mark.parametrize(
    ("total", "part_size", "message"),
    [
        (-1, DEFAULT_PART_SIZE, "negative"),
        (10, 100 * KiB - 1, "below the minimum"),
        (10, 5 * GiB + 1, "above the maximum"),
        (5 * GiB * 10_000 + 1, DEFAULT_PART_SIZE, "10000 parts"),
    ],
)
def test_plan_refuses(total: int, part_size: int, message: str) -> None:
    with pytest.raises(errors.UsageError, match=message):
        plan_parts(total, part_size)


def test_part_numbers_are_checked() -> None:
    plan = plan_parts(3 * MiB, MiB)
    for bad in (0, 4):
        with pytest.raises(errors.UsageError):
            plan.part(bad)


@settings(max_examples=300)
@given(
    total=st.integers(min_value=0, max_value=Limits().max_object_size),
    part_size=st.integers(min_value=100 * KiB, max_value=5 * GiB),
)
def test_plan_properties(total: int, part_size: int) -> None:
    limits = Limits()
    plan = plan_parts(total, part_size, limits)
    count = plan.part_count
    assert 1 <= count <= limits.max_parts
    assert limits.min_part_size <= plan.part_size <= limits.max_part_size
    assert plan.part_size >= part_size
    first, last = plan.part(1), plan.part(count)
    assert first.offset == 0
    assert last.end == total
    assert count == 1 or last.offset == (count - 1) * plan.part_size
    assert 0 < last.size <= plan.part_size or total == 0
    assert plan.grown == (plan.part_size != part_size)


@given(
    total=st.integers(min_value=0, max_value=5000),
    part_size=st.integers(min_value=1, max_value=600),
)
def test_small_plans_cover_every_byte_once(total: int, part_size: int) -> None:
    limits = Limits(min_part_size=1, max_part_size=600, max_parts=20)
    if total > limits.max_object_size:
        with pytest.raises(errors.UsageError):
            plan_parts(total, part_size, limits)
        return
    parts = plan_parts(total, part_size, limits).parts()
    assert len(parts) <= limits.max_parts
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))
    assert sum(p.size for p in parts) == total
    for before, after in pairwise(parts):
        assert before.end == after.offset
        assert before.size >= limits.min_part_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8MiB", 8 * MiB),
        ("100KiB", 100 * KiB),
        ("1GiB", GiB),
        ("5MB", 5_000_000),
        ("1kb", 1000),
        ("1048576", 1_048_576),
        (" 1.5 KiB ", 1536),
        ("2M", 2_000_000),
        ("0", 0),
        ("3B", 3),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "8 XiB", "-1", "0.5", "1.5B", "MiB"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(errors.UsageError):
        parse_size(text)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (100 * KiB, "100.0 KiB"),
        (8 * MiB, "8.0 MiB"),
        (5 * GiB, "5.0 GiB"),
        (3 * 1024 * GiB, "3.0 TiB"),
        (5000 * 1024 * GiB, "5000.0 TiB"),
    ],
)
def test_format_size(n: int, text: str) -> None:
    assert format_size(n) == text


@given(n=st.integers(min_value=0, max_value=2**50))
def test_format_size_of_parse_size_of_bytes(n: int) -> None:
    assert parse_size(str(n)) == n
    assert format_size(n)


# --------------------------------------------------------------------------------- errors

SPEC_ERROR = b"""<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The specified key does not exist.</Message>
  <RequestId>6556E3AED11E553933CCDEDF</RequestId>
  <HostId>B.oss-cn-hangzhou.aliyuncs.com</HostId>
  <Key>K</Key>
  <EC>0026-00000001</EC>
  <RecommendDoc>https://api.aliyun.com/troubleshoot?q=0026-00000001</RecommendDoc>
</Error>"""


def test_error_from_body() -> None:
    headers = {"x-oss-request-id": "6556E3AED11E553933CCDEDF", "x-oss-ec": "0026-00000001"}
    err = errors.error_from_response(404, headers, SPEC_ERROR)
    assert type(err) is errors.NoSuchKey
    assert isinstance(err, errors.ServiceError)
    assert isinstance(err, errors.OssError)
    assert (err.status, err.error_code, err.message) == (
        404,
        "NoSuchKey",
        "The specified key does not exist.",
    )
    assert (err.request_id, err.ec, err.host_id) == (
        "6556E3AED11E553933CCDEDF",
        "0026-00000001",
        "B.oss-cn-hangzhou.aliyuncs.com",
    )
    assert err.details == {"Key": "K"}
    assert "NoSuchKey (404)" in str(err)
    assert "6556E3AED11E553933CCDEDF" in str(err)


def test_error_from_x_oss_err_header_for_head() -> None:
    document = (
        b"<Error><Code>NoSuchUpload</Code><Message>gone</Message>"
        b"<RequestId>R1</RequestId><UploadId>U</UploadId><EC>0017-00000244</EC></Error>"
    )
    headers = {"X-Oss-Err": base64.b64encode(document).decode(), "x-oss-ec": "0017-00000244"}
    err = errors.error_from_response(404, headers, b"")
    assert type(err) is errors.NoSuchUpload
    assert (err.request_id, err.ec, err.details) == ("R1", "0017-00000244", {"UploadId": "U"})
    assert err.hint.startswith("The upload was aborted")


def test_error_head_without_anything_falls_back_to_status() -> None:
    err = errors.error_from_response(404, {"x-oss-request-id": "R2", "x-oss-ec": "E"}, b"")
    assert type(err) is errors.NoSuchKey
    assert (err.request_id, err.ec) == ("R2", "E")
    assert type(errors.error_from_response(403, {}, b"")) is errors.AccessDenied
    assert type(errors.error_from_response(503, {}, b"")) is errors.ServiceUnavailable


def test_error_unknown_code() -> None:
    body = b"<Error><Code>BrandNewCode</Code><Message>new</Message><Extra>1</Extra></Error>"
    err = errors.error_from_response(400, {}, body)
    assert type(err) is errors.ServiceError
    assert (err.error_code, err.status, err.message, err.hint) == ("BrandNewCode", 400, "new", "")
    assert err.details == {"Extra": "1"}


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (502, b"<html><body>Bad Gateway</body></html>", errors.ServiceError, "HTTP502"),
        (500, b"not xml at all", errors.InternalError, "InternalError"),
        (400, b"<Error><Code>", errors.ServiceError, "HTTP400"),
    ],
)
def test_error_garbage_body(
    status: int, body: bytes, cls: type[errors.ServiceError], code: str
) -> None:
    err = errors.error_from_response(status, {}, body)
    assert type(err) is cls
    assert (err.status, err.error_code) == (status, code)
    assert body[:10].decode() in err.message


def test_error_bad_x_oss_err_header() -> None:
    err = errors.error_from_response(404, {"x-oss-err": "%%% not base64"}, b"")
    assert isinstance(err, errors.ServiceError)
    assert err.status == 404


@pytest.mark.parametrize(("code", "spec"), sorted(errors.ERROR_CODES.items()))
def test_every_known_code_has_its_class(code: str, spec: errors.ErrorCode) -> None:
    cls = errors.error_class(code)
    assert cls.code == code
    assert cls.__name__ == code
    raised = cls()
    assert (raised.status, raised.error_code, raised.message) == (spec.status, code, spec.message)


def test_status_and_code_pairs_from_spec() -> None:
    expected = {
        "NoSuchUpload": 404,
        "NoSuchKey": 404,
        "NoSuchBucket": 404,
        "InvalidPart": 400,
        "InvalidPartOrder": 400,
        "EntityTooSmall": 400,
        "InvalidDigest": 400,
        "FileAlreadyExists": 409,
        "InvalidRange": 416,
        "SignatureDoesNotMatch": 403,
    }
    assert {code: errors.ERROR_CODES[code].status for code in expected} == expected


def test_usage_error_is_a_value_error() -> None:
    assert issubclass(errors.UsageError, ValueError)
    assert issubclass(errors.UsageError, errors.OssError)
    assert issubclass(errors.ResponseError, errors.OssError)
    assert not issubclass(errors.ResponseError, errors.ServiceError)


def test_a_part_size_of_zero_is_refused_not_replaced_by_the_default() -> None:
    from ossnb.protocol.errors import UsageError
    from ossnb.protocol.parts import OSS_LIMITS
    from ossnb.upload.plan import make_plan

    with pytest.raises(UsageError, match="part"):
        make_plan("x", 10 * 1024 * 1024, 0, 4, OSS_LIMITS)
    assert make_plan("x", 10 * 1024 * 1024, None, 4, OSS_LIMITS)[0].part_size == 8 * 1024 * 1024
