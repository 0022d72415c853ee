"""The HTTP client: ``execute(operation)`` builds, signs, sends (httpx's httpcore) and parses, with
retries, byte progress, cancel and a masked transcript; settings come from ``OSS_*``."""

from __future__ import annotations

from .client import Client, RetryPolicy
from .config import Settings, region_from_endpoint, settings_from_env

__all__ = ["Client", "RetryPolicy", "Settings", "region_from_endpoint", "settings_from_env"]
