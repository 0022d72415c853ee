"""``ossnb demo``: the three steps of a multipart upload, live, on the embedded emulator.

Nothing to configure: it starts the emulator, makes a bucket and a test file of some
tens of MiB, then shows InitiateMultipartUpload (the upload ID), UploadPart on parallel
workers (progress, then each part's ETag and CRC-64), CompleteMultipartUpload, and the
verification: HEAD, then the object read back and compared byte for byte.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..connect import embedded_client
from ..protocol.checksums import crc64
from ..protocol.errors import IntegrityError
from ..protocol.operations import GetObject, PutBucket
from ..protocol.parts import MiB, format_size
from ..upload.checkpoint import default_checkpoint_path
from ..upload.ledger import Event, StateChanged
from ..upload.session import UploadSession
from . import arguments
from .console import default_note, print_parts, print_receipt, run_with_progress
from .program import ossnb_command

__all__ = ["add_demo_parser", "cmd_demo"]

BUCKET = "ossnb-demo"


def add_demo_parser(subparsers: Any, guard: Callable[[Any], Any]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="walk through a multipart upload on the embedded emulator",
        description="Start the embedded OSS emulator, make a bucket and a test file, and walk "
        "the three steps of a multipart upload visibly. Needs no account or configuration.",
    )
    demo.add_argument(
        "--size", type=arguments.size, default=40 * MiB, help="test file size (40MiB)"
    )
    demo.add_argument(
        "--part-size", type=arguments.part_size, default=8 * MiB, help="part size (8MiB)"
    )
    demo.add_argument("--workers", type=arguments.workers, default=4, help="parallel parts (4)")
    demo.add_argument(
        "--data-dir", default=".ossnb", help="folder for the emulator and the test file (.ossnb)"
    )
    demo.set_defaults(func=guard(cmd_demo))


def _narrate(event: Event) -> str | None:
    if isinstance(event, StateChanged) and event.new.value == "completing":
        return "\nStep 3 - CompleteMultipartUpload: the part numbers and ETags, in order"
    return default_note(event)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo; 0 when the object was completed, verified and read back identical."""
    out = sys.stdout
    root = Path(args.data_dir).resolve()
    client = embedded_client(root / "emulator")  # never a real account

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    shared = "" if client.emulator else f", served by process {client.owner_pid}"
    say(
        f"OSS emulator: {client.endpoint.url} (region {client.region}, data in "
        f"{client.data_dir}{shared})"
    )
    client.execute(PutBucket(BUCKET))
    say(f"bucket: {BUCKET}")
    source = root / "demo" / f"demo-{format_size(args.size).replace(' ', '')}.bin"
    source.parent.mkdir(parents=True, exist_ok=True)
    default_checkpoint_path(source).unlink(missing_ok=True)  # a fresh file: a fresh upload
    with open(source, "wb") as handle:
        remaining = args.size
        while remaining:
            chunk = os.urandom(min(remaining, 8 * MiB))
            handle.write(chunk)
            remaining -= len(chunk)
    say(f"test file: {source} ({format_size(args.size)} of random bytes)")

    session = UploadSession(
        client,
        source,
        BUCKET,
        f"demo/{source.name}",
        part_size=args.part_size,
        workers=args.workers,
    )
    say(f"\nPlan (nothing sent yet): {session.plan.describe()}")
    say("\nStep 1 - InitiateMultipartUpload: OSS hands out an upload ID")
    say(f"upload ID: {session.initiate()}")
    say(f"checkpoint (to resume after a crash): {session.checkpoint_path}")
    say(
        f"\nStep 2 - UploadPart x {session.plan.part_count}: {args.workers} workers send parts "
        "with Content-MD5; each ETag is checked against the local MD5, each CRC-64 against "
        "x-oss-hash-crc64ecma"
    )
    receipt = run_with_progress(session, out=out, err=sys.stderr, note=_narrate)
    print_parts(session.snapshot().rows, out)
    print_receipt(receipt, out)

    say("\nVerification - GET the object back and compare with the file")
    body = client.execute(GetObject(BUCKET, session.key)).body
    local = source.read_bytes()
    if body != local:
        raise IntegrityError(f"the object read back differs from {source}")
    say(f"read back {format_size(len(body))}: identical bytes, CRC-64 {crc64(body)}")
    ossnb = ossnb_command()
    say(
        f"\nNext: `{ossnb} uploads list oss://ossnb-demo` lists unfinished uploads, "
        f"`{ossnb} upload FILE oss://ossnb-demo/KEY` uploads your own file."
    )
    return 0
