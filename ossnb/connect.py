"""The composition root: real OSS or the embedded emulator, and one-line helpers.

::

    client = connect()                                   # no OSS_ENDPOINT: the local emulator
    client = connect("https://oss-cn-hangzhou.aliyuncs.com")  # keys from OSS_ACCESS_KEY_*
    session = upload_session("big.bin", "oss://demo/big.bin")  # connect + bucket + session

With no endpoint (argument or ``OSS_ENDPOINT``) :func:`connect` uses the local emulator
of the data folder (default ``./.ossnb/emulator``): the one another process already
serves there (``ossnb serve``, another notebook's kernel: it publishes its endpoint in
the folder), else its own, started on 127.0.0.1 in a background thread; it signs with
the development keys. When the process serving a folder ends, the next ``connect()``
takes the folder over. The checkpoint identity is ``embedded:<data folder>``, so an
upload resumes whichever process serves the folder, on whatever port.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from .client.client import Client, Endpoint
from .client.config import Settings, region_from_endpoint, settings_from_env
from .client.wire import Progress
from .protocol.errors import NoSuchBucket, TransportError, UsageError
from .protocol.http import Request, Response
from .protocol.operations import GetBucketInfo, PutBucket, validate_bucket_name, validate_key
from .protocol.signing import Credentials

if TYPE_CHECKING:  # the emulator and the engine load when first used: import ossnb stays light
    from .emulator import Emulator, Published
    from .upload.session import UploadSession
    from .upload.source import SourceLike

__all__ = [
    "EmbeddedClient",
    "OssUrl",
    "connect",
    "create_missing_bucket",
    "embedded_client",
    "embedded_emulator",
    "ensure_bucket",
    "object_url",
    "parse_oss_url",
    "settings_region",
    "stop_embedded",
    "upload_session",
]

_lock = threading.Lock()
_emulators: dict[Path, Emulator] = {}


class EmbeddedClient(Client):
    """A client for a data folder's local emulator: the one this process runs, or the one
    another process runs for the same folder (``ossnb serve``, another notebook's kernel).

    ``emulator`` is this process's :class:`Emulator`, or None when process ``owner_pid``
    serves the folder. ``identity`` names the data folder, so a checkpoint resumes
    whichever process serves it and on whatever port.
    """

    def __init__(
        self,
        emulator: Emulator | Published,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        credentials: Credentials | None = None,
        **options: Any,
    ) -> None:
        from .emulator import DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET, Emulator

        if isinstance(emulator, Emulator):
            self.emulator: Emulator | None = emulator
            self.data_dir = emulator.data_dir
            self.owner_pid = os.getpid()
        else:
            if data_dir is None:
                raise UsageError("data_dir is needed for an emulator another process runs")
            self.emulator = None
            self.data_dir = Path(data_dir).resolve()
            self.owner_pid = emulator.pid
        credentials = credentials or Credentials(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET)
        super().__init__(emulator.endpoint, credentials, region=emulator.region, **options)
        self.identity = f"embedded:{self.data_dir}"
        self._moving = threading.Lock()

    def send(
        self,
        request: Request,
        name: str = "Request",
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        retry: bool = True,
    ) -> Response:
        """As :meth:`Client.send`; if no answer comes because the process serving the
        folder has ended, take the folder over (or follow its new owner) and send again."""
        tried = self.endpoint.url
        try:
            return super().send(request, name, progress=progress, cancel=cancel, retry=retry)
        except TransportError:
            if not self._follow(tried):
                raise
        return super().send(request, name, progress=progress, cancel=cancel, retry=retry)

    def _follow(self, tried: str) -> bool:
        """Point at whoever serves the folder now; True if that is not ``tried`` any more."""
        from .emulator import DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET, find_published
        from .emulator.discovery import process_alive

        with self._moving:
            if self.endpoint.url != tried:
                return True  # another thread has moved already
            if self.emulator is not None or process_alive(self.owner_pid):
                return False  # the server is ours, or alive: not a takeover
            emulator = _own_emulator(self.data_dir)
            if emulator is not None:
                keys = Credentials(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET)
                where: Emulator | Published = emulator
                self.emulator, self.owner_pid = emulator, os.getpid()
            else:
                info = find_published(self.data_dir)
                if info is None or info.endpoint == tried:
                    return False
                keys, where = _keys_for(info, self.data_dir, self.credentials), info
                self.owner_pid = info.pid
            self.credentials, self.region = keys, where.region
            self.endpoint = Endpoint.parse(where.endpoint, self.endpoint.path_style)
            return True

    def __repr__(self) -> str:
        return (
            f"EmbeddedClient(endpoint={self.endpoint.url!r}, data_dir={str(self.data_dir)!r}, "
            f"owner_pid={self.owner_pid})"
        )


def _root(data_dir: str | os.PathLike[str] | None) -> Path:
    from .emulator import DEFAULT_DATA_DIR

    return Path(data_dir if data_dir is not None else DEFAULT_DATA_DIR).resolve()


def embedded_emulator(data_dir: str | os.PathLike[str] | None = None) -> Emulator:
    """The emulator this process runs for ``data_dir`` (default ``./.ossnb/emulator``), started
    on a free port of 127.0.0.1 the first time it is asked for. A :class:`UsageError` if
    another process serves the folder (:func:`embedded_client` shares that one)."""
    from .emulator import read_published

    root = _root(data_dir)
    emulator = _own_emulator(root)
    if emulator is None:
        info = read_published(root)
        who = f"process {info.pid} at {info.endpoint}" if info else "another process"
        raise UsageError(
            f"{root} is served by {who}; connect() shares it, or use another data folder"
        )
    return emulator


def _own_emulator(root: Path) -> Emulator | None:
    """This process's emulator for ``root``, started if need be; None if another has it."""
    from .emulator import DEFAULT_REGION, DataDirInUse, Emulator

    with _lock:
        running = _emulators.get(root)
        if running is None:
            try:
                running = Emulator(root, region=DEFAULT_REGION).start()
            except DataDirInUse:
                return None
            _emulators[root] = running
        return running


def embedded_client(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    credentials: Credentials | None = None,
    **options: Any,
) -> EmbeddedClient:
    """A client for the local emulator of ``data_dir`` (default ``./.ossnb/emulator``): the
    one another live process serves there (``ossnb serve``, another kernel), else this
    process's own, started now. When the process serving the folder ends, the next call
    takes the folder over. ``credentials`` are only needed for a ``ossnb serve`` started
    with its own key pair (else ``OSS_ACCESS_KEY_ID`` / ``OSS_ACCESS_KEY_SECRET``)."""
    from .emulator import find_published

    root = _root(data_dir)
    emulator = _own_emulator(root)
    if emulator is not None:
        return EmbeddedClient(emulator, **options)
    info = find_published(root)
    if info is None:
        raise UsageError(
            f"{root} is locked by another process that does not say where it serves it "
            "(one still starting, or an older ossnb): try again, stop that process, or use "
            "another data folder"
        )
    keys = _keys_for(info, root, credentials)
    return EmbeddedClient(info, data_dir=root, credentials=keys, **options)


def _keys_for(info: Published, root: Path, given: Credentials | None) -> Credentials:
    """The key pair the emulator ``info`` describes accepts: the development pair, else
    ``given`` or the OSS_* variables' when their key id is the one it names."""
    from .emulator import DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET

    if info.access_key_id == DEV_ACCESS_KEY_ID:
        return Credentials(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET)
    for keys in (given, settings_from_env().credentials):
        if keys is not None and keys.access_key_id == info.access_key_id:
            return keys
    raise UsageError(
        f"the ossnb emulator serving {root} (process {info.pid}, {info.endpoint}) accepts the "
        f"access key id {info.access_key_id!r}: set OSS_ACCESS_KEY_ID and "
        "OSS_ACCESS_KEY_SECRET to that key pair"
    )


def stop_embedded(data_dir: str | os.PathLike[str] | None = None) -> None:
    """Stop the embedded emulator this process runs for ``data_dir``, if any (its data stays)."""
    root = _root(data_dir)
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
    ``OSS_REGION`` (see :func:`settings_region`), ``OSS_ACCESS_KEY_ID`` /
    ``OSS_ACCESS_KEY_SECRET`` / ``OSS_SESSION_TOKEN``. The embedded emulator keeps its
    data in ``data_dir`` (default ``./.ossnb/emulator``) and uses its development keys.
    """
    settings = settings_from_env()
    endpoint = endpoint or settings.endpoint
    credentials = credentials or settings.credentials
    if endpoint is None:
        return embedded_client(
            data_dir, credentials=credentials, signature_version=signature_version, **client_options
        )
    if credentials is None:
        raise UsageError(
            f"no credentials for {endpoint}: set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET "
            "(or pass credentials=)"
        )
    return Client(
        endpoint,
        credentials,
        region=region or settings_region(endpoint, settings),
        signature_version=signature_version,
        **client_options,
    )


def settings_region(endpoint: str, settings: Settings) -> str | None:
    """The region for ``endpoint`` when none is given: ``OSS_REGION`` goes with
    ``OSS_ENDPOINT``; another endpoint whose host names its region
    (``oss-cn-beijing.aliyuncs.com``) uses that one, any other endpoint ``OSS_REGION``."""
    if endpoint == settings.endpoint:
        return settings.region
    return region_from_endpoint(endpoint) or settings.region


class OssUrl(Struct, frozen=True):
    """``oss://bucket/key``: the key may be empty (a bucket, or a prefix)."""

    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"oss://{self.bucket}/{self.key}"


def parse_oss_url(url: str, *, need_key: bool = False) -> OssUrl:
    """Split ``oss://bucket/key`` (or ``oss://bucket/prefix``, ``oss://bucket``)."""
    form = "oss://BUCKET/KEY" if need_key else "oss://BUCKET[/PREFIX]"
    if not isinstance(url, str) or not url.startswith("oss://"):
        raise UsageError(f"expected {form}, got {url!r}")
    bucket, _, key = url[len("oss://") :].partition("/")
    if not bucket:
        raise UsageError(f"{url!r} names no bucket: write {form}")
    validate_bucket_name(bucket)
    if need_key:
        if not key:
            raise UsageError(f"{url!r} names no object: write oss://{bucket}/KEY")
        validate_key(key)
    return OssUrl(bucket, key)


def object_url(url: str, source: SourceLike) -> OssUrl:
    """The object ``source`` goes to: ``url`` itself, or, when ``url`` ends in ``/`` or
    names only a bucket, that folder plus the source file's name (as ``aws s3 cp`` and
    ``ossutil cp`` do): ``oss://demo/dir/`` + ``big.bin`` -> ``oss://demo/dir/big.bin``."""
    if not isinstance(url, str) or not url.startswith("oss://"):
        raise UsageError(f"expected oss://BUCKET/KEY (or oss://BUCKET/DIR/), got {url!r}")
    target = parse_oss_url(url)
    if target.key and not target.key.endswith("/"):
        return parse_oss_url(url, need_key=True)
    if not isinstance(source, (str, os.PathLike)):
        raise UsageError(
            f"{url!r} names a folder and the source has no file name: write "
            f"oss://{target.bucket}/{target.key}NAME"
        )
    return parse_oss_url(f"oss://{target.bucket}/{target.key}{Path(source).name}", need_key=True)


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
    and return an :class:`UploadSession` for ``source`` (options as for the session).
    A ``url`` ending in ``/`` is a folder: the file keeps its name (:func:`object_url`)."""
    from .upload.session import UploadSession  # the engine, when a session is wanted

    target = object_url(url, source)
    client = connect(
        endpoint,
        region=region,
        credentials=credentials,
        signature_version=signature_version,
        data_dir=data_dir,
    )
    if isinstance(client, EmbeddedClient):
        create_missing_bucket(client, target.bucket)
    return UploadSession(client, source, target.bucket, target.key, **options)


def create_missing_bucket(client: EmbeddedClient, name: str) -> bool:
    """Create bucket ``name`` on the local emulator unless it exists; True if it was made."""
    try:
        client.execute(GetBucketInfo(validate_bucket_name(name)))
        return False
    except NoSuchBucket:
        client.execute(PutBucket(name))  # another process may have made it: still fine
        return True


def ensure_bucket(client: Client, name: str) -> str:
    """``name``, ready for uploads: created on the embedded emulator (idempotent); on real
    OSS only checked with GetBucketInfo, since creating buckets is the account owner's
    call (``NoSuchBucket`` or ``AccessDenied`` otherwise). Returns ``name``."""
    validate_bucket_name(name)
    if isinstance(client, EmbeddedClient):
        create_missing_bucket(client, name)
    else:
        client.execute(GetBucketInfo(name))
    return name
