"""Decimal numbers read from requests: one guarded parse for every one of them.

Python's ``int()`` accepts Unicode digits, signs, underscores and whitespace, and
refuses strings of more than 4,300 digits with a ``ValueError`` (its integer-string
limit). A number that arrives in a request goes through :func:`parse_uint` instead:
ASCII digits only, bounded length, and an answer (a value or ``None``) instead of
an exception, so the caller can answer with the OSS error that fits.
"""

from __future__ import annotations

__all__ = ["MAX_DIGITS", "parse_uint"]

MAX_DIGITS = 19
"""Significant digits that always fit a signed 64-bit integer."""


def parse_uint(
    text: str, *, max_digits: int = MAX_DIGITS, overflow: int | None = None
) -> int | None:
    """The non-negative decimal integer ``text`` spells, or ``None`` if it spells none.

    Only ASCII digits (no sign, space or ``_``); leading zeros are allowed. A number
    with more than ``max_digits`` significant digits gives ``overflow`` (``None`` unless
    given: e.g. ``1 << 63`` to mean "larger than anything") without converting it.
    """
    if not text or not text.isascii() or not text.isdigit():
        return None
    significant = text.lstrip("0")
    if len(significant) > max_digits:
        return overflow
    return int(significant or "0")
