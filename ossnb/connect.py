"""The composition root: real OSS or the embedded emulator, and one-line helpers.

::

    client = connect()                                   # no OSS_ENDPOINT: the local emulator
    client = connect("https://oss-cn-hangzhou.aliyuncs.com")  # keys from OSS_ACCESS_KEY_*
    session = upload_session("big.bin", "oss://demo/big.bin")  # connect + bucket + session

With no endpoint (argument or ``OSS_ENDPOINT``) :func:`connect` starts the embedded
emulator on 127.0.0.1 in a background thread, or reuses the one this process already
runs for the same data folder, and signs with its development keys. Its checkpoint
identity is ``embedded:<data folder>``, so an upload resumes after a restart even
though the port changed.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .client.client import Client
from .client.config import region_from_endpoint, settings_from_env
from .protocol.errors import UsageError
from .protocol.operations import GetBucketInfo, PutBucket, validate_bucket_name, validate_key
from .protocol.signing import Credentials

if TYPE_CHECKING:  # the emulator is imported only when one is started (not for real OSS)
    from .emulator import Emulator
    from .upload.session import UploadSession
    from .upload.source import SourceLike

__all__ = [
    "EmbeddedClient",
    "OssUrl",
    "connect",
    "embedded_emulator",
    "ensure_bucket",
    "parse_oss_url",
    "stop_embedded",
    "upload_session",
]

_lock = threading.Lock()
_emulators: dict[Path, Emulator] = {}


class EmbeddedClient(Client):
    """A :class:`Client` for the embedded emulator; ``identity`` names its data folder."""

    def __init__(self, emulator: Emulator, **options: Any) -> None:
        from .emulator import DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET

        credentials = Credentials(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET)
        super().__init__(emulator.endpoint, credentials, region=emulator.region, **options)
        self.emulator = emulator
        self.identity = f"embedded:{emulator.data_dir}"

    def __repr__(self) -> str:
        return f"EmbeddedClient(endpoint={self.endpoint.url!r}, data_dir={str(self.emulator.data_dir)!r})"


def embedded_emulator(data_dir: str | os.PathLike[str] | None = None) -> Emulator:
    """The emulator this process runs for ``data_dir`` (default ``./.ossnb/emulator``), started
    on a free port of 127.0.0.1 the first time it is asked for."""
    from .emulator import DEFAULT_DATA_DIR, DEFAULT_REGION, DataDirInUse, Emulator

    root = Path(data_dir if data_dir is not None else DEFAULT_DATA_DIR).resolve()
    with _lock:
        running = _emulators.get(root)
        if running is not None:
            return running
        try:
            emulator = Emulator(root, region=DEFAULT_REGION).start()
        except DataDirInUse:
            raise UsageError(
                f"{root} is used by another ossnb emulator process; point OSS_ENDPOINT at that "
                "one (see `ossnb serve`), or use another data folder"
            ) from None
        _emulators[root] = emulator
        return emulator


def stop_embedded(data_dir: str | os.PathLike[str] | None = None) -> None:
    """Stop the embedded emulator this process runs for ``data_dir``, if any (its data stays)."""
    from .emulator import DEFAULT_DATA_DIR

    root = Path(data_dir if data_dir is not None else DEFAULT_DATA_DIR).resolve()
    with _lock:
        emulator = _emulators.pop(root, None)
    if emulator is not None:
        emulator.stop()


def connect(
    endpoint: str | None = None,
    *,
    region: str | None = None,
    credentials: Credentials | None = None,
    signature_version: int = 4,
    data_dir: str | os.PathLike[str] | None = None,
    **client_options: Any,
) -> Client:
    """A client for real OSS or, with no endpoint anywhere, for the embedded emulator.

    The endpoint, region and keys come from the arguments, else from ``OSS_ENDPOINT``,
    ``OSS_REGION`` (or the endpoint's host name), ``OSS_ACCESS_KEY_ID`` /
    ``OSS_ACCESS_KEY_SECRET`` / ``OSS_SESSION_TOKEN``. The embedded emulator keeps its
    data in ``data_dir`` (default ``./.ossnb/emulator``) and uses its development keys.
    """
    settings = settings_from_env()
    endpoint = endpoint or settings.endpoint
    if endpoint is None:
        emulator = embedded_emulator(data_dir)
        return EmbeddedClient(emulator, signature_version=signature_version, **client_options)
    credentials = credentials or settings.credentials
    if credentials is None:
        raise UsageError(
            f"no credentials for {endpoint}: set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET "
            "(or pass credentials=)"
        )
    if region is None:
        region = settings.region if endpoint == settings.endpoint else None
        region = region or region_from_endpoint(endpoint)
    return Client(
        endpoint,
        credentials,
        region=region,
        signature_version=signature_version,
        **client_options,
    )


@dataclass(frozen=True)
class OssUrl:
    """``oss://bucket/key``: the key may be empty (a bucket, or a prefix)."""

    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"oss://{self.bucket}/{self.key}"


def parse_oss_url(url: str, *, need_key: bool = False) -> OssUrl:
    """Split ``oss://bucket/key`` (or ``oss://bucket/prefix``, ``oss://bucket``)."""
    if not isinstance(url, str) or not url.startswith("oss://"):
        raise UsageError(f"expected oss://BUCKET/KEY, got {url!r}")
    bucket, _, key = url[len("oss://") :].partition("/")
    validate_bucket_name(bucket)
    if need_key:
        if not key:
            raise UsageError(f"{url!r} names no object: write oss://{bucket}/KEY")
        validate_key(key)
    return OssUrl(bucket, key)


def upload_session(
    source: SourceLike,
    url: str,
    *,
    endpoint: str | None = None,
    region: str | None = None,
    credentials: Credentials | None = None,
    signature_version: int = 4,
    data_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> UploadSession:
    """Connect (see :func:`connect`), create the bucket on the embedded emulator if needed,
    and return an :class:`UploadSession` for ``source`` (options as for the session)."""
    target = parse_oss_url(url, need_key=True)
    client = connect(
        endpoint,
        region=region,
        credentials=credentials,
        signature_version=signature_version,
        data_dir=data_dir,
    )
    if isinstance(client, EmbeddedClient):
        client.execute(PutBucket(target.bucket))
    from .upload.session import UploadSession  # the engine, when a session is wanted

    return UploadSession(client, source, target.bucket, target.key, **options)


def ensure_bucket(client: Client, name: str) -> str:
    """``name``, ready for uploads: created on the embedded emulator (idempotent); on real
    OSS only checked with GetBucketInfo, since creating buckets is the account owner's
    call (``NoSuchBucket`` or ``AccessDenied`` otherwise). Returns ``name``."""
    validate_bucket_name(name)
    if isinstance(client, EmbeddedClient):
        client.execute(PutBucket(name))
    else:
        client.execute(GetBucketInfo(name))
    return name
