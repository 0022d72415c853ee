"""The Dask carrier: one upload's parts as tasks on a real ``distributed.LocalCluster``.

Two worker processes (one thread each) share one cluster for the module; every upload
goes to an ``ossnb serve`` subprocess on 127.0.0.1 over real sockets, and oss2 reads the
object back. The kernel (this process) holds the credentials; the workers get presigned
URLs only, which a scheduler plugin checks on every task it hands out.
"""

from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cloudpickle
import oss2
import pytest
from conftest import Factory, ServerHandle
from dask import delayed
from distributed import Client as DaskClient
from distributed import LocalCluster
from distributed.diagnostics.plugin import SchedulerPlugin
from session_fixtures import (
    PART,
    MiB,
    Recorder,
    make_client,
    make_file,
    sdk_read,
    server_with_faults,
    wait_for,
)

from ossnb.emulator import DEFAULT_REGION, DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET
from ossnb.protocol.errors import NoSuchUpload, UsageError
from ossnb.protocol.operations import ListParts, Operation, PutBucket
from ossnb.protocol.transcript import Exchange
from ossnb.upload.dask_carrier import DaskCarrier
from ossnb.upload.ledger import BytesSent, PartDone, PartState, SessionState
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.produced import upload_parts
from ossnb.upload.session import UploadSession
from ossnb.upload.source import SourceChangedError

BUCKET = "dask"


class TaskSpy(SchedulerPlugin):  # type: ignore[misc]
    """Keeps every task spec the scheduler sends to a worker, serialized as it travels."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.specs: list[bytes] = []
        self._lock = threading.Lock()

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "processing" and "ossnb-part" in str(key):
            spec = self.scheduler.tasks[key].run_spec
            with self._lock:
                self.specs.append(cloudpickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[LocalCluster, DaskClient, TaskSpy]]:
    with LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        spy = TaskSpy(local.scheduler)
        local.scheduler.add_plugin(spy)
        with DaskClient(local) as client:
            yield local, client, spy


@pytest.fixture
def dask(cluster: tuple[LocalCluster, DaskClient, TaskSpy]) -> DaskClient:
    """The module's Dask client, with both workers up (a test may have killed one)."""
    client = cluster[1]
    client.wait_for_workers(2, timeout=60)
    return client


def _sdk_bucket(server: ServerHandle) -> oss2.Bucket:
    auth = oss2.AuthV4(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET)
    return oss2.Bucket(auth, server.endpoint, BUCKET, region=DEFAULT_REGION)


def test_a_file_upload_on_the_cluster_is_byte_identical_and_no_task_holds_the_secret(
    server: ServerHandle,
    dask: DaskClient,
    cluster: tuple[LocalCluster, DaskClient, TaskSpy],
    work_dir: Path,
) -> None:
    spy = cluster[2]
    client = make_client(server)
    client.execute(PutBucket("dask-file"))
    path = work_dir / "big.bin"
    data = make_file(path, 9 * PART + 321, seed=14)
    session = UploadSession(client, path, "dask-file", "big.bin", part_size=PART)
    events = Recorder()
    session.subscribe(events)
    before = len(spy.specs)
    session.start(carrier=DaskCarrier(dask))
    receipt = session.wait(120)

    assert receipt.verified and sdk_read(server, "dask-file", "big.bin") == data
    rows = session.snapshot().rows
    workers = set(dask.scheduler_info()["workers"])
    assert all(r.carrier == "dask" and r.worker in workers for r in rows)
    assert all(r.md5 and r.etag and r.etag.strip('"') == r.md5 for r in rows)
    assert len(events.of(PartDone)) == len(rows) == 10
    assert "ossnb-dask" in events.threads  # results reached the ledger from the carrier

    specs = spy.specs[before:]
    assert len(specs) == len(rows)  # one task a part, each seen on its way to a worker
    secret = DEV_ACCESS_KEY_SECRET.encode()
    assert all(b"x-oss-signature" in spec for spec in specs)  # the scan sees the URL
    assert not any(secret in spec for spec in specs)
    # The key ID does travel: every presigned URL names it (x-oss-credential); the
    # secret that signs never leaves the kernel.
    assert all(DEV_ACCESS_KEY_ID.encode() in spec for spec in specs)


