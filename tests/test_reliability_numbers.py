"""Malformed and huge numbers in requests: always a 4xx with OSS's code, never a 500.

(And the client's side of the same class: huge numbers in a hostile server's answer.)

Python's ``int()`` refuses strings of more than 4,300 digits with a ``ValueError``; an
unguarded parse of a request field turned that into ``InternalError`` (500) and a logged
traceback, before authentication for ``Expires`` and ``x-oss-expires``. Every numeric
field the emulator reads is tried here over a real socket against a real ``ossnb serve``,
with a number too long for ``int()``, a number too large for a date, and digits that
are not ASCII; at the end its log holds no traceback and no internal error.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from conftest import ServerHandle
from reliability_ledger import Scenario, scenario_fixture  # noqa: F401 - fixture
from session_fixtures import FAST_RETRY, make_client

from ossnb.client.client import Client
from ossnb.protocol.errors import ResponseError
from ossnb.protocol.http import Request, encode_query
from ossnb.protocol.operations import (
    GetObject,
    HeadObject,
    InitiateMultipartUpload,
    PutBucket,
    PutObject,
)
from ossnb.protocol.signing import Credentials, sign_v1, sign_v4

HUGE = "9" * 5000  # past Python's 4,300-digit int() limit
BUCKET = "numbers"


def _raw(
    server: ServerHandle, method: str, target: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, str]:
    """Send one raw request; ``(status, OSS error code or "")``."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"127.0.0.1:{server.port}")
        for name, value in headers.items():
            conn.putheader(name, value)
        if body or method in ("PUT", "POST"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        data = response.read()
        if method == "HEAD" and response.getheader("x-oss-err"):
            data = base64.b64decode(response.getheader("x-oss-err", ""))
        code = ET.fromstring(data).findtext("Code") or "" if data.startswith(b"<?xml") else ""
        return response.status, code
    finally:
        conn.close()


def _signed(
    server: ServerHandle,
    method: str,
    key: str | None,
    query: tuple[tuple[str, str], ...] = (),
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, str]:
    credentials = Credentials(server.access_key_id, server.access_key_secret)
    request = Request(method, BUCKET, key, query, headers or {})
    signed = sign_v4(request, credentials, server.region, datetime.now(timezone.utc)).request
    target = signed.path + (f"?{encode_query(signed.query)}" if signed.query else "")
    return _raw(server, method, target, dict(signed.headers), body)


def _unsigned(server: ServerHandle, target: str, headers: dict[str, str] | None = None) -> object:
    return _raw(server, "GET", target, headers or {})


@pytest.fixture(name="numbers_server")
def numbers_server_fixture(server_factory: Callable[..., ServerHandle]) -> ServerHandle:
    server = server_factory("--verbose")
    client = make_client(server)
    client.execute(PutBucket(BUCKET))
    client.execute(PutObject(BUCKET, "k", b"0123456789"))
    return server


def _expires_v1(value: str) -> str:
    return f"/{BUCKET}/k?OSSAccessKeyId=ossnb-dev-key&Expires={value}&Signature=x"


def _expires_v4(value: str, date: str = "20240101T000000Z") -> str:
    credential = urllib.parse.quote(f"ossnb-dev-key/{date[:8]}/cn-hangzhou/oss/aliyun_v4_request")
    return (
        f"/{BUCKET}/k?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential={credential}"
        f"&x-oss-date={date}&x-oss-expires={value}&x-oss-signature=00"
    )


# (label, how to send it, expected (status, code)). Unauthenticated ones first.
CASES: list[tuple[str, Callable[[ServerHandle], object], tuple[int, str]]] = [
    (
        "V1 presigned Expires, 5000 digits",
        lambda s: _unsigned(s, _expires_v1(HUGE)),
        (400, "InvalidArgument"),
    ),
    (
        "V1 presigned Expires, Unicode digits",
        lambda s: _unsigned(s, _expires_v1(urllib.parse.quote("١٢٣"))),
        (400, "InvalidArgument"),
    ),
    (
        "V4 presigned x-oss-expires, 5000 digits",
        lambda s: _unsigned(s, _expires_v4(HUGE)),
        (400, "InvalidArgument"),
    ),
    (
        "V4 presigned x-oss-date in year 9999 (a date past the calendar once expired)",
        lambda s: _unsigned(s, _expires_v4("604800", "99991231T235959Z")),
        (403, "RequestTimeTooSkewed"),
    ),
    (
        "V1 Date header in year 9999999999",
        lambda s: _unsigned(
            s,
            f"/{BUCKET}/k",
            {"Date": "Mon, 01 Jan 9999999999 00:00:00 GMT", "Authorization": "OSS a:b"},
        ),
        (403, "AccessDenied"),
    ),
    (
        "V1 Date header, 5000-digit zone offset",
        lambda s: _unsigned(
            s,
            f"/{BUCKET}/k",
            {"Date": f"Mon, 01 Jan 2024 00:00:00 +{HUGE}", "Authorization": "OSS a:b"},
        ),
        (403, "RequestTimeTooSkewed"),  # the offset is ignored; 2024 is long past
    ),
    (
        "Content-Length, 5000 digits",
        lambda s: _raw(s, "PUT", f"/{BUCKET}/k", {"Content-Length": HUGE}),
        (400, "InvalidArgument"),
    ),
    (
        "Range start, 5000 digits (ignored: whole object)",
        lambda s: _signed(s, "GET", "k", headers={"range": f"bytes={HUGE}-"}),
        (200, ""),
    ),
    (
        "Range end, 5000 digits, standard behaviour (clamped)",
        lambda s: _signed(
            s, "GET", "k", headers={"range": f"bytes=2-{HUGE}", "x-oss-range-behavior": "standard"}
        ),
        (206, ""),
    ),
    (
        "Range start, 5000 digits, standard behaviour",
        lambda s: _signed(
            s, "GET", "k", headers={"range": f"bytes={HUGE}-", "x-oss-range-behavior": "standard"}
        ),
        (416, "InvalidRange"),
    ),
    (
        "Range suffix, 5000 digits",
        lambda s: _signed(s, "GET", "k", headers={"range": f"bytes=-{HUGE}"}),
        (200, ""),
    ),
    (
        "If-Modified-Since in year 9999999999 (ignored)",
        lambda s: _signed(
            s, "GET", "k", headers={"if-modified-since": "Mon, 01 Jan 9999999999 00:00:00 GMT"}
        ),
        (200, ""),
    ),
    (
        "max-keys, 5000 digits",
        lambda s: _signed(s, "GET", None, (("max-keys", HUGE),)),
        (400, "InvalidArgument"),
    ),
    (
        "partNumber, 5000 digits",
        lambda s: _signed(s, "PUT", "k", (("partNumber", HUGE), ("uploadId", "u")), body=b"x"),
        (400, "InvalidArgument"),
    ),
    (
        "x-oss-copy-source-range, 5000 digits",
        lambda s: _copy_part(s, f"bytes=0-{HUGE}"),
        (400, "InvalidArgument"),
    ),
    (
        "x-oss-copy-source-range start, 5000 digits",
        lambda s: _copy_part(s, f"bytes={HUGE}-{HUGE}"),
        (400, "InvalidArgument"),
    ),
]


def _copy_part(server: ServerHandle, wanted: str) -> tuple[int, str]:
    upload = make_client(server).execute(InitiateMultipartUpload(BUCKET, "copy")).upload_id
    headers = {"x-oss-copy-source": f"/{BUCKET}/k", "x-oss-copy-source-range": wanted}
    return _signed(server, "PUT", "copy", (("partNumber", "1"), ("uploadId", upload)), headers)


@pytest.mark.parametrize(("label", "send", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_huge_or_malformed_number_is_a_4xx_not_a_500(
    numbers_server: ServerHandle,
    scenario: Scenario,
    label: str,
    send: Callable[[ServerHandle], object],
    expected: tuple[int, str],
) -> None:
    scenario("emulator: a huge or malformed number in a request is a 4xx, never a 500")
    assert send(numbers_server) == expected, label
    log = numbers_server.log()
    assert "Traceback" not in log and "internal error" not in log, log[-2000:]


def test_v1_signed_requests_with_sane_numbers_still_work(
    numbers_server: ServerHandle, scenario: Scenario
) -> None:
    """The guards refuse only what is malformed: a V1 header signature and ranges work."""
    scenario("emulator: a huge or malformed number in a request is a 4xx, never a 500")
    credentials = Credentials(numbers_server.access_key_id, numbers_server.access_key_secret)
    request = Request("GET", BUCKET, "k", (), {"range": "bytes=0002-0004"})
    signed = sign_v1(request, credentials, datetime.now(timezone.utc)).request
    assert _raw(numbers_server, "GET", signed.path, dict(signed.headers)) == (206, "")


class _HostileServer(http.server.BaseHTTPRequestHandler):
    """Answers every GET/HEAD with a 5000-digit object size and multipart ETag."""

    protocol_version = "HTTP/1.1"

    def _answer(self, body: bytes) -> None:
        self.send_response(206 if self.command == "GET" else 200)
        self.send_header("Content-Length", "2")
        self.send_header("Content-Range", f"bytes 0-1/{HUGE}")
        self.send_header("ETag", f'"{"A" * 32}-{HUGE}"')
        self.send_header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(b"ab")

    def do_HEAD(self) -> None:
        self._answer(b"")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_hostile_servers_huge_numbers_are_a_response_error(scenario: Scenario) -> None:
    """The client's side of the same class: a 5000-digit Content-Range total is a
    ResponseError (it was a bare ValueError), a 5000-digit multipart ETag counts no parts."""
    scenario("client: a hostile server's huge numbers are a ResponseError, never a crash")
    hostile = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HostileServer)
    threading.Thread(target=hostile.serve_forever, daemon=True).start()
    try:
        client = Client(
            f"http://127.0.0.1:{hostile.server_address[1]}",
            Credentials("LTAIkey", "secret"),
            region="cn-hangzhou",
            retry=FAST_RETRY,
        )
        with pytest.raises(ResponseError, match="Content-Range"):
            client.execute(GetObject("b-hostile", "k", range=(0, 1)))
        assert client.execute(HeadObject("b-hostile", "k")).part_count is None
    finally:
        hostile.shutdown()
        hostile.server_close()
