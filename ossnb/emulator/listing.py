"""Paging with prefix, delimiter and markers, shared by object and upload listings.

docs/PROTOCOL.md §2.7 and §2.13: entries in UTF-8 byte order (code-point order for ``str``), only
those under ``prefix``; with a delimiter, names holding it after the prefix roll up
into one common prefix; ``limit`` bounds entries and prefixes together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from msgspec import Struct, field

__all__ = ["PAST", "Page", "common_prefix", "paginate"]

T = TypeVar("T")
Scan = Callable[[str], Iterator[tuple[str, T]]]
"""``scan(after)`` yields ``(name, item)`` with ``name > after`` (and ``>= prefix``) in order."""

PAST = "\U0010ffff"
"""Sorts after any valid name: ``name + PAST`` is past every name starting with ``name``."""


class Page(Generic[T], Struct):
    """One page of a listing; ``last`` is the final name or prefix returned (``""`` if none)."""

    entries: list[tuple[str, T]] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str = ""
    last_is_prefix: bool = False


def common_prefix(name: str, prefix: str, delimiter: str) -> str | None:
    """The common prefix ``name`` rolls up into, or ``None`` if it is listed by itself."""
    if not delimiter or not name.startswith(prefix):
        return None
    at = name.find(delimiter, len(prefix))
    return None if at < 0 else name[: at + len(delimiter)]


def paginate(
    scan: Scan[T],
    *,
    prefix: str,
    delimiter: str,
    after: str,
    limit: int,
    first: Iterator[tuple[str, T]] | None = None,
) -> Page[T]:
    """Collect one page from ``scan(after)``, or from ``first`` when the caller's marker
    is finer than a name (upload listings resume at a key *and* an upload ID).

    A marker inside a common prefix means that whole prefix was already reported,
    so the scan skips past it.
    """
    skipped = common_prefix(after, prefix, delimiter) if after else None
    if skipped is not None:
        rows: Iterator[tuple[str, T]] = scan(max(after, skipped + PAST))
    else:
        rows = scan(after) if first is None else first
    return _collect(scan, rows, prefix, delimiter, limit)


def _collect(
    scan: Scan[T], rows: Iterator[tuple[str, T]], prefix: str, delimiter: str, limit: int
) -> Page[T]:
    page: Page[T] = Page()
    count = 0
    while True:
        row = next(rows, None)
        if row is None:
            return page
        name = row[0]
        if not name.startswith(prefix):
            if name < prefix:
                continue
            return page
        rolled = common_prefix(name, prefix, delimiter)
        if rolled is not None and page.last_is_prefix and rolled == page.last:
            continue
        if count >= limit:
            page.truncated = True
            return page
        count += 1
        if rolled is not None:
            page.prefixes.append(rolled)
            page.last, page.last_is_prefix = rolled, True
            rows = scan(rolled + PAST)
        else:
            page.entries.append(row)
            page.last, page.last_is_prefix = name, False