def test_the_parts_map_colours_each_part_by_the_worker_that_carried_it(
    server: ServerHandle, dask: DaskClient, work_dir: Path
) -> None:
    from ossnb.widgets import widget_for

    client = make_client(server)
    client.execute(PutBucket("dask-map"))
    path = work_dir / "map.bin"
    make_file(path, 7 * PART, seed=15)
    session = UploadSession(client, path, "dask-map", "map.bin", part_size=PART)
    ui = widget_for(session)
    try:
        ui.parts_map.colour_by = "worker"  # what the map's checkbox sets
        session.start(carrier=DaskCarrier(dask))
        session.wait(120)
        assert ui.refresh()
        workers = set(dask.scheduler_info()["workers"])
        names = ui.parts_map.worker_names
        assert names and set(names) <= workers
        marks = ui.parts_map.workers
        assert len(marks) == 7 and all(marks)  # every part names who carried it
        rows = session.snapshot().rows
        assert [names[m - 1] for m in marks] == [r.worker for r in rows]
    finally:
        ui.close()


def test_byte_progress_from_the_workers_reaches_the_ledger(
    server_factory: Factory, dask: DaskClient, work_dir: Path
) -> None:
    # the emulator answers each part 0.5 s after its body: time for the workers' byte
    # reports (one per 1 MiB chunk with progress_interval=0) to reach the kernel first
    server, client = server_with_faults(server_factory, BUCKET, "UploadPart@1x100=delay:0.5")
    path = work_dir / "progress.bin"
    data = make_file(path, 6 * MiB, seed=20)
    session = UploadSession(client, path, BUCKET, "progress.bin", part_size=3 * MiB)
    events = Recorder()
    session.subscribe(events)
    session.start(carrier=DaskCarrier(dask, progress_interval=0.0))
    assert session.wait(120).verified
    assert sdk_read(server, BUCKET, "progress.bin") == data
    for number in (1, 2):
        sent = [e.part_bytes for e in events.of(BytesSent) if e.number == number]
        assert sent and max(sent) >= MiB, (number, sent)  # seen while the part was in flight
    assert "ossnb-dask-progress" in events.threads


def test_an_expired_url_is_issued_again(
    server: ServerHandle, dask: DaskClient, work_dir: Path
) -> None:
    client = make_client(server)
    client.execute(PutBucket("dask-expired"))
    # a presigner whose first URL for each part was signed two hours ago (a queue that
    # sat too long): the task answers "expired" and gets a fresh URL
    stale = make_client(server, clock=lambda: datetime.now(timezone.utc) - timedelta(hours=2))
    signed: dict[int, int] = {}

    class SlowQueue:
        endpoint = client.endpoint

        def add_listener(self, listener: Callable[[Exchange], None]) -> None:
            client.add_listener(listener)

        def execute(self, operation: Operation[Any], **options: Any) -> Any:
            return client.execute(operation, **options)

        def presign(self, operation: Any, expires_in: timedelta = timedelta(hours=1)) -> str:
            number = operation.part_number
            signed[number] = signed.get(number, 0) + 1
            if signed[number] == 1:
                return stale.presign(operation, expires_in=timedelta(minutes=10))
            return client.presign(operation, expires_in=expires_in)

    path = work_dir / "expired.bin"
    data = make_file(path, 3 * PART, seed=15)
    session = UploadSession(
        SlowQueue(), path, "dask-expired", "e.bin", part_size=PART, checkpoint=None
    )
    session.start(carrier=DaskCarrier(dask))
    assert session.wait(120).verified
    assert sdk_read(server, "dask-expired", "e.bin") == data
    assert signed == {1: 2, 2: 2, 3: 2}
    assert all(row.attempts == 2 for row in session.snapshot().rows)


