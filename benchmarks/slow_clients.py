"""Slow clients against a real ``ossnb serve``: how long they hold it, and what it costs.

::

    .venv/bin/python benchmarks/slow_clients.py                  # 300 clients, 90 s
    .venv/bin/python benchmarks/slow_clients.py --clients 40 --duration 8 --interval 0.5 \\
        --serve-arg=--header-timeout=2 --serve-arg=--body-timeout=2 --json out.json

Starts ``python -m ossnb serve`` on 127.0.0.1 (its own process; ``PYTHONPATH`` picks the
code), opens ``--clients`` connections that each send one byte every ``--interval``
seconds, in three kinds taken in turn:

* ``headers``: a GET whose request headers never end;
* ``unauthenticated body``: an unsigned PUT declaring 64 MiB, then its body byte by byte;
* ``authenticated body``: the same PUT signed (V4), so the server reads its body.

Every ``--sample`` seconds it records the connections the server still holds (not
closed from its side), the server's threads and resident memory (``/proc``), and the
latency of a legitimate ``oss2`` ``put_object`` (64 KiB) made meanwhile. Clients never
reconnect; the run stops by itself after ``--duration`` seconds, closes everything and
stops the server. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``ossnb`` and ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ossnb.protocol.http import Request
from ossnb.protocol.signing import Credentials, sign_v4

__all__ = ["SlowClients", "main", "server_status"]

KEY_ID, SECRET, REGION, BUCKET = "ossnb-dev-key", "ossnb-dev-secret", "cn-hangzhou", "bench"
KINDS = ("headers", "unauthenticated body", "authenticated body")
_DECLARED = 64 << 20
_ENDPOINT = re.compile(r"listening on (http://\S+)")


@dataclass
class Client:
    kind: str
    sock: socket.socket
    opened: float
    closed: float | None = None  # when the server closed it (EOF or reset)
    status: int | None = None  # the status line of an answer, if any
    sent: int = 0
    received: bytes = b""


@dataclass
class SlowClients:
    """``count`` connections to ``port`` that send a byte every ``interval`` seconds."""

    port: int
    count: int
    interval: float
    clients: list[Client] = field(default_factory=list)

    def open(self) -> None:
        for i in range(self.count):
            kind = KINDS[i % len(KINDS)]
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            sock.setblocking(False)
            client = Client(kind, sock, time.monotonic())
            self.clients.append(client)
            self._send(client, self._opening(kind, i))
            if i % 10 == 9:
                self.poll(0)  # answers that come at once are seen at once

    def _opening(self, kind: str, i: int) -> bytes:
        host = f"127.0.0.1:{self.port}"
        if kind == "headers":
            return f"GET /{BUCKET}/k HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode()
        headers = {"host": host, "content-length": str(_DECLARED)}
        if kind == "authenticated body":
            request = Request("PUT", BUCKET, f"slow-{i}", (), headers)
            now = datetime.now(timezone.utc)
            headers = dict(
                sign_v4(request, Credentials(KEY_ID, SECRET), REGION, now).request.headers
            )
        lines = [f"PUT /{BUCKET}/slow-{i} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _send(self, client: Client, data: bytes) -> None:
        try:
            client.sent += client.sock.send(data)
        except BlockingIOError:
            pass
        except OSError:
            self._read(client)  # an answer may have come before the close
            self._closed(client)

    def _closed(self, client: Client) -> None:
        if client.closed is None:
            client.closed = time.monotonic()

    def held(self) -> list[Client]:
        return [c for c in self.clients if c.closed is None]

    def poll(self, seconds: float) -> None:
        """Read what the server sends (answers, EOF) for ``seconds``."""
        end = time.monotonic() + max(seconds, 0.0)
        while True:  # at least one look, even for 0 s
            left = max(end - time.monotonic(), 0.0)
            open_ones = {c.sock: c for c in self.held()}
            if not open_ones:
                time.sleep(left)
                return
            ready, _, _ = select.select(list(open_ones), [], [], min(left, 0.2))
            for sock in ready:
                self._read(open_ones[sock])
            if time.monotonic() >= end:
                return

    def _read(self, client: Client) -> None:
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._closed(client)
            return
        client.received += data[:4096]
        match = re.match(rb"HTTP/1\.1 (\d{3})", client.received)
        if client.status is None and match:
            client.status = int(match.group(1))

    def trickle(self) -> None:
        for client in self.held():
            self._send(client, b"a")

    def close(self) -> None:
        for client in self.clients:
            client.sock.close()


def server_status(pid: int) -> tuple[int, float]:
    """``(threads, resident MiB)`` of process ``pid``."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


