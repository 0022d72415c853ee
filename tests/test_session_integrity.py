"""Integrity end to end: a wrong ETag, CRC-64 or size anywhere is an error, and the
object is never completed from parts that do not match the local bytes.

The emulator answers correctly, so wrong answers come from :class:`Tamper`, a transport
that alters a real answer as a corrupting proxy would (the only way to produce them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from session_fixtures import (  # noqa: F401 - fixtures
    PART,
    Tamper,
    bucket_fixture,
    client_fixture,
    source_fixture,
)

from ossnb.client.client import Client
from ossnb.protocol.errors import IntegrityError, InvalidDigest, NoSuchKey
from ossnb.protocol.models import CompleteResult, ObjectInfo, UploadPartResult
from ossnb.protocol.operations import HeadObject, Operation, UploadPart
from ossnb.upload.ledger import PartState, SessionState
from ossnb.upload.session import UploadSession
from ossnb.widgets.steps import completed_html


def _run(transport: Any, path: Path, bucket: str, key: str) -> UploadSession:
    session = UploadSession(transport, path, bucket, key, part_size=PART, workers=2)
    session.start()
    return session


def _part3(operation: Operation[Any], result: Any, **changes: Any) -> Any:
    if isinstance(result, UploadPartResult) and result.part_number == 3:
        return msgspec.structs.replace(result, **changes)
    return result


def test_a_part_etag_that_is_not_the_local_md5(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, _ = source
    wrong = '"00000000000000000000000000000000"'
    session = _run(Tamper(client, lambda op, r: _part3(op, r, etag=wrong)), path, bucket, "etag")
    with pytest.raises(IntegrityError, match="part 3: OSS returned ETag"):
        session.wait(30)
    row = session.row(3)
    assert row.state is PartState.FAILED and row.error_code == "IntegrityError"
    assert session.state is SessionState.FAILED
    with pytest.raises(NoSuchKey):
        client.execute(HeadObject(bucket, "etag"))


def test_a_part_crc64_that_is_not_the_local_one(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, _ = source
    session = _run(Tamper(client, lambda op, r: _part3(op, r, crc64=12345)), path, bucket, "crc")
    with pytest.raises(IntegrityError, match="part 3: OSS computed CRC-64 12345"):
        session.wait(30)
    with pytest.raises(NoSuchKey):
        client.execute(HeadObject(bucket, "crc"))


def test_complete_must_report_the_combined_crc64(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, _ = source

    def rewrite(operation: Operation[Any], result: Any) -> Any:
        if isinstance(result, CompleteResult):
            return msgspec.structs.replace(result, crc64=(result.crc64 or 0) ^ 1)
        return result

    session = _run(Tamper(client, rewrite), path, bucket, "combined")
    with pytest.raises(IntegrityError, match="parts combine to"):
        session.wait(30)
    assert not session.receipt().verified and session.receipt().crc64 is None


def test_the_head_after_complete_must_agree(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, data = source

    def rewrite(operation: Operation[Any], result: Any) -> Any:
        if isinstance(result, ObjectInfo):
            return msgspec.structs.replace(result, size=result.size - 1)
        return result

    session = _run(Tamper(client, rewrite), path, bucket, "head")
    with pytest.raises(IntegrityError, match=f"size {len(data) - 1}, expected {len(data)}"):
        session.wait(30)


def test_content_md5_catches_bytes_changed_on_the_way(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    path, _ = source

    def corrupt(operation: Operation[Any]) -> Operation[Any]:
        if isinstance(operation, UploadPart) and operation.part_number == 2:
            body = bytes([operation.body[0] ^ 0xFF]) + operation.body[1:]
            return msgspec.structs.replace(operation, body=body)  # Content-MD5 kept: now wrong
        return operation

    session = _run(Tamper(client, before=corrupt), path, bucket, "digest")
    with pytest.raises(InvalidDigest) as err:
        session.wait(30)
    assert err.value.status == 400
    row = session.row(2)
    assert row.error_code == "InvalidDigest" and row.attempts == 1, "a 400 is not retried"
    assert "send the part again" in (row.error or "")
    with pytest.raises(NoSuchKey):
        client.execute(HeadObject(bucket, "digest"))


def test_an_object_whose_crc64_the_server_never_gave_is_not_said_to_be_crc_checked(
    client: Client, bucket: str, source: tuple[Path, bytes]
) -> None:
    """A proxy that strips ``x-oss-hash-crc64ecma`` from Complete and HEAD (the emulator
    always sends it, so the parsed answers are rewritten, as such a proxy would leave
    them): the object is verified by size and ETag, the parts by their MD5, and nothing
    claims the object's CRC-64 was compared."""
    path, _ = source

    def strip(operation: Operation[Any], result: Any) -> Any:
        if isinstance(result, (CompleteResult, ObjectInfo)):
            return msgspec.structs.replace(result, crc64=None)
        return result

    session = _run(Tamper(client, strip), path, bucket, "stripped")
    receipt = session.wait(30)
    assert receipt.verified and not receipt.crc64_checked
    line = session.describe().splitlines()[-1]
    assert "size and ETag checked" in line and "not compared" in line
    assert str(receipt.crc64) not in line, "no CRC-64 shown as if the server had agreed"
    assert "the server gave none for the object" in completed_html(receipt)
    plain = _run(client, path, bucket, "plain")
    assert plain.wait(30).crc64_checked and plain.wait(30).verified
    assert "size, ETag and CRC-64 checked" in plain.describe().splitlines()[-1]
