"""Resuming an upload that is 90% done: ``python -m benchmarks.resume '<job json>'``.

Phase ``prepare`` (not measured) initiates an ossnb upload with a checkpoint, sends the
first 90% of its parts and exits without completing, as a dead kernel would. Phase
``resume`` (measured) builds a new session from the same checkpoint and runs it to the
end: ListParts, each part the server holds re-read and re-checked by CRC-64 (never
re-sent), the rest sent, Complete, HEAD. A counting source reports the bytes re-read.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .common import Job
from .measure import clock, run_main

__all__ = ["main"]

DONE_FRACTION = 0.9


def _session(job: Job, source: Any) -> Any:
    from ossnb.client.client import Client
    from ossnb.protocol.signing import Credentials
    from ossnb.upload.session import UploadSession

    client = Client(
        job.endpoint, Credentials(job.access_key_id, job.access_key_secret), region=job.region
    )
    checkpoint = os.path.join(job.work_dir, "resume.ossnb-checkpoint.json")
    return UploadSession(
        client,
        source,
        job.bucket,
        job.key,
        part_size=job.part_size,
        workers=job.workers,
        checkpoint=checkpoint,
    )


def prepare(job: Job) -> dict[str, Any]:
    session = _session(job, job.path)
    count = session.plan.part_count
    done = max(1, min(count - 1, int(count * DONE_FRACTION))) if count > 1 else 0
    session.initiate()
    with ThreadPoolExecutor(job.workers) as pool:
        list(pool.map(session.upload_part, range(1, done + 1)))
    return {"parts": count, "parts_done": done, "upload_id": session.upload_id}


def counting_source(path: str) -> tuple[Any, Callable[[], int]]:
    """An ossnb ``FileSource`` that counts the bytes read through it, and the counter.

    Wraps whichever read primitive the source has (``_read_into`` or ``_read``)."""
    from ossnb.upload.source import FileSource

    total = [0]
    wrapped: dict[str, Any] = {}
    if hasattr(FileSource, "_read_into"):

        def _read_into(self: Any, offset: int, view: memoryview) -> int:
            got: int = FileSource._read_into(self, offset, view)
            total[0] += got
            return got

        wrapped["_read_into"] = _read_into
    if hasattr(FileSource, "_read"):

        def _read(self: Any, offset: int, size: int) -> bytes:
            data: bytes = FileSource._read(self, offset, size)  # type: ignore[attr-defined]
            total[0] += len(data)
            return data

        wrapped["_read"] = _read
    counting = type("CountingSource", (FileSource,), wrapped)
    return counting(path), lambda: total[0]


def resume(job: Job) -> dict[str, Any]:
    source, bytes_read = counting_source(job.path)
    session = _session(job, source)
    if session.upload_id is None:
        raise RuntimeError("the checkpoint was not picked up: nothing to resume")
    before = bytes_read()  # the identity fingerprint, read at construction
    with clock() as took:
        session.start()
        receipt = session.wait()
    if not receipt.verified:
        raise RuntimeError(f"the resumed upload was not verified: {receipt.state}")
    return {
        **took.as_dict(),
        "bytes_read": bytes_read() - before,
        "bytes_sent": receipt.bytes_sent,
        "bytes_reused": receipt.bytes_reused,
        "parts_reused": sum(1 for p in receipt.parts if p.reused),
        "parts_sent": sum(1 for p in receipt.parts if not p.reused),
    }


def main(argv: list[str]) -> dict[str, Any]:
    job = Job.from_json(argv[0])
    phase = job.options.get("phase", "resume")
    result = prepare(job) if phase == "prepare" else resume(job)
    return {"contender": f"resume-{phase}", "bytes": job.size, **result}


if __name__ == "__main__":
    run_main(main)
