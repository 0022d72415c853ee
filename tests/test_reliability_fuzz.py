"""Property-based fuzzing (issue: "Hostile requests", last point).

* the client's XML response parsers: any body gives a result or :class:`ResponseError`;
* the emulator's Complete-body parser: a part list or ``MalformedXML``;
* the emulator's request handling, in process: any method, request-target, headers and
  body give an OSS error document with a 2xx-4xx status, never a 500 (an unexpected
  exception) nor a crash;
* signature canonicalisation: a random request signed (V1, V4) verifies, and changing
  any signed element makes it fail.

Complements ``test_models_xml.py`` (round trips of random keys and part lists) and
``test_signing_oracle.py`` (ossnb's signatures equal both official SDKs').
"""

from __future__ import annotations

import contextlib
import http.client
import io
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_ledger import Scenario, scenario_fixture  # noqa: F401 - fixture

from ossnb.emulator import Emulator
from ossnb.emulator import multipart as emulator_multipart
from ossnb.emulator.app import Incoming
from ossnb.protocol import errors
from ossnb.protocol.http import Request, Response
from ossnb.protocol.operations import (
    CompleteMultipartUpload,
    GetBucketInfo,
    InitiateMultipartUpload,
    ListMultipartUploads,
    ListObjectsV2,
    ListParts,
    Operation,
)
from ossnb.protocol.signing import Credentials, sign_v1, sign_v4, verify

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

PARSERS: list[Operation[Any]] = [
    ListObjectsV2("bkt"),
    GetBucketInfo("bkt"),
    InitiateMultipartUpload("bkt", "k"),
    CompleteMultipartUpload("bkt", "k", "U", [(1, '"e"')]),
    ListMultipartUploads("bkt"),
    ListParts("bkt", "k", "U"),
]
TAGS = [
    "ListBucketResult", "BucketInfo", "Bucket", "InitiateMultipartUploadResult",
    "CompleteMultipartUploadResult", "ListMultipartUploadsResult", "ListPartsResult",
    "Upload", "Part", "Contents", "Key", "UploadId", "PartNumber", "ETag", "Size",
    "LastModified", "IsTruncated", "NextPartNumberMarker", "MaxParts", "NextKeyMarker",
    "NextUploadIdMarker", "KeyCount", "EncodingType", "HashCrc64ecma", "Location",
    "Name", "CreationDate", "ContinuationToken", "NextContinuationToken",
]  # fmt: skip


def _xml_tree(depth: int = 3) -> st.SearchStrategy[ET.Element]:
    text = st.one_of(
        st.none(),
        st.sampled_from(["", "0", "1", "-1", "true", "false", "99999999999999999999",
                         "2024-01-15T08:30:00.000Z", '"abc"', "url%2Fenc", "x" * 300]),
        st.text(max_size=20),
    )  # fmt: skip

    def build(tag: str, body: str | None, children: list[ET.Element]) -> ET.Element:
        node = ET.Element(tag)
        node.text = "".join(c for c in body or "" if c.isprintable()) or None
        node.extend(children)
        return node

    leaf = st.builds(build, st.sampled_from(TAGS), text, st.just([]))
    return st.recursive(
        leaf,
        lambda kids: st.builds(build, st.sampled_from(TAGS), text, st.lists(kids, max_size=5)),
        max_leaves=25,
    )


BODIES = st.one_of(
    st.binary(max_size=300),
    _xml_tree().map(lambda e: ET.tostring(e)),
    st.sampled_from(
        [
            b"",
            b"<?xml version='1.0'?>",
            b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><ListPartsResult>&e;</ListPartsResult>',
            b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Key>&b;</Key>',
            b"<ListPartsResult><Part><PartNumber>1</PartNumber></Part>",
            b"\xff\xfe<\x00a\x00/\x00>\x00",
        ]
    ),
)


@FUZZ
@given(body=BODIES, operation=st.sampled_from(PARSERS))
def test_response_parsers_never_crash(body: bytes, operation: Operation[Any]) -> None:
    try:
        operation.parse(Response(200, {"content-type": "application/xml"}, body))
    except errors.ResponseError as exc:
        assert str(exc) and "\n" not in str(exc)[:200]


@FUZZ
@given(body=BODIES)
def test_the_emulators_complete_body_parser_never_crashes(body: bytes) -> None:
    try:
        parts = emulator_multipart._listed_parts(body)
    except errors.MalformedXML:
        return
    assert parts and all(isinstance(n, int) and isinstance(e, str) for n, e in parts)


