"""Whole-process client CPU, side by side: ``python benchmarks/run.py cpu`` (see README).

Every client is one whole process as a user runs it (``benchmarks/whole_scripts.py``:
interpreter start, imports, client, upload); its CPU is the kernel's account of that
process, user + system, taken with ``os.wait4`` when it exits, so start-up counts. All
run against one ``ossnb serve`` (data on tmpfs when there is room), on one random file,
with the same part size, 4 workers and CRC-64 checked by all, in a rotating order per
round; every object is checked (size and CRC-64) and deleted. Rows:

* big file (512 MiB, 8 MiB parts) and small file (24 MiB, 100 KiB parts): client CPU
  s/GiB for ossnb (``checksum="md5"`` and ``"crc64"``), oss2 and alibabacloud-oss-v2, and
  the floor (``whole_scripts.FLOOR``: no library, CRC-64 only; what any Python client
  must spend on the same upload);
  peak RSS; the upload's MiB/s (in-process wall time; noisy here);
* start-up alone (imports and client, no upload): CPU s;
* the emulator alone absorbing 100 KiB parts (``benchmarks.ceiling``'s ``emulator``
  harness): parts/s and server CPU per part.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from .common import GIB, MIB, Job, format_size, parse_size
from .machine import cpu_busy_seconds, wait_for_quiet
from .measure import child_env, run_child
from .report import machine
from .server import EmulatorProcess, ObjectCheck
from .suite import generate_file
from .whole_scripts import MARK, SCRIPTS

__all__ = ["main"]

BUCKET = "bench"
CLIENTS = ("ossnb md5", "ossnb crc64", "oss2", "oss-v2", "floor")
SDKS = ("oss2", "oss-v2")
TARGETS = {  # the targets: ossnb's CPU ÷ the faster SDK's
    ("big", "ossnb md5"): 0.5,
    ("small", "ossnb md5"): 0.2,
    ("big", "ossnb crc64"): 0.15,
    ("small", "ossnb crc64"): 0.15,
}
EMULATOR_TARGET = 2000.0  # parts/s


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python benchmarks/run.py cpu", description=__doc__)
    p.add_argument("--big", default="512MiB", help="big file (default %(default)s)")
    p.add_argument("--big-part", default="8MiB", help="its part size (default %(default)s)")
    p.add_argument("--small", default="24MiB", help="small file (default %(default)s)")
    p.add_argument("--small-part", default="100KiB", help="its part size (default %(default)s)")
    p.add_argument("--emulator-parts", type=int, default=3000, help="parts (default 3000)")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clients", default=",".join(CLIENTS), help="subset of %(default)s")
    p.add_argument("--quiet-wait", type=float, default=10.0, help="max s to wait for quiet")
    p.add_argument("--json", dest="json_path")
    p.add_argument("--tmp-dir", help="where the files go (default: /dev/shm if roomy)")
    return p.parse_args(argv)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_process(
    script: str, args: list[str], cwd: Path, timeout: float, env: dict[str, str]
) -> dict[str, Any]:
    """Run ``python -c script args``; its rusage (``os.wait4``) and its WHOLE-RESULT line."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            assert proc.stdout is not None
            out = proc.stdout.read().decode(errors="replace")
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        proc.stdout.close()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    lines = [ln for ln in out.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child exited {proc.returncode}:\n{stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len(MARK) :])
    result.update(
        cpu_s=usage.ru_utime + usage.ru_stime,
        cpu_user_s=usage.ru_utime,
        cpu_sys_s=usage.ru_stime,
        process_wall_s=wall,
        ru_maxrss_bytes=usage.ru_maxrss * 1024,
    )
    return result


