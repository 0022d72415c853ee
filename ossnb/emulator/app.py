"""HTTP routing: raw request → addressing → signature check → operation → :class:`Reply`.

Virtual-hosted iff the Host (without port) ends with ``.<base domain>``, else
path-style; the path is percent-decoded *before* the bucket is split from the key
(the official C SDK encodes that slash as ``%2F``); the query is decoded with
``unquote_plus`` (docs/PROTOCOL.md §1.1, §7.1). Every request is
verified with :func:`ossnb.protocol.signing.verify` (docs/PROTOCOL.md §5). Errors become the
``<Error>`` document of docs/PROTOCOL.md §4.1 (HEAD: ``x-oss-err``); anything unexpected is a
logged ``InternalError``, never a dropped connection.
"""

from __future__ import annotations

import base64
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from urllib.parse import parse_qsl, unquote, urlsplit

from msgspec import Struct

from ..protocol import errors, signing
from ..protocol.http import Request, lower_headers
from . import batch, cors, handlers, multipart, responses
from .exchange import Body, Call, DropConnection, Reply
from .faults import Faults
from .incidents import unexpected
from .rules import check_bucket_name, check_key
from .store import Store

__all__ = ["App", "Incoming", "classify"]

log = logging.getLogger("ossnb.emulator")

Handler = Callable[[Call], Reply]

_NEUTRAL = frozenset(
    {"security-token", "continuation-token", "sequential", "x-oss-traffic-limit",
     "x-oss-request-payer"}
    | {name for name in signing.SUBRESOURCES if name.startswith("response-")}
)  # fmt: skip
_E: frozenset[str] = frozenset()
_OPERATIONS = signing.SUBRESOURCES | {"regions"}
"""Query names that select an operation (``?regions``: DescribeRegions, not signed)."""
_ROUTES: dict[tuple[str, str, frozenset[str]], str] = {
    ("service", "GET", _E): "ListBuckets",
    ("bucket", "PUT", _E): "PutBucket",
    ("bucket", "GET", _E): "ListObjects",
    ("bucket", "GET", frozenset({"bucketInfo"})): "GetBucketInfo",
    ("bucket", "GET", frozenset({"location"})): "GetBucketLocation",
    ("bucket", "GET", frozenset({"uploads"})): "ListMultipartUploads",
    ("bucket", "DELETE", _E): "DeleteBucket",
    ("bucket", "PUT", frozenset({"cors"})): "PutBucketCors",
    ("bucket", "GET", frozenset({"cors"})): "GetBucketCors",
    ("bucket", "DELETE", frozenset({"cors"})): "DeleteBucketCors",
    ("bucket", "POST", frozenset({"delete"})): "DeleteMultipleObjects",
    ("object", "PUT", _E): "PutObject",
    ("object", "GET", _E): "GetObject",
    ("object", "HEAD", _E): "HeadObject",
    ("object", "HEAD", frozenset({"objectMeta"})): "GetObjectMeta",
    ("object", "DELETE", _E): "DeleteObject",
    ("object", "POST", frozenset({"uploads"})): "InitiateMultipartUpload",
    ("object", "PUT", frozenset({"uploadId", "partNumber"})): "UploadPart",
    ("object", "POST", frozenset({"uploadId"})): "CompleteMultipartUpload",
    ("object", "DELETE", frozenset({"uploadId"})): "AbortMultipartUpload",
    ("object", "GET", frozenset({"uploadId"})): "ListParts",
}
_HANDLERS: dict[str, Handler] = {
    "ListBuckets": handlers.list_buckets,
    "PutBucket": handlers.put_bucket,
    "ListObjects": handlers.list_objects,
    "ListObjectsV2": handlers.list_objects,
    "GetBucketInfo": handlers.get_bucket_info,
    "GetBucketLocation": handlers.get_bucket_location,
    "DeleteBucket": handlers.delete_bucket,
    "PutBucketCors": cors.put_bucket_cors,
    "GetBucketCors": cors.get_bucket_cors,
    "DeleteBucketCors": cors.delete_bucket_cors,
    "Options": cors.preflight,
    "PutObject": handlers.put_object,
    "GetObject": handlers.get_object,
    "HeadObject": handlers.get_object,
    "GetObjectMeta": handlers.get_object,
    "DeleteObject": handlers.delete_object,
    "DeleteMultipleObjects": batch.delete_objects,
    "ListMultipartUploads": multipart.list_uploads,
    "InitiateMultipartUpload": multipart.initiate_upload,
    "UploadPart": multipart.upload_part,
    "UploadPartCopy": multipart.upload_part,
    "CompleteMultipartUpload": multipart.complete_upload,
    "AbortMultipartUpload": multipart.abort_upload,
    "ListParts": multipart.list_parts,
}


