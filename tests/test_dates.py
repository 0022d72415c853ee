"""HTTP dates: our locale-free formatter and IMF-fixdate parser agree with the stdlib's
``email.utils`` (the oracle) on every instant, and hand every other form to it."""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from ossnb.protocol.dates import format_http_date, parse_http_date

instants = st.datetimes(
    min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(lambda d: d.replace(tzinfo=timezone.utc))


@given(instants)
def test_format_matches_the_stdlib_and_parses_back(moment: datetime) -> None:
    text = format_http_date(moment)
    assert text == email.utils.format_datetime(moment.replace(microsecond=0), usegmt=True)
    assert parse_http_date(text) == moment.replace(microsecond=0)


def test_an_offset_moment_is_written_in_gmt() -> None:
    plus8 = datetime(2024, 1, 15, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    assert format_http_date(plus8) == "Mon, 15 Jan 2024 08:30:00 GMT"
    assert format_http_date(datetime(2024, 1, 15, 8, 30)) == "Mon, 15 Jan 2024 08:30:00 GMT"


def test_the_obsolete_forms_still_parse() -> None:
    want = datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)
    for text in (
        "Sunday, 06-Nov-94 08:49:37 GMT",  # RFC 850
        "Sun Nov  6 08:49:37 1994",  # asctime
        "Sun, 06 Nov 1994 16:49:37 +0800",  # a numeric offset
        "  Sun, 06 Nov 1994 08:49:37 GMT ",
    ):
        assert parse_http_date(text) == want, text


def test_what_is_not_a_date_is_none() -> None:
    for text in (
        "",
        "not a date",
        "Mon, 31 Feb 2024 08:30:00 GMT",
        "Mon, 15 Jan 2024 25:30:00 GMT",
        "Mon, 15 Jan 9999999999 08:30:00 GMT",
        "Mon, 15 Foo 2024 08:30:00 GMT",
    ):
        assert parse_http_date(text) is None, text
