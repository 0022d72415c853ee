"""The resume checkpoint: which upload this is, never how far it got (docs/ARCHITECTURE.md §3).

A checkpoint is a small JSON file, by default beside the source file
(``big.bin.ossnb-checkpoint.json``), written atomically (temp file + ``os.replace``).
It names the endpoint, bucket, key, upload ID, part size and the source's identity
(size, mtime, a sampled CRC-64). Progress is not stored: on resume ListParts is the
truth and every reused part is re-checked against the local bytes. It holds no
secrets: no keys, tokens or signed URLs.

A missing file means "no checkpoint"; a corrupt, foreign or newer-schema file is a
:class:`CheckpointError`, never silently ignored or overwritten.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct, field

from ..protocol.errors import IntegrityError, UsageError

__all__ = [
    "BESIDE_SOURCE",
    "CHECKPOINT_SUFFIX",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Checkpoint",
    "CheckpointError",
    "CheckpointFile",
    "SourceChangedError",
    "SourceIdentity",
    "checkpoint_location",
    "checkpoint_write_error",
    "default_checkpoint_path",
    "load_checkpoint",
    "remove_checkpoint",
    "resume_from",
    "save_checkpoint",
]

SCHEMA = "ossnb.upload-checkpoint"
SCHEMA_VERSION = 1
CHECKPOINT_SUFFIX = ".ossnb-checkpoint.json"
BESIDE_SOURCE = "beside-source"
"""The default place: ``<file>.ossnb-checkpoint.json`` for a file source, none otherwise."""
_MAX_BYTES = 64 * 1024


class CheckpointError(UsageError):
    """A checkpoint file that cannot be used: corrupt, foreign, newer, or for another upload."""


class SourceChangedError(IntegrityError):
    """The source's bytes changed since the upload began: completing would store a mix."""


class SourceIdentity(Struct, frozen=True):
    """What the uploaded bytes were: kind, size, and for files path, mtime and ctime.

    ``fingerprint`` is the CRC-64 of a few sampled ranges, so a same-size rewrite with
    a preserved mtime (or a bytes/stream source, which has no mtime) is caught too.
    ``ctime_ns`` (the status-change time, which no user can set back) is not a reason to
    refuse a resume: it also moves on chmod or chown, and every part the server holds is
    re-checked against the local bytes before it is reused; see :meth:`touched`.
    """

    kind: str
    size: int
    fingerprint: int
    path: str | None = None
    mtime_ns: int | None = None
    ctime_ns: int | None = None

    def touched(self, other: SourceIdentity) -> bool:
        """Whether the file's status changed since (``ctime``): rewritten, even with its
        mtime put back (``cp -p``, ``touch -r``), or its permissions or owner changed."""
        return None not in (self.ctime_ns, other.ctime_ns) and self.ctime_ns != other.ctime_ns

    def differences(self, other: SourceIdentity) -> list[str]:
        """What changed from ``self`` (recorded) to ``other`` (now), in words."""
        changes = []
        if self.kind != other.kind:
            changes.append(f"kind {self.kind} -> {other.kind}")
        if self.size != other.size:
            changes.append(f"size {self.size} -> {other.size} bytes")
        if None not in (self.mtime_ns, other.mtime_ns) and self.mtime_ns != other.mtime_ns:
            changes.append("modification time")
        if self.fingerprint != other.fingerprint and self.size == other.size:
            changes.append("content")
        return changes