class Legit(threading.Thread):
    """Puts a 64 KiB object with oss2 again and again; keeps each latency in ms."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(daemon=True)
        import oss2

        auth = oss2.AuthV4(KEY_ID, SECRET)
        self.bucket = oss2.Bucket(auth, endpoint, BUCKET, region=REGION, connect_timeout=30)
        self.latencies: list[tuple[float, float | None]] = []  # (when, ms or None: failed)
        self.stop = threading.Event()
        self.errors: set[str] = set()

    def run(self) -> None:
        data = os.urandom(64 << 10)
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                self.bucket.put_object("legit", data)
                ms: float | None = (time.monotonic() - started) * 1000
            except Exception as exc:
                ms = None
                self.errors.add(f"{type(exc).__name__} {getattr(exc, 'status', '')}".strip())
            self.latencies.append((started, ms))
            self.stop.wait(0.5)


def _start_server(
    data_dir: Path, serve_args: list[str], log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    command = [sys.executable, "-m", "ossnb", "serve", "--data-dir", str(data_dir)]
    command += ["--port", "0", "--bucket", BUCKET, *serve_args]
    with open(log, "ab") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err)
    assert process.stdout is not None
    text, deadline = b"", time.monotonic() + 30
    while b"Press Ctrl+C" not in text:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"ossnb serve did not start: {text!r} {log.read_text()}")
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            text += os.read(process.stdout.fileno(), 65536)
    match = _ENDPOINT.search(text.decode())
    assert match, text
    return process, match.group(1)


def run(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="ossnb-slow-") as scratch:
        process, endpoint = _start_server(
            Path(scratch) / "data", args.serve_arg, Path(scratch) / "log"
        )
        port = int(endpoint.rsplit(":", 1)[1])
        slow = SlowClients(port, args.clients, args.interval)
        legit: Legit | None = None
        samples: list[dict[str, object]] = []
        try:
            threads0, rss0 = server_status(process.pid)
            legit = Legit(endpoint)
            started = time.monotonic()
            slow.open()
            legit.start()
            next_byte = next_sample = started
            while (now := time.monotonic()) - started < args.duration:
                if now >= next_byte:
                    slow.trickle()
                    next_byte += args.interval
                if now >= next_sample:
                    threads, rss = server_status(process.pid)
                    recent = [ms for when, ms in legit.latencies if when >= now - args.sample]
                    samples.append(
                        {
                            "t_s": round(now - started, 1),
                            "held": len(slow.held()),
                            "held_by_kind": {
                                k: sum(c.kind == k for c in slow.held()) for k in KINDS
                            },
                            "threads": threads,
                            "rss_mib": round(rss, 1),
                            "legit_ms_max": _max_ms(recent),
                            "legit_failed": sum(ms is None for ms in recent),
                        }
                    )
                    if not args.quiet:
                        print(_row(samples[-1]), flush=True)
                    next_sample += args.sample
                slow.poll(min(next_byte, next_sample) - time.monotonic())
            threads1, rss1 = server_status(process.pid)
        finally:
            if legit is not None:
                legit.stop.set()
                legit.join(30)
            slow.close()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        return _summary(args, slow, legit, samples, (threads0, rss0), (threads1, rss1))


def _max_ms(values: list[float | None]) -> float | None:
    done = [v for v in values if v is not None]
    return round(max(done), 1) if done else None


def _row(sample: dict[str, object]) -> str:
    return (
        f"t={sample['t_s']:>6}s held={sample['held']:>4} threads={sample['threads']:>4} "
        f"rss={sample['rss_mib']:>6} MiB legit put max={sample['legit_ms_max']} ms "
        f"failed={sample['legit_failed']}"
    )


def _summary(
    args: argparse.Namespace,
    slow: SlowClients,
    legit: Legit | None,
    samples: list[dict[str, object]],
    before: tuple[int, float],
    after: tuple[int, float],
) -> dict[str, object]:
    held_for: dict[str, list[float]] = {k: [] for k in KINDS}
    for client in slow.clients:
        end = client.closed if client.closed is not None else float("nan")
        held_for[client.kind].append(end - client.opened)
    latencies = [ms for _, ms in (legit.latencies if legit else [])]
    done = [ms for ms in latencies if ms is not None]
    return {
        "config": {k: v for k, v in vars(args).items() if k != "json"},
        "server_before": {"threads": before[0], "rss_mib": round(before[1], 1)},
        "server_after": {"threads": after[0], "rss_mib": round(after[1], 1)},
        "max_threads": max([int(str(s["threads"])) for s in samples] or [0]),
        "max_rss_mib": max([float(str(s["rss_mib"])) for s in samples] or [0.0]),
        "held_at_end": len(slow.held()),
        "closed_by_server_after_s": {
            kind: {
                "closed": sum(t == t for t in times),  # NaN: still held
                "median": _round(statistics.median([t for t in times if t == t] or [float("nan")])),
                "max": _round(max([t for t in times if t == t] or [float("nan")])),
            }
            for kind, times in held_for.items()
        },
        "answers": sorted({str(c.status) for c in slow.clients}),
        "legit_requests": len(latencies),
        "legit_failed": len(latencies) - len(done),
        "legit_errors": sorted(legit.errors) if legit else [],
        "legit_ms_median": _round(statistics.median(done)) if done else None,
        "legit_ms_max": _round(max(done)) if done else None,
        "samples": samples,
    }


def _round(value: float) -> float | None:
    return None if value != value else round(value, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--duration", type=float, default=90.0, help="seconds (default 90)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between bytes")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--serve-arg", action="append", default=[], help="pass to ossnb serve")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 1000 or not 0 < args.duration <= 600:
        parser.error("--clients is 1 to 1000 and --duration at most 600 s")
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if not args.quiet:
        shown = {k: v for k, v in result.items() if k != "samples"}
        print(json.dumps(shown, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
