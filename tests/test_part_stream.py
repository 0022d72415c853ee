"""``checksum="crc64"`` streams each part: read a piece, add it to the CRC-64, send it.

Against the emulator over real sockets: parts of several pieces arrive byte-identical
with the CRC-64 of what went out; a body the server drops mid-part is read and summed
again from the part's start; resume re-checks held parts through a piece-sized buffer
(by CRC-64, or by MD5 when the server lists no CRC). The memory this saves is measured
in ``test_session_memory.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from conftest import ServerHandle
from session_fixtures import (  # noqa: F401 - fixtures
    KiB,
    MiB,
    Tamper,
    bucket_fixture,
    client_fixture,
    make_client,
    make_file,
    sdk_read,
)

from ossnb.client.client import Client
from ossnb.protocol.checksums import crc64
from ossnb.protocol.http import BODY_PIECE
from ossnb.protocol.models import ListPartsResult
from ossnb.protocol.operations import Operation, PutBucket, UploadPart
from ossnb.upload.part_stream import PartStream, scan
from ossnb.upload.session import UploadSession
from ossnb.upload.source import BytesSource

PART = 2 * MiB + 512 * KiB  # three pieces: 1 MiB, 1 MiB, 512 KiB


def _uploaded_parts(session: UploadSession) -> list[int]:
    return sorted(
        {
            int(dict(e.query)["partNumber"])
            for e in session.transcript()
            if e.operation == "UploadPart" and e.status == 200
        }
    )


def test_a_stream_yields_pieces_and_sums_the_last_complete_pass() -> None:
    data = bytearray(make_bytes(PART + 100))
    stream = PartStream(BytesSource(data), 100, PART, memoryview(bytearray(BODY_PIECE)))
    assert len(stream) == PART and stream.crc64 is None
    pieces = stream.pieces()
    assert len(next(pieces)) == BODY_PIECE
    assert stream.crc64 is None, "no CRC-64 before the whole part went by"
    sizes = [BODY_PIECE] + [len(view) for view in pieces]
    assert sizes == [BODY_PIECE, BODY_PIECE, 512 * KiB]
    assert stream.crc64 == crc64(bytes(data[100 : 100 + PART]))
    data[200] ^= 0xFF  # the next pass reads the bytes again, as they are then
    assert [len(view) for view in stream.pieces()] == sizes
    assert stream.crc64 == crc64(bytes(data[100 : 100 + PART]))
    held = scan(BytesSource(data), 100, PART, memoryview(bytearray(BODY_PIECE)), md5=True)
    assert held[0] == stream.crc64 and held[1] is not None and len(held[1]) == 32


def make_bytes(size: int) -> bytes:
    return bytes((i * 7 + i // 251) & 0xFF for i in range(size))


def test_parts_of_several_pieces_arrive_whole(
    server: ServerHandle, client: Client, bucket: str, work_dir: Path
) -> None:
    path = work_dir / "pieces.bin"
    data = make_file(path, 2 * PART + 300 * KiB, seed=7)
    session = UploadSession(
        client, path, bucket, "pieces", part_size=PART, workers=2, checkpoint=None,
        checksum="crc64",
    )  # fmt: skip
    session.start()
    assert session.wait(60).verified
    assert sdk_read(server, bucket, "pieces") == data
    for row in session.snapshot().rows:
        assert row.md5 is None
        assert row.crc64 == crc64(data[row.offset : row.offset + row.size])
    sent = [e for e in session.transcript() if e.operation == "UploadPart"]
    assert [e.request_bytes for e in sent if dict(e.query)["partNumber"] == "1"] == [PART]


def test_a_body_dropped_mid_part_is_read_and_summed_again_from_its_start(
    server_factory: Callable[..., ServerHandle], work_dir: Path
) -> None:
    server = server_factory("--fault", "UploadPart@2=drop")
    client = make_client(server)
    client.execute(PutBucket("dropped"))
    path = work_dir / "dropped.bin"
    data = make_file(path, 3 * PART, seed=8)
    session = UploadSession(
        client, path, "dropped", "d", part_size=PART, workers=1, checkpoint=None,
        checksum="crc64",
    )  # fmt: skip
    session.start()
    receipt = session.wait(60)
    assert receipt.verified and sdk_read(server, "dropped", "d") == data
    dropped = [e for e in session.transcript() if e.operation == "UploadPart" and e.status is None]
    assert len(dropped) == 1, "the server dropped one body half-way"
    assert sum(p.attempts for p in receipt.parts) == 4
    assert receipt.bytes_sent == 3 * PART, "progress rewound the dropped attempt's bytes"
    for row in session.snapshot().rows:
        assert row.crc64 == crc64(data[row.offset : row.offset + row.size])
    client.close()


@pytest.mark.parametrize("listed_crc", [True, False], ids=["by-crc64", "by-md5"])
def test_resume_rechecks_held_parts_through_a_piece_buffer(
    server: ServerHandle, client: Client, bucket: str, work_dir: Path, listed_crc: bool
) -> None:
    path = work_dir / "resume.bin"
    data = make_file(path, 3 * PART + 200 * KiB, seed=9)
    key = f"resume-{listed_crc}"
    first = UploadSession(client, path, bucket, key, part_size=PART, checksum="crc64")
    upload_id = first.initiate()
    for number in (1, 2, 3):
        first.upload_part(number)
    # part 2 held with other bytes of the same size (a crash mid-rewrite, say)
    client.execute(UploadPart(bucket, key, upload_id, 2, bytes(PART)))

    def no_listed_crc(operation: Operation[Any], result: Any) -> Any:
        if isinstance(result, ListPartsResult):
            parts = [msgspec.structs.replace(p, crc64=None) for p in result.parts]
            return msgspec.structs.replace(result, parts=parts)
        return result

    via: Any = client if listed_crc else Tamper(client, no_listed_crc)
    session = UploadSession(via, path, bucket, key, checksum="crc64")
    assert session.upload_id == upload_id, "resumed from the checkpoint"
    session.start()
    receipt = session.wait(60)
    assert receipt.verified and sdk_read(server, bucket, key) == data
    assert [p.number for p in receipt.parts if p.reused] == [1, 3]
    assert _uploaded_parts(session) == [2, 4]
    assert [p.attempts for p in receipt.parts] == [0, 1, 0, 1]
