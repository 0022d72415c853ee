"""What every upload session keeps (plan, ledger, observers, checkpoint, state machine),
shared by the steps (:mod:`.session`) and the run (:mod:`.run`), and the views people see."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

from ..protocol.checksums import validate_checksum
from ..protocol.errors import Cancelled, NoSuchUpload, OssError, UsageError
from ..protocol.models import PartInfo
from ..protocol.operations import InitiateMultipartUpload, validate_bucket_name, validate_key
from ..protocol.parts import OSS_LIMITS, Limits, format_size, parse_size
from ..protocol.transcript import Exchange
from .calls import AttributedCalls
from .carriers import Carrier, RunHandle
from .checkpoint import BESIDE_SOURCE, CheckpointError, checkpoint_location
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
from .listing import Transport, endpoint_identity
from .part_sender import PartSender
from .plan import make_plan
from .receipt import Receipt, verified_line
from .session_checkpoint import CheckpointKeeper
from .source import SourceLike, open_source

__all__ = ["ACTIVE", "DEFAULT_CHECKPOINT", "FINAL", "SessionCore"]

DEFAULT_CHECKPOINT = BESIDE_SOURCE
"""``checkpoint=`` default: ``<file>.ossnb-checkpoint.json`` for files, none otherwise."""
_S = SessionState
ACTIVE = (_S.RUNNING, _S.PAUSED, _S.COMPLETING, _S.ABORTING)
FINAL = (_S.COMPLETED, _S.ABORTED)
_SENDING = (_S.RUNNING, _S.COMPLETING, _S.ABORTING)


class SessionCore:
    """State shared by the steps and the run (parameters: ``UploadSession``)."""

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
        checksum: str = "md5",
    ) -> None:
        self.bucket = validate_bucket_name(bucket)
        self.key = validate_key(key)
        if workers < 1 or part_attempts < 1:
            raise UsageError("workers and part_attempts must be at least 1")
        self.checksum = validate_checksum(checksum)
        self._transport = transport
        self.source = open_source(source)
        self.endpoint = endpoint or endpoint_identity(transport)
        self.content_type = content_type
        self.metadata = dict(metadata or {})
        path = getattr(self.source, "path", None)
        self.checkpoint_path = checkpoint_location(checkpoint, path, self.key)
        self._checkpoint = CheckpointKeeper(
            self.checkpoint_path,
            endpoint=self.endpoint,
            bucket=self.bucket,
            key=self.key,
            source=self.source.identity,
        )
        requested = parse_size(part_size) if isinstance(part_size, str) else part_size
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
        self._state = _S.INITIATED if upload_id else _S.PLANNED
        self._upload_id = upload_id
        self._must_reconcile = upload_id is not None  # ListParts before anything is reused
        self._adopted = upload_id is not None and saved is None  # by ID, not from a checkpoint
        self._error: OssError | None = None
        self._pool: RunHandle | None = None
        self._carrier: Carrier | None = None  # what start() carries parts with (remembered)
        self._runner: threading.Thread | None = None
        self._auto_complete = True
        self._settled = threading.Event()
        self._step_cancel = threading.Event()
        self._on_server: dict[int, PartInfo] = {}
        self._started_at: datetime | None = None
        self._finished_at: datetime | None = None
        self._clock: tuple[float, float | None, int] | None = None  # run start, end, bytes
        self._result: tuple[str, int, bool] | None = None  # ETag, CRC-64, CRC-64 compared
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
            checksum=self.checksum,
            attempts=part_attempts,
        )
        self._hold_checkpoint()  # last: nothing above can fail and leave it held

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
        """Exceptions raised by observers (kept, never printed)."""
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
        etag, crc = result[:2] if result else (None, None)
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
        """Call ``observer(event)`` on every change, from any thread (keep it quick: never
        print from it); returns an unsubscribe function."""
        return self._observers.subscribe(observer)

    def receipt(self) -> Receipt:
        """The record of this upload so far; ``verified`` once completed and checked."""
        with self._lock:
            result, state = self._result, self._state
            started, finished = self._started_at, self._finished_at
        etag, crc, crc_checked = result if result else (None, None, False)
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
            crc64_checked=crc_checked,
            verified=state is _S.COMPLETED,
            started_at=started,
            finished_at=finished,
            elapsed_seconds=(finished - started).total_seconds() if started and finished else None,
            server_parts_after_abort=self._aborted_parts,
        )

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
        result = self._result  # set once, when completed and verified
        if result:
            lines.append(verified_line(*result))
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

    def _initiate(self) -> None:
        operation = InitiateMultipartUpload(
            self.bucket, self.key, content_type=self.content_type, metadata=self.metadata
        )
        result = self._calls.execute(operation)
        with self._lock:
            self._upload_id = result.upload_id
            self._must_reconcile = False
        try:
            self._save_checkpoint()
        except CheckpointError as exc:
            self._undo_initiate(result.upload_id, exc)
        self._observers.emit(Notice(f"initiated upload ID {result.upload_id}"))

    def _undo_initiate(self, upload_id: str, exc: CheckpointError) -> None:
        """No checkpoint after initiate: abort the empty upload rather than leave it unnamed."""
        try:
            abort_and_confirm(self._calls, self.bucket, self.key, upload_id)
        except OssError as failed:
            raise CheckpointError(
                f"{exc}. Upload {upload_id} could not be aborted ({failed}): abort it with "
                f"`ossnb uploads abort {self.url} --upload-id {upload_id}`"
            ) from None
        with self._lock:
            self._upload_id = None
        raise CheckpointError(f"{exc}. Nothing was uploaded: upload {upload_id} was aborted")

    def _complete(self, upload_id: str) -> None:
        self.source.check_unchanged()
        done = complete_and_verify(
            self._calls, self.bucket, self.key, upload_id, self._ledger.snapshot().rows
        )
        result = (done.etag, done.crc64, done.crc64_checked)
        with self._lock:
            self._result = result
        self._remove_checkpoint()
        self._settle(_S.COMPLETED, "completed; " + verified_line(*result))

    def _abort(self) -> None:
        detail = "aborted; the server holds no parts for it"
        if self._upload_id is not None:
            # adopted by ID: an ID the server does not know is the user's mistake to see
            aborted = abort_and_confirm(
                self._calls, self.bucket, self.key, self._upload_id, missing_ok=not self._adopted
            )
            if not aborted:
                detail = (
                    f"upload {self._upload_id} was no longer on the server (completed or "
                    "aborted elsewhere); it holds no parts for it"
                )
        with self._lock:
            self._aborted_parts = 0
        self._remove_checkpoint()
        self._settle(_S.ABORTED, detail)

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
        if new not in FINAL:  # a failed write is said, never raised: initiate saved the ID
            problem = self._checkpoint.save_or_say(self._checkpoint_fields)
            if problem:
                self._observers.emit(Notice(problem))
        if old is not new:
            self._observers.emit(StateChanged(old, new, detail))

    def _settle(self, new: SessionState, detail: str) -> None:
        with self._lock:
            self._finished_at = datetime.now(timezone.utc)
            change = self._set_state(new)
        self._announce(change, detail)
        if new in FINAL:
            self._checkpoint.let_go(self)

    def _fail(self, error: OssError) -> None:
        with self._lock:
            self._error = error
        if isinstance(error, NoSuchUpload) and error.details.get("UploadId") in (
            None,
            self._upload_id,
        ):
            self._forget_upload()
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

    def _hold_checkpoint(self) -> None:
        """Hold the checkpoint's lock before anything is sent (a paused session is taken over)."""
        self._checkpoint.hold(self, lambda other: getattr(other, "state", None) in _SENDING)

    def _forget_upload(self) -> None:
        problem = self._checkpoint.forget()
        if problem:
            self._observers.emit(Notice(problem))

    def _checkpoint_fields(self) -> tuple[str | None, int, str, bool]:
        with self._lock:
            upload_id, state = self._upload_id, self._state
        return upload_id, self.plan.part_size, state.value, state not in FINAL

    def _save_checkpoint(self) -> None:
        self._checkpoint.save(self._checkpoint_fields)

    def _remove_checkpoint(self) -> None:
        problem = self._checkpoint.remove()
        if problem:
            self._observers.emit(Notice(problem))
