"""The benchmark end to end at a tiny size: every contender runs and uploads the right bytes.

Correctness only (the timing is ``python benchmarks/run.py``'s business, on demand).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = {"ossnb", "oss2", "oss-v2", "ceiling", "emulator"}


def test_benchmark_runs_every_contender_and_checks_bytes(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "run.py"),
        *("--size", "4MiB", "--part-size", "1MiB", "--rounds", "1", "--widget-rounds", "1"),
        *("--json", str(out), "--tmp-dir", str(tmp_path), "--quiet-wait", "0"),
        *("--max-foreign", "1000"),  # never re-measure: correctness only
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(out.read_text())

    assert set(data["summary"]) == CONTENDERS
    for name, row in data["summary"].items():
        assert row["mib_s"] > 0 and row["cpu_s_per_gib"] > 0 and row["peak_rss_mib"] > 0, name
    assert {s["contender"] for s in data["samples"]} == CONTENDERS
    for sample in data["samples"]:
        # the object on the emulator was compared byte for byte with the file (the
        # emulator-only harness sends a synthetic block: checked by size and CRC-64)
        expected = "crc64" if sample["contender"] == "emulator" else "bytes"
        assert sample["verified"] == expected, sample
        assert sample["wall_s"] > 0 and sample["bytes"] == 4 * 1024 * 1024

    resume = data["resume"]
    assert resume["runs"][0]["verified"] == "bytes"
    assert resume["parts_reused"] == 3 and resume["parts_sent"] == 1
    assert resume["bytes_sent"] == 1024 * 1024
    assert resume["bytes_read"] >= 4 * 1024 * 1024  # the done parts are re-read to verify them

    assert "widget" in data and ("cost_percent" in data["widget"] or "skipped" in data["widget"])
    assert done.stdout.strip().splitlines()[-1].startswith("ossnb ")
    assert not list(tmp_path.glob("ossnb-bench-*")), "the temporary folder was not removed"


def test_primitives_reports_every_figure() -> None:
    """``python -m benchmarks.primitives`` (docs/ARCHITECTURE.md §5.1) runs, checks the CRC-64
    check value with both libraries, and prints a positive figure for every row."""
    command = [sys.executable, "-m", "benchmarks.primitives", "--mib", "1", "--runs", "1"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = {}
    for line in done.stdout.splitlines():
        match = re.match(r"^(.*?)\s{2,}([\d.]+) (MiB/s|µs a part)", line)
        assert match, line
        figures[match[1].strip()] = float(match[2])
    assert set(figures) == {
        "MD5, one thread",
        "MD5, two threads at once",
        "CRC-64/XZ, fastcrc",
        "CRC-64/XZ, crcmod (SDKs)",
        "combine, ossnb",
        "combine, oss2",
    }, done.stdout
    assert all(value > 0 for value in figures.values()), figures


def test_whole_process_cpu_command_runs_every_client(tmp_path: Path) -> None:
    out = tmp_path / "cpu.json"
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "run.py"),
        "cpu",
        *("--big", "2MiB", "--big-part", "1MiB", "--small", "1MiB", "--small-part", "100KiB"),
        *("--rounds", "1", "--emulator-parts", "20", "--quiet-wait", "0"),
        *("--json", str(out), "--tmp-dir", str(tmp_path)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(out.read_text())
    clients = {"ossnb md5", "ossnb crc64", "oss2", "oss-v2", "floor"}
    assert {(s["client"], s["case"]) for s in data["samples"]} == {
        (c, case) for c in clients for case in ("startup", "big", "small")
    }
    for sample in data["samples"]:  # the kernel's account of each whole child process
        assert sample["cpu_s"] > 0 and sample["peak_rss_bytes"] > 0, sample
    for case in ("big", "small"):
        row = data["summary"][case]
        assert all(row[c]["cpu"] > 0 for c in clients)
        faster = min(row["oss2"]["cpu"], row["oss-v2"]["cpu"])
        assert row["ossnb md5"]["ratio"] == row["ossnb md5"]["cpu"] / faster
    assert data["emulator"]["parts"] == 20 and data["emulator"]["parts_per_s"] > 0
    assert "ossnb ÷ faster SDK" in done.stdout and "versions: " in done.stdout
    assert not list(tmp_path.glob("ossnb-whole-*")), "the temporary folder was not removed"
