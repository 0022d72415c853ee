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
from oss2_suite import FILES, extract, outcomes, sdist, start, unsupported

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
    problems: list[str] = []
    for version, (root, process) in runs.items():
        process.wait(timeout=1400)
        report = root / "junit.xml"
        assert report.exists(), (root / "pytest.log").read_text(errors="replace")[-3000:]
        results = outcomes(report)
        files = {test_id.split("::")[0] for test_id in results}
        assert files == set(FILES), f"{version}: files that did not run: {set(FILES) - files}"
        for test_id, outcome in sorted(results.items()):
            entry = listed.get(test_id)
            expected_failure = entry is not None and entry.expected_to_fail(version)
            if outcome == "failed" and not expected_failure:
                problems.append(f"{version}: {test_id} failed (not an unsupported feature)")
            elif outcome == "passed" and expected_failure and entry and not entry.either:
                problems.append(f"{version}: {test_id} passes now: remove it from the list")
        unknown = {t for t, e in listed.items() if version in e.auth} - set(results)
        problems += [f"{version}: listed {test_id} did not run" for test_id in sorted(unknown)]
    print(f"oss2 suite: V4 and V1 in {time.monotonic() - started:.0f} s")
    logs = {v: (root / "pytest.log") for v, (root, _) in runs.items()}
    assert not problems, "\n".join(problems) + f"\nlogs: {logs}"
