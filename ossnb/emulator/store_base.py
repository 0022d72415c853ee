"""The emulator store's foundation: the data folder and its lock, SQLite transactions,
and buckets (with their sub-resource configurations, e.g. CORS). :class:`Store` adds
objects and multipart uploads on top (``store.py``)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..protocol import errors
from ..protocol.parts import OSS_LIMITS, Limits
from .blobs import Blobs
from .records import (
    SCHEMA,
    BucketInfo,
    UploadInfo,
    bucket_values,
    lock_dir,
    require_bucket,
)

__all__ = ["StoreBase"]


class StoreBase:
    """The data folder, its metadata database and buckets (docs/PROTOCOL.md §2.1, §2.2)."""

    def __init__(
        self,
        root: str | Path,
        *,
        region: str = "cn-hangzhou",
        limits: Limits = OSS_LIMITS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.region = region
        self.limits = limits
        self._clock = clock
        self._lockfile = lock_dir(self.root)
        self.blobs = Blobs(self.root)
        self._lock = threading.RLock()
        self._uploads: dict[str, UploadInfo] = {}
        """Uploads in progress remembered by :meth:`Store.upload` (most 1,024)."""
        self._db = sqlite3.connect(
            self.root / "meta.sqlite3", check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self.blobs.collect(self._referenced_blobs())

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None

    def now(self) -> int:
        return int(self._clock())

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _referenced_blobs(self) -> set[str]:
        refs = {str(r[0]) for r in self._read("SELECT blob FROM parts")}
        for (manifest,) in self._read("SELECT manifest FROM objects"):
            refs.update(blob_id for blob_id, _ in json.loads(str(manifest)))
        return refs

    # -- buckets (docs/PROTOCOL.md §2.1, §2.2) ------------------------------------------------

    def create_bucket(
        self,
        name: str,
        *,
        acl: str = "private",
        storage_class: str = "Standard",
        redundancy: str = "LRS",
    ) -> BucketInfo:
        """Create ``name``; re-creating it with the same settings is a no-op."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM buckets WHERE name=?", (name,)).fetchone()
            if row is not None:
                existing = BucketInfo(*row)
                if (existing.storage_class, existing.redundancy) != (storage_class, redundancy):
                    raise errors.BucketAlreadyExists(details={"BucketName": name})
                return existing
            info = BucketInfo(name, self.now(), self.region, storage_class, redundancy, acl)
            db.execute("INSERT INTO buckets VALUES (?,?,?,?,?,?)", bucket_values(info))
            return info

    def bucket(self, name: str) -> BucketInfo:
        rows = self._read("SELECT * FROM buckets WHERE name=?", (name,))
        if not rows:
            raise errors.NoSuchBucket(details={"BucketName": name})
        return BucketInfo(*rows[0])  # type: ignore[arg-type]

    def buckets(self) -> list[BucketInfo]:
        return [BucketInfo(*r) for r in self._read("SELECT * FROM buckets ORDER BY name")]  # type: ignore[arg-type]

    def delete_bucket(self, name: str) -> None:
        with self._tx() as db:
            require_bucket(db, name)
            busy = db.execute(
                "SELECT EXISTS(SELECT 1 FROM objects WHERE bucket=?)"
                " OR EXISTS(SELECT 1 FROM uploads WHERE bucket=?)",
                (name, name),
            ).fetchone()[0]
            if busy:
                raise errors.BucketNotEmpty(details={"BucketName": name})
            db.execute("DELETE FROM buckets WHERE name=?", (name,))
            db.execute("DELETE FROM bucket_configs WHERE bucket=?", (name,))

    def bucket_config(self, bucket: str, kind: str) -> str | None:
        """A bucket's stored sub-resource configuration (``cors``), if it has one."""
        with self._tx() as db:
            require_bucket(db, bucket)
            row = db.execute(
                "SELECT document FROM bucket_configs WHERE bucket=? AND kind=?", (bucket, kind)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_bucket_config(self, bucket: str, kind: str, document: str | None) -> None:
        """Replace (or with ``None`` remove) a bucket's ``kind`` configuration."""
        with self._tx() as db:
            require_bucket(db, bucket)
            db.execute("DELETE FROM bucket_configs WHERE bucket=? AND kind=?", (bucket, kind))
            if document is not None:
                db.execute("INSERT INTO bucket_configs VALUES (?,?,?)", (bucket, kind, document))
