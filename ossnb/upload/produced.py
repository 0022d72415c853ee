"""One object from parts produced on a Dask cluster; nothing is gathered to the kernel.

::

    from ossnb import DaskCarrier
    from ossnb.upload.produced import upload_parts
    receipt = upload_parts(client, DaskCarrier(dask_client), "bucket", "data/all.bin",
                           [make_part_1, make_part_2, ...])      # or bag.to_delayed()

Part N is what the N-th producer returns (bytes-like): a function the cluster calls, or a
Dask delayed object (``collection.to_delayed()``: one partition a part, in order). The
parts are produced on the workers and stay there; only their sizes come back, and the
OSS limits (at most ``limits.max_parts`` parts, each but the last at least
``limits.min_part_size``, none above ``limits.max_part_size``) are checked before
anything is sent. Then the kernel initiates, and each part is hashed and PUT by a task on
the worker that holds it, with a presigned URL (:class:`~.dask_carrier.DaskCarrier`);
the kernel verifies and records each result and completes and verifies the object. On a
failure or an interrupt the upload is aborted (produced parts cannot be resumed from a
file) and the error raised. Every produced part is held in the cluster's memory until it
is sent.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ..cluster.part_task import produced_size
from ..protocol.errors import OssError, UsageError
from ..protocol.operations import (
    InitiateMultipartUpload,
    UploadPart,
    validate_bucket_name,
    validate_key,
)
from ..protocol.parts import OSS_LIMITS, Limits, Part, format_size
from .carriers import CarrierJob
from .dask_carrier import DaskCarrier, DaskRun
from .finish import abort_and_confirm, complete_and_verify
from .ledger import Event, Ledger, Observers
from .listing import Presigner, Transport, endpoint_identity
from .receipt import Receipt

__all__ = ["check_part_sizes", "upload_parts"]


def check_part_sizes(sizes: Sequence[int], limits: Limits = OSS_LIMITS) -> None:
    """Raise :class:`UsageError` unless ``sizes`` make a valid multipart upload."""
    if not 1 <= len(sizes) <= limits.max_parts:
        raise UsageError(f"{len(sizes)} parts: an upload has 1 to {limits.max_parts} parts")
    problems = []
    for number, size in enumerate(sizes, 1):
        if size < 0:
            problems.append(f"part {number} is not bytes-like")
        elif size > limits.max_part_size:
            problems.append(f"part {number} is {format_size(size)}, above the maximum")
        elif size < limits.min_part_size and number < len(sizes):
            problems.append(
                f"part {number} is {format_size(size)}, below the minimum of "
                f"{format_size(limits.min_part_size)} (only the last part may be smaller)"
            )
    if problems:
        shown = "; ".join(problems[:5]) + (" …" if len(problems) > 5 else "")
        raise UsageError(f"nothing was sent: {shown}. Produce larger parts, or merge them")


def upload_parts(
    transport: Transport,
    carrier: DaskCarrier,
    bucket: str,
    key: str,
    producers: Sequence[Any],
    *,
    limits: Limits = OSS_LIMITS,
    content_type: str | None = None,
    metadata: dict[str, str] | None = None,
    attempts: int = 3,
    observer: Callable[[Event], None] | None = None,
) -> Receipt:
    """Upload the parts ``producers`` make on the cluster as one object; return the receipt.

    ``observer`` gets the same events a session's observers get (from carrier threads).
    """
    bucket, key = validate_bucket_name(bucket), validate_key(key)
    if not isinstance(transport, Presigner):
        raise UsageError("parts produced on a cluster are sent with presigned URLs: use a Client")
    presigner: Presigner = transport
    if not 1 <= len(producers) <= limits.max_parts:
        raise UsageError(f"{len(producers)} producers: an upload has 1 to {limits.max_parts} parts")
    dask = carrier.client
    produced = _produce(dask, producers)
    try:
        tag = uuid.uuid4().hex[:8]
        keys = [f"ossnb-size-{n}-{tag}" for n in range(1, len(produced) + 1)]
        sizes = [int(s) for s in dask.gather(dask.map(produced_size, produced, key=keys))]
        check_part_sizes(sizes, limits)
    except BaseException:
        dask.cancel(produced)
        raise
    started = datetime.now(timezone.utc)
    initiate = InitiateMultipartUpload(
        bucket, key, content_type=content_type, metadata=metadata or {}
    )
    upload_id = transport.execute(initiate).upload_id
    offsets = _offsets(sizes)
    ledger = Ledger(Part(n, offsets[n - 1], size) for n, size in enumerate(sizes, 1))
    observers = Observers()
    if observer is not None:
        observers.subscribe(observer)

    def presign(number: int, lifetime: timedelta, content_md5: str | None = None) -> str:
        part = UploadPart(bucket, key, upload_id, number, b"", content_md5)
        return presigner.presign(part, expires_in=lifetime)

    job = CarrierJob(
        bucket=bucket,
        key=key,
        upload_id=lambda: upload_id,
        source=None,
        part_size=max(sizes),
        workers=1,
        attempts=attempts,
        ledger=ledger,
        emit=observers.emit,
        reuse=lambda number: None,
        send_here=_not_here,
        presign=presign,
    )
    run = DaskRun(carrier, range(1, len(sizes) + 1), job, produced=produced)
    try:
        run.start()
        run.join()
        if run.failure is not None:
            raise run.failure
        done = complete_and_verify(transport, bucket, key, upload_id, ledger.snapshot().rows)
    except BaseException:
        run.stop()
        abort_and_confirm(transport, bucket, key, upload_id)
        raise
    finally:
        dask.cancel(produced)  # release the parts held on the workers
    finished = datetime.now(timezone.utc)
    return Receipt.from_ledger(
        ledger.snapshot(),
        endpoint=endpoint_identity(transport),
        bucket=bucket,
        key=key,
        source=f"<{len(sizes)} parts produced on the cluster>",
        size=sum(sizes),
        part_size=max(sizes),
        upload_id=upload_id,
        state="completed",
        etag=done.etag,
        crc64=done.crc64,
        verified=True,
        started_at=started,
        finished_at=finished,
        elapsed_seconds=(finished - started).total_seconds(),
    )


def _produce(dask: Any, producers: Sequence[Any]) -> list[Any]:
    """A future on the cluster for each part: delayed objects computed, functions called."""
    if all(hasattr(p, "__dask_graph__") for p in producers):
        futures: list[Any] = dask.compute(list(producers))
        return futures
    if all(callable(p) for p in producers):
        tag = uuid.uuid4().hex[:8]
        return [
            dask.submit(fn, key=f"ossnb-produce-{n}-{tag}", pure=False)
            for n, fn in enumerate(producers, 1)
        ]
    raise UsageError(
        "producers must all be functions returning bytes, or all Dask delayed objects "
        "(e.g. collection.to_delayed())"
    )


def _offsets(sizes: Sequence[int]) -> list[int]:
    offsets: list[int] = []
    total = 0
    for size in sizes:
        offsets.append(total)
        total += size
    return offsets


def _not_here(number: int, cancel: threading.Event) -> None:
    raise OssError(f"part {number} was produced on the cluster; it cannot be sent from here")