def test_a_worker_that_sees_another_file_fails_the_part_clearly(
    server: ServerHandle, dask: DaskClient, work_dir: Path
) -> None:
    client = make_client(server)
    client.execute(PutBucket("dask-changed"))
    path = work_dir / "changed.bin"
    make_file(path, 2 * PART, seed=21)
    session = UploadSession(client, path, "dask-changed", "c.bin", part_size=PART)
    stamp = path.stat().st_mtime
    os.utime(path, (stamp + 60, stamp + 60))  # as a worker's mount might show it
    session.start(carrier=DaskCarrier(dask))
    with pytest.raises(SourceChangedError, match="the workers must see the same file"):
        session.wait(120)
    assert session.state is SessionState.FAILED
    assert {r.state for r in session.snapshot().rows} <= {PartState.FAILED, PartState.PENDING}


def test_only_files_and_presigning_transports_can_go_to_the_cluster(
    server: ServerHandle, dask: DaskClient
) -> None:
    client = make_client(server)
    session = UploadSession(client, b"x" * 10, "dask-file", "b.bin", checkpoint=None)
    with pytest.raises(UsageError, match="file path"):
        session.start(carrier=DaskCarrier(dask))
    assert session.state is SessionState.PLANNED


def test_abort_mid_upload_cancels_tasks_and_leaves_no_parts(
    server_factory: Factory, dask: DaskClient, work_dir: Path
) -> None:
    server, client = server_with_faults(server_factory, BUCKET, "UploadPart@1x1000=delay:0.3")
    path = work_dir / "abort.bin"
    make_file(path, 12 * PART, seed=16)
    session = UploadSession(client, path, BUCKET, "abort.bin", part_size=PART)
    session.start(carrier=DaskCarrier(dask))
    wait_for(lambda: session.snapshot().ledger.count(PartState.DONE) >= 1, 60, "a part")
    upload_id = session.upload_id
    assert upload_id is not None
    receipt = session.abort()
    assert session.state is SessionState.ABORTED and receipt.server_parts_after_abort == 0
    assert session.snapshot().ledger.count(PartState.DONE) < 12
    time.sleep(1.0)  # a PUT already on the wire lands now, against an upload that is gone
    with pytest.raises(NoSuchUpload):
        client.execute(ListParts(BUCKET, "abort.bin", upload_id))
    assert list_all_uploads(client, BUCKET) == []
    assert not list(oss2.ObjectIterator(_sdk_bucket(server)))


def test_pause_cancels_the_tasks_and_resume_finishes(
    server_factory: Factory, dask: DaskClient, work_dir: Path
) -> None:
    server, client = server_with_faults(server_factory, BUCKET, "UploadPart@1x1000=delay:0.2")
    path = work_dir / "pause.bin"
    data = make_file(path, 10 * PART + 1, seed=19)
    session = UploadSession(client, path, BUCKET, "pause.bin", part_size=PART)
    session.start(carrier=DaskCarrier(dask))
    wait_for(lambda: session.snapshot().ledger.count(PartState.DONE) >= 1, 60, "a part")
    session.pause()
    assert session.state is SessionState.PAUSED
    paused = session.snapshot().ledger
    assert paused.count(PartState.SENDING) == 0  # submitted parts went back to pending
    time.sleep(1.0)
    assert session.snapshot().ledger.count(PartState.DONE) == paused.count(PartState.DONE)
    assert paused.count(PartState.DONE) < 11
    session.resume()
    assert session.wait(120).verified
    assert sdk_read(server, BUCKET, "pause.bin") == data


def test_a_new_session_from_the_checkpoint_sends_only_missing_parts(
    server: ServerHandle, dask: DaskClient, work_dir: Path
) -> None:
    client = make_client(server)
    client.execute(PutBucket("dask-resume"))
    path = work_dir / "resume.bin"
    data = make_file(path, 8 * PART + 5, seed=17)
    first = UploadSession(client, path, "dask-resume", "r.bin", part_size=PART)
    first.initiate()
    for number in (1, 2, 5):
        first.upload_part(number)
    del first  # the kernel restarts: only the checkpoint beside the file remains

    session = UploadSession(client, path, "dask-resume", "r.bin", part_size=PART)
    assert session.upload_id is not None
    session.start(carrier=DaskCarrier(dask))
    assert session.wait(120).verified
    assert sdk_read(server, "dask-resume", "r.bin") == data
    rows = session.snapshot().rows
    assert [r.number for r in rows if r.reused] == [1, 2, 5]  # re-checked on a worker
    assert all(r.carrier == "dask" and r.worker for r in rows if not r.reused)
    assert all(r.attempts == 0 for r in rows if r.reused)  # never sent again


