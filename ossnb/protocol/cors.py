"""Bucket CORS: the rules a bucket keeps, their XML both ways, and how a request matches.

A ``CORSConfiguration`` holds up to 10 ``CORSRule`` elements and an optional
``ResponseVary``. Rules are tried in order and the first that allows the request's
origin, method and (for a preflight) every requested header wins; no match means no
``Access-Control-*`` headers (docs/BROWSER.md §1). The emulator answers
with these rules; the browser upload checks a bucket's rules before it sends a part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from msgspec import Struct

from . import errors, xml
from ._opbase import Operation, md5_header, validate_bucket_name
from .http import Request, Response

__all__ = [
    "MAX_RULES",
    "METHODS",
    "CorsConfig",
    "CorsRule",
    "DeleteBucketCors",
    "GetBucketCors",
    "PutBucketCors",
    "parse_config",
    "render_config",
]

MAX_RULES = 10
METHODS = frozenset({"GET", "PUT", "DELETE", "POST", "HEAD"})


class CorsRule(Struct, frozen=True):
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


class CorsConfig(Struct, frozen=True):
    """A bucket's ``CORSConfiguration``: rules in order, and ``ResponseVary``."""

    rules: tuple[CorsRule, ...]
    response_vary: bool = False

    def match(self, origin: str, method: str, requested: Sequence[str] = ()) -> CorsRule | None:
        """The first rule that allows the request (rules are tried in order)."""
        return next((r for r in self.rules if r.allows(origin, method, requested)), None)


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


class GetBucketCors(Operation["CorsConfig"], frozen=True):
    """``GET /B/?cors``: the bucket's rules (``NoSuchCORSConfiguration`` if it has none)."""

    name: ClassVar[str] = "GetBucketCors"
    bucket: str

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)

    def to_request(self) -> Request:
        return Request("GET", self.bucket, query=(("cors", ""),), headers=md5_header())

    def parse(self, response: Response) -> CorsConfig:
        try:
            return parse_config(response.body)
        except errors.ServiceError as exc:
            raise errors.ResponseError(f"{self.name}: {exc.message}") from None


class PutBucketCors(Operation[None], frozen=True):
    """``PUT /B/?cors``: replace the bucket's rules with ``config``."""

    name: ClassVar[str] = "PutBucketCors"
    bucket: str
    config: CorsConfig

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)

    def to_request(self) -> Request:
        body = render_config(self.config)
        headers = {"content-type": "application/xml", **md5_header(body)}
        return Request("PUT", self.bucket, query=(("cors", ""),), headers=headers, body=body)

    def parse(self, response: Response) -> None:
        return None


class DeleteBucketCors(Operation[None], frozen=True):
    """``DELETE /B/?cors``: remove the bucket's rules (none is fine)."""

    name: ClassVar[str] = "DeleteBucketCors"
    bucket: str

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)

    def to_request(self) -> Request:
        return Request("DELETE", self.bucket, query=(("cors", ""),), headers=md5_header())

    def parse(self, response: Response) -> None:
        return None
