"""Where the commands send requests: ``--endpoint``, ``--region``, ``--signature-version``
beside the ``OSS_*`` variables, with errors that name the command line's flags."""

from __future__ import annotations

import argparse

from ..client.client import Client
from ..client.config import settings_from_env
from ..connect import connect, settings_region
from ..protocol.errors import UsageError

__all__ = ["client_for", "connection_options"]


def connection_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--endpoint``, ``--region`` and ``--signature-version`` to ``parser``."""
    parser.add_argument(
        "--endpoint", help="OSS endpoint URL (default: OSS_ENDPOINT, else the local emulator)"
    )
    parser.add_argument(
        "--region",
        help="region for V4 signing (default: OSS_REGION, or the endpoint's host name)",
    )
    parser.add_argument(
        "--signature-version", type=int, choices=(1, 4), default=4, help="default %(default)s"
    )


def client_for(args: argparse.Namespace) -> Client:
    """The client the flags and ``OSS_*`` variables name (the local emulator if none)."""
    settings = settings_from_env()
    endpoint = args.endpoint or settings.endpoint
    region = args.region
    if endpoint is not None:
        if settings.credentials is None:
            raise UsageError(
                f"no credentials for {endpoint}: set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET"
            )
        region = region or settings_region(endpoint, settings)
        if args.signature_version == 4 and not region:
            raise UsageError(
                f"a region is needed for V4 signatures and cannot be read from {endpoint!r}: "
                "pass --region (e.g. --region cn-hangzhou) or set OSS_REGION"
            )
    return connect(endpoint, region=region, signature_version=args.signature_version)
