"""Count what the reliability suite tried: ``scenario("name")`` records tried/passed.

Each test that uses the ``scenario`` fixture names the issue's scenario it exercises;
at the end of the run the counts are merged into
``test-artifacts/reliability-ledger.json`` (``{"scenario": {"tried": n, "passed": n}}``),
which ``docs/RELIABILITY.md`` quotes. Run ``pytest tests/test_reliability_*.py`` to
regenerate it (the file is rewritten from scratch at the start of each session).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

LEDGER = Path(__file__).resolve().parent.parent / "test-artifacts" / "reliability-ledger.json"
Scenario = Callable[[str], None]  # the ``scenario`` fixture's type
_lock = threading.Lock()
_counts: dict[str, dict[str, int]] = {}


def _record(name: str, passed: bool) -> None:
    with _lock:
        entry = _counts.setdefault(name, {"tried": 0, "passed": 0})
        entry["tried"] += 1
        entry["passed"] += int(passed)
        LEDGER.parent.mkdir(parents=True, exist_ok=True)
        LEDGER.write_text(json.dumps(dict(sorted(_counts.items())), indent=2) + "\n")


@pytest.fixture(name="scenario")
def scenario_fixture(request: pytest.FixtureRequest) -> Iterator[Scenario]:
    """Call ``scenario("Faults: 500 on Nth UploadPart")`` to count this test for it.

    Passed means the test's call phase did not fail (``session.testsfailed`` is bumped
    when the call report is logged, before this teardown runs).
    """
    names: list[str] = []
    failed_before = request.session.testsfailed
    yield names.append
    passed = request.session.testsfailed == failed_before
    for name in names:
        _record(name, passed)
