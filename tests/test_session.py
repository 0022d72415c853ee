"""The upload session step by step and as a background run, against ``ossnb serve``."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path

import pytest
from conftest import ServerHandle
from session_fixtures import (  # noqa: F401 - fixtures
    PART,
    KiB,
    MiB,
    Recorder,
    bucket_fixture,
    client_fixture,
    make_file,
    sdk_read,
    source_fixture,
    wait_for,
)

from ossnb.client.client import Client
from ossnb.emulator import DEV_ACCESS_KEY_SECRET
from ossnb.protocol.checksums import crc64, md5_hex, multipart_etag
from ossnb.protocol.errors import NoSuchKey, UsageError
from ossnb.protocol.operations import HeadObject
from ossnb.protocol.parts import Limits
from ossnb.upload.ledger import (
    BytesSent,
    ExchangeEvent,
    Notice,
    PartDone,
    PartStarted,
    PartState,
    SessionState,
    StateChanged,
)
from ossnb.upload.session import UploadSession
from ossnb.upload.source import SourceChangedError, open_source


def test_plan_is_shown_before_anything_is_sent(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    session = UploadSession(client, path, bucket, "plan.bin", part_size=PART, workers=3)
    plan = session.plan
    assert (plan.size, plan.part_size, plan.part_count) == (len(data), PART, 11)
    assert plan.last_part_size == len(data) - 10 * PART
    assert plan.peak_memory == 3 * PART and not plan.grown
    assert "11 part(s) of 100.0 KiB" in plan.describe()
    assert session.state is SessionState.PLANNED and session.upload_id is None
    assert session.transcript() == ()  # nothing was sent
    assert "planned" in repr(session) and "0/11" in repr(session)
    assert "(not initiated)" in session.describe()
    rows = session.snapshot().rows
    assert [(r.number, r.offset, r.size) for r in rows[:2]] == [(1, 0, PART), (2, PART, PART)]


def test_part_size_grows_to_stay_within_the_part_limit(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, _ = source
    limits = Limits(max_parts=4)
    session = UploadSession(client, path, bucket, "k", part_size=PART, limits=limits)
    assert session.plan.grown and session.plan.part_count <= 4
    assert session.plan.part_size >= PART and "grown from" in session.plan.describe()
    with pytest.raises(UsageError, match="below the minimum"):
        UploadSession(client, path, bucket, "k", part_size=50 * KiB)
    with pytest.raises(UsageError):
        UploadSession(client, path, bucket, "k", workers=0)


def test_the_three_steps_one_at_a_time(
    server: ServerHandle, client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    session = UploadSession(client, path, bucket, "steps/one.bin", part_size="100KiB")
    upload_id = session.initiate()
    assert upload_id == session.upload_id and session.state is SessionState.INITIATED
    assert session.checkpoint_path is not None and session.checkpoint_path.exists()
    with pytest.raises(UsageError, match="already initiated"):
        session.initiate()

    row = session.upload_part(2)
    assert row.state is PartState.DONE and row.attempts == 1
    assert row.etag == f'"{md5_hex(data[PART : 2 * PART])}"'
    assert row.crc64 == crc64(data[PART : 2 * PART]) and row.md5 == md5_hex(data[PART : 2 * PART])
    assert row.bytes_sent == PART and not row.reused
    listed = session.list_parts()
    assert [(p.part_number, p.etag, p.crc64) for p in listed] == [(2, row.etag, row.crc64)]

    with pytest.raises(UsageError, match="10 of 11 part"):
        session.complete()
    with pytest.raises(NoSuchKey):  # nothing was completed
        client.execute(HeadObject(bucket, "steps/one.bin"))

    for number in range(1, 12):
        if number != 2:
            session.upload_part(number)
    receipt = session.complete()
    assert receipt.verified and session.state is SessionState.COMPLETED
    assert receipt.etag == multipart_etag(r.etag or "" for r in session.snapshot().rows)
    assert receipt.crc64 == crc64(data)
    assert [p.number for p in receipt.parts] == list(range(1, 12))
    assert not session.checkpoint_path.exists()  # removed once verified
    assert session.complete() == receipt or session.complete().verified
    assert sdk_read(server, bucket, "steps/one.bin") == data
    with pytest.raises(UsageError):
        session.upload_part(1)
    with pytest.raises(UsageError, match="too late to abort"):
        session.abort()


def test_start_returns_at_once_and_wait_gives_a_verified_receipt(
    server: ServerHandle, client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    session = UploadSession(client, path, bucket, "run/all.bin", part_size=PART, workers=4)
    seen = Recorder()
    session.subscribe(seen)
    session.start()
    assert session.state in (SessionState.RUNNING, SessionState.COMPLETING, SessionState.COMPLETED)
    with pytest.raises(UsageError, match="cannot start"):
        session.start()
    receipt = session.wait(timeout=30)
    assert receipt.verified and receipt.state == "completed"
    assert receipt.crc64 == crc64(data) and receipt.size == len(data)
    assert receipt.bytes_sent == len(data) and receipt.bytes_reused == 0
    assert receipt.started_at and receipt.finished_at and receipt.elapsed_seconds is not None
    assert sdk_read(server, bucket, "run/all.bin") == data

    # events: every part started and done, bytes counted to the byte, states in order
    assert sorted(e.number for e in seen.of(PartStarted)) == list(range(1, 12))
    assert sorted(e.row.number for e in seen.of(PartDone)) == list(range(1, 12))
    assert sum(e.delta for e in seen.of(BytesSent)) == len(data)
    states = [e.new for e in seen.of(StateChanged)]
    assert states == [SessionState.RUNNING, SessionState.COMPLETING, SessionState.COMPLETED]
    assert any("initiated upload ID" in e.text for e in seen.of(Notice))
    operations = [e.exchange.operation for e in seen.of(ExchangeEvent)]
    assert operations.count("UploadPart") == 11
    assert operations[0] == "InitiateMultipartUpload"
    assert operations[-2:] == ["CompleteMultipartUpload", "HeadObject"]
    assert any(name.startswith("ossnb-part") for name in seen.threads)

    # the snapshot is immutable and consistent; the receipt is JSON without secrets
    snap = session.snapshot()
    assert snap.fraction == 1.0 and snap.etag == receipt.etag
    with pytest.raises(AttributeError, match="immutable"):
        snap.rows[0].state = PartState.PENDING  # type: ignore[misc]
    doc = json.loads(receipt.to_json())
    assert doc["upload_id"] == session.upload_id and len(doc["parts"]) == 11
    assert doc["url"] == f"oss://{bucket}/run/all.bin"
    everything = receipt.to_json() + repr(session) + session.describe() + repr(seen.events)
    assert DEV_ACCESS_KEY_SECRET not in everything
    assert session.observer_errors == []


def test_complete_while_workers_run_waits_for_them(
    server: ServerHandle, client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    session = UploadSession(client, path, bucket, "run/complete.bin", part_size=PART)
    session.start()
    receipt = session.complete()
    assert receipt.verified and receipt.crc64 == crc64(data)
    assert sdk_read(server, bucket, "run/complete.bin") == data


def test_snapshots_from_another_thread_are_always_consistent(
    server: ServerHandle, client: Client, bucket: str, work_dir: Path
) -> None:
    path = work_dir / "hammer.bin"
    data = make_file(path, 3 * MiB, seed=13)
    session = UploadSession(client, path, bucket, "hammer.bin", part_size=PART, workers=4)
    problems: list[str] = []
    seen_rows: list[int] = []

    def hammer() -> None:
        while session.state not in (SessionState.COMPLETED, SessionState.FAILED):
            snap = session.snapshot()
            counts = sum(snap.ledger.count(s) for s in PartState)
            if counts != len(snap.rows) or not 0 <= snap.ledger.bytes_done <= len(data):
                problems.append(f"{counts} rows, {snap.ledger.bytes_done} bytes")
            done = sum(r.size for r in snap.rows if r.state is PartState.DONE)
            if done > snap.ledger.bytes_done:
                problems.append(f"done {done} > counted {snap.ledger.bytes_done}")
            seen_rows.append(snap.ledger.count(PartState.DONE))

    reader = threading.Thread(target=hammer)
    session.start()
    reader.start()
    wait_for(lambda: session.upload_id is not None, what="the upload ID")
    listed = session.list_parts()  # a step while the workers run
    receipt = session.wait(30)
    reader.join(10)
    assert problems == [] and len(seen_rows) > 1
    assert all(p.part_number <= 31 for p in listed)
    assert receipt.verified and sdk_read(server, bucket, "hammer.bin") == data


def test_bytes_and_streams_are_sources_too(
    server: ServerHandle, client: Client, bucket: str
) -> None:
    data = bytes(range(256)) * 1000  # 250 KiB: 3 parts
    by_bytes = UploadSession(client, data, bucket, "src/bytes", part_size=PART)
    assert by_bytes.checkpoint_path is None  # no file to put it beside
    by_bytes.start()
    assert by_bytes.wait(30).verified
    stream = io.BytesIO(b"head" + data)
    stream.seek(4)  # a stream is read from where it stands
    by_stream = UploadSession(client, stream, bucket, "src/stream", part_size=PART, workers=2)
    by_stream.start()
    assert by_stream.wait(30).verified
    assert sdk_read(server, bucket, "src/bytes") == data
    assert sdk_read(server, bucket, "src/stream") == data
    with pytest.raises(UsageError, match="binary mode"):
        UploadSession(client, io.StringIO("text"), bucket, "src/text")


def test_an_empty_file_is_one_empty_part(
    server: ServerHandle, client: Client, bucket: str, work_dir: Path
) -> None:
    path = work_dir / "empty.bin"
    path.write_bytes(b"")
    session = UploadSession(client, path, bucket, "empty.bin")
    assert session.plan.part_count == 1 and session.plan.last_part_size == 0
    session.start()
    receipt = session.wait(30)
    assert receipt.verified and receipt.crc64 == 0 and receipt.size == 0
    assert sdk_read(server, bucket, "empty.bin") == b""


def test_observers_run_on_workers_and_their_errors_are_kept(
    server: ServerHandle, client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    session = UploadSession(client, path, bucket, "obs.bin", part_size=PART)
    snapshots: list[float] = []
    lock = threading.Lock()

    def broken(event: object) -> None:
        if isinstance(event, PartDone):
            with lock:
                snapshots.append(session.snapshot().fraction)  # re-entrant reads are safe
            raise RuntimeError("observer bug")

    unsubscribe = session.subscribe(broken)
    session.start()
    assert session.wait(30).verified
    assert len(snapshots) == 11 and all(0 < f <= 1 for f in snapshots)
    assert len(session.observer_errors) == 11
    unsubscribe()
    assert sdk_read(server, bucket, "obs.bin") == data


def test_wait_and_steps_refuse_what_makes_no_sense(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, _ = source
    session = UploadSession(client, path, bucket, "misuse.bin", part_size=PART)
    with pytest.raises(UsageError, match="call start"):
        session.wait()
    with pytest.raises(UsageError, match="initiate"):
        session.upload_part(1)
    with pytest.raises(UsageError, match=r"outside 1\.\.11"):
        session.upload_part(12)
    with pytest.raises(UsageError, match="nothing to pause"):
        session.pause()
    with pytest.raises(UsageError, match="nothing to resume"):
        session.resume()
    with pytest.raises(UsageError):
        UploadSession(client, path, "Bad_Bucket", "k")
    with pytest.raises(UsageError):
        UploadSession(client, path, bucket, "/leading-slash")
    with pytest.raises(UsageError, match="no such file"):
        UploadSession(client, path.with_name("missing"), bucket, "k")
    with pytest.raises(UsageError, match="directory"):
        UploadSession(client, path.parent, bucket, "k")
    session.abort()  # nothing initiated: nothing to abort on the server
    assert session.state is SessionState.ABORTED
    assert session.receipt().server_parts_after_abort == 0


def test_sources_fill_a_buffer_with_exactly_the_range(
    work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bytes(range(256)) * 1000
    path = work_dir / "range.bin"
    path.write_bytes(data)
    sources = [open_source(path), open_source(data), open_source(io.BytesIO(data))]
    for src in sources:
        view = memoryview(bytearray(1000))
        src.read_into(12_345, view)
        assert view.tobytes() == data[12_345:13_345], src
    # systems without os.preadv (Windows) seek and read under a lock instead
    monkeypatch.delattr(os, "preadv")
    view = memoryview(bytearray(1000))
    open_source(path).read_into(255_500, view[:500])
    assert view[:500].tobytes() == data[255_500:]
    monkeypatch.undo()
    shrinking = open_source(path)
    path.write_bytes(data[:1000])
    with pytest.raises(SourceChangedError, match=r"shorter than when the upload began"):
        shrinking.read_into(2000, memoryview(bytearray(10)))


def test_start_without_complete_leaves_the_upload_for_a_complete_step(
    server: ServerHandle, client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    session = UploadSession(client, path, bucket, "run/manual.bin", part_size=PART, workers=3)
    session.start(complete=False)
    receipt = session.wait(timeout=30)
    assert session.state is SessionState.INITIATED and receipt.state == "initiated"
    assert all(row.state is PartState.DONE for row in session.snapshot().rows)
    assert len(session.list_parts()) == 11  # all parts on the server, no object yet
    with pytest.raises(NoSuchKey):
        client.execute(HeadObject(bucket, "run/manual.bin"))
    done = session.complete()
    assert done.verified and done.crc64 == crc64(data)
    assert sdk_read(server, bucket, "run/manual.bin") == data
