"""Where ``ossnb upload`` puts a file: a target ending in ``/`` (or a bare bucket) means
"into that folder", as with ``aws s3 cp`` and ``ossutil cp``; the Python helpers agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ServerHandle
from session_fixtures import make_client, make_file, run_cli, sdk_read, server_env, subprocess_env

from ossnb.connect import object_url
from ossnb.protocol.errors import UsageError
from ossnb.protocol.operations import PutBucket
from ossnb.upload.listing import list_all_uploads


@pytest.mark.parametrize(
    ("url", "key"),
    [("oss://{b}/dir/", "dir/f.bin"), ("oss://{b}/", "f.bin"), ("oss://{b}", "f.bin")],
)
def test_a_folder_target_keeps_the_file_name(
    server: ServerHandle, work_dir: Path, bucket_name: str, url: str, key: str
) -> None:
    client = make_client(server)
    client.execute(PutBucket(bucket_name))
    data = make_file(work_dir / "f.bin", 2000, seed=61)
    result = run_cli(
        "upload",
        "f.bin",
        url.format(b=bucket_name),
        "--no-checkpoint",
        env=server_env(server),
        cwd=work_dir,
    )
    assert result.returncode == 0, result.stderr
    assert f"-> oss://{bucket_name}/{key} on" in result.stdout
    assert sdk_read(server, bucket_name, key) == data
    assert list_all_uploads(client, bucket_name) == []


@pytest.mark.parametrize(
    ("source", "url", "expected"),
    [
        ("data/big.bin", "oss://b-1/dir/", "oss://b-1/dir/big.bin"),
        (Path("big.bin"), "oss://b-1", "oss://b-1/big.bin"),
        ("big.bin", "oss://b-1/name.bin", "oss://b-1/name.bin"),
        (b"bytes", "oss://b-1/a/b", "oss://b-1/a/b"),
    ],
)
def test_object_urls(source: object, url: str, expected: str) -> None:
    assert str(object_url(url, source)) == expected  # type: ignore[arg-type]


def test_a_folder_target_needs_a_named_source() -> None:
    with pytest.raises(UsageError, match="names a folder"):
        object_url("oss://b-1/dir/", b"bytes")


def test_the_embedded_emulator_says_when_it_creates_a_bucket(tmp_path: Path) -> None:
    make_file(tmp_path / "f.bin", 1000, seed=62)
    env = subprocess_env()
    first = run_cli("upload", "f.bin", "oss://made-here/", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "created bucket made-here on the embedded emulator" in first.stdout
    again = run_cli("upload", "f.bin", "oss://made-here/again.bin", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "created bucket" not in again.stdout, "it exists now"
