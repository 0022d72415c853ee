"""The browser carrier: the user's browser sends the parts straight to OSS; the kernel steers.

The kernel never holds the file's bytes and the browser never holds a credential. For
each part the kernel asks the page to hash its byte range (``File.slice``: MD5 and
CRC-64, docs/BROWSER.md §3), then presigns an UploadPart URL that binds that Content-MD5
and hands it over; the page PUTs the slice and reports what OSS answered. A part the
server already holds (a resumed upload) is re-hashed in the page and reused only if it
matches. Everything the page reports goes through :class:`~.part_record.PartRecorder`, so
the ledger, checkpoint and widget see the same events as for the local carrier.

The page and the kernel talk in small JSON messages over a :class:`Channel` (a widget's
comm): kernel → page ``hash``, ``put``, ``pause``, ``stop``; page → kernel ``hashed``,
``progress``, ``done``, ``failed``, ``cancelled``. Each dispatch carries a ``token``; a
report with a stale token (a part paused, then sent again) is ignored.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

from msgspec import Struct

from ..protocol.checksums import Digest, crc64
from ..protocol.errors import IntegrityError, OssError, ServiceError, TransportError, UsageError
from ..protocol.models import PartInfo
from .carriers import CarrierJob
from .checkpoint import SourceIdentity
from .part_record import PartRecorder, server_copy_matches
from .source import Source

__all__ = ["BrowserCarrier", "BrowserFile", "BrowserRun", "Channel"]

DEFAULT_LIFETIME = timedelta(minutes=15)


class Channel(Protocol):
    """Where the kernel's messages to the page go (a widget's ``send``)."""

    def send(self, message: Mapping[str, Any]) -> None: ...


class BrowserFile(Source):
    """A file the user picked in the browser: the kernel knows its name, size and
    modification time, never its bytes. Picking the same file again (same name, size and
    ``lastModified``) resumes the same upload."""

    kind = "browser"

    def __init__(self, name: str, size: int, last_modified_ms: int) -> None:
        if size < 0 or last_modified_ms < 0:
            raise UsageError("a browser file has a size and a modification time of 0 or more")
        self.name = name
        self.size = size
        self.last_modified_ms = last_modified_ms

    @property
    def label(self) -> str:
        return f"{self.name} (in the browser)"

    def _read_into(self, offset: int, view: memoryview) -> int:
        raise UsageError(
            f"the bytes of {self.name} are in the browser: the browser carrier sends its "
            "parts (upload_part() and the local carrier cannot read them here)"
        )

    def identity(self) -> SourceIdentity:
        fingerprint = crc64(f"{self.name}\0{self.size}\0{self.last_modified_ms}".encode())
        return SourceIdentity(
            kind=self.kind,
            size=self.size,
            fingerprint=fingerprint,
            path=self.name,
            mtime_ns=self.last_modified_ms * 1_000_000,
        )


class _Dispatch(Struct):
    token: int
    server: PartInfo | None
    started: float
    attempt: int = 1
    digest: Digest | None = None


class BrowserCarrier:
    """Carries parts through a page on the other end of ``channel``.

    ``workers`` bounds the parts in flight in the page (default: the plan's workers);
    ``lifetime`` is each presigned URL's validity (signed just before the PUT, re-issued
    if OSS answers that it expired).
    """

    name = "browser"

    def __init__(
        self,
        channel: Channel,
        *,
        workers: int | None = None,
        lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> None:
        self.channel = channel
        self.workers = workers
        self.lifetime = lifetime
        self.run: BrowserRun | None = None

    def carry(self, numbers: Sequence[int], job: CarrierJob) -> BrowserRun:
        if job.presign is None:
            raise UsageError("the browser carrier needs a transport that can presign URLs")
        self.run = BrowserRun(self, numbers, job)
        return self.run

    def receive(self, message: Mapping[str, Any]) -> None:
        """A message from the page (the widget calls this from its comm handler)."""
        if self.run is not None:
            self.run.receive(message)


class BrowserRun:
    """One run of the browser carrier (a :class:`~.carriers.RunHandle`)."""

    def __init__(self, carrier: BrowserCarrier, numbers: Sequence[int], job: CarrierJob) -> None:
        self._carrier = carrier
        self._job = job
        self._recorder = PartRecorder(job.ledger, job.emit, carrier.name)
        self._queue = deque(numbers)
        self._inflight: dict[int, _Dispatch] = {}
        self._width = max(1, carrier.workers or job.workers)
        self._cond = threading.Condition()
        self._tokens = 0
        self._started = self._paused = self._stopping = False
        self._ended = threading.Event()
        self.failure: BaseException | None = None

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        return ()  # reports arrive on the comm's thread; the run has none of its own

    # -- RunHandle ------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            self._started = True
            upload_id = self._job.upload_id()
            total = len(self._queue)
        self._send({"type": "begin", "upload_id": upload_id, "parts": total})
        self._pump()

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            cancelled = self._cancel_inflight(requeue=True)
        self._send({"type": "pause"})
        for number in cancelled:
            self._recorder.cancelled(number)

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()
        self._pump()

    def stop(self) -> None:
        with self._cond:
            self._stopping, self._paused = True, False
            cancelled = self._cancel_inflight(requeue=False)
            self._cond.notify_all()
        self._send({"type": "stop"})
        for number in cancelled:
            self._recorder.cancelled(number)
        self._ended.set()

    def join(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    def wait_while_paused(self) -> None:
        with self._cond:
            while self._paused and not self._stopping:
                self._cond.wait()

    # -- the page's reports ---------------------------------------------------------------

    def receive(self, message: Mapping[str, Any]) -> None:
        """Handle one report from the page; malformed or stale reports are ignored."""
        try:
            number, token = int(message["number"]), int(message["token"])
        except (KeyError, TypeError, ValueError):
            return
        with self._cond:
            dispatch = self._inflight.get(number)
            if dispatch is None or dispatch.token != token:
                return
        kind = message.get("type")
        try:
            if kind == "hashed":
                self._hashed(number, dispatch, message)
            elif kind == "progress":
                self._recorder.progress_to(number, int(message.get("sent", 0)))
            elif kind == "done":
                self._done(number, dispatch, message)
            elif kind == "failed":
                self._failed(number, dispatch, message)
        except (KeyError, TypeError, ValueError) as exc:
            self._fail_part(number, IntegrityError(f"part {number}: a malformed report ({exc})"))

    def _hashed(self, number: int, dispatch: _Dispatch, message: Mapping[str, Any]) -> None:
        local = Digest(
            size=int(message["size"]),
            md5_hex=str(message["md5"]).upper(),
            md5_b64=str(message["md5_b64"]),
            crc64=int(message["crc64"]),
        )
        expected = self._job.ledger.row(number).size
        if local.size != expected:
            raise ValueError(f"the page read {local.size} bytes, the part has {expected}")
        dispatch.digest = local
        server = dispatch.server
        if server is not None and server_copy_matches(server, local):
            self._recorder.reused(
                number, server, local.crc64, time.perf_counter() - dispatch.started
            )
            self._finish(number)
            return
        self._put(number, dispatch)

    def _put(self, number: int, dispatch: _Dispatch) -> None:
        local = dispatch.digest
        assert local is not None and self._job.presign is not None
        url = self._job.presign(number, self._carrier.lifetime, local.md5_b64)
        row = self._job.ledger.row(number)
        self._job.ledger.update(number, attempts=row.attempts + 1)  # no client exchange counts it
        self._recorder.started(number, local.md5_hex, worker="browser")
        self._send(
            {"type": "put", "number": number, "token": dispatch.token, "url": url,
             "offset": row.offset, "size": row.size, "md5_b64": local.md5_b64}
        )  # fmt: skip

    def _done(self, number: int, dispatch: _Dispatch, message: Mapping[str, Any]) -> None:
        local = dispatch.digest
        if local is None:
            raise ValueError("done before hashed")
        server_crc = message.get("server_crc64")
        try:
            self._recorder.sent(
                number,
                str(message["etag"]),
                int(server_crc) if server_crc not in (None, "") else None,
                local,
                time.perf_counter() - dispatch.started,
                worker="browser",
            )
        except IntegrityError as exc:
            self._retry_or_fail(number, dispatch, exc)
            return
        self._finish(number)

    def _failed(self, number: int, dispatch: _Dispatch, message: Mapping[str, Any]) -> None:
        error = _page_error(number, message)
        if isinstance(error, ServiceError) and _expired(error):
            self._put(number, dispatch)  # a fresh URL; not an attempt of the part's own
            return
        self._retry_or_fail(number, dispatch, error)

    def _retry_or_fail(self, number: int, dispatch: _Dispatch, error: OssError) -> None:
        retryable = isinstance(error, (TransportError, IntegrityError)) or (
            isinstance(error, ServiceError)
            and (error.status >= 500 or error.error_code == "InvalidDigest")
        )
        if retryable and dispatch.attempt < self._job.attempts:
            dispatch.attempt += 1
            self._recorder.retrying(number, error)
            self._put(number, dispatch)
            return
        self._fail_part(number, error)

    def _fail_part(self, number: int, error: OssError) -> None:
        self._recorder.failed(number, error)
        with self._cond:
            self.failure = self.failure or error
            self._inflight.pop(number, None)
            self._cancel_inflight(requeue=False)
        self._send({"type": "stop"})
        self._ended.set()

    # -- scheduling -----------------------------------------------------------------------

    def _pump(self) -> None:
        """Hand the page more parts to hash, up to ``workers`` in flight."""
        dispatches = []
        with self._cond:
            while (
                self._started
                and not (self._paused or self._stopping or self.failure)
                and self._queue
                and len(self._inflight) < self._width
            ):
                number = self._queue.popleft()
                self._tokens += 1
                dispatch = _Dispatch(self._tokens, self._job.reuse(number), time.perf_counter())
                self._inflight[number] = dispatch
                dispatches.append((number, dispatch))
            if not self._queue and not self._inflight and self._started and not self._paused:
                self._ended.set()
        for number, dispatch in dispatches:
            row = self._job.ledger.row(number)
            self._send(
                {"type": "hash", "number": number, "token": dispatch.token,
                 "offset": row.offset, "size": row.size}
            )  # fmt: skip

    def _finish(self, number: int) -> None:
        with self._cond:
            self._inflight.pop(number, None)
        self._pump()

    def _cancel_inflight(self, *, requeue: bool) -> list[int]:
        """Forget the parts in flight (the lock is held); requeue them first if asked."""
        numbers = sorted(self._inflight)
        self._inflight.clear()
        if requeue:
            self._queue.extendleft(reversed(numbers))
        return numbers

    def _send(self, message: Mapping[str, Any]) -> None:
        self._carrier.channel.send(message)


def _page_error(number: int, message: Mapping[str, Any]) -> OssError:
    """The error a page reported: OSS's (status and code), or no answer at all."""
    status = int(message.get("status") or 0)
    text = str(message.get("message") or "")[:300]
    if status == 0:
        return TransportError(
            f"part {number}: the browser got no answer ({text or 'network error'}); "
            "the endpoint is unreachable from the browser, or the bucket's CORS rules do "
            "not allow this page's origin"
        )
    return ServiceError(text, status=status, code=str(message.get("code") or "") or None)


def _expired(error: ServiceError) -> bool:
    return error.error_code == "AccessDenied" and "expired" in error.message.lower()
