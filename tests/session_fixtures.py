"""Fixtures and helpers for the upload-session tests.

Import the fixtures by their function names (``client_fixture``…); pytest knows them
by their ``name=`` (``client``…).

Every test talks to a real ``ossnb serve`` subprocess over real sockets (fixtures of
``conftest.py``); an official SDK (oss2) reads each uploaded object back.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import oss2
import pytest
from conftest import ServerHandle

from ossnb.client.client import Client, RetryPolicy
from ossnb.emulator import DEFAULT_REGION, DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET
from ossnb.protocol.operations import ListParts, Operation, PutBucket
from ossnb.protocol.signing import Credentials
from ossnb.protocol.transcript import Exchange
from ossnb.upload.ledger import Event
from ossnb.upload.listing import list_all_uploads

T = TypeVar("T")
KiB = 1024
MiB = 1024 * KiB
PART = 100 * KiB  # the OSS minimum part size: small files, many parts, fast tests
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


def make_client(server: ServerHandle, **options: Any) -> Client:
    """A client for ``server`` that retries quickly (tests must not sleep for seconds)."""
    options.setdefault("retry", FAST_RETRY)
    credentials = Credentials(server.access_key_id, server.access_key_secret)
    return Client(server.endpoint, credentials, region=server.region, **options)


def server_with_faults(
    factory: Callable[..., ServerHandle], bucket: str, *faults: str
) -> tuple[ServerHandle, Client]:
    """A new server (``server_factory``) with ``bucket`` and each ``--fault`` armed, and a
    client for it."""
    args = [a for fault in faults for a in ("--fault", fault)]
    server = factory(*args, "--bucket", bucket)
    return server, make_client(server)


def make_file(path: Path, size: int, seed: int = 0) -> bytes:
    """Write ``size`` pseudo-random bytes to ``path`` and return them."""
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


def sdk_read(server: ServerHandle, bucket: str, key: str) -> bytes:
    """The object's bytes as the official oss2 SDK downloads them from ``server``."""
    return sdk_read_at(server.endpoint, bucket, key)


def sdk_read_at(endpoint: str, bucket: str, key: str) -> bytes:
    """The object's bytes as oss2 downloads them from an emulator at ``endpoint``."""
    auth = oss2.AuthV4(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET)
    handle = oss2.Bucket(auth, endpoint, bucket, region=DEFAULT_REGION)
    data: bytes = handle.get_object(key).read()
    return data


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` until it holds, or fail the test."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


class Recorder:
    """An observer that keeps every event (thread-safe) and the threads they came from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[Event] = []
        self.threads: set[str] = set()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)
            self.threads.add(threading.current_thread().name)

    def of(self, kind: type[T]) -> list[T]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]


class Tamper:
    """A transport that runs everything on a real client but rewrites chosen results.

    The emulator never answers with a wrong ETag or CRC-64, so the integrity checks can
    only be exercised by changing an answer after it arrived, as a corrupting proxy
    would: ``rewrite(operation, result)`` returns the (possibly altered) result, and
    ``before(operation)`` may replace an operation before it is sent.
    """

    def __init__(
        self,
        client: Client,
        rewrite: Callable[[Operation[Any], Any], Any] | None = None,
        before: Callable[[Operation[Any]], Operation[Any]] | None = None,
    ) -> None:
        self.client = client
        self.endpoint = client.endpoint
        self._rewrite = rewrite
        self._before = before

    def add_listener(self, listener: Callable[[Exchange], None]) -> None:
        self.client.add_listener(listener)

    def execute(self, operation: Operation[T], **options: Any) -> T:
        if self._before is not None:
            operation = self._before(operation)
        result = self.client.execute(operation, **options)
        if self._rewrite is not None:
            result = self._rewrite(operation, result)
        return result


@pytest.fixture(name="client")
def client_fixture(server: ServerHandle) -> Iterator[Client]:
    with make_client(server) as c:
        yield c


@pytest.fixture(name="bucket")
def bucket_fixture(client: Client, bucket_name: str) -> str:
    """A fresh bucket on the shared server."""
    client.execute(PutBucket(bucket_name))
    return bucket_name


@pytest.fixture(name="source")
def source_fixture(work_dir: Path) -> tuple[Path, bytes]:
    """A 1 MiB + 17 bytes file: 11 parts of 100 KiB (the last one short)."""
    path = work_dir / "source.bin"
    return path, make_file(path, MiB + 17, seed=1)


def subprocess_env() -> dict[str, str]:
    """The environment for CLI subprocesses: no OSS_* leaking in from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSS_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("NO_PROXY", "127.0.0.1,localhost")
    return env


CLI = [sys.executable, "-c", "import sys; from ossnb.cli.main import main; sys.exit(main())"]


def server_env(server: ServerHandle) -> dict[str, str]:
    """``OSS_*`` variables pointing the CLI at ``server``."""
    env = subprocess_env()
    env.update(
        OSS_ENDPOINT=server.endpoint,
        OSS_REGION=server.region,
        OSS_ACCESS_KEY_ID=server.access_key_id,
        OSS_ACCESS_KEY_SECRET=server.access_key_secret,
    )
    return env


def run_cli(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``ossnb ARGS`` in a subprocess and capture its output."""
    return subprocess.run(
        [*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def cli_errors(stderr: str) -> list[str]:
    """The ``ossnb: error:`` lines of a CLI run's standard error."""
    return [line for line in stderr.splitlines() if "ossnb: error:" in line]


class CliProcess:
    """``ossnb ARGS`` running in the background against ``server`` (output captured).

    Use it in a ``with`` block: a process still running when the block is left (a failed
    test) is killed there."""

    def __init__(self, server: ServerHandle, *args: str) -> None:
        self.process = subprocess.Popen(
            [*CLI, *args],
            env=server_env(server),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid = self.process.pid

    def __enter__(self) -> CliProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()

    def finish(self, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Wait for the process to end; its exit code and output."""
        stdout, stderr = self.process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(
            self.process.args, self.process.returncode, stdout, stderr
        )


def wait_for_parts(client: Client, bucket: str, key: str, count: int, timeout: float = 30) -> str:
    """Wait until the first unfinished upload in ``bucket`` holds ``count`` parts of ``key``
    on the server; its upload ID."""
    uploads: list[str] = []

    def begun() -> bool:
        uploads[:] = [u.upload_id for u in list_all_uploads(client, bucket)]
        return (
            bool(uploads) and len(client.execute(ListParts(bucket, key, uploads[0])).parts) >= count
        )

    wait_for(begun, timeout, f"{count} parts of {key}")
    return uploads[0]
