"""What the parent and the child processes share: the job description and size units."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "DEV_KEY",
    "DEV_SECRET",
    "GIB",
    "KIB",
    "MIB",
    "REGION",
    "Job",
    "format_size",
    "parse_size",
]

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
DEV_KEY = "ossnb-dev-key"  # the emulator's published development credentials
DEV_SECRET = "ossnb-dev-secret"
REGION = "cn-hangzhou"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"1GiB"``, ``"8MiB"``, ``"4MB"`` or plain bytes; KiB/MiB/GiB are powers of 1024."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (e.g. 1GiB, 256MiB, 8MiB)")
    number, prefix, binary = match.groups()
    power = "KMGT".find(prefix.upper()) + 1 if prefix else 0
    base = 1024 if (binary or not prefix) else 1000
    return int(float(number) * base**power)


def format_size(n: float) -> str:
    """``1.0 GiB``, ``8.0 MiB``, ``512 B``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Job:
    """One upload for one child process: where to, what, and how."""

    contender: str
    endpoint: str
    bucket: str
    key: str
    path: str
    size: int
    part_size: int
    workers: int
    work_dir: str
    region: str = REGION
    access_key_id: str = DEV_KEY
    access_key_secret: str = DEV_SECRET
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Job:
        return cls(**json.loads(text))
