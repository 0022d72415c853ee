"""Run the official oss2 test suite (from the oss2 sdist on PyPI) against ``ossnb serve``.

* :func:`sdist` downloads ``oss2==2.19.1``'s source distribution once with
  ``pip download`` into ``.cache/oss2-sdist/`` (git-ignored); only the package
  registry is needed.
* :func:`extract` unpacks its ``tests/`` folder and adds ``oss2_suite_conftest.py``
  (environment shims only) as its ``conftest.py``.
* :func:`start` runs pytest on :data:`FILES` in a subprocess, configured by the
  suite's own ``OSS_TEST_*`` variables, with a JUnit XML report;
  :func:`outcomes` reads the report back.
* :func:`unsupported` reads ``oss2_unsupported.txt``: the tests that fail because the
  emulator does not implement a feature, with the feature and why it is out of scope.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FILES",
    "VERSION",
    "Unsupported",
    "extract",
    "judge",
    "outcomes",
    "sdist",
    "start",
    "unsupported",
]

VERSION = "2.19.1"
FILES = (
    "test_multipart.py",
    "test_upload.py",
    "test_object.py",
    "test_iterator.py",
    "test_crc64_combine.py",
    "test_download.py",
    "test_list_objects_v2.py",
    "test_chinese.py",
    "test_sign.py",
    "test_headers.py",
    "test_put_object_chunked.py",
    "test_bucket.py",
)
"""The suite's files that exercise what the emulator claims (and their neighbours)."""

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / ".cache" / "oss2-sdist"
SHIM = HERE / "oss2_suite_conftest.py"
UNSUPPORTED = HERE / "oss2_unsupported.txt"


def sdist() -> Path:
    """The cached oss2 sdist, downloaded from the package registry on first use."""
    archive = CACHE / f"oss2-{VERSION}.tar.gz"
    if not archive.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", f"oss2=={VERSION}", "-d", str(CACHE)],
            check=True, timeout=600,
        )  # fmt: skip
    return archive


def extract(archive: Path, dest: Path) -> Path:
    """Unpack the sdist's ``tests/`` into ``dest/tests`` (not its ``oss2/``: the
    installed SDK is the one under test) and add the shims; returns ``dest``."""
    prefix = f"oss2-{VERSION}/tests/"
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix) and m.isfile()]
        for member in members:
            member.name = "tests/" + member.name[len(prefix) :]
        tar.extractall(dest, members=members, filter="data")
    shutil.copyfile(SHIM, dest / "tests" / "conftest.py")
    image = dest / "tests" / "example.jpg"
    if not image.exists():
        # The sdist leaves out this fixture file; tests that upload it only need bytes
        # (the image-processing tests are out of scope anyway).
        image.write_bytes(bytes(range(256)) * 64)
    return dest


def start(
    root: Path, endpoint: str, auth_version: str, *, access_key_id: str, secret: str, region: str
) -> subprocess.Popen[bytes]:
    """Start pytest on :data:`FILES` in ``root`` (the suite opens ``tests/...`` relative
    to it); the report goes to ``root/junit.xml``, the output to ``root/pytest.log``."""
    env = {
        **os.environ,
        "OSS_TEST_ACCESS_KEY_ID": access_key_id,
        "OSS_TEST_ACCESS_KEY_SECRET": secret,
        "OSS_TEST_ENDPOINT": endpoint,
        "OSS_TEST_REGION": region,
        "OSS_TEST_AUTH_VERSION": auth_version,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    env.pop("OSS_TEST_BUCKET", None)  # bucket names start "oss-python-sdk-", as the suite expects
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:logging",
        "-o", "timeout=240", f"--junitxml={root / 'junit.xml'}",
        *(f"tests/{name}" for name in FILES),
    ]  # fmt: skip
    log = open(root / "pytest.log", "wb")  # noqa: SIM115 - owned by the child process
    try:
        return subprocess.Popen(
            command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        log.close()


def outcomes(report: Path) -> dict[str, str]:
    """``{test id: "passed" | "failed" | "skipped"}`` from a JUnit XML report; a test
    that errs in setup or teardown counts as failed."""
    results: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")
        test_id = f"{module[-2]}.py::{module[-1]}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            results[test_id] = "failed"
        elif case.find("skipped") is not None:
            results.setdefault(test_id, "skipped")
        else:
            results.setdefault(test_id, "passed")
    return results


@dataclass(frozen=True)
class Unsupported:
    """A test the emulator fails by design: the feature it needs and why it is out of scope."""

    test_id: str
    feature: str
    reason: str
    auth: frozenset[str]
    either: bool = False
    """The outcome depends on timing: passing and failing are both accepted."""

    def expected_to_fail(self, version: str) -> bool:
        return version in self.auth


def unsupported(path: Path = UNSUPPORTED) -> dict[str, Unsupported]:
    """Parse ``test id | feature | why [| v1 | v4 | either]`` lines (``#`` comments)."""
    entries: dict[str, Unsupported] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [field.strip() for field in line.split("|")]
        if len(fields) not in (3, 4) or not all(fields):
            raise ValueError(f"{path.name}:{number}: expected 'test id | feature | why'")
        scope = fields[3] if len(fields) == 4 else "v1,v4"
        either = scope == "either"
        auth = frozenset({"v1", "v4"} if either else scope.split(","))
        if not auth <= {"v1", "v4"}:
            raise ValueError(f"{path.name}:{number}: the 4th field is v1, v4, v1,v4 or either")
        if fields[0] in entries:
            raise ValueError(f"{path.name}:{number}: {fields[0]} is listed twice")
        entries[fields[0]] = Unsupported(fields[0], fields[1], fields[2], auth, either)
    return entries


def judge(version: str, results: dict[str, str], listed: dict[str, Unsupported]) -> list[str]:
    """What is wrong with one run: a failure not listed, a listed test that passes
    (unless its outcome depends on timing), a listed test that did not run."""
    problems = []
    for test_id, outcome in sorted(results.items()):
        entry = listed.get(test_id)
        expected = entry is not None and entry.expected_to_fail(version)
        if outcome == "failed" and not expected:
            problems.append(f"{version}: {test_id} failed (not an unsupported feature)")
        elif outcome == "passed" and expected and entry is not None and not entry.either:
            problems.append(f"{version}: {test_id} passes now: remove it from the list")
    missing = {t for t, e in listed.items() if e.expected_to_fail(version)} - set(results)
    problems += [f"{version}: listed {test_id} did not run" for test_id in sorted(missing)]
    return problems
