"""Faults survived, end to end through :class:`UploadSession` (issue: "Faults").

Each upload runs against a real ``ossnb serve`` with faults armed on its command line;
afterwards the object must equal the source (MD5 read back by oss2, CRC-64 from a HEAD)
and ListMultipartUploads must show nothing left behind. Client-level retries of the same
faults are covered by ``tests/test_client_faults.py``; SIGKILL of the CLI by
``tests/test_cli_upload.py``; pause/abort by ``tests/test_session_control.py``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import Factory, ServerHandle
from reliability_ledger import Scenario, scenario_fixture  # noqa: F401 - fixture
from session_fixtures import (
    PART,
    MiB,
    make_client,
    make_file,
    sdk_read,
    server_env,
    server_with_faults,
    wait_for,
)

from ossnb.client.client import Client
from ossnb.protocol.checksums import crc64
from ossnb.protocol.errors import OssError
from ossnb.protocol.operations import HeadObject, ListParts, PutBucket
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.session import UploadSession

BUCKET = "rel"


def assert_intact(server: ServerHandle, client: Client, bucket: str, key: str, data: bytes) -> None:
    """Byte-identical (MD5 of what oss2 reads, CRC-64 the server reports) and no leftovers."""
    got = sdk_read(server, bucket, key)
    assert len(got) == len(data)
    assert hashlib.md5(got).hexdigest() == hashlib.md5(data).hexdigest()
    assert client.execute(HeadObject(bucket, key)).crc64 == crc64(data)
    assert list_all_uploads(client, bucket) == []


FAULTS = [
    ("500 on the 3rd UploadPart", "UploadPart@3=error:500", "UploadPart", 500),
    (
        "503 on the 3rd UploadPart (twice)",
        "UploadPart@3x2=error:503:ServiceUnavailable",
        "UploadPart",
        503,
    ),
    ("500 on Complete", "CompleteMultipartUpload@1=error:500", "CompleteMultipartUpload", 500),
    (
        "503 on Complete (twice)",
        "CompleteMultipartUpload@1x2=error:503:ServiceUnavailable",
        "CompleteMultipartUpload",
        503,
    ),
    ("connection reset mid-body", "UploadPart@2=drop", "UploadPart", None),
]


@pytest.mark.parametrize(
    ("name", "fault", "operation", "status"), FAULTS, ids=[f[0] for f in FAULTS]
)
def test_a_fault_is_survived_and_the_object_is_intact(
    server_factory: Factory,
    work_dir: Path,
    scenario: Scenario,
    name: str,
    fault: str,
    operation: str,
    status: int | None,
) -> None:
    scenario(f"fault: {name}")
    server, client = server_with_faults(server_factory, BUCKET, fault)
    path = work_dir / "f.bin"
    data = make_file(path, MiB + 17, seed=3)
    session = UploadSession(client, path, BUCKET, "f.bin", part_size=PART, workers=2)
    session.start()
    receipt = session.wait(60)
    assert receipt.verified and receipt.size == len(data)
    failed = [e for e in session.transcript() if e.operation == operation and e.status != 200]
    assert failed, f"the fault {fault} never fired"
    if status is not None:
        assert {e.status for e in failed} == {status}
    assert_intact(server, client, BUCKET, "f.bin", data)
    assert not session.checkpoint_path or not session.checkpoint_path.exists()


def test_a_stall_past_the_timeout_is_survived(
    server_factory: Factory, work_dir: Path, scenario: Scenario
) -> None:
    scenario("fault: server stalls past the timeout")
    server, _ = server_with_faults(server_factory, BUCKET, "UploadPart@2=delay:2")
    client = make_client(server, timeout=0.5)
    path = work_dir / "stall.bin"
    data = make_file(path, 5 * PART + 3, seed=4)
    session = UploadSession(client, path, BUCKET, "stall.bin", part_size=PART, workers=2)
    started = time.monotonic()
    session.start()
    session.wait(30)
    assert time.monotonic() - started < 10
    errors = [e.error for e in session.transcript() if e.operation == "UploadPart" and e.error]
    assert errors, "the stalled request was not seen to fail"
    assert_intact(server, client, BUCKET, "stall.bin", data)


def test_the_emulator_restarted_mid_upload(
    server_factory: Factory, work_dir: Path, scenario: Scenario
) -> None:
    """Restart while parts are in flight: the upload finishes, or a second start() does."""
    scenario("fault: emulator restarted mid-upload")
    server, client = server_with_faults(server_factory, BUCKET, "UploadPart@1x1000=delay:0.1")
    path = work_dir / "restart.bin"
    data = make_file(path, MiB + 17, seed=5)
    session = UploadSession(client, path, BUCKET, "restart.bin", part_size=PART, workers=2)
    session.start()
    upload_id = session.upload_id
    wait_for(lambda: session.row(3).state.value == "done", 20, "three parts")
    server.restart(["--bucket", BUCKET])  # same port and data dir, no more delays
    try:
        receipt = session.wait(60)
    except OssError:  # connection refused for longer than the retries: resumable
        session.start()
        receipt = session.wait(60)
    assert receipt.verified and receipt.upload_id == (upload_id or session.upload_id)
    assert_intact(server, client, BUCKET, "restart.bin", data)


def test_many_concurrent_sessions_against_one_emulator(
    server: ServerHandle, work_dir: Path, scenario: Scenario, bucket_name: str
) -> None:
    scenario("fault: 8 sessions x 4 workers on one emulator")
    client = make_client(server, max_connections=64)
    client.execute(PutBucket(bucket_name))
    sources = {
        f"c{i}.bin": make_file(work_dir / f"c{i}.bin", 8 * PART + i, seed=10 + i) for i in range(8)
    }
    sessions = [
        UploadSession(client, work_dir / key, bucket_name, key, part_size=PART, workers=4)
        for key in sources
    ]
    for session in sessions:
        session.start()
    receipts = [s.wait(90) for s in sessions]
    assert all(r.verified for r in receipts)
    assert len({r.upload_id for r in receipts}) == 8
    for key, data in sources.items():
        got = sdk_read(server, bucket_name, key)
        assert hashlib.md5(got).digest() == hashlib.md5(data).digest()
        assert client.execute(HeadObject(bucket_name, key)).crc64 == crc64(data)
    assert list_all_uploads(client, bucket_name) == []


_SCRIPT = textwrap.dedent(
    """
    import sys
    from ossnb.client.client import Client
    from ossnb.protocol.signing import Credentials
    from ossnb.upload.session import UploadSession
    endpoint, region, key_id, secret, path = sys.argv[1:6]
    client = Client(endpoint, Credentials(key_id, secret), region=region)
    session = UploadSession(client, path, "rel", "kill.bin", part_size=102400, workers=1)
    session.start()
    print("UPLOAD", session.upload_id, flush=True)
    session.wait(120)
    print("DONE", flush=True)
    """
)


def test_a_python_process_sigkilled_mid_upload_resumes(
    server_factory: Factory, work_dir: Path, scenario: Scenario
) -> None:
    """The library (not the CLI, see test_cli_upload.py) killed with SIGKILL, run again."""
    scenario("fault: uploading process SIGKILLed and run again")
    server, client = server_with_faults(server_factory, BUCKET, "UploadPart@1x1000=delay:0.1")
    path = work_dir / "kill.bin"
    data = make_file(path, MiB + 17, seed=6)
    argv = [
        server.endpoint,
        server.region,
        server.access_key_id,
        server.access_key_secret,
        str(path),
    ]
    process = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, *argv], stdout=subprocess.PIPE, text=True
    )
    try:
        (upload,) = _wait_uploads(client, 1)
        wait_for(lambda: _parts(client, "kill.bin", upload) >= 3, 30, "three parts")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL
    held = _parts(client, "kill.bin", upload)
    assert 3 <= held < 11

    session = UploadSession(client, path, BUCKET, "kill.bin")
    assert session.upload_id == upload
    session.start()
    receipt = session.wait(60)
    assert receipt.upload_id == upload and receipt.verified
    sent = [e for e in session.transcript() if e.operation == "UploadPart" and e.status == 200]
    assert len(sent) <= 11 - held + 1  # reused parts are not sent again (one may be in flight)
    assert sum(p.reused for p in receipt.parts) >= held - 1
    assert_intact(server, client, BUCKET, "kill.bin", data)


def _wait_uploads(client: Client, count: int) -> list[str]:
    found: list[str] = []

    def ready() -> bool:
        found[:] = [u.upload_id for u in list_all_uploads(client, BUCKET)]
        return len(found) >= count

    wait_for(ready, 30, "an upload to begin")
    return found


def _parts(client: Client, key: str, upload_id: str) -> int:
    return len(client.execute(ListParts(BUCKET, key, upload_id)).parts)


_KERNEL_CODE = textwrap.dedent(
    """
    import ossnb
    session = ossnb.upload_session({path!r}, "oss://rel/kernel.bin", part_size="100KiB", workers=1)
    print("UPLOAD", session.upload_id)
    session.start()
    receipt = session.wait(120)
    print("RESULT", receipt.upload_id, receipt.verified, sum(p.reused for p in receipt.parts))
    """
)


def test_a_kernel_restarted_mid_upload_resumes(
    server_factory: Factory, work_dir: Path, scenario: Scenario
) -> None:
    scenario("fault: notebook kernel restarted mid-upload, upload resumed")
    from jupyter_client.manager import KernelManager

    server, client = server_with_faults(server_factory, BUCKET, "UploadPart@1x1000=delay:0.1")
    path = work_dir / "kernel.bin"
    data = make_file(path, MiB + 17, seed=7)
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=server_env(server), cwd=str(work_dir))
    try:
        kc = manager.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        kc.execute(_KERNEL_CODE.format(path=str(path)))
        (upload,) = _wait_uploads(client, 1)
        wait_for(lambda: _parts(client, "kernel.bin", upload) >= 3, 30, "three parts")
        manager.restart_kernel(now=True)
        kc.wait_for_ready(timeout=60)
        held = _parts(client, "kernel.bin", upload)
        assert held < 11, "the upload finished before the restart"
        output: list[str] = []

        def collect(msg: dict[str, object]) -> None:
            content = msg.get("content")
            if isinstance(content, dict) and "text" in content:
                output.append(str(content["text"]))

        reply = kc.execute_interactive(
            _KERNEL_CODE.format(path=str(path)), timeout=90, output_hook=collect
        )
        assert reply["content"]["status"] == "ok", "".join(output)
        text = "".join(output)
        assert f"RESULT {upload} True" in text, text
        reused = int(text.split(f"RESULT {upload} True ")[1].split()[0])
        assert reused >= held - 1 and reused >= 2
        kc.stop_channels()
    finally:
        manager.shutdown_kernel(now=True)
    assert_intact(server, client, BUCKET, "kernel.bin", data)
