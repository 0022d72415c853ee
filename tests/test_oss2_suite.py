"""The official oss2 test suite (oss2 2.19.1's own ``tests/``) against a fresh ``ossnb serve``.

Runs the suite's files that exercise what the emulator claims, once signing with V4 and
once with V1 (two emulators, two pytest processes in parallel). A failing test must be
listed in ``oss2_unsupported.txt`` with the feature it needs; a listed test that passes
makes this test fail too (the list must stay true).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ServerHandle
from oss2_suite import FILES, Unsupported, extract, judge, outcomes, sdist, start, unsupported

AUTH_VERSIONS = ("v4", "v1")


@pytest.mark.timeout(1500)
def test_oss2_suite_passes_except_unsupported_features(
    server_factory: Callable[..., ServerHandle], tmp_path: Path
) -> None:
    archive = sdist()
    listed = unsupported()
    started = time.monotonic()
    runs = {}
    for version in AUTH_VERSIONS:
        server = server_factory()
        root = extract(archive, tmp_path / version)
        runs[version] = (root, start(
            root, server.endpoint, version, access_key_id=server.access_key_id,
            secret=server.access_key_secret, region=server.region,
        ))  # fmt: skip
    try:
        for _, process in runs.values():
            process.wait(timeout=1400)
    finally:
        for _, process in runs.values():
            if process.poll() is None:
                process.kill()
    problems: list[str] = []
    for version, (root, _) in runs.items():
        report = root / "junit.xml"
        assert report.exists(), (root / "pytest.log").read_text(errors="replace")[-3000:]
        results = outcomes(report)
        files = {test_id.split("::")[0] for test_id in results}
        assert files == set(FILES), f"{version}: files that did not run: {set(FILES) - files}"
        problems += judge(version, results, listed)
    print(f"oss2 suite: V4 and V1 in {time.monotonic() - started:.0f} s")
    logs = {v: (root / "pytest.log") for v, (root, _) in runs.items()}
    assert not problems, "\n".join(problems) + f"\nlogs: {logs}"


def test_the_list_is_checked_both_ways(tmp_path: Path) -> None:
    """The judgement the suite test applies, on made-up results: unlisted failures,
    stale entries and listed tests that did not run are all reported."""
    path = tmp_path / "list.txt"
    path.write_text(
        "# comment\n"
        "a.py::T::test_acl | ACL | not implemented\n"
        "a.py::T::test_v1 | V2 signatures | only under V1 | v1\n"
        "a.py::T::test_timing | ACL | timing | either\n"
        "a.py::T::test_gone | ACL | not implemented\n"
    )
    listed = unsupported(path)
    assert listed["a.py::T::test_v1"] == Unsupported(
        "a.py::T::test_v1", "V2 signatures", "only under V1", frozenset({"v1"})
    )
    results = {
        "a.py::T::test_acl": "passed",  # stale entry
        "a.py::T::test_v1": "failed",  # listed for V1 only
        "a.py::T::test_timing": "passed",  # either outcome is fine
        "a.py::T::test_put": "failed",  # a claimed feature
        "a.py::T::test_skip": "skipped",
    }
    assert judge("v4", results, listed) == [
        "v4: a.py::T::test_acl passes now: remove it from the list",
        "v4: a.py::T::test_put failed (not an unsupported feature)",
        "v4: a.py::T::test_v1 failed (not an unsupported feature)",
        "v4: listed a.py::T::test_gone did not run",
    ]
    assert judge("v1", {**results, "a.py::T::test_acl": "failed"}, listed)[:1] == [
        "v1: a.py::T::test_put failed (not an unsupported feature)"
    ]
    path.write_text("a.py::T::test_x | ACL\n")
    with pytest.raises(ValueError, match="expected"):
        unsupported(path)


def test_the_committed_list_names_no_claimed_feature() -> None:
    """Every entry names a feature the emulator does not claim."""
    claimed = ("multipart", "put", "get", "head", "delete", "list", "sign", "crc", "range")
    for entry in unsupported().values():
        assert entry.test_id.split("::")[0] in FILES, entry.test_id
        assert not entry.feature.lower().startswith(claimed), entry