def test_fuzz_scenarios_are_counted(scenario: Scenario) -> None:
    """The hypothesis tests above cannot take function-scoped fixtures; count them here."""
    scenario("fuzz: XML response parsers (hypothesis)")
    scenario("fuzz: emulator Complete-body parser (hypothesis)")
    test_response_parsers_never_crash()
    test_the_emulators_complete_body_parser_never_crashes()


# -- the emulator's request handling -----------------------------------------------------


class _Body:
    """A request body already in memory, with the framing a server would report."""

    def __init__(self, data: bytes, declared: int | None) -> None:
        self._data = io.BytesIO(data)
        self._declared = declared

    @property
    def declared(self) -> int | None:
        return self._declared

    @property
    def chunked(self) -> bool:
        return self._declared is None and bool(self._data.getbuffer().nbytes)

    @property
    def present(self) -> bool:
        return self._declared is not None or self.chunked

    def chunks(self, limit: int) -> Iterator[memoryview]:
        data = self.read_all(limit)
        if data:
            yield memoryview(data)

    def read_all(self, limit: int) -> bytes:
        data = self._data.read(limit + 1)
        if len(data) > limit:
            raise errors.EntityTooLarge()
        return data

    def discard(self, count: int) -> None:
        self._data.read(count)


@pytest.fixture(name="emulator", scope="module")
def emulator_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emulator = Emulator(tmp_path_factory.mktemp("fuzz") / "data", auth=False, buckets=["fuzz"])
    emulator.start()
    yield emulator
    emulator.stop()


SEGMENT = st.one_of(
    st.sampled_from(["fuzz", "k", "..", ".", "%2e%2E", "%00", "%ZZ", "%", "a%2Fb", "", "~"]),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
)
QUERY = st.lists(
    st.tuples(
        st.sampled_from(["uploads", "uploadId", "partNumber", "prefix", "max-keys", "max-parts",
                         "part-number-marker", "key-marker", "upload-id-marker", "marker",
                         "continuation-token", "list-type", "encoding-type", "delimiter",
                         "bucketInfo", "location", "objectMeta", "acl", "x"]),
        st.sampled_from(["", "1", "0", "-1", "10001", "abc", "%00", "1e3", "9" * 30, "url"]),
    ),
    max_size=4,
)  # fmt: skip
HEADERS = st.lists(
    st.tuples(
        st.sampled_from(["Host", "Content-MD5", "Content-Type", "Range", "x-oss-meta-a",
                         "x-oss-forbid-overwrite", "x-oss-copy-source", "Content-Length",
                         "x-oss-object-acl", "If-Match", "Expect", "x-oss-date", "Date"]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    ),
    max_size=4,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS", "get"]),
    segments=st.lists(SEGMENT, max_size=4),
    query=QUERY,
    headers=HEADERS,
    body=st.one_of(st.binary(max_size=200), BODIES),
    declared=st.booleans(),
)
def test_the_emulator_answers_any_request_without_an_internal_error(
    emulator: Emulator,
    method: str,
    segments: list[str],
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    body: bytes,
    declared: bool,
) -> None:
    target = "/" + "/".join(segments)
    if query:
        target += "?" + "&".join(f"{k}={v}" if v else k for k, v in query)
    incoming = Incoming(method, target, headers, _Body(body, len(body) if declared else None))
    reply = emulator.app.handle(incoming)
    # 501 NotImplemented is OSS's answer to a sub-resource the emulator does not serve.
    assert 200 <= reply.status < 500 or reply.status == 501, (reply.status, method, target)
    assert reply.headers.get("x-oss-request-id")


def test_request_fuzz_is_counted(scenario: Scenario, emulator: Emulator) -> None:
    scenario("fuzz: emulator request handling (hypothesis)")
    test_the_emulator_answers_any_request_without_an_internal_error(emulator)


# -- signature canonicalisation ------------------------------------------------------------

T0 = datetime(2024, 1, 15, 8, 30, tzinfo=timezone.utc)
CREDS = Credentials("fuzz-ak", "fuzz-secret")
KEY_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30
).filter(lambda k: k[0] not in "/\\")
REQUESTS = st.builds(
    lambda method, key, query, meta: Request(
        method, "fuzz-bucket", key, tuple(query), {"x-oss-meta-a": meta} if meta else {}
    ),
    st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]),
    KEY_TEXT,
    st.lists(
        st.tuples(
            st.sampled_from(["uploadId", "partNumber", "prefix", "x-a"]), st.text(max_size=10)
        ),
        max_size=3,
        unique_by=lambda p: p[0],
    ),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=10),
)


