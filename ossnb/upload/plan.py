"""The plan shown before anything is sent: part size and count, workers, peak memory."""

from __future__ import annotations

from msgspec import Struct

from ..protocol.parts import DEFAULT_PART_SIZE, Limits, Part, format_size, plan_parts

__all__ = ["UploadPlan", "make_plan"]


class UploadPlan(Struct, frozen=True):
    """How the source will be cut and sent.

    The part size is grown automatically to stay within ``limits.max_parts``; every part
    but the last is at least ``limits.min_part_size`` (docs/PROTOCOL.md §3.1).
    """

    source: str
    size: int
    part_size: int
    requested_part_size: int
    part_count: int
    last_part_size: int
    workers: int

    @property
    def grown(self) -> bool:
        """The part size was raised to stay within the part-count limit."""
        return self.part_size != self.requested_part_size

    @property
    def peak_memory(self) -> int:
        """Part buffers held at once: workers × part size (bounded by the part count)."""
        return min(self.workers, self.part_count) * self.part_size

    def expected_seconds(self, bytes_per_second: float) -> float:
        """Time to send everything at a given rate (docs/ARCHITECTURE.md §5: ~500 MiB/s on loopback)."""
        return self.size / bytes_per_second if bytes_per_second > 0 else float("inf")

    def describe(self) -> str:
        """One line: ``40.0 MiB in 5 part(s) of 8.0 MiB; 4 worker(s), peak memory 32.0 MiB``."""
        grown = f" (grown from {format_size(self.requested_part_size)})" if self.grown else ""
        last = ""
        if self.last_part_size != self.part_size:
            last = f", last part {format_size(self.last_part_size)}"
        return (
            f"{format_size(self.size)} in {self.part_count} part(s) of "
            f"{format_size(self.part_size)}{grown}{last}; {self.workers} worker(s), "
            f"peak memory {format_size(self.peak_memory)}"
        )


def make_plan(
    label: str, size: int, part_size: int | None, workers: int, limits: Limits
) -> tuple[UploadPlan, list[Part]]:
    """The plan and its parts for ``size`` bytes (``part_size`` None: 8 MiB)."""
    plan = plan_parts(size, DEFAULT_PART_SIZE if part_size is None else part_size, limits)
    parts = plan.parts()
    view = UploadPlan(
        label,
        size,
        plan.part_size,
        plan.requested_part_size,
        plan.part_count,
        parts[-1].size,
        workers,
    )
    return view, parts
