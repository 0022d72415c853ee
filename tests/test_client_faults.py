"""``Client`` when things go wrong: retries, progress, cancel and timeouts.

Each test starts its own ``ossnb serve`` with ``--fault`` (``OP[@N][xTIMES]=action``)
and talks to it over real sockets; attempts are read back from the transcript
(``Exchange.attempt``). Retry delays are tiny so the file stays fast.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import Factory, ServerHandle, Transcript

from ossnb.client.client import Client, RetryPolicy
from ossnb.protocol.checksums import crc64, md5_b64, md5_hex
from ossnb.protocol.errors import (
    AccessDenied,
    Cancelled,
    InternalError,
    InvalidDigest,
    NoSuchUpload,
    ServiceError,
    ServiceUnavailable,
    TransportError,
    is_transient,
)
from ossnb.protocol.operations import (
    CompleteMultipartUpload,
    GetBucketInfo,
    GetObject,
    InitiateMultipartUpload,
    ListParts,
    PutBucket,
    PutObject,
    UploadPart,
)
from ossnb.protocol.signing import Credentials

KiB = 1024
MiB = 1024 * KiB
PART = 100 * KiB
BUCKET = "faults"


def policy(attempts: int = 4, base_delay: float = 0.01, max_delay: float = 0.02) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base_delay=base_delay, max_delay=max_delay)


class Progress:
    """Records every byte delta the client reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.deltas: list[int] = []

    def __call__(self, delta: int) -> None:
        with self._lock:
            self.deltas.append(delta)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.deltas)


def data_of(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def etag_of(data: bytes) -> str:
    return f'"{md5_hex(data)}"'


def make_client(server: ServerHandle, **options: Any) -> Client:
    options.setdefault("retry", policy())
    credentials = Credentials(server.access_key_id, server.access_key_secret)
    return Client(server.endpoint, credentials, region=server.region, **options)


class Setup:
    """A dedicated emulator with faults, a client with a transcript, and an upload."""

    def __init__(self, server: ServerHandle, **options: Any) -> None:
        self.server = server
        self.transcript = Transcript()
        self.client = make_client(server, on_exchange=self.transcript, **options)
        self.client.execute(PutBucket(BUCKET))
        self.key = "object.bin"
        self.upload_id = self.client.execute(InitiateMultipartUpload(BUCKET, self.key)).upload_id

    def upload(self, number: int, body: bytes, **kwargs: Any) -> str:
        operation = UploadPart(BUCKET, self.key, self.upload_id, number, body)
        return self.client.execute(operation, **kwargs).etag

    def parts(self) -> dict[int, tuple[str, int]]:
        listed = self.client.execute(ListParts(BUCKET, self.key, self.upload_id)).parts
        return {p.part_number: (p.etag, p.size) for p in listed}


@pytest.fixture
def setup(server_factory: Factory) -> Iterator[Callable[..., Setup]]:
    made: list[Setup] = []

    def start(*faults: str, **options: Any) -> Setup:
        args = [a for fault in faults for a in ("--fault", fault)]
        made.append(Setup(server_factory(*args), **options))
        return made[-1]

    yield start
    for s in made:
        s.client.close()


def _refused_endpoint() -> str:
    with socket.socket() as sock:  # a port nobody listens on (bound, never listened)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ----------------------------------------------------------------------------- no answer


def test_connection_refused_is_a_quick_transport_error() -> None:
    seen = Transcript()
    endpoint = _refused_endpoint()
    credentials = Credentials("id", "secret")
    with Client(
        endpoint, credentials, region="cn-hangzhou", retry=policy(attempts=3), on_exchange=seen
    ) as c:
        started = time.monotonic()
        with pytest.raises(TransportError, match="ConnectError") as info:
            c.execute(PutBucket("refused"))
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert endpoint in str(info.value)
    assert [(e.attempt, e.status, e.error) for e in seen.exchanges] == [
        (1, None, "TransportError"),
        (2, None, "TransportError"),
        (3, None, "TransportError"),
    ]
    assert is_transient(info.value)


def test_retry_false_does_not_retry_a_refused_connection() -> None:
    seen = Transcript()
    with (
        Client(
            _refused_endpoint(),
            Credentials("id", "secret"),
            region="cn-hangzhou",
            retry=policy(attempts=5),
            on_exchange=seen,
        ) as c,
        pytest.raises(TransportError),
    ):
        c.execute(PutBucket("refused"), retry=False)
    assert [e.attempt for e in seen.exchanges] == [1]


# ------------------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    ("fault", "error"),
    [("UploadPart@2=error:503", "ServiceUnavailable"), ("UploadPart@2=error:500", "InternalError")],
)
def test_a_failed_part_is_retried(setup: Callable[..., Setup], fault: str, error: str) -> None:
    s = setup(fault)
    bodies = {1: data_of(PART, 1), 2: data_of(PART, 2), 3: data_of(500, 3)}
    progress = Progress()
    etags = {n: s.upload(n, b, progress=progress) for n, b in bodies.items()}
    assert etags == {n: etag_of(b) for n, b in bodies.items()}
    assert progress.total == sum(len(b) for b in bodies.values())
    assert [(e.attempt, e.status, e.error) for e in s.transcript.of("UploadPart")] == [
        (1, 200, None),
        (1, 503 if "503" in fault else 500, error),
        (2, 200, None),
        (1, 200, None),
    ]
    failed = s.transcript.of("UploadPart")[1]
    assert failed.query == (("partNumber", "2"), ("uploadId", s.upload_id))
    assert s.parts() == {n: (etag_of(b), len(b)) for n, b in bodies.items()}


