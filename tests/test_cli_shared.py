"""One data folder, many processes: ``ossnb serve``, the CLI and notebook kernels share
the folder's emulator (the owner publishes its endpoint; the others find it), and when
the owner dies the next ``connect()`` takes the folder over. Real processes only."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Factory
from session_fixtures import (
    CLI,
    cli_errors,
    make_file,
    run_cli,
    sdk_read,
    sdk_read_at,
    subprocess_env,
)

from ossnb.emulator import DEV_ACCESS_KEY_SECRET
from ossnb.emulator.discovery import FILE_NAME


def test_the_cli_uses_a_running_serve_on_its_data_folder(
    server_factory: Factory, tmp_path: Path
) -> None:
    (tmp_path / ".ossnb").mkdir()
    server = server_factory("--bucket", "demo", data_dir=tmp_path / ".ossnb" / "emulator")
    data = make_file(tmp_path / "f.bin", 300 * 1024 + 5, seed=41)
    env = subprocess_env()  # no OSS_* at all
    up = run_cli(
        "upload", "f.bin", "oss://demo/f.bin", "--part-size", "100KiB", env=env, cwd=tmp_path
    )
    assert up.returncode == 0, up.stderr
    assert f"emulator process {server.process.pid} at {server.endpoint}" in up.stdout  # type: ignore[union-attr]
    assert sdk_read(server, "demo", "f.bin") == data
    listed = run_cli("uploads", "list", "oss://demo", env=env, cwd=tmp_path)
    assert listed.returncode == 0 and "no unfinished uploads" in listed.stdout, listed.stderr
    assert DEV_ACCESS_KEY_SECRET not in up.stdout + up.stderr


def test_serve_prints_the_exports_for_everywhere_else(
    server_factory: Factory, tmp_path: Path
) -> None:
    server = server_factory("--bucket", "demo")
    (line,) = [x for x in server.banner if x.strip().startswith("export OSS_ENDPOINT=")]
    env = subprocess_env()
    env.update(dict(pair.split("=", 1) for pair in line.split()[1:]))
    assert env["OSS_ENDPOINT"] == server.endpoint
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("uploads", "list", "oss://demo", env=env, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert not (elsewhere / ".ossnb").exists(), "the exported endpoint, not an embedded one"
    assert any(str(server.data_dir) in x for x in server.banner)


def test_serve_with_its_own_keys_is_shared_with_those_keys_only(
    server_factory: Factory, tmp_path: Path
) -> None:
    secret = "a-secret-of-the-user-1234"
    (tmp_path / ".ossnb").mkdir()
    server_factory(
        "--bucket",
        "demo",
        "--access-key-id",
        "mine",
        "--access-key-secret",
        secret,
        data_dir=tmp_path / ".ossnb" / "emulator",
    )
    published = tmp_path / ".ossnb" / "emulator" / FILE_NAME
    assert secret not in published.read_text() and published.stat().st_mode & 0o077 == 0
    make_file(tmp_path / "f.bin", 1000, seed=42)
    refused = run_cli("upload", "f.bin", "oss://demo/f.bin", env=subprocess_env(), cwd=tmp_path)
    assert refused.returncode == 2
    (line,) = cli_errors(refused.stderr)
    assert "'mine'" in line and "OSS_ACCESS_KEY_SECRET" in line
    env = dict(subprocess_env(), OSS_ACCESS_KEY_ID="mine", OSS_ACCESS_KEY_SECRET=secret)
    result = run_cli("upload", "f.bin", "oss://demo/f.bin", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr


KERNEL = textwrap.dedent(
    """
    import json, os, sys, time
    from ossnb import UploadSession, connect, ensure_bucket
    for line in sys.stdin:                      # one command a line, like cells run in turn
        *slow, name = line.split()
        client = connect()                      # the README's cell
        ensure_bucket(client, "shared")
        if slow:                                # a paced upload that says when it is under way
            client.add_listener(lambda exchange: time.sleep(0.1))
        session = UploadSession(client, name, "shared", name, part_size=102400, workers=2)
        session.start()
        if slow:
            while session.snapshot().ledger.bytes_done < 4 * 102400:
                time.sleep(0.01)
            print(json.dumps({"under way": session.upload_id}), flush=True)
        receipt = session.wait(120)
        print(json.dumps({"pid": os.getpid(), "owner": client.owner_pid,
                          "endpoint": client.endpoint.url, "verified": receipt.verified}),
              flush=True)
    """
)


class Kernel:
    """A Python process running cells on demand, as a notebook kernel would."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [CLI[0], "-c", KERNEL],
            cwd=cwd,
            env=subprocess_env(),
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def send(self, name: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(name + "\n")
        self.process.stdin.flush()

    def result(self) -> dict[str, object]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.kill()
            pytest.fail(f"kernel died: {self.process.communicate(timeout=10)[1]}")
        answer: dict[str, object] = json.loads(line)
        return answer


@pytest.fixture
def kernels(tmp_path: Path) -> Iterator[list[Kernel]]:
    started = [Kernel(tmp_path), Kernel(tmp_path)]
    yield started
    for kernel in started:
        kernel.process.kill()
        kernel.process.communicate(timeout=10)


def test_two_kernels_share_one_folder_and_survive_the_owner(
    kernels: list[Kernel], tmp_path: Path
) -> None:
    files = {
        f"k{i}.bin": make_file(tmp_path / f"k{i}.bin", 5 * 102400 + i, seed=i) for i in range(4)
    }
    first, second = kernels
    first.send("k0.bin")
    a = first.result()
    second.send("k1.bin")  # starts once the first owns the folder
    first.send("k2.bin")  # both upload at once
    b, c = second.result(), first.result()
    assert a["verified"] and b["verified"] and c["verified"]
    owner = a["pid"]
    assert a["owner"] == b["owner"] == c["owner"] == owner, "one emulator for the folder"
    assert a["endpoint"] == b["endpoint"]

    owner_kernel, other = (first, second) if first.process.pid == owner else (second, first)
    owner_kernel.process.send_signal(signal.SIGKILL)  # a kernel restart: no clean-up
    owner_kernel.process.wait(10)
    published = tmp_path / ".ossnb" / "emulator" / FILE_NAME
    assert json.loads(published.read_text())["pid"] == owner, "left behind, now stale"

    other.send("k3.bin")
    d = other.result()
    assert d["verified"] and d["owner"] == other.process.pid != owner, "took the folder over"
    assert json.loads(published.read_text())["pid"] == other.process.pid
    for name, data in files.items():  # every object, from the folder's new owner
        assert sdk_read_at(str(d["endpoint"]), "shared", name) == data
    listed = run_cli("uploads", "list", "oss://shared", env=subprocess_env(), cwd=tmp_path)
    assert listed.returncode == 0 and "no unfinished uploads" in listed.stdout, listed.stderr


def test_an_upload_under_way_survives_its_owner_dying(
    kernels: list[Kernel], tmp_path: Path
) -> None:
    big = make_file(tmp_path / "big.bin", 40 * 102400 + 7, seed=9)
    make_file(tmp_path / "small.bin", 1000, seed=10)
    owner_kernel, other = kernels
    owner_kernel.send("small.bin")
    assert owner_kernel.result()["owner"] == owner_kernel.process.pid
    other.send("slow big.bin")
    assert other.result()["under way"]
    owner_kernel.process.send_signal(signal.SIGKILL)  # its kernel restarts mid-upload
    owner_kernel.process.wait(10)
    done = other.result()
    assert done["verified"] and done["owner"] == other.process.pid, "took the folder over"
    assert sdk_read_at(str(done["endpoint"]), "shared", "big.bin") == big


def test_serve_says_who_serves_a_folder_it_cannot_take(
    kernels: list[Kernel], tmp_path: Path
) -> None:
    make_file(tmp_path / "k.bin", 1000, seed=11)
    kernel = kernels[0]
    kernel.send("k.bin")
    endpoint = kernel.result()["endpoint"]
    result = subprocess.run(
        [*CLI, "serve"],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"served by process {kernel.process.pid} at {endpoint}" in result.stderr
    assert "--data-dir" in result.stderr
