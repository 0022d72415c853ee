"""What the CLI and the session say is true (issue 11, items 8 and 9).

An explicit abort of an upload the server does not know is an error, not a success;
two processes driving one checkpoint cannot both run; an upload completed while the
CLI was interrupted is recognised on the next run, not uploaded again; and a failure
says whether the upload is really kept on the server, as the server answers.
Everything runs against a real ``ossnb serve`` and, for the CLI, real subprocesses.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ServerHandle
from reliability_ledger import scenario_fixture  # noqa: F401 - fixture
from session_fixtures import (
    CLI,
    PART,
    MiB,
    make_client,
    make_file,
    run_cli,
    sdk_read,
    server_env,
    wait_for,
)

from ossnb.protocol.errors import NoSuchKey, NoSuchUpload
from ossnb.protocol.operations import HeadObject, InitiateMultipartUpload, ListParts, PutBucket
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.session import UploadSession

Scenario = Callable[[str], None]
Factory = Callable[..., ServerHandle]
BOGUS_ID = "0123456789ABCDEF0123456789ABCDEF"


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if "ossnb: error:" in line]


def test_cli_abort_of_an_unknown_upload_id_is_an_error(
    server: ServerHandle, bucket_name: str, scenario: Scenario
) -> None:
    scenario("truth: `uploads abort` of an upload ID that never existed fails")
    client = make_client(server)
    client.execute(PutBucket(bucket_name))
    real = client.execute(InitiateMultipartUpload(bucket_name, "k.bin")).upload_id
    env = server_env(server)
    result = run_cli(
        "uploads", "abort", f"oss://{bucket_name}/k.bin", "--upload-id", BOGUS_ID, env=env
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "aborted" not in result.stdout
    [line] = _error_lines(result)
    assert BOGUS_ID in line and "NoSuchUpload" in line and "Nothing was aborted" in line
    # the real upload of the same key is untouched
    assert [u.upload_id for u in list_all_uploads(client, bucket_name)] == [real]
    ok = run_cli("uploads", "abort", f"oss://{bucket_name}/k.bin", "--upload-id", real, env=env)
    assert ok.returncode == 0, ok.stderr
    assert f"aborted {real}" in ok.stdout
    again = run_cli("uploads", "abort", f"oss://{bucket_name}/k.bin", "--upload-id", real, env=env)
    assert again.returncode == 1 and "NoSuchUpload" in again.stderr


def test_session_abort_of_a_wrongly_adopted_id_raises(
    server: ServerHandle, bucket_name: str, work_dir: Path, scenario: Scenario
) -> None:
    scenario("truth: abort() of a session adopted by a wrong upload ID fails")
    client = make_client(server)
    client.execute(PutBucket(bucket_name))
    path = work_dir / "a.bin"
    make_file(path, 2 * PART, seed=91)
    session = UploadSession.adopt(client, path, bucket_name, "a.bin", BOGUS_ID, part_size=PART)
    with pytest.raises(NoSuchUpload, match="Nothing was aborted"):
        session.abort()
    assert session.state.value == "failed"
    assert not session.receipt().server_parts_after_abort
    assert session.checkpoint_path is not None and not session.checkpoint_path.exists()


def _count(log: str, operation: str) -> int:
    return sum(1 for line in log.splitlines() if f" {operation} " in line)


def test_sigint_while_complete_is_in_flight_then_the_next_run_finds_the_object(
    server_factory: Factory, work_dir: Path, scenario: Scenario
) -> None:
    scenario("truth: SIGINT during Complete — no false 'kept'; the next run finds the object")
    server = server_factory(
        "--fault", "CompleteMultipartUpload=delay:8", "--bucket", "sigc", "--verbose"
    )
    client = make_client(server)
    path = work_dir / "s.bin"
    data = make_file(path, MiB + 17, seed=92)
    command = ["upload", str(path), "oss://sigc/s.bin", "--part-size", "100KiB"]
    process = subprocess.Popen(
        [*CLI, *command],
        env=server_env(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: "on CompleteMultipartUpload" in server.log(), 30, "Complete to be sent")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stdout + stderr
    [line] = _error_lines(subprocess.CompletedProcess([], 130, stdout, stderr))
    assert "CompleteMultipartUpload" in line and "in flight" in line, line
    assert "is kept on the server" not in line
    checkpoint = work_dir / "s.bin.ossnb-checkpoint.json"
    assert checkpoint.exists(), "the next run needs it to find the upload"

    def completed() -> bool:
        try:
            client.execute(HeadObject("sigc", "s.bin"))
        except NoSuchKey:
            return False
        return True

    wait_for(completed, 20, "the server to finish the Complete it was sent")
    etag = client.execute(HeadObject("sigc", "s.bin")).etag
    sent = (_count(server.log(), "InitiateMultipartUpload"), _count(server.log(), "UploadPart"))
    again = run_cli(*command, env=server_env(server))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "is no longer on the server, but oss://sigc/s.bin is" in again.stdout
    assert "size, ETag and CRC-64 match" in again.stdout and "nothing was sent" in again.stdout
    assert "verified:" in again.stdout
    log = server.log()
    assert (_count(log, "InitiateMultipartUpload"), _count(log, "UploadPart")) == sent, (
        "no re-upload"
    )
    assert client.execute(HeadObject("sigc", "s.bin")).etag == etag
    assert sdk_read(server, "sigc", "s.bin") == data
    assert not checkpoint.exists()


def test_the_loser_of_two_processes_on_one_upload_says_what_is_true(
    server_factory: Factory, work_dir: Path, scenario: Scenario
) -> None:
    """A second process adopts the upload by ID and completes it first: the first one
    meets NoSuchUpload and must not say the upload is kept on the server."""
    scenario("truth: the loser of two processes on one upload gets no false 'kept on the server'")
    server = server_factory("--fault", "UploadPart@1x1000=delay:0.4", "--bucket", "race")
    client = make_client(server)
    path = work_dir / "r.bin"
    data = make_file(path, MiB + 17, seed=93)
    command = ["upload", str(path), "oss://race/r.bin", "--part-size", "100KiB"]
    first = subprocess.Popen(
        [*CLI, *command, "--workers", "1"],
        env=server_env(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        uploads: list[str] = []

        def begun() -> bool:
            uploads[:] = [u.upload_id for u in list_all_uploads(client, "race")]
            return (
                bool(uploads)
                and len(client.execute(ListParts("race", "r.bin", uploads[0])).parts) >= 2
            )

        wait_for(begun, 30, "two parts")
        second = run_cli(
            *command,
            "--upload-id",
            uploads[0],
            "--no-checkpoint",
            "--workers",
            "11",
            env=server_env(server),
        )
        assert second.returncode == 0, second.stdout + second.stderr
        stdout, stderr = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 1, stdout + stderr
    [line] = _error_lines(subprocess.CompletedProcess([], 1, stdout, stderr))
    assert "NoSuchUpload" in line and "is kept on the server" not in line, line
    assert f"upload ID {uploads[0]} is no longer on the server" in line, line
    assert "holds this file (size, ETag and CRC-64 match" in line, line
    assert not (work_dir / "r.bin.ossnb-checkpoint.json").exists(), "no stale checkpoint"
    assert sdk_read(server, "race", "r.bin") == data
    assert list_all_uploads(client, "race") == []


def test_a_failure_with_the_upload_still_there_says_how_many_parts_it_holds(
    server_factory: Factory, work_dir: Path, scenario: Scenario
) -> None:
    scenario("truth: 'kept on the server' is said only after ListParts shows the upload")
    server = server_factory(
        "--fault", "UploadPart@3x1000=error:403:AccessDenied", "--bucket", "kept"
    )
    client = make_client(server)
    path = work_dir / "k.bin"
    make_file(path, 5 * PART, seed=94)
    result = run_cli(
        "upload",
        str(path),
        "oss://kept/k.bin",
        "--part-size",
        "100KiB",
        "--workers",
        "1",
        env=server_env(server),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = _error_lines(result)
    [upload] = list_all_uploads(client, "kept")
    held = len(client.execute(ListParts("kept", "k.bin", upload.upload_id)).parts)
    assert f"upload ID {upload.upload_id} is kept on the server with {held} part(s)" in line, line
    assert "run the same command again to resume" in line
