"""Connections whose in-flight requests can be stopped from another thread.

``threading.Event`` cannot interrupt a thread blocked in ``send``/``recv``: a request
whose server stalls (or whose body is waiting for socket buffer space) would ignore
its cancel event until the server moved or the timeout fired. Here every socket is
wrapped so that the request thread records which connection it is using, and one
watcher thread shuts that socket down as soon as the request's event is set; the
blocked call then fails at once and :class:`~ossnb.client.client.Client` reports
:class:`~ossnb.protocol.errors.Cancelled` (docs/ARCHITECTURE.md §2: in-flight requests are closed).

Full 1 MiB body pieces reach the socket uncopied (:func:`uncopied`); a piece read from
a file goes from the file to a plain-TCP socket by ``os.sendfile``, one copy of every
byte fewer (docs/ARCHITECTURE.md §1).

Built on public ``httpcore`` API (``ConnectionPool(network_backend=...)``), the
transport layer under httpx. The client hands it requests it has already addressed
(scheme, host, port, target, headers as bytes), so nothing parses a URL string or
merges header sets again: httpx's request-building layer was ~40% of the client's CPU
for a 100 KiB part (docs/ARCHITECTURE.md §1).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import ssl
import threading
from collections.abc import Iterable
from typing import Any, cast

import httpcore

from ..protocol.errors import Cancelled
from ..protocol.http import BODY_PIECE
from .proxy import Proxy

__all__ = ["Canceller", "Connections", "check_uncopied", "uncopied"]

_POLL = 0.02  # seconds between looks at the cancel events of watched requests
_local = threading.local()


_STAND_IN = bytes(BODY_PIECE)  # what h11 sees of every full-size body chunk: see uncopied()
_SENDFILE = hasattr(os, "sendfile") and hasattr(select, "poll")
_NO_SENDFILE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSOCK}


def uncopied(chunk: memoryview, span: tuple[int, int] | None = None) -> bytes | memoryview:
    """What to give httpcore for the body chunk ``chunk`` so that it reaches the socket
    uncopied (``span``: where its bytes lie in a file, see ``BodyReader.file_span``).

    h11 joins every body chunk into a new ``bytes`` before it is written (for 1 MiB views
    of a part buffer: a 1 MiB allocation and copy under the GIL each, and allocator churn)
    except one exact ``bytes`` object, which it passes through as it is. So a 1 MiB chunk
    crosses h11 as a shared stand-in of the same length, and :class:`_Stream` writes this
    thread's real chunk in its place (over plain TCP, a chunk with a ``span`` goes out by
    ``os.sendfile``); :func:`check_uncopied` after the chunk went out.
    """
    full = len(chunk) == BODY_PIECE
    _local.pending = (chunk, span) if full else None
    return _STAND_IN if full else chunk


def check_uncopied() -> None:
    """Raise if the last stand-in was not swapped for its chunk (h11 would have copied it)."""
    if getattr(_local, "pending", None) is not None:
        _local.pending = None
        raise RuntimeError("a request body chunk went through h11 copied; it was not sent")


class _Watch:
    """One cancellable request in flight: its event and the connection it is using."""

    __slots__ = ("cancel", "stream")

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.stream: _Stream | None = None


class _Stream(httpcore.NetworkStream):
    """A socket stream that tells the current request's watch it is in use."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        sock = inner.get_extra_info("socket")
        plain = type(sock) is socket.socket and inner.get_extra_info("ssl_object") is None
        # a TLS stream must encrypt every byte: only a plain TCP socket takes sendfile
        self._plain: socket.socket | None = sock if plain and _SENDFILE else None

    def _track(self) -> None:
        watch: _Watch | None = getattr(_local, "watch", None)
        if watch is not None:
            watch.stream = self
            if watch.cancel.is_set():
                raise Cancelled("cancelled in flight")

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._track()
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        pending = getattr(_local, "pending", None)
        if buffer is _STAND_IN:  # see uncopied(): write this thread's real chunk instead
            _local.pending = None
            if pending is None:
                raise RuntimeError("a request body stand-in reached the socket without its chunk")
            chunk, span = pending
            if span is not None and self._plain is not None:
                self._track()
                if self._send_file(span, timeout):
                    return
            buffer = cast(bytes, chunk)  # httpcore re-slices a view on partial sends: no copy
        elif pending is not None:  # h11 copied the stand-in: never send it, not one byte
            _local.pending = None
            raise RuntimeError(
                "a request body chunk went through h11 copied (an h11 that no longer passes "
                "bytes through as they are); nothing of it was sent. Pin h11 as pyproject.toml "
                "does, or drop the stand-in (ossnb.client.transport.uncopied)"
            )
        self._track()
        self._inner.write(buffer, timeout)

    def _send_file(self, span: tuple[int, int], timeout: float | None) -> bool:
        """Send the stand-in's length of bytes at ``span`` by ``os.sendfile``; ``False``
        (nothing sent) where the file cannot be sent that way, so the chunk is written."""
        sock = cast(socket.socket, self._plain)
        fd, offset = span
        end = offset + len(_STAND_IN)
        poller: select.poll | None = None
        try:
            sock.settimeout(timeout)  # with a timeout the descriptor is non-blocking: poll
            while offset < end:
                try:
                    sent = os.sendfile(sock.fileno(), fd, offset, end - offset)
                except BlockingIOError:
                    if poller is None:
                        poller = select.poll()
                        poller.register(sock, select.POLLOUT)
                    if not poller.poll(None if timeout is None else timeout * 1000):
                        raise httpcore.WriteTimeout("timed out sending a body piece") from None
                    continue
                except OSError as exc:
                    if offset == span[1] and exc.errno in _NO_SENDFILE:
                        self._plain = None  # this file system cannot: write from memory
                        return False
                    raise
                if sent == 0:  # the file is shorter now than when the piece was read
                    # not a WriteError, which httpcore answers by waiting for a response
                    # that never comes (the server waits for the rest of the body)
                    raise httpcore.LocalProtocolError("the file ended before the body piece")
                offset += sent
        except OSError as exc:
            raise httpcore.WriteError(f"{type(exc).__name__}: {exc}") from exc
        return True

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def abort(self) -> None:
        """Shut the socket down (safe from another thread; wakes a blocked send/recv)."""
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                # the plain-socket method: for TLS too, only the file descriptor is touched
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class Connections:
    """A pool of keep-alive HTTP/1.1 connections (httpcore, httpx's transport layer) whose
    in-flight requests a :class:`Canceller` can stop.

    ``ssl_context=None`` (an ``http://`` endpoint) builds no TLS context: loading the CA
    bundle costs ~50-70 ms of CPU at every start, for connections that never use it.
    With a ``proxy``, connections go through it (``CONNECT`` for ``https://``).
    """

    def __init__(
        self,
        max_connections: int,
        ssl_context: ssl.SSLContext | None = None,
        proxy: Proxy | None = None,
    ) -> None:
        options: dict[str, Any] = {
            "ssl_context": ssl_context,
            "max_connections": max_connections,
            "max_keepalive_connections": max_connections,
            "keepalive_expiry": 5.0,
            "network_backend": _Backend(),
        }
        self._pool: httpcore.ConnectionPool = (
            httpcore.ConnectionPool(**options)
            if proxy is None
            else httpcore.HTTPProxy(proxy.url, proxy_auth=proxy.auth, **options)
        )

    def request(
        self,
        method: bytes,
        url: httpcore.URL,
        headers: list[tuple[bytes, bytes]],
        content: bytes | Iterable[bytes],
        timeouts: dict[str, float | None],
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One round trip: status, raw headers and the whole body (raises httpcore's errors)."""
        request = httpcore.Request(
            method, url, headers=headers, content=content, extensions={"timeout": timeouts}
        )
        response = self._pool.handle_request(request)
        try:
            body = response.read()
        finally:
            response.close()
        return response.status, response.headers, body

    def close(self) -> None:
        self._pool.close()


class Canceller:
    """Shuts down the connection of a watched request once its cancel event is set.

    An event cannot notify anyone, so one daemon thread polls the watched requests
    (every 20 ms) while there are any, and exits when there are none.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[_Watch] = set()
        self._thread: threading.Thread | None = None

    def watch(self, cancel: threading.Event | None) -> _Watch | None:
        """From now on, requests made by this thread stop when ``cancel`` is set.

        Call :meth:`release` before the response goes back to the pool, so that a late
        cancel never shuts down a connection another request is about to reuse.
        """
        if cancel is None:
            return None
        watch = _Watch(cancel)
        with self._cond:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ossnb-cancel-watch", daemon=True
                )
                self._thread.start()
        _local.watch = watch
        return watch

    def release(self, watch: _Watch | None) -> None:
        """Stop watching (idempotent)."""
        if watch is None:
            return
        current: _Watch | None = getattr(_local, "watch", None)
        if current is watch:
            _local.watch = None
        with self._cond:
            self._watches.discard(watch)
            watch.stream = None

    def _run(self) -> None:
        with self._cond:
            while self._watches:
                for watch in self._watches:
                    if watch.stream is not None and watch.cancel.is_set():
                        watch.stream.abort()
                        watch.stream = None
                self._cond.wait(_POLL)
            self._thread = None