class Incoming(Struct, frozen=True):
    """A request as the server read it: method, raw request-target, headers, body stream."""

    method: str
    target: str
    headers: Sequence[tuple[str, str]]
    body: Body


def classify(
    method: str,
    bucket: str | None,
    key: str | None,
    params: Mapping[str, str],
    headers: Mapping[str, str],
) -> str:
    """The operation name for a request; ``NotImplemented``/``MethodNotAllowed`` otherwise."""
    level = "service" if bucket is None else "bucket" if key is None else "object"
    if method == "OPTIONS" and bucket is not None:  # a CORS preflight, whatever the query
        return "Options"
    subs = frozenset(n for n in params if n in _OPERATIONS and n not in _NEUTRAL)
    op = _ROUTES.get((level, method, subs))
    if op is None:
        if level == "object" and method == "PUT" and subs & {"uploadId", "partNumber"}:
            raise errors.InvalidArgument(
                "Unexpected query string parameter.",
                ec="0017-00000219",
                details={"ArgumentName": "ResourceType", "ArgumentValue": ",".join(sorted(subs))},
            )
        if subs:
            raise errors.NotImplemented(
                f"The sub-resource ?{'&'.join(sorted(subs))} is not implemented by the ossnb "
                "emulator.",
                details={"Method": method, "ResourceType": ",".join(sorted(subs))},
            )
        raise errors.MethodNotAllowed(details={"Method": method, "ResourceType": level})
    if op == "ListObjects" and params.get("list-type") == "2":
        return "ListObjectsV2"
    if op == "UploadPart" and "x-oss-copy-source" in headers:
        return "UploadPartCopy"
    return op