class Run:
    def __init__(self, opts: argparse.Namespace, root: Path, server: EmulatorProcess) -> None:
        self.opts, self.root, self.server = opts, root, server
        self.checker = ObjectCheck(server.endpoint, BUCKET)
        self.env = child_env()
        # as installed: modules load from cached bytecode (the installed SDKs have theirs;
        # with PYTHONDONTWRITEBYTECODE set, every ossnb process would compile its source)
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.samples: list[dict[str, Any]] = []
        self.count = 0

    def sample(self, client: str, case: str, path: Path, size: int, part: int, crc: int) -> None:
        name, _, checksum = client.partition(" ")
        self.count += 1
        key = f"{case}-{name}-{self.count}"
        work = self.root / "work" / key
        work.mkdir(parents=True)
        args = [self.server.endpoint, BUCKET, key, str(path), str(part)]
        args += [str(self.opts.workers), str(work), checksum]
        env = dict(self.env)
        if case == "startup":
            env["OSSNB_BENCH_STARTUP_ONLY"] = "1"
        wait_for_quiet(self.opts.quiet_wait)
        load = os.getloadavg()[0]
        server_before, busy_before = self.server.cpu_seconds(), cpu_busy_seconds()
        result = run_process(SCRIPTS[name], args, work, 120 + size / MIB, env)
        server_after, busy_after = self.server.cpu_seconds(), cpu_busy_seconds()
        server_cpu = (server_after or 0.0) - (server_before or 0.0)
        result.update(client=client, case=case, size=size, part_size=part, load_avg_1m=load)
        result["server_cpu_s"] = server_cpu
        if busy_before is not None and busy_after is not None:
            other = busy_after - busy_before - result["cpu_s"] - server_cpu
            result["foreign_cores"] = max(0.0, other / result["process_wall_s"])
        if case != "startup":
            self.checker.verify(key, size, crc, None, False)
            self.checker.delete(key)
            result["cpu_s_per_gib"] = result["cpu_s"] / (size / GIB)
            result["mib_s"] = size / MIB / result["wall_s"] if result["wall_s"] else None
        shutil.rmtree(work, ignore_errors=True)
        self.samples.append(result)
        shown = f"{result.get('cpu_s_per_gib', result['cpu_s']):.2f}"
        say(f"  {case:7} {client:12} cpu {result['cpu_s']:.2f} s ({shown}), load {load:.1f}")

    def emulator_alone(self, part: int) -> dict[str, Any]:
        size = part * self.opts.emulator_parts
        work = self.root / "work" / "emulator"
        work.mkdir(parents=True, exist_ok=True)
        job = Job(
            "emulator",
            self.server.endpoint,
            BUCKET,
            "emulator-alone",
            "",
            size,
            part,
            self.opts.workers,
            str(work),
        )
        wait_for_quiet(self.opts.quiet_wait)
        before = self.server.cpu_seconds() or 0.0
        result = run_child("benchmarks.ceiling", [job.to_json()], 600, "emulator alone")
        server_cpu = (self.server.cpu_seconds() or 0.0) - before
        self.checker.verify("emulator-alone", size, result["expected_crc64"], None, False)
        self.checker.delete("emulator-alone")
        parts = result["parts"]
        return {
            "parts": parts,
            "part_size": part,
            "parts_per_s": parts / result["wall_s"],
            "server_cpu_ms_per_part": 1000 * server_cpu / parts,
            "harness_cpu_ms_per_part": 1000 * result["cpu_s"] / parts,
        }


