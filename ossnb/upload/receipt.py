"""What an upload did, as a record to keep: upload ID, parts, final ETag, CRC-64, timings.

A :class:`Receipt` is built from a session's ledger at any time; once the upload is
completed and verified it is the proof of what was stored. It exports to JSON and
holds no secrets (no credentials, signatures or tokens).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct

from .ledger import LedgerSnapshot, PartState

__all__ = ["Receipt", "ReceiptPart", "verified_line"]


class ReceiptPart(Struct, frozen=True):
    """One part as stored: range, ETag, CRC-64, attempts, seconds and whether it was reused."""

    number: int
    offset: int
    size: int
    etag: str | None
    crc64: int | None
    attempts: int
    reused: bool
    seconds: float


class Receipt(Struct, frozen=True):
    """The record of one multipart upload.

    ``verified`` is true only once Complete answered and a HEAD confirmed the object's
    size and ETag, and its CRC-64 against the local parts' when the server gave one:
    ``crc64_checked`` says whether it did (a proxy may strip ``x-oss-hash-crc64ecma``;
    ``crc64`` is then the local parts' combined CRC-64, compared with nothing). ``server_parts_after_abort`` is 0
    once an abort was confirmed by ListParts answering NoSuchUpload.
    """

    endpoint: str
    bucket: str
    key: str
    source: str
    size: int
    part_size: int
    upload_id: str | None
    state: str
    parts: tuple[ReceiptPart, ...]
    etag: str | None = None
    crc64: int | None = None
    crc64_checked: bool = False
    verified: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    elapsed_seconds: float | None = None
    bytes_sent: int = 0
    bytes_reused: int = 0
    server_parts_after_abort: int | None = None

    @classmethod
    def from_ledger(cls, snapshot: LedgerSnapshot, **fields: Any) -> Receipt:
        """A receipt whose parts are the done rows of ``snapshot``."""
        parts = tuple(
            ReceiptPart(
                r.number, r.offset, r.size, r.etag, r.crc64, r.attempts, r.reused, r.elapsed
            )
            for r in snapshot.rows
            if r.state is PartState.DONE
        )
        return cls(
            parts=parts,
            bytes_reused=snapshot.bytes_reused,
            bytes_sent=sum(p.size for p in parts if not p.reused),
            **fields,
        )

    @property
    def url(self) -> str:
        return f"oss://{self.bucket}/{self.key}"

    @property
    def throughput(self) -> float | None:
        """Bytes sent per second over the run, if timed."""
        if not self.elapsed_seconds:
            return None
        return self.bytes_sent / self.elapsed_seconds

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (datetimes as ISO 8601, UTC)."""
        doc: dict[str, Any] = msgspec.to_builtins(self)
        for name in ("started_at", "finished_at"):
            value = getattr(self, name)
            doc[name] = value.isoformat() if value is not None else None
        doc["url"] = self.url
        return doc

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the JSON receipt to ``path``; returns the path."""
        target = Path(path)
        target.write_text(self.to_json() + "\n", encoding="utf-8")
        return target


def verified_line(etag: str | None, crc64: int | None, crc64_checked: bool) -> str:
    """What the verification of a completed object compared, in one line."""
    if crc64_checked:
        return f"ETag {etag}, CRC-64 {crc64} (size, ETag and CRC-64 checked by HEAD)"
    return (
        f"ETag {etag} (size and ETag checked by HEAD; the server gave no CRC-64 for the "
        "object, so it was not compared: each part was checked as it was sent)"
    )
