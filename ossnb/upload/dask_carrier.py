"""Parts carried by a Dask cluster: one task a part, no credentials on the workers.

::

    from ossnb.upload.dask_carrier import DaskCarrier
    session = UploadSession(client, "/shared/big.bin", "bucket", "data/big.bin")
    session.start(carrier=DaskCarrier(dask_client))   # then pause, resume, abort, wait as usual

The kernel keeps the credentials: it initiates, lists and completes as always, and signs
one UploadPart URL a part when it submits the part's task (V4 presigned, ``url_lifetime``
long; a task that finds its URL expired is submitted again with a fresh one). Each task
(:func:`ossnb.cluster.part_task.carry_part`) reads its byte range from a path every
worker sees, hashes it, PUTs it and returns the ETag, CRC-64, digest, timings and its
worker's address; results reach the ledger as tasks finish, byte progress through a
Dask queue every ``progress_interval`` seconds. At most ``in_flight`` tasks are
submitted at once (default: twice the cluster's threads), so URLs are signed shortly
before use. Pause cancels the submitted tasks (their parts go back to pending; a PUT
already on the wire may still land, which is harmless: a part sent twice is the same
part). A worker lost mid-part: the scheduler runs the task again elsewhere.

``distributed`` is an optional dependency (``pip install 'ossnb[dask]'``), imported
only when a run starts.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from ..cluster.part_task import PartOutcome, PartTask, carry_part, send_produced
from ..protocol.checksums import Digest
from ..protocol.errors import (
    OssError,
    TransportError,
    UsageError,
    error_from_response,
    is_transient,
)
from ..protocol.models import PartInfo
from .carriers import CarrierJob
from .ledger import PartState
from .source import FileSource, SourceChangedError

__all__ = ["DaskCarrier", "DaskRun"]


class DaskCarrier:
    """Carry parts as tasks on the Dask cluster of ``client`` (a ``distributed.Client``).

    ``url_lifetime``: how long each presigned UploadPart URL is valid (well over the
    time a part takes, queueing included). ``in_flight``: tasks submitted at once.
    ``task_retries``: Dask's retries of a task that raised. ``renewals``: fresh URLs a
    part may get after an "expired" answer.
    """

    name = "dask"

    def __init__(
        self,
        client: Any,
        *,
        url_lifetime: timedelta = timedelta(hours=1),
        in_flight: int | None = None,
        progress_interval: float = 0.25,
        task_retries: int = 2,
        renewals: int = 3,
    ) -> None:
        if in_flight is not None and in_flight < 1:
            raise UsageError("in_flight must be at least 1")
        self.client = client
        self.url_lifetime = url_lifetime
        self.in_flight = in_flight
        self.progress_interval = progress_interval
        self.task_retries = task_retries
        self.renewals = renewals

    def carry(self, numbers: Sequence[int], job: CarrierJob) -> DaskRun:
        if job.presign is None:
            raise UsageError(
                "the Dask carrier gives each task a presigned URL, and this transport "
                "cannot presign: use an ossnb Client"
            )
        if not isinstance(job.source, FileSource):
            raise UsageError(
                "the Dask carrier reads parts on the workers from a file path they all "
                "see; the source must be such a file (not bytes or a stream)"
            )
        return DaskRun(self, numbers, job)


class DaskRun:
    """One run of a :class:`DaskCarrier` (a :class:`~.carriers.RunHandle`): parts read
    from the job's file, or with ``produced`` (part N is ``produced[N - 1]``, a future on
    the cluster) parts already made on the workers."""

    def __init__(
        self,
        carrier: DaskCarrier,
        numbers: Sequence[int],
        job: CarrierJob,
        produced: Sequence[Any] | None = None,
    ) -> None:
        assert job.presign is not None
        assert produced is not None or isinstance(job.source, FileSource)
        self._carrier = carrier
        self._client = carrier.client
        self._job = job
        self._presign = job.presign
        self._source = job.source if isinstance(job.source, FileSource) else None
        self._produced = produced
        self._record = job.recorder(carrier.name)
        self._queue = deque(numbers)
        self._cond = threading.Condition(threading.RLock())
        self._inflight: dict[str, tuple[int, Any]] = {}  # token -> (part number, future)
        self._expect: dict[int, PartInfo] = {}
        self._rounds: dict[int, int] = {}
        self._renewed: dict[int, int] = {}
        self._done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._paused = False
        self._stopping = False
        self._over = threading.Event()
        self._window = carrier.in_flight or 2
        self._progress: Any = None
        self._progress_name = f"ossnb-progress-{uuid.uuid4().hex}"
        self._threads: list[threading.Thread] = []
        self.failure: BaseException | None = None

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        return tuple(self._threads)

    def start(self) -> None:
        """Start submitting tasks (from a driver thread) and collecting byte progress."""
        from distributed import Queue

        if self._carrier.in_flight is None:
            self._window = max(2, 2 * sum(self._client.nthreads().values()))
        self._progress = Queue(self._progress_name, client=self._client)  # type: ignore[no-untyped-call]
        for target, name in ((self._drive, "ossnb-dask"), (self._poll, "ossnb-dask-progress")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def pause(self) -> None:
        """Submit nothing more and cancel the submitted tasks (their parts go back to pending)."""
        with self._cond:
            self._paused = True
            recalled = self._recall()
        self._cancel(recalled)

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        """Submit nothing more, cancel the submitted tasks, and end the run."""
        with self._cond:
            self._stopping = True
            self._paused = False
            recalled = self._recall()
            self._cond.notify_all()
        self._cancel(recalled)

    def join(self, timeout: float | None = None) -> bool:
        for thread in self._threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    def wait_while_paused(self) -> None:
        with self._cond:
            while self._paused and not self._stopping:
                self._cond.wait()

    # -- the driver thread ------------------------------------------------------------

    def _drive(self) -> None:
        try:
            while True:
                with self._cond:
                    while self._paused and not self._stopping:
                        self._cond.wait()
                    ending = self._stopping or self.failure is not None
                    if not self._inflight and (ending or not self._queue):
                        return
                    if not ending:
                        self._fill()
                try:
                    future = self._done.get(timeout=0.25)
                except queue.Empty:
                    continue
                self._settle(future)
        except Exception as exc:  # a lost scheduler or a bug must not hang the session
            with self._cond:
                self.failure = self.failure or OssError(
                    f"the Dask carrier stopped: {type(exc).__name__}: {exc}"
                )
                recalled = self._recall()
            self._cancel(recalled)
        finally:
            self._over.set()

    def _fill(self) -> None:
        """Submit queued parts up to the window (the lock is held)."""
        while self._queue and len(self._inflight) < self._window:
            number = self._queue.popleft()
            row = self._job.ledger.row(number)
            reuse = self._job.reuse(number)
            if reuse is not None:
                self._expect[number] = reuse
            expect = self._expect.get(number)
            token = uuid.uuid4().hex[:16]
            task = PartTask(
                number=number,
                token=token,
                path=self._source.path if self._source else "",
                offset=row.offset,
                size=row.size,
                url=self._presign(number, self._carrier.url_lifetime),
                file_size=self._source.size if self._source else 0,
                mtime_s=self._source.mtime_ns // 1_000_000_000 if self._source else 0,
                expect=None if expect is None else (expect.size, expect.crc64, expect.etag),
                progress_queue=self._progress_name,
                progress_interval=self._carrier.progress_interval,
            )
            call: tuple[Any, ...] = (carry_part, task)
            if self._produced is not None:  # runs where the part's bytes are
                call = (send_produced, self._produced[number - 1], task)
            future = self._client.submit(
                *call,
                key=f"ossnb-part-{number}-{token}",
                pure=False,
                retries=self._carrier.task_retries,
            )
            self._inflight[token] = (number, future)
            future.add_done_callback(self._done.put)

    def _recall(self) -> list[Any]:
        """Take every submitted task back: its part is pending again (the lock is held)."""
        recalled = sorted(self._inflight.values(), key=lambda entry: entry[0], reverse=True)
        self._inflight.clear()
        for number, _ in recalled:
            self._record.cancelled(number)
            if not self._stopping:
                self._queue.appendleft(number)
        return [future for _, future in recalled]

    def _cancel(self, futures: list[Any]) -> None:
        if futures:
            with contextlib.suppress(Exception):  # a cluster going away takes its tasks
                self._client.cancel(futures)

    def _settle(self, future: Any) -> None:
        """Record one finished task (the lock is held while the ledger changes)."""
        token = str(future.key).rsplit("-", 1)[-1]
        with self._cond:
            entry = self._inflight.pop(token, None)
            if entry is None:  # recalled by a pause or stop: already pending again
                return
            number = entry[0]
            if future.status in ("lost", "cancelled") and not self._stopping:
                # its result went with a worker, or the cluster dropped it: send it again
                # (a part that did land is simply replaced by the same bytes)
                rounds = self._rounds[number] = self._rounds.get(number, 0) + 1
                if rounds < self._job.attempts:
                    self._record.cancelled(number)
                    self._queue.appendleft(number)
                    return
            if future.status != "finished":
                detail = future.exception() if future.status == "error" else future.status
                self._fail(number, OssError(f"part {number}: its Dask task failed: {detail}"))
                return
            outcome: PartOutcome = future.result()
            try:
                self._apply(number, outcome)
            except OssError as exc:
                self._fail(number, exc)

    def _apply(self, number: int, outcome: PartOutcome) -> None:
        local = Digest(outcome.size, outcome.md5_hex, outcome.md5_b64, outcome.crc64)
        elapsed = outcome.read_seconds + outcome.hash_seconds + outcome.send_seconds
        if outcome.status == "source":
            raise SourceChangedError(f"part {number}: {outcome.detail}")
        if outcome.status == "reused":
            expect = self._expect.pop(number, None)
            if expect is not None and expect.size == local.size:
                self._record.reused(number, expect, local.crc64, elapsed)
                return
            self._queue.appendleft(number)  # nothing to re-check against: send it
            return
        row = self._job.ledger.update(number, attempts=self._job.ledger.row(number).attempts + 1)
        if outcome.status == "sent":
            assert outcome.etag is not None
            self._expect.pop(number, None)
            if row.state is not PartState.SENDING:  # its "started" report was overtaken
                self._record.started(number, None, worker=outcome.worker)
            self._record.sent(
                number, outcome.etag, outcome.server_crc64, local, elapsed, worker=outcome.worker
            )
            return
        if outcome.status == "expired":
            renewed = self._renewed[number] = self._renewed.get(number, 0) + 1
            if renewed <= self._carrier.renewals:
                self._record.cancelled(number)
                self._queue.appendleft(number)  # submitted again with a fresh URL
                return
            raise OssError(
                f"part {number}: its presigned URL expired {renewed} times before use; check "
                "the machine clocks, or give the DaskCarrier a longer url_lifetime"
            )
        error: OssError
        if outcome.status == "error" and outcome.http_status is not None:
            error = error_from_response(outcome.http_status, dict(outcome.headers), outcome.body)
        else:
            error = TransportError(f"part {number} from {outcome.worker}: {outcome.detail}")
        rounds = self._rounds[number] = self._rounds.get(number, 0) + 1
        if is_transient(error) and rounds < self._job.attempts:
            self._record.retrying(number, error)
            self._record.cancelled(number)
            self._queue.append(number)
            return
        raise error

    def _fail(self, number: int, error: OssError) -> None:
        """Part ``number`` failed for good: record it and stop scheduling (lock held)."""
        self._record.failed(number, error)
        if self.failure is None:
            self.failure = error

    # -- byte progress ----------------------------------------------------------------

    def _poll(self) -> None:
        """Move workers' byte reports into the ledger until the run is over."""
        interval = max(0.05, self._carrier.progress_interval)
        while not self._over.wait(interval):
            try:
                reports = self._progress.get(batch=True)
            except Exception:  # the queue is best effort; results still arrive
                continue
            with self._cond:
                for token, number, sent, worker in reports:
                    if token not in self._inflight:
                        continue  # a recalled or finished task's late report
                    row = self._job.ledger.row(number)
                    if row.state is not PartState.SENDING or row.worker != worker:
                        # a first report, or the task runs again on another worker
                        self._record.started(number, None, worker=str(worker))
                    self._record.progress_to(int(number), int(sent))
        with contextlib.suppress(Exception):  # our reference to the queue, released
            self._progress.close()
