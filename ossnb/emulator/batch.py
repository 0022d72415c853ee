"""DeleteMultipleObjects: ``POST /?delete`` with up to 1,000 keys in a ``<Delete>`` body.

Each key is deleted as DeleteObject would (a missing key counts as deleted); the
answer lists the deleted keys unless ``<Quiet>true</Quiet>``, url-encoded with
``encoding-type=url``. ``Content-MD5`` is required, as OSS requires it.
"""

from __future__ import annotations

import re

from ..protocol import errors, xml
from ..protocol.xml import element, to_bytes
from .exchange import Call, Reply, xml_reply
from .rules import check_key, url_encode

__all__ = ["MAX_KEYS", "delete_objects"]

MAX_KEYS = 1000
_CONTROL = re.compile(rb"[\x01-\x08\x0b\x0c\x0e-\x1f]")
_STAND_IN = 0xF700
"""Control characters in keys travel raw inside ``<Key>`` (oss2 writes them so); XML 1.0
forbids them, so they are swapped for private-use stand-ins around the parser."""


def _keys(body: bytes) -> tuple[list[str], bool]:
    escaped = _CONTROL.sub(lambda m: chr(_STAND_IN + m[0][0]).encode(), body)
    try:
        root = xml.parse(escaped)
    except xml.XMLError:
        raise errors.MalformedXML() from None
    objects = root.findall("Object") if root.tag == "Delete" else []
    keys = []
    for node in objects:
        key = xml.child_text(node, "Key")
        if not key:
            raise errors.MalformedXML()
        keys.append("".join(chr(ord(c) - _STAND_IN) if _is_stand_in(c) else c for c in key))
    if not keys or len(keys) > MAX_KEYS:
        raise errors.MalformedXML()
    quiet = (xml.child_text(root, "Quiet") or "false").strip().lower() == "true"
    return keys, quiet


def _is_stand_in(char: str) -> bool:
    return _STAND_IN < ord(char) < _STAND_IN + 0x20


def delete_objects(call: Call) -> Reply:
    """DeleteMultipleObjects for the keys of the request body."""
    url = call.url_encoding
    if call.header("content-md5") is None:
        raise errors.ServiceError(
            "Missing required header for this request: Content-MD5.",
            status=400,
            code="InvalidRequest",
        )
    keys, quiet = _keys(call.small_body())
    call.store.bucket(call.bucket)
    for key in keys:
        check_key(key)
    for key in keys:
        call.store.delete_object(call.bucket, key)
    children = [element("EncodingType", "url")] if url else []
    if not quiet:
        children += [
            element("Deleted", children=[element("Key", url_encode(key) if url else key)])
            for key in keys
        ]
    return xml_reply(to_bytes(element("DeleteResult", children=children)))
