"""The worker side of a remote part: read a byte range, hash it, PUT it to a presigned URL.

:func:`carry_part` runs as a task on a cluster worker. It gets a :class:`PartTask` (a
path every worker sees, a byte range, a presigned UploadPart URL and no credentials),
reads the range, computes MD5 and CRC-64 of exactly those bytes, PUTs them, and returns
a :class:`PartOutcome`: the ETag and CRC-64 OSS answered, the local digest, timings and
the worker's address. It never raises for an OSS answer: the kernel decides (retry,
re-issue an expired URL, fail). Only the standard library and :mod:`ossnb.protocol`
are imported here, so a worker needs no client and holds no secret.

The URL is signed before the MD5 is known, so no ``Content-MD5`` is sent (a presigned
request signs that header); the bytes are checked after the fact instead, the ETag
against the MD5 and ``x-oss-hash-crc64ecma`` against the CRC-64 of what was read.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from msgspec import Struct

from ..protocol.checksums import digest, normalize_etag
from ..protocol.http import Masked

__all__ = ["PartOutcome", "PartTask", "carry_part", "produced_size", "send_produced"]

_CHUNK = 1024 * 1024
_queues: dict[str, Any] = {}  # progress queues by name, in this worker process
_queues_lock = threading.Lock()
Report = Callable[[int], None]


class PartTask(Masked, frozen=True):
    """One part for a worker. ``expect`` is the server's copy (size, CRC-64 or ``None``,
    ETag) to re-check instead of sending; ``file_size`` and ``mtime_s`` are the source as
    the kernel saw it (whole seconds: shared file systems round differently)."""

    number: int
    token: str
    path: str
    offset: int
    size: int
    url: str = ""
    file_size: int = 0
    mtime_s: int = 0
    expect: tuple[int, int | None, str] | None = None
    progress_queue: str | None = None
    progress_interval: float = 0.25
    timeout: float = 300.0

    def __repr__(self) -> str:  # the URL is a bearer token for this one part: never shown
        return f"PartTask(part {self.number}, {self.path}@{self.offset}+{self.size})"


class PartOutcome(Struct, frozen=True):
    """What a worker reports. ``status``: ``"sent"``, ``"reused"`` (the server's copy
    matched), ``"expired"`` (the URL had expired: re-issue it), ``"error"`` (an OSS error
    answer: ``http_status``, ``headers``, ``body``), ``"unreachable"`` (no answer:
    ``detail``) or ``"source"`` (the file is not what the kernel saw: ``detail``)."""

    number: int
    token: str
    status: str
    worker: str | None = None
    size: int = 0
    md5_hex: str = ""
    md5_b64: str = ""
    crc64: int = 0
    etag: str | None = None
    server_crc64: int | None = None
    http_status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    detail: str = ""
    read_seconds: float = 0.0
    hash_seconds: float = 0.0
    send_seconds: float = 0.0


def carry_part(task: PartTask) -> PartOutcome:
    """Read, hash and PUT one part (the function a cluster runs as a task)."""
    worker, report = _worker_context(task)
    started = time.perf_counter()
    try:
        data = _read(task)
    except OSError as exc:
        return PartOutcome(task.number, task.token, "source", worker, detail=str(exc))
    return _hash_and_put(task, memoryview(data), worker, report, started)


def produced_size(data: Any) -> int:
    """The size of a produced part, or -1 when it is not bytes-like (run on the worker
    holding it: only this number travels to the kernel)."""
    try:
        return memoryview(data).nbytes
    except TypeError:
        return -1


def send_produced(data: Any, task: PartTask) -> PartOutcome:
    """Hash and PUT a part produced on the cluster (``data``: bytes-like, never gathered)."""
    worker, report = _worker_context(task)
    try:
        view = memoryview(data).cast("B")
    except TypeError:
        detail = f"part {task.number} was produced as {type(data).__name__}, not bytes"
        return PartOutcome(task.number, task.token, "source", worker, detail=detail)
    if view.nbytes != task.size:
        detail = f"part {task.number} is {view.nbytes} bytes now, {task.size} when measured"
        return PartOutcome(task.number, task.token, "source", worker, detail=detail)
    return _hash_and_put(task, view, worker, report, time.perf_counter())


def _hash_and_put(
    task: PartTask, data: memoryview, worker: str | None, report: Report | None, started: float
) -> PartOutcome:
    read_done = time.perf_counter()
    local = digest(data)
    hashed = time.perf_counter()
    base: dict[str, Any] = {
        "worker": worker,
        "size": local.size,
        "md5_hex": local.md5_hex,
        "md5_b64": local.md5_b64,
        "crc64": local.crc64,
        "read_seconds": read_done - started,
        "hash_seconds": hashed - read_done,
    }
    if task.expect is not None and _matches(task.expect, local.size, local.crc64, local.md5_hex):
        return PartOutcome(task.number, task.token, "reused", **base)
    if report is not None:
        report(0)
    try:
        status, headers, body = _put(task, data, report)
    except OSError as exc:  # refused, reset, timed out: no answer
        detail = f"{type(exc).__name__}: {exc}"
        base["send_seconds"] = time.perf_counter() - hashed
        return PartOutcome(task.number, task.token, "unreachable", detail=detail, **base)
    base["send_seconds"] = time.perf_counter() - hashed
    if status == 200:
        crc_text = headers.get("x-oss-hash-crc64ecma")
        return PartOutcome(
            task.number,
            task.token,
            "sent",
            etag=headers.get("etag", ""),
            server_crc64=int(crc_text) if crc_text and crc_text.isdigit() else None,
            http_status=status,
            **base,
        )
    kind = "expired" if status == 403 and b"Request has expired" in body else "error"
    return PartOutcome(
        task.number,
        task.token,
        kind,
        http_status=status,
        headers=tuple(sorted(headers.items())),
        body=body[:65536],
        **base,
    )


def _matches(expect: tuple[int, int | None, str], size: int, crc: int, md5: str | None) -> bool:
    want_size, want_crc, want_etag = expect
    if want_size != size:
        return False
    return crc == want_crc if want_crc is not None else normalize_etag(want_etag) == md5


def _read(task: PartTask) -> bytearray:
    """The part's bytes, after checking the file is the one the kernel planned from."""
    fd = os.open(task.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if info.st_size != task.file_size or int(info.st_mtime) != task.mtime_s:
            raise OSError(
                f"{task.path} on this worker is {info.st_size} bytes modified at "
                f"{int(info.st_mtime)}, not {task.file_size} bytes modified at {task.mtime_s} "
                "as the kernel saw it: the workers must see the same file"
            )
        buffer = bytearray(task.size)
        view, filled = memoryview(buffer), 0
        while filled < task.size:
            got = os.preadv(fd, [view[filled:]], task.offset + filled)
            if not got:
                raise OSError(f"{task.path} ended at {task.offset + filled} on this worker")
            filled += got
        return buffer
    finally:
        os.close(fd)


def _put(
    task: PartTask, data: memoryview, report: Report | None
) -> tuple[int, dict[str, str], bytes]:
    """PUT ``data`` to the presigned URL in chunks, reporting bytes at a modest rate."""
    url = urlsplit(task.url)
    connection: http.client.HTTPConnection
    if url.scheme == "https":
        connection = http.client.HTTPSConnection(url.netloc, timeout=task.timeout)
    else:
        connection = http.client.HTTPConnection(url.netloc, timeout=task.timeout)
    try:
        target = url.path + (f"?{url.query}" if url.query else "")
        connection.putrequest("PUT", target, skip_accept_encoding=True)
        connection.putheader("Content-Length", str(len(data)))
        connection.putheader("User-Agent", "ossnb-cluster")
        connection.endheaders()
        view, sent, last = data, 0, time.monotonic()
        while sent < len(data):
            chunk = view[sent : sent + _CHUNK]
            connection.send(chunk)
            sent += len(chunk)
            if report is not None and time.monotonic() - last >= task.progress_interval:
                report(sent)
                last = time.monotonic()
        reply = connection.getresponse()
        body = reply.read()
        headers = {name.lower(): value for name, value in reply.getheaders()}
        return reply.status, headers, body
    finally:
        connection.close()


def _worker_context(task: PartTask) -> tuple[str | None, Report | None]:
    """This worker's address and a progress reporter (a Dask queue), when on a Dask worker."""
    try:
        from distributed import Queue, get_client, get_worker
    except ImportError:
        return None, None
    try:
        worker = get_worker()
    except ValueError:  # not running on a worker (called directly)
        return None, None
    address = str(worker.address)
    if task.progress_queue is None:
        return address, None
    with _queues_lock:  # one handle a run in each worker process, not one a task
        queue = _queues.get(task.progress_queue)
        if queue is None:
            try:
                queue = Queue(task.progress_queue, client=get_client())  # type: ignore[no-untyped-call]
            except Exception:  # progress is best effort
                return address, None
            _queues[task.progress_queue] = queue
            while len(_queues) > 4:
                _queues.pop(next(iter(_queues)))

    def report(sent: int) -> None:
        with contextlib.suppress(Exception):  # best effort: the result still says it all
            queue.put([task.token, task.number, sent, address], timeout=5)

    return address, report
