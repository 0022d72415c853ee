"""What the CLI and the session say is true (issue 11, items 8 and 9).

An explicit abort of an upload the server does not know is an error, not a success;
two processes driving one checkpoint cannot both run; an upload completed while the
CLI was interrupted is recognised on the next run, not uploaded again; and a failure
says whether the upload is really kept on the server, as the server answers.
Everything runs against a real ``ossnb serve`` and, for the CLI, real subprocesses.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ServerHandle
from reliability_ledger import scenario_fixture  # noqa: F401 - fixture
from session_fixtures import PART, make_client, make_file, run_cli, server_env

from ossnb.protocol.errors import NoSuchUpload
from ossnb.protocol.operations import InitiateMultipartUpload, PutBucket
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
