"""Hostile requests against the emulator (issue: "Hostile requests").

Every route the emulator serves refuses an unsigned, badly signed (wrong secret, V1 and
V4), unknown-key, expired (presigned, V1 and V4) or clock-skewed (V1 and V4) request
with OSS's status and code, and none of them changes anything. Dangerous keys, raw and
percent-encoded, are refused on every object route and never reach the file system.
Already covered elsewhere and only referenced here: XXE / billion laughs / oversized
XML (``test_emulator_http.py::test_hostile_complete_bodies_are_malformed_xml``,
``test_models_xml.py::test_entities_are_refused``), bodies larger than declared or the
limits (``test_oversized_content_length_is_refused_before_reading``,
``test_body_longer_than_declared``, ``test_limits_are_parameters``), loopback binding
(``test_bind_is_loopback_unless_asked``).
"""

from __future__ import annotations

import base64
import http.client
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import ServerHandle
from reliability_ledger import Scenario, scenario_fixture  # noqa: F401 - fixture
from session_fixtures import make_client

from ossnb.client.client import Client
from ossnb.protocol.http import Request, encode_query
from ossnb.protocol.operations import (
    GetObject,
    InitiateMultipartUpload,
    ListParts,
    PutBucket,
    PutObject,
    UploadPart,
)
from ossnb.protocol.signing import Credentials, presign_v1, presign_v4, sign_v1, sign_v4
from ossnb.upload.listing import list_all_uploads


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    level: str  # service, bucket or object
    query: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


ROUTES = [
    Route("ListBuckets", "GET", "service"),
    Route("PutBucket", "PUT", "bucket"),
    Route("ListObjects", "GET", "bucket"),
    Route("GetBucketInfo", "GET", "bucket", (("bucketInfo", ""),)),
    Route("GetBucketLocation", "GET", "bucket", (("location", ""),)),
    Route("ListMultipartUploads", "GET", "bucket", (("uploads", ""),)),
    Route("DeleteBucket", "DELETE", "bucket"),
    Route("PutObject", "PUT", "object", body=b"evil"),
    Route("GetObject", "GET", "object"),
    Route("HeadObject", "HEAD", "object"),
    Route("GetObjectMeta", "HEAD", "object", (("objectMeta", ""),)),
    Route("DeleteObject", "DELETE", "object"),
    Route("InitiateMultipartUpload", "POST", "object", (("uploads", ""),)),
    Route("UploadPart", "PUT", "object", (("partNumber", "2"), ("uploadId", "{u}")), b"evil"),
    Route(
        "CompleteMultipartUpload",
        "POST",
        "object",
        (("uploadId", "{u}"),),
        b"<CompleteMultipartUpload></CompleteMultipartUpload>",
    ),
    Route("AbortMultipartUpload", "DELETE", "object", (("uploadId", "{u}"),)),
    Route("ListParts", "GET", "object", (("uploadId", "{u}"),)),
]

# name -> (status, code)
ATTACKS = {
    "unsigned": (403, "AccessDenied"),
    "v4 wrong secret": (403, "SignatureDoesNotMatch"),
    "v1 wrong secret": (403, "SignatureDoesNotMatch"),
    "v4 unknown key id": (403, "InvalidAccessKeyId"),
    "v4 clock 20 min behind": (403, "RequestTimeTooSkewed"),
    "v1 clock 20 min ahead": (403, "RequestTimeTooSkewed"),
    "v4 presign expired": (403, "AccessDenied"),
    "v1 presign expired": (403, "AccessDenied"),
}


def _sign(attack: str, request: Request, server: ServerHandle) -> Request:
    good = Credentials(server.access_key_id, server.access_key_secret)
    wrong = Credentials(server.access_key_id, server.access_key_secret + "x")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    region = server.region
    if attack == "unsigned":
        return request
    if attack == "v4 wrong secret":
        return sign_v4(request, wrong, region, now).request
    if attack == "v1 wrong secret":
        return sign_v1(request, wrong, now).request
    if attack == "v4 unknown key id":
        return sign_v4(request, Credentials("LTAIunknown", "s"), region, now).request
    if attack == "v4 clock 20 min behind":
        return sign_v4(request, good, region, now - timedelta(minutes=20)).request
    if attack == "v1 clock 20 min ahead":
        return sign_v1(request, good, now + timedelta(minutes=20)).request
    if attack == "v4 presign expired":
        return presign_v4(request, good, region, now - timedelta(minutes=10), 60).request
    if attack == "v1 presign expired":
        return presign_v1(request, good, now - timedelta(seconds=5)).request
    raise AssertionError(attack)


def _send(port: int, request: Request, body: bytes) -> tuple[int, str]:
    target = request.path + (f"?{encode_query(request.query)}" if request.query else "")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(request.method, target, body=body or None, headers=dict(request.headers))
        response = conn.getresponse()
        data = response.read()
        if request.method == "HEAD":
            assert data == b""
            data = base64.b64decode(response.getheader("x-oss-err", ""))
        return response.status, ET.fromstring(data).findtext("Code") or ""
    finally:
        conn.close()


