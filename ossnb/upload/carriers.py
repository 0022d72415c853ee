"""The carrier seam: what moves the bytes of an upload's parts.

A session plans, initiates, reconciles, completes and aborts; a *carrier* only moves
parts. ``session.start(carrier=...)`` hands it the pending part numbers and a
:class:`CarrierJob` (the upload target, the source, the ledger's recorder, the server's
copies of parts to re-check, and for remote carriers a way to presign UploadPart for
part N) and gets back a :class:`RunHandle` that the session starts, pauses, resumes,
stops and joins. :class:`LocalCarrier` (the default) sends from worker threads in this
process; :class:`ossnb.upload.dask_carrier.DaskCarrier` runs each part as a task on a
Dask cluster. Every carrier records through :class:`~.part_record.PartRecorder`, so the
ledger, the checkpoint and the widget do not care which one carried a part.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

from msgspec import Struct

from ..protocol.models import PartInfo
from .ledger import Event, Ledger
from .part_record import PartRecorder
from .source import Source
from .workers import WorkerPool

__all__ = ["Carrier", "CarrierJob", "LocalCarrier", "PartPresigner", "RunHandle"]


class RunHandle(Protocol):
    """A carrier's run over some parts (:class:`~.workers.WorkerPool` is one).

    ``pause`` takes no new parts and sends those in flight back to pending; ``stop``
    does the same for good; ``join`` waits for the run to end (every part done, or a
    failure, or stopped); ``failure`` is the first failure that ended it.
    """

    failure: BaseException | None

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        """The threads that report to the ledger (observers are called on them)."""
        ...

    def start(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, timeout: float | None = None) -> bool: ...
    def wait_while_paused(self) -> None: ...


class PartPresigner(Protocol):
    """A presigned UploadPart URL for part ``number``, valid for ``lifetime``."""

    def __call__(self, number: int, lifetime: timedelta, content_md5: str | None = None) -> str: ...


class CarrierJob(Struct, frozen=True):
    """What a carrier gets to move the parts of one upload.

    ``upload_id()`` is known once the run has initiated (before ``RunHandle.start``).
    ``reuse(n)`` hands over, once, the server's copy of part ``n`` found by ListParts (to
    re-check against the local bytes before reusing it). ``send_here(n, cancel)`` is the
    local path for one part (read, hash, reuse or send, verify, record). ``presign(n,
    lifetime, content_md5)`` is a presigned UploadPart URL for part ``n``; with
    ``content_md5`` the signature binds it, so the sender must send exactly that header.
    ``None`` when the transport cannot presign.
    """

    bucket: str
    key: str
    upload_id: Callable[[], str]
    source: Source | None  # None: the parts are produced elsewhere (on a cluster)
    part_size: int
    workers: int
    attempts: int
    ledger: Ledger
    emit: Callable[[Event], None]
    reuse: Callable[[int], PartInfo | None]
    send_here: Callable[[int, threading.Event], None]
    presign: PartPresigner | None = None

    def recorder(self, carrier: str) -> PartRecorder:
        """The ledger recorder for parts this carrier moves, labelled ``carrier``."""
        return PartRecorder(self.ledger, self.emit, carrier)


class Carrier(Protocol):
    """Moves parts: ``carry`` builds a run over ``numbers`` (it starts nothing yet)."""

    name: str

    def carry(self, numbers: Sequence[int], job: CarrierJob) -> RunHandle: ...


class LocalCarrier:
    """Parts sent from this process on ``plan.workers`` threads (the default carrier)."""

    name = "local"

    def carry(self, numbers: Sequence[int], job: CarrierJob) -> RunHandle:
        return WorkerPool(job.send_here, numbers, job.workers, name="ossnb-part")