def _median(samples: list[dict[str, Any]], case: str, client: str, field: str) -> float | None:
    values = [s[field] for s in samples if s["case"] == case and s["client"] == client]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(samples: list[dict[str, Any]], clients: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for case in ("big", "small", "startup"):
        field = "cpu_s" if case == "startup" else "cpu_s_per_gib"
        rows = {}
        for client in clients:
            rows[client] = {
                "cpu": _median(samples, case, client, field),
                "peak_rss_mib": (_median(samples, case, client, "peak_rss_bytes") or 0) / MIB,
                "mib_s": _median(samples, case, client, "mib_s") if case != "startup" else None,
                "cpu_user": _median(samples, case, client, "cpu_user_s"),
                "cpu_sys": _median(samples, case, client, "cpu_sys_s"),
            }
        sdk = [rows[c]["cpu"] for c in SDKS if c in rows and rows[c]["cpu"]]
        faster = min(sdk) if sdk else None
        for row in rows.values():
            row["ratio"] = row["cpu"] / faster if faster and row["cpu"] else None
        summary[case] = rows
    return summary


def versions() -> dict[str, str | None]:
    found = dict(machine()["versions"])
    for dist in ("httpcore", "h11", "msgspec"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = None
    return found


def render(data: dict[str, Any]) -> str:
    cfg, summary, emu = data["config"], data["summary"], data["emulator"]
    clients = cfg["clients"]
    head = f"{'case':44}" + "".join(f"{c:>13}" for c in clients) + "  ossnb ÷ faster SDK"
    lines = [
        f"whole-process client CPU, {cfg['workers']} workers, CRC-64 checked by all, "
        f"{cfg['rounds']} round(s), medians; emulator data in {cfg['emulator_dir']}",
        "",
        head,
        "-" * len(head),
    ]
    labels = {
        "big": f"{format_size(cfg['big'])}, {format_size(cfg['big_part'])} parts",
        "small": f"{format_size(cfg['small'])}, {format_size(cfg['small_part'])} parts",
    }

    def row(label: str, case: str, key: str, spec: str, ratio: bool = False) -> None:
        cells = summary[case]
        text = f"{label:44}" + "".join(
            f"{'' if cells[c][key] is None else format(cells[c][key], spec):>13}" for c in clients
        )
        if ratio:
            parts = [
                f"{c.split()[-1]} {cells[c]['ratio']:.2f}"
                for c in clients
                if (c.startswith("ossnb") or c == "floor") and cells[c]["ratio"] is not None
            ]
            text += "  " + ", ".join(parts)
        lines.append(text)

    for case in ("big", "small"):
        row(f"{labels[case]}: client CPU s/GiB", case, "cpu", ".2f", ratio=True)
        row(f"{labels[case]}: peak RSS MiB", case, "peak_rss_mib", ".0f")
        row(f"{labels[case]}: MiB/s (upload wall)", case, "mib_s", ".0f")
    row("start-up alone (imports + client): CPU s", "startup", "cpu", ".3f", ratio=True)
    lines += [
        "",
        f"emulator alone, {format_size(emu['part_size'])} parts ({emu['parts']}): "
        f"{emu['parts_per_s']:.0f} parts/s, server CPU {emu['server_cpu_ms_per_part']:.2f} ms "
        f"a part, the harness's {emu['harness_cpu_ms_per_part']:.2f} ms (target {EMULATOR_TARGET:.0f} parts/s: "
        f"{'met' if emu['parts_per_s'] >= EMULATOR_TARGET else 'not met'})",
        "",
    ]
    for (case, client), target in TARGETS.items():
        ratio = summary[case].get(client, {}).get("ratio")
        if ratio is not None:
            verdict = "met" if ratio <= target else "not met"
            lines.append(f"target {client} {labels[case]}: {ratio:.3f} ≤ {target} ({verdict})")
    for case, part in (("big", cfg["big_part"]), ("small", cfg["small_part"])):
        limit = cfg["workers"] * part / MIB + 64
        peak = max(
            (summary[case][c]["peak_rss_mib"] for c in clients if c.startswith("ossnb")),
            default=0.0,
        )
        lines.append(
            f"ossnb peak RSS {labels[case]}: {peak:.0f} MiB (limit {limit:.0f} MiB: "
            f"{'met' if peak <= limit else 'not met'})"
        )
    m = data["machine"]
    lines += [
        "",
        f"machine: {m['cpu']}, {m['cores']} cores, {m['platform']}, Python {m['python']}; "
        f"load average {data['load'][0]:.1f} at the start, {data['load'][1]:.1f} at the end",
        "versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items() if v),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    opts = parse_args(argv)
    clients = [c.strip() for c in opts.clients.split(",") if c.strip()]
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        raise SystemExit(f"unknown client(s) {sorted(unknown)}: choose from {CLIENTS}")
    big, big_part = parse_size(opts.big), parse_size(opts.big_part)
    small, small_part = parse_size(opts.small), parse_size(opts.small_part)
    base = opts.tmp_dir
    if base is None and os.path.isdir("/dev/shm"):
        room = shutil.disk_usage("/dev/shm").free > 3 * big + GIB
        base = "/dev/shm" if room else None
    root = Path(tempfile.mkdtemp(prefix="ossnb-whole-", dir=base))
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "ossnb", quiet=1)
    load_start = os.getloadavg()[0]
    try:
        files = {}
        for case, size in (("big", big), ("small", small)):
            path = root / f"{case}.bin"
            files[case] = (path, generate_file(path, size))
        with EmulatorProcess(root / "emulator", BUCKET, root / "emulator.log") as server:
            run = Run(opts, root, server)
            say(f"emulator at {server.endpoint}; files in {root}")
            run.sample(
                "ossnb md5", "small", files["small"][0], small, small_part, files["small"][1]
            )
            run.samples.clear()  # a warm-up: page cache, emulator's first requests
            for r in range(opts.rounds):
                order = clients[r % len(clients) :] + clients[: r % len(clients)]
                say(f"round {r + 1}/{opts.rounds}: {', '.join(order)}")
                for client in order:
                    run.sample(client, "startup", files["small"][0], 0, small_part, 0)
                    for case, size, part in (("big", big, big_part), ("small", small, small_part)):
                        path, crc = files[case]
                        run.sample(client, case, path, size, part, crc)
            emulator = run.emulator_alone(small_part)
            run.checker.close()
        data = {
            "config": {
                "big": big,
                "big_part": big_part,
                "small": small,
                "small_part": small_part,
                "workers": opts.workers,
                "rounds": opts.rounds,
                "clients": clients,
                "emulator_dir": str(root),
            },
            "summary": summarize(run.samples, clients),
            "emulator": emulator,
            "samples": run.samples,
            "machine": machine(),
            "versions": versions(),
            "load": (load_start, os.getloadavg()[0]),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if opts.json_path:
        Path(opts.json_path).write_text(json.dumps(data, indent=2))
    print(render(data))
    return 0
