"""What every carrier of parts records, and how a sent part is verified (one place).

A carrier moves a part's bytes (worker threads here, tasks on a cluster, a browser);
:class:`PartRecorder` turns what it reports into ledger rows and events, the same for
every carrier: started, bytes on the wire, done (its ETag and CRC-64 verified against
the digest the carrier computed from the bytes it read), reused, failed, or cancelled
(back to pending). The ledger, the checkpoint and the widget never learn which carrier
carried a part beyond the row's ``carrier`` and ``worker`` labels.
"""

from __future__ import annotations

from collections.abc import Callable

from ..protocol.checksums import Digest, normalize_etag
from ..protocol.errors import IntegrityError, OssError, ServiceError
from ..protocol.models import PartInfo
from .ledger import BytesSent, Event, Ledger, PartDone, PartFailed, PartRow, PartStarted, PartState

__all__ = ["PartRecorder", "describe_error", "server_copy_matches", "verify_part"]


def describe_error(error: OssError) -> tuple[str, str | None]:
    """One line for people (with the OSS hint, if any) and the OSS error code."""
    if isinstance(error, ServiceError):
        hint = f" {error.hint}" if error.hint else ""
        return f"{error}.{hint}", error.error_code
    return str(error), type(error).__name__


def verify_part(number: int, etag: str, server_crc64: int | None, local: Digest) -> None:
    """Raise :class:`IntegrityError` unless OSS's ETag is the local MD5 (when one was
    computed: not in CRC-only mode) and its CRC-64 (when it sent one) the local CRC-64."""
    if local.md5_hex is not None and normalize_etag(etag) != local.md5_hex:
        raise IntegrityError(
            f"part {number}: OSS returned ETag {etag} but the local MD5 is "
            f"{local.md5_hex}; the part was altered on the way. Send it again "
            "(upload_part or start) or abort the upload"
        )
    if server_crc64 is not None and server_crc64 != local.crc64:
        raise IntegrityError(
            f"part {number}: OSS computed CRC-64 {server_crc64} but the local bytes give "
            f"{local.crc64}; the part was altered on the way. Send it again or abort"
        )


def server_copy_matches(part: PartInfo, local: Digest) -> bool:
    """Whether the server's copy of a part (from ListParts) holds the local bytes: size and
    CRC-64, or the ETag against the MD5 when the server gave no CRC."""
    if part.size != local.size:
        return False
    if part.crc64 is not None:
        return part.crc64 == local.crc64
    return normalize_etag(part.etag) == local.md5_hex


class PartRecorder:
    """Ledger updates and events for parts, whichever carrier moved them.

    ``carrier`` labels the rows this recorder marks started (``"local"``, ``"dask"``…).
    """

    def __init__(self, ledger: Ledger, emit: Callable[[Event], None], carrier: str) -> None:
        self.ledger = ledger
        self.emit = emit
        self.carrier = carrier

    def started(self, number: int, md5: str | None, *, worker: str | None = None) -> PartRow:
        """An attempt at part ``number`` began (its byte count starts from 0)."""
        row = self.ledger.update(
            number,
            state=PartState.SENDING,
            bytes_sent=0,
            reused=False,
            md5=md5,
            carrier=self.carrier,
            worker=worker,
        )
        self.emit(PartStarted(number, row.attempts + 1))
        return row

    def progress(self, number: int, delta: int) -> None:
        """``delta`` more bytes of part ``number`` went out (negative: rewound)."""
        part_bytes, total = self.ledger.add_sent(number, delta)
        self.emit(BytesSent(number, delta, part_bytes, total))

    def progress_to(self, number: int, sent: int) -> None:
        """Part ``number`` has ``sent`` bytes out in its current attempt (a remote report)."""
        row = self.ledger.row(number)
        if row.state is PartState.SENDING and sent != row.bytes_sent:
            self.progress(number, sent - row.bytes_sent)

    def retrying(self, number: int, error: OssError) -> None:
        """A transient failure: the attempt's bytes rewind, the error is noted, a retry follows."""
        text, code = describe_error(error)
        self.ledger.update(number, bytes_sent=0, error=text, error_code=code)

    def sent(
        self,
        number: int,
        etag: str,
        server_crc64: int | None,
        local: Digest,
        elapsed: float,
        *,
        worker: str | None = None,
    ) -> PartRow:
        """Verify a sent part against the carrier's digest, then record it done."""
        verify_part(number, etag, server_crc64, local)
        changes: dict[str, object] = {"worker": worker} if worker is not None else {}
        done = self.ledger.update(
            number,
            state=PartState.DONE,
            bytes_sent=local.size,
            etag=etag,
            crc64=local.crc64,
            md5=local.md5_hex,
            error=None,
            error_code=None,
            elapsed=elapsed,
            **changes,
        )
        self.emit(PartDone(done))
        return done

    def reused(self, number: int, part: PartInfo, crc64: int, elapsed: float) -> PartRow:
        """The server's copy of part ``number`` matched the local bytes: done, not sent."""
        row = self.ledger.update(
            number,
            state=PartState.DONE,
            etag=part.etag,
            crc64=part.crc64 if part.crc64 is not None else crc64,
            reused=True,
            error=None,
            error_code=None,
            elapsed=elapsed,
        )
        self.emit(PartDone(row))
        return row

    def failed(self, number: int, error: OssError) -> PartRow:
        """Part ``number`` failed for good (its retries are spent)."""
        text, code = describe_error(error)
        row = self.ledger.update(
            number, state=PartState.FAILED, bytes_sent=0, error=text, error_code=code
        )
        self.emit(PartFailed(row))
        return row

    def cancelled(self, number: int) -> None:
        """Part ``number`` was stopped (pause, abort): pending again, its bytes uncounted."""
        self.ledger.update(number, state=PartState.PENDING, bytes_sent=0)
