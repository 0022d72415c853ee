"""The HTTP client for the OSS REST API (httpx's stack): build → sign → send → parse.

``Client.execute(operation)`` runs any operation of :mod:`ossnb.protocol.operations`.
It signs with V4 (default) or V1, retries transient failures (connection errors,
timeouts, 5xx, 429) with jittered exponential backoff, streams request bodies so
callers see byte-level progress (rewound on a retry), can be told to stop a body
mid-flight, and reports every attempt as a masked :class:`~ossnb.protocol.transcript.Exchange`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, TypeVar

from ..protocol import signing
from ..protocol.errors import (
    Cancelled,
    OssError,
    ServiceError,
    TransportError,
    UsageError,
    error_from_response,
    is_transient,
)
from ..protocol.http import Request, Response, encode_query
from ..protocol.operations import Operation
from ..protocol.transcript import (
    SHOWN_REQUEST_HEADERS,
    SHOWN_RESPONSE_HEADERS,
    Exchange,
    mask_headers,
    mask_query,
    mask_text,
)
from .config import Settings, region_from_endpoint, settings_from_env
from .endpoint import DEFAULT_RETRY, Endpoint, RetryPolicy
from .httpx_loader import import_httpx
from .wire import (
    FIXED_HEADERS,
    Progress,
    chunks,
    decoded_headers,
    timeouts,
    whole,
)

if TYPE_CHECKING:  # httpx (and this package's transport over it) load with the first Client
    import httpx

__all__ = ["Client", "Endpoint", "RetryPolicy"]

T = TypeVar("T")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Client:
    """A connection-pooled, thread-safe OSS client.

    >>> client = Client("http://127.0.0.1:9000", Credentials("id", "secret"), region="cn-hangzhou")
    >>> client.execute(ListParts("bucket", "key", upload_id))
    """

    def __init__(
        self,
        endpoint: str,
        credentials: signing.Credentials,
        *,
        region: str | None = None,
        signature_version: int = 4,
        path_style: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_connections: int = 32,
        clock: Callable[[], datetime] = _utcnow,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        if signature_version not in (1, 4):
            raise UsageError(f"signature_version must be 1 or 4, not {signature_version!r}")
        self.endpoint = Endpoint.parse(endpoint, path_style)
        self.region = region or region_from_endpoint(endpoint)
        if signature_version == 4 and not self.region:
            raise UsageError(
                f"a region is needed for V4 signatures and cannot be read from {endpoint!r}: "
                "set OSS_REGION (e.g. cn-hangzhou) or pass region="
            )
        self.credentials = credentials
        self.signature_version = signature_version
        self.retry = retry
        self.clock = clock
        self._listeners: list[Callable[[Exchange], None]] = [on_exchange] if on_exchange else []
        self._lock = threading.Lock()
        from .proxy import proxy_for
        from .transport import Canceller, Connections

        self._timeouts = timeouts(timeout)
        self._canceller = Canceller()
        tls = import_httpx().create_ssl_context() if self.endpoint.scheme == "https" else None
        host, _ = self.endpoint.connect_address(self.endpoint.netloc)
        self._connections = Connections(max_connections, tls, proxy_for(self.endpoint.scheme, host))

    @classmethod
    def from_settings(cls, settings: Settings, **options: object) -> Client:
        """A client for ``settings`` (see :func:`ossnb.client.config.settings_from_env`)."""
        if not settings.endpoint or not settings.credentials:
            raise UsageError("OSS_ENDPOINT, OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET are needed")
        return cls(settings.endpoint, settings.credentials, region=settings.region, **options)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, **options: object) -> Client:
        """A client configured from ``OSS_*`` environment variables."""
        return cls.from_settings(settings_from_env(), **options)

    def __repr__(self) -> str:
        return (
            f"Client(endpoint={self.endpoint.url!r}, region={self.region!r}, "
            f"access_key_id={self.credentials.access_key_id!r}, "
            f"signature_version={self.signature_version})"
        )

    # -- transcript ---------------------------------------------------------------------

    def add_listener(self, listener: Callable[[Exchange], None]) -> None:
        """Call ``listener`` with an :class:`Exchange` after every attempt (once, however
        often it is added: two wrappers of one client must not count an attempt twice)."""
        with self._lock:
            if listener not in self._listeners:
                self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Exchange], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- the one way to run an operation -------------------------------------------------

    def execute(
        self,
        operation: Operation[T],
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        retry: bool = True,
    ) -> T:
        """Run ``operation`` and return its parsed result.

        ``progress`` gets byte counts as the body goes out (negative on a retry, to
        rewind). Setting ``cancel`` stops a body mid-flight with :class:`Cancelled`.
        Raises the :class:`ServiceError` subclass for OSS errors, :class:`TransportError`
        when there was no answer.
        """
        request = operation.to_request()
        response = self.send(request, operation.name, progress=progress, cancel=cancel, retry=retry)
        return operation.parse(response)

    def send(
        self,
        request: Request,
        name: str = "Request",
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        retry: bool = True,
    ) -> Response:
        """Sign and send a raw :class:`Request`, retrying transient failures; raise on errors."""
        attempts = self.retry.attempts if retry else 1
        attempt = 1
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{name} cancelled before it was sent")
            sent = [0]
            try:
                return self._attempt(request, name, attempt, progress, cancel, sent)
            except OssError as error:
                if progress is not None and sent[0]:
                    progress(-sent[0])  # honest progress: this attempt's bytes did not land
                if attempt >= attempts or not is_transient(error):
                    if isinstance(error, TransportError) and attempt > 1:
                        error.args = (f"{error} (after {attempt} attempts)",)
                    raise
            delay = self.retry.delay(attempt)
            if cancel is not None:
                if cancel.wait(delay):
                    raise Cancelled(f"{name} cancelled while waiting to retry")
            else:
                time.sleep(delay)
            attempt += 1

    def _sign(self, request: Request) -> signing.SignedRequest:
        now = self.clock()
        if self.signature_version == 4:
            assert self.region is not None
            return signing.sign_v4(request, self.credentials, self.region, now)
        return signing.sign_v1(request, self.credentials, now)

    def _attempt(
        self,
        request: Request,
        name: str,
        attempt: int,
        progress: Progress | None,
        cancel: threading.Event | None,
        sent: list[int],
    ) -> Response:
        signed = self._sign(request)
        host, path = self.endpoint.host_and_path(signed.request)
        headers = {"host": host, **signed.request.headers}
        body = signed.request.body
        headers["content-length"] = str(len(body))
        query = encode_query(signed.request.query)
        target = path + (f"?{query}" if query else "")
        streamed = len(body) > 0 and (progress is not None or cancel is not None)
        content: bytes | Iterator[bytes | memoryview] = (
            chunks(body, progress, cancel, sent) if streamed else whole(body)
        )
        started = time.perf_counter()
        status: int | None = None
        response_headers: dict[str, str] = {}
        data = b""
        error_text: str | None = None
        try:
            status, response_headers, data = self._exchange(
                signed.request.method, host, target, headers, content, name, cancel
            )
            response = Response(status, response_headers, data)
            if status >= 300 and status != 304:
                error = self._masked(error_from_response(status, response_headers, data))
                error_text = error.error_code
                raise error
            return response
        except OssError as exc:
            if error_text is None:
                error_text = type(exc).__name__
            raise
        finally:
            secrets = self._secrets()
            canonical = signed.canonical_request
            self._emit(
                Exchange(
                    operation=name,
                    method=signed.request.method,
                    host=host,
                    path=path,
                    query=mask_query(signed.request.query),
                    request_headers=mask_headers(headers, SHOWN_REQUEST_HEADERS),
                    status=status,
                    response_headers=mask_headers(response_headers, SHOWN_RESPONSE_HEADERS),
                    # V1's string to sign and V4's canonical request list x-oss-security-token
                    string_to_sign=mask_text(signed.string_to_sign, secrets),
                    canonical_request=None if canonical is None else mask_text(canonical, secrets),
                    request_bytes=sent[0] if streamed else (len(body) if status is not None else 0),
                    response_bytes=len(data),
                    elapsed=time.perf_counter() - started,
                    attempt=attempt,
                    error=error_text,
                )
            )

    def _exchange(
        self,
        method: str,
        host: str,
        target: str,
        headers: dict[str, str],
        content: bytes | Iterator[bytes | memoryview],
        name: str,
        cancel: threading.Event | None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP round trip: status, lower-case headers and the whole body.

        While it runs, setting ``cancel`` shuts the connection down (see
        :mod:`ossnb.client.transport`); the watch ends before the connection is pooled again.
        """
        import httpcore  # loaded by __init__ already: a dictionary look-up

        connect_host, port = self.endpoint.connect_address(host)
        watch = self._canceller.watch(cancel)
        try:
            url = httpcore.URL(
                scheme=self.endpoint.scheme, host=connect_host, port=port, target=target
            )
            raw = [(k.encode("ascii"), v.encode("ascii")) for k, v in headers.items()]
            status, raw_headers, data = self._connections.request(
                method.encode("ascii"),
                url,
                raw + FIXED_HEADERS,
                content,  # type: ignore[arg-type]  # httpcore takes any iterable of bytes
                self._timeouts,
            )
        except (
            httpcore.TimeoutException,
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.ProxyError,
        ) as exc:
            cause = exc.__context__ if isinstance(exc.__context__, Cancelled) else None
            if cause is not None or (cancel is not None and cancel.is_set()):
                raise Cancelled(f"{name} cancelled in flight") from exc
            refused = isinstance(exc, httpcore.ConnectError)  # refused, unreachable, no such host
            hint = f": nothing answers at {self.endpoint.url}" if refused else ""
            # h11 quotes the header value it refused: mask every form of a secret
            raise TransportError(
                mask_text(
                    f"{name} to {self.endpoint.url} failed: "
                    f"{type(exc).__name__}: {exc or 'no detail'}{hint}",
                    self._secrets(),
                    fragments=True,
                )
            ) from None
        except UnicodeEncodeError:
            raise UsageError(
                f"{name}: a request header holds a non-ASCII character (HTTP headers are "
                "ASCII: check the content type and metadata)"
            ) from None
        except Cancelled as exc:
            raise Cancelled(f"{name} cancelled in flight") from exc
        finally:
            self._canceller.release(watch)
        return status, decoded_headers(raw_headers), data

    def _secrets(self) -> tuple[str, ...]:
        """What must never be shown: the STS token and the secret (which never travels, but
        an error may still quote what it got). :func:`mask_text` masks every rendering:
        percent-encoded, escaped, the hex bytes of an error's ``StringToSignBytes``."""
        return (self.credentials.security_token or "", self.credentials.access_key_secret)

    def _masked(self, error: ServiceError) -> ServiceError:
        """``error`` with any echo of the STS token (e.g. in a ``CanonicalRequest``) masked."""
        secrets = self._secrets()
        error.message = mask_text(error.message, secrets, fragments=True)
        error.details = {k: mask_text(v, secrets, fragments=True) for k, v in error.details.items()}
        error.args = tuple(
            mask_text(a, secrets, fragments=True) if isinstance(a, str) else a for a in error.args
        )
        return error

    def _emit(self, exchange: Exchange) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(exchange)

    # -- helpers built on execute ---------------------------------------------------------

    def presign(
        self, operation: Operation[object], expires_in: timedelta = timedelta(hours=1)
    ) -> str:
        """A presigned URL for ``operation`` (GET or PUT), valid for ``expires_in``."""
        request = operation.to_request()
        now = self.clock()
        if self.signature_version == 4:
            assert self.region is not None
            signed = signing.presign_v4(
                request, self.credentials, self.region, now, int(expires_in.total_seconds())
            )
        else:
            signed = signing.presign_v1(request, self.credentials, now + expires_in)
        host, path = self.endpoint.host_and_path(signed.request)
        query = encode_query(signed.request.query)
        return f"{self.endpoint.scheme}://{host}{path}" + (f"?{query}" if query else "")

    def close(self) -> None:
        """Close pooled connections."""
        self._connections.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
