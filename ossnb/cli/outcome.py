"""What ``ossnb upload`` says after a failure or an interruption: what is true, asked of
the server, never assumed.

"The upload is kept on the server: run the same command again to resume" is only said
when ListParts shows the upload still there and a checkpoint names it. An upload the
server no longer knows was completed or aborted by someone else: then the object is
compared with the file (size, ETag, CRC-64) and the line says whether it is already
there. When the server cannot be asked, the line says so.
"""

from __future__ import annotations

from ..client.client import Client
from ..protocol.errors import NoSuchUpload, OssError, ServiceError
from ..upload.already import find_source_object
from ..upload.ledger import SessionState
from ..upload.listing import list_all_parts
from ..upload.session import UploadSession
from ..upload.source import SourceChangedError

__all__ = ["COMPLETE_GRACE", "after_failure", "after_interrupt"]

COMPLETE_GRACE = 5.0
"""Seconds an interrupted run waits for the answer to a Complete already sent."""


def after_failure(client: Client, session: UploadSession, exc: OssError) -> str:
    """The error line for a run that failed with ``exc``."""
    text = f"{exc} {exc.hint}".strip() if isinstance(exc, ServiceError) else str(exc)
    if session.upload_id is None or session.state is SessionState.ABORTED:
        return text
    if isinstance(exc, SourceChangedError):
        return f"{text} — {_changed(session)}"
    return f"{text} — {_where(client, session, 'run the same command again to resume')}"


def after_interrupt(client: Client, session: UploadSession) -> str:
    """The error line for a run stopped by Ctrl-C or SIGTERM (after it was paused)."""
    if session.upload_id is None:
        return (
            f"interrupted before an upload ID came back: nothing was uploaded (an upload "
            f"initiated at that instant would show in `ossnb uploads list {session.url}`)"
        )
    if session.state in (SessionState.COMPLETING, SessionState.COMPLETED):
        try:  # Complete is usually quick: its answer says what is true
            receipt = session.wait(COMPLETE_GRACE)
        except (TimeoutError, OssError):
            pass
        else:
            return (
                f"interrupted, but Complete had been sent: {session.url} is completed and "
                f"verified (ETag {receipt.etag}, CRC-64 {receipt.crc64})"
            )
    if session.state is SessionState.COMPLETING:
        return (
            f"interrupted while CompleteMultipartUpload for upload ID {session.upload_id} "
            f"was in flight: the server may complete it yet. Run the same command again: it "
            f"checks whether {session.url} already holds this file, and resumes otherwise"
        )
    return f"interrupted; {_where(client, session, 'run the same command to resume')}"


def _abort_command(session: UploadSession) -> str:
    return f"`ossnb uploads abort {session.url} --upload-id {session.upload_id}`"


def _changed(session: UploadSession) -> str:
    checkpoint = session.checkpoint_path
    delete = f", delete {checkpoint}" if checkpoint is not None and checkpoint.exists() else ""
    return (
        f"upload ID {session.upload_id} holds parts of the file as it was: abort it with "
        f"{_abort_command(session)}{delete}, then upload the file again"
    )


def _where(client: Client, session: UploadSession, resume: str) -> str:
    """Where the upload is, as the server says (ListParts, then HEAD if it is gone)."""
    upload_id = session.upload_id
    assert upload_id is not None
    try:
        parts = list_all_parts(client, session.bucket, session.key, upload_id)
    except NoSuchUpload:
        return _gone(client, session)
    except OssError as exc:
        return (
            f"upload ID {upload_id} may still be on the server (it could not be asked: "
            f"{exc}): {_how(session, resume)}, or abort it with {_abort_command(session)}"
        )
    return (
        f"upload ID {upload_id} is kept on the server with {len(parts)} part(s): "
        f"{_how(session, resume)}, or abort it with {_abort_command(session)}"
    )


def _how(session: UploadSession, resume: str) -> str:
    checkpoint = session.checkpoint_path
    if checkpoint is not None and checkpoint.exists():
        return resume
    return f"resume with --upload-id {session.upload_id}"


def _gone(client: Client, session: UploadSession) -> str:
    gone = (
        f"upload ID {session.upload_id} is no longer on the server (completed or aborted, "
        "here or by another process)"
    )
    try:
        found = find_source_object(
            client, session.bucket, session.key, session.source, session.snapshot().rows
        )
    except OssError as exc:
        return f"{gone}; whether {session.url} holds this file could not be checked: {exc}"
    if found is None:
        return f"{gone}, and {session.url} does not hold this file: upload it again"
    return (
        f"{gone}, and {session.url} holds this file ({found.checked} match, ETag "
        f"{found.etag}): nothing more to do"
    )
