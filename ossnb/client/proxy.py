"""Which proxy, if any, a client's connections go through.

Read from the environment the way curl and ``requests`` (so oss2) read it:
``HTTPS_PROXY`` / ``HTTP_PROXY`` for the endpoint's scheme, else ``ALL_PROXY``, each in
lower or upper case, and ``NO_PROXY`` (a comma list of host names, domain suffixes,
addresses, or ``*``) to go direct. Loopback endpoints (``127.0.0.0/8``, ``::1``,
``localhost`` and ``*.localhost``: the embedded emulator) never go through a proxy,
which could not reach them. ``urllib.request`` does the reading, imported only when one
of those variables is set (it costs ~15 ms of start-up otherwise spent for nothing).
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import unquote, urlsplit

from ..protocol.errors import UsageError
from ..protocol.http import Masked

__all__ = ["Proxy", "proxy_for"]

_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


class Proxy(Masked, frozen=True):
    """A proxy's URL without its credentials, and the credentials (never shown)."""

    url: str
    auth: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"Proxy({self.url!r}{', auth=****' if self.auth else ''})"


def proxy_for(scheme: str, host: str) -> Proxy | None:
    """The proxy for connections to ``host`` over ``scheme``, or ``None`` to go direct."""
    if not any(name in os.environ or name.upper() in os.environ for name in _VARIABLES):
        return None
    if _loopback(host):
        return None
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    url = proxies.get(scheme) or proxies.get("all")
    if not url or urllib.request.proxy_bypass(host):  # NO_PROXY, as proxies are set
        return None
    return _parse(url)


def _parse(url: str) -> Proxy:
    text = url if "://" in url else f"http://{url}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"the proxy in the environment is not an http:// or https:// URL: "
            f"{parts.scheme}://{parts.hostname or ''} (check HTTPS_PROXY, HTTP_PROXY, ALL_PROXY)"
        )
    netloc = parts.netloc.rpartition("@")[2]
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    return Proxy(f"{parts.scheme}://{netloc}", auth)


def _loopback(host: str) -> bool:
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