def _tamper(request: Request, how: str) -> Request:
    if how == "method":
        return Request("PATCH", request.bucket, request.key, request.query, request.headers)
    if how == "key":
        key = (request.key or "") + "x"
        return Request(request.method, request.bucket, key, request.query, request.headers)
    if how == "meta":
        headers = dict(request.headers)
        headers["x-oss-meta-a"] = headers.get("x-oss-meta-a", "") + "!"
        return Request(request.method, request.bucket, request.key, request.query, headers)
    if how == "query":  # V4 signs every parameter; V1 only sub-resources such as uploadId
        query = (*((k, v) for k, v in request.query if k != "uploadId"), ("uploadId", "Z"))
        return Request(request.method, request.bucket, request.key, query, request.headers)
    raise AssertionError(how)


@FUZZ
@given(
    request=REQUESTS,
    version=st.sampled_from(["v1", "v4"]),
    how=st.sampled_from(["method", "key", "meta", "query"]),
)
def test_signatures_verify_and_any_change_breaks_them(
    request: Request, version: str, how: str
) -> None:
    if version == "v4":
        signed = sign_v4(request, CREDS, "cn-hangzhou", T0).request
    else:
        signed = sign_v1(request, CREDS, T0).request
    lookup = {"fuzz-ak": "fuzz-secret"}.get
    now = T0 + timedelta(seconds=1)
    assert verify(signed, lookup, now, region="cn-hangzhou") == "fuzz-ak"
    with pytest.raises(errors.ServiceError) as refused:
        verify(_tamper(signed, how), lookup, now, region="cn-hangzhou")
    assert refused.value.status in {400, 403}


def test_signature_fuzz_is_counted(scenario: Scenario) -> None:
    scenario("fuzz: signature canonicalisation (hypothesis)")
    test_signatures_verify_and_any_change_breaks_them()


# -- the emulator's HTTP framing, over a real socket ----------------------------------------

LINE = st.one_of(
    st.sampled_from([b"GET / HTTP/1.1", b"PUT /fuzz/k HTTP/1.1", b"POST /fuzz/k?uploads HTTP/1.1",
                     b"GET /fuzz/k HTTP/1.0", b"BREW /pot HTTP/1.1", b"GET", b"", b"GET / HTTP/9.9",
                     b"GET /" + b"a" * 9000 + b" HTTP/1.1"]),
    st.binary(max_size=40),
)  # fmt: skip
RAW_HEADERS = st.lists(
    st.one_of(
        st.sampled_from([b"Content-Length: 5", b"Content-Length: -1", b"Content-Length: 99999999999",
                         b"Content-Length: 1, 2", b"Transfer-Encoding: chunked",
                         b"Transfer-Encoding: gzip, chunked", b"Expect: 100-continue",
                         b"Host: fuzz.localhost", b"Content-Length: abc", b": no name",
                         b"X-Folded: a\r\n  b", b"Connection: close"]),
        st.binary(max_size=30).filter(lambda b: b"\n" not in b),
    ),
    max_size=5,
)  # fmt: skip
RAW_BODY = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"5\r\nhello\r\n0\r\n\r\n", b"zz\r\n", b"ffffffffffff\r\nx", b"0\r\n\r\n"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(line=LINE, headers=RAW_HEADERS, body=RAW_BODY)
def test_the_emulator_survives_any_bytes_on_the_wire(
    emulator: Emulator, line: bytes, headers: list[bytes], body: bytes
) -> None:
    payload = line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=2) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)  # end of input: the server must not wait for more
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    statuses = [int(s) for s in re.findall(rb"^HTTP/1\.[01] (\d{3}) ", answer, re.MULTILINE)]
    assert 500 not in statuses, answer[:300]
    # ... and it still serves a well-formed request afterwards.
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=2)
    conn.request("HEAD", "/fuzz")
    assert conn.getresponse().status in {200, 404, 405}
    conn.close()


def test_wire_fuzz_is_counted(scenario: Scenario, emulator: Emulator) -> None:
    scenario("fuzz: emulator HTTP framing over a socket (hypothesis)")
    test_the_emulator_survives_any_bytes_on_the_wire(emulator)