class Checkpoint(Struct, frozen=True):
    """Identity of one multipart upload, enough to find and resume it."""

    endpoint: str
    bucket: str
    key: str
    upload_id: str
    part_size: int
    source: SourceIdentity
    created: str = field(default_factory=lambda: _now())
    state: str = "uploading"

    @property
    def url(self) -> str:
        """``oss://bucket/key``."""
        return f"oss://{self.bucket}/{self.key}"

    def to_json(self) -> str:
        """The file's text (stable key order, one field a line)."""
        doc: dict[str, Any] = {"schema": SCHEMA, "version": SCHEMA_VERSION, "updated": _now()}
        doc.update(msgspec.to_builtins(self))
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "checkpoint") -> Checkpoint:
        """Parse and validate a checkpoint's text; :class:`CheckpointError` explains what is wrong."""
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise CheckpointError(
                f"{where} is not valid JSON ({exc}); delete it to start the upload over"
            ) from None
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise CheckpointError(
                f"{where} is not an ossnb upload checkpoint; move it away or name another "
                "checkpoint path"
            )
        version = doc.get("version")
        if version != SCHEMA_VERSION:
            raise CheckpointError(
                f"{where} has checkpoint schema version {version!r}; this ossnb reads version "
                f"{SCHEMA_VERSION} (upgrade ossnb, or delete it to start over)"
            )
        try:
            source = doc["source"]
            identity = SourceIdentity(
                kind=_text(source, "kind"),
                size=_count(source, "size"),
                fingerprint=_count(source, "fingerprint"),
                path=_opt_text(source, "path"),
                mtime_ns=_opt_count(source, "mtime_ns"),
                ctime_ns=_opt_count(source, "ctime_ns"),
            )
            return cls(
                endpoint=_text(doc, "endpoint"),
                bucket=_text(doc, "bucket"),
                key=_text(doc, "key"),
                upload_id=_text(doc, "upload_id"),
                part_size=_count(doc, "part_size"),
                source=identity,
                created=_text(doc, "created"),
                state=_text(doc, "state"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"{where} is damaged ({exc}); delete it to start the upload over"
            ) from None


def default_checkpoint_path(source_path: str | os.PathLike[str]) -> Path:
    """``<source>.ossnb-checkpoint.json``, beside the source where the user can see it."""
    path = Path(os.path.abspath(source_path))
    return path.with_name(path.name + CHECKPOINT_SUFFIX)


def checkpoint_location(
    option: str | os.PathLike[str] | None, source_path: str | None, key: str
) -> Path | None:
    """Where a session keeps its checkpoint: ``option`` is a file, a folder (the file is
    named after the source, or the key), ``None`` for none, or :data:`BESIDE_SOURCE`."""
    if option is None or (option == BESIDE_SOURCE and source_path is None):
        return None
    if option == BESIDE_SOURCE and source_path is not None:
        return default_checkpoint_path(source_path)
    target = Path(option)
    if target.is_dir():
        name = os.path.basename(source_path) if source_path else key.replace("/", "_")
        return target / (name + CHECKPOINT_SUFFIX)
    return target


class CheckpointFile:
    """One upload's checkpoint file: resumed once, then rewritten on every state change
    (callers serialize the writes)."""

    def __init__(
        self, path: Path, *, endpoint: str, bucket: str, key: str, source: SourceIdentity
    ) -> None:
        self.path = path
        self._identity = (endpoint, bucket, key, source)
        self._created: str | None = None
        self.touched = False
        """After :meth:`resume`: the source's ctime moved since the checkpoint was written."""

    def resume(self, part_size: int | None) -> Checkpoint | None:
        """The saved checkpoint if it resumes this upload (see :func:`resume_from`)."""
        endpoint, bucket, key, source = self._identity
        saved = resume_from(
            self.path, endpoint=endpoint, bucket=bucket, key=key, source=source, part_size=part_size
        )
        if saved is not None:
            self._created = saved.created
            self.touched = saved.source.touched(source)
        return saved

    def save(self, upload_id: str, part_size: int, state: str) -> None:
        """Write the checkpoint atomically."""
        endpoint, bucket, key, source = self._identity
        self._created = self._created or _now()
        record = Checkpoint(
            endpoint, bucket, key, upload_id, part_size, source, self._created, state
        )
        save_checkpoint(self.path, record)

    def remove(self) -> None:
        remove_checkpoint(self.path)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint | None:
    """The checkpoint at ``path``, or ``None`` if there is none."""
    target = Path(path)
    try:
        if target.stat().st_size > _MAX_BYTES:
            raise CheckpointError(f"{target} is too large to be an ossnb checkpoint")
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise CheckpointError(f"{target} is not an ossnb checkpoint (not UTF-8 text)") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {target}: {exc.strerror or exc}") from None
    return Checkpoint.from_json(text, str(target))


def resume_from(
    path: str | os.PathLike[str],
    *,
    endpoint: str,
    bucket: str,
    key: str,
    source: SourceIdentity,
    part_size: int | None,
) -> Checkpoint | None:
    """The checkpoint at ``path`` if it resumes this upload; ``None`` if there is none.

    Raises :class:`CheckpointError` when it belongs to another target, endpoint or part
    size, and :class:`SourceChangedError` when the source changed since it was written.
    """
    saved = load_checkpoint(path)
    if saved is None:
        return None
    url = f"oss://{bucket}/{key}"
    if (saved.bucket, saved.key) != (bucket, key):
        raise CheckpointError(
            f"{path} belongs to an upload to {saved.url}, not {url}; name another checkpoint "
            "path, or delete it if that upload is finished"
        )
    if saved.endpoint != endpoint:
        raise CheckpointError(
            f"{path} belongs to an upload on {saved.endpoint}, not {endpoint}; connect to that "
            "endpoint to resume, or delete the checkpoint"
        )
    changes = saved.source.differences(source)
    if changes:
        raise SourceChangedError(
            f"{saved.source.path or 'the source'} changed since upload {saved.upload_id} began "
            f"({', '.join(changes)}); its parts on the server no longer match. Abort it "
            f"(ossnb uploads abort {url} --upload-id {saved.upload_id}) and delete {path} "
            "to upload the new content"
        )
    if part_size is not None and part_size != saved.part_size:
        raise CheckpointError(
            f"{path} resumes upload {saved.upload_id} with {saved.part_size}-byte parts, not "
            f"{part_size}; drop the part size option or delete the checkpoint"
        )
    return saved


def checkpoint_write_error(path: str | os.PathLike[str], exc: OSError) -> CheckpointError:
    """One line for a checkpoint that cannot be written: where, why, and what to do."""
    target = Path(path)
    why = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = f"the disk holding {target.parent} is full ({why}); free space there, or"
    else:
        why = f"{why} in {target.parent}:"
    return CheckpointError(
        f"cannot write checkpoint {target}: {why} choose another place for it "
        "(--checkpoint DIR, or checkpoint= in Python) or none (--no-checkpoint, checkpoint=None)"
    )


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` atomically: a crash leaves the old file or the new one, never half.

    Any failure (a read-only folder, a full disk) is a :class:`CheckpointError` saying so;
    the old file, if any, is left as it was."""
    target = Path(path)
    data = checkpoint.to_json().encode("utf-8")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise checkpoint_write_error(target, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise checkpoint_write_error(target, exc) from None
        raise
    _fsync_dir(target.parent)


def remove_checkpoint(path: str | os.PathLike[str]) -> None:
    """Delete the checkpoint at ``path`` if there is one (:class:`CheckpointError` if it
    cannot be deleted)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CheckpointError(
            f"cannot delete checkpoint {path}: {exc.strerror or exc}; delete it by hand"
        ) from None


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _text(doc: dict[str, Any], name: str) -> str:
    value = doc[name]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name!r} must be a non-empty string")
    return value


def _opt_text(doc: dict[str, Any], name: str) -> str | None:
    return None if doc.get(name) is None else _text(doc, name)


def _count(doc: dict[str, Any], name: str) -> int:
    value = doc[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name!r} must be a non-negative integer")
    return value


def _opt_count(doc: dict[str, Any], name: str) -> int | None:
    return None if doc.get(name) is None else _count(doc, name)
