"""The emulator's connection limits: plain numbers, light to import (the CLI builds them
from its options before any server exists)."""

from __future__ import annotations

from msgspec import Struct

__all__ = ["ServerLimits"]


class ServerLimits(Struct, frozen=True):
    """Connection limits of the emulator's HTTP server (seconds, bytes per second)."""

    max_connections: int = 512
    """Connections served at once; more are answered 503 and closed."""
    idle_timeout: float = 120.0
    """Longest wait for the next request on a kept-alive connection, and for any read or write."""
    header_timeout: float = 30.0
    """From a request's first byte to the end of its headers."""
    body_timeout: float = 30.0
    """For the body: this long, plus one second per ``min_body_rate`` bytes received."""
    min_body_rate: int = 1024

    def __post_init__(self) -> None:
        times = (self.idle_timeout, self.header_timeout, self.body_timeout)
        if self.max_connections < 1 or self.min_body_rate < 1 or min(times) <= 0:
            raise ValueError(f"connection limits must be positive: {self}")
