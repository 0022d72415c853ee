"""One part, end to end: read once, hash once, reuse or send, verify, record (docs/ARCHITECTURE.md §2-3).

A part is read into a buffer taken from a small pool (one per worker, reused for every
part it sends) and hashed and sent from there without a copy, so memory stays at
workers × part size with no allocator churn (a fresh 8 MiB ``bytes`` per part let
glibc's per-thread arenas hold ~50 % more than that at 4 workers).

A part the server already holds (found by ListParts on resume) is reused only when its
size and CRC-64 match the local bytes (its ETag against the local MD5 when the server
gave no CRC). Otherwise the bytes go out as one ``bytes`` body. With ``checksum="md5"``
(the default) it carries Content-MD5, and the returned ETag must equal the local MD5 and
``x-oss-hash-crc64ecma`` the local CRC-64. With ``checksum="crc64"`` no MD5 is computed
or sent: the part's CRC-64 must equal ``x-oss-hash-crc64ecma`` (an answer without one is
an :class:`IntegrityError`), and the ETag is recorded as the server gave it.
Transient failures, and answers whose ETag or CRC-64 do not match the local bytes (the
part was altered on the way; sending it again replaces it), are retried per part with
jittered exponential backoff on top of the client's own retries; permanent ones fail
the part with the OSS code and a hint.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ..protocol.checksums import Digest, crc64, digest, md5_hex, normalize_etag
from ..protocol.errors import Cancelled, IntegrityError, OssError, is_transient
from ..protocol.http import BODY_PIECE
from ..protocol.models import PartInfo, UploadPartResult
from ..protocol.operations import Operation, UploadPart
from .ledger import Event, Ledger
from .part_record import PartRecorder, describe_error
from .part_stream import PartStream, scan
from .source import Source

__all__ = ["PartSender", "describe_error"]

T = TypeVar("T")
Call = Callable[..., Any]


class PartSender:
    """Sends parts of one upload; shared by the step API and the worker threads.

    ``call`` is the session's attributed ``execute(op, part=, progress=, cancel=)``;
    ``attempts`` bounds the rounds per part (each round is one client ``execute``, which
    retries transient failures itself).
    """

    def __init__(
        self,
        ledger: Ledger,
        source: Source,
        target: tuple[str, str],
        upload_id: Callable[[], str],
        call: Call,
        emit: Callable[[Event], None],
        *,
        part_size: int,
        checksum: str = "md5",
        attempts: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
    ) -> None:
        self.ledger = ledger
        self.source = source
        self.bucket, self.key = target
        self.upload_id = upload_id
        self.call = call
        self.emit = emit
        self.record = PartRecorder(ledger, emit, "local")
        self.part_size = part_size
        self.md5 = checksum == "md5"
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._buffers: list[bytearray] = []
        self._lock = threading.Lock()

    def process(self, number: int, cancel: threading.Event, reuse: PartInfo | None) -> None:
        """Make part ``number`` done: reuse the server's copy if it matches, else send it."""
        row = self.ledger.row(number)
        buffer = self._take(row.size)
        try:
            self._process(number, memoryview(buffer), cancel, reuse)
        finally:
            with self._lock:
                self._buffers.append(buffer)

    def release_buffers(self) -> None:
        """Free the pooled part buffers (once a run or step is over)."""
        with self._lock:
            self._buffers.clear()

    def _take(self, size: int) -> bytearray:
        with self._lock:
            if self._buffers:
                return self._buffers.pop()
        if not self.md5:  # parts are streamed through a piece-sized buffer (.part_stream)
            return bytearray(min(max(size, self.part_size), BODY_PIECE))
        return bytearray(max(size, self.part_size))

    def _process(
        self, number: int, buffer: memoryview, cancel: threading.Event, reuse: PartInfo | None
    ) -> None:
        started = time.perf_counter()
        try:
            row = self.ledger.row(number)
            if self.md5:
                data = buffer[: row.size]
                self.source.read_into(row.offset, data)
                if reuse is not None and self._reusable(reuse, data):
                    crc = reuse.crc64 if reuse.crc64 is not None else crc64(data)
                    self.record.reused(number, reuse, crc, time.perf_counter() - started)
                    return
                local = digest(data, md5=True)
                self._send(number, data, lambda: local, cancel, started)
                return
            if reuse is not None:
                crc_held = self._reusable_scan(row.offset, row.size, reuse, buffer)
                if crc_held is not None:
                    self.record.reused(number, reuse, crc_held, time.perf_counter() - started)
                    return
            stream = PartStream(self.source, row.offset, row.size, buffer)
            self._send(number, stream, lambda: _streamed(number, stream), cancel, started)
        except Cancelled:
            self.record.cancelled(number)
            raise
        except OssError as exc:
            self.record.failed(number, exc)
            raise

    @staticmethod
    def _reusable(part: PartInfo, data: memoryview) -> bool:
        if part.size != len(data):
            return False
        if part.crc64 is not None:
            return crc64(data) == part.crc64
        return md5_hex(data) == normalize_etag(part.etag)

    def _reusable_scan(
        self, offset: int, size: int, part: PartInfo, buffer: memoryview
    ) -> int | None:
        """The local CRC-64 when the server's ``part`` holds these bytes, else ``None``."""
        if part.size != size:
            return None
        crc, md5 = scan(self.source, offset, size, buffer, md5=part.crc64 is None)
        if part.crc64 is not None:
            return crc if crc == part.crc64 else None
        return crc if md5 == normalize_etag(part.etag) else None

    def _send(
        self,
        number: int,
        body: bytes | memoryview | PartStream,
        local: Callable[[], Digest],
        cancel: threading.Event,
        started: float,
    ) -> None:
        # A buffer view is not copied: the client only takes its len() and memoryview() (it
        # streams it in pieces for progress and cancellation); a PartStream reads as it goes.
        operation = UploadPart(
            self.bucket,
            self.key,
            self.upload_id(),
            number,
            cast(bytes, body) if isinstance(body, memoryview) else body,
            content_md5=local().md5_b64 if self.md5 else None,
        )
        result, checked = self._upload_with_retries(number, operation, local, cancel)
        elapsed = time.perf_counter() - started
        self.record.sent(number, result.etag, result.crc64, checked, elapsed)

    def _upload_with_retries(
        self,
        number: int,
        operation: Operation[UploadPartResult],
        local: Callable[[], Digest],
        cancel: threading.Event,
    ) -> tuple[UploadPartResult, Digest]:
        """The answer and the local checksums it matched (a streamed part's are known
        only once its bytes went out)."""
        round_ = 1
        while True:
            self.record.started(number, local().md5_hex if self.md5 else None)
            try:
                result = self._upload(number, operation, cancel)
            except OssError as exc:
                if isinstance(exc, Cancelled) or not is_transient(exc) or round_ >= self.attempts:
                    raise
                error: OssError = exc
            else:
                checked = local()
                mismatch = self._verify(number, result, checked)
                if mismatch is None:
                    return result, checked
                if round_ >= self.attempts:
                    raise mismatch
                error = mismatch  # sending the part again may fix it
            self.record.retrying(number, error)
            delay = random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (round_ - 1)))
            if cancel.wait(delay):
                raise Cancelled(f"part {number} cancelled while waiting to retry")
            round_ += 1

    def _upload(
        self, number: int, operation: Operation[UploadPartResult], cancel: threading.Event
    ) -> UploadPartResult:
        before = self.ledger.row(number).attempts

        def progress(delta: int) -> None:
            self.record.progress(number, delta)

        try:
            result: UploadPartResult = self.call(
                operation, part=number, progress=progress, cancel=cancel
            )
            return result
        finally:
            row = self.ledger.row(number)
            if row.attempts == before:  # a transport without exchange events: count one
                self.ledger.update(number, attempts=before + 1)

    def _verify(
        self, number: int, result: UploadPartResult, local: Digest
    ) -> IntegrityError | None:
        """The mismatch between the answer and the local bytes, if any (sending the part
        again may fix it); raises when this mode has nothing to check the part against."""
        if local.md5_hex is not None and normalize_etag(result.etag) != local.md5_hex:
            return IntegrityError(
                f"part {number}: OSS returned ETag {result.etag} but the local MD5 is "
                f"{local.md5_hex}; the part was altered on the way. Send it again "
                "(upload_part or start) or abort the upload"
            )
        if result.crc64 is None:
            if self.md5:
                return None
            raise IntegrityError(
                f"part {number}: the server sent no x-oss-hash-crc64ecma, so with "
                "checksum='crc64' nothing checks this part; upload with checksum='md5'"
            )
        if result.crc64 != local.crc64:
            return IntegrityError(
                f"part {number}: OSS computed CRC-64 {result.crc64} but the local bytes give "
                f"{local.crc64}; the part was altered on the way. Send it again or abort"
            )
        return None


def _streamed(number: int, stream: PartStream) -> Digest:
    """The checksums of the bytes ``stream`` sent last (only its CRC-64: no MD5 mode)."""
    if stream.crc64 is None:  # an answer came before the body was all sent
        raise IntegrityError(
            f"part {number}: the server answered before the whole part was sent; "
            "send it again (upload_part or start) or abort the upload"
        )
    return Digest(stream.size, None, None, stream.crc64)
