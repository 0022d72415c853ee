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

from typing import Any

from ..protocol.errors import UsageError
from ..protocol.models import PartInfo
from ..protocol.parts import OSS_LIMITS
from .ledger import PartRow, SessionState
from .listing import Transport, list_all_parts
from .receipt import Receipt
from .run import BackgroundRun
from .session_core import ACTIVE, DEFAULT_CHECKPOINT, FINAL
from .source import SourceLike
from .widget_factory import set_widget_factory, widget_factory

__all__ = ["DEFAULT_CHECKPOINT", "UploadSession", "set_widget_factory"]

_S = SessionState


class UploadSession(BackgroundRun):
    """One multipart upload of ``source`` (a path, bytes or seekable binary file) to
    ``oss://bucket/key``.

    ``transport`` runs operations (an :class:`ossnb.client.client.Client`). ``part_size`` is bytes
    or text such as ``"16MiB"`` (default 8 MiB, grown to stay within 10,000 parts).
    ``checkpoint`` is a file, a folder, ``None`` for none, or by default a file beside a
    source file. ``upload_id`` adopts an existing upload. ``endpoint`` names the endpoint
    in the checkpoint (default: the transport's ``identity`` or URL). ``part_attempts``
    bounds the session's retries of a part, each on top of the client's own retries.
    ``checksum`` is ``"md5"`` (default: Content-MD5 sent, each ETag compared with the local
    MD5, CRC-64 checked too) or ``"crc64"`` (no MD5, less CPU: each part's CRC-64 against
    ``x-oss-hash-crc64ecma``; the ETag is recorded as the server gave it). Either way the
    parts' combined CRC-64 is checked at Complete and a part that arrives altered is sent
    again.
    """

    @property
    def endpoint_url(self) -> str:
        """The endpoint's URL: the one to point oss2 or ``ossnb uploads list`` at (the
        checkpoint's ``endpoint`` may instead name the embedded emulator's data folder)."""
        url = getattr(getattr(self._transport, "endpoint", None), "url", None)
        return url if isinstance(url, str) and url else self.endpoint

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

    def widget(self) -> Any:
        """This session's live notebook widget (one per session; display it in a cell)."""
        factory = widget_factory()  # the widgets sit above the session: registered by ossnb
        if factory is None:
            raise UsageError("the notebook widgets are not loaded: `import ossnb` first")
        return factory(self)

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
            if self._state in ACTIVE or self._state in FINAL:
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
            if state not in ACTIVE:
                upload_id = self._require_upload_id()
                self._check_all_done()
                change = self._set_state(_S.COMPLETING)
        if state in ACTIVE:
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
            self._checkpoint.check_held(self)  # not an upload another session took over
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
