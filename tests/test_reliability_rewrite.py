"""A source rewritten under the upload with its mtime put back (issue 11, item 2).

``cp -p``, ``rsync -t`` and ``touch -r`` rewrite a file and restore its modification
time; size, mtime and inode then look unchanged and the object was stored from a mix of
old and new parts, "verified". The status-change time (ctime) cannot be set back by a
user: it is checked on every read, before Complete, and on resume.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import Factory, ServerHandle
from reliability_ledger import Scenario, scenario_fixture  # noqa: F401 - fixture
from session_fixtures import (  # noqa: F401 - client and bucket are fixtures
    PART,
    CliProcess,
    MiB,
    Recorder,
    bucket_fixture,
    cli_errors,
    client_fixture,
    make_client,
    make_file,
    run_cli,
    sdk_read,
    server_env,
    wait_for_parts,
)

from ossnb.client.client import Client
from ossnb.protocol.errors import NoSuchKey
from ossnb.protocol.operations import HeadObject, ListObjectsV2
from ossnb.upload.ledger import Notice
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.session import UploadSession
from ossnb.upload.source import SourceChangedError


def _rewrite_keeping_mtime(path: Path, offset: int, data: bytes) -> None:
    """Write ``data`` at ``offset`` in place, then put the old atime and mtime back."""
    before = path.stat()
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    ), "the rewrite must look unchanged by size, mtime and inode"


def test_the_cli_refuses_to_complete_a_file_rewritten_with_its_mtime_restored(
    server_factory: Factory, work_dir: Path, scenario: Scenario
) -> None:
    scenario("source: rewritten during a CLI upload, mtime restored (cp -p) — not completed")
    # three parts land at once, every later one takes 1 s: seconds to rewrite the file in
    server = server_factory("--fault", "UploadPart@4x1000=delay:1", "--bucket", "rwb")
    client = make_client(server)
    path = work_dir / "rw.bin"
    data = make_file(path, MiB + 17, seed=71)
    command = ["upload", str(path), "oss://rwb/rw.bin", "--part-size", "100KiB"]
    with CliProcess(server, *command, "--workers", "2") as process:
        wait_for_parts(client, "rwb", "rw.bin", 3)
        new = bytes(reversed(data))
        _rewrite_keeping_mtime(path, 0, new)  # the whole file, as cp -p over it would
        result = process.finish()
    stdout, stderr = result.stdout, result.stderr
    assert result.returncode == 1, stdout + stderr
    assert not [
        line for line in stdout.splitlines() if line.startswith(("verified:", "completed "))
    ]
    errors = cli_errors(stderr)
    assert len(errors) == 1, stderr
    assert "modified during the upload" in errors[0]
    # a part read between the write and the utime() sees the mtime move; after it, the ctime
    assert "ctime moved" in errors[0] or "new modification time" in errors[0], errors[0]
    assert "ossnb uploads abort" in errors[0], "it says what to do"
    assert client.execute(ListObjectsV2("rwb")).objects == [], "no object from mixed bytes"
    # the next run sees the change too, and says so instead of resuming
    again = run_cli(*command, env=server_env(server), timeout=60)
    assert again.returncode == 1 and "changed since upload" in again.stderr, again.stderr
    assert client.execute(ListObjectsV2("rwb")).objects == []


def test_complete_is_refused_when_the_source_was_rewritten_after_its_parts_were_sent(
    client: Client, bucket: str, work_dir: Path, scenario: Scenario
) -> None:
    scenario("source: rewritten after every part was sent, mtime restored — Complete refused")
    path = work_dir / "late.bin"
    make_file(path, 4 * PART, seed=72)
    session = UploadSession(client, path, bucket, "late.bin", part_size=PART, checkpoint=None)
    session.initiate()
    for number in range(1, 5):
        session.upload_part(number)
    _rewrite_keeping_mtime(path, PART + 5, b"new bytes in part two")
    with pytest.raises(SourceChangedError, match="modified during the upload"):
        session.complete()
    with pytest.raises(NoSuchKey):
        client.execute(HeadObject(bucket, "late.bin"))
    assert [u.upload_id for u in list_all_uploads(client, bucket)] == [session.upload_id]
    session.abort()


def test_a_resume_after_an_unsampled_rewrite_sends_the_changed_part_again(
    server: ServerHandle, client: Client, bucket: str, work_dir: Path, scenario: Scenario
) -> None:
    """Between runs, bytes the checkpoint's fingerprint does not sample change (mtime
    restored): the resume says so, and the part is compared and sent again."""
    scenario("source: rewritten between runs, mtime restored — resume re-sends what changed")
    path = work_dir / "between.bin"
    data = bytearray(make_file(path, 10 * PART, seed=73))
    first = UploadSession(client, path, bucket, "between.bin", part_size=PART)
    first.initiate()
    for number in range(1, 5):
        first.upload_part(number)
    del first  # a crash: the checkpoint and the parts stay
    patch = b"changed after the first run"
    offset = 2 * PART + 1000  # inside part 3, far from the sampled start, middle and end
    _rewrite_keeping_mtime(path, offset, patch)
    data[offset : offset + len(patch)] = patch
    second = UploadSession(client, path, bucket, "between.bin", part_size=PART)
    recorder = Recorder()
    second.subscribe(recorder)
    second.start()
    receipt = second.wait(60)
    assert receipt.verified
    notes = [n.text for n in recorder.of(Notice)]
    assert any("written to" in text for text in notes), notes
    assert [p.number for p in receipt.parts if p.reused] == [1, 2, 4]
    assert sdk_read(server, bucket, "between.bin") == bytes(data)
