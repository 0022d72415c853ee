"""One-line notebook helpers: connect, build a session, and show it as a live widget.

Kept apart from :mod:`ossnb.connect` so the CLI never imports ipywidgets.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from .client import Client
from .connect import EmbeddedClient, connect, ensure_bucket, parse_oss_url, upload_session
from .protocol.cors import CorsConfig, CorsRule, GetBucketCors, PutBucketCors, render_config
from .protocol.errors import NoSuchCORSConfiguration
from .protocol.signing import Credentials
from .upload.browser_carrier import BrowserFile
from .upload.session import UploadSession
from .upload.source import SourceLike
from .widgets import StaleUploadsWidget, UploadWidget, widget_for
from .widgets.browser_upload import BrowserUploadView, CorsProblem

__all__ = ["browser_upload_widget", "stale_uploads_widget", "upload_widget"]

#: What a page must be allowed to send (Content-MD5) and read (the part's ETag and CRC-64).
PART_HEADERS = ("content-md5",)
EXPOSED = ("ETag", "x-oss-hash-crc64ecma", "x-oss-request-id")
BROWSER_CHECKPOINTS = os.path.join(".ossnb", "browser-uploads")


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


def browser_upload_widget(
    url: str,
    *,
    endpoint: str | None = None,
    region: str | None = None,
    credentials: Credentials | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    part_size: int | str | None = None,
    workers: int = 3,
    checkpoint: str | os.PathLike[str] = BROWSER_CHECKPOINTS,
    url_lifetime: timedelta = timedelta(minutes=15),
) -> BrowserUploadView:
    """Upload files from the user's own computer: the browser sends the parts straight to
    ``oss://bucket/prefix/`` with presigned URLs; the kernel keeps the credentials and steers.

    Each chosen file goes to ``prefix`` + its name (or to the key itself when ``url`` does
    not end in ``/``). The bucket's CORS rules must let this page PUT parts and read their
    ETag: on the embedded emulator the rule is added; elsewhere the widget shows the rule
    to add, and adds it when the credentials may. ``checkpoint`` is the folder that lets
    choosing the same file again (after a reload or a kernel restart) resume its upload.
    ``url_lifetime`` is how long each part's presigned URL is valid (signed just before
    its PUT; a fresh one is issued if it expires first).
    """
    target = parse_oss_url(url)
    client = connect(endpoint, region=region, credentials=credentials, data_dir=data_dir)
    embedded = isinstance(client, EmbeddedClient)
    if embedded:
        ensure_bucket(client, target.bucket)
    folder = os.fspath(checkpoint)

    def open_upload(file: BrowserFile, origin: str) -> UploadSession:
        check_cors(client, target.bucket, origin, fix=embedded)
        key = target.key + file.name if not target.key or target.key.endswith("/") else target.key
        os.makedirs(folder, exist_ok=True)
        return UploadSession(
            client, file, target.bucket, key, part_size=part_size, workers=workers,
            checkpoint=folder,
        )  # fmt: skip

    def add_rule(origin: str) -> str:
        _add_cors_rule(client, target.bucket, origin)
        return f"Added a CORS rule to {target.bucket} for {origin}: choose the files again."

    return BrowserUploadView(str(target), open_upload, add_rule, url_lifetime=url_lifetime)


def part_rule(origin: str) -> CorsRule:
    """The CORS rule a page at ``origin`` needs to send parts and read their ETags."""
    return CorsRule((origin,), ("PUT",), PART_HEADERS, EXPOSED, 600)


def check_cors(client: Client, bucket: str, origin: str, *, fix: bool = False) -> None:
    """Raise :class:`CorsProblem` unless ``bucket``'s CORS rules let a page at ``origin``
    PUT parts with Content-MD5 and read ETag and CRC-64; with ``fix``, add the rule."""
    config = _cors_config(client, bucket)
    rule = config.match(origin, "PUT", PART_HEADERS) if config else None
    exposed = {h.lower() for h in rule.expose} if rule else set()
    if rule is not None and {"etag", "x-oss-hash-crc64ecma"} <= exposed:
        return
    if fix:
        _add_cors_rule(client, bucket, origin)
        return
    needed = render_config(CorsConfig((part_rule(origin),))).decode()
    what = "has no CORS rules" if config is None else "has no CORS rule that fits"
    raise CorsProblem(
        f"The browser cannot send parts to {bucket}: the bucket {what} letting a page at "
        f"{origin} PUT with Content-MD5 and read ETag and x-oss-hash-crc64ecma. Add this "
        "rule (console, ossutil, or the button below if your keys may):",
        needed,
        can_add=True,
    )


def _cors_config(client: Client, bucket: str) -> CorsConfig | None:
    try:
        return client.execute(GetBucketCors(bucket))
    except NoSuchCORSConfiguration:
        return None


def _add_cors_rule(client: Client, bucket: str, origin: str) -> None:
    """Put the part rule first, keeping the bucket's other rules (at most 10 in all)."""
    config = _cors_config(client, bucket)
    kept = config.rules[:9] if config else ()
    vary = config.response_vary if config else False
    client.execute(PutBucketCors(bucket, CorsConfig((part_rule(origin), *kept), vary)))
