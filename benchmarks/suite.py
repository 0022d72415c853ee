"""The benchmark run behind ``python benchmarks/run.py`` (see ``benchmarks/README.md``).

One ``ossnb serve`` on loopback; one generated random file; every contender in its own
subprocess, in a rotating order over ``--rounds`` rounds; each object checked on the
server and deleted. Then the resume measurement and the widget's cost. Prints a table
and, last, ossnb's throughput over the faster SDK's and over the ceiling.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastcrc import crc64

from . import report
from .common import GIB, MIB, Job, format_size
from .machine import cpu_busy_seconds, wait_for_quiet
from .measure import ChildFailed, run_child
from .options import Options, parse_args
from .server import EmulatorProcess, ObjectCheck
from .widget import WidgetRun, measure_widget_cost, widget_unavailable

__all__ = ["main"]

MODULES = {
    "ossnb": "benchmarks.clients",
    "oss2": "benchmarks.clients",
    "oss-v2": "benchmarks.clients",
    "ceiling": "benchmarks.ceiling",
    "emulator": "benchmarks.ceiling",
}
BUCKET = "bench"
BYTES_CHECK_LIMIT = 256 * MIB
WIDGET_COST_LIMIT = 5.0  # percent of throughput (the target)
RESUME_SPEEDUP = 3.0  # a 90%-done resume must beat a fresh upload by this much


def generate_file(path: Path, size: int) -> int:
    """Write ``size`` random bytes (incompressible, so nothing flatters anyone); its CRC-64."""
    crc, left = 0, size
    with open(path, "wb") as out:
        while left:
            block = os.urandom(min(left, 8 * MIB))
            crc = crc64.xz(block, initial=crc)
            out.write(block)
            left -= len(block)
        out.flush()
        os.fsync(out.fileno())  # no write-back of it competes with the first contender
    return int(crc)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Bench:
    """The run's shared state: options, file, server, checker, scratch folder."""

    def __init__(self, opts: Options, root: Path, server: EmulatorProcess, crc: int) -> None:
        self.opts, self.root, self.server, self.crc = opts, root, server, crc
        self.path = str(root / "source.bin")
        self.checker = ObjectCheck(server.endpoint, BUCKET)
        big = opts.size > BYTES_CHECK_LIMIT
        self.compare_bytes = opts.verify == "bytes" or (opts.verify == "auto" and not big)
        self.timeout = 120 + opts.size / (10 * MIB)
        self.discarded: list[dict[str, Any]] = []

    def job(self, contender: str, key: str, **options: Any) -> Job:
        work = self.root / "work" / key.replace("/", "_")
        work.mkdir(parents=True, exist_ok=True)
        return Job(
            contender=contender,
            endpoint=self.server.endpoint,
            bucket=BUCKET,
            key=key,
            path=self.path,
            size=self.opts.size,
            part_size=self.opts.part_size,
            workers=self.opts.workers,
            work_dir=str(work),
            options=options,
        )

    def measured(self, module: str, job: Job) -> dict[str, Any]:
        """Run one child (on a quiet machine, if it gets quiet), adding the server's CPU
        seconds and the foreign load that ran alongside (in cores)."""
        quiet = self.settle()
        load = os.getloadavg()[0]
        before, busy_before = self.server.cpu_seconds(), cpu_busy_seconds()
        started = time.perf_counter()
        result = run_child(module, [job.to_json()], self.timeout, job.contender)
        elapsed = time.perf_counter() - started
        after, busy_after = self.server.cpu_seconds(), cpu_busy_seconds()
        server_cpu = None if before is None or after is None else after - before
        result["server_cpu_s"] = server_cpu
        gib = job.size / GIB
        result["server_cpu_s_per_gib"] = None if server_cpu is None else server_cpu / gib
        result["load_avg_1m"] = load
        result["foreign_cores_before"] = quiet
        if busy_before is not None and busy_after is not None and server_cpu is not None:
            foreign = busy_after - busy_before - result["cpu_total_s"] - server_cpu
            result["foreign_cores"] = max(0.0, foreign / elapsed)
        if "wall_s" in result:
            result["mib_s"] = job.size / MIB / result["wall_s"]
        return result

    def check_and_delete(self, key: str, crc: int) -> str:
        try:
            path = self.path if crc == self.crc else None
            return self.checker.verify(key, self.opts.size, crc, path, self.compare_bytes)
        finally:
            self.checker.delete(key)

    def settle(self) -> float | None:
        """Wait (up to ``--quiet-wait``) for other work on the machine to calm down."""
        return wait_for_quiet(self.opts.quiet_wait) if self.opts.quiet_wait > 0 else None

    def cleanup(self, key: str) -> None:
        """Check an object made from the file, then delete it."""
        self.check_and_delete(key, self.crc)

    def rounds(self) -> list[dict[str, Any]]:
        samples = []
        names = list(self.opts.contenders)
        for r in range(self.opts.rounds):
            shift = r % len(names)
            for position, name in enumerate(names[shift:] + names[:shift]):
                key = f"{name}/r{r + 1}"
                for attempt in range(3):
                    sample = self.measured(MODULES[name], self.job(name, key))
                    expected = int(sample.get("expected_crc64", self.crc))
                    sample["verified"] = self.check_and_delete(key, expected)
                    sample.update(round=r + 1, position=position + 1, attempt=attempt + 1)
                    if sample.get("foreign_cores", 0.0) <= self.opts.max_foreign or attempt == 2:
                        break
                    self.discarded.append(sample)
                    say(
                        f"round {r + 1} {name}: other work took {sample['foreign_cores']:.2f} "
                        f"cores alongside ({sample['mib_s']:.0f} MiB/s); measuring it again"
                    )
                samples.append(sample)
                say(
                    f"round {r + 1}/{self.opts.rounds} {name:<9} {sample['mib_s']:7.0f} MiB/s  "
                    f"CPU {sample['cpu_s'] / (self.opts.size / GIB):5.2f} s/GiB  "
                    f"RSS {sample['peak_rss_bytes'] / MIB:4.0f} MiB  "
                    f"server {(sample['server_cpu_s_per_gib'] or 0):5.2f} s/GiB  "
                    f"other work {sample.get('foreign_cores', 0):.2f} cores  "
                    f"[{sample['verified']} ok]"
                )
        return samples

    def resume(self, fresh_mib_s: float | None) -> dict[str, Any]:
        runs = []
        for r in range(self.opts.resume_rounds):
            key = f"resume/r{r + 1}"
            prepared = run_child(
                "benchmarks.resume", [self.job("ossnb", key, phase="prepare").to_json()], 600
            )
            result = self.measured("benchmarks.resume", self.job("ossnb", key, phase="resume"))
            result["verified"] = self.check_and_delete(key, self.crc)
            result["parts_prepared"] = prepared["parts_done"]
            runs.append(result)
            say(
                f"resume {r + 1}: {result['wall_s']:.2f} s, re-read "
                f"{format_size(result['bytes_read'])}, re-sent {format_size(result['bytes_sent'])}"
            )
        wall = statistics.median(r["wall_s"] for r in runs)
        out: dict[str, Any] = {"wall_s": wall, "runs": runs}
        for field in ("bytes_read", "bytes_sent", "bytes_reused", "parts_reused", "parts_sent"):
            out[field] = runs[-1][field]
        if fresh_mib_s:
            fresh = self.opts.size / MIB / fresh_mib_s
            resend = fresh * out["bytes_reused"] / self.opts.size
            out["fresh_upload_s"] = fresh
            out["resend_done_parts_s"] = resend
            out["speedup_vs_fresh"] = fresh / wall
            verify = wall - fresh * out["bytes_sent"] / self.opts.size  # minus the sending
            out["verify_s_estimate"] = max(0.0, verify)
            if verify > 0:
                out["verify_mib_s_estimate"] = out["bytes_reused"] / MIB / verify
        return out

    def widget(self) -> dict[str, Any]:
        why = widget_unavailable(self.opts.widget_factory)
        if why is not None:
            say(f"widget cost: skipped ({why})")
            return {"skipped": why}
        try:
            run = WidgetRun(
                endpoint=self.server.endpoint,
                server_pid=self.server.pid,
                bucket=BUCKET,
                path=self.path,
                size=self.opts.size,
                part_size=self.opts.part_size,
                workers=self.opts.workers,
                rounds=self.opts.widget_rounds,
                factory=self.opts.widget_factory,
                max_foreign=self.opts.max_foreign,
                timeout=self.timeout,
            )
            result = measure_widget_cost(run, self.cleanup, self.settle)
        except Exception as exc:  # the widget is optional; the comparison still stands
            say(f"widget cost: failed ({type(exc).__name__}: {exc})")
            return {"skipped": f"failed: {type(exc).__name__}: {exc}"}
        say(
            f"widget: {result['widget_mib_s']:.0f} MiB/s attached, "
            f"{result['headless_mib_s']:.0f} headless: cost {result['cost_percent']:.1f}% "
            f"(CPU {result['cpu_cost_percent']:+.1f}%)"
        )
        return result

    def warm_up(self) -> None:
        """One unrecorded upload, so no contender pays the server's first-use costs."""
        size = min(self.opts.size, GIB)
        job = self.job("emulator", "warm-up")
        job = Job(**{**job.__dict__, "size": size})
        result = run_child("benchmarks.ceiling", [job.to_json()], self.timeout)
        self.checker.verify("warm-up", size, int(result["expected_crc64"]), None, False)
        self.checker.delete("warm-up")


