"""Shared fixtures: the ``ossnb serve`` emulator as a real subprocess on a free port.

* ``server`` (session): one emulator for the whole run; create your own buckets
  (``bucket_name`` gives a unique name).
* ``server_factory`` (function): start dedicated emulators, e.g. with faults
  (``server_factory("--fault", "UploadPart@2=error:500")``) or on a given data dir;
  ``handle.restart()`` restarts one on the same data dir and port.

A :class:`ServerHandle` carries ``endpoint``, ``host``, ``port``, ``region``,
``access_key_id``, ``access_key_secret``, ``data_dir`` and the process.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings

from ossnb.emulator import DEFAULT_REGION, DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET
from ossnb.protocol.transcript import Exchange

# Hypothesis times each example against a 200 ms deadline by default; on a shared two-core
# CI machine one pause of the machine, not of the code, then fails a property test as
# "unreliable timings". Speed is measured in benchmarks/, not here.
settings.register_profile("ossnb", deadline=None)
settings.load_profile("ossnb")

_ENDPOINT = re.compile(r"listening on (http://\S+)")
_START_TIMEOUT = 20.0


def _command() -> list[str]:
    script = Path(sys.executable).with_name("ossnb")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from ossnb.cli.main import main; sys.exit(main())"]


def _read_banner(process: subprocess.Popen[bytes], log_path: Path) -> list[str]:
    """Lines printed up to "Press Ctrl+C" (raw reads: no buffering hides lines from select)."""
    assert process.stdout is not None
    fd, text = process.stdout.fileno(), b""
    deadline = time.monotonic() + _START_TIMEOUT
    while b"Press Ctrl+C" not in text:
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"ossnb serve did not start: {text!r} {log_path.read_text()}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                process.wait(5)
                raise RuntimeError(f"ossnb serve exited: {text!r} {log_path.read_text()}")
            text += chunk
    return text.decode().splitlines()


@dataclass
class ServerHandle:
    """A running ``ossnb serve`` subprocess and what a client needs to reach it."""

    data_dir: Path
    args: list[str]
    region: str = DEFAULT_REGION
    access_key_id: str = DEV_ACCESS_KEY_ID
    access_key_secret: str = DEV_ACCESS_KEY_SECRET
    endpoint: str = ""
    banner: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def start(self, port: int | None = None) -> ServerHandle:
        command = [*_command(), "serve", "--data-dir", str(self.data_dir), *self.args]
        if port is not None:
            command += ["--port", str(port)]
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        self.banner = _read_banner(self.process, self.log_path)
        match = _ENDPOINT.search(self.banner[0])
        assert match, self.banner
        self.endpoint = match.group(1)
        self.port = int(self.endpoint.rsplit(":", 1)[1])
        return self

    def stop(self) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        proc, self.process = self.process, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdout is not None:
            self.banner += proc.stdout.read().decode(errors="replace").splitlines()
            proc.stdout.close()
        return proc.returncode

    def restart(self, args: list[str] | None = None) -> ServerHandle:
        """Stop and start again on the same data dir and port (optionally new arguments)."""
        port = self.port
        self.stop()
        if args is not None:
            self.args = args
        return self.start(port=port)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _new_handle(base: Path, args: tuple[str, ...], data_dir: Path | None) -> ServerHandle:
    directory = data_dir or base / f"emu-{uuid.uuid4().hex[:8]}"
    return ServerHandle(data_dir=directory, args=list(args)).start()


class Transcript:
    """A thread-safe listener that keeps every Exchange."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []

    def __call__(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def of(self, operation: str) -> list[Exchange]:
        with self._lock:
            return [e for e in self.exchanges if e.operation == operation]

    @property
    def last(self) -> Exchange:
        with self._lock:
            return self.exchanges[-1]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    handle = _new_handle(tmp_path_factory.mktemp("server"), (), None)
    yield handle
    handle.stop()


Factory = Callable[..., ServerHandle]  # the ``server_factory`` fixture's type


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Factory]:
    started: list[ServerHandle] = []

    def start(*args: str, data_dir: Path | None = None) -> ServerHandle:
        handle = _new_handle(tmp_path, args, data_dir)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture
def bucket_name() -> str:
    """A fresh, valid bucket name."""
    return f"t-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def work_dir(tmp_path: Path) -> Iterator[Path]:
    """A scratch directory for files and SDK checkpoints."""
    path = tmp_path / "work"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
