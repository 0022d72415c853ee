"""HTTP dates (``Mon, 15 Jan 2024 08:30:00 GMT``, docs/PROTOCOL.md §1.4).

Formatting needs no locale (``strftime``'s ``%a``/``%b`` follow it) and no ``email``
package. Parsing takes the form every server sends, IMF-fixdate, with one regular
expression; the obsolete forms HTTP still allows (RFC 850, asctime, numeric offsets)
go to the stdlib's ``email.utils``, imported only when one turns up (it costs ~10 ms
of start-up, for a form OSS never sends).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

__all__ = ["as_utc", "format_http_date", "parse_http_date"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FIXDATE = re.compile(
    rf"(?:{'|'.join(_DAYS)}), (\d\d) ({'|'.join(_MONTHS)}) (\d{{4}}) (\d\d):(\d\d):(\d\d) GMT"
)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def format_http_date(moment: datetime) -> str:
    """``moment`` as ``Wdy, DD Mon YYYY HH:MM:SS GMT`` (fractions of a second dropped)."""
    u = as_utc(moment)
    return (
        f"{_DAYS[u.weekday()]}, {u.day:02d} {_MONTHS[u.month - 1]} {u.year:04d} "
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d} GMT"
    )


def parse_http_date(text: str) -> datetime | None:
    """An HTTP date as an aware UTC datetime; ``None`` when it is not one."""
    text = text.strip()
    match = _FIXDATE.fullmatch(text)
    if match is not None:
        day, month, year, hour, minute, second = match.groups()
        try:
            return datetime(
                int(year), _MONTHS.index(month) + 1, int(day),
                int(hour), int(minute), int(second), tzinfo=timezone.utc,
            )  # fmt: skip
        except ValueError:  # 31 Feb, hour 25 ...
            return None
    from email.utils import parsedate_to_datetime

    try:  # huge years, offsets or digit strings raise any of these
        return as_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
