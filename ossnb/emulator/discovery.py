"""One emulator per data folder, shared: the owner says where it listens.

Only one process at a time serves a data folder (it holds the folder's ``lock``; the
operating system releases it when that process ends, however it ends). While it serves,
it keeps ``<data folder>/endpoint.json`` up to date: its endpoint URL, its process ID,
its region and the access key id it accepts (never a secret; the file is still private
to its user, mode 0600). Another process that finds the folder locked reads the file,
checks that the process is alive and that the endpoint answers like OSS, and sends its
requests there. A file left by a process that died is stale: the next owner replaces it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
from msgspec import Struct

__all__ = [
    "FILE_NAME",
    "Published",
    "find_published",
    "process_alive",
    "publish",
    "read_published",
    "withdraw",
]

FILE_NAME = "endpoint.json"


class Published(Struct, frozen=True):
    """What a data folder's owner tells other processes."""

    endpoint: str
    pid: int
    region: str
    access_key_id: str


def publish(root: Path, info: Published) -> None:
    """Write ``info`` to ``root``'s discovery file atomically, readable by its user only."""
    temp = root / f".{FILE_NAME}.{info.pid}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(msgspec.to_builtins(info), handle)
    os.replace(temp, root / FILE_NAME)


def withdraw(root: Path, endpoint: str) -> None:
    """Remove ``root``'s discovery file if it still names this process at ``endpoint``."""
    info = read_published(root)
    if info is not None and info.pid == os.getpid() and info.endpoint == endpoint:
        with contextlib.suppress(OSError):
            (root / FILE_NAME).unlink()


def read_published(root: Path) -> Published | None:
    """The discovery file's content, or None when it is missing or unreadable."""
    try:
        raw = json.loads((root / FILE_NAME).read_text(encoding="utf-8"))
        return Published(
            endpoint=str(raw["endpoint"]),
            pid=int(raw["pid"]),
            region=str(raw["region"]),
            access_key_id=str(raw["access_key_id"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_published(root: Path, wait: float = 5.0) -> Published | None:
    """The live emulator ``root``'s discovery file names, waiting up to ``wait`` seconds
    for an owner that is still starting to publish; None if none shows up."""
    deadline = time.monotonic() + wait
    while True:
        info = read_published(root)
        if info is not None and process_alive(info.pid) and _answers(info.endpoint):
            return info
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _answers(endpoint: str, timeout: float = 2.0) -> bool:
    """True if ``endpoint`` answers an anonymous request the way OSS does (an error
    document with ``x-oss-request-id``)."""
    import http.client  # loads ssl: only when a published endpoint is probed

    parts = urlsplit(endpoint)
    if parts.scheme != "http" or not parts.hostname:
        return False
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
        return response.getheader("x-oss-request-id") is not None
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
