"""The checkpoint file: identity not progress, atomic writes, clear errors for bad files."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from ossnb.upload.checkpoint import (
    SCHEMA,
    Checkpoint,
    CheckpointError,
    SourceChangedError,
    SourceIdentity,
    default_checkpoint_path,
    load_checkpoint,
    remove_checkpoint,
    resume_from,
    save_checkpoint,
)
from ossnb.upload.source import open_source

IDENTITY = SourceIdentity("file", 1000, 42, "/data/big.bin", 1_700_000_000_000_000_000)


def _checkpoint(**changes: object) -> Checkpoint:
    fields: dict[str, object] = {
        "endpoint": "embedded:/work/.ossnb/emulator",
        "bucket": "demo",
        "key": "big.bin",
        "upload_id": "0123456789ABCDEF0123456789ABCDEF",
        "part_size": 8 * 1024 * 1024,
        "source": IDENTITY,
    }
    fields.update(changes)
    return Checkpoint(**fields)  # type: ignore[arg-type]


def test_round_trip_and_what_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "big.bin.ossnb-checkpoint.json"
    saved = _checkpoint()
    save_checkpoint(path, saved)
    assert load_checkpoint(path) == saved
    doc = json.loads(path.read_text())
    assert doc["schema"] == SCHEMA and doc["version"] == 1 and doc["state"] == "uploading"
    assert set(doc) == {
        "schema",
        "version",
        "updated",
        "created",
        "state",
        "endpoint",
        "bucket",
        "key",
        "upload_id",
        "part_size",
        "source",
    }, "identity only: no parts, no progress, no credentials"
    assert saved.url == "oss://demo/big.bin"


def test_missing_file_is_no_checkpoint_and_remove_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    assert load_checkpoint(path) is None
    remove_checkpoint(path)
    save_checkpoint(path, _checkpoint())
    remove_checkpoint(path)
    assert not path.exists()


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(30):
                save_checkpoint(path, _checkpoint(state=f"s{n}-{i}"))
                assert load_checkpoint(path) is not None  # never half a file
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [p.name for p in tmp_path.iterdir()] == ["cp.json"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"hello": "world"}', "not an ossnb upload checkpoint"),
        ("[1, 2]", "not an ossnb upload checkpoint"),
        (json.dumps({"schema": SCHEMA, "version": 99}), "schema version 99"),
        (json.dumps({"schema": SCHEMA, "version": 1, "bucket": "b"}), "damaged"),
    ],
)
def test_corrupt_or_foreign_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cp.json"
    path.write_text(text)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_bad_values_and_binary_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    doc = json.loads(_checkpoint().to_json())
    doc["part_size"] = -1
    path.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="part_size"):
        load_checkpoint(path)
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(CheckpointError, match="not UTF-8"):
        load_checkpoint(path)
    path.write_bytes(b" " * 100_000)
    with pytest.raises(CheckpointError, match="too large"):
        load_checkpoint(path)


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="cannot write checkpoint"):
        save_checkpoint(tmp_path / "missing-dir" / "cp.json", _checkpoint())


def test_default_path_is_beside_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_checkpoint_path(tmp_path / "a.bin") == tmp_path / "a.bin.ossnb-checkpoint.json"
    monkeypatch.chdir(tmp_path)
    assert default_checkpoint_path("b.bin") == tmp_path / "b.bin.ossnb-checkpoint.json"


def test_resume_from_checks_the_target_endpoint_source_and_part_size(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    save_checkpoint(path, _checkpoint())
    args = {
        "endpoint": "embedded:/work/.ossnb/emulator",
        "bucket": "demo",
        "key": "big.bin",
        "source": IDENTITY,
        "part_size": None,
    }
    assert resume_from(path, **args) == load_checkpoint(path)  # type: ignore[arg-type]
    assert resume_from(tmp_path / "none", **args) is None  # type: ignore[arg-type]
    for change, message in [
        ({"key": "other.bin"}, "belongs to an upload to oss://demo/big.bin"),
        ({"endpoint": "https://oss-cn-beijing.aliyuncs.com"}, "belongs to an upload on"),
        ({"part_size": 1024 * 1024}, "8388608-byte parts, not 1048576"),
    ]:
        with pytest.raises(CheckpointError, match=message):
            resume_from(path, **{**args, **change})  # type: ignore[arg-type]
    changed = SourceIdentity("file", 1000, 43, "/data/big.bin", IDENTITY.mtime_ns)
    with pytest.raises(SourceChangedError, match=r"\(content\)"):
        resume_from(path, **{**args, "source": changed})  # type: ignore[arg-type]
    touched = SourceIdentity("file", 1001, 42, "/data/big.bin", 1)
    with pytest.raises(SourceChangedError, match="size 1000 -> 1001 bytes, modification time"):
        resume_from(path, **{**args, "source": touched})  # type: ignore[arg-type]


def test_source_identities(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(300_000))
    first = open_source(path).identity()
    assert first.kind == "file" and first.size == 300_000 and first.path == str(path)
    assert open_source(path).identity() == first
    data = bytearray(path.read_bytes())
    data[150_000] ^= 1  # the middle sample sees it
    path.write_bytes(bytes(data))
    assert open_source(path).identity().fingerprint != first.fingerprint
    assert open_source(bytes(data)).identity().kind == "bytes"
    assert open_source(b"").identity() == SourceIdentity("bytes", 0, 0)
