"""A session's checkpoint: its file and its lock, kept so that they never stop the run.

:class:`CheckpointKeeper` resumes from the file, holds the lock of
:mod:`.checkpoint_lock` while the session drives the upload (taken before anything is
sent, so a read-only, missing or full folder is refused first), rewrites the file on
every state change and removes it at the end. A write that fails later (the disk filled
up) is reported, never raised into the run: the file written at initiate still names
the upload. An upload the server no longer knows is forgotten: its file is removed and
not written again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ..protocol.errors import UsageError
from .checkpoint import Checkpoint, CheckpointError, CheckpointFile, SourceIdentity
from .checkpoint_lock import CheckpointLock

__all__ = ["CheckpointKeeper"]


class CheckpointKeeper:
    """The checkpoint file at ``path`` (None: no checkpoint) for one upload target."""

    def __init__(
        self,
        path: Path | None,
        *,
        endpoint: str,
        bucket: str,
        key: str,
        source: Callable[[], SourceIdentity],
    ) -> None:
        self.path = path
        self._file = None
        self._lock = None
        if path is not None:
            self._file = CheckpointFile(
                path, endpoint=endpoint, bucket=bucket, key=key, source=source()
            )
            self._lock = CheckpointLock(path)
        self._write = threading.Lock()
        self._gone = False

    @property
    def touched(self) -> bool:
        """After :meth:`resume`: the source's ctime moved since the file was written."""
        return self._file is not None and self._file.touched

    def touched_note(self) -> str:
        """For the resume notice, when the source's ctime moved since the file was written."""
        if not self.touched:
            return ""
        return (
            " (the file was written to or its permissions changed since the checkpoint, "
            "though its size and modification time are the same: only parts whose CRC-64 "
            "matches the file now are reused)"
        )

    def resume(self, part_size: int | None) -> Checkpoint | None:
        """The saved checkpoint if it resumes this upload (see ``resume_from``)."""
        return None if self._file is None else self._file.resume(part_size)

    def hold(self, owner: object, busy: Callable[[object], bool]) -> None:
        """Take the lock for ``owner`` (see :class:`CheckpointLock`); before anything is sent."""
        if self._lock is not None:
            self._lock.acquire(owner, busy)

    def check_held(self, owner: object) -> None:
        """:class:`UsageError` if another session of this process took the upload over."""
        if self._lock is not None and not self._lock.holds(owner):
            raise UsageError(
                "another upload session of this process took this upload over (the same "
                "file and target, e.g. a cell run again): steer it from that session"
            )

    def let_go(self, owner: object) -> None:
        """Release the lock: the upload is over (completed or aborted)."""
        if self._lock is not None:
            self._lock.release(owner)

    def save(self, read: Callable[[], tuple[str | None, int, str, bool]]) -> None:
        """Write the file; ``read()`` gives upload ID, part size, state and whether to write,
        read under the write lock so the file always ends with the latest state.
        :class:`CheckpointError` if it cannot be written."""
        if self._file is None:
            return
        with self._write:
            upload_id, part_size, state, wanted = read()
            if upload_id is not None and wanted and not self._gone:
                self._file.save(upload_id, part_size, state)

    def save_or_say(self, read: Callable[[], tuple[str | None, int, str, bool]]) -> str | None:
        """:meth:`save`, returning what went wrong instead of raising."""
        try:
            self.save(read)
        except CheckpointError as exc:
            return f"could not update the checkpoint: {exc}"
        return None

    def remove(self) -> str | None:
        """Delete the file; what went wrong, if it could not be deleted."""
        if self._file is None:
            return None
        with self._write:
            try:
                self._file.remove()
            except CheckpointError as exc:
                return str(exc)
        return None

    def forget(self) -> str | None:
        """The server does not know the upload: a file naming it would only mislead the
        next run, so it goes and is not written again."""
        with self._write:
            self._gone = True
        return self.remove()
