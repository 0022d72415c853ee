"""A checkpoint folder that cannot be written (issue 11, items 4, 5 and 8's lock).

A read-only source folder made each run initiate an upload, fail at the first checkpoint
write and leave the upload behind; a full disk killed the upload thread with a
traceback. Now the folder is checked before anything is sent (one line naming it and
``--checkpoint``), a write that fails mid-run is a notice and the run goes on, and two
processes cannot drive one checkpoint. Real tmpfs mounts (root, as CI runs) and real
``ossnb`` subprocesses against a real ``ossnb serve``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Factory
from reliability_ledger import Scenario, scenario_fixture  # noqa: F401 - fixture
from session_fixtures import (
    PART,
    CliProcess,
    MiB,
    make_client,
    make_file,
    run_cli,
    sdk_read,
    server_env,
    wait_for,
    wait_for_parts,
)
from test_reliability_input import mounted_fixture  # noqa: F401 - fixture

from ossnb.protocol.errors import UsageError
from ossnb.protocol.operations import ListObjectsV2
from ossnb.upload.checkpoint import CheckpointError
from ossnb.upload.checkpoint_lock import CheckpointLocked
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.session import UploadSession

Mount = Callable[[str], Path]


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _fill(folder: Path) -> None:
    """Write zeros into ``folder`` until its file system is full."""
    with (folder / "filler").open("ab", buffering=0) as handle:
        for size in (64 * 1024, 4096, 1):
            try:
                while handle.write(bytes(size)):
                    pass
            except OSError:
                pass


def test_a_read_only_source_folder_is_refused_before_anything_is_sent(
    server_factory: Factory, mounted: Mount, work_dir: Path, scenario: Scenario
) -> None:
    scenario("checkpoint: read-only folder beside the source — refused before initiate, no orphan")
    server = server_factory("--bucket", "rof")
    client = make_client(server)
    folder = mounted("size=4m")
    data = make_file(folder / "ro.bin", 3 * PART + 5, seed=81)
    remount = subprocess.run(
        ["mount", "-o", "remount,ro", str(folder)], capture_output=True, text=True
    )
    assert remount.returncode == 0, remount.stderr
    env = server_env(server)
    for _ in range(2):  # each run used to leave one more upload behind
        result = run_cli("upload", str(folder / "ro.bin"), "oss://rof/ro.bin", env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        [line] = _lines(result.stderr)
        assert line.startswith("ossnb: error: cannot write checkpoint"), line
        assert str(folder) in line and "Read-only file system" in line and "--checkpoint" in line
        assert "Traceback" not in result.stderr
        assert list_all_uploads(client, "rof") == [], "nothing was initiated"
    elsewhere = work_dir / "checkpoints"
    elsewhere.mkdir()
    ok = run_cli(
        "upload",
        str(folder / "ro.bin"),
        "oss://rof/ro.bin",
        "--checkpoint",
        str(elsewhere),
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert sdk_read(server, "rof", "ro.bin") == data
    assert list(elsewhere.iterdir()) == [], "checkpoint and lock removed once completed"


def test_a_full_checkpoint_disk_before_the_start_is_refused_before_anything_is_sent(
    server_factory: Factory, mounted: Mount, work_dir: Path, scenario: Scenario
) -> None:
    scenario("checkpoint: folder on a full disk at the start — one line, nothing initiated")
    server = server_factory("--bucket", "fullcp")
    client = make_client(server)
    disk = mounted("size=256k")
    _fill(disk)
    make_file(work_dir / "f.bin", 2 * PART, seed=82)
    result = run_cli(
        "upload",
        str(work_dir / "f.bin"),
        "oss://fullcp/f.bin",
        "--checkpoint",
        str(disk),
        env=server_env(server),
    )
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = _lines(result.stderr)
    assert "is full" in line and str(disk) in line and "--checkpoint" in line, line
    assert list_all_uploads(client, "fullcp") == []


def test_a_checkpoint_disk_filling_up_mid_upload_is_a_notice_not_a_dead_thread(
    server_factory: Factory, mounted: Mount, work_dir: Path, scenario: Scenario
) -> None:
    scenario("checkpoint: disk fills mid-upload — notice, upload completes, no traceback")
    # two parts land at once, every later one takes 0.5 s: seconds to fill the disk in
    server = server_factory("--fault", "UploadPart@3x1000=delay:0.5", "--bucket", "fillcp")
    client = make_client(server)
    disk = mounted("size=256k")
    path = work_dir / "g.bin"
    data = make_file(path, MiB, seed=83)
    command = ["upload", str(path), "oss://fillcp/g.bin", "--part-size", "100KiB"]
    with CliProcess(server, *command, "--workers", "2", "--checkpoint", str(disk)) as process:
        wait_for_parts(client, "fillcp", "g.bin", 2)
        assert [p.name for p in disk.iterdir() if p.name.endswith(".json")], "checkpoint written"
        _fill(disk)
        result = process.finish(timeout=90)
    stdout, stderr = result.stdout, result.stderr
    assert result.returncode == 0, stdout + stderr
    assert "Traceback" not in stderr and "ossnb: error" not in stderr, stderr
    notices = [line for line in stdout.splitlines() if "could not update the checkpoint" in line]
    assert notices and "is full" in notices[0] and str(disk) in notices[0], stdout
    assert "verified:" in stdout
    assert sdk_read(server, "fillcp", "g.bin") == data
    assert list_all_uploads(client, "fillcp") == []
    assert [p.name for p in disk.iterdir()] == ["filler"], "checkpoint and lock removed"


def test_two_processes_cannot_drive_one_checkpoint(
    server_factory: Factory, work_dir: Path, scenario: Scenario
) -> None:
    scenario("checkpoint: a second process on the same checkpoint is refused, naming the PID")
    server = server_factory("--fault", "UploadPart@1x1000=delay:0.6", "--bucket", "twice")
    client = make_client(server)
    path = work_dir / "two.bin"
    data = make_file(path, MiB, seed=84)
    args = ["upload", str(path), "oss://twice/two.bin", "--part-size", "100KiB", "--workers", "1"]
    with CliProcess(server, *args) as first:
        wait_for(lambda: bool(list_all_uploads(client, "twice")), 30, "the first run to initiate")
        second = run_cli(*args, env=server_env(server))
        assert first.process.poll() is None, "the first run was still going"
        done = first.finish(timeout=90)
    assert second.returncode == 2, second.stdout + second.stderr
    [line] = _lines(second.stderr)
    assert f"PID {first.pid}" in line and "in use by another ossnb process" in line, line
    assert done.returncode == 0, done.stdout + done.stderr
    assert sdk_read(server, "twice", "two.bin") == data
    assert client.execute(ListObjectsV2("twice")).objects[0].key == "two.bin"
    assert not (work_dir / "two.bin.ossnb-checkpoint.json.lock").exists()
    assert os.listdir(work_dir) == ["two.bin"]


def test_a_checkpoint_that_cannot_be_written_after_initiate_leaves_no_upload(
    server_factory: Factory, mounted: Mount, work_dir: Path, scenario: Scenario
) -> None:
    """The disk fills between the session's start-up check and InitiateMultipartUpload:
    the new, empty upload is aborted, the run ends failed (its thread did not die), and
    the error says the disk is full and that nothing is left on the server."""
    scenario(
        "checkpoint: disk full at the first checkpoint write — upload aborted, run ends cleanly"
    )
    server = server_factory("--bucket", "initcp")
    client = make_client(server)
    disk = mounted("size=256k")
    path = work_dir / "h.bin"
    make_file(path, 2 * PART, seed=85)
    session = UploadSession(client, path, "initcp", "h.bin", part_size=PART, checkpoint=disk)
    _fill(disk)
    session.start()
    with pytest.raises(CheckpointError, match="is full") as failed:
        session.wait(30)
    assert "was aborted" in str(failed.value)
    assert session.state.value == "failed" and session.upload_id is None
    assert list_all_uploads(client, "initcp") == []
    assert session.observer_errors == []


def test_a_running_session_keeps_its_checkpoint_from_a_second_one_in_the_same_process(
    server_factory: Factory, work_dir: Path, scenario: Scenario
) -> None:
    """A notebook cell run twice: the second session is refused while the first sends, and
    takes the upload over once the first is paused; the first can then no longer steer it."""
    scenario("checkpoint: a second session of the same process waits for the running one")
    server = server_factory("--fault", "UploadPart@1x1000=delay:0.3", "--bucket", "cell")
    client = make_client(server)
    path = work_dir / "cell.bin"
    data = make_file(path, 6 * PART, seed=86)
    first = UploadSession(client, path, "cell", "cell.bin", part_size=PART, workers=1)
    first.start()
    with pytest.raises(CheckpointLocked, match="another upload session of this process"):
        UploadSession(client, path, "cell", "cell.bin", part_size=PART)
    first.pause()
    wait_for(lambda: first.state.value == "paused", 10, "the pause")
    second = UploadSession(client, path, "cell", "cell.bin", part_size=PART)  # takes it over
    assert second.upload_id == first.upload_id  # the same upload, resumed
    with pytest.raises(UsageError, match="took this upload over"):
        first.resume()
    with pytest.raises(UsageError, match="took this upload over"):
        first.abort()  # it would drop the upload the second one drives
    second.start()
    assert second.wait(60).verified
    assert sdk_read(server, "cell", "cell.bin") == data
    assert os.listdir(work_dir) == ["cell.bin"], "checkpoint and lock removed"
