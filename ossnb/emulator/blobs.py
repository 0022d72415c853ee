"""Blob files: object and part bytes, named by generated ids, never by key (docs/ARCHITECTURE.md §4).

A body is streamed into ``blobs/<id[:2]>/<id>`` while MD5 and CRC-64 are computed chunk
by chunk (paths are plain strings and shard folders are created once: a small part costs
few syscalls and little Python). No record names a blob until it is whole, so a body cut
short by a crash is an orphan the next start sweeps away; no rename is needed. Readers
pin the blobs they stream from; deleting a pinned blob is deferred until its last reader
lets go.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from msgspec import Struct

from ..protocol.checksums import crc64

__all__ = ["Blob", "BlobWriter", "Blobs"]

_ID = re.compile(r"^[0-9a-f]{32}$")
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class Blob(Struct, frozen=True):
    """A stored run of bytes and its checksums."""

    id: str
    size: int
    md5: bytes
    crc64: int

    @property
    def md5_hex(self) -> str:
        return self.md5.hex().upper()

    @property
    def md5_b64(self) -> str:
        return base64.b64encode(self.md5).decode("ascii")

    @property
    def etag(self) -> str:
        """Quoted upper-case MD5 (docs/PROTOCOL.md §3.3)."""
        return f'"{self.md5_hex}"'


class BlobWriter:
    """Streams one body to a new blob file, hashing as it goes; :meth:`finish` closes it."""

    def __init__(self, blobs: Blobs) -> None:
        self._blobs = blobs
        self.id = os.urandom(16).hex()
        self._path = blobs.new_path(self.id)
        try:
            self._fd: int | None = os.open(self._path, _CREATE, 0o600)
        except FileNotFoundError:  # its shard folder was removed meanwhile: make it again
            self._path = blobs.new_path(self.id, known=False)
            self._fd = os.open(self._path, _CREATE, 0o600)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._crc = 0
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        """Append ``data`` (any size; written whole)."""
        if self._fd is None:
            raise ValueError("blob writer is closed")
        self._md5.update(data)
        self._crc = crc64(data, self._crc)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.size += len(data)

    def finish(self) -> Blob:
        """Close the file: the blob is whole (recording it is the store's step)."""
        if self._fd is None:
            raise ValueError("blob writer is closed")
        os.close(self._fd)
        self._fd = None
        return Blob(self.id, self.size, self._md5.digest(), self._crc)

    def abort(self) -> None:
        """Throw the partial body away (safe to call twice)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()


class Blobs:
    """The blob directory: writers, paths, pins and deferred deletion."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs").mkdir(parents=True, exist_ok=True)
        self._blob_dir = f"{root / 'blobs'}{os.sep}"
        self._shards: set[str] = set()
        """Shard folders known to exist (made once, not once a blob)."""
        self._lock = threading.Lock()
        self._pins: Counter[str] = Counter()
        self._doomed: set[str] = set()

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def path(self, blob_id: str) -> Path:
        if not _ID.match(blob_id):  # ids come from the database; refuse anything else
            raise ValueError(f"not a blob id: {blob_id!r}")
        return self.root / "blobs" / blob_id[:2] / blob_id

    def new_path(self, blob_id: str, *, known: bool = True) -> str:
        """Where a new blob goes (its shard folder made if needed); ``blob_id`` is ours."""
        shard = f"{self._blob_dir}{blob_id[:2]}"
        if shard not in self._shards or not known:
            os.makedirs(shard, exist_ok=True)
            self._shards.add(shard)
        return f"{shard}{os.sep}{blob_id}"

    def pin(self, ids: Iterable[str]) -> None:
        """Keep ``ids`` on disk while a reader streams them."""
        with self._lock:
            self._pins.update(ids)

    def unpin(self, ids: Iterable[str]) -> None:
        """Release a reader's pins; delete blobs that were doomed meanwhile."""
        release = []
        with self._lock:
            for blob_id in ids:
                self._pins[blob_id] -= 1
                if self._pins[blob_id] <= 0:
                    del self._pins[blob_id]
                    if blob_id in self._doomed:
                        self._doomed.discard(blob_id)
                        release.append(blob_id)
        self._unlink(release)

    def delete(self, ids: Iterable[str]) -> None:
        """Delete blobs now, or when their last reader unpins them."""
        now = []
        with self._lock:
            for blob_id in ids:
                if self._pins[blob_id] > 0:
                    self._doomed.add(blob_id)
                else:
                    self._pins.pop(blob_id, None)
                    now.append(blob_id)
        self._unlink(now)

    def _unlink(self, ids: Iterable[str]) -> None:
        for blob_id in ids:
            self.path(blob_id).unlink(missing_ok=True)

    def collect(self, referenced: set[str]) -> int:
        """Startup sweep: drop the blobs no metadata refers to (bodies cut short included)."""
        removed = 0
        for shard in (self.root / "blobs").iterdir():
            if not shard.is_dir():
                continue
            for blob in shard.iterdir():
                if blob.name not in referenced:
                    blob.unlink(missing_ok=True)
                    removed += 1
        return removed
