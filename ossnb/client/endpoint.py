"""Where requests go and how patiently they are retried: :class:`Endpoint` (scheme, host,
path- or virtual-hosted style) and :class:`RetryPolicy` (full-jitter backoff)."""

from __future__ import annotations

import ipaddress
import random
from functools import lru_cache
from urllib.parse import urlsplit

from msgspec import Struct

from ..protocol.errors import UsageError
from ..protocol.http import Request

__all__ = ["DEFAULT_RETRY", "Endpoint", "RetryPolicy"]


class RetryPolicy(Struct, frozen=True):
    """How often and how patiently transient failures are retried (full jitter backoff)."""

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class Endpoint(Struct, frozen=True):
    """A parsed endpoint: scheme, host[:port], and whether buckets go in the path."""

    scheme: str
    netloc: str
    path_style: bool

    @classmethod
    def parse(cls, endpoint: str, path_style: bool | None = None) -> Endpoint:
        """``oss-cn-hangzhou.aliyuncs.com`` (https implied) or ``http://127.0.0.1:9000``.

        Path-style is chosen automatically for IP literals and ``localhost``.
        """
        text = endpoint.strip()
        if "://" not in text:
            text = "https://" + text
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"not an endpoint URL: {endpoint!r} (e.g. https://oss-cn-hangzhou.aliyuncs.com)"
            )
        if path_style is None:
            path_style = parts.hostname == "localhost" or _is_ip(parts.hostname)
        return cls(parts.scheme, parts.netloc, path_style)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    def host_and_path(self, request: Request) -> tuple[str, str]:
        """The Host and the path a request goes to."""
        if self.path_style or request.bucket is None:
            return self.netloc, request.path
        return f"{request.bucket}.{self.netloc}", request.virtual_path

    def connect_netloc(self, host: str) -> str:
        """Where to open the connection for ``host``.

        ``<bucket>.localhost`` is loopback by definition (RFC 6761 §6.3) but most
        resolvers (glibc) do not know it: connect to the endpoint itself and name the
        virtual host in the ``Host`` header only.
        """
        name = urlsplit(f"//{host}").hostname or ""
        endpoint_name = urlsplit(f"//{self.netloc}").hostname or ""
        if name.endswith(".localhost") and (
            endpoint_name == "localhost" or endpoint_name.endswith(".localhost")
        ):
            return self.netloc
        return host

    def connect_address(self, host: str) -> tuple[str, int]:
        """The host name (IPv6 without brackets) and port to connect to for ``host``
        (worked out once per host: it is asked for every request)."""
        return _connect_address(self, host)


@lru_cache(maxsize=256)
def _connect_address(endpoint: Endpoint, host: str) -> tuple[str, int]:
    return _address(endpoint.connect_netloc(host), endpoint.scheme)


def _address(netloc: str, scheme: str) -> tuple[str, int]:
    parts = urlsplit(f"//{netloc}")
    return parts.hostname or "", parts.port or (443 if scheme == "https" else 80)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


DEFAULT_RETRY = RetryPolicy()
