"""Resume after a crash (same call, checkpoint beside the file), adoption by upload ID,
re-checking reused parts, a changed source, and a Complete whose answer was lost."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import oss2
import pytest
from conftest import ServerHandle
from session_fixtures import (  # noqa: F401 - fixtures
    PART,
    Recorder,
    Tamper,
    bucket_fixture,
    client_fixture,
    make_file,
    sdk_read,
    source_fixture,
)

from ossnb.client.client import Client
from ossnb.emulator import DEV_ACCESS_KEY_SECRET
from ossnb.protocol.errors import NoSuchUpload
from ossnb.protocol.operations import (
    AbortMultipartUpload,
    CompleteMultipartUpload,
    Operation,
    PutObject,
    UploadPart,
)
from ossnb.upload.checkpoint import CheckpointError, SourceChangedError, load_checkpoint
from ossnb.upload.ledger import Notice, PartState, SessionState
from ossnb.upload.session import UploadSession


def _crash_after(client: Client, path: Path, bucket: str, key: str, parts: list[int]) -> str:
    """Start an upload, send some parts, then vanish without aborting (a crash)."""
    session = UploadSession(client, path, bucket, key, part_size=PART)
    upload_id = session.initiate()
    for number in parts:
        session.upload_part(number)
    return upload_id


def _sent(session: UploadSession) -> list[int]:
    return sorted(
        int(dict(e.query)["partNumber"])
        for e in session.transcript()
        if e.operation == "UploadPart"
    )


def test_the_same_call_resumes_from_the_checkpoint(
    server: ServerHandle, client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    upload_id = _crash_after(client, path, bucket, "resume.bin", [1, 2, 5])
    saved = load_checkpoint(path.with_name(path.name + ".ossnb-checkpoint.json"))
    assert saved is not None and saved.upload_id == upload_id and saved.part_size == PART
    text = (path.parent / (path.name + ".ossnb-checkpoint.json")).read_text()
    assert DEV_ACCESS_KEY_SECRET not in text and "ossnb-dev-key" not in text
    assert set(json.loads(text)) >= {"schema", "version", "endpoint", "upload_id", "source"}

    session = UploadSession(client, path, bucket, "resume.bin")  # part size from the checkpoint
    assert session.upload_id == upload_id and session.state is SessionState.INITIATED
    seen = Recorder()
    session.subscribe(seen)
    session.start()
    receipt = session.wait(30)
    assert receipt.verified and receipt.upload_id == upload_id
    assert _sent(session) == [3, 4, 6, 7, 8, 9, 10, 11], "only the missing parts are sent"
    reused = [p.number for p in receipt.parts if p.reused]
    assert reused == [1, 2, 5] and receipt.bytes_reused == 3 * PART
    assert all(p.attempts == 0 for p in receipt.parts if p.reused)
    assert any("resuming upload ID" in n.text for n in seen.of(Notice))
    assert session.transcript()[0].operation == "ListParts"
    assert sdk_read(server, bucket, "resume.bin") == data
    assert not (path.parent / (path.name + ".ossnb-checkpoint.json")).exists()


def test_reused_parts_are_rechecked_and_differing_ones_sent_again(
    server: ServerHandle, client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    upload_id = _crash_after(client, path, bucket, "recheck.bin", [1, 2, 3])
    other = bytes(PART)  # same size, other bytes: only the CRC-64 can tell
    client.execute(UploadPart(bucket, "recheck.bin", upload_id, 2, other))
    client.execute(UploadPart(bucket, "recheck.bin", upload_id, 4, data[3 * PART : 3 * PART + 10]))
    session = UploadSession(client, path, bucket, "recheck.bin")
    session.start()
    receipt = session.wait(30)
    assert [p.number for p in receipt.parts if p.reused] == [1, 3]
    assert _sent(session) == [2, *range(4, 12)]
    assert sdk_read(server, bucket, "recheck.bin") == data


def test_a_changed_source_is_a_clear_error(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    upload_id = _crash_after(client, path, bucket, "changed.bin", [1])
    stat = path.stat()
    path.write_bytes(data[:-1] + b"\x00" if data[-1] else data[:-1] + b"\x01")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old mtime
    with pytest.raises(SourceChangedError, match="content") as err:
        UploadSession(client, path, bucket, "changed.bin")
    message = str(err.value)
    assert upload_id in message and "ossnb uploads abort" in message
    path.write_bytes(data + b"more")
    with pytest.raises(SourceChangedError, match="size"):
        UploadSession(client, path, bucket, "changed.bin")


def test_a_source_changed_during_the_upload_fails_the_part(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    session = UploadSession(client, path, bucket, "moving.bin", part_size=PART, checkpoint=None)
    session.initiate()
    session.upload_part(1)
    path.write_bytes(data + b"grown")
    with pytest.raises(SourceChangedError, match="modified during the upload"):
        session.upload_part(2)
    assert session.row(2).state is PartState.FAILED
    assert session.row(2).error_code == "SourceChangedError"


def test_adopt_an_upload_by_its_id_alone(
    server: ServerHandle, client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    first = UploadSession(client, path, bucket, "adopt.bin", part_size=PART, checkpoint=None)
    upload_id = first.initiate()
    first.upload_part(1)
    first.upload_part(11)  # the short last part
    adopted = UploadSession.adopt(client, path, bucket, "adopt.bin", upload_id, checkpoint=None)
    assert adopted.plan.part_size == PART, "the part size is read from the server's parts"
    assert adopted.upload_id == upload_id
    adopted.start()
    receipt = adopted.wait(30)
    assert [p.number for p in receipt.parts if p.reused] == [1, 11]
    assert sdk_read(server, bucket, "adopt.bin") == data


def test_adopting_an_unknown_upload_says_so(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, _ = source
    with pytest.raises(NoSuchUpload):
        UploadSession.adopt(client, path, bucket, "k", "0" * 32, checkpoint=None)
    session = UploadSession(
        client, path, bucket, "k", part_size=PART, upload_id="0" * 32, checkpoint=None
    )
    session.start()
    with pytest.raises(NoSuchUpload) as err:
        session.wait(30)
    assert "start a new one" in err.value.hint


def test_a_checkpoint_whose_upload_is_gone_starts_a_new_upload(
    server: ServerHandle, client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source
    old = _crash_after(client, path, bucket, "gone.bin", [1, 2])
    client.execute(AbortMultipartUpload(bucket, "gone.bin", old))
    session = UploadSession(client, path, bucket, "gone.bin")
    seen = Recorder()
    session.subscribe(seen)
    session.start()
    receipt = session.wait(30)
    assert receipt.upload_id != old and not any(p.reused for p in receipt.parts)
    assert any("no longer exists" in n.text for n in seen.of(Notice))
    assert sdk_read(server, bucket, "gone.bin") == data


def test_a_checkpoint_for_another_target_is_refused(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, _ = source
    _crash_after(client, path, bucket, "one.bin", [])
    with pytest.raises(CheckpointError, match="belongs to an upload to"):
        UploadSession(client, path, bucket, "two.bin")
    with pytest.raises(CheckpointError, match="not http://elsewhere"):
        UploadSession(client, path, bucket, "one.bin", endpoint="http://elsewhere")
    with pytest.raises(CheckpointError, match="102400-byte parts, not 200000"):
        UploadSession(client, path, bucket, "one.bin", part_size=200_000)
    with pytest.raises(CheckpointError, match="records upload"):
        UploadSession(client, path, bucket, "one.bin", upload_id="F" * 32)
    other = path.parent / "elsewhere.json"
    assert UploadSession(client, path, bucket, "two.bin", checkpoint=other).state.value == "planned"


class _LostAnswer(Tamper):
    """Complete lands but its answer is lost: the client's retry then meets NoSuchUpload."""

    def __init__(self, client: Client, replace_object: bool = False) -> None:
        super().__init__(client)
        self.replace_object = replace_object

    def execute(self, operation: Operation[Any], **options: Any) -> Any:
        if isinstance(operation, CompleteMultipartUpload):
            self.client.execute(operation, **options)
            if self.replace_object:  # someone else's object now sits at the key
                self.client.execute(PutObject(operation.bucket, operation.key, b"theirs"))
        return self.client.execute(operation, **options)


