"""The engine's commands: ``ossnb upload``, ``uploads list|abort``, ``parts`` and ``demo``.

Each command takes the parsed arguments and returns an exit status: 0 only on success
(for ``upload``: a completed, verified object), 1 when something failed, 2 for bad
input, 130 when interrupted. A failure is one line on stderr saying what failed and
what to do. Progress goes to stderr through tqdm, driven from the main thread: worker
threads never print.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

from ..client.client import Client
from ..client.config import env_secrets
from ..connect import EmbeddedClient, create_missing_bucket, object_url, parse_oss_url
from ..protocol.errors import OssError, ServiceError, UsageError
from ..protocol.parts import format_size
from ..protocol.transcript import mask_text
from ..upload.listing import list_all_parts
from ..upload.session import DEFAULT_CHECKPOINT, UploadSession
from ..upload.stale import abort_older_than, abort_uploads, format_age, list_unfinished, parse_age
from . import arguments
from .connection import client_for, connection_options
from .console import print_parts, print_receipt, run_with_progress
from .outcome import after_failure, after_interrupt
from .program import cli_message

__all__ = ["add_parsers", "cmd_parts", "cmd_upload", "cmd_uploads_abort", "cmd_uploads_list"]

Command = Callable[[argparse.Namespace], int]


def add_parsers(subparsers: Any) -> None:
    """Register ``upload``, ``uploads list``, ``uploads abort``, ``parts`` and ``demo``."""
    from .demo import add_demo_parser

    up = subparsers.add_parser(
        "upload",
        help="multipart-upload a file (resumes if interrupted)",
        description="Upload PATH to oss://BUCKET/KEY in parallel parts, verified end to end. "
        "Credentials come from OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET. Interrupted, the same "
        "command resumes.",
    )
    up.add_argument("path", metavar="PATH")
    up.add_argument(
        "url", metavar="oss://BUCKET/KEY", help="or oss://BUCKET/DIR/: PATH's name in DIR"
    )
    connection_options(up)
    up.add_argument(
        "--part-size", type=arguments.part_size, help="bytes, or e.g. 8MiB (default 8MiB)"
    )
    up.add_argument(
        "--workers", type=arguments.workers, default=4, help="parallel parts (default %(default)s)"
    )
    where = up.add_mutually_exclusive_group()
    where.add_argument("--checkpoint", help="checkpoint file or folder (default: beside PATH)")
    where.add_argument("--no-checkpoint", action="store_true", help="do not write a checkpoint")
    up.add_argument("--upload-id", help="adopt this unfinished upload instead of starting one")
    up.add_argument("--receipt", metavar="FILE", help="write the JSON receipt to FILE")
    up.add_argument(
        "--checksum",
        choices=("md5", "crc64"),
        default="md5",
        help="md5: Content-MD5 and ETag checked (default); crc64: CRC-64 only, less CPU",
    )
    up.set_defaults(func=_guarded(cmd_upload))

    uploads = subparsers.add_parser("uploads", help="list or abort unfinished uploads")
    actions = uploads.add_subparsers(dest="uploads_command", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="unfinished uploads with age, parts and bytes")
    ls.add_argument("url", metavar="oss://BUCKET[/PREFIX]")
    connection_options(ls)
    ls.set_defaults(func=_guarded(cmd_uploads_list))
    ab = actions.add_parser(
        "abort", help="abort one upload (--upload-id) or all older than an age (--older-than)"
    )
    ab.add_argument("url", metavar="oss://BUCKET/KEY or oss://BUCKET[/PREFIX]")
    which = ab.add_mutually_exclusive_group(required=True)
    which.add_argument("--upload-id", help="the upload to abort (URL names its key)")
    which.add_argument("--older-than", metavar="AGE", help="e.g. 7d, 12h, 30m; 0 for all")
    connection_options(ab)
    ab.set_defaults(func=_guarded(cmd_uploads_abort))

    parts = subparsers.add_parser("parts", help="list the parts of an unfinished upload")
    parts.add_argument("url", metavar="oss://BUCKET/KEY")
    parts.add_argument("--upload-id", required=True)
    connection_options(parts)
    parts.set_defaults(func=_guarded(cmd_parts))

    add_demo_parser(subparsers, _guarded)


def _guarded(command: Command) -> Command:
    """Turn errors into one line on stderr and an exit status."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except UsageError as exc:
            _error(str(exc))
            return 2
        except ServiceError as exc:
            _error(f"{exc} {exc.hint}".strip())
            return 1
        except OssError as exc:
            _error(str(exc))
            return 1
        except OSError as exc:
            _error(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
            return 1
        except KeyboardInterrupt:
            _error("interrupted")
            return 130

    return run


def _error(text: str, err: TextIO | None = None) -> None:
    # the last line of defence: no rendering of a secret OSS_* value is ever printed
    text = mask_text(cli_message(text), env_secrets(), fragments=True)
    print(f"ossnb: error: {text}", file=err or sys.stderr, flush=True)


def _where(client: Client) -> str:
    if isinstance(client, EmbeddedClient):
        who = "embedded emulator" if client.emulator else f"emulator process {client.owner_pid}"
        return f"the {who} at {client.endpoint.url} (data in {client.data_dir})"
    return client.endpoint.url


def cmd_upload(args: argparse.Namespace) -> int:
    """``ossnb upload PATH oss://BUCKET/KEY``: upload, verify, print the parts and the result.
    ``oss://BUCKET/DIR/`` (or ``oss://BUCKET``) uploads into that folder under PATH's name."""
    target = object_url(args.url, args.path)
    client = client_for(args)
    if isinstance(client, EmbeddedClient) and create_missing_bucket(client, target.bucket):
        print(f"ossnb: created bucket {target.bucket} on {_where(client)}")
    checkpoint = None if args.no_checkpoint else (args.checkpoint or DEFAULT_CHECKPOINT)
    options: dict[str, Any] = {
        "part_size": args.part_size,
        "workers": args.workers,
        "checkpoint": checkpoint,
        "checksum": args.checksum,
    }
    if args.upload_id:
        session = UploadSession.adopt(
            client, args.path, target.bucket, target.key, args.upload_id, **options
        )
    else:
        session = UploadSession(client, args.path, target.bucket, target.key, **options)
    out = sys.stdout
    print(f"ossnb: {session.source.label} -> {session.url} on {_where(client)}", file=out)
    print(f"plan: {session.plan.describe()}", file=out)
    if session.checkpoint_path:
        print(f"checkpoint: {session.checkpoint_path}", file=out)
    out.flush()
    with _sigterm_as_interrupt():
        try:
            receipt = run_with_progress(session, out=out, err=sys.stderr)
        except KeyboardInterrupt:
            return _interrupted(client, session)
        except OssError as exc:
            _error(after_failure(client, session, exc))
            return 1
    print_parts(session.snapshot().rows, out)
    print_receipt(receipt, out)
    if args.receipt:
        print(f"receipt: {receipt.save(args.receipt)}", file=out)
    return 0


def _interrupted(client: Client, session: UploadSession) -> int:
    with contextlib.suppress(UsageError):  # not running (yet, or any more)
        session.pause()
    _error(after_interrupt(client, session))
    return 130


class _sigterm_as_interrupt:
    """SIGTERM (``kill``) stops an upload the way Ctrl-C does: pause, keep, say how to resume."""

    def __enter__(self) -> None:
        self._previous: Any = None
        try:
            self._previous = signal.signal(signal.SIGTERM, self._raise)
        except ValueError:  # not the main thread
            self._previous = None

    @staticmethod
    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def cmd_uploads_list(args: argparse.Namespace) -> int:
    """``ossnb uploads list oss://BUCKET[/PREFIX]``: a table of unfinished uploads."""
    target = parse_oss_url(args.url)
    uploads = list_unfinished(client_for(args), target.bucket, target.key)
    if not uploads:
        print(f"no unfinished uploads under {target}")
        return 0
    print(f"{'KEY':<40} {'UPLOAD ID':<34} {'INITIATED':<20} {'AGE':>8} {'PARTS':>6} {'SIZE':>11}")
    for u in uploads:
        print(
            f"{u.key:<40} {u.upload_id:<34} {u.initiated:%Y-%m-%d %H:%M:%S} "
            f"{format_age(u.age):>8} {u.parts:>6} {format_size(u.size):>11}"
        )
    total = sum(u.size for u in uploads)
    print(f"{len(uploads)} unfinished upload(s), {format_size(total)} in parts")
    return 0


def cmd_uploads_abort(args: argparse.Namespace) -> int:
    """``ossnb uploads abort``: one upload by ID, or all under a prefix older than an age."""
    client = client_for(args)
    if args.upload_id:
        target = parse_oss_url(args.url, need_key=True)
        outcomes = abort_uploads(client, target.bucket, [(target.key, args.upload_id)])
    else:
        target = parse_oss_url(args.url)
        age = parse_age(args.older_than)
        outcomes = abort_older_than(client, target.bucket, age, target.key)
        if not outcomes:
            print(f"no unfinished uploads under {target} older than {format_age(age)}")
    failed = 0
    for o in outcomes:
        if o.aborted:
            print(
                f"aborted {o.upload_id} (oss://{target.bucket}/{o.key}); the server holds no parts"
            )
        else:
            failed += 1
            _error(f"could not abort {o.upload_id} (oss://{target.bucket}/{o.key}): {o.error}")
    return 1 if failed else 0


def cmd_parts(args: argparse.Namespace) -> int:
    """``ossnb parts oss://BUCKET/KEY --upload-id ID``: what the server holds for an upload."""
    target = parse_oss_url(args.url, need_key=True)
    parts = list_all_parts(client_for(args), target.bucket, target.key, args.upload_id)
    print(f"{'PART':>6} {'SIZE':>11} {'ETAG':<36} {'CRC-64':>20}  LAST MODIFIED")
    for p in parts:
        print(
            f"{p.part_number:>6} {format_size(p.size):>11} {p.etag:<36} "
            f"{'' if p.crc64 is None else p.crc64:>20}  {p.last_modified:%Y-%m-%d %H:%M:%S}"
        )
    print(f"{len(parts)} part(s), {format_size(sum(p.size for p in parts))}")
    return 0
