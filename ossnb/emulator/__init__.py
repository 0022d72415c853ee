"""The local OSS-compatible emulator: ossnb's embedded default backend (docs/ARCHITECTURE.md §4).

::

    with Emulator("./.ossnb/emulator", buckets=["demo"]).start() as emu:
        emu.endpoint        # "http://127.0.0.1:<port>"; point oss2 / alibabacloud_oss_v2 at it
        emu.faults.add(Fault("UploadPart", nth=3))   # fail the 3rd UploadPart with a 500

One process at a time serves a data folder; while it serves, it publishes its endpoint
in the folder for the others (:mod:`.discovery`).

Layers: :mod:`.store` (state and OSS rules over SQLite + blob files), :mod:`.app`
(routing, signature checks, handlers in :mod:`.handlers`/:mod:`.multipart`),
:mod:`.server` (stdlib threaded HTTP/1.1) within :mod:`.guards` (request deadlines, a
connection limit), :mod:`.incidents` (redacted logs, a full disk said as such),
:mod:`.faults` (fault injection).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from ..protocol.parts import OSS_LIMITS, Limits
from .discovery import Published, find_published, publish, read_published, withdraw
from .faults import Fault, Faults, parse_fault
from .limits import ServerLimits

if TYPE_CHECKING:  # the server, app and store load when an Emulator is built (light imports)
    from .server import EmulatorServer
    from .store import DataDirInUse

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_HOST",
    "DEFAULT_REGION",
    "DEV_ACCESS_KEY_ID",
    "DEV_ACCESS_KEY_SECRET",
    "DataDirInUse",
    "Emulator",
    "Fault",
    "Faults",
    "Published",
    "ServerLimits",
    "find_published",
    "parse_fault",
    "read_published",
    "serve_in_thread",
]

DEV_ACCESS_KEY_ID = "ossnb-dev-key"
DEV_ACCESS_KEY_SECRET = "ossnb-dev-secret"
DEFAULT_REGION = "cn-hangzhou"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_DATA_DIR = Path(".ossnb") / "emulator"
"""Relative to the current directory."""


class Emulator:
    """An OSS-compatible HTTP server over a data directory; bound at construction.

    ``auth=False`` skips signature checks (unit tests only). ``faults`` arms fault
    injection (see :mod:`.faults`); more can be added later through :attr:`faults`.
    ``server_limits`` bounds connections and how long a request may take.
    Raises :class:`DataDirInUse` if another emulator serves ``data_dir``.
    """

    def __init__(
        self,
        data_dir: str | Path = DEFAULT_DATA_DIR,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        region: str = DEFAULT_REGION,
        access_key_id: str = DEV_ACCESS_KEY_ID,
        access_key_secret: str = DEV_ACCESS_KEY_SECRET,
        buckets: Iterable[str] = (),
        base_domains: Iterable[str] = ("localhost",),
        auth: bool = True,
        faults: Iterable[Fault] = (),
        limits: Limits = OSS_LIMITS,
        verbose: bool = False,
        server_limits: ServerLimits | None = None,
    ) -> None:
        from ..protocol.signing import Credentials
        from .app import App
        from .rules import check_bucket_name
        from .server import make_server
        from .store import Store

        self.region = region
        self.credentials = Credentials(access_key_id, access_key_secret)
        self.store = Store(data_dir, region=region, limits=limits)
        try:
            for name in buckets:
                check_bucket_name(name)
                self.store.create_bucket(name)
            self.faults = Faults(faults)
            self.app = App(
                self.store,
                credentials={access_key_id: access_key_secret},
                region=region,
                base_domains=base_domains,
                auth=auth,
                faults=self.faults,
            )
            self.server: EmulatorServer = make_server(
                self.app, host, port, verbose=verbose, limits=server_limits
            )
        except BaseException:
            self.store.close()
            raise
        self._thread: threading.Thread | None = None
        self._serving = False
        self._stopped = False

    @property
    def data_dir(self) -> Path:
        return self.store.root

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The URL clients use (a wildcard bind is reached through loopback)."""
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> Emulator:
        """Serve in a daemon thread; returns ``self``."""
        if self._thread is None:
            self._publish()
            self._serving = True
            self._thread = threading.Thread(
                target=self.server.serve_forever,
                args=(0.1,),
                name=f"ossnb-emulator-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` is called from another one."""
        self._serving = True
        self._publish()
        self.server.serve_forever(poll_interval=0.1)

    def _publish(self) -> None:
        """Tell other processes where this data folder is served (see :mod:`.discovery`)."""
        key_id = self.credentials.access_key_id
        publish(self.data_dir, Published(self.endpoint, os.getpid(), self.region, key_id))

    def stop(self, grace: float = 2.0) -> None:
        """Stop accepting, close client connections, wait briefly for handlers, close the store."""
        if self._stopped:
            return
        self._stopped = True
        if self._serving:
            self.server.shutdown()
        self.server.server_close()
        self.server.close_connections()
        deadline = time.monotonic() + grace
        while self.server.active_connections and time.monotonic() < deadline:
            time.sleep(0.02)
        if self._thread is not None:
            self._thread.join(grace)
        withdraw(self.data_dir, self.endpoint)  # while the folder's lock is still ours
        self.store.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Emulator(endpoint={self.endpoint!r}, data_dir={str(self.data_dir)!r})"


def serve_in_thread(data_dir: str | Path = DEFAULT_DATA_DIR, **options: object) -> Emulator:
    """Start an :class:`Emulator` in a background thread (options as for the constructor)."""
    return Emulator(data_dir, **options).start()  # type: ignore[arg-type]


def __getattr__(name: str) -> object:
    """``DataDirInUse`` loads with the store, when asked for."""
    if name == "DataDirInUse":
        from .store import DataDirInUse

        return DataDirInUse
    if name == "ServerLimits":
        return ServerLimits
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
