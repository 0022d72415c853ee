"""One driver per checkpoint: an OS file lock on a file beside it.

Two processes resuming from one checkpoint race each other: one completes the upload and
the other meets NoSuchUpload. So while a session uses a checkpoint it holds an exclusive
``fcntl.flock`` on ``<checkpoint>.lock``, which records its PID; a second process is
refused with a line naming that PID. The OS drops the lock when the process ends,
however it ends (SIGKILL too), so a crash never leaves a stale lock behind. Within one
process (a notebook re-running a cell) a new session takes the checkpoint over unless the
session holding it is still running.

Creating and writing the lock file is also the first write in the checkpoint's folder:
a read-only, missing or full folder is refused here, before any request is sent. Where
``fcntl`` does not exist (Windows) only the in-process check applies.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

from msgspec import Struct

from .checkpoint import CheckpointError, checkpoint_write_error

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_SUFFIX", "CheckpointLock", "CheckpointLocked"]

LOCK_SUFFIX = ".lock"
_O_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)


class CheckpointLocked(CheckpointError):
    """Another process (or a running session of this one) is driving this checkpoint."""


class _Held(Struct):
    fd: int
    owner: weakref.ref[object]


_held: dict[str, _Held] = {}
_guard = threading.Lock()


class CheckpointLock:
    """The lock of the checkpoint at ``checkpoint``: :meth:`acquire` before anything is
    sent, :meth:`release` once the upload is completed or aborted."""

    def __init__(self, checkpoint: Path) -> None:
        self.checkpoint = checkpoint
        self.path = checkpoint.with_name(checkpoint.name + LOCK_SUFFIX)

    def acquire(self, owner: object, busy: Callable[[object], bool]) -> None:
        """Hold the lock for ``owner``; :class:`CheckpointLocked` if another process holds
        it, or another ``owner`` of this process for which ``busy(other)`` is true;
        :class:`CheckpointError` if the folder cannot be written."""
        key = str(self.path)
        with _guard:
            held = _held.get(key)
            if held is not None:
                other = held.owner()
                if other is not None and other is not owner and busy(other):
                    raise CheckpointLocked(
                        f"{self.checkpoint} is in use by another upload session of this "
                        f"process, which is sending ({other!r}); pause or abort that one first"
                    )
                held.owner = weakref.ref(owner)
            else:
                fd = _lock(self.path, self.checkpoint)
                _held[key] = _Held(fd, weakref.ref(owner))
        weakref.finalize(owner, _release_if_dropped, key)

    def release(self, owner: object) -> None:
        """Let the lock go (and delete its file) if ``owner`` holds it."""
        _release(str(self.path), owner)

    def holds(self, owner: object) -> bool:
        """Whether ``owner`` holds this lock now."""
        with _guard:
            held = _held.get(str(self.path))
            return held is not None and held.owner() is owner


def _release(key: str, owner: object | None) -> None:
    """Release ``key`` if ``owner`` holds it (``None``: if its holder is gone)."""
    with _guard:
        _let_go(key, owner)


def _release_if_dropped(key: str) -> None:
    """A holder was garbage-collected unreleased. This may run inside any allocation, even
    on a thread holding ``_guard``: then leave it (the next session here takes it over)."""
    if _guard.acquire(blocking=False):
        try:
            _let_go(key, None)
        finally:
            _guard.release()


def _let_go(key: str, owner: object | None) -> None:
    held = _held.get(key)
    if held is None or held.owner() is not owner:
        return
    del _held[key]
    with contextlib.suppress(OSError):
        os.unlink(key)  # while still locked: no one can be holding this file
    os.close(held.fd)


def _lock(path: Path, checkpoint: Path) -> int:
    for _ in range(5):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o644)
        except OSError as exc:
            raise checkpoint_write_error(checkpoint, exc) from None
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            pid = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise checkpoint_write_error(checkpoint, exc) from None
            who = f"another ossnb process (PID {pid})" if pid else "another ossnb process"
            raise CheckpointLocked(
                f"{checkpoint} is in use by {who} uploading the same file; wait for it to "
                "finish, or stop it, then run this again"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except OSError:
            same = False
        if not same:  # its holder deleted it as it let go: lock the new file instead
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:  # e.g. a full disk: the checkpoint could not be written either
            _release_fd(fd, path)
            raise checkpoint_write_error(checkpoint, exc) from None
        return fd
    raise CheckpointLocked(f"{checkpoint} keeps changing hands; try again")


def _release_fd(fd: int, path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
    os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
