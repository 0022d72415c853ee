"""Unfinished uploads: find them (with age, part count and bytes) and abort them.

Parts of an upload that was never completed or aborted are stored, and billed, until
someone aborts it. :func:`list_unfinished` lists every unfinished upload of a bucket
(optionally under a prefix, all pages, docs/PROTOCOL.md §2.13) with its parts counted by ListParts;
:func:`abort_uploads` aborts a selection and :func:`abort_older_than` all uploads
older than an age. Each abort is confirmed by ListParts answering NoSuchUpload.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from msgspec import Struct

from ..protocol.errors import NoSuchUpload, OssError, UsageError
from .finish import abort_and_confirm
from .listing import Executor, list_all_parts, list_all_uploads

__all__ = [
    "AbortOutcome",
    "UnfinishedUpload",
    "abort_older_than",
    "abort_uploads",
    "format_age",
    "list_unfinished",
    "parse_age",
]


class UnfinishedUpload(Struct, frozen=True):
    """An upload that was initiated and neither completed nor aborted."""

    bucket: str
    key: str
    upload_id: str
    initiated: datetime
    age: timedelta
    parts: int
    size: int

    @property
    def url(self) -> str:
        return f"oss://{self.bucket}/{self.key}"


class AbortOutcome(Struct, frozen=True):
    """What happened to one upload: ``aborted`` (and confirmed gone) or ``error``."""

    key: str
    upload_id: str
    aborted: bool
    error: str | None = None


def list_unfinished(
    executor: Executor,
    bucket: str,
    prefix: str = "",
    *,
    now: datetime | None = None,
) -> list[UnfinishedUpload]:
    """Every unfinished upload in ``bucket`` under ``prefix``, oldest first."""
    now = now or datetime.now(timezone.utc)
    found = []
    for upload in list_all_uploads(executor, bucket, prefix):
        try:
            parts = list_all_parts(executor, bucket, upload.key, upload.upload_id)
        except NoSuchUpload:
            continue  # completed or aborted since the listing
        found.append(
            UnfinishedUpload(
                bucket=bucket,
                key=upload.key,
                upload_id=upload.upload_id,
                initiated=upload.initiated,
                age=max(timedelta(0), now - upload.initiated),
                parts=len(parts),
                size=sum(p.size for p in parts),
            )
        )
    return sorted(found, key=lambda u: (u.initiated, u.key, u.upload_id))


def abort_uploads(
    executor: Executor,
    bucket: str,
    uploads: Iterable[tuple[str, str]],
    *,
    missing_ok: bool = False,
) -> list[AbortOutcome]:
    """Abort each ``(key, upload_id)``; a failure is reported, not raised, so the rest go on.

    An upload the server does not know is a failure (NoSuchUpload: nothing was aborted)
    unless ``missing_ok`` (uploads listed a moment ago that finished since)."""
    outcomes = []
    for key, upload_id in uploads:
        try:
            abort_and_confirm(executor, bucket, key, upload_id, missing_ok=missing_ok)
        except OssError as exc:
            outcomes.append(AbortOutcome(key, upload_id, False, str(exc)))
        else:
            outcomes.append(AbortOutcome(key, upload_id, True))
    return outcomes


def abort_older_than(
    executor: Executor,
    bucket: str,
    age: timedelta,
    prefix: str = "",
    *,
    now: datetime | None = None,
) -> list[AbortOutcome]:
    """Abort every unfinished upload under ``prefix`` initiated more than ``age`` ago."""
    stale = [u for u in list_unfinished(executor, bucket, prefix, now=now) if u.age >= age]
    # listed a moment ago: one completed or aborted since then is gone, as asked
    return abort_uploads(executor, bucket, ((u.key, u.upload_id) for u in stale), missing_ok=True)


_AGE_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])", re.IGNORECASE)
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_age(text: str) -> timedelta:
    """``"7d"``, ``"12h"``, ``"1h30m"``, ``"90s"``, ``"2w"`` (or bare seconds) as a timedelta."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return timedelta(seconds=float(value))
    parts = _AGE_PART.findall(value)
    if not parts or _AGE_PART.sub("", value).strip():
        raise UsageError(f"not an age: {text!r} (write e.g. 7d, 12h, 30m, 1h30m)")
    return timedelta(seconds=sum(float(n) * _UNITS[u.lower()] for n, u in parts))


def format_age(age: timedelta) -> str:
    """Short and rounded: ``3d 4h``, ``5h 2m``, ``42s``."""
    seconds = int(age.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"