def test_a_worker_killed_mid_part_is_replaced_and_the_object_is_right(
    server_factory: Factory, dask: DaskClient, work_dir: Path
) -> None:
    server, client = server_with_faults(server_factory, BUCKET, "UploadPart@1x1000=delay:0.4")
    path = work_dir / "killed.bin"
    data = make_file(path, 8 * PART + 9, seed=18)
    session = UploadSession(client, path, BUCKET, "killed.bin", part_size=PART)
    session.start(carrier=DaskCarrier(dask))

    def sending() -> list[Any]:
        return [r for r in session.snapshot().rows if r.state is PartState.SENDING and r.worker]

    wait_for(lambda: bool(sending()), 60, "a part in flight on a worker")
    victim = sending()[0]
    pid = dask.run(os.getpid, workers=[victim.worker])[victim.worker]
    os.kill(pid, signal.SIGKILL)  # the worker process dies with the part in flight

    assert session.wait(120).verified
    assert sdk_read(server, BUCKET, "killed.bin") == data
    carried = session.row(victim.number)
    assert carried.state is PartState.DONE and carried.worker != victim.worker


def _blob(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def test_parts_produced_on_the_workers_make_one_object(
    server: ServerHandle, dask: DaskClient, cluster: tuple[LocalCluster, DaskClient, TaskSpy]
) -> None:
    client = make_client(server)
    client.execute(PutBucket("dask-produced"))
    sizes = [PART + 1, 2 * PART, 777]
    # lambdas travel by value (cloudpickle): the workers need no test module to call them
    functions = [
        lambda seed=seed, size=size: random.Random(seed).randbytes(size)
        for seed, size in enumerate(sizes)
    ]
    receipt = upload_parts(client, DaskCarrier(dask), "dask-produced", "made.bin", functions)
    expected = b"".join(_blob(seed, size) for seed, size in enumerate(sizes))
    assert receipt.verified and receipt.size == len(expected)
    assert sdk_read(server, "dask-produced", "made.bin") == expected
    assert [p.size for p in receipt.parts] == sizes

    made = delayed(lambda seed, size: random.Random(seed).randbytes(size), pure=False)
    parts = [made(10, PART), made(11, 5)]  # e.g. collection.to_delayed(): a partition a part
    receipt = upload_parts(client, DaskCarrier(dask), "dask-produced", "delayed.bin", parts)
    assert receipt.verified
    assert sdk_read(server, "dask-produced", "delayed.bin") == _blob(10, PART) + _blob(11, 5)


def test_produced_part_sizes_are_checked_before_anything_is_sent(
    server: ServerHandle, dask: DaskClient
) -> None:
    client = make_client(server)
    client.execute(PutBucket("dask-small"))
    functions = [lambda: b"a" * PART, lambda: b"b" * 10, lambda: b"c" * PART]
    with pytest.raises(UsageError, match=r"nothing was sent: part 2 is 10 B, below the minimum"):
        upload_parts(client, DaskCarrier(dask), "dask-small", "small.bin", functions)
    with pytest.raises(UsageError, match="part 1 is not bytes-like"):
        upload_parts(client, DaskCarrier(dask), "dask-small", "small.bin", [lambda: 42])
    assert list_all_uploads(client, "dask-small") == []  # not even initiated


def test_importing_ossnb_does_not_load_dask() -> None:
    # distributed is an optional extra: only starting a Dask run imports it
    code = "import sys, ossnb; sys.exit('distributed' in sys.modules or 'dask' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0
