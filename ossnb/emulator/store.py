"""Emulator state and OSS rules over SQLite metadata and blob files (no HTTP).

docs/ARCHITECTURE.md §4: metadata in ``meta.sqlite3`` (WAL, one transaction per state change),
bytes in blob files named by generated ids. A completed multipart object is a
manifest of its part blobs, so Complete is O(parts). Blobs that lose their owner
(overwrite, delete, abort, unlisted parts) are deleted after the commit; a crash in
between leaves orphans that the next start sweeps away.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence

from ..protocol import errors
from ..protocol.checksums import crc64_combine_all, multipart_etag, normalize_etag
from .blobs import Blob
from .listing import PAST, Page, paginate
from .records import (
    OBJECT_COLUMNS,
    BucketInfo,
    DataDirInUse,
    ObjectInfo,
    ObjectReader,
    PartInfo,
    UploadInfo,
    object_row,
    part_row,
    require_bucket,
    require_upload,
    upload_row,
    write_object,
)
from .store_base import StoreBase

__all__ = [
    "BucketInfo",
    "DataDirInUse",
    "ObjectInfo",
    "ObjectReader",
    "PartInfo",
    "Store",
    "UploadInfo",
]


_BATCH = 500  # rows a listing reads at a time
_KNOWN_UPLOADS = 1024  # uploads in progress remembered in memory (Store.upload)
_PART_BLOB = "SELECT blob FROM parts WHERE upload_id=? AND number=?"
_PUT_PART = (
    "INSERT OR REPLACE INTO parts SELECT ?,?,?,?,?,?,? FROM uploads"
    " WHERE upload_id=? AND bucket=? AND key=?"
)


class Store(StoreBase):
    """Buckets, objects and multipart uploads with OSS semantics (docs/PROTOCOL.md §2, §3)."""

    # -- objects (docs/PROTOCOL.md §2.3-2.7) --------------------------------------------------

    def put_object(
        self,
        bucket: str,
        key: str,
        blob: Blob,
        *,
        headers: Mapping[str, str],
        storage_class: str = "Standard",
        forbid_overwrite: bool = False,
    ) -> ObjectInfo:
        """Store ``blob`` as a Normal object; the blob is consumed either way."""
        info = ObjectInfo(
            bucket,
            key,
            blob.size,
            blob.etag,
            blob.crc64,
            blob.md5_b64,
            "Normal",
            storage_class,
            self.now(),
            dict(headers),
        )
        try:
            with self._tx() as db:
                require_bucket(db, bucket)
                old = write_object(db, info, [(blob.id, blob.size)], forbid_overwrite)
        except BaseException:
            self.blobs.delete([blob.id])
            raise
        self.blobs.delete(old)
        return info

    def check_overwrite(self, bucket: str, key: str, ec: str = "0026-00000201") -> None:
        """``FileAlreadyExists`` if ``key`` exists (for ``x-oss-forbid-overwrite``)."""
        if self._read("SELECT 1 FROM objects WHERE bucket=? AND key=?", (bucket, key)):
            raise errors.FileAlreadyExists(ec=ec)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        with self._lock:
            return self._object(bucket, key)[0]

    def _object(self, bucket: str, key: str) -> tuple[ObjectInfo, list[tuple[str, int]]]:
        row = self._db.execute(
            f"SELECT {OBJECT_COLUMNS}, manifest FROM objects WHERE bucket=? AND key=?",
            (bucket, key),
        ).fetchone()
        if row is None:
            require_bucket(self._db, bucket)
            raise errors.NoSuchKey(details={"Key": key})
        return object_row(bucket, row), [(str(b), int(s)) for b, s in json.loads(row[-1])]

    def open_object(self, bucket: str, key: str) -> ObjectReader:
        """Pin an object's blobs for streaming; call ``close()`` on the reader when done."""
        with self._lock:
            info, manifest = self._object(bucket, key)
            return ObjectReader(self.blobs, info, manifest)

    def delete_object(self, bucket: str, key: str) -> None:
        with self._tx() as db:
            require_bucket(db, bucket)
            row = db.execute(
                "DELETE FROM objects WHERE bucket=? AND key=? RETURNING manifest", (bucket, key)
            ).fetchone()
        if row is not None:
            self.blobs.delete(blob_id for blob_id, _ in json.loads(row[0]))

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        after: str = "",
        limit: int = 100,
    ) -> Page[ObjectInfo]:
        self.bucket(bucket)

        def scan(cursor: str) -> Iterator[tuple[str, ObjectInfo]]:
            while True:
                rows = self._read(
                    f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket=? AND key>? AND key>=?"
                    f" ORDER BY key LIMIT {_BATCH}",
                    (bucket, cursor, prefix),
                )
                for row in rows:
                    yield str(row[0]), object_row(bucket, row)
                if len(rows) < _BATCH:
                    return
                cursor = str(rows[-1][0])

        return paginate(scan, prefix=prefix, delimiter=delimiter, after=after, limit=limit)

    # -- multipart (docs/PROTOCOL.md §2.8-2.14) -----------------------------------------------

    def initiate(
        self, bucket: str, key: str, *, headers: Mapping[str, str], storage_class: str = "Standard"
    ) -> UploadInfo:
        info = UploadInfo(
            uuid.uuid4().hex.upper(), bucket, key, self.now(), storage_class, dict(headers)
        )
        with self._tx() as db:
            require_bucket(db, bucket)
            db.execute(
                "INSERT INTO uploads VALUES (?,?,?,?,?,?)",
                (
                    info.upload_id,
                    bucket,
                    key,
                    info.initiated,
                    storage_class,
                    json.dumps(info.headers),
                ),
            )
            self._remember(info)
        return info

    def upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        """The upload ``upload_id`` of ``bucket/key``, else ``NoSuchBucket``/``NoSuchUpload``.

        Uploads in progress are remembered (every UploadPart asks; only Complete and
        Abort end one, and they forget it); each write re-checks in SQL anyway.
        """
        known = self._uploads.get(upload_id)
        if known is not None and known.bucket == bucket and known.key == key:
            return known
        with self._lock:
            found = require_upload(self._db, bucket, key, upload_id)
            self._remember(found)
        return found

    def _remember(self, upload: UploadInfo) -> None:
        if len(self._uploads) >= _KNOWN_UPLOADS:
            del self._uploads[next(iter(self._uploads))]  # the oldest remembered
        self._uploads[upload.upload_id] = upload

    def put_part(self, upload: UploadInfo, number: int, blob: Blob) -> PartInfo:
        """Store part ``number`` (replacing an earlier one); the blob is consumed either way."""
        part = PartInfo(number, blob.id, blob.size, blob.md5_hex, blob.crc64, self.now())
        values = (upload.upload_id, number, blob.id, blob.size, blob.md5_hex, str(blob.crc64))
        try:
            with self._lock:  # every statement runs under it: the read and the write are one step
                db = self._db
                old = db.execute(_PART_BLOB, (upload.upload_id, number)).fetchone()
                # one statement, so its own transaction: written only if the upload still exists
                stored = db.execute(
                    _PUT_PART, (*values, part.modified, upload.upload_id, upload.bucket, upload.key)
                ).rowcount
                if stored != 1:
                    require_upload(db, upload.bucket, upload.key, upload.upload_id)
                    raise errors.NoSuchUpload(details={"UploadId": upload.upload_id[:100]})
        except BaseException:
            self.blobs.delete([blob.id])
            raise
        if old is not None:
            self.blobs.delete([old[0]])
        return part

    def parts(
        self, upload: UploadInfo, *, after: int = 0, limit: int = 1000
    ) -> tuple[list[PartInfo], bool]:
        """Parts numbered above ``after``, at most ``limit``; and whether more remain."""
        with self._lock:
            require_upload(self._db, upload.bucket, upload.key, upload.upload_id)
            rows = self._db.execute(
                "SELECT number, blob, size, md5, crc64, modified FROM parts"
                " WHERE upload_id=? AND number>? ORDER BY number LIMIT ?",
                (upload.upload_id, after, limit + 1),
            ).fetchall()
        parts = [part_row(r) for r in rows]
        return parts[:limit], len(parts) > limit

    def complete(
        self,
        upload: UploadInfo,
        listed: Sequence[tuple[int, str]] | None,
        *,
        forbid_overwrite: bool = False,
        extra_headers: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Complete an upload from ``listed`` ``(number, etag)`` pairs, or from all its parts
        when ``listed`` is ``None`` (``x-oss-complete-all``). Checks follow docs/PROTOCOL.md §2.11 steps 3-6.
        """
        if listed is not None:
            numbers = [n for n, _ in listed]
            if any(b <= a for a, b in itertools.pairwise(numbers)):
                raise errors.InvalidPartOrder()
        with self._tx() as db:
            require_upload(db, upload.bucket, upload.key, upload.upload_id)
            rows = db.execute(
                "SELECT number, blob, size, md5, crc64, modified FROM parts WHERE upload_id=?",
                (upload.upload_id,),
            )
            stored = {p.number: p for p in map(part_row, rows)}
            chosen = self._choose_parts(stored, listed)
            info = ObjectInfo(
                upload.bucket,
                upload.key,
                sum(p.size for p in chosen),
                multipart_etag(p.md5_hex for p in chosen),
                crc64_combine_all((p.crc64, p.size) for p in chosen),
                None,
                "Multipart",
                upload.storage_class,
                self.now(),
                {**upload.headers, **(extra_headers or {})},
            )
            manifest = [(p.blob_id, p.size) for p in chosen]
            doomed = write_object(db, info, manifest, forbid_overwrite, ec="0042-00000214")
            db.execute("DELETE FROM parts WHERE upload_id=?", (upload.upload_id,))
            db.execute("DELETE FROM uploads WHERE upload_id=?", (upload.upload_id,))
            self._uploads.pop(upload.upload_id, None)
        used = {p.blob_id for p in chosen}
        self.blobs.delete([*doomed, *(p.blob_id for p in stored.values() if p.blob_id not in used)])
        return info

    def _choose_parts(
        self, stored: Mapping[int, PartInfo], listed: Sequence[tuple[int, str]] | None
    ) -> list[PartInfo]:
        if listed is None:
            chosen = [stored[n] for n in sorted(stored)]
            if not chosen:
                raise errors.InvalidPart("The upload has no parts to complete.")
        else:
            chosen = []
            for number, etag in listed:
                part = stored.get(number)
                if part is None or normalize_etag(etag) != part.md5_hex:
                    raise errors.InvalidPart(
                        details={"PartNumber": str(number), "ETag": etag.strip()[:100]}
                    )
                chosen.append(part)
        for part in chosen[:-1]:
            if part.size < self.limits.min_part_size:
                raise errors.EntityTooSmall(
                    details={
                        "PartNumber": str(part.number),
                        "ProposedSize": str(part.size),
                        "MinSizeAllowed": str(self.limits.min_part_size),
                    }
                )
        return chosen

    def set_content_md5(self, info: ObjectInfo, content_md5: str) -> None:
        """Record an object's whole MD5 (``sequential`` uploads), if it is still ``info``."""
        with self._tx() as db:
            db.execute(
                "UPDATE objects SET content_md5=? WHERE bucket=? AND key=? AND etag=?",
                (content_md5, info.bucket, info.key, info.etag),
            )

    def abort(self, upload: UploadInfo) -> None:
        with self._tx() as db:
            require_upload(db, upload.bucket, upload.key, upload.upload_id)
            blobs = [
                r[0]
                for r in db.execute(
                    "DELETE FROM parts WHERE upload_id=? RETURNING blob", (upload.upload_id,)
                ).fetchall()
            ]
            db.execute("DELETE FROM uploads WHERE upload_id=?", (upload.upload_id,))
            self._uploads.pop(upload.upload_id, None)
        self.blobs.delete(blobs)

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        limit: int = 1000,
    ) -> Page[UploadInfo]:
        """Uploads ordered by (key, upload ID), after the markers (docs/PROTOCOL.md §2.13)."""
        self.bucket(bucket)

        def scan_from(key: str, upload_id: str) -> Iterator[tuple[str, UploadInfo]]:
            while True:
                rows = self._read(
                    "SELECT upload_id, bucket, key, initiated, storage_class, headers FROM uploads"
                    " WHERE bucket=? AND (key, upload_id) > (?, ?) AND key>=?"
                    f" ORDER BY key, upload_id LIMIT {_BATCH}",
                    (bucket, key, upload_id, prefix),
                )
                for row in rows:
                    info = upload_row(row)
                    yield info.key, info
                if len(rows) < _BATCH:
                    return
                key, upload_id = str(rows[-1][2]), str(rows[-1][0])

        first = scan_from(key_marker, upload_id_marker) if key_marker and upload_id_marker else None
        return paginate(
            lambda after: scan_from(after, PAST),
            prefix=prefix,
            delimiter=delimiter,
            after=key_marker,
            limit=limit,
            first=first,
        )
