"""One-line notebook helpers: connect, build a session, and show it as a live widget.

Kept apart from :mod:`ossnb.connect` so the CLI never imports ipywidgets.
"""

from __future__ import annotations

import os
from typing import Any

from .connect import connect, upload_session
from .protocol.signing import Credentials
from .upload.source import SourceLike
from .widgets import StaleUploadsWidget, UploadWidget, widget_for

__all__ = ["stale_uploads_widget", "upload_widget"]


def upload_widget(source: SourceLike, url: str, **options: Any) -> UploadWidget:
    """The live widget of a new (or resumed) upload of ``source`` to ``oss://bucket/key``.

    Uses the embedded emulator when nothing is configured; ``options`` are those of
    :func:`ossnb.connect.upload_session` (``part_size``, ``workers``, ``checkpoint`` …).
    Nothing is sent until a button (or ``widget.session.start()``) says so.
    """
    return widget_for(upload_session(source, url, **options))


def stale_uploads_widget(
    bucket: str,
    prefix: str = "",
    *,
    endpoint: str | None = None,
    region: str | None = None,
    credentials: Credentials | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> StaleUploadsWidget:
    """A view of the unfinished uploads in ``bucket`` (under ``prefix``), with abort buttons."""
    client = connect(endpoint, region=region, credentials=credentials, data_dir=data_dir)
    return StaleUploadsWidget(client, bucket, prefix)
