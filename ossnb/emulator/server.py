"""The socket side: stdlib ``ThreadingHTTPServer``, HTTP/1.1 keep-alive (docs/ARCHITECTURE.md §5).

Request bodies are framed here (``Content-Length`` or chunked, bounded as they
arrive) and read into a reused buffer (up to 1 MiB at a time), only once the request
is authenticated; object bytes go out with ``sendfile``. A body left unread by an
early error is drained when small enough and the request was authenticated,
otherwise the connection closes after the answer (with a short linger so the
client can read it). Deadlines and the connection limit: :mod:`.guards`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import socket
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any

from ..protocol import errors
from ..protocol.numbers import parse_uint
from . import responses
from .app import App, Incoming
from .exchange import BODILESS, ClientGone, DropConnection, Reply
from .guards import ConnectionSlots, GuardedHandler, ReadBuffer, ServerLimits
from .heads import MAX_LINE, BadHead, Fields, RequestLine
from .rules import http_date
from .wire import send_chunked, utf8_headers

__all__ = ["CHUNK_SIZE", "DRAIN_LIMIT", "EmulatorServer", "SocketBody", "make_server"]

log = logging.getLogger("ossnb.emulator")

CHUNK_SIZE = 1 << 20
"""Most bytes read from the socket at a time."""
DRAIN_LIMIT = 64 << 20
"""Largest unread body drained (instead of closing the connection) after an early answer."""
_CHUNK_LINE = 4096
_HEX = re.compile(rb"^[0-9A-Fa-f]{1,16}$")
_HEAD_ERRORS = {400: "InvalidRequest", 414: "RequestURITooLong", 431: "RequestHeaderTooLarge"}
_HEAD_ERRORS[505] = "HttpVersionNotSupported"


class SocketBody:
    """A request body read from the connection, ``Content-Length`` or chunked."""

    def __init__(
        self, rfile: BufferedIOBase, content_length: str | None, transfer_encoding: str | None
    ):
        self._rfile = rfile
        self._buffer = ReadBuffer(CHUNK_SIZE)
        self.broken = False
        self.chunked = False
        self._declared: int | None = None
        if transfer_encoding is not None:
            if transfer_encoding.strip().lower() != "chunked":
                self.broken = True
                raise errors.NotImplemented(
                    "Only chunked transfer encoding is supported.",
                    details={"Header": "Transfer-Encoding"},
                )
            self.chunked = True
        elif content_length is not None:
            text = content_length.strip()
            declared = parse_uint(text)
            if declared is None:
                self.broken = True
                raise errors.InvalidArgument(
                    "Invalid Content-Length.",
                    details={"ArgumentName": "Content-Length", "ArgumentValue": text[:40]},
                )
            self._declared = declared
        self._remaining = self._declared or 0
        self.finished = not self.chunked and self._remaining == 0

    @property
    def declared(self) -> int | None:
        return self._declared

    @property
    def present(self) -> bool:
        return self.chunked or self._declared is not None

    def _fill(self, count: int) -> memoryview:
        """The next piece, the buffer filled before it is handed on (whole pieces hash,
        checksum and write in one call each)."""
        view = self._buffer.take(count)
        got, size = 0, len(view)
        while got < size:
            try:
                more = self._rfile.readinto(view[got:])
            except (OSError, ValueError):
                more = 0
            if not more:
                self.broken = True
                raise ClientGone()
            got += more
        self._buffer.filled(size, got)
        return view

    def chunks(self, limit: int) -> Iterator[memoryview]:
        if self.finished:
            return
        if not self.chunked:
            if self._remaining > limit:
                raise errors.EntityTooLarge(details={"MaxSizeAllowed": str(limit)})
            while self._remaining:
                piece = self._fill(min(self._remaining, CHUNK_SIZE))
                self._remaining -= len(piece)
                yield piece
            self.finished = True
            return
        yield from self._chunked(limit)

    def _line(self) -> bytes:
        try:
            line = self._rfile.readline(_CHUNK_LINE + 1)
        except (OSError, ValueError):
            line = b""
        if not line:
            self.broken = True
            raise ClientGone()
        if len(line) > _CHUNK_LINE or not line.endswith(b"\n"):
            self._bad("chunk line too long")
        return line

    def _bad(self, why: str) -> None:
        self.broken = True
        raise errors.InvalidArgument(
            f"Malformed chunked request body: {why}.",
            details={"ArgumentName": "Transfer-Encoding", "ArgumentValue": "chunked"},
        )

    def _chunked(self, limit: int) -> Iterator[memoryview]:
        total = 0
        while True:
            size_text = self._line().split(b";", 1)[0].strip()
            if not _HEX.match(size_text):
                self._bad("bad chunk size")
            size = int(size_text, 16)
            if size == 0:
                for _ in range(64):  # trailer section, up to the empty line
                    if self._line().strip() == b"":
                        self.finished = True
                        return
                self._bad("too many trailers")
            total += size
            if total > limit:
                self.broken = True
                raise errors.EntityTooLarge(details={"MaxSizeAllowed": str(limit)})
            while size:
                piece = self._fill(min(size, CHUNK_SIZE))
                size -= len(piece)
                yield piece
            if self._line() not in (b"\r\n", b"\n"):
                self._bad("chunk data longer than its size")

    def read_all(self, limit: int) -> bytes:
        out = bytearray()
        for piece in self.chunks(limit):
            out += piece
        return bytes(out)

    def discard(self, count: int) -> None:
        for piece in self.chunks(1 << 62):
            count -= len(piece)
            if count <= 0:
                return

    def drain(self, limit: int) -> None:
        """Consume what is left if it is at most ``limit`` bytes (else leave it)."""
        if self.finished or self.broken or (not self.chunked and self._remaining > limit):
            return
        try:
            for _ in self.chunks(limit):
                pass
        except (errors.ServiceError, DropConnection):
            self.broken = True


class _Handler(GuardedHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AliyunOSS"
    sys_version = ""
    disable_nagle_algorithm = True
    rbufsize = 64 << 10
    server: EmulatorServer
    fields: Fields
    command = ""

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            log.info("%s %s", self.address_string(), format % args)

    def handle_one_request(self) -> None:
        self.clock.idle()
        try:
            self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
            self.clock.headers()
            if len(self.raw_requestline) > MAX_LINE:
                self.send_error(414)
                return
            if not self.parse_request():
                return
            self.clock.body()
            self._serve()
        except (OSError, ValueError):
            self.close_connection = True
        except Exception:  # a bug here must not kill the server thread silently
            log.exception("emulator connection error")
            self.close_connection = True

    def parse_request(self) -> bool:
        """The request line and header fields (:mod:`.heads`); ``False`` once answered."""
        self.command, self.close_connection = "", True
        if not self.raw_requestline.strip():  # nothing, or a stray empty line: just close
            return False
        try:
            line = RequestLine(self.raw_requestline, self.default_request_version)
            self.command, self.path, self.request_version = line.method, line.target, line.version
            self.close_connection = not line.keep_alive
            self.fields = Fields(self.rfile)
        except BadHead as bad:
            self.send_error(bad.status, bad.message, oss_code=bad.code)
            return False
        connection = (self.fields.get("connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        expect = self.fields.get("expect") or ""
        if expect.lower() == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def send_error(
        self,
        code: int,
        message: str | None = None,
        explain: str | None = None,
        *,
        oss_code: str | None = None,
    ) -> None:
        """Protocol-level errors (bad request line, huge headers) as OSS XML, then close."""
        name = oss_code or _HEAD_ERRORS.get(code, "InvalidRequest")
        exc = errors.ServiceError(message or "Bad request.", status=code, code=name)
        request_id = secrets.token_hex(12).upper()
        reply = Reply(code, {"Content-Type": "application/xml", "x-oss-request-id": request_id})
        reply.body = responses.error_document(exc, request_id, "")
        self.close_connection = True
        with contextlib.suppress(OSError):
            self._send(reply, head=self.command == "HEAD")

    def _serve(self) -> None:
        started = time.perf_counter()
        app = self.server.app
        head = self.command == "HEAD"
        try:
            fields = self.fields
            body = SocketBody(
                self.rfile, fields.get("content-length"), fields.get("transfer-encoding")
            )
        except errors.ServiceError as exc:
            self.close_connection = True
            request_id = secrets.token_hex(12).upper()
            reply = app.error_reply(exc, request_id, fields.get("host") or "", head)
            reply.headers["x-oss-request-id"] = request_id
            self._send(reply, head)
            return
        incoming = Incoming(self.command, self.path, utf8_headers(fields.items), body)
        try:
            reply = app.handle(incoming)
        except DropConnection:
            self._drop()
            return
        try:
            authenticated = reply.op not in ("", "Options")  # a CORS preflight is unsigned
            # a GET's declared body may never come (docs/PROTOCOL.md §7.2)
            if authenticated and not self.clock.owes_continue and self.command not in BODILESS:
                body.drain(DRAIN_LIMIT)
            if not body.finished:
                self.close_connection = True
            self._send(reply, head)
        finally:
            if reply.release is not None:
                reply.release()
        if self.server.verbose:
            log.info(
                "%s %s %.200s -> %d %s %dB %.1fms", self.client_address[0], self.command,
                self.path, reply.status, reply.op or "-", reply.content_length,
                (time.perf_counter() - started) * 1000,
            )  # fmt: skip
        if self.close_connection and not body.finished:
            self._linger()

    def _send(self, reply: Reply, head: bool) -> None:
        length = reply.content_length
        lines = [
            f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}",
            "Server: AliyunOSS",
            f"Date: {http_date()}",
            "Transfer-Encoding: chunked" if reply.stream else f"Content-Length: {length}",
            f"Connection: {'close' if self.close_connection else 'keep-alive'}",
        ]
        lines += [f"{name}: {_clean(value)}" for name, value in reply.headers.items()]
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")  # values as received
        if reply.drop_after is not None:
            self._send_partial(reply, head_bytes, 0 if head else reply.drop_after)
            return
        if head or reply.status in (204, 304):
            self.wfile.write(head_bytes)
            return
        if reply.stream is not None:
            self.wfile.write(head_bytes)
            send_chunked(self.wfile, reply.stream)
            return
        self.wfile.write(head_bytes + reply.body)
        for path, offset, count in reply.segments:
            with open(path, "rb") as source:
                self.connection.sendfile(source, offset, count)

    def _send_partial(self, reply: Reply, head_bytes: bytes, budget: int) -> None:
        """Fault injection: the head and ``budget`` body bytes, then the connection dies."""
        if budget <= 0:
            self._drop()
            return
        self.wfile.write(head_bytes + reply.body[:budget])
        budget -= len(reply.body[:budget])
        for path, offset, count in reply.segments:
            if budget <= 0:
                break
            with open(path, "rb") as source:
                self.connection.sendfile(source, offset, min(count, budget))
            budget -= count
        self._drop()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _linger(self) -> None:
        """Stop writing, then swallow what the client still sends for a moment, so
        closing with unread data does not reset the connection before it reads the answer."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and self.connection.recv(64 << 10):
                pass
        except OSError:
            pass


def _clean(value: str) -> str:
    """Header values never carry line breaks (no response splitting from echoed input)."""
    return value.replace("\r", " ").replace("\n", " ")


class EmulatorServer(ConnectionSlots, ThreadingHTTPServer):
    """A threaded HTTP server bound to one :class:`App`, within :class:`ServerLimits`."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        *,
        verbose: bool = False,
        limits: ServerLimits | None = None,
    ) -> None:
        self.app = app
        self.verbose = verbose
        self.init_slots(limits)
        super().__init__(address, _Handler)


class _EmulatorServer6(EmulatorServer):
    address_family = socket.AF_INET6


def make_server(
    app: App,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    verbose: bool = False,
    limits: ServerLimits | None = None,
) -> EmulatorServer:
    """Bind (not yet serve) a server for ``app``; ``port=0`` picks a free port."""
    cls = _EmulatorServer6 if ":" in host else EmulatorServer
    return cls((host, port), app, verbose=verbose, limits=limits)
