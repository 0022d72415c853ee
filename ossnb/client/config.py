"""Settings from the environment, read the way the official SDKs read them.

This is the only module that reads environment variables:
``OSS_ACCESS_KEY_ID``, ``OSS_ACCESS_KEY_SECRET``, ``OSS_SESSION_TOKEN`` (STS),
``OSS_ENDPOINT`` and ``OSS_REGION``. With no endpoint, ossnb uses its embedded
emulator.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from msgspec import Struct

from ..protocol.errors import UsageError
from ..protocol.signing import Credentials, check_credential

__all__ = ["Settings", "env_secrets", "region_from_endpoint", "settings_from_env"]

_SECRET_VARIABLES = ("OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN")

_REGION_IN_HOST = re.compile(r"^oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$")
# global endpoints whose name is not a region (transfer acceleration)
_NOT_REGIONS = frozenset({"accelerate", "accelerate-overseas"})


class Settings(Struct, frozen=True):
    """Where to send requests and as whom; ``endpoint`` None means the embedded emulator."""

    endpoint: str | None = None
    region: str | None = None
    credentials: Credentials | None = None


def region_from_endpoint(endpoint: str) -> str | None:
    """``cn-hangzhou`` for ``https://oss-cn-hangzhou.aliyuncs.com``; None when it cannot tell."""
    host = re.sub(r"^[a-z]+://", "", endpoint.strip().lower()).split("/", 1)[0].split(":", 1)[0]
    match = _REGION_IN_HOST.match(host)
    if match is None or match.group(1) in _NOT_REGIONS:
        return None
    return match.group(1)


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Read OSS_* variables. A key id without a secret (or the reverse), a session
    token without both, or a value that cannot be a credential (a line break, a
    non-ASCII character) is a :class:`UsageError` naming the variable, never its value."""
    env = os.environ if environ is None else environ
    key_id = env.get("OSS_ACCESS_KEY_ID", "").strip()
    secret = env.get("OSS_ACCESS_KEY_SECRET", "").strip()
    token = env.get("OSS_SESSION_TOKEN", "").strip() or None
    if bool(key_id) != bool(secret):
        missing = "OSS_ACCESS_KEY_SECRET" if key_id else "OSS_ACCESS_KEY_ID"
        raise UsageError(
            f"{missing} is not set (set both OSS_ACCESS_KEY_ID and "
            "OSS_ACCESS_KEY_SECRET, or neither to use the local emulator)"
        )
    if token and not key_id:
        raise UsageError(
            "OSS_SESSION_TOKEN is set but OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET are "
            "not: an STS token comes with its temporary key pair"
        )
    for name, value in (
        ("OSS_ACCESS_KEY_ID", key_id),
        ("OSS_ACCESS_KEY_SECRET", secret),
        ("OSS_SESSION_TOKEN", token),
    ):
        if value:
            check_credential(name, value)  # one line naming the variable, never its value
    credentials = Credentials(key_id, secret, token) if key_id else None
    endpoint = env.get("OSS_ENDPOINT", "").strip() or None
    region = env.get("OSS_REGION", "").strip() or None
    if endpoint and not region:
        region = region_from_endpoint(endpoint)
    return Settings(endpoint=endpoint, region=region, credentials=credentials)


def env_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The values of the secret ``OSS_*`` variables (as set and stripped), for masking
    whatever is printed, whether or not they were valid credentials."""
    env = os.environ if environ is None else environ
    values = []
    for name in _SECRET_VARIABLES:
        value = env.get(name, "")
        values += [value, value.strip()]
    return tuple(v for v in dict.fromkeys(values) if v)
