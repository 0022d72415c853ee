"""Argument types shared by the commands: each refuses a bad value naming its flag."""

from __future__ import annotations

import argparse

from ..protocol.errors import UsageError
from ..protocol.parts import parse_size

__all__ = ["part_size", "size", "workers"]


def size(text: str) -> int:
    """A size in bytes: ``1048576``, ``8MiB``, ``100KiB``."""
    try:
        return parse_size(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def part_size(text: str) -> int:
    """A part size: a size above 0 (the plan then checks OSS's limits)."""
    value = size(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 bytes, not {text!r} (e.g. 8MiB; OSS's minimum is 100KiB)"
        )
    return value


def workers(text: str) -> int:
    """A number of parallel parts: 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
