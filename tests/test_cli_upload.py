"""``ossnb upload`` and ``ossnb demo`` as a user runs them: subprocesses, real signals.

Interrupted (SIGKILL, SIGINT, SIGTERM) or crashed, the same command resumes; exit
status 0 only for a verified object; failures are one ``ossnb: error:`` line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from conftest import Factory, ServerHandle
from session_fixtures import (
    CLI,
    MiB,
    cli_errors,
    make_client,
    make_file,
    run_cli,
    sdk_read,
    sdk_read_at,
    server_env,
    subprocess_env,
    wait_for,
)

from ossnb.client.client import Client
from ossnb.emulator import DEV_ACCESS_KEY_SECRET, Emulator
from ossnb.protocol.operations import PutBucket
from ossnb.upload.listing import list_all_parts, list_all_uploads

CHECKPOINT = ".ossnb-checkpoint.json"


def _parts_on_server(client: Client, bucket: str, key: str) -> int:
    uploads = [u for u in list_all_uploads(client, bucket) if u.key == key]
    if not uploads:
        return 0
    return len(list_all_parts(client, bucket, key, uploads[0].upload_id))


def test_upload_with_the_embedded_emulator(tmp_path: Path) -> None:
    data = make_file(tmp_path / "big.bin", 3 * MiB + 1, seed=21)
    env = subprocess_env()
    result = run_cli(
        "upload",
        "big.bin",
        "oss://cli-embedded/dir/big.bin",
        "--part-size",
        "512KiB",
        "--receipt",
        "receipt.json",
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "embedded emulator" in out and "7 part(s) of 512.0 KiB" in out
    assert "initiated upload ID" in out and "verified: ETag" in out
    assert out.count('"') >= 2 * 8, "the part table shows every part's ETag"
    assert "%|" in result.stderr, "a tqdm progress bar on stderr"
    finished = [line for line in result.stderr.replace("\r", "\n").splitlines() if "100%|" in line]
    assert len(finished) == 1, f"the finished bar is drawn once, not {len(finished)} times"
    assert DEV_ACCESS_KEY_SECRET not in out + result.stderr
    assert not (tmp_path / ("big.bin" + CHECKPOINT)).exists()
    assert (tmp_path / "receipt.json").exists()
    with Emulator(tmp_path / ".ossnb" / "emulator").start() as emulator:  # its data survived
        assert sdk_read_at(emulator.endpoint, "cli-embedded", "dir/big.bin") == data


def _slow_server(factory: Factory) -> tuple[ServerHandle, Client]:
    server = factory("--fault", "UploadPart@3x1000=delay:0.25", "--bucket", "cli")
    return server, make_client(server)


def _start_upload(path: Path, server: ServerHandle) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "upload", str(path), "oss://cli/f.bin", "--part-size", "100KiB", "--workers", "1"],
        env=server_env(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_and_resume_with_the_same_command(server_factory: Factory, work_dir: Path) -> None:
    server, client = _slow_server(server_factory)
    path = work_dir / "f.bin"
    data = make_file(path, MiB + 17, seed=22)
    process = _start_upload(path, server)
    try:
        wait_for(lambda: _parts_on_server(client, "cli", "f.bin") >= 3, 30, "three parts")
    finally:
        process.kill()  # SIGKILL: no clean-up of any kind
        process.communicate(timeout=10)
    assert (work_dir / ("f.bin" + CHECKPOINT)).exists()
    (upload,) = list_all_uploads(client, "cli")

    result = run_cli(
        "upload",
        str(path),
        "oss://cli/f.bin",
        "--part-size",
        "100KiB",
        "--workers",
        "1",
        env=server_env(server),
    )
    assert result.returncode == 0, result.stderr
    assert f"resuming upload ID {upload.upload_id}" in result.stdout
    assert "part(s) reused after a CRC-64 check" in result.stdout
    assert sdk_read(server, "cli", "f.bin") == data
    assert list_all_uploads(client, "cli") == []
    assert not (work_dir / ("f.bin" + CHECKPOINT)).exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_pauses_keeps_and_says_how_to_resume(
    server_factory: Factory, work_dir: Path, signum: int
) -> None:
    server, client = _slow_server(server_factory)
    path = work_dir / "f.bin"
    data = make_file(path, MiB, seed=23)
    process = _start_upload(path, server)
    wait_for(lambda: _parts_on_server(client, "cli", "f.bin") >= 3, 30, "three parts")
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr
    (line,) = cli_errors(stderr)
    assert "interrupted; upload ID" in line and "run the same command to resume" in line
    assert "ossnb uploads abort oss://cli/f.bin --upload-id" in line
    assert '"paused"' in (work_dir / ("f.bin" + CHECKPOINT)).read_text()
    result = run_cli("upload", str(path), "oss://cli/f.bin", env=server_env(server))
    assert result.returncode == 0, result.stderr
    assert sdk_read(server, "cli", "f.bin") == data


CRASH = textwrap.dedent(
    """
    import os
    from ossnb.connect import upload_session
    session = upload_session("f.bin", "oss://crash/f.bin", part_size=102400)
    print(session.initiate(), flush=True)
    session.upload_part(1)
    session.upload_part(2)
    os._exit(3)  # a crash: no abort, no clean-up, the embedded emulator dies with us
    """
)


def test_resume_after_a_crash_on_the_embedded_emulator(tmp_path: Path) -> None:
    data = make_file(tmp_path / "f.bin", 5 * 102400 + 9, seed=24)
    env = subprocess_env()
    crashed = subprocess.run(
        [CLI[0], "-c", CRASH], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert crashed.returncode == 3, crashed.stderr
    upload_id = crashed.stdout.strip()

    stat = (tmp_path / "f.bin").stat()
    (tmp_path / "f.bin").write_bytes(data[::-1])
    changed = run_cli("upload", "f.bin", "oss://crash/f.bin", env=env, cwd=tmp_path)
    assert changed.returncode == 1
    (line,) = cli_errors(changed.stderr)
    assert "changed since upload" in line and upload_id in line
    (tmp_path / "f.bin").write_bytes(data)
    os.utime(tmp_path / "f.bin", ns=(stat.st_atime_ns, stat.st_mtime_ns))

    result = run_cli("upload", "f.bin", "oss://crash/f.bin", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"resuming upload ID {upload_id}" in result.stdout, "another port, the same upload"
    assert "2 part(s) reused" in result.stdout
    with Emulator(tmp_path / ".ossnb" / "emulator").start() as emulator:
        assert sdk_read_at(emulator.endpoint, "crash", "f.bin") == data


def test_failures_are_one_clear_line(server: ServerHandle, work_dir: Path) -> None:
    path = work_dir / "f.bin"
    make_file(path, 1000, seed=25)
    env = server_env(server)
    cases = [
        (("upload", str(path), "s3://b/k"), 2, "expected oss://BUCKET/KEY"),
        (("upload", str(work_dir / "nope"), "oss://cli-fail/k"), 2, "no such file"),
        (("upload", str(path), "oss://cli-fail/k", "--part-size", "1KiB"), 2, "below the minimum"),
        (("upload", str(path), "oss://no-such-bucket-x/k"), 1, "NoSuchBucket"),
    ]
    for args, status, message in cases:
        result = run_cli(*args, env=env)
        assert result.returncode == status, (args, result.stderr)
        (line,) = cli_errors(result.stderr)
        assert message in line, line
    with make_client(server) as client:  # on a missing bucket OSS says NoSuchBucket first
        client.execute(PutBucket("cli-fail"))
    wrong = dict(env, OSS_ACCESS_KEY_SECRET="not-the-secret")
    result = run_cli("upload", str(path), "oss://cli-fail/k", env=wrong)
    assert result.returncode == 1
    (line,) = cli_errors(result.stderr)
    assert "SignatureDoesNotMatch" in line and "Check OSS_ACCESS_KEY_SECRET" in line
    assert "not-the-secret" not in result.stdout + result.stderr
    both = run_cli(
        "upload", str(path), "oss://b/k", "--checkpoint", "x", "--no-checkpoint", env=env
    )
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_demo_walks_the_three_steps(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_cli(
        "demo", "--size", "3MiB", "--part-size", "1MiB", env=subprocess_env(), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in (
        "OSS emulator: http://127.0.0.1:",
        "Step 1 - InitiateMultipartUpload",
        "upload ID: ",
        "Step 2 - UploadPart x 3",
        "Step 3 - CompleteMultipartUpload",
        "verified: ETag",
        "identical bytes",
    ):
        assert text in out, text
    assert out.index("Step 1") < out.index("Step 2") < out.index("Step 3")
    assert time.monotonic() - started < 30
