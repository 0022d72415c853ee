"""Safe XML in and out. DTDs, entities and external references are refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

__all__ = ["MAX_XML_BYTES", "XMLError", "child_text", "element", "parse", "to_bytes"]

MAX_XML_BYTES = 4 * 1024 * 1024
"""Largest XML document parsed (a 10,000-part Complete body is about 1 MiB)."""


class XMLError(ValueError):
    """The document is not well-formed, too large, or uses forbidden XML features."""


def parse(document: bytes) -> ET.Element:
    """Parse ``document`` without DTDs or entity expansion; raise :class:`XMLError` on bad input."""
    if len(document) > MAX_XML_BYTES:
        raise XMLError(f"XML document of {len(document)} bytes exceeds {MAX_XML_BYTES}")
    try:
        root: ET.Element = fromstring(
            document, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise XMLError(str(exc)) from exc
    _strip_namespaces(root)
    return root


def _strip_namespaces(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]


def child_text(parent: ET.Element, tag: str, default: str | None = None) -> str | None:
    """Text of the first child ``tag`` (``""`` when empty), or ``default`` when absent."""
    child = parent.find(tag)
    if child is None:
        return default
    return child.text or ""


def element(tag: str, text: str | None = None, children: Iterable[ET.Element] = ()) -> ET.Element:
    """Build an element with optional text and children."""
    el = ET.Element(tag)
    if text is not None:
        el.text = text
    el.extend(children)
    return el


def to_bytes(root: ET.Element) -> bytes:
    """Serialise with the XML declaration OSS uses (UTF-8, no namespace)."""
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
