"""What a resumed upload already has on the server, seen before Start (read-only).

After a kernel restart the session knows its upload ID from the checkpoint, but not
which parts the server holds until a run lists them. The widget asks once, with one
ListParts (nothing is changed), so the map and the toolbar tell the truth before Start:
those parts are held, and Start re-checks each (CRC-64) before reusing it.
"""

from __future__ import annotations

from typing import Any

from ..protocol.errors import NoSuchUpload
from ..protocol.models import PartInfo
from ..upload.ledger import PartState
from ..upload.session import UploadSession
from .steps import parts_html

__all__ = ["ServerParts"]


class ServerParts:
    """The parts a resumed upload holds on the server (``held``), or that it is ``gone``."""

    def __init__(self) -> None:
        self.held: dict[int, PartInfo] | None = None
        self.gone = False

    def probe(self, session: UploadSession) -> str:
        """ListParts once; returns HTML for the step panel."""
        try:
            parts = session.list_parts()
        except NoSuchUpload:
            self.gone = True
            return "The server no longer has this upload: Start begins a new one."
        count = session.plan.part_count
        self.held = {p.part_number: p for p in parts if p.part_number <= count}
        return parts_html(parts)

    def details(self, session: UploadSession, number: int) -> dict[str, Any]:
        """What the map shows for a clicked part: ETag and CRC-64 (the server's, if held)."""
        row = session.row(number)
        held = (self.held or {}).get(number) if row.state is not PartState.DONE else None
        etag, crc = (held.etag, held.crc64) if held is not None else (row.etag, row.crc64)
        return {
            "state": row.state.value,
            "attempts": row.attempts,
            "etag": etag or "",
            "crc64": "" if crc is None else str(crc),
            "md5": row.md5 or "",
            "error": row.error_code or row.error or "",
        }