def resume_verdict(resume: dict[str, Any], size: int) -> dict[str, Any]:
    """Met when only the missing parts were sent and the resume beat a fresh upload by
    :data:`RESUME_SPEEDUP` (the done parts were only re-read and CRC-checked)."""
    only_missing = resume["bytes_sent"] == size - resume["bytes_reused"]
    speedup = resume.get("speedup_vs_fresh")
    return {
        "only_missing_parts_sent": only_missing,
        "speedup_vs_fresh": speedup,
        "target_speedup": RESUME_SPEEDUP,
        "met": only_missing and (speedup is None or speedup >= RESUME_SPEEDUP),
    }


def filesystem_of(path: Path) -> str | None:
    """The file-system type holding ``path`` (``tmpfs``, ``ext4``...), from /proc/mounts."""
    best, kind = "", None
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                fields = line.split()
                if (
                    len(fields) > 2
                    and str(path).startswith(fields[1])
                    and len(fields[1]) > len(best)
                ):
                    best, kind = fields[1], fields[2]
    except OSError:
        return None
    return kind


def emulator_base(opts: Options) -> str | None:
    """The folder for the emulator's data: ``--emulator-dir``, else tmpfs if it has room."""
    if opts.emulator_dir:
        return opts.emulator_dir
    shm = "/dev/shm"
    roomy = os.path.isdir(shm) and shutil.disk_usage(shm).free > 3 * opts.size + GIB
    return shm if roomy and os.access(shm, os.W_OK) else opts.tmp_dir


