"""The protocol core does no I/O: it imports only pure standard-library modules and its
checksum, XML and record libraries (docs/ARCHITECTURE.md §1). import-linter checks the package
layers; this test checks what the core may use from outside the package."""

from __future__ import annotations

import ast
import pathlib

import ossnb

PROTOCOL = pathlib.Path(ossnb.__file__).parent / "protocol"

ALLOWED = {
    "__future__",
    "base64",
    "binascii",
    "calendar",
    "collections",
    "datetime",
    "email",
    "enum",
    "functools",
    "hashlib",
    "hmac",
    "itertools",
    "math",
    "re",
    "string",
    "typing",
    "urllib",
    "xml",
    "defusedxml",
    "fastcrc",
    "msgspec",  # frozen records (Struct); its JSON and msgpack parts are not used here
    "abc",
    "operator",
    "ipaddress",
}


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_protocol_core_imports_no_io() -> None:
    files = sorted(PROTOCOL.glob("*.py"))
    assert len(files) >= 6
    offenders = {
        f"{path.name}: {name}"
        for path in files
        for name in _imports(path)
        if name.split(".")[0] not in ALLOWED or name in {"urllib.request", "xml.sax"}
    }
    assert not offenders, f"the protocol core must not import these: {sorted(offenders)}"


def test_urllib_in_core_is_parse_only() -> None:
    for path in PROTOCOL.glob("*.py"):
        for name in _imports(path):
            if name.startswith("urllib"):
                assert name == "urllib.parse", f"{path.name} imports {name}"
