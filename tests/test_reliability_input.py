"""Bad input: each a clear one-line error, and nothing lost or half-done (issue: "Bad input").

The CLI cases run ``ossnb upload`` in a subprocess and require exactly one
``ossnb: error:`` line naming the problem; afterwards the bucket holds no unfinished
upload and no object, and no checkpoint was left behind. Library cases check the
exception and the server's state. Existing coverage reused (not repeated): the CLI's
``s3://`` URL, 1 KiB part size, NoSuchBucket and wrong-secret lines
(``test_cli_upload.py::test_failures_are_one_clear_line``); a source changed between
runs or during a run (``test_session_resume.py``); checkpoint files corrupt or foreign
(``test_checkpoint.py::test_corrupt_or_foreign_files_are_clear_errors``).
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Factory, ServerHandle
from reliability_ledger import Scenario, scenario_fixture  # noqa: F401 - fixture
from session_fixtures import (
    CLI,
    PART,
    CliProcess,
    MiB,
    cli_errors,
    make_client,
    make_file,
    run_cli,
    sdk_read,
    server_env,
    subprocess_env,
    wait_for_parts,
)

from ossnb.client.client import Client
from ossnb.protocol.errors import NoSuchUpload, OssError, UsageError
from ossnb.protocol.operations import (
    AbortMultipartUpload,
    CompleteMultipartUpload,
    InitiateMultipartUpload,
    ListObjectsV2,
    PutBucket,
)
from ossnb.protocol.parts import Limits
from ossnb.upload.checkpoint import CheckpointError
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.session import UploadSession

CHECKPOINT = ".ossnb-checkpoint.json"


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = cli_errors(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return lines[0]


def _nothing_left(client: Client, bucket: str) -> None:
    assert list_all_uploads(client, bucket) == []
    assert client.execute(ListObjectsV2(bucket)).objects == []


@pytest.fixture(name="target")
def target_fixture(server: ServerHandle, bucket_name: str) -> tuple[ServerHandle, Client, str]:
    client = make_client(server)
    client.execute(PutBucket(bucket_name))
    return server, client, bucket_name


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


SOURCES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("missing source", lambda d: d / "nope.bin", "no such file"),
    ("directory source", lambda d: d, "is a directory"),
    ("FIFO source", lambda d: _fifo(d / "pipe"), "not a regular file"),
    ("path through a file", lambda d: make_path(d / "file.bin") / "x", "cannot open"),
]


def make_path(path: Path) -> Path:
    path.write_bytes(b"x")
    return path


@pytest.mark.parametrize(("name", "build", "message"), SOURCES, ids=[s[0] for s in SOURCES])
def test_bad_sources_are_one_line(
    target: tuple[ServerHandle, Client, str],
    work_dir: Path,
    scenario: Scenario,
    name: str,
    build: Callable[[Path], Path],
    message: str,
) -> None:
    scenario(f"input: {name}")
    server, client, bucket = target
    source = build(work_dir)
    result = run_cli("upload", str(source), f"oss://{bucket}/k.bin", env=server_env(server))
    assert result.returncode == 2
    assert message in _error_line(result)
    _nothing_left(client, bucket)
    assert not list(work_dir.glob("*" + CHECKPOINT))


def test_an_unreadable_source_is_one_line(
    target: tuple[ServerHandle, Client, str], work_dir: Path, scenario: Scenario
) -> None:
    scenario("input: unreadable source")
    server, client, bucket = target
    path = work_dir / "secret.bin"
    make_file(path, 1000)
    path.chmod(0)
    # Root reads anything: drop the capabilities that let it (setpriv), as a user lacks them.
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    prefix = drop if os.geteuid() == 0 else []
    result = subprocess.run(
        [*prefix, *CLI, "upload", str(path), f"oss://{bucket}/k.bin", "--no-checkpoint"],
        env=server_env(server),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    line = _error_line(result)
    assert "cannot open" in line and "Permission denied" in line
    _nothing_left(client, bucket)


def test_a_zero_byte_file_uploads_as_an_empty_object(
    target: tuple[ServerHandle, Client, str], work_dir: Path, scenario: Scenario
) -> None:
    scenario("input: zero-byte file is an empty object")
    server, client, bucket = target
    path = work_dir / "empty.bin"
    path.write_bytes(b"")
    result = run_cli("upload", str(path), f"oss://{bucket}/empty.bin", env=server_env(server))
    assert result.returncode == 0, result.stderr
    assert sdk_read(server, bucket, "empty.bin") == b""
    assert list_all_uploads(client, bucket) == []


BAD_TARGETS = [
    ("part size too small", ("--part-size", "99KiB"), "oss://{b}/k", "below the minimum"),
    ("part size too large", ("--part-size", "6GiB"), "oss://{b}/k", "above the maximum"),
    ("bucket name too short", (), "oss://ab/k", "invalid bucket name"),
    ("bucket name upper case", (), "oss://Bucket-X/k", "invalid bucket name"),
    ("bucket name leading dash", (), "oss://-bucket/k", "invalid bucket name"),
    ("bucket name too long", (), "oss://" + "b" * 64 + "/k", "invalid bucket name"),
    ("key too long", (), "oss://{b}/" + "k" * 1024, "at most 1023"),
    ("key with leading slash", (), "oss://{b}//k", "starts with '/'"),
    ("key with a control character", (), "oss://{b}/a\tb", "control character U+0009"),
]


@pytest.mark.parametrize(
    ("name", "options", "url", "message"), BAD_TARGETS, ids=[t[0] for t in BAD_TARGETS]
)
def test_bad_part_sizes_buckets_and_keys_are_one_line(
    target: tuple[ServerHandle, Client, str],
    work_dir: Path,
    scenario: Scenario,
    name: str,
    options: tuple[str, ...],
    url: str,
    message: str,
) -> None:
    scenario(f"input: {name}")
    server, client, bucket = target
    path = work_dir / "f.bin"
    make_file(path, 3 * PART)
    result = run_cli("upload", str(path), url.format(b=bucket), *options, env=server_env(server))
    assert result.returncode == 2, result.stderr
    assert message in _error_line(result)
    _nothing_left(client, bucket)
    assert not list(work_dir.glob("*" + CHECKPOINT))


def test_more_than_10000_parts_grows_the_part_size_or_is_refused(
    client: Client, work_dir: Path, scenario: Scenario
) -> None:
    scenario("input: file needing more than 10,000 parts")
    path = work_dir / "sparse.bin"
    with path.open("wb") as handle:
        handle.truncate(10_001 * PART)  # sparse: nothing written
    session = UploadSession(client, path, "never-used", "k", part_size=PART, checkpoint=None)
    assert session.plan.part_count <= 10_000 and session.plan.part_size > PART
    tight = Limits(max_parts=10_000, max_part_size=PART)
    with pytest.raises(UsageError, match="more than 10000 parts"):
        UploadSession(client, path, "never-used", "k", part_size=PART, limits=tight)
    assert not list(work_dir.glob("*" + CHECKPOINT))


@pytest.fixture(name="client")
def client_fixture(server: ServerHandle) -> Iterator[Client]:
    with make_client(server) as c:
        yield c


def test_missing_and_wrong_credentials_are_one_line(
    target: tuple[ServerHandle, Client, str], work_dir: Path, scenario: Scenario
) -> None:
    scenario("input: missing credentials")
    scenario("input: wrong access key id")
    server, client, bucket = target
    path = work_dir / "f.bin"
    make_file(path, 1000)
    env = server_env(server)
    missing = {k: v for k, v in env.items() if not k.startswith("OSS_ACCESS_KEY")}
    result = run_cli("upload", str(path), f"oss://{bucket}/k", env=missing)
    assert result.returncode == 2
    assert "no credentials" in _error_line(result)
    wrong_id = dict(env, OSS_ACCESS_KEY_ID="LTAInotakey")
    result = run_cli("upload", str(path), f"oss://{bucket}/k", env=wrong_id)
    assert result.returncode == 1
    assert "InvalidAccessKeyId" in _error_line(result)
    _nothing_left(client, bucket)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _NotOss(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b"<html><body>Welcome to nginx!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_endpoint_refusing_connections_or_not_oss_is_one_line(
    work_dir: Path, scenario: Scenario
) -> None:
    scenario("input: endpoint refuses connections")
    scenario("input: endpoint is not OSS")
    path = work_dir / "f.bin"
    make_file(path, 1000)
    env = subprocess_env()
    env.update(OSS_REGION="cn-hangzhou", OSS_ACCESS_KEY_ID="id", OSS_ACCESS_KEY_SECRET="s3cr3t")
    refused = dict(env, OSS_ENDPOINT=f"http://127.0.0.1:{_free_port()}")
    result = run_cli("upload", str(path), "oss://bkt/k", env=refused, timeout=60)
    assert result.returncode == 1
    line = _error_line(result)
    assert "refused" in line.lower() or "connect" in line.lower(), line

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotOss)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        not_oss = dict(env, OSS_ENDPOINT=f"http://127.0.0.1:{httpd.server_address[1]}")
        result = run_cli("upload", str(path), "oss://bkt/k", env=not_oss, timeout=60)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.returncode == 1, result.stderr
    line = _error_line(result)
    assert "s3cr3t" not in result.stderr + result.stdout
    assert "OSS" in line or "XML" in line or "response" in line.lower(), line


def test_complete_and_abort_misuse(
    target: tuple[ServerHandle, Client, str], work_dir: Path, scenario: Scenario
) -> None:
    scenario("input: complete with no parts")
    scenario("input: complete twice")
    scenario("input: complete after abort")
    scenario("input: abort twice")
    _, client, bucket = target
    path = work_dir / "f.bin"
    data = make_file(path, 2 * PART + 1, seed=8)

    # The session refuses misuse before anything is sent.
    session = UploadSession(client, path, bucket, "s.bin", part_size=PART)
    session.initiate()
    with pytest.raises(UsageError, match="3 of 3 part"):
        session.complete()
    first = session.abort()
    assert session.abort() == first  # idempotent
    with pytest.raises(UsageError, match="aborted"):
        session.complete()
    done = UploadSession(client, path, bucket, "d.bin", part_size=PART)
    done.start()
    receipt = done.wait(30)
    assert done.complete() == receipt  # complete twice: the same receipt, no second request
    with pytest.raises(UsageError, match="too late to abort"):
        done.abort()
    assert sdk_read_client(client, bucket, "d.bin") == data

    # The raw operations get OSS's errors from the emulator.
    upload = client.execute(InitiateMultipartUpload(bucket, "raw.bin")).upload_id
    with pytest.raises(UsageError, match="at least one part"):
        client.execute(CompleteMultipartUpload(bucket, "raw.bin", upload, []))
    client.execute(AbortMultipartUpload(bucket, "raw.bin", upload))
    with pytest.raises(NoSuchUpload):
        client.execute(AbortMultipartUpload(bucket, "raw.bin", upload))
    with pytest.raises(NoSuchUpload):
        client.execute(CompleteMultipartUpload(bucket, "raw.bin", upload, [(1, '"x"')]))
    assert list_all_uploads(client, bucket) == []


def sdk_read_client(client: Client, bucket: str, key: str) -> bytes:
    from ossnb.protocol.operations import GetObject

    return client.execute(GetObject(bucket, key)).body


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("corrupt checkpoint", "{not json", "not valid JSON"),
        ("foreign checkpoint", '{"hello": "world"}', "not an ossnb upload checkpoint"),
    ],
)
def test_a_corrupt_or_foreign_checkpoint_is_one_line_and_kept(
    target: tuple[ServerHandle, Client, str],
    work_dir: Path,
    scenario: Scenario,
    name: str,
    text: str,
    message: str,
) -> None:
    scenario(f"input: {name}")
    server, client, bucket = target
    path = work_dir / "f.bin"
    make_file(path, 1000)
    checkpoint = work_dir / ("f.bin" + CHECKPOINT)
    checkpoint.write_text(text)
    result = run_cli("upload", str(path), f"oss://{bucket}/k", env=server_env(server))
    assert result.returncode == 2, result.stderr
    assert message in _error_line(result)
    assert checkpoint.read_text() == text, "the user's file must not be overwritten"
    _nothing_left(client, bucket)
    with pytest.raises(CheckpointError):
        UploadSession(client, path, bucket, "k")


@pytest.fixture(name="mounted")
def mounted_fixture(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """``mount("size=2m")`` mounts a tmpfs; it fails loudly (never skips) when it cannot."""
    mounts: list[Path] = []

    def mount(options: str) -> Path:
        point = tmp_path / f"mnt{len(mounts)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"cannot mount a tmpfs (needs root): {done.stderr}"
        mounts.append(point)
        return point

    yield mount
    for point in reversed(mounts):
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_full_data_folder_fails_cleanly(
    server_factory: Factory, mounted: Callable[[str], Path], work_dir: Path, scenario: Scenario
) -> None:
    scenario("input: emulator data folder full")
    disk = mounted("size=2m")
    server = server_factory("--bucket", "full", data_dir=disk)
    client = make_client(server)
    path = work_dir / "big.bin"
    make_file(path, 3 * MiB, seed=9)
    session = UploadSession(client, path, "full", "big.bin", part_size=PART, workers=2)
    session.start()
    with pytest.raises(OssError) as failed:
        session.wait(60)
    text = str(failed.value)
    assert "\n" not in text and ("space" in text.lower() or "InternalError" in text), text
    session.abort()
    assert list_all_uploads(client, "full") == []
    # Space is given back: a small upload works afterwards, and the server still runs.
    small = work_dir / "small.bin"
    data = make_file(small, PART + 5, seed=10)
    again = UploadSession(client, small, "full", "small.bin", part_size=PART)
    again.start()
    assert again.wait(30).verified
    assert sdk_read(server, "full", "small.bin") == data


def test_a_read_only_data_folder_is_refused_at_start_and_left_intact(
    server_factory: Factory, mounted: Callable[[str], Path], work_dir: Path, scenario: Scenario
) -> None:
    """A data folder holding an object, then mounted read-only: one line, nothing touched.

    (A folder cannot be remounted read-only under a running server: its files are open.)
    """
    scenario("input: emulator data folder read-only")
    disk = mounted("size=8m")
    server = server_factory("--bucket", "rofs", data_dir=disk)
    client = make_client(server)
    path = work_dir / "f.bin"
    data = make_file(path, PART + 1, seed=11)
    session = UploadSession(client, path, "rofs", "f.bin", part_size=PART)
    session.start()
    session.wait(30)
    server.stop()
    before = {p: p.read_bytes() for p in disk.rglob("*") if p.is_file()}
    remount = subprocess.run(
        ["mount", "-o", "remount,ro", str(disk)], capture_output=True, text=True
    )
    assert remount.returncode == 0, remount.stderr
    result = run_cli(
        "serve", "--data-dir", str(disk), "--port", "0", env=subprocess_env(), timeout=30
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Read-only file system" in lines[0], result.stderr
    assert {p: p.read_bytes() for p in disk.rglob("*") if p.is_file()} == before
    blobs = [b for p, b in before.items() if "blobs" in p.parts]
    assert sum(map(len, blobs)) == len(data), "the stored object's parts are still there"


@pytest.mark.parametrize("change", ["content", "size"])
def test_a_file_changed_during_a_cli_upload_is_one_line_and_no_object(
    server_factory: Factory, work_dir: Path, scenario: Scenario, change: str
) -> None:
    """The CLI is uploading (slowly) when the file changes under it."""
    scenario(f"input: file changes {change} during the upload")
    # two parts land at once, every later one takes 1 s: seconds to change the file in
    server = server_factory("--fault", "UploadPart@3x1000=delay:1", "--bucket", "moving")
    client = make_client(server)
    path = work_dir / "moving.bin"
    data = make_file(path, MiB + 17, seed=13)
    with CliProcess(
        server, "upload", str(path), "oss://moving/m.bin", "--part-size", "100KiB"
    ) as process:
        upload_id = wait_for_parts(client, "moving", "m.bin", 2)
        if change == "content":
            with path.open("r+b") as handle:  # same size, new bytes near the end
                handle.seek(len(data) - 10)
                handle.write(bytes(10))
        else:
            with path.open("ab") as handle:
                handle.write(b"grown")
        result = process.finish()
    assert result.returncode == 1, result.stderr
    assert "modified during the upload" in _error_line(result)
    assert client.execute(ListObjectsV2("moving")).objects == [], "no object from mixed bytes"
    (upload,) = list_all_uploads(client, "moving")
    assert upload.upload_id == upload_id, "the upload is kept for the user to abort or resume"
