"""What the engine needs from a client (:class:`Transport`) and listings read to the end.

Sessions and the stale-upload tools are typed against :class:`Transport`, not against
:class:`ossnb.client.client.Client`, so they never import the HTTP layer (docs/ARCHITECTURE.md §1).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol, TypeVar, runtime_checkable

from ..protocol.models import PartInfo, UploadInfo
from ..protocol.operations import ListMultipartUploads, ListParts, Operation
from ..protocol.transcript import Exchange

__all__ = [
    "Executor",
    "Presigner",
    "Transport",
    "endpoint_identity",
    "list_all_parts",
    "list_all_uploads",
]

T = TypeVar("T")


class Executor(Protocol):
    """Runs operations: ``progress`` gets byte deltas as a body goes out (negative on a
    retry's rewind); setting ``cancel`` stops a request in flight with ``Cancelled``."""

    def execute(
        self,
        operation: Operation[T],
        *,
        progress: Callable[[int], None] | None = ...,
        cancel: threading.Event | None = ...,
        retry: bool = ...,
    ) -> T: ...


class Transport(Executor, Protocol):
    """An :class:`Executor` that reports every HTTP exchange (``ossnb.client.client.Client`` is one).

    A transport may also have an ``identity`` string naming its endpoint for checkpoints
    (the embedded emulator's survives a port change); otherwise ``endpoint.url`` is used.
    """

    def add_listener(self, listener: Callable[[Exchange], None]) -> None: ...


@runtime_checkable
class Presigner(Protocol):
    """A transport that can also presign a request (``ossnb.client.client.Client`` can): the
    optional capability a remote carrier needs to hand out one UploadPart URL per part,
    so the credentials stay with the transport."""

    def presign(self, operation: Operation[object], expires_in: timedelta = ...) -> str: ...


def endpoint_identity(transport: object) -> str:
    """How a checkpoint names the transport's endpoint: ``identity``, else ``endpoint.url``."""
    identity = getattr(transport, "identity", None)
    if isinstance(identity, str) and identity:
        return identity
    url = getattr(getattr(transport, "endpoint", None), "url", None)
    if isinstance(url, str) and url:
        return url
    return type(transport).__name__


def list_all_parts(
    transport: Executor,
    bucket: str,
    key: str,
    upload_id: str,
    *,
    page_size: int | None = None,
) -> list[PartInfo]:
    """Every part of an upload, following ``NextPartNumberMarker`` (docs/PROTOCOL.md §2.14)."""
    parts: list[PartInfo] = []
    marker = 0
    while True:
        page = transport.execute(
            ListParts(
                bucket, key, upload_id, max_parts=page_size, part_number_marker=marker or None
            )
        )
        parts.extend(page.parts)
        if not page.is_truncated or page.next_part_number_marker <= marker:
            return sorted(parts, key=lambda p: p.part_number)
        marker = page.next_part_number_marker


def list_all_uploads(
    transport: Executor, bucket: str, prefix: str = "", *, page_size: int | None = None
) -> list[UploadInfo]:
    """Every unfinished upload in ``bucket`` under ``prefix``, by key then upload ID (docs/PROTOCOL.md §2.13)."""
    uploads: list[UploadInfo] = []
    key_marker = upload_id_marker = ""
    while True:
        page = transport.execute(
            ListMultipartUploads(
                bucket,
                prefix=prefix,
                key_marker=key_marker,
                upload_id_marker=upload_id_marker,
                max_uploads=page_size,
            )
        )
        uploads.extend(page.uploads)
        markers = (page.next_key_marker, page.next_upload_id_marker)
        if not page.is_truncated or markers == (key_marker, upload_id_marker):
            return uploads
        key_marker, upload_id_marker = markers