@pytest.mark.parametrize("replaced", [False, True])
def test_complete_whose_answer_was_lost(
    server: ServerHandle, client: Client, bucket: str, source: tuple[Path, bytes], replaced: bool
) -> None:
    path, data = source
    session = UploadSession(
        _LostAnswer(client, replaced), path, bucket, "lost.bin", part_size=PART, checkpoint=None
    )
    session.start()
    if not replaced:
        assert session.wait(30).verified, "accepted: HEAD shows exactly the object of our parts"
        assert sdk_read(server, bucket, "lost.bin") == data
        return
    with pytest.raises(NoSuchUpload, match="not the object its parts make"):
        session.wait(30)


def test_an_initiated_upload_keeps_metadata_and_content_type(
    server: ServerHandle, client: Client, bucket: str
) -> None:
    session = UploadSession(
        client,
        b"x" * PART,
        bucket,
        "meta.txt",
        content_type="text/plain",
        metadata={"owner": "ada"},
    )
    session.start()
    session.wait(30)
    auth = oss2.AuthV4(server.access_key_id, server.access_key_secret)
    head = oss2.Bucket(auth, server.endpoint, bucket, region=server.region).head_object("meta.txt")
    assert head.content_type == "text/plain" and head.headers["x-oss-meta-owner"] == "ada"
