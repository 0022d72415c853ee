"""Where one contender's time goes: ``python -m benchmarks.profiling ossnb [--size 1GiB]``.

Starts an ``ossnb serve``, generates the file, and runs the contender's child process
under ``py-spy record`` (``.venv/bin/pip install py-spy``) while a second py-spy samples
the server. Writes the folded stacks (and SVG flame graphs) to ``--out`` and prints the
hottest frames of each, with ``--gil`` too: only samples of a thread holding the GIL,
which is the Python work that serializes the workers.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from .common import Job, parse_size
from .measure import ROOT, child_env
from .server import EmulatorProcess
from .suite import BUCKET, MODULES, generate_file

__all__ = ["hottest", "main"]


THREADS = "Thread._bootstrap"  # in a stack: a worker thread, not the main thread's imports


def hottest(folded: Path, top: int = 15) -> list[tuple[float, str]]:
    """Self time of the hottest frames in threads (imports left out), in percent."""
    leaf: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit() or THREADS not in stack:
            continue
        total += int(count)
        leaf[stack.split(";")[-1]] += int(count)
    return [(100 * n / max(1, total), frame) for frame, n in leaf.most_common(top)]


def find_py_spy() -> str | None:
    """py-spy beside this interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def py_spy(spy: str, args: list[str], out: Path, *, gil: bool, svg: bool) -> list[str]:
    fmt = ["--format", "flamegraph"] if svg else ["--format", "raw"]
    extra = ["--gil"] if gil else []
    return [spy, "record", "--rate", "250", *extra, *fmt, "--output", str(out), *args]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling")
    parser.add_argument("contender", choices=sorted(MODULES))
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--part-size", default="8MiB")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    parser.add_argument("--out", default="profile-out", help="folder for stacks and SVGs")
    args = parser.parse_args(argv)
    spy = find_py_spy()
    if spy is None:
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="ossnb-profile-"))
    try:
        size = parse_size(args.size)
        generate_file(root / "source.bin", size)
        with EmulatorProcess(root / "data", BUCKET, root / "emulator.log") as server:
            job = Job(
                contender=args.contender,
                endpoint=server.endpoint,
                bucket=BUCKET,
                key="profiled",
                path=str(root / "source.bin"),
                size=size,
                part_size=parse_size(args.part_size),
                workers=args.workers,
                work_dir=str(root),
            )
            child = [sys.executable, "-m", MODULES[args.contender], job.to_json()]
            name = f"{args.contender}{'-gil' if args.gil else ''}"
            watch = py_spy(
                spy, ["--pid", str(server.pid)], out / f"{name}-server.txt", gil=False, svg=False
            )
            with subprocess.Popen(watch, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                for svg in (False, True):
                    target = out / f"{name}-client.{'svg' if svg else 'txt'}"
                    command = py_spy(spy, ["--", *child], target, gil=args.gil, svg=svg)
                    subprocess.run(
                        command, cwd=ROOT, env=child_env(), check=True, capture_output=True
                    )
                server.stop()  # py-spy writes its file when the server exits
        for label, path in (
            ("client", out / f"{name}-client.txt"),
            ("server", out / f"{name}-server.txt"),
        ):
            if path.exists():
                print(f"-- {label}: hottest frames in threads (self samples), {path}")
                for percent, frame in hottest(path):
                    print(f"{percent:6.1f}%  {frame}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
