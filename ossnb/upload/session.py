"""The multipart upload session: step by step, or parallel in the background; resumable and
verified end to end (docs/PROTOCOL.md §2.8-2.14, docs/ARCHITECTURE.md §2-3).

::

    session = UploadSession(client, "big.bin", "bucket", "data/big.bin")
    session.plan                      # part size, count, workers, peak memory: nothing sent yet
    session.start()                   # returns at once; parts go out on background workers
    session.pause(); session.resume() # from any thread, e.g. a widget's button
    receipt = session.wait()          # completed, and verified by ETag, CRC-64 and a HEAD

or one step at a time: ``initiate()``, ``upload_part(n)``, ``list_parts()``,
``complete()``, ``abort()``. Every change lands in a thread-safe ledger and reaches
observers (``subscribe``) as events. A checkpoint beside the source lets the same call
resume after a crash; :meth:`UploadSession.adopt` takes over an upload by its ID alone.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from ..protocol.errors import Cancelled, NoSuchUpload, OssError, UsageError
from ..protocol.models import PartInfo
from ..protocol.operations import InitiateMultipartUpload, validate_bucket_name, validate_key
from ..protocol.parts import OSS_LIMITS, Limits, format_size, parse_size
from ..protocol.transcript import Exchange
from .calls import AttributedCalls
from .checkpoint import BESIDE_SOURCE, CheckpointError, CheckpointFile, checkpoint_location
from .finish import abort_and_confirm, complete_and_verify
from .ledger import (
    Event,
    ExchangeEvent,
    Ledger,
    Notice,
    Observers,
    PartRow,
    PartState,
    SessionSnapshot,
    SessionState,
    StateChanged,
)
from .listing import Transport, endpoint_identity, list_all_parts
from .part_sender import PartSender
from .plan import make_plan
from .receipt import Receipt
from .source import SourceLike, open_source
from .workers import WorkerPool

__all__ = ["DEFAULT_CHECKPOINT", "UploadSession", "set_widget_factory"]

DEFAULT_CHECKPOINT = BESIDE_SOURCE
"""``checkpoint=`` default: ``<file>.ossnb-checkpoint.json`` for files, none otherwise."""
_S = SessionState
_ACTIVE = (_S.RUNNING, _S.PAUSED, _S.COMPLETING, _S.ABORTING)
_FINAL = (_S.COMPLETED, _S.ABORTED)
_widget_factory: Callable[[UploadSession], Any] | None = None


def set_widget_factory(factory: Callable[[UploadSession], Any]) -> None:
    """Register what :meth:`UploadSession.widget` builds. The session never imports the
    widgets (they sit above it); the package registers them, loaded on first use."""
    global _widget_factory
    _widget_factory = factory


class UploadSession:
    """One multipart upload of ``source`` (a path, bytes or seekable binary file) to
    ``oss://bucket/key``.

    ``transport`` runs operations (an :class:`ossnb.client.client.Client`). ``part_size`` is bytes
    or text such as ``"16MiB"`` (default 8 MiB, grown to stay within 10,000 parts).
    ``checkpoint`` is a file, a folder, ``None`` for none, or by default a file beside a
    source file. ``upload_id`` adopts an existing upload. ``endpoint`` names the endpoint
    in the checkpoint (default: the transport's ``identity`` or URL). ``part_attempts``
    bounds the session's retries of a part, each on top of the client's own retries.
    """

    def __init__(
        self,
        transport: Transport,
        source: SourceLike,
        bucket: str,
        key: str,
        *,
        part_size: int | str | None = None,
        workers: int = 4,
        checkpoint: str | os.PathLike[str] | None = DEFAULT_CHECKPOINT,
        limits: Limits = OSS_LIMITS,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        upload_id: str | None = None,
        endpoint: str | None = None,
        part_attempts: int = 3,
    ) -> None:
        self.bucket = validate_bucket_name(bucket)
        self.key = validate_key(key)
        if workers < 1 or part_attempts < 1:
            raise UsageError("workers and part_attempts must be at least 1")
        self._transport = transport
        self.source = open_source(source)
        self.endpoint = endpoint or endpoint_identity(transport)
        self.content_type = content_type
        self.metadata = dict(metadata or {})
        path = getattr(self.source, "path", None)
        self.checkpoint_path = checkpoint_location(checkpoint, path, self.key)
        self._checkpoint = None
        requested = parse_size(part_size) if isinstance(part_size, str) else part_size
        saved = None
        if self.checkpoint_path is not None:
            self._checkpoint = CheckpointFile(
                self.checkpoint_path,
                endpoint=self.endpoint,
                bucket=self.bucket,
                key=self.key,
                source=self.source.identity(),
            )
            saved = self._checkpoint.resume(requested if upload_id is None else None)
        if saved is not None:
            if upload_id not in (None, saved.upload_id):
                raise CheckpointError(
                    f"{self.checkpoint_path} records upload {saved.upload_id}, not {upload_id}; "
                    "resume that one, or delete the checkpoint (or name another) to adopt this one"
                )
            requested, upload_id = saved.part_size, saved.upload_id
        self.plan, parts = make_plan(
            self.source.label, self.source.size, requested, workers, limits
        )
        self._ledger = Ledger(parts)
        self._observers = Observers()
        self._lock = threading.RLock()
        self._cp_lock = threading.Lock()
        self._state = _S.INITIATED if upload_id else _S.PLANNED
        self._upload_id = upload_id
        self._must_reconcile = upload_id is not None  # ListParts before anything is reused
        self._adopted = upload_id is not None and saved is None  # by ID, not from a checkpoint
        self._error: OssError | None = None
        self._pool: WorkerPool | None = None
        self._runner: threading.Thread | None = None
        self._auto_complete = True
        self._settled = threading.Event()
        self._step_cancel = threading.Event()
        self._on_server: dict[int, PartInfo] = {}
        self._started_at: datetime | None = None
        self._finished_at: datetime | None = None
        self._clock: tuple[float, float | None, int] | None = None  # run start, end, bytes
        self._result: tuple[str, int] | None = None
        self._aborted_parts: int | None = None
        self._exchanges: deque[Exchange] = deque(maxlen=1000)
        self._calls = AttributedCalls(transport, self._on_exchange)
        self._sender = PartSender(
            self._ledger,
            self.source,
            (self.bucket, self.key),
            self._require_upload_id,
            self._calls.execute,
            self._observers.emit,
            part_size=self.plan.part_size,
            attempts=part_attempts,
        )

    @classmethod
    def adopt(
        cls,
        transport: Transport,
        source: SourceLike,
        bucket: str,
        key: str,
        upload_id: str,
        **options: Any,
    ) -> UploadSession:
        """Take over an unfinished upload by its ID alone.

        Without ``part_size`` it is read from the upload's parts (one ListParts). Each part
        on the server is re-checked against the local bytes (CRC-64) before it is reused.
        """
        if options.get("part_size") is None:
            limits = options.get("limits", OSS_LIMITS)
            sizes = [p.size for p in list_all_parts(transport, bucket, key, upload_id)]
            if any(s >= limits.min_part_size for s in sizes):
                options["part_size"] = max(sizes)
        return cls(transport, source, bucket, key, upload_id=upload_id, **options)

    # -- views ----------------------------------------------------------------------------

    @property
    def upload_id(self) -> str | None:
        return self._upload_id

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def error(self) -> OssError | None:
        """Why the session failed, if it did."""
        return self._error

    @property
    def auto_complete(self) -> bool:
        """Whether a run completes by itself (``start(complete=...)``, True until then)."""
        return self._auto_complete

    @property
    def url(self) -> str:
        return f"oss://{self.bucket}/{self.key}"

    @property
    def observer_errors(self) -> list[BaseException]:
        """Exceptions raised by observers (kept, never printed from worker threads)."""
        return list(self._observers.errors)

    def snapshot(self) -> SessionSnapshot:
        """An immutable view: state, upload ID, every part row, byte totals and rate."""
        ledger = self._ledger.snapshot()
        with self._lock:
            state, error, clock, result = self._state, self._error, self._clock, self._result
        elapsed, rate = 0.0, None
        if clock is not None:
            elapsed = (clock[1] or time.perf_counter()) - clock[0]
            sent = ledger.bytes_done - ledger.bytes_reused - clock[2]
            rate = sent / elapsed if elapsed > 0 and sent > 0 else None
        etag, crc = result if result else (None, None)
        message = str(error) if error else None
        return SessionSnapshot(state, self._upload_id, ledger, message, elapsed, rate, etag, crc)

    def row(self, number: int) -> PartRow:
        """The ledger row of part ``number``."""
        if not 1 <= number <= self.plan.part_count:
            raise UsageError(f"part number {number} is outside 1..{self.plan.part_count}")
        return self._ledger.row(number)

    def transcript(self) -> tuple[Exchange, ...]:
        """The session's last 1,000 HTTP exchanges, masked."""
        return tuple(self._exchanges)

    def subscribe(self, observer: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``observer(event)`` on every change, from whichever thread made it (workers
        too: keep it quick, never print or display from it). Returns an unsubscribe function."""
        return self._observers.subscribe(observer)

    def receipt(self) -> Receipt:
        """The record of this upload so far; ``verified`` once completed and checked."""
        with self._lock:
            result, started, finished, state = (
                self._result,
                self._started_at,
                self._finished_at,
                self._state,
            )
        etag, crc = result if result else (None, None)
        return Receipt.from_ledger(
            self._ledger.snapshot(),
            endpoint=self.endpoint,
            bucket=self.bucket,
            key=self.key,
            source=self.source.label,
            size=self.source.size,
            part_size=self.plan.part_size,
            upload_id=self._upload_id,
            state=state.value,
            etag=etag,
            crc64=crc,
            verified=state is _S.COMPLETED,
            started_at=started,
            finished_at=finished,
            elapsed_seconds=(finished - started).total_seconds() if started and finished else None,
            server_parts_after_abort=self._aborted_parts,
        )

    def widget(self) -> Any:
        """This session's live notebook widget (one per session; display it in a cell)."""
        if _widget_factory is None:
            raise UsageError("the notebook widgets are not loaded: `import ossnb` first")
        return _widget_factory(self)

    def describe(self) -> str:
        """A few lines for people: target, plan, upload ID, progress, result."""
        snap = self.snapshot()
        lines = [
            f"{self.source.label} -> {self.url} [{snap.state.value}]",
            f"plan: {self.plan.describe()}",
            f"upload ID: {snap.upload_id or '(not initiated)'}",
            f"parts done: {snap.ledger.count(PartState.DONE)}/{self.plan.part_count} "
            f"({format_size(snap.ledger.bytes_done)} of {format_size(self.plan.size)})",
        ]
        if self.checkpoint_path and self.checkpoint_path.exists():  # removed once completed
            lines.append(f"checkpoint: {self.checkpoint_path}")
        if snap.etag:
            lines.append(f"ETag {snap.etag}, CRC-64 {snap.crc64} (verified)")
        if snap.error:
            lines.append(f"error: {snap.error}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        snap = self.snapshot()
        return (
            f"<UploadSession {self.url} {snap.state.value} upload_id={snap.upload_id!r} "
            f"parts={snap.ledger.count(PartState.DONE)}/{self.plan.part_count} "
            f"part_size={format_size(self.plan.part_size)} workers={self.plan.workers}>"
        )

    # -- steps ----------------------------------------------------------------------------

    def initiate(self) -> str:
        """InitiateMultipartUpload (docs/PROTOCOL.md §2.8); returns the new upload ID."""
        with self._lock:
            if self._state is not _S.PLANNED:
                raise UsageError(f"already initiated: upload ID {self._upload_id}")
            self._mark_started()
        self._initiate()
        self._announce(self._set_state(_S.INITIATED), f"upload ID {self._upload_id}")
        return self._require_upload_id()

    def upload_part(self, number: int) -> PartRow:
        """Read, hash and send part ``number`` with Content-MD5; verify its ETag and CRC-64."""
        self.row(number)
        with self._lock:
            if self._state in _ACTIVE or self._state in _FINAL:
                raise UsageError(f"the session is {self._state.value}; upload_part is for steps")
            self._require_upload_id()
            self._step_cancel.clear()
            self._mark_started()
        try:
            self._sender.process(number, self._step_cancel, reuse=None)
        finally:
            self._sender.release_buffers()
        return self._ledger.row(number)

    def list_parts(self) -> list[PartInfo]:
        """ListParts, every page (docs/PROTOCOL.md §2.14): what the server holds for this upload."""
        return list_all_parts(self._calls, self.bucket, self.key, self._require_upload_id())

    def complete(self) -> Receipt:
        """Complete the upload and verify the object; while workers run, wait for them.

        Every part must be done. Complete's CRC-64 must equal the parts' combined CRC-64
        and a HEAD must confirm size, ETag and CRC-64, else :class:`IntegrityError`.
        """
        with self._lock:
            state = self._state
            if state is _S.COMPLETED:
                return self.receipt()
            if state in (_S.ABORTING, _S.ABORTED):
                raise UsageError("the upload was aborted; start a new session")
            if state not in _ACTIVE:
                upload_id = self._require_upload_id()
                self._check_all_done()
                change = self._set_state(_S.COMPLETING)
        if state in _ACTIVE:
            return self.wait()
        self._announce(change, "completing")
        self._finish(lambda: self._complete(upload_id))
        return self._outcome()

    def abort(self) -> Receipt:
        """Stop everything, AbortMultipartUpload, and confirm the server holds no parts.

        Works while workers run: in-flight requests are closed. Called from an observer on
        a worker thread it returns at once, and the run finishes the abort.
        """
        with self._lock:
            state = self._state
            if state is _S.ABORTED:
                return self.receipt()
            if state in (_S.COMPLETED, _S.COMPLETING):
                raise UsageError(f"the upload is {state.value}; too late to abort")
            running = self._runner is not None and self._runner.is_alive()
            change = self._set_state(_S.ABORTING)
            self._step_cancel.set()
            pool = self._pool
        self._announce(change, "abort requested")
        if pool is not None:
            pool.stop()
        if running:
            if self._on_own_thread():
                return self.receipt()
            self._settled.wait()
        if self._state is _S.ABORTING:  # no run, or it ended before it saw the request
            self._finish(self._abort)
        if self._state is _S.FAILED and self._error is not None:
            raise self._error
        return self.receipt()

    # -- the background run ---------------------------------------------------------------

    def start(self, *, complete: bool = True) -> None:
        """Send every part not yet done on background workers, then complete and verify.

        Returns at once. A resumed or adopted upload first lists the server's parts; each
        is re-checked against the local bytes (CRC-64) and only the rest are sent. With
        ``complete=False`` the run stops when every part is uploaded and leaves the upload
        initiated, for :meth:`complete` to finish (a teacher's step, a widget's button).
        """
        with self._lock:
            if self._state in _ACTIVE or self._state in _FINAL:
                raise UsageError(f"the session is {self._state.value}; it cannot start")
            self._auto_complete = complete
            for number in self._ledger.numbers(PartState.FAILED, PartState.SENDING):
                self._ledger.update(number, state=PartState.PENDING, bytes_sent=0)
            pending = self._ledger.numbers(PartState.PENDING)
            self._pool = WorkerPool(self._work, pending, self.plan.workers, name="ossnb-part")
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

    # -- internals ------------------------------------------------------------------------

    def _run(self) -> None:
        pool = self._pool
        assert pool is not None
        try:
            if self._upload_id is None:
                self._initiate()
            elif self._must_reconcile:
                self._reconcile()
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

    def _initiate(self) -> None:
        operation = InitiateMultipartUpload(
            self.bucket, self.key, content_type=self.content_type, metadata=self.metadata
        )
        result = self._calls.execute(operation)
        with self._lock:
            self._upload_id = result.upload_id
            self._must_reconcile = False
        self._save_checkpoint()
        self._observers.emit(Notice(f"initiated upload ID {result.upload_id}"))

    def _reconcile(self) -> None:
        """ListParts is the truth (docs/ARCHITECTURE.md §3): note what the server holds, to re-check it."""
        upload_id = self._require_upload_id()
        try:
            parts = list_all_parts(self._calls, self.bucket, self.key, upload_id)
        except NoSuchUpload:
            if self._adopted:
                raise
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
            )
        )

    def _complete(self, upload_id: str) -> None:
        self.source.check_unchanged()
        done = complete_and_verify(
            self._calls, self.bucket, self.key, upload_id, self._ledger.snapshot().rows
        )
        with self._lock:
            self._result = (done.etag, done.crc64)
        self._remove_checkpoint()
        self._settle(_S.COMPLETED, f"completed {done.etag}; size, ETag and CRC-64 verified")

    def _abort(self) -> None:
        if self._upload_id is not None:
            abort_and_confirm(self._calls, self.bucket, self.key, self._upload_id)
        with self._lock:
            self._aborted_parts = 0
        self._remove_checkpoint()
        self._settle(_S.ABORTED, "aborted; the server holds no parts for it")

    def _finish(self, action: Callable[[], None]) -> None:
        try:
            action()
        except OssError as exc:
            self._fail(exc)

    def _outcome(self) -> Receipt:
        with self._lock:
            state, error = self._state, self._error
        if state is _S.FAILED and error is not None:
            raise error
        if state is _S.ABORTED:
            raise Cancelled(f"upload {self._upload_id} was aborted; the server holds no parts")
        return self.receipt()

    def _set_state(self, new: SessionState) -> tuple[SessionState, SessionState]:
        """Change state (the lock is held); announce it with :meth:`_announce` after."""
        with self._lock:
            old, self._state = self._state, new
            return old, new

    def _announce(self, change: tuple[SessionState, SessionState], detail: str) -> None:
        old, new = change
        if new not in _FINAL:
            try:
                self._save_checkpoint()
            except CheckpointError as exc:  # the identity was saved at initiate already
                self._observers.emit(Notice(f"could not update the checkpoint: {exc}"))
        if old is not new:
            self._observers.emit(StateChanged(old, new, detail))

    def _settle(self, new: SessionState, detail: str) -> None:
        with self._lock:
            self._finished_at = datetime.now(timezone.utc)
            change = self._set_state(new)
        self._announce(change, detail)

    def _fail(self, error: OssError) -> None:
        with self._lock:
            self._error = error
        self._settle(_S.FAILED, str(error))

    def _mark_started(self) -> None:
        if self._started_at is None:
            self._started_at = datetime.now(timezone.utc)

    def _check_all_done(self) -> None:
        missing = self._ledger.numbers(PartState.PENDING, PartState.SENDING, PartState.FAILED)
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
            raise UsageError(
                f"{len(missing)} of {self.plan.part_count} part(s) are not uploaded yet "
                f"({shown}); upload them (upload_part or start) before complete()"
            )

    def _require_upload_id(self) -> str:
        if self._upload_id is None:
            raise UsageError("no upload yet: call initiate() or start() first")
        return self._upload_id

    def _on_own_thread(self) -> bool:
        me, pool = threading.current_thread(), self._pool
        return me is self._runner or (pool is not None and me in pool.threads)

    def _on_exchange(self, exchange: Exchange, part: int | None) -> None:
        self._exchanges.append(exchange)
        if part is not None and exchange.operation == "UploadPart":
            self._ledger.update(part, attempts=self._ledger.row(part).attempts + 1)
        self._observers.emit(ExchangeEvent(exchange, part))

    def _save_checkpoint(self) -> None:
        if self._checkpoint is None:
            return
        with self._cp_lock:  # the state is read inside: the file always ends with the latest
            upload_id, state = self._upload_id, self._state
            if upload_id is not None and state not in _FINAL:
                self._checkpoint.save(upload_id, self.plan.part_size, state.value)

    def _remove_checkpoint(self) -> None:
        if self._checkpoint is not None:
            with self._cp_lock:
                self._checkpoint.remove()
