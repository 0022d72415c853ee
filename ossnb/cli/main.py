"""The ``ossnb`` command line: ``ossnb <subcommand> ...``.

Subcommands register themselves in :func:`build_parser`; each sets ``func`` to a
callable taking the parsed namespace and returning an exit code.

``ossnb serve`` runs the local OSS emulator until SIGINT/SIGTERM, after printing its
endpoint, region and credentials (the built-in development secret in clear, a
user-supplied one masked) and snippets for ``oss2`` and ``alibabacloud_oss_v2``.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ..emulator import (
    DEFAULT_DATA_DIR,
    DEFAULT_HOST,
    DEFAULT_REGION,
    DEV_ACCESS_KEY_ID,
    DEV_ACCESS_KEY_SECRET,
    Emulator,
    Fault,
    parse_fault,
    read_published,
)
from ..protocol.errors import ServiceError, UsageError
from .commands import add_parsers
from .serve_options import add_serve_options, serve_credentials, server_limits

__all__ = ["build_parser", "main"]


def _fault(text: str) -> Fault:
    try:
        return parse_fault(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ossnb", description="Alibaba Cloud OSS multipart upload, step by step."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the local OSS-compatible emulator",
        description="Run the local OSS-compatible emulator until Ctrl+C / SIGTERM.",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)")
    serve.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    serve.add_argument(
        "--data-dir",
        default=str(DEFAULT_DATA_DIR),
        help="where buckets, objects and uploads are kept (default %(default)s)",
    )
    serve.add_argument("--region", default=DEFAULT_REGION, help="region (default %(default)s)")
    serve.add_argument("--access-key-id", help="access key id to accept (default: the dev key)")
    serve.add_argument(
        "--access-key-secret",
        help="its secret (never printed, but other local users see it in ps: "
        "prefer --access-key-secret-file)",
    )
    serve.add_argument(
        "--bucket", action="append", default=[], metavar="NAME", help="create this bucket (repeat)"
    )
    serve.add_argument(
        "--base-domain",
        action="append",
        default=None,
        metavar="DOMAIN",
        help="virtual-hosted style: <bucket>.<DOMAIN> (repeat; default: localhost)",
    )
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault,
        metavar="SPEC",
        help="inject a fault, e.g. UploadPart@3x3=error:503 or GetObject=drop (repeat)",
    )
    serve.add_argument("--verbose", action="store_true", help="log one line per request")
    add_serve_options(serve)
    serve.set_defaults(func=_serve)
    add_parsers(commands)  # upload, uploads, parts, demo (ossnb/cli/commands.py)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        try:
            args.access_key_id, args.access_key_secret = serve_credentials(args)
        except ValueError as exc:
            parser.error(str(exc))
    code: int = args.func(args)
    return code


def _mask(secret: str) -> str:
    return "********"  # not a character of it, nor its length


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _banner(emu: Emulator, key_id: str, secret: str, buckets: Sequence[str]) -> str:
    dev = (key_id, secret) == (DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET)
    shown = f'"{secret}"' if dev else '"<your access key secret>"'
    bucket = buckets[0] if buckets else "my-bucket"
    note = "(built-in development credentials)" if dev else "(yours; not shown)"
    lines = [
        f"ossnb OSS emulator listening on {emu.endpoint}",
        f"  endpoint           {emu.endpoint}",
        f"  region             {emu.region}",
        f"  access key id      {key_id}",
        f"  access key secret  {secret if dev else _mask(secret)}   {note}",
        f"  data dir           {emu.data_dir}",
        f"  buckets            {', '.join(buckets) if buckets else '(none yet)'}",
        "",
        *_exports(emu, key_id, secret, dev),
        "",
        "oss2:",
        "    import oss2",
        f'    auth = oss2.AuthV4("{key_id}", {shown})',
        f'    bucket = oss2.Bucket(auth, "{emu.endpoint}", "{bucket}", region="{emu.region}")',
        "",
        "alibabacloud_oss_v2:",
        "    import alibabacloud_oss_v2 as oss",
        "    cfg = oss.config.load_default()",
        "    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(",
        f'        "{key_id}", {shown})',
        f'    cfg.region = "{emu.region}"',
        f'    cfg.endpoint = "{emu.endpoint}"',
        "    client = oss.Client(cfg)",
        "",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)


def _exports(emu: Emulator, key_id: str, secret: str, dev: bool) -> list[str]:
    """How ossnb finds this emulator: by itself on this data folder, else by OSS_*."""
    default = (Path.cwd() / DEFAULT_DATA_DIR).resolve() == emu.data_dir
    here = f" (the default, run from {Path.cwd()})" if default else " (connect(data_dir=...))"
    shown = secret if dev else '"<your access key secret>"'
    return [
        f"ossnb finds this emulator by itself when it uses the data folder {emu.data_dir}{here};",
        "anywhere else, point ossnb (and scripts reading OSS_* variables) at it with:",
        f"    export OSS_ENDPOINT={emu.endpoint} OSS_REGION={emu.region} "
        f"OSS_ACCESS_KEY_ID={key_id} OSS_ACCESS_KEY_SECRET={shown}",
    ]


def _in_use(data_dir: str) -> str:
    root = Path(data_dir).resolve()
    info = read_published(root)
    who = f"process {info.pid} at {info.endpoint}" if info else "another process"
    return (
        f"{root} is already served by {who} (ossnb serve, or a notebook's embedded emulator), "
        "which ossnb with no OSS_ENDPOINT uses by itself: stop it to serve the folder here, "
        "or pass another --data-dir"
    )


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(message)s",
        stream=sys.stderr,
    )
    from ..emulator.store import DataDirInUse

    key_id, secret = args.access_key_id, args.access_key_secret
    try:
        emu = Emulator(
            args.data_dir,
            host=args.host,
            port=args.port,
            region=args.region,
            access_key_id=key_id,
            access_key_secret=secret,
            buckets=args.bucket,
            base_domains=args.base_domain or ("localhost",),
            faults=args.fault,
            verbose=args.verbose,
            server_limits=server_limits(args),
        )
    except DataDirInUse:
        print(f"ossnb serve: {_in_use(args.data_dir)}", file=sys.stderr)
        return 1
    except (ServiceError, UsageError) as exc:  # UsageError: e.g. a bad secret
        print(f"ossnb serve: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            hint = f"port {args.port} is taken: pass another --port, or --port 0 for a free one"
        else:
            hint = (
                f"the data folder {args.data_dir} cannot be used ({exc.strerror}): "
                "pass --data-dir with a writable folder"
            )
        print(f"ossnb serve: {hint}", file=sys.stderr)
        return 1
    if not _is_loopback(args.host):
        print(
            f"WARNING: listening on {args.host}, not loopback: anyone who can reach this "
            "machine and knows the credentials can read and write its data.",
            file=sys.stderr,
            flush=True,
        )
    if args.fault:
        print(f"Faults armed: {', '.join(map(str, args.fault))}", file=sys.stderr, flush=True)
    emu.start()  # publishes the endpoint in the data folder before the banner says so
    print(_banner(emu, key_id, secret, args.bucket), flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        emu.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("ossnb emulator stopped.", flush=True)
    return 0
