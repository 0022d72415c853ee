"""What an upload reads from: a file, bytes, or a seekable binary file object.

Every source reads a part's byte range straight into a caller's buffer (files with
``os.preadv``: no shared file position, no lock, no copy), so a worker reuses one
buffer for all its parts and memory stays at workers × part size (docs/ARCHITECTURE.md §5). A
source can say whether it changed since it was opened: files are watched by size, mtime,
ctime and inode on every read and before Complete; all sources carry a sampled CRC-64
fingerprint for the checkpoint.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import BinaryIO, Union

from ..protocol.checksums import crc64
from ..protocol.errors import UsageError
from ..protocol.parts import format_size
from .checkpoint import SourceChangedError, SourceIdentity

__all__ = [
    "BytesSource",
    "FileSource",
    "Source",
    "SourceChangedError",
    "SourceLike",
    "StreamSource",
    "open_source",
]

SourceLike = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO, "Source"]
_SAMPLE = 64 * 1024
_BINARY: int = getattr(os, "O_BINARY", 0)
_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)


class Source(ABC):
    """A fixed-size run of bytes that parts are read from."""

    kind: str = ""
    size: int = 0

    @property
    @abstractmethod
    def label(self) -> str:
        """A short human name: the path, or ``<bytes>``."""

    @abstractmethod
    def _read_into(self, offset: int, view: memoryview) -> int:
        """Fill ``view`` from ``offset`` as far as the data goes; return the bytes read."""

    def read_into(self, offset: int, view: memoryview) -> None:
        """Fill ``view`` with the bytes at ``offset``; :class:`SourceChangedError` if they are
        gone or the source changed."""
        got = self._read_into(offset, view)
        if got != len(view):
            raise SourceChangedError(
                f"{self.label} is shorter than when the upload began: read {got} of "
                f"{len(view)} bytes at offset {offset}"
            )
        self.check_unchanged()

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset`` as a new ``bytes`` (for small reads)."""
        buffer = bytearray(size)
        self.read_into(offset, memoryview(buffer))
        return bytes(buffer)

    def check_unchanged(self) -> None:
        """Raise :class:`SourceChangedError` if the source changed since it was opened."""
        return None

    def file_span(self, offset: int) -> tuple[int, int] | None:
        """``(descriptor, offset)`` of the byte at ``offset`` in a regular file, if the
        source is one (see :class:`~ossnb.protocol.http.BodyReader`)."""
        return None

    def identity(self) -> SourceIdentity:
        """Kind, size and a sampled CRC-64 (plus path and mtime for files), for checkpoints."""
        return SourceIdentity(kind=self.kind, size=self.size, fingerprint=self._fingerprint())

    def _fingerprint(self) -> int:
        """CRC-64 of up to three 64 KiB samples: start, middle and end."""
        offsets = sorted({0, max(0, self.size // 2 - _SAMPLE // 2), max(0, self.size - _SAMPLE)})
        value = 0
        buffer = memoryview(bytearray(_SAMPLE))
        for offset in offsets:
            view = buffer[: min(_SAMPLE, self.size - offset)]
            value = crc64(view[: self._read_into(offset, view)], value)
        return value

    def close(self) -> None:
        """Release what the source holds open."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, {format_size(self.size)})"


class FileSource(Source):
    """A regular file, read with ``os.pread`` from any number of threads at once."""

    kind = "file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.abspath(os.fspath(path))
        try:
            # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
            # forever; the flag is cleared again below for the regular file we accept.
            self._fd = os.open(self.path, os.O_RDONLY | _BINARY | _NONBLOCK)
        except FileNotFoundError:
            raise UsageError(f"no such file: {self.path}") from None
        except IsADirectoryError:
            raise UsageError(f"{self.path} is a directory; name a file to upload") from None
        except OSError as exc:
            raise UsageError(f"cannot open {self.path}: {exc.strerror or exc}") from None
        self._finalizer = weakref.finalize(self, os.close, self._fd)
        info = os.fstat(self._fd)
        if not stat.S_ISREG(info.st_mode):
            self.close()
            what = (
                "a directory; name a file" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            )
            raise UsageError(f"{self.path} is {what} to upload")
        if _NONBLOCK:
            os.set_blocking(self._fd, True)
        self.size = info.st_size
        self._stamp = _stamp(info)
        self._lock = threading.Lock()  # only for systems without os.pread

    @property
    def label(self) -> str:
        return self.path

    @property
    def mtime_ns(self) -> int:
        return self._stamp[1]

    def _read_into(self, offset: int, view: memoryview) -> int:
        if hasattr(os, "preadv"):
            return _fill(view, lambda part, at: os.preadv(self._fd, [part], offset + at))
        with self._lock:  # no positional reads here (Windows): seek and read under a lock
            os.lseek(self._fd, offset, os.SEEK_SET)
            return _fill(view, lambda part, at: _copy_into(part, os.read(self._fd, len(part))))

    def check_unchanged(self) -> None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            raise SourceChangedError(f"{self.path} was deleted during the upload") from None
        now = _stamp(info)
        if now != self._stamp:
            what = "replaced" if now[3:] != self._stamp[3:] else "modified"
            raise SourceChangedError(
                f"{self.path} was {what} during the upload ({_stamp_change(self._stamp, now)}); "
                "the parts sent so far may not match it, so the upload was not completed. "
                "Abort this upload and upload the file again once nothing writes to it"
            )

    def file_span(self, offset: int) -> tuple[int, int] | None:
        return self._fd, offset

    def identity(self) -> SourceIdentity:
        return SourceIdentity(
            kind=self.kind,
            size=self.size,
            fingerprint=self._fingerprint(),
            path=self.path,
            mtime_ns=self.mtime_ns,
            ctime_ns=self._stamp[2],
        )

    def close(self) -> None:
        self._finalizer()


class BytesSource(Source):
    """Bytes already in memory (bytes, bytearray or memoryview; not copied up front)."""

    kind = "bytes"

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._view = memoryview(data).cast("B")
        self.size = self._view.nbytes

    @property
    def label(self) -> str:
        return "<bytes>"

    def _read_into(self, offset: int, view: memoryview) -> int:
        chunk = self._view[offset : offset + len(view)]
        view[: len(chunk)] = chunk
        return len(chunk)


class StreamSource(Source):
    """A seekable binary file object; reads are serialized (it has one position)."""

    kind = "stream"

    def __init__(self, stream: BinaryIO) -> None:
        if not (hasattr(stream, "seek") and hasattr(stream, "read")) or not stream.seekable():
            raise UsageError("the source must be a path, bytes, or a seekable binary file object")
        self._stream = stream
        self._lock = threading.Lock()
        with self._lock:
            self._start = stream.tell()
            self.size = stream.seek(0, io.SEEK_END) - self._start
        self._name = getattr(stream, "name", None)
        self._stamp = _file_stamp(stream)  # a stream over a real file: watched as a file is

    @property
    def label(self) -> str:
        return str(self._name) if isinstance(self._name, str) else "<stream>"

    def _read_into(self, offset: int, view: memoryview) -> int:
        with self._lock:
            self._stream.seek(self._start + offset)
            return _fill(view, lambda part, at: _stream_readinto(self._stream, part))

    def check_unchanged(self) -> None:
        with self._lock:
            end = self._stream.seek(0, io.SEEK_END) - self._start
        if end != self.size:
            raise SourceChangedError(
                f"{self.label} changed size during the upload ({self.size} -> {end} bytes)"
            )
        now = _file_stamp(self._stream)
        if self._stamp is not None and now is not None and now != self._stamp:
            raise SourceChangedError(
                f"{self.label} was modified during the upload ({_stamp_change(self._stamp, now)}); "
                "the parts sent so far may not match it, so the upload was not completed. "
                "Abort this upload and upload the file again once nothing writes to it"
            )


def _stamp(info: os.stat_result) -> tuple[int, int, int, int, int]:
    """What says a file changed: size, mtime, ctime (which no one can set back, so a
    rewrite with its mtime restored, as ``cp -p`` or ``touch -r`` do, still shows),
    inode and device."""
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def _file_stamp(stream: BinaryIO) -> tuple[int, int, int, int, int] | None:
    """The :func:`_stamp` of the regular file under ``stream``, or None (no file behind it)."""
    try:
        info = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return _stamp(info) if stat.S_ISREG(info.st_mode) else None


def _stamp_change(before: tuple[int, ...], now: tuple[int, ...]) -> str:
    if before[0] != now[0]:
        return f"size {before[0]} -> {now[0]} bytes"
    if before[1] != now[1]:
        return "same size, new modification time"
    if before[2] != now[2]:
        return (
            "same size and modification time, but its ctime moved: written to with the "
            "modification time put back, or its permissions changed"
        )
    return "another file now has its name"


def _fill(view: memoryview, read: Callable[[memoryview, int], int | None]) -> int:
    """Call ``read(rest_of_view, filled_so_far)`` until ``view`` is full or no data is left."""
    filled = 0
    while filled < len(view):
        got = read(view[filled:], filled)
        if not got:
            break
        filled += got
    return filled


def _copy_into(view: memoryview, data: bytes) -> int:
    view[: len(data)] = data
    return len(data)


def _stream_readinto(stream: BinaryIO, view: memoryview) -> int:
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        got: int | None = readinto(view)
        return got or 0
    data = stream.read(len(view))
    if not isinstance(data, bytes):
        raise UsageError("the source stream must be opened in binary mode ('rb')")
    return _copy_into(view, data)


def open_source(source: SourceLike) -> Source:
    """A :class:`Source` for a path, bytes-like object, seekable binary stream, or a Source."""
    if isinstance(source, Source):
        return source
    if isinstance(source, (str, os.PathLike)):
        return FileSource(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return BytesSource(source)
    if isinstance(source, io.TextIOBase):
        raise UsageError("open the file in binary mode ('rb'), not text mode")
    return StreamSource(source)
