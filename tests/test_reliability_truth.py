"""What the CLI and the session say is true (issue 11, items 8 and 9).

An explicit abort of an upload the server does not know is an error, not a success;
two processes driving one checkpoint cannot both run; an upload completed while the
CLI was interrupted is recognised on the next run, not uploaded again; and a failure
says whether the upload is really kept on the server, as the server answers.
Everything runs against a real ``ossnb serve`` and, for the CLI, real subprocesses.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from conftest import Factory, ServerHandle
from reliability_ledger import Scenario, scenario_fixture  # noqa: F401 - fixture
from session_fixtures import (  # noqa: F401 - client and bucket are fixtures
    PART,
    CliProcess,
    MiB,
    bucket_fixture,
    cli_errors,
    client_fixture,
    make_client,
    make_file,
    run_cli,
    sdk_read,
    server_env,
    wait_for,
    wait_for_parts,
)

from ossnb.client.client import Client
from ossnb.protocol.errors import NoSuchKey, NoSuchUpload
from ossnb.protocol.operations import HeadObject, InitiateMultipartUpload, ListParts
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.session import UploadSession

BOGUS_ID = "0123456789ABCDEF0123456789ABCDEF"


def test_cli_abort_of_an_unknown_upload_id_is_an_error(
    server: ServerHandle, client: Client, bucket: str, scenario: Scenario
) -> None:
    scenario("truth: `uploads abort` of an upload ID that never existed fails")
    real = client.execute(InitiateMultipartUpload(bucket, "k.bin")).upload_id
    env = server_env(server)
    result = run_cli("uploads", "abort", f"oss://{bucket}/k.bin", "--upload-id", BOGUS_ID, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "aborted" not in result.stdout
    [line] = cli_errors(result.stderr)
    assert BOGUS_ID in line and "NoSuchUpload" in line and "Nothing was aborted" in line
    # the real upload of the same key is untouched
    assert [u.upload_id for u in list_all_uploads(client, bucket)] == [real]
    ok = run_cli("uploads", "abort", f"oss://{bucket}/k.bin", "--upload-id", real, env=env)
    assert ok.returncode == 0, ok.stderr
    assert f"aborted {real}" in ok.stdout
    again = run_cli("uploads", "abort", f"oss://{bucket}/k.bin", "--upload-id", real, env=env)
    assert again.returncode == 1 and "NoSuchUpload" in again.stderr


def test_session_abort_of_a_wrongly_adopted_id_raises(
    client: Client, bucket: str, work_dir: Path, scenario: Scenario
) -> None:
    scenario("truth: abort() of a session adopted by a wrong upload ID fails")
    path = work_dir / "a.bin"
    make_file(path, 2 * PART, seed=91)
    session = UploadSession.adopt(client, path, bucket, "a.bin", BOGUS_ID, part_size=PART)
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
    with CliProcess(server, *command) as process:
        wait_for(lambda: "on CompleteMultipartUpload" in server.log(), 30, "Complete to be sent")
        process.process.send_signal(signal.SIGINT)
        result = process.finish(timeout=30)
    assert result.returncode == 130, result.stdout + result.stderr
    [line] = cli_errors(result.stderr)
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
    with CliProcess(server, *command, "--workers", "1") as first:
        upload_id = wait_for_parts(client, "race", "r.bin", 2)
        second = run_cli(
            *command,
            "--upload-id",
            upload_id,
            "--no-checkpoint",
            "--workers",
            "11",
            env=server_env(server),
        )
        assert second.returncode == 0, second.stdout + second.stderr
        result = first.finish()
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = cli_errors(result.stderr)
    assert "NoSuchUpload" in line and "is kept on the server" not in line, line
    assert f"upload ID {upload_id} is no longer on the server" in line, line
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
    [line] = cli_errors(result.stderr)
    [upload] = list_all_uploads(client, "kept")
    held = len(client.execute(ListParts("kept", "k.bin", upload.upload_id)).parts)
    assert f"upload ID {upload.upload_id} is kept on the server with {held} part(s)" in line, line
    assert "run the same command again to resume" in line
