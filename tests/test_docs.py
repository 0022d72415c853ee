"""The repository's docs stand alone: nothing cites a document the repository lacks.

Three checks over every text file of the repository (package, tests, benchmarks,
notebooks, docs, README, pyproject, dev.sh, CI script):

* a named document (a file name in capitals ending in ``.md``, with or without a folder) exists,
  relative to the repository root or to the citing file;
* no shorthand citation of a design, specification or testing document that is not a
  file here (the all-capitals words that would name one);
* a section cited as ``docs/<NAME>.md §N.M`` (or, inside docs/, as a bare ``§N.M``) is a
  numbered heading of that document;

and every relative link in a Markdown file points at a file or folder that exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED_DIRS = ("ossnb", "tests", "benchmarks", "notebooks", "docs", ".ci")
SCANNED_FILES = ("README.md", "pyproject.toml", "dev.sh")
SUFFIXES = {".py", ".md", ".ipynb", ".toml", ".sh", ".txt", ".cfg", ".ini", ".js", ".css", ""}
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", "node_modules"}
THIS = Path(__file__).resolve()  # holds the patterns below, so it would cite itself

# a document named in capitals: README.md, docs/PROTOCOL.md, ../docs/TESTING.md
DOC_NAME = re.compile(r"(?<![\w/.-])((?:\.{1,2}/|[\w.-]+/)*[A-Z][A-Z0-9_-]*\.md)\b")
# the shorthand words that once stood for documents outside the repository
SHORTHAND = re.compile(
    r"(?<![\w\"'])(" + "|".join(["SP" + "EC", "DES" + "IGN", "TEST" + "ING"]) + r")(?![\w\"'.-])"
)
SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)


def _files() -> list[Path]:
    found = [ROOT / name for name in SCANNED_FILES if (ROOT / name).is_file()]
    for folder in SCANNED_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if (
                path.is_file()
                and path.suffix in SUFFIXES
                and not SKIPPED_PARTS & set(path.relative_to(ROOT).parts)
                and path.resolve() != THIS
            ):
                found.append(path)
    return found


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ""


def _where(path: Path, text: str, index: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, index) + 1}"


def _resolve(path: Path, name: str) -> Path | None:
    for base in (path.parent, ROOT):
        candidate = (base / name).resolve()
        if candidate.exists():
            return candidate
    return None


def _sections(doc: Path) -> set[str]:
    return set(HEADING.findall(doc.read_text(encoding="utf-8")))


FILES = _files()
DOCS = sorted((ROOT / "docs").glob("*.md"))


def test_the_scan_sees_the_repository() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {"README.md", "pyproject.toml", "dev.sh", "ossnb/connect.py"} <= names
    assert {"docs/ARCHITECTURE.md", "docs/PROTOCOL.md", "docs/TESTING.md"} <= names


def test_every_named_document_exists() -> None:
    missing = [
        f"{_where(path, text, m.start())}: {m.group(1)}"
        for path in FILES
        for text in [_text(path)]
        for m in DOC_NAME.finditer(text)
        if _resolve(path, m.group(1)) is None
    ]
    assert not missing, "documents cited but not in the repository:\n" + "\n".join(missing)


def test_no_shorthand_citation_of_an_outside_document() -> None:
    found = [
        f"{_where(path, text, m.start())}: {text[max(0, m.start() - 30) : m.end() + 20]!r}"
        for path in FILES
        for text in [_text(path)]
        for m in SHORTHAND.finditer(text)
    ]
    assert not found, (
        "cite docs/ARCHITECTURE.md, docs/PROTOCOL.md or docs/TESTING.md by path and section:\n"
        + "\n".join(found)
    )


def _cited_sections(path: Path, text: str) -> list[tuple[int, Path, str]]:
    """(index, document, section) for every ``§N`` attributable to a document in docs/."""
    cited = []
    for m in SECTION.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        before = text[max(line_start, m.start() - 60) : m.start()]
        names = DOC_NAME.findall(before)
        if names:
            doc = _resolve(path, names[-1])
        elif path.parent == ROOT / "docs":
            doc = path  # a bare § inside a document refers to itself
        else:
            continue  # e.g. "RFC 6761 §6.3"
        if doc is not None and doc.parent == ROOT / "docs" and doc.suffix == ".md":
            cited.append((m.start(), doc, m.group(1)))
    return cited


def test_every_cited_section_exists() -> None:
    headings = {doc: _sections(doc) for doc in DOCS}
    wrong = [
        f"{_where(path, text, index)}: {doc.name} §{section}"
        for path in FILES
        for text in [_text(path)]
        for index, doc, section in _cited_sections(path, text)
        if doc in headings and section not in headings[doc]
    ]
    assert not wrong, "sections cited but not headings of the document:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    "doc", [p for p in FILES if p.suffix == ".md"], ids=lambda p: str(p.relative_to(ROOT))
)
def test_relative_links_resolve(doc: Path) -> None:
    text = _text(doc)
    broken = []
    for m in LINK.finditer(text):
        target = m.group(1).split("#", 1)[0]
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # an anchor in the same page, or an absolute URL
        if not (doc.parent / target).exists():
            broken.append(f"{_where(doc, text, m.start())}: {m.group(1)}")
    assert not broken, "links to paths that do not exist:\n" + "\n".join(broken)