class App:
    """Turns :class:`Incoming` requests into :class:`Reply` values against a :class:`Store`."""

    def __init__(
        self,
        store: Store,
        *,
        credentials: Mapping[str, str],
        region: str,
        base_domains: Iterable[str] = ("localhost",),
        auth: bool = True,
        faults: Faults | None = None,
    ) -> None:
        self.store = store
        self.credentials = dict(credentials)
        self.region = region
        self.base_domains = tuple(d.lower().strip(".") for d in base_domains if d.strip("."))
        self.auth = auth
        self.faults = faults if faults is not None else Faults()

    def handle(self, incoming: Incoming) -> Reply:
        request_id = secrets.token_hex(12).upper()
        headers = lower_headers(incoming.headers)
        host = headers.get("host", "")
        op = ""
        try:
            call = self._route(incoming, headers, host, request_id)
            op = call.op
            reply = self._run(call)
        except DropConnection:
            raise
        except errors.ServiceError as exc:
            reply = self.error_reply(exc, request_id, host, incoming.method == "HEAD")
        except Exception as exc:  # a full disk says so; anything else is logged
            failure = unexpected(exc, incoming.method, incoming.target)
            reply = self.error_reply(failure, request_id, host, incoming.method == "HEAD")
        reply.headers["x-oss-request-id"] = request_id
        reply.op = op
        origin = headers.get("origin")
        if origin and op != "Options":
            reply.headers.update(self._cors_headers(incoming, host, origin))
        return reply

    def _cors_headers(self, incoming: Incoming, host: str, origin: str) -> dict[str, str]:
        """The bucket's CORS headers for a request with ``Origin`` (errors included)."""
        try:
            target = incoming.target
            path = urlsplit(target).path if target.startswith("http") else target
            bucket, _, _ = self._address(path.partition("?")[0] or "/", host)
        except errors.ServiceError:
            return {}
        if bucket is None:
            return {}
        return cors.response_headers(self.store, bucket, origin, incoming.method)

    def error_reply(
        self, exc: errors.ServiceError, request_id: str, host: str, head: bool = False
    ) -> Reply:
        """The docs/PROTOCOL.md §4.1 error document; for HEAD no body but ``x-oss-err`` (docs/PROTOCOL.md §2.5)."""
        document = responses.error_document(exc, request_id, host)
        headers = {"Content-Type": "application/xml"}
        if exc.ec:
            headers["x-oss-ec"] = exc.ec
        if head:
            headers["x-oss-err"] = base64.b64encode(document).decode("ascii")
            return Reply(exc.status, headers, length=0)
        return Reply(exc.status, headers, document)

    def _address(self, path: str, host: str) -> tuple[str | None, str | None, bool]:
        """``(bucket, key, virtual)`` from the raw path and the Host header (docs/PROTOCOL.md §1.1)."""
        name = host.lower()
        name = "" if name.startswith("[") else name.rsplit(":", 1)[0] if ":" in name else name
        virtual = next(
            (name[: -len(d) - 1] for d in self.base_domains if name.endswith("." + d)), None
        )
        try:
            rest = unquote(path[1:], errors="strict")
        except UnicodeDecodeError:
            raise errors.InvalidObjectName("The object name is not valid UTF-8.") from None
        if virtual:
            bucket: str | None = virtual
        else:  # decoded first: the C SDK sends /bucket%2Fkey for IP endpoints
            raw_bucket, _, rest = rest.partition("/")
            bucket = raw_bucket or None
        key = rest if rest and bucket else None
        return bucket, key, bool(virtual)

    def _route(
        self, incoming: Incoming, headers: dict[str, str], host: str, request_id: str
    ) -> Call:
        target = incoming.target
        if target.startswith(("http://", "https://")):  # absolute-form request target
            split = urlsplit(target)
            path, query = split.path or "/", split.query
        else:
            path, _, query = target.partition("?")
        if not path.startswith("/"):
            raise errors.InvalidArgument(
                "Bad request target.", details={"ArgumentName": "RequestURI"}
            )
        try:
            pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=200)
        except ValueError:
            raise errors.InvalidArgument(
                "Too many query parameters.", details={"ArgumentName": "QueryString"}
            ) from None
        bucket, key, virtual = self._address(path, host)
        if self.auth and incoming.method != "OPTIONS":  # a preflight is never signed
            request = Request(incoming.method, bucket, key, tuple(pairs), headers)
            self._verify(request)
        params: dict[str, str] = {}
        for name, value in pairs:
            params.setdefault(name, value)
        op = classify(incoming.method, bucket, key, params, headers)
        if bucket is not None:
            check_bucket_name(bucket)
        if key is not None:
            check_key(key)
        return Call(
            op, incoming.method, bucket or "", key or "", params, headers, incoming.body,
            self.store, host, request_id, virtual,
        )  # fmt: skip

    def _verify(self, request: Request) -> None:
        """Check the signature; on a bucket that does not exist OSS answers NoSuchBucket
        (404) even when the credentials are wrong, so the bucket is looked up first."""
        try:
            signing.verify(
                request, self.credentials.get, datetime.now(timezone.utc), region=self.region
            )
        except (errors.InvalidAccessKeyId, errors.SignatureDoesNotMatch):
            creating = request.method == "PUT" and request.key is None and not request.query
            if request.bucket is not None and not creating:
                check_bucket_name(request.bucket)
                self.store.bucket(request.bucket)  # NoSuchBucket when missing
            raise

    def _run(self, call: Call) -> Reply:
        fault = self.faults.match(call.op)
        if fault is not None:
            log.info("fault %s on %s", fault, call.op)
            if fault.action == "delay":
                time.sleep(fault.delay)
            elif fault.action == "error":
                cls = errors.error_class(fault.code)
                raise cls("Injected fault (ossnb emulator).", status=fault.status, code=fault.code)
            elif call.body.present:  # drop mid-body
                call.body.discard(max(1, (call.body.declared or 0) // 2))
                raise DropConnection()
        reply = _HANDLERS[call.op](call)
        if fault is not None and fault.action == "drop":
            reply.drop_after = reply.content_length // 2
        return reply
