"""Pause, resume and abort while workers run; retries and failures under injected faults.

Each test gets its own ``ossnb serve`` with faults armed on the command line.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import Factory, ServerHandle
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

from ossnb.client.client import Client
from ossnb.protocol.errors import (
    AccessDenied,
    Cancelled,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    UsageError,
)
from ossnb.protocol.operations import HeadObject, ListParts, PutBucket
from ossnb.upload.ledger import BytesSent, Event, ExchangeEvent, PartDone, PartState, SessionState
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.session import UploadSession

BUCKET = "control"


def _uploads(client: Client) -> int:
    return sum(1 for u in list_all_uploads(client, BUCKET))


def _part_exchanges(session: UploadSession) -> int:
    return sum(1 for e in session.transcript() if e.operation == "UploadPart")


def test_pause_stops_sending_and_resume_finishes(server_factory: Factory, work_dir: Path) -> None:
    server, client = server_with_faults(server_factory, BUCKET, "UploadPart@1x1000=delay:0.15")
    path = work_dir / "pause.bin"
    data = make_file(path, 4 * MiB + 5, seed=2)
    session = UploadSession(client, path, BUCKET, "pause.bin", part_size=512 * 1024, workers=2)
    session.start()
    wait_for(lambda: session.snapshot().ledger.count(PartState.DONE) >= 2, what="two parts")
    session.pause()
    assert session.state is SessionState.PAUSED
    session.pause()  # idempotent
    with pytest.raises(UsageError, match="paused"):
        session.wait()
    wait_for(lambda: session.snapshot().ledger.count(PartState.SENDING) == 0, what="in flight")
    sent = _part_exchanges(session)
    done = session.snapshot().ledger.count(PartState.DONE)
    time.sleep(0.5)
    assert _part_exchanges(session) == sent, "nothing is sent while paused"
    assert session.snapshot().ledger.count(PartState.DONE) == done < 9
    assert session.checkpoint_path is not None and '"paused"' in session.checkpoint_path.read_text()
    session.resume()
    receipt = session.wait(60)
    assert receipt.verified
    assert sdk_read(server, BUCKET, "pause.bin") == data
    assert _uploads(client) == 0


def test_pause_cancels_a_body_in_flight(server_factory: Factory, work_dir: Path) -> None:
    server, client = server_with_faults(server_factory, BUCKET, "UploadPart@1=delay:0.6")
    path = work_dir / "inflight.bin"
    data = make_file(path, 24 * MiB, seed=3)
    session = UploadSession(client, path, BUCKET, "inflight.bin", part_size=24 * MiB, workers=1)
    seen = Recorder()
    session.subscribe(seen)
    session.start()
    wait_for(lambda: session.snapshot().ledger.count(PartState.SENDING) == 1, what="sending")
    session.pause()
    wait_for(lambda: session.snapshot().rows[0].state is PartState.PENDING, what="cancelled")
    row = session.snapshot().rows[0]
    assert row.bytes_sent == 0, "a cancelled body's bytes are rewound"
    assert any(e.exchange.error == "Cancelled" for e in seen.of(ExchangeEvent))
    session.resume()
    receipt = session.wait(60)
    assert receipt.verified and receipt.parts[0].attempts == 2
    assert sum(e.delta for e in seen.of(BytesSent)) == len(data)
    assert sdk_read(server, BUCKET, "inflight.bin") == data


def test_abort_mid_upload_leaves_nothing_on_the_server(
    server_factory: Factory, work_dir: Path
) -> None:
    _, client = server_with_faults(server_factory, BUCKET, "UploadPart@1x1000=delay:0.2")
    path = work_dir / "abort.bin"
    make_file(path, 2 * MiB, seed=4)
    session = UploadSession(client, path, BUCKET, "abort.bin", part_size=PART, workers=2)
    session.start()
    wait_for(lambda: session.snapshot().ledger.count(PartState.DONE) >= 1, what="a part")
    upload_id = session.upload_id
    assert upload_id is not None
    started = time.monotonic()
    receipt = session.abort()
    assert time.monotonic() - started < 5
    assert session.state is SessionState.ABORTED and receipt.state == "aborted"
    assert receipt.server_parts_after_abort == 0
    with pytest.raises(NoSuchUpload):
        client.execute(ListParts(BUCKET, "abort.bin", upload_id))
    with pytest.raises(NoSuchKey):
        client.execute(HeadObject(BUCKET, "abort.bin"))
    assert _uploads(client) == 0
    assert session.checkpoint_path is not None and not session.checkpoint_path.exists()
    with pytest.raises(Cancelled, match="aborted"):
        session.wait()
    assert session.abort().state == "aborted"  # again: nothing more to do
    with pytest.raises(UsageError, match="aborted"):
        session.complete()


def test_abort_from_an_observer_on_a_worker_thread(server_factory: Factory, work_dir: Path) -> None:
    _, client = server_with_faults(server_factory, BUCKET, "UploadPart@1x1000=delay:0.05")
    path = work_dir / "observer.bin"
    make_file(path, MiB, seed=5)
    session = UploadSession(client, path, BUCKET, "observer.bin", part_size=PART, workers=2)
    answers: list[str] = []
    once = threading.Lock()

    def on_event(event: Event) -> None:
        if isinstance(event, PartDone) and once.acquire(blocking=False):
            answers.append(session.abort().state)  # must not deadlock on its own thread

    session.subscribe(on_event)
    session.start()
    with pytest.raises(Cancelled):
        session.wait(30)
    assert answers == ["aborting"]
    assert session.state is SessionState.ABORTED and _uploads(client) == 0


def test_transient_errors_are_retried_and_attempts_are_visible(
    server_factory: Factory, work_dir: Path
) -> None:
    server, client = server_with_faults(
        server_factory, BUCKET, "UploadPart@2x2=error:503:ServiceUnavailable"
    )
    path = work_dir / "retry.bin"
    data = make_file(path, 3 * PART, seed=6)
    session = UploadSession(client, path, BUCKET, "retry.bin", part_size=PART, workers=1)
    seen = Recorder()
    session.subscribe(seen)
    session.start()
    receipt = session.wait(30)
    assert [p.attempts for p in receipt.parts] == [1, 3, 1]
    failed = [e.exchange for e in seen.of(ExchangeEvent) if e.exchange.error]
    assert [(x.status, x.error, x.attempt) for x in failed] == [
        (503, "ServiceUnavailable", 1),
        (503, "ServiceUnavailable", 2),
    ]
    deltas = [e.delta for e in seen.of(BytesSent)]
    assert sum(deltas) == len(data) and sum(d for d in deltas if d < 0) == -2 * PART
    assert sdk_read(server, BUCKET, "retry.bin") == data


def test_the_session_retries_a_part_after_the_client_gave_up(
    server_factory: Factory, work_dir: Path
) -> None:
    server, client = server_with_faults(
        server_factory, BUCKET, "UploadPart@1x4=error:500", "UploadPart@6=drop"
    )
    path = work_dir / "rounds.bin"
    data = make_file(path, 3 * PART, seed=7)
    session = UploadSession(client, path, BUCKET, "rounds.bin", part_size=PART, workers=1)
    session.start()
    receipt = session.wait(30)
    # part 1: three client attempts fail (round 1), then one more fails and one succeeds;
    # part 2: its first attempt is the 6th UploadPart, dropped mid-body, then retried.
    assert [p.attempts for p in receipt.parts] == [5, 2, 1]
    assert sdk_read(server, BUCKET, "rounds.bin") == data


def test_a_permanent_error_fails_the_part_and_start_resumes(
    server_factory: Factory, work_dir: Path
) -> None:
    server, client = server_with_faults(
        server_factory, BUCKET, "UploadPart@3=error:403:AccessDenied"
    )
    path = work_dir / "denied.bin"
    data = make_file(path, 6 * PART, seed=8)
    session = UploadSession(client, path, BUCKET, "denied.bin", part_size=PART, workers=1)
    session.start()
    with pytest.raises(AccessDenied) as err:
        session.wait(30)
    assert err.value.error_code == "AccessDenied" and err.value.status == 403
    snap = session.snapshot()
    assert snap.state is SessionState.FAILED and "AccessDenied" in (snap.error or "")
    row = snap.rows[2]
    assert row.state is PartState.FAILED and row.error_code == "AccessDenied"
    assert row.attempts == 1 and "Check the credentials" in (row.error or "")
    assert [r.state for r in snap.rows[:2]] == [PartState.DONE, PartState.DONE]
    assert all(r.state is PartState.PENDING for r in snap.rows[3:]), "scheduling stopped"
    assert session.checkpoint_path is not None and '"failed"' in session.checkpoint_path.read_text()
    with pytest.raises(NoSuchKey):
        client.execute(HeadObject(BUCKET, "denied.bin"))

    before = session.transcript()
    session.start()  # the fault is spent: the same session goes on from where it stopped
    receipt = session.wait(30)
    assert receipt.verified
    sent_again = [
        e for e in session.transcript() if e not in before and e.operation == "UploadPart"
    ]
    assert len(sent_again) == 4
    assert sdk_read(server, BUCKET, "denied.bin") == data


def test_a_missing_bucket_fails_with_its_hint(server: ServerHandle, work_dir: Path) -> None:
    client = make_client(server)
    client.execute(PutBucket("control-exists"))
    path = work_dir / "nobucket.bin"
    make_file(path, PART, seed=9)
    session = UploadSession(client, path, "no-such-bucket-here", "k", part_size=PART)
    session.start()
    with pytest.raises(NoSuchBucket) as err:
        session.wait(30)
    assert "Create the bucket" in err.value.hint
    assert session.upload_id is None and session.state is SessionState.FAILED
