"""How long and how many: the limits that keep slow or hostile clients from holding the server.

* :class:`RequestClock` is each connection's raw reader. Waiting for a request, a read
  waits at most ``idle_timeout``; from the first byte of a request, its line and
  headers must all arrive within ``header_timeout`` (a total, however the bytes
  trickle in); its body within ``body_timeout`` plus one second per ``min_body_rate``
  bytes received (a client keeps its connection by sending at that rate, not by
  sending a byte now and then). ``Expect: 100-continue`` is answered only when the
  body is first read, that is once the request is authenticated.
* :class:`ConnectionSlots` bounds the connections served at once (a thread each); one
  more is answered ``503 ServiceUnavailable`` by the accepting thread and closed.
* :class:`ReadBuffer` is allocated when a body is read, at 128 KiB, and grows to 1 MiB
  only while the client fills it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from ..protocol import errors
from . import responses
from .limits import ServerLimits
from .rules import http_date

__all__ = ["ConnectionSlots", "GuardedHandler", "ReadBuffer", "RequestClock", "ServerLimits"]

log = logging.getLogger("ossnb.emulator")


_IDLE, _HEADERS, _BODY = range(3)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class RequestClock(io.RawIOBase):
    """A socket reader whose every read ends at the current phase's deadline.

    The handler calls :meth:`idle` before waiting for a request, :meth:`headers` once
    its line has arrived (its first byte arms it already) and :meth:`body` once the
    headers are parsed. A passed deadline raises ``TimeoutError`` (an ``OSError``).
    """

    def __init__(self, sock: socket.socket, limits: ServerLimits) -> None:
        super().__init__()
        self._sock, self._limits = sock, limits
        self._timeout = limits.idle_timeout
        sock.settimeout(self._timeout)
        self._phase, self._deadline = _IDLE, 0.0
        self._started: float | None = None
        self._received = 0
        self.owes_continue = False
        """``Expect: 100-continue`` seen and no body byte asked for yet."""

    def readable(self) -> bool:
        return True

    def idle(self) -> None:
        self._phase, self.owes_continue = _IDLE, False

    def headers(self) -> None:
        if self._phase == _IDLE:
            self._phase = _HEADERS
            self._deadline = time.monotonic() + self._limits.header_timeout

    def body(self) -> None:
        self._phase, self._started, self._received = _BODY, None, 0

    def _wait(self) -> float:
        limits = self._limits
        if self._phase == _IDLE:
            return limits.idle_timeout
        now = time.monotonic()
        if self._phase == _BODY:
            if self._started is None:
                self._started = now
            allowed = limits.body_timeout + self._received / limits.min_body_rate
            self._deadline = self._started + allowed
        left = self._deadline - now
        if left <= 0:
            raise TimeoutError("the request took longer than the emulator allows")
        return min(left, limits.idle_timeout)

    def readinto(self, buffer: Any) -> int:
        if self.owes_continue:
            self.owes_continue = False
            self._sock.sendall(_CONTINUE)
        timeout = self._wait()
        if timeout != self._timeout:
            self._sock.settimeout(timeout)
            self._timeout = timeout
        try:
            got: int = self._sock.recv_into(buffer)
        finally:
            if self._timeout != self._limits.idle_timeout:  # writes keep the idle timeout
                self._timeout = self._limits.idle_timeout
                self._sock.settimeout(self._timeout)
        if got and self._phase == _IDLE:
            self.headers()
        self._received += got
        return got


class ReadBuffer:
    """A reused body buffer: none until needed, then ``first`` bytes, doubled up to ``most``
    while each read fills it (a trickling client never costs more than ``first``)."""

    def __init__(self, most: int, first: int = 128 << 10) -> None:
        self._view = memoryview(bytearray(0))
        self._piece, self._most = min(first, most), most

    def take(self, count: int) -> memoryview:
        """A buffer for the next read of at most ``count`` bytes (maybe fewer)."""
        count = min(count, self._piece)
        if len(self._view) < count:
            self._view = memoryview(bytearray(count))
        return self._view[:count]

    def filled(self, asked: int, got: int) -> None:
        if got == asked == self._piece and self._piece < self._most:
            self._piece = min(self._piece * 2, self._most)


class ConnectionSlots:
    """Mixin for a ``ThreadingMixIn`` server: at most ``max_connections`` threads, and
    the set of open connections (to close them all at shutdown)."""

    limits: ServerLimits

    def init_slots(self, limits: ServerLimits | None) -> None:
        self.limits = limits or ServerLimits()
        self._slots = threading.BoundedSemaphore(self.limits.max_connections)
        self.refused = 0
        """Connections answered 503 because every slot was taken."""
        self._last_warning = 0.0
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)  # type: ignore[misc]
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)  # type: ignore[misc]
        finally:
            self._slots.release()

    def track(self, connection: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    @property
    def active_connections(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    def close_connections(self) -> None:
        """Shut down every open client connection (idle keep-alive ones included)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _refuse(self, sock: socket.socket) -> None:
        """Answer 503 without a thread and without waiting on the client, then close."""
        self.refused += 1
        now = time.monotonic()
        if now - self._last_warning > 10:
            self._last_warning = now
            log.warning(
                "%d connections open, the limit (--max-connections): refusing more with 503",
                self.limits.max_connections,
            )
        with contextlib.suppress(OSError):
            sock.setblocking(False)
            with contextlib.suppress(OSError):  # what already arrived, so closing does not reset
                sock.recv(64 << 10)
            sock.send(_busy_response(self.limits.max_connections))
            sock.shutdown(socket.SHUT_WR)
        sock.close()


class GuardedHandler(BaseHTTPRequestHandler):
    """A request handler reading through a :class:`RequestClock` on a :class:`ConnectionSlots` server."""

    clock: RequestClock

    def setup(self) -> None:
        slots: ConnectionSlots = self.server  # type: ignore[assignment]
        super().setup()
        self.rfile.close()  # replaced by a reader that keeps the request deadlines
        self.clock = RequestClock(self.connection, slots.limits)
        self.rfile = io.BufferedReader(self.clock, max(self.rbufsize, io.DEFAULT_BUFFER_SIZE))
        slots.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)  # type: ignore[attr-defined]

    def handle_expect_100(self) -> bool:
        """Owe ``100 Continue`` until the body is read: never invite an unauthenticated body."""
        self.clock.owes_continue = True
        return True


def _busy_response(limit: int) -> bytes:
    request_id = secrets.token_hex(12).upper()
    message = f"The ossnb emulator is serving {limit} connections, its limit; retry later."
    body = responses.error_document(errors.ServiceUnavailable(message), request_id, "")
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nServer: AliyunOSS\r\n"
        f"Date: {http_date()}\r\nContent-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nRetry-After: 1\r\n"
        f"x-oss-request-id: {request_id}\r\n\r\n"
    )
    return head.encode("ascii") + body
