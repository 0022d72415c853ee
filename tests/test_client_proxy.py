"""Through an HTTP proxy, as ``HTTP_PROXY`` / ``NO_PROXY`` say (as curl and oss2 read them).

A real forward proxy on a socket (below) takes absolute-form requests for a host name
that does not resolve (``oss-proxied.invalid``): only through the proxy can the client
reach the emulator at all. It checks the ``Proxy-Authorization`` the environment's URL
carries and records each request line.
"""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ServerHandle
from session_fixtures import MiB, make_file

from ossnb.client.client import Client
from ossnb.client.proxy import proxy_for
from ossnb.protocol.errors import TransportError
from ossnb.protocol.operations import GetObject, PutBucket, PutObject
from ossnb.protocol.signing import Credentials
from ossnb.upload.session import UploadSession

HOST = "oss-proxied.invalid"  # .invalid never resolves (RFC 2606)
USER, PASSWORD = "alice", "p@ss:word"


class ForwardProxy:
    """One request per connection: forwarded to ``upstream`` with ``Connection: close``,
    the answer relayed back with ``Connection: close``."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.lines: list[str] = []
        self.auth: list[str | None] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = [h.split(":", 1) for h in header_lines]
            fields = {k.strip().lower(): v.strip() for k, v in headers}
            length = int(fields.get("content-length", "0"))
            while len(body) < length:
                body += conn.recv(65536)
            self.lines.append(line)
            self.auth.append(fields.get("proxy-authorization"))
            method, target, version = line.split(" ")
            path = "/" + target.split("://", 1)[1].split("/", 1)[1]
            kept = [
                f"{k}:{v}"
                for k, v in headers
                if k.strip().lower() not in ("proxy-authorization", "connection")
            ]
            upstream_head = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close"])
            with socket.create_connection(self.upstream) as up:
                up.sendall(upstream_head.encode("latin-1") + b"\r\n\r\n" + body)
                answer = b""
                while chunk := up.recv(65536):
                    answer += chunk
            answer_head, _, answer_body = answer.partition(b"\r\n\r\n")
            kept_answer = [
                h for h in answer_head.split(b"\r\n") if not h.lower().startswith(b"connection:")
            ]
            conn.sendall(b"\r\n".join([*kept_answer, b"Connection: close"]) + b"\r\n\r\n")
            conn.sendall(answer_body)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def proxy(server: ServerHandle) -> Iterator[ForwardProxy]:
    made = ForwardProxy(("127.0.0.1", server.port))
    yield made
    made.close()


def _client(server: ServerHandle, endpoint: str) -> Client:
    credentials = Credentials(server.access_key_id, server.access_key_secret)
    return Client(endpoint, credentials, region=server.region, path_style=True)


def test_requests_go_through_the_proxy_named_by_http_proxy(
    server: ServerHandle,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    bucket_name: str,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://{USER}:p%40ss%3Aword@127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    endpoint = f"http://{HOST}:{server.port}"
    with _client(server, endpoint) as client:
        assert PASSWORD not in repr(client) and "p%40ss" not in repr(client)
        client.execute(PutBucket(bucket_name))
        client.execute(PutObject(bucket_name, "small", b"through the proxy"))
        assert client.execute(GetObject(bucket_name, "small")).body == b"through the proxy"
        path = tmp_path / "big.bin"
        data = make_file(path, 2 * MiB + 5, seed=4)
        session = UploadSession(
            client, path, bucket_name, "big", part_size=MiB, checkpoint=None, checksum="crc64"
        )
        session.start()
        assert session.wait(60).verified
        assert client.execute(GetObject(bucket_name, "big")).body == data
    assert f"PUT http://{HOST}:{server.port}/{bucket_name}/small HTTP/1.1" in proxy.lines
    assert sum(" http://" + HOST in line and "partNumber=" in line for line in proxy.lines) == 3
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert set(proxy.auth) == {expected}, "the URL's credentials, unquoted, on every request"


def test_no_proxy_and_loopback_endpoints_go_direct(
    server: ServerHandle, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", ".invalid,other.example")
    with (
        _client(server, f"http://{HOST}:{server.port}") as client,
        pytest.raises(TransportError, match="ConnectError"),
    ):
        client.execute(PutBucket("never"))
    monkeypatch.setenv("NO_PROXY", "")
    with _client(server, server.endpoint) as client:  # the emulator on 127.0.0.1
        client.execute(PutBucket("direct"))
    assert proxy.lines == [], "NO_PROXY and the loopback endpoint both went direct"
    assert proxy_for("http", "localhost") is None and proxy_for("http", "::1") is None
    assert proxy_for("http", "b.localhost") is None
    assert proxy_for("https", "oss-cn-hangzhou.aliyuncs.com") is None, "no HTTPS_PROXY set"
    monkeypatch.setenv("ALL_PROXY", "proxy.example:3128")
    found = proxy_for("https", "oss-cn-hangzhou.aliyuncs.com")
    assert found is not None and found.url == "http://proxy.example:3128"


def test_a_proxy_that_is_not_there_is_a_transport_error_naming_no_password(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://{USER}:secret-pw@127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "")
    with (
        _client(server, f"http://{HOST}:{server.port}") as client,
        pytest.raises(TransportError) as info,
    ):
        client.execute(PutBucket("none"), retry=False)
    assert "secret-pw" not in str(info.value)
