"""``ossnb serve`` as an operator runs it: its secret, its logs, its disk.

* The secret can come from a file or the environment, so it is not in ``ps``.
* ``--verbose`` logs (request lines, errors, tracebacks) never hold an STS token or a
  signature, however it was sent (V1 or V4 presigned URL, percent-encoded names).
* A full data disk is answered with an error that says so, which the client does not
  retry and whose hint does not advise retrying.
"""

from __future__ import annotations

import http.client
import os
import secrets
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import oss2
import pytest
from conftest import Factory, ServerHandle, Transcript
from reliability_ledger import Scenario, scenario_fixture  # noqa: F401 - fixture
from session_fixtures import (
    CLI,
    KiB,
    MiB,
    make_client,
    make_file,
    server_env,
    subprocess_env,
    wait_for,
)
from test_reliability_input import mounted_fixture  # noqa: F401 - fixture

from ossnb.protocol.errors import ServiceError, is_storage_full, is_transient
from ossnb.protocol.http import Request, encode_query
from ossnb.protocol.operations import PutBucket, PutObject
from ossnb.protocol.signing import Credentials, presign_v1, presign_v4, sign_v4


def _cmdline(server: ServerHandle) -> str:
    assert server.process is not None
    return Path(f"/proc/{server.process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _works_with(server: ServerHandle, key_id: str, secret: str) -> bool:
    bucket = oss2.Bucket(
        oss2.AuthV4(key_id, secret), server.endpoint, "from-elsewhere", region=server.region
    )
    try:
        bucket.create_bucket()
        return True
    except oss2.exceptions.ServerError as exc:
        assert exc.status == 403, exc
        return False


@pytest.mark.parametrize("source", ["file", "environment"])
def test_the_secret_can_come_from_a_file_or_the_environment(
    server_factory: Factory,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    scenario("serve: the emulator's secret from a file or the environment, never in ps")
    secret = "sec-" + secrets.token_urlsafe(24)
    if source == "file":
        path = tmp_path / "secret.txt"
        path.write_text(secret + "\n")
        path.chmod(0o600)
        server = server_factory(
            "--access-key-id", "LTAIfromfile", "--access-key-secret-file", str(path)
        )
        key_id = "LTAIfromfile"
    else:
        monkeypatch.setenv("OSSNB_EMULATOR_ACCESS_KEY_ID", "LTAIfromenv")
        monkeypatch.setenv("OSSNB_EMULATOR_ACCESS_KEY_SECRET", secret)
        server = server_factory()
        key_id = "LTAIfromenv"
    assert secret not in _cmdline(server)
    assert key_id in "\n".join(server.banner)
    shown = next(line for line in server.banner if "access key secret" in line)
    assert shown.split()[3] == "********", "no character of the secret, nor its length"
    assert not _works_with(server, key_id, "ossnb-dev-secret")
    assert _works_with(server, key_id, secret)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--access-key-secret-file", "{missing}"], {}, "cannot read"),
        (["--access-key-id", "AK", "--access-key-secret-file", "{empty}"], {}, "is empty"),
        ([], {"OSSNB_EMULATOR_ACCESS_KEY_SECRET": "s3cr3t-value"}, "--access-key-id"),
        (["--access-key-id", "AK"], {}, "needs its secret"),
        (
            ["--access-key-id", "AK", "--access-key-secret", "s3cr3t-value"],
            {},
            None,  # still works (and warns in --help that ps shows it)
        ),
    ],
    ids=["unreadable file", "empty file", "secret without key id", "key id alone", "flag"],
)
def test_a_wrong_secret_source_is_one_line_that_never_echoes_it(
    scenario: Scenario, tmp_path: Path, args: list[str], env: dict[str, str], expected: str | None
) -> None:
    scenario("serve: the emulator's secret from a file or the environment, never in ps")
    (tmp_path / "empty").write_text("\n")
    names = {"missing": str(tmp_path / "nope"), "empty": str(tmp_path / "empty")}
    argv = [a.format(**names) for a in args]
    if expected is None:
        argv.append("--help")  # parse the options only: serving is covered above
    result = subprocess.run(
        [*CLI, "serve", "--data-dir", str(tmp_path / "d"), "--port", "0", *argv],
        env={**subprocess_env(), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    if expected is None:
        assert result.returncode == 0 and "ps" in result.stdout, result
        return
    lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 2 and len(lines) == 1 and expected in lines[0], result.stderr
    assert "s3cr3t-value" not in result.stderr + result.stdout


def test_verbose_logs_never_hold_tokens_or_signatures(
    server_factory: Factory, scenario: Scenario
) -> None:
    """Presigned V1 (``security-token``) and V4 (``x-oss-security-token``) URLs, names
    percent-encoded or not, answered normally or with an internal error (traceback)."""
    scenario("serve: --verbose logs mask STS tokens and signatures")
    server = server_factory("--verbose")
    token = "CAIS+/tok=" + secrets.token_urlsafe(40)
    sts = Credentials(server.access_key_id, server.access_key_secret, token)
    make_client(server).execute(PutBucket("logs"))
    make_client(server).execute(PutObject("logs", "k", b"data"))
    now = datetime.now(timezone.utc)
    sent: list[str] = []

    def send(method: str, request: Request, body: bytes = b"") -> int:
        target = request.path + "?" + encode_query(request.query)
        if len(sent) in (1, 2):  # the V4 URL and the second V1 URL: names percent-encoded
            target = target.replace("security-token=", "security%2Dtoken=")
        sent.append(target)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request(method, target, body=body or None, headers=dict(request.headers))
        status = conn.getresponse().status
        conn.close()
        return status

    get = Request("GET", "logs", "k")
    assert send("GET", presign_v1(get, sts, now + timedelta(minutes=5)).request) == 200
    assert send("GET", presign_v4(get, sts, server.region, now, 300).request) == 200
    assert send("GET", presign_v1(get, sts, now + timedelta(minutes=5)).request) == 200
    assert send("GET", sign_v4(get, sts, server.region, now).request) == 200
    # A real internal error: the blobs' folder replaced by a file.
    blobs = server.data_dir / "blobs"
    aside = blobs.rename(server.data_dir / "blobs-aside")
    blobs.write_text("not a folder")
    try:
        put = Request("PUT", "logs", "k2", (), {"content-type": "text/plain"})
        status = send("PUT", presign_v1(put, sts, now + timedelta(minutes=5)).request, b"x")
        assert status == 500
    finally:
        blobs.unlink()
        aside.rename(blobs)
    wait_for(lambda: "-> 500" in server.log(), 5, "the 500's request line")  # after the answer
    log = server.log()
    assert "Traceback" in log and log.count("token=****") >= 5, log[-3000:]
    needles = [token, quote(token, safe=""), quote(token), token[10:30]]
    for target in sent:
        for name in ("Signature=", "x-oss-signature="):
            if name in target:
                needles.append(target.split(name, 1)[1].split("&", 1)[0])
    leaked = [needle for needle in needles if needle in log]
    assert not leaked, leaked


def test_a_full_data_disk_says_so_and_is_not_retried(
    server_factory: Factory,
    mounted: Callable[[str], Path],
    work_dir: Path,
    scenario: Scenario,
) -> None:
    scenario("serve: a full data disk is reported as full, not retried")
    disk = mounted("size=2m")
    server = server_factory("--bucket", "full", data_dir=disk)
    client = make_client(server)
    transcript = Transcript()
    client.add_listener(transcript)
    with pytest.raises(ServiceError) as failed:
        client.execute(PutObject("full", "big", os.urandom(3 * MiB)))
    error = failed.value
    assert error.status == 500 and is_storage_full(error) and not is_transient(error)
    assert "full" in str(error) and "retrying usually helps" not in error.hint
    assert "free space" in error.hint
    assert len(transcript.of("PutObject")) == 1, "a full disk is not retried"
    # The CLI says it in one line, without advising a retry.
    path = work_dir / "f.bin"
    make_file(path, 3 * MiB, seed=3)
    result = subprocess.run(
        [*CLI, "upload", str(path), "oss://full/f.bin", "--part-size", str(100 * KiB)],
        env=server_env(server),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result
    assert "storage is full" in result.stderr and "retrying usually helps" not in result.stderr
    # SQLite's own "database or disk is full": a bucket on a disk filled to the last byte.
    filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(filler, bytes(64 * KiB))
    except OSError:
        pass
    finally:
        os.close(filler)
    with pytest.raises(ServiceError) as again:
        client.execute(PutBucket("another"))
    assert is_storage_full(again.value), again.value
    assert "Traceback" not in server.log(), server.log()[-3000:]
