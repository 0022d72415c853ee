"""Bucket CORS as OSS does it: the configuration API, preflight and response headers.

A bucket's CORS configuration is a list of rules tried in order; the first rule whose
origin, method and (for a preflight) every requested header match wins, and no match
means no ``Access-Control-*`` headers at all (docs/PROTOCOL.md, "Bucket CORS").

* ``PUT /?cors`` replaces the whole configuration (at most 10 rules, 16 KB of XML);
  ``GET /?cors`` returns it (``AllowedHeader`` lower-cased, ``ResponseVary`` always
  present); ``DELETE /?cors`` removes it (204, twice is fine).
* ``OPTIONS /key`` is a preflight: no signature is checked; a match answers 200 with the
  allow headers, anything else 403 ``AccessForbidden``.
* Any other request carrying ``Origin`` gets the matched rule's headers, errors included,
  so a browser can read the OSS error code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from ..protocol import errors, xml
from .exchange import Call, Reply, empty_reply, xml_reply
from .store import Store

__all__ = [
    "CorsConfig",
    "CorsRule",
    "delete_bucket_cors",
    "get_bucket_cors",
    "parse_config",
    "preflight",
    "put_bucket_cors",
    "render_config",
    "response_headers",
]

KIND = "cors"
MAX_RULES = 10
MAX_XML = 16 * 1024
METHODS = frozenset({"GET", "PUT", "DELETE", "POST", "HEAD"})
_NO_CONFIG_EC = "0034-00000001"
_FORBIDDEN = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or "
    "Access-Control-Requet-Headers are not whitelisted by the resource's CORS spec."
)


@dataclass(frozen=True)
class CorsRule:
    """One ``CORSRule``: who may call, with which methods and headers, what they may read."""

    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    max_age: int | None = None

    def allows(self, origin: str, method: str, requested: Sequence[str] = ()) -> bool:
        """Whether this rule matches the origin, the method and every requested header."""
        return (
            any(_wildcard(pattern, origin) for pattern in self.origins)
            and method in self.methods
            and all(any(_wildcard(h, r.lower()) for h in self.headers) for r in requested)
        )


@dataclass(frozen=True)
class CorsConfig:
    """A bucket's ``CORSConfiguration``: rules in order, and ``ResponseVary``."""

    rules: tuple[CorsRule, ...]
    response_vary: bool = False

    def match(self, origin: str, method: str, requested: Sequence[str] = ()) -> CorsRule | None:
        """The first rule that allows the request (rules are tried in order)."""
        return next((r for r in self.rules if r.allows(origin, method, requested)), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> CorsConfig:
        data = json.loads(text)
        rules = tuple(
            CorsRule(
                tuple(r["origins"]),
                tuple(r["methods"]),
                tuple(r["headers"]),
                tuple(r["expose"]),
                r["max_age"],
            )
            for r in data["rules"]
        )
        return cls(rules, bool(data["response_vary"]))


def _wildcard(pattern: str, value: str) -> bool:
    """``*`` alone matches anything; otherwise one ``*`` stands for any characters."""
    if pattern == "*":
        return True
    if "*" not in pattern:
        return pattern == value
    prefix, _, suffix = pattern.partition("*")
    return (
        len(value) >= len(prefix) + len(suffix)
        and value.startswith(prefix)
        and (value.endswith(suffix))
    )


def _invalid(name: str, value: str, message: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(
        message, details={"ArgumentName": name, "ArgumentValue": value[:100]}
    )


def parse_config(document: bytes) -> CorsConfig:
    """A ``CORSConfiguration`` document, checked as OSS checks it."""
    try:
        root = xml.parse(document)
    except xml.XMLError:
        raise errors.MalformedXML() from None
    if root.tag != "CORSConfiguration":
        raise errors.MalformedXML()
    rules = []
    for node in root.findall("CORSRule"):
        texts = {tag: [(c.text or "").strip() for c in node.findall(tag)] for tag in (
            "AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds"
        )}  # fmt: skip
        if not texts["AllowedOrigin"] or not texts["AllowedMethod"]:
            raise errors.MalformedXML()
        for method in texts["AllowedMethod"]:
            if method not in METHODS:
                raise _invalid("AllowedMethod", method, "Unsupported method in CORS rule.")
        for tag in ("AllowedOrigin", "AllowedHeader"):
            for value in texts[tag]:
                if value.count("*") > 1:
                    raise _invalid(tag, value, f"{tag} may hold at most one wildcard.")
        for value in texts["ExposeHeader"]:
            if "*" in value:
                raise _invalid("ExposeHeader", value, "ExposeHeader may not hold a wildcard.")
        rules.append(
            CorsRule(
                tuple(texts["AllowedOrigin"]),
                tuple(texts["AllowedMethod"]),
                tuple(h.lower() for h in texts["AllowedHeader"]),
                tuple(texts["ExposeHeader"]),
                _max_age(texts["MaxAgeSeconds"]),
            )
        )
    if not rules:
        raise errors.MalformedXML()
    if len(rules) > MAX_RULES:
        raise _invalid("CORSRule", str(len(rules)), f"At most {MAX_RULES} CORS rules.")
    vary = (xml.child_text(root, "ResponseVary") or "false").strip().lower()
    if vary not in ("true", "false"):
        raise _invalid("ResponseVary", vary, "ResponseVary must be true or false.")
    return CorsConfig(tuple(rules), vary == "true")


def _max_age(values: list[str]) -> int | None:
    if not values:
        return None
    if len(values) > 1:
        raise errors.MalformedXML()
    text = values[0]
    if not text.isdigit() or len(text) > 10:
        raise _invalid("MaxAgeSeconds", text, "MaxAgeSeconds must be a non-negative integer.")
    return int(text)


def render_config(config: CorsConfig) -> bytes:
    """The ``GetBucketCors`` document."""
    rules = []
    for rule in config.rules:
        children = [xml.element("AllowedOrigin", o) for o in rule.origins]
        children += [xml.element("AllowedMethod", m) for m in rule.methods]
        children += [xml.element("AllowedHeader", h) for h in rule.headers]
        children += [xml.element("ExposeHeader", h) for h in rule.expose]
        if rule.max_age is not None:
            children.append(xml.element("MaxAgeSeconds", str(rule.max_age)))
        rules.append(xml.element("CORSRule", children=children))
    vary = xml.element("ResponseVary", "true" if config.response_vary else "false")
    return xml.to_bytes(xml.element("CORSConfiguration", children=[*rules, vary]))


def load(call: Call) -> CorsConfig | None:
    """The bucket's configuration, if it has one (``NoSuchBucket`` if there is no bucket)."""
    text = call.store.bucket_config(call.bucket, KIND)
    return None if text is None else CorsConfig.from_json(text)


def put_bucket_cors(call: Call) -> Reply:
    config = parse_config(call.small_body(MAX_XML))
    call.store.set_bucket_config(call.bucket, KIND, config.to_json())
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
    config = CorsConfig.from_json(text)
    rule = config.match(origin, method)
    headers = _allow(rule, origin, config.response_vary) if rule else {}
    if config.response_vary:
        headers["Vary"] = "Origin"
    return headers
