"""The background run: every part not yet done goes out on worker threads, then the
upload is completed and verified; pause, resume and wait work from any thread.

A resumed or adopted upload first lists the server's parts (ListParts is the truth);
each is re-checked against the local bytes before it is reused.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from ..protocol.errors import NoSuchUpload, OssError, UsageError
from ..protocol.operations import UploadPart
from .already import ResumeFinder
from .carriers import Carrier, CarrierJob, LocalCarrier
from .ledger import (
    Notice,
    PartState,
    SessionState,
)
from .listing import Presigner, list_all_parts
from .receipt import Receipt
from .session_core import ACTIVE, FINAL

__all__ = ["BackgroundRun"]

_S = SessionState


class BackgroundRun(ResumeFinder):
    """The background run of a session: :meth:`start`, :meth:`pause`, :meth:`resume`,
    :meth:`wait`."""

    def start(self, *, complete: bool = True, carrier: Carrier | None = None) -> None:
        """Send every part not yet done on background workers, then complete and verify.

        Returns at once. A resumed or adopted upload first lists the server's parts; each
        is re-checked against the local bytes (CRC-64) and only the rest are sent. With
        ``complete=False`` the run stops when every part is uploaded and leaves the upload
        initiated, for :meth:`complete` to finish (a teacher's step, a widget's button).
        ``carrier`` moves the parts: threads in this process by default, or e.g.
        ``DaskCarrier(dask_client)`` (:mod:`ossnb.upload.dask_carrier`) for a cluster.
        """
        with self._lock:
            if self._state in ACTIVE or self._state in FINAL:
                raise UsageError(f"the session is {self._state.value}; it cannot start")
            self._hold_checkpoint()  # a session of this process may have taken it over
            self._auto_complete = complete
            for number in self._ledger.numbers(PartState.FAILED, PartState.SENDING):
                self._ledger.update(number, state=PartState.PENDING, bytes_sent=0)
            pending = self._ledger.numbers(PartState.PENDING)
            # the carrier is remembered: a later start() (a widget's button) uses it again
            self._carrier = carrier or self._carrier or LocalCarrier()
            self._pool = self._carrier.carry(pending, self._carrier_job())
            self._runner = threading.Thread(target=self._run, name="ossnb-upload", daemon=True)
            self._error = None
            self._settled.clear()
            self._mark_started()
            self._clock = (time.perf_counter(), None, self._ledger.snapshot().bytes_done)
            change = self._set_state(_S.RUNNING)
        self._announce(change, "started")
        self._runner.start()

    def pause(self) -> None:
        """Stop sending; parts in flight are cancelled and sent again on :meth:`resume`."""
        with self._lock:
            if self._state is _S.PAUSED:
                return
            if self._state is not _S.RUNNING or self._pool is None:
                raise UsageError(f"nothing to pause: the session is {self._state.value}")
            self._pool.pause()
            change = self._set_state(_S.PAUSED)
        self._announce(change, "paused")

    def resume(self) -> None:
        """Continue a paused run (after a crash or failure, call :meth:`start` again)."""
        with self._lock:
            if self._state is not _S.PAUSED or self._pool is None:
                raise UsageError(f"nothing to resume: the session is {self._state.value}")
            self._checkpoint.check_held(self)
            change = self._set_state(_S.RUNNING)
            self._pool.resume()
        self._announce(change, "resumed")

    def wait(self, timeout: float | None = None) -> Receipt:
        """Block until the run settles; return the receipt or raise what went wrong.

        :class:`TimeoutError` after ``timeout`` seconds, :class:`Cancelled` if the upload
        was aborted, the failure itself (e.g. :class:`IntegrityError`) if it failed.
        """
        with self._lock:
            if self._state is _S.PLANNED or (self._state is _S.INITIATED and self._runner is None):
                raise UsageError("nothing is running: call start() first")
            if self._state is _S.PAUSED:
                raise UsageError("the session is paused: resume() or abort() it first")
        running = self._runner is not None and not self._on_own_thread()
        if running and not self._settled.wait(timeout):
            raise TimeoutError(f"the upload did not settle within {timeout} s")
        return self._outcome()

    def _run(self) -> None:
        pool = self._pool
        assert pool is not None
        try:
            if self._upload_id is None:
                self._initiate()
            elif self._must_reconcile:
                self._reconcile()
                if self._state is _S.COMPLETED:  # an earlier run had completed it
                    return
            if self._state is not _S.ABORTING:
                pool.start()
                pool.join()
                pool.wait_while_paused()
            with self._lock:
                aborting = self._state is _S.ABORTING
                if not aborting and pool.failure is None:
                    self._check_all_done()
                    change = self._set_state(_S.COMPLETING if self._auto_complete else _S.INITIATED)
            if aborting:
                self._finish(self._abort)
            elif pool.failure is not None:
                raise pool.failure
            else:
                self._announce(change, "all parts uploaded")
                if self._auto_complete:
                    self._finish(lambda: self._complete(self._require_upload_id()))
        except OssError as exc:
            self._fail(exc)
        except Exception as exc:  # a bug must not hang wait() or die silently on a thread
            self._fail(OssError(f"unexpected {type(exc).__name__}: {exc}"))
        finally:
            self._sender.release_buffers()
            with self._lock:
                if self._clock is not None:
                    self._clock = (self._clock[0], time.perf_counter(), self._clock[2])
            self._settled.set()

    def _work(self, number: int, cancel: threading.Event) -> None:
        self._sender.process(number, cancel, reuse=self._on_server.pop(number, None))

    def _carrier_job(self) -> CarrierJob:
        presigner = self._transport if isinstance(self._transport, Presigner) else None

        def presign(number: int, lifetime: timedelta, content_md5: str | None = None) -> str:
            assert presigner is not None
            upload_id = self._require_upload_id()
            part = UploadPart(self.bucket, self.key, upload_id, number, b"", content_md5)
            return presigner.presign(part, expires_in=lifetime)

        return CarrierJob(
            bucket=self.bucket,
            key=self.key,
            upload_id=self._require_upload_id,
            source=self.source,
            part_size=self.plan.part_size,
            workers=self.plan.workers,
            attempts=self._sender.attempts,
            ledger=self._ledger,
            emit=self._observers.emit,
            reuse=lambda number: self._on_server.pop(number, None),
            send_here=self._work,
            presign=presign if presigner is not None else None,
        )

    def _reconcile(self) -> None:
        """ListParts is the truth (docs/ARCHITECTURE.md §3): note what the server holds, to re-check it."""
        upload_id = self._require_upload_id()
        try:
            parts = list_all_parts(self._calls, self.bucket, self.key, upload_id)
        except NoSuchUpload:
            if self._adopted:
                raise
            if self._completed_already(upload_id):
                return
            self._observers.emit(
                Notice(f"upload {upload_id} no longer exists on the server; starting a new one")
            )
            for number in range(1, self.plan.part_count + 1):
                self._ledger.update(number, state=PartState.PENDING, bytes_sent=0, reused=False)
            self._initiate()
            return
        self._must_reconcile = False
        self._on_server = {p.part_number: p for p in parts if p.part_number <= self.plan.part_count}
        self._observers.emit(
            Notice(
                f"resuming upload ID {upload_id}: the server holds {len(parts)} part(s), "
                "each re-checked against the local bytes before it is reused"
                + self._checkpoint.touched_note()
            )
        )