def test_complete_is_retried_after_server_faults(setup: Callable[..., Setup]) -> None:
    s = setup("CompleteMultipartUpload@1x2=error:500")
    first, last = data_of(PART, 4), data_of(10, 5)
    parts = [(1, s.upload(1, first)), (2, s.upload(2, last))]
    done = s.client.execute(CompleteMultipartUpload(BUCKET, s.key, s.upload_id, parts))
    assert done.crc64 == crc64(first + last)
    attempts = [(e.attempt, e.status) for e in s.transcript.of("CompleteMultipartUpload")]
    assert attempts == [(1, 500), (2, 500), (3, 200)]
    assert s.client.execute(GetObject(BUCKET, s.key)).body == first + last


def test_dropped_connection_mid_body_is_retried(setup: Callable[..., Setup]) -> None:
    s = setup("UploadPart@1=drop")
    body = data_of(3 * MiB, 6)  # several progress chunks; the server hangs up half-way
    progress = Progress()
    assert s.upload(1, body, progress=progress) == etag_of(body)
    exchanges = s.transcript.of("UploadPart")
    assert [(e.attempt, e.status, e.error) for e in exchanges] == [
        (1, None, "TransportError"),
        (2, 200, None),
    ]
    assert exchanges[1].request_bytes == len(body)
    assert progress.total == len(body)
    assert any(d < 0 for d in progress.deltas), "the dropped attempt's bytes were rewound"
    assert s.parts() == {1: (etag_of(body), len(body))}


def test_dropped_response_body_is_retried(setup: Callable[..., Setup]) -> None:
    s = setup("GetObject@1=drop")
    body = data_of(200 * KiB, 7)
    s.client.execute(PutObject(BUCKET, "get.bin", body))
    assert s.client.execute(GetObject(BUCKET, "get.bin")).body == body
    attempts = [(e.attempt, e.status) for e in s.transcript.of("GetObject")]
    assert attempts == [(1, None), (2, 200)]


def test_progress_rewinds_a_failed_attempt(setup: Callable[..., Setup]) -> None:
    s = setup("UploadPart@1=error:500")
    body = data_of(2 * MiB + 123, 8)
    progress = Progress()
    s.upload(1, body, progress=progress)
    # one rewind takes back exactly what the failed attempt had reported; then it all goes again
    rewinds = [i for i, d in enumerate(progress.deltas) if d < 0]
    assert len(rewinds) == 1
    rewind = rewinds[0]
    assert sum(progress.deltas[:rewind]) == -progress.deltas[rewind] > 0
    assert sum(progress.deltas[rewind + 1 :]) == len(body)
    assert progress.total == len(body)


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [
        ("UploadPart@1=error:403:AccessDenied", AccessDenied),
        ("UploadPart@1=error:404:NoSuchUpload", NoSuchUpload),
    ],
)
def test_non_transient_errors_are_not_retried(
    setup: Callable[..., Setup], fault: str, error_type: type[ServiceError]
) -> None:
    s = setup(fault)
    progress = Progress()
    with pytest.raises(error_type) as info:
        s.upload(1, b"body", progress=progress)
    assert not is_transient(info.value)
    assert [e.attempt for e in s.transcript.of("UploadPart")] == [1]
    assert progress.total == 0


def test_invalid_digest_is_not_retried(setup: Callable[..., Setup]) -> None:
    s = setup()
    operation = UploadPart(BUCKET, s.key, s.upload_id, 1, b"body", content_md5=md5_b64(b"x"))
    with pytest.raises(InvalidDigest):
        s.client.execute(operation)
    assert [(e.attempt, e.status) for e in s.transcript.of("UploadPart")] == [(1, 400)]
    assert s.parts() == {}


def test_retry_false_raises_at_once(setup: Callable[..., Setup]) -> None:
    s = setup("UploadPart@1=error:503")
    with pytest.raises(ServiceUnavailable) as info:
        s.upload(1, b"body", retry=False)
    assert (info.value.status, info.value.error_code) == (503, "ServiceUnavailable")
    assert [e.attempt for e in s.transcript.of("UploadPart")] == [1]
    assert s.upload(1, b"body") == etag_of(b"body")  # the fault fired once


def test_retries_are_bounded(setup: Callable[..., Setup]) -> None:
    s = setup(
        "UploadPart@1x100=error:500", retry=policy(attempts=3, base_delay=0.05, max_delay=0.1)
    )
    started = time.monotonic()
    with pytest.raises(InternalError):
        s.upload(1, b"body")
    assert time.monotonic() - started < 1.5
    assert [e.attempt for e in s.transcript.of("UploadPart")] == [1, 2, 3]


