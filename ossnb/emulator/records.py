"""What the emulator stores, as values and SQLite rows (docs/ARCHITECTURE.md §4).

The schema, the frozen records handed out by :class:`~.store.Store`, the pinned
:class:`ObjectReader`, and the row helpers every transaction shares.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from msgspec import Struct, field

from ..protocol import errors
from .blobs import Blobs

__all__ = [
    "OBJECT_COLUMNS",
    "SCHEMA",
    "BucketInfo",
    "DataDirInUse",
    "ObjectInfo",
    "ObjectReader",
    "PartInfo",
    "UploadInfo",
    "bucket_values",
    "lock_dir",
    "object_row",
    "part_row",
    "require_bucket",
    "require_upload",
    "upload_row",
    "write_object",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
  name TEXT PRIMARY KEY, created INTEGER NOT NULL, region TEXT NOT NULL,
  storage_class TEXT NOT NULL, redundancy TEXT NOT NULL, acl TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
  bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
  crc64 TEXT NOT NULL, content_md5 TEXT, object_type TEXT NOT NULL,
  storage_class TEXT NOT NULL, modified INTEGER NOT NULL, headers TEXT NOT NULL,
  manifest TEXT NOT NULL, PRIMARY KEY (bucket, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
  upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL,
  initiated INTEGER NOT NULL, storage_class TEXT NOT NULL, headers TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS parts (
  upload_id TEXT NOT NULL, number INTEGER NOT NULL, blob TEXT NOT NULL,
  size INTEGER NOT NULL, md5 TEXT NOT NULL, crc64 TEXT NOT NULL, modified INTEGER NOT NULL,
  PRIMARY KEY (upload_id, number)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bucket_configs (
  bucket TEXT NOT NULL, kind TEXT NOT NULL, document TEXT NOT NULL,
  PRIMARY KEY (bucket, kind)) WITHOUT ROWID;
"""
OBJECT_COLUMNS = (
    "key, size, etag, crc64, content_md5, object_type, storage_class, modified, headers"
)


class DataDirInUse(RuntimeError):
    """Another emulator process already serves this data directory."""


class BucketInfo(Struct, frozen=True):
    name: str
    created: int
    region: str
    storage_class: str
    redundancy: str
    acl: str


class ObjectInfo(Struct, frozen=True):
    """An object's metadata; ``headers`` holds Content-Type, ``x-oss-meta-*`` and the like."""

    bucket: str
    key: str
    size: int
    etag: str
    crc64: int
    content_md5: str | None
    object_type: str
    storage_class: str
    modified: int
    headers: Mapping[str, str] = field(default_factory=dict)


class UploadInfo(Struct, frozen=True):
    upload_id: str
    bucket: str
    key: str
    initiated: int
    storage_class: str
    headers: Mapping[str, str] = field(default_factory=dict)


class PartInfo(Struct, frozen=True):
    number: int
    blob_id: str
    size: int
    md5_hex: str
    crc64: int
    modified: int

    @property
    def etag(self) -> str:
        return f'"{self.md5_hex}"'


class ObjectReader:
    """An object pinned for reading: its blobs stay on disk until :meth:`close`."""

    def __init__(self, blobs: Blobs, info: ObjectInfo, manifest: Sequence[tuple[str, int]]):
        self.info = info
        self._blobs = blobs
        self._manifest = tuple(manifest)
        self._ids = [blob_id for blob_id, _ in self._manifest]
        blobs.pin(self._ids)
        self._closed = False

    def segments(self, first: int, last: int) -> list[tuple[Path, int, int]]:
        """``(path, offset, count)`` slices covering bytes ``first..last`` inclusive."""
        out: list[tuple[Path, int, int]] = []
        start = 0
        for blob_id, size in self._manifest:
            end = start + size
            lo, hi = max(first, start), min(last + 1, end)
            if lo < hi:
                out.append((self._blobs.path(blob_id), lo - start, hi - lo))
            start = end
        return out

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._blobs.unpin(self._ids)


def lock_dir(root: Path) -> IO[str] | None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        return None
    handle = open(root / "lock", "a")  # noqa: SIM115 - held open for the store's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise DataDirInUse(f"{root} is in use by another ossnb emulator") from None
    return handle


def write_object(
    db: sqlite3.Connection,
    info: ObjectInfo,
    manifest: list[tuple[str, int]],
    forbid_overwrite: bool,
    ec: str = "0026-00000201",
) -> list[str]:
    """Insert or replace an object row; return the replaced object's blob ids."""
    row = db.execute(
        "SELECT manifest FROM objects WHERE bucket=? AND key=?", (info.bucket, info.key)
    ).fetchone()
    doomed: list[str] = []
    if row is not None:
        if forbid_overwrite:
            raise errors.FileAlreadyExists(ec=ec)
        doomed = [blob_id for blob_id, _ in json.loads(row[0])]
    db.execute(
        "INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            info.bucket,
            info.key,
            info.size,
            info.etag,
            str(info.crc64),
            info.content_md5,
            info.object_type,
            info.storage_class,
            info.modified,
            json.dumps(dict(info.headers)),
            json.dumps(manifest),
        ),
    )
    return doomed


def bucket_values(info: BucketInfo) -> tuple[object, ...]:
    return (info.name, info.created, info.region, info.storage_class, info.redundancy, info.acl)


def require_bucket(db: sqlite3.Connection, name: str) -> None:
    if db.execute("SELECT 1 FROM buckets WHERE name=?", (name,)).fetchone() is None:
        raise errors.NoSuchBucket(details={"BucketName": name})


def require_upload(db: sqlite3.Connection, bucket: str, key: str, upload_id: str) -> UploadInfo:
    row = db.execute(
        "SELECT upload_id, bucket, key, initiated, storage_class, headers FROM uploads"
        " WHERE upload_id=?",
        (upload_id,),
    ).fetchone()
    if row is None or row[1] != bucket or row[2] != key:
        require_bucket(db, bucket)
        raise errors.NoSuchUpload(details={"UploadId": upload_id[:100]})
    return upload_row(row)


def upload_row(row: Sequence[object]) -> UploadInfo:
    return UploadInfo(
        str(row[0]),
        str(row[1]),
        str(row[2]),
        int(str(row[3])),
        str(row[4]),
        json.loads(str(row[5])),
    )


def part_row(row: Sequence[object]) -> PartInfo:
    return PartInfo(
        int(str(row[0])),
        str(row[1]),
        int(str(row[2])),
        str(row[3]),
        int(str(row[4])),
        int(str(row[5])),
    )


def object_row(bucket: str, row: Sequence[object]) -> ObjectInfo:
    return ObjectInfo(
        bucket,
        str(row[0]),
        int(str(row[1])),
        str(row[2]),
        int(str(row[3])),
        None if row[4] is None else str(row[4]),
        str(row[5]),
        str(row[6]),
        int(str(row[7])),
        json.loads(str(row[8])),
    )