def run(opts: Options, root: Path, data_dir: Path) -> dict[str, Any]:
    say(f"generating {format_size(opts.size)} of random data in {root}")
    crc = generate_file(root / "source.bin", opts.size)
    log = root / "emulator.log"
    with EmulatorProcess(data_dir, BUCKET, log) as server:
        say(f"ossnb serve at {server.endpoint} (pid {server.pid})")
        bench = Bench(opts, root, server, crc)
        started = os.getloadavg()
        bench.warm_up()
        samples = bench.rounds()
        summary = report.summarize(samples)
        result = report.verdict(summary, samples, workers=opts.workers, part_size=opts.part_size)
        resume = None
        if opts.resume_rounds > 0:
            resume = bench.resume(summary["ossnb"]["mib_s"] if "ossnb" in summary else None)
            result["resume"] = resume_verdict(resume, opts.size)
        widget = bench.widget() if opts.widget_rounds > 0 else {"skipped": "--widget-rounds 0"}
        if "cost_percent" in widget:
            cost = float(widget["cost_percent"])
            result["widget"] = {"cost_percent": cost, "met": cost < WIDGET_COST_LIMIT}
        bench.checker.close()
    return {
        "machine": report.machine(),
        "config": {
            "size": opts.size,
            "part_size": opts.part_size,
            "workers": opts.workers,
            "rounds": opts.rounds,
            "contenders": list(opts.contenders),
            "verify": "bytes" if bench.compare_bytes else "crc64",
            "emulator_data_dir": str(data_dir),
            "emulator_data_fs": filesystem_of(data_dir),
            "load_avg_start": started,
            "load_avg_end": os.getloadavg(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "samples": samples,
        "discarded_samples": bench.discarded,
        "summary": summary,
        "verdict": result,
        "resume": resume,
        "widget": widget,
    }


def main(argv: list[str]) -> int:
    opts = parse_args(argv)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    root = Path(tempfile.mkdtemp(prefix="ossnb-bench-", dir=opts.tmp_dir))
    data_dir = Path(tempfile.mkdtemp(prefix="ossnb-bench-emulator-", dir=emulator_base(opts)))
    try:
        data = run(opts, root, data_dir)
    except ChildFailed as exc:
        say(f"benchmark failed: {exc}")
        return 1
    finally:
        if opts.keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(data_dir, ignore_errors=True)
    if opts.json_path:
        Path(opts.json_path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(report.render(data))
    return 0
