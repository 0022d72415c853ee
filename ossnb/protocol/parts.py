"""Part planning: how a body of a given size is cut into multipart-upload parts.

The OSS limits are parameters (:class:`Limits`), never globals to patch: tests and the
emulator can use smaller ones.
"""

from __future__ import annotations

import math
import re

from msgspec import Struct

from .errors import UsageError

__all__ = [
    "DEFAULT_PART_SIZE",
    "KiB",
    "Limits",
    "MiB",
    "Part",
    "Plan",
    "format_size",
    "parse_size",
    "plan_parts",
]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
DEFAULT_PART_SIZE = 8 * MiB


class Limits(Struct, frozen=True):
    """OSS multipart limits (docs/PROTOCOL.md §3.1)."""

    min_part_size: int = 100 * KiB
    max_part_size: int = 5 * GiB
    max_parts: int = 10_000

    @property
    def max_object_size(self) -> int:
        return self.max_part_size * self.max_parts


OSS_LIMITS = Limits()


class Part(Struct, frozen=True):
    """One planned part: its number (from 1) and the byte range ``[offset, offset + size)``."""

    number: int
    offset: int
    size: int

    @property
    def end(self) -> int:
        """One past the last byte."""
        return self.offset + self.size

    @property
    def range_text(self) -> str:
        """``bytes a-b`` (inclusive), as HTTP ranges are written."""
        return f"bytes {self.offset}-{max(self.end - 1, self.offset)}"


class Plan(Struct, frozen=True):
    """How a body is cut into parts."""

    total_size: int
    part_size: int
    requested_part_size: int

    @property
    def part_count(self) -> int:
        return max(1, math.ceil(self.total_size / self.part_size))

    @property
    def grown(self) -> bool:
        """Whether the part size was raised to stay within the part-count limit."""
        return self.part_size != self.requested_part_size

    def part(self, number: int) -> Part:
        """Part ``number`` (1-based)."""
        if not 1 <= number <= self.part_count:
            raise UsageError(f"part number {number} is outside 1..{self.part_count}")
        offset = (number - 1) * self.part_size
        return Part(number, offset, min(self.part_size, self.total_size - offset))

    def parts(self) -> list[Part]:
        """All parts in order."""
        return [self.part(n) for n in range(1, self.part_count + 1)]


def plan_parts(
    total_size: int, part_size: int = DEFAULT_PART_SIZE, limits: Limits = OSS_LIMITS
) -> Plan:
    """Plan parts of ``part_size`` for ``total_size`` bytes, growing the size if needed.

    Every part but the last is at least ``limits.min_part_size``; the part size grows
    (in whole MiB) when more than ``limits.max_parts`` parts would be needed. A zero-byte
    body is one empty part.
    """
    if total_size < 0:
        raise UsageError(f"size must not be negative, got {total_size}")
    if part_size < limits.min_part_size:
        raise UsageError(
            f"part size {format_size(part_size)} is below the minimum of "
            f"{format_size(limits.min_part_size)}"
        )
    if part_size > limits.max_part_size:
        raise UsageError(
            f"part size {format_size(part_size)} is above the maximum of "
            f"{format_size(limits.max_part_size)}"
        )
    if total_size > limits.max_object_size:
        raise UsageError(
            f"{format_size(total_size)} is more than {limits.max_parts} parts of at most "
            f"{format_size(limits.max_part_size)} can hold"
        )
    size = part_size
    if math.ceil(total_size / size) > limits.max_parts:
        needed = math.ceil(total_size / limits.max_parts)
        unit = MiB if needed > MiB else KiB
        size = min(math.ceil(needed / unit) * unit, limits.max_part_size)
    return Plan(total_size=total_size, part_size=size, requested_part_size=part_size)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Parse ``"8MiB"``, ``"100KiB"``, ``"5MB"``, ``"1048576"`` into bytes.

    ``KiB``/``MiB``/``GiB`` are powers of 1024, ``KB``/``MB``/``GB`` powers of 1000.
    """
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"not a size: {text!r} (write bytes, or e.g. 8MiB, 100KiB, 1GiB)")
    number, prefix, binary = match.groups()
    power = "KMGT".find(prefix.upper()) + 1 if prefix else 0
    base = 1024 if (binary or not prefix) else 1000
    value = float(number) * base**power
    if value != int(value):
        raise UsageError(f"not a whole number of bytes: {text!r}")
    return int(value)


def format_size(n: float) -> str:
    """A short human size: ``8.0 MiB``, ``100.0 KiB``, ``512 B``."""
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")
