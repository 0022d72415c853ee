"""``checksum="crc64"`` over plain HTTP sends a file's pieces with ``os.sendfile``.

Each 1 MiB piece is still read into the worker's buffer and added to the part's CRC-64,
but the bytes go from the file to the socket in the kernel, not from that buffer: one
copy of every byte fewer. What went out is whatever the file held at that moment, so
the server's ``x-oss-hash-crc64ecma`` against the local CRC-64 is what ties the two
together; these tests show a file changed or cut short in between is caught, and that
TLS connections, MD5 mode and in-memory sources keep sending from memory.

``os.sendfile`` is wrapped by a spy that calls the real function (and, in two tests,
first changes the file, which is the race the design must survive).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ServerHandle
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from session_fixtures import (  # noqa: F401 - fixtures
    KiB,
    MiB,
    bucket_fixture,
    client_fixture,
    make_client,
    make_file,
    sdk_read,
    server_with_faults,
    wait_for,
)

from ossnb.client.client import Client
from ossnb.protocol.errors import NoSuchKey
from ossnb.protocol.operations import HeadObject
from ossnb.upload.ledger import PartState
from ossnb.upload.session import UploadSession
from ossnb.upload.source import SourceChangedError

PART = 2 * MiB + 512 * KiB  # pieces of 1 MiB, 1 MiB, 512 KiB: two go by sendfile

pytestmark = pytest.mark.skipif(not hasattr(os, "sendfile"), reason="no os.sendfile here")


class SendfileSpy:
    """Counts what ``os.sendfile`` sends; ``before(fd, offset)`` runs first on each call."""

    def __init__(self, before: Callable[[int, int], None] | None = None) -> None:
        self.calls = 0
        self.sent = 0
        self.blocked = 0  # calls the socket's full buffers turned away (EAGAIN)
        self.before = before
        self._real = os.sendfile
        self._lock = threading.Lock()

    def __call__(self, out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        if self.before is not None:
            self.before(in_fd, offset or 0)
        try:
            sent = self._real(out_fd, in_fd, offset, count)
        except BlockingIOError:
            with self._lock:
                self.blocked += 1
            raise
        with self._lock:
            self.calls += 1
            self.sent += sent
        return sent


@pytest.fixture(name="spy")
def spy_fixture(monkeypatch: pytest.MonkeyPatch) -> SendfileSpy:
    spy = SendfileSpy()
    monkeypatch.setattr(os, "sendfile", spy)
    return spy


def _upload(client: Client, path: Any, bucket: str, key: str, **options: Any) -> UploadSession:
    options = {"checksum": "crc64", "workers": 2, "part_size": PART, **options}
    return UploadSession(client, path, bucket, key, checkpoint=None, **options)


def test_crc64_parts_from_a_file_go_out_by_sendfile(
    server: ServerHandle, client: Client, bucket: str, work_dir: Path, spy: SendfileSpy
) -> None:
    path = work_dir / "sent.bin"
    data = make_file(path, 2 * PART + 300 * KiB, seed=21)
    session = _upload(client, path, bucket, "sent")
    session.start()
    assert session.wait(60).verified
    assert sdk_read(server, bucket, "sent") == data
    assert spy.sent == 4 * MiB, "the full pieces of parts 1 and 2 (the rest from memory)"


def test_md5_mode_and_memory_sources_send_from_memory(
    server: ServerHandle, client: Client, bucket: str, work_dir: Path, spy: SendfileSpy
) -> None:
    path = work_dir / "memory.bin"
    data = make_file(path, PART + 100, seed=22)
    for key, source, checksum in (("md5", path, "md5"), ("bytes", data, "crc64")):
        session = _upload(client, source, bucket, key, checksum=checksum)
        session.start()
        assert session.wait(60).verified
        assert sdk_read(server, bucket, key) == data
    assert spy.calls == 0


def _rewrite(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:  # the piece was summed; now its bytes change
        handle.seek(offset + 10)
        handle.write(b"\xff" * 4)


def _cut(path: Path, offset: int) -> None:
    os.truncate(path, offset + 1000)  # the piece was read whole; now most of it is gone


@pytest.mark.parametrize(
    ("harm", "said"),
    [(_rewrite, "modified during the upload"), (_cut, "shorter than when the upload began")],
    ids=["changed", "cut-short"],
)
def test_a_file_harmed_between_sum_and_send_is_caught(
    client: Client,
    bucket: str,
    work_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    harm: Callable[[Path, int], None],
    said: str,
) -> None:
    path = work_dir / "harmed.bin"
    make_file(path, 2 * PART, seed=23)
    done = threading.Event()

    def harm_once(fd: int, offset: int) -> None:
        if not done.is_set():
            done.set()
            harm(path, offset)

    spy = SendfileSpy(harm_once)
    monkeypatch.setattr(os, "sendfile", spy)
    session = _upload(client, path, bucket, "harmed", workers=1)
    session.start()
    # at once: not after the server gave up waiting for the rest of the body (30 s)
    with pytest.raises(SourceChangedError, match=said):
        session.wait(10)
    assert spy.calls >= 1
    with pytest.raises(NoSuchKey):
        client.execute(HeadObject(bucket, "harmed"))


def test_a_body_going_out_by_sendfile_is_cancelled_at_once(
    server_factory: Callable[..., ServerHandle], work_dir: Path, spy: SendfileSpy
) -> None:
    # the server sleeps before it reads: 24 MiB fill the socket buffers and sendfile waits
    server, client = server_with_faults(server_factory, "stalled", "UploadPart@1=delay:1")
    path = work_dir / "stalled.bin"
    data = make_file(path, 24 * MiB, seed=26)
    session = _upload(client, path, "stalled", "s", part_size=24 * MiB, workers=1)
    session.start()
    wait_for(lambda: spy.calls > 0, what="a piece sent by sendfile")
    started = time.monotonic()
    session.pause()
    wait_for(lambda: session.snapshot().rows[0].state is PartState.PENDING, what="cancelled")
    assert time.monotonic() - started < 0.8, "cancelled before the server woke up"
    assert session.snapshot().rows[0].bytes_sent == 0
    session.resume()
    receipt = session.wait(60)
    assert receipt.verified and receipt.parts[0].attempts == 2
    assert sdk_read(server, "stalled", "s") == data
    client.close()


def test_a_stalled_sendfile_times_out_and_is_retried(
    server_factory: Callable[..., ServerHandle], work_dir: Path, spy: SendfileSpy
) -> None:
    server, quick = server_with_faults(server_factory, "slow", "UploadPart@1=delay:1")
    quick.close()
    client = make_client(server, timeout=0.3)
    path = work_dir / "slow.bin"
    data = make_file(path, 24 * MiB, seed=27)
    session = _upload(client, path, "slow", "s", part_size=24 * MiB, workers=1)
    session.start()
    receipt = session.wait(60)
    assert receipt.verified and sdk_read(server, "slow", "s") == data
    first = next(e for e in session.transcript() if e.operation == "UploadPart")
    assert (first.status, first.error) == (None, "TransportError")
    assert 0.25 < first.elapsed < 0.9, "the write timed out after 0.3 s without progress"
    assert spy.blocked > 0, "sendfile found the socket full and waited for it"
    assert spy.sent >= 24 * MiB
    client.close()


# -- TLS: a terminator in front of the emulator ----------------------------------------


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class TlsTerminator:
    """Accepts TLS on a loopback port and forwards the plain bytes to ``upstream``."""

    def __init__(self, upstream: tuple[str, int], cert: Path, key: Path) -> None:
        self.upstream = upstream
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
                down = self._context.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                if self._listener.fileno() < 0:
                    return
                continue
            up = socket.create_connection(self.upstream)
            self._sockets += [down, up]
            threading.Thread(target=self._pipe, args=(down, up), daemon=True).start()
            threading.Thread(target=self._pipe, args=(up, down), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(256 * KiB):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()


@pytest.fixture(name="tls_client")
def tls_client_fixture(
    server: ServerHandle, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Client]:
    cert, key = _certificate(work_dir)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client's CA bundle, as httpx reads it
    terminator = TlsTerminator((server.host, server.port), cert, key)
    client = make_client(server)
    tls = Client(
        f"https://127.0.0.1:{terminator.port}", client.credentials, region=server.region,
        retry=client.retry,
    )  # fmt: skip
    client.close()
    try:
        yield tls
    finally:
        tls.close()
        terminator.close()


def test_tls_connections_send_from_memory(
    server: ServerHandle, tls_client: Client, bucket: str, work_dir: Path, spy: SendfileSpy
) -> None:
    path = work_dir / "tls.bin"
    data = make_file(path, PART + 200 * KiB, seed=25)
    session = _upload(tls_client, path, bucket, "tls")
    session.start()
    assert session.wait(60).verified
    assert sdk_read(server, bucket, "tls") == data
    assert spy.calls == 0, "a TLS socket cannot take sendfile: the bytes must be encrypted"
