"""Bucket CORS as OSS does it: the configuration API, preflight and response headers.

A bucket's CORS configuration is a list of rules tried in order; the first rule whose
origin, method and (for a preflight) every requested header match wins, and no match
means no ``Access-Control-*`` headers at all (docs/BROWSER.md §1).

* ``PUT /?cors`` replaces the whole configuration (at most 10 rules, 16 KB of XML);
  ``GET /?cors`` returns it (``AllowedHeader`` lower-cased, ``ResponseVary`` always
  present); ``DELETE /?cors`` removes it (204, twice is fine).
* ``OPTIONS /key`` is a preflight: no signature is checked; a match answers 200 with the
  allow headers, anything else 403 ``AccessForbidden``.
* Any other request carrying ``Origin`` gets the matched rule's headers, errors included,
  so a browser can read the OSS error code.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..protocol import errors
from ..protocol.cors import CorsConfig, CorsRule, parse_config, render_config
from .exchange import Call, Reply, empty_reply, xml_reply
from .store import Store

__all__ = [
    "delete_bucket_cors",
    "get_bucket_cors",
    "preflight",
    "put_bucket_cors",
    "response_headers",
]

KIND = "cors"
MAX_XML = 16 * 1024
_NO_CONFIG_EC = "0034-00000001"
_FORBIDDEN = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or "
    "Access-Control-Requet-Headers are not whitelisted by the resource's CORS spec."
)


def load(call: Call) -> CorsConfig | None:
    """The bucket's configuration, if it has one (``NoSuchBucket`` if there is no bucket)."""
    text = call.store.bucket_config(call.bucket, KIND)
    return None if text is None else parse_config(text.encode())


def put_bucket_cors(call: Call) -> Reply:
    config = parse_config(call.small_body(MAX_XML))
    call.store.set_bucket_config(call.bucket, KIND, render_config(config).decode())
    return empty_reply(200)


def get_bucket_cors(call: Call) -> Reply:
    call.small_body()
    config = load(call)
    if config is None:
        raise errors.NoSuchCORSConfiguration(
            "The CORS Configuration does not exist.",
            ec=_NO_CONFIG_EC,
            details={"BucketName": call.bucket},
        )
    return xml_reply(render_config(config))


def delete_bucket_cors(call: Call) -> Reply:
    call.small_body()
    call.store.set_bucket_config(call.bucket, KIND, None)
    return empty_reply(204)


def _requested_headers(headers: Mapping[str, str]) -> list[str]:
    raw = headers.get("access-control-request-headers", "")
    return [h.strip() for h in raw.split(",") if h.strip()]


def preflight(call: Call) -> Reply:
    """``OPTIONS``: 200 with the allow headers when a rule matches, else 403."""
    origin = call.header("origin")
    method = call.header("access-control-request-method")
    if not origin or not method:
        raise errors.AccessForbidden(
            "Insufficient information. Origin, request method or request headers are missing."
        )
    config = load(call)
    requested = _requested_headers(call.headers)
    rule = config.match(origin, method, requested) if config else None
    if rule is None or config is None:
        raise errors.AccessForbidden(_FORBIDDEN)
    headers = _allow(rule, origin, config.response_vary)
    if requested:
        headers["Access-Control-Allow-Headers"] = ", ".join(requested)
    return empty_reply(200, headers)


def _allow(rule: CorsRule, origin: str, vary: bool) -> dict[str, str]:
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ", ".join(rule.methods),
    }
    if rule.expose:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose)
    if rule.max_age is not None:
        headers["Access-Control-Max-Age"] = str(rule.max_age)
    if vary:
        headers["Vary"] = "Origin"
    return headers


def response_headers(store: Store, bucket: str, origin: str, method: str) -> dict[str, str]:
    """CORS headers for an ordinary response (errors too) to a request with ``Origin``."""
    try:
        text = store.bucket_config(bucket, KIND)
    except errors.ServiceError:  # no such bucket: no rules to match
        return {}
    if text is None:
        return {}
    config = parse_config(text.encode())
    rule = config.match(origin, method)
    headers = _allow(rule, origin, config.response_vary) if rule else {}
    if config.response_vary:
        headers["Vary"] = "Origin"
    return headers
