"""``checksum="crc64"``: no MD5 anywhere, integrity from CRC-64, corruption still caught.

A part whose bytes change on the way is produced for real: :class:`CorruptingProxy` sits
between the client and the emulator on real sockets and flips one byte of a chosen
UploadPart body, as a faulty network device would. The emulator stores what it got,
its CRC-64 no longer matches the local one, and the part must be sent again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from conftest import ServerHandle
from session_fixtures import (  # noqa: F401 - fixtures
    PART,
    Tamper,
    bucket_fixture,
    client_fixture,
    make_client,
    run_cli,
    sdk_read,
    server_env,
    source_fixture,
)

from ossnb.client.client import Client
from ossnb.protocol.errors import IntegrityError, NoSuchKey, UsageError
from ossnb.protocol.models import UploadPartResult
from ossnb.protocol.operations import HeadObject, Operation
from ossnb.upload.ledger import PartState
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.session import UploadSession


class CorruptingProxy:
    """A loopback TCP proxy that forwards HTTP/1.1 requests, flipping the first body byte
    of the first ``times`` requests whose request line contains ``marker``."""

    def __init__(self, upstream: tuple[str, int], marker: bytes, times: int = 1) -> None:
        self.upstream, self.marker, self.left = upstream, marker, times
        self.corrupted = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self._listener.accept()
            except OSError:
                return
            up = socket.create_connection(self.upstream)
            self._sockets += [down, up]
            threading.Thread(target=self._requests, args=(down, up), daemon=True).start()
            threading.Thread(target=self._pipe, args=(up, down), daemon=True).start()

    def _should_corrupt(self, head: bytes) -> bool:
        with self._lock:
            if self.left > 0 and self.marker in head.split(b"\r\n", 1)[0]:
                self.left -= 1
                self.corrupted += 1
                return True
        return False

    def _requests(self, down: socket.socket, up: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = down.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    chunk = down.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = bytearray(buffer[:length]), buffer[length:]
                if length and self._should_corrupt(head):
                    body[0] ^= 0xFF
                up.sendall(head + b"\r\n\r\n" + bytes(body))
        except OSError:
            return
        finally:
            _shut(up)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            _shut(sink)

    def close(self) -> None:
        self._listener.close()
        for s in self._sockets:
            _shut(s)
            s.close()


def _shut(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)


@pytest.fixture(name="proxy_for")
def proxy_fixture(server: ServerHandle) -> Iterator[Callable[..., tuple[CorruptingProxy, Client]]]:
    made: list[tuple[CorruptingProxy, Client]] = []

    def make(marker: bytes, times: int = 1) -> tuple[CorruptingProxy, Client]:
        proxy = CorruptingProxy(("127.0.0.1", server.port), marker, times)
        via = dataclasses.replace(server, endpoint=f"http://127.0.0.1:{proxy.port}")
        made.append((proxy, make_client(via)))
        return made[-1]

    yield make
    for proxy, client in made:
        client.close()
        proxy.close()


def _session(transport: Any, path: Path, bucket: str, key: str, **options: Any) -> UploadSession:
    return UploadSession(
        transport, path, bucket, key, part_size=PART, workers=2, checkpoint=None, **options
    )


def test_crc64_mode_sends_no_md5_and_records_the_servers_etag(
    client: Client, bucket: str, source: tuple[Path, bytes], server: ServerHandle
) -> None:
    path, data = source
    session = _session(client, path, bucket, "crc", checksum="crc64")
    session.start()
    receipt = session.wait(60)
    assert receipt.verified
    assert sdk_read(server, bucket, "crc") == data
    uploads = [e for e in session.transcript() if e.operation == "UploadPart"]
    assert len(uploads) == session.plan.part_count
    for exchange in uploads:
        assert "content-md5" not in {k.lower() for k in exchange.request_headers}
    for row in session.snapshot().rows:
        assert row.md5 is None and row.etag and row.crc64 is not None
    # the default still sends Content-MD5 on every part
    md5 = _session(client, path, bucket, "md5")
    md5.start()
    md5.wait(60)
    sent = [e for e in md5.transcript() if e.operation == "UploadPart"]
    assert all("content-md5" in {k.lower() for k in e.request_headers} for e in sent)
    assert [r.etag for r in md5.snapshot().rows] == [r.etag for r in session.snapshot().rows]


def test_crc64_mode_resends_a_part_corrupted_on_the_way(
    proxy_for: Callable[..., tuple[CorruptingProxy, Client]],
    client: Client,
    bucket: str,
    source: tuple[Path, bytes],
    server: ServerHandle,
) -> None:
    path, data = source
    proxy, via = proxy_for(b"partNumber=2&")
    session = _session(via, path, bucket, "flipped", checksum="crc64")
    session.start()
    receipt = session.wait(60)
    assert proxy.corrupted == 1, "the proxy altered part 2 once"
    assert receipt.verified
    row = session.row(2)
    assert row.state is PartState.DONE and row.attempts == 2, "part 2 detected and sent again"
    assert all(session.row(n).attempts == 1 for n in range(3, session.plan.part_count + 1))
    assert sdk_read(server, bucket, "flipped") == data


def test_crc64_mode_gives_up_on_a_part_corrupted_every_time(
    proxy_for: Callable[..., tuple[CorruptingProxy, Client]],
    client: Client,
    bucket: str,
    source: tuple[Path, bytes],
) -> None:
    path, _ = source
    proxy, via = proxy_for(b"partNumber=3&", times=100)
    session = _session(via, path, bucket, "broken", checksum="crc64", part_attempts=2)
    session.start()
    with pytest.raises(IntegrityError, match="part 3: OSS computed CRC-64"):
        session.wait(60)
    assert proxy.corrupted == 2 and session.row(3).state is PartState.FAILED
    with pytest.raises(NoSuchKey):
        client.execute(HeadObject(bucket, "broken"))


def test_crc64_mode_needs_the_servers_crc(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, _ = source

    def no_crc(operation: Operation[Any], result: Any) -> Any:
        if isinstance(result, UploadPartResult):
            return msgspec.structs.replace(result, crc64=None)
        return result

    session = _session(Tamper(client, no_crc), path, bucket, "nocrc", checksum="crc64")
    session.start()
    with pytest.raises(IntegrityError, match="no x-oss-hash-crc64ecma"):
        session.wait(60)
    failed = [r for r in session.snapshot().rows if r.state is PartState.FAILED]
    assert failed and all(r.attempts == 1 for r in failed), "not re-sent: it cannot help"
    # in MD5 mode the ETag still checks every part
    md5 = _session(Tamper(client, no_crc), path, bucket, "nocrc-md5")
    md5.start()
    assert md5.wait(60).verified


def test_an_unknown_checksum_mode_is_refused(client: Client, bucket: str, tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    with pytest.raises(UsageError, match="checksum='sha1' is not a checksum mode"):
        _session(client, path, bucket, "k", checksum="sha1")


def test_cli_checksum_crc64(server: ServerHandle, bucket: str, work_dir: Path) -> None:
    path = work_dir / "cli.bin"
    data = bytes(range(256)) * 1200
    path.write_bytes(data)
    url = f"oss://{bucket}/cli.bin"
    args = ("upload", str(path), url, "--part-size", "100KiB", "--no-checkpoint")
    result = run_cli(*args, "--checksum", "crc64", env=server_env(server))
    assert result.returncode == 0, result.stderr
    assert sdk_read(server, bucket, "cli.bin") == data
    wrong = run_cli(*args, "--checksum", "sha1", env=server_env(server))
    assert wrong.returncode == 2 and "invalid choice: 'sha1'" in wrong.stderr
    with make_client(server) as c:
        assert list_all_uploads(c, bucket) == []
