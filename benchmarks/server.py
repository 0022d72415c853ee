"""One ``ossnb serve`` process for the whole run, and what the parent asks of it.

The emulator runs in its own process so its CPU is never billed to a contender; its
CPU seconds are read from ``/proc/<pid>/stat`` around each upload. The parent checks each
uploaded object (HEAD: size and CRC-64; optionally every byte with ranged GETs) and
deletes it, so the disk holds one object at a time.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from .common import DEV_KEY, DEV_SECRET, MIB, REGION
from .measure import child_env

__all__ = ["EmulatorProcess", "ObjectCheck"]

_ENDPOINT = re.compile(r"listening on (http://\S+)")
_VERIFY_CHUNK = 16 * MIB


class EmulatorProcess:
    """``ossnb serve --data-dir D --bucket B`` on a free loopback port."""

    def __init__(self, data_dir: Path, bucket: str, log_path: Path) -> None:
        self.data_dir, self.bucket, self.log_path = data_dir, bucket, log_path
        self.endpoint = ""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> EmulatorProcess:
        script = Path(sys.executable).with_name("ossnb")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "ossnb.cli.main"]
        command += ["serve", "--data-dir", str(self.data_dir), "--bucket", self.bucket]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=child_env(),
            )
        assert self.process.stdout is not None
        fd, text, deadline = self.process.stdout.fileno(), b"", time.monotonic() + timeout
        while b"Press Ctrl+C" not in text:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"ossnb serve did not start: {text[-500:]!r}")
            if select.select([fd], [], [], 0.2)[0]:
                text += os.read(fd, 65536)
        match = _ENDPOINT.search(text.decode(errors="replace"))
        if match is None:
            self.stop()
            raise RuntimeError(f"no endpoint in the banner: {text[:300]!r}")
        self.endpoint = match.group(1)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds of the server so far (``None`` without ``/proc``)."""
        try:
            with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ObjectCheck:
    """HEAD, byte-compare and delete objects on the emulator (through ossnb's client)."""

    def __init__(self, endpoint: str, bucket: str) -> None:
        from ossnb.client.client import Client
        from ossnb.protocol.signing import Credentials

        self.bucket = bucket
        self.client = Client(endpoint, Credentials(DEV_KEY, DEV_SECRET), region=REGION)

    def verify(self, key: str, size: int, crc64: int, path: str | None, compare_bytes: bool) -> str:
        """``"bytes"`` or ``"crc64"`` (what was checked); raises ``AssertionError`` on a mismatch."""
        from ossnb.protocol.operations import GetObject, HeadObject

        info = self.client.execute(HeadObject(self.bucket, key))
        assert info.size == size, f"{key}: {info.size} bytes on the server, {size} expected"
        assert info.crc64 == crc64, f"{key}: CRC-64 {info.crc64} on the server, {crc64} expected"
        if not compare_bytes or path is None:
            return "crc64"
        with open(path, "rb") as local:
            for first in range(0, size, _VERIFY_CHUNK):
                last = min(size, first + _VERIFY_CHUNK) - 1
                got = self.client.execute(GetObject(self.bucket, key, range=(first, last))).body
                assert got == local.read(last - first + 1), f"{key}: bytes differ at {first}"
        return "bytes"

    def delete(self, key: str) -> None:
        from ossnb.protocol.operations import DeleteObject

        self.client.execute(DeleteObject(self.bucket, key))

    def close(self) -> None:
        self.client.close()