def test_retry_delay_is_jittered_and_capped() -> None:
    retry = RetryPolicy(attempts=10, base_delay=0.2, max_delay=1.0)
    for attempt in range(1, 12):
        cap = min(1.0, 0.2 * 2 ** (attempt - 1))
        delays = [retry.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap / 2  # full jitter spreads over the range
    assert RetryPolicy().attempts >= 2


# -------------------------------------------------------------------------------- cancel


def test_cancel_stops_a_stalled_large_body_quickly(setup: Callable[..., Setup]) -> None:
    s = setup("UploadPart@1=delay:1")
    body = data_of(24 * MiB, 9)  # more than socket buffers hold: the server never gets it all
    cancel = threading.Event()
    progress = Progress()
    timer = threading.Timer(0.1, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        s.upload(1, body, progress=progress, cancel=cancel)
    elapsed = time.monotonic() - started
    timer.join()
    assert elapsed < 0.8, f"cancel took {elapsed:.2f}s (the server stalls for 1s)"
    assert progress.total == 0, "a cancelled body's bytes are rewound"
    [exchange] = s.transcript.of("UploadPart")
    assert (exchange.status, exchange.error) == (None, "Cancelled")
    time.sleep(max(0.0, 1.3 - (time.monotonic() - started)))  # the server wakes, finds it gone
    assert s.parts() == {}, "no partial part is kept"
    # the pool is healthy afterwards
    assert s.upload(1, body[:PART]) == etag_of(body[:PART])
    assert s.parts() == {1: (etag_of(body[:PART]), PART)}


def test_cancel_while_waiting_for_the_answer(setup: Callable[..., Setup]) -> None:
    s = setup("UploadPart@1=delay:1")
    body = data_of(64 * KiB, 10)  # fits in socket buffers: sent at once, then a long wait
    cancel = threading.Event()
    timer = threading.Timer(0.1, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        s.upload(1, body, cancel=cancel)
    timer.join()
    assert time.monotonic() - started < 0.8
    # whatever the server does with bytes that had all arrived, it never keeps a partial part
    assert s.parts() in ({}, {1: (etag_of(body), len(body))})


def test_cancel_a_bodyless_request_in_flight(setup: Callable[..., Setup]) -> None:
    s = setup("ListParts@1=delay:1")
    cancel = threading.Event()
    timer = threading.Timer(0.1, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        s.client.execute(ListParts(BUCKET, s.key, s.upload_id), cancel=cancel)
    timer.join()
    assert time.monotonic() - started < 0.8


def test_cancel_before_sending(setup: Callable[..., Setup]) -> None:
    s = setup()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled, match="before it was sent"):
        s.upload(1, b"body", cancel=cancel)
    assert s.transcript.of("UploadPart") == []


class SlowRetry(RetryPolicy):
    """A fixed, long backoff: only a cancel can cut it short."""

    def delay(self, attempt: int) -> float:
        return 5.0


def test_cancel_while_waiting_to_retry(setup: Callable[..., Setup]) -> None:
    s = setup("UploadPart@1x10=error:503", retry=SlowRetry(attempts=5))
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Cancelled, match="waiting to retry"):
        s.upload(1, b"body", cancel=cancel)
    timer.join()
    assert time.monotonic() - started < 1.0
    assert [(e.attempt, e.status) for e in s.transcript.of("UploadPart")] == [(1, 503)]


def test_an_unset_cancel_event_changes_nothing(setup: Callable[..., Setup]) -> None:
    s = setup()
    body = data_of(3 * MiB, 11)
    cancel = threading.Event()
    progress = Progress()
    assert s.upload(1, body, cancel=cancel, progress=progress) == etag_of(body)
    assert progress.total == len(body)
    assert len(progress.deltas) == 3  # one per 1 MiB chunk
    assert s.parts() == {1: (etag_of(body), len(body))}


# ------------------------------------------------------------------------------ timeouts


def test_a_stall_longer_than_the_timeout_is_retried(setup: Callable[..., Setup]) -> None:
    s = setup("UploadPart@1=delay:1", timeout=0.3)
    progress = Progress()
    assert s.upload(1, b"stalled body", progress=progress) == etag_of(b"stalled body")
    exchanges = s.transcript.of("UploadPart")
    assert [(e.attempt, e.status, e.error) for e in exchanges] == [
        (1, None, "TransportError"),
        (2, 200, None),
    ]
    assert 0.25 < exchanges[0].elapsed < 0.8
    assert progress.total == len(b"stalled body")


def test_a_stall_without_retries_is_a_transport_error(setup: Callable[..., Setup]) -> None:
    s = setup("GetBucketInfo@1x5=delay:1", timeout=0.3)
    started = time.monotonic()
    with pytest.raises(TransportError, match="ReadTimeout"):
        s.client.execute(GetBucketInfo(BUCKET), retry=False)
    assert time.monotonic() - started < 0.8