@pytest.fixture(name="victim", scope="module")
def victim_fixture(server: ServerHandle) -> tuple[Client, str, str]:
    """A bucket with an object ``k`` (b"original") and an unfinished upload on ``k``."""
    client = make_client(server)
    bucket = "hostile-victim"
    client.execute(PutBucket(bucket))
    client.execute(PutObject(bucket, "k", b"original"))
    upload = client.execute(InitiateMultipartUpload(bucket, "k")).upload_id
    client.execute(UploadPart(bucket, "k", upload, 1, b"part one"))
    return client, bucket, upload


def _state(client: Client, bucket: str, upload: str) -> tuple[object, ...]:
    parts = client.execute(ListParts(bucket, "k", upload)).parts
    uploads = [(u.key, u.upload_id) for u in list_all_uploads(client, bucket)]
    return client.execute(GetObject(bucket, "k")).body, [p.part_number for p in parts], uploads


@pytest.mark.parametrize("route", ROUTES, ids=[r.operation for r in ROUTES])
def test_every_route_refuses_bad_authentication(
    server: ServerHandle, victim: tuple[Client, str, str], scenario: Scenario, route: Route
) -> None:
    client, bucket, upload = victim
    before = _state(client, bucket, upload)
    query = tuple((k, v.format(u=upload)) for k, v in route.query)
    name = {"service": None, "bucket": bucket, "object": bucket}[route.level]
    key = "k" if route.level == "object" else None
    headers = {"content-type": "application/octet-stream"} if route.body else {}
    for attack, expected in ATTACKS.items():
        scenario(f"hostile: {attack} request refused on every route")
        request = _sign(attack, Request(route.method, name, key, query, headers), server)
        assert _send(server.port, request, route.body) == expected, (route.operation, attack)
    assert _state(client, bucket, upload) == before, "a refused request changed something"


DANGEROUS = [
    ("dot-dot segment", "../escape"),
    ("nested dot-dot", "a/../../etc/passwd"),
    ("percent-encoded dot-dot", "%2E%2E/%2e%2e/escape"),
    ("absolute path", "/etc/passwd"),
    ("backslash dot-dot", "x\\..\\..\\y"),
    ("NUL", "nul%00byte"),
]


@pytest.mark.parametrize(("name", "path_key"), DANGEROUS, ids=[d[0] for d in DANGEROUS])
def test_dangerous_keys_never_escape_on_any_object_route(
    server: ServerHandle,
    victim: tuple[Client, str, str],
    scenario: Scenario,
    name: str,
    path_key: str,
) -> None:
    """Raw request targets (the key as it appears on the wire), signed or not: refused."""
    scenario(f"hostile: key with {name} never escapes")
    _, bucket, upload = victim
    outside = server.data_dir.parent
    before = {p for p in outside.rglob("*") if not p.is_relative_to(server.data_dir)}
    objects = {p for p in server.data_dir.rglob("*")}
    for route in [r for r in ROUTES if r.level == "object"]:
        query = "&".join(f"{k}={v.format(u=upload)}" if v else k for k, v in route.query)
        target = f"/{bucket}/{path_key}" + (f"?{query}" if query else "")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request(route.method, target, body=route.body or None)
        response = conn.getresponse()
        response.read()
        conn.close()
        assert 400 <= response.status < 500, (route.operation, target, response.status)
    after = {p for p in outside.rglob("*") if not p.is_relative_to(server.data_dir)}
    assert after - before <= {server.log_path}
    new = {p for p in server.data_dir.rglob("*")} - objects
    assert all(p.name.endswith(("-wal", "-shm", "-journal")) for p in new), new


def test_dangerous_keys_signed_get_invalid_object_name(
    server: ServerHandle, victim: tuple[Client, str, str], scenario: Scenario
) -> None:
    """Correctly signed, the same keys get OSS's InvalidObjectName (not a path error)."""
    scenario("hostile: signed dangerous keys get InvalidObjectName")
    _, bucket, _ = victim
    good = Credentials(server.access_key_id, server.access_key_secret)
    now = datetime.now(timezone.utc)
    for key in ["../escape", "a/../../b", "nul\x00byte", "/abs", "\\win"]:
        for method in ("PUT", "GET", "DELETE"):
            request = sign_v4(Request(method, bucket, key, (), {}), good, server.region, now)
            status, code = _send(server.port, request.request, b"x" if method == "PUT" else b"")
            assert (status, code) == (400, "InvalidObjectName"), (method, key)


def test_a_wide_bind_is_only_on_request(server: ServerHandle, scenario: Scenario) -> None:
    """The shared server was started without --host: it listens on loopback only."""
    scenario("hostile: binds to loopback unless told otherwise")
    assert server.endpoint.startswith("http://127.0.0.1:")
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port = local.rsplit(":", 1)
            if state == "0A" and int(port, 16) == server.port:  # 0A: LISTEN
                listening.add(address)
    assert listening == {"0100007F"}, listening  # 127.0.0.1, little-endian hex
