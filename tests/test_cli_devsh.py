"""``./dev.sh`` as a user runs it from another folder: paths and the emulator's data are
the caller's, and the hints name a command that runs when ``ossnb`` is not on PATH.

The clone is a copy of ``dev.sh`` beside a link to the test run's own venv (already set
up, so ``dev.sh`` installs nothing)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Factory
from session_fixtures import make_file, subprocess_env

REPO = Path(__file__).parents[1]
VENV = Path(sys.executable).parent.parent


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    if not (VENV / "bin" / "ossnb").exists() or not (VENV / ".installed").exists():
        pytest.skip("needs a venv set up by ./dev.sh (with bin/ossnb and .installed)")
    root = tmp_path / "clone"
    root.mkdir()
    shutil.copy2(REPO / "dev.sh", root / "dev.sh")
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    os.utime(root / "pyproject.toml", (0, 0))  # older than .installed: nothing to install
    (root / ".venv").symlink_to(VENV)
    return root


def _dev(clone: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = subprocess_env()
    env["PATH"] = "/usr/bin:/bin"  # ossnb is not on PATH, as after a fresh ./dev.sh
    return subprocess.run(
        [str(clone / "dev.sh"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_usage_lists_every_command(clone: Path, tmp_path: Path) -> None:
    result = _dev(clone, cwd=tmp_path)
    assert result.returncode == 0
    for command in ("setup", "demo", "test", "lab", "ossnb"):
        assert re.search(rf"^  {command}\b", result.stdout, re.M), command
    assert "set -e" not in result.stdout + result.stderr
    wrong = _dev(clone, "nonsense", cwd=tmp_path)
    assert wrong.returncode == 2 and "usage: ./dev.sh" in wrong.stderr


def test_paths_and_emulator_data_are_the_callers(clone: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    make_file(elsewhere / "mine.bin", 300 * 1024, seed=51)
    result = _dev(clone, "ossnb", "upload", "mine.bin", "oss://demo/mine.bin", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert f"{elsewhere / 'mine.bin'} -> oss://demo/mine.bin" in result.stdout
    assert (elsewhere / ".ossnb" / "emulator").is_dir()
    assert not (clone / ".ossnb").exists(), "no emulator data in the clone"


def test_hints_name_a_command_that_runs(
    clone: Path, tmp_path: Path, server_factory: Factory
) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / ".ossnb").mkdir(parents=True)
    server_factory(
        "--bucket",
        "demo",
        "--fault",
        "UploadPart@2x100=error:403:AccessDenied",
        data_dir=elsewhere / ".ossnb" / "emulator",
    )
    make_file(elsewhere / "mine.bin", 300 * 1024, seed=52)
    failed = _dev(
        clone,
        "ossnb",
        "upload",
        "mine.bin",
        "oss://demo/mine.bin",
        "--part-size",
        "100KiB",
        "--workers",
        "1",
        cwd=elsewhere,
    )
    assert failed.returncode == 1, failed.stderr
    hint = re.search(r"abort it with `([^`]+)`", failed.stderr)
    assert hint, failed.stderr
    command = shlex.split(hint.group(1))
    assert command[0] == str(clone / ".venv" / "bin" / "ossnb"), command
    aborted = subprocess.run(
        command,
        cwd=elsewhere,
        env=dict(subprocess_env(), PATH="/usr/bin:/bin"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert aborted.returncode == 0, aborted.stderr
    assert "the server holds no parts" in aborted.stdout
