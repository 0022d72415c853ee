"""``ossnb serve`` options for its credentials and connection limits.

The secret can come from ``--access-key-secret`` (visible to every local user in
``ps``), from a file (``--access-key-secret-file``) or from the environment
(``OSSNB_EMULATOR_ACCESS_KEY_SECRET``, with ``OSSNB_EMULATOR_ACCESS_KEY_ID``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from ..emulator import DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET, ServerLimits

__all__ = ["ENV_KEY_ID", "ENV_SECRET", "add_serve_options", "serve_credentials", "server_limits"]

ENV_KEY_ID = "OSSNB_EMULATOR_ACCESS_KEY_ID"
ENV_SECRET = "OSSNB_EMULATOR_ACCESS_KEY_SECRET"
_DEFAULTS = ServerLimits()


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    """Add ``--access-key-secret-file`` and the connection-limit options to ``serve``."""
    serve.add_argument(
        "--access-key-secret-file",
        metavar="PATH",
        help=f"read the secret from this file (first line); or set {ENV_SECRET} "
        f"(and {ENV_KEY_ID}) in the environment",
    )
    limits = serve.add_argument_group("connection limits (slow or hostile clients)")
    limits.add_argument(
        "--max-connections",
        type=_positive(int),
        default=_DEFAULTS.max_connections,
        metavar="N",
        help="connections served at once; more get 503 (default %(default)s)",
    )
    limits.add_argument(
        "--idle-timeout",
        type=_positive(float),
        default=_DEFAULTS.idle_timeout,
        metavar="SECONDS",
        help="close a kept-alive connection idle this long (default %(default)s)",
    )
    limits.add_argument(
        "--header-timeout",
        type=_positive(float),
        default=_DEFAULTS.header_timeout,
        metavar="SECONDS",
        help="a request's line and headers must arrive within this (default %(default)s)",
    )
    limits.add_argument(
        "--body-timeout",
        type=_positive(float),
        default=_DEFAULTS.body_timeout,
        metavar="SECONDS",
        help=f"a body must arrive within this plus 1 s per {_DEFAULTS.min_body_rate} bytes "
        "(default %(default)s)",
    )


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
        return value

    return parse


def server_limits(args: argparse.Namespace) -> ServerLimits:
    return ServerLimits(
        max_connections=args.max_connections,
        idle_timeout=args.idle_timeout,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
    )


def serve_credentials(args: argparse.Namespace) -> tuple[str, str]:
    """``(access key id, secret)`` to accept; ``ValueError`` (one line, no secret) if unusable.

    The command line wins over the environment; without either, the development pair.
    """
    if args.access_key_secret is not None and args.access_key_secret_file is not None:
        raise ValueError("give --access-key-secret or --access-key-secret-file, not both")
    secret = args.access_key_secret
    if args.access_key_secret_file is not None:
        secret = _read_secret(args.access_key_secret_file)
    from_env = secret is None and os.environ.get(ENV_SECRET) is not None
    if secret is None:
        secret = os.environ.get(ENV_SECRET)
    key_id = args.access_key_id or os.environ.get(ENV_KEY_ID)
    if key_id is None and secret is None:
        return DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET
    if key_id is None:
        where = ENV_SECRET if from_env else "the secret"
        raise ValueError(f"{where} is set: give --access-key-id (or {ENV_KEY_ID}) with it")
    if secret is None:
        raise ValueError(
            "--access-key-id needs its secret: --access-key-secret-file PATH, "
            f"{ENV_SECRET}, or --access-key-secret"
        )
    if not key_id.strip() or not secret:
        raise ValueError("the access key id and its secret must not be empty")
    return key_id, secret


def _read_secret(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            line = file.readline(4096)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ValueError(f"cannot read --access-key-secret-file {path}: {reason}") from None
    secret = line.strip()
    if not secret:
        raise ValueError(f"--access-key-secret-file {path} is empty")
    return secret
