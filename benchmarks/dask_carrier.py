"""The Dask carrier against the local one on this machine: overhead per part.

::

    python benchmarks/dask_carrier.py [--parts 48] [--part-size 1MiB] [--workers 2] [--rounds 3]

One ``ossnb serve`` on 127.0.0.1, one random file, one ``distributed.LocalCluster``
(``--workers`` processes, one thread each, started once and warmed up with one upload).
Each round uploads the file four ways, each completed and verified:

* ``local, 1 at a time`` and ``dask, 1 at a time`` (``workers=1`` / ``in_flight=1``):
  the difference per part is the Dask carrier's fixed cost (presign, submit, schedule,
  the task's own connection, the result's way back);
* ``local, N at a time`` and ``dask, N at a time`` (``workers=N`` threads here / ``N``
  worker processes there, two tasks a worker in flight).

Medians over the rounds. Needs ``distributed`` (``pip install 'ossnb[dask]'``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _upload(client: Any, path: Path, bucket: str, part_size: int, **how: Any) -> float:
    from ossnb.upload.session import UploadSession

    carrier = how.pop("carrier", None)
    session = UploadSession(
        client, path, bucket, f"bench-{time.monotonic_ns()}", part_size=part_size,
        checkpoint=None, **how,
    )  # fmt: skip
    started = time.perf_counter()
    session.start(carrier=carrier)
    session.wait()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", type=int, default=48)
    parser.add_argument("--part-size", default="1MiB")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from distributed import Client as DaskClient
    from distributed import LocalCluster

    from benchmarks.common import DEV_KEY, DEV_SECRET, REGION, format_size, parse_size
    from benchmarks.server import EmulatorProcess
    from ossnb.client.client import Client
    from ossnb.protocol.signing import Credentials
    from ossnb.upload.dask_carrier import DaskCarrier

    part_size = parse_size(args.part_size)
    n = args.workers
    with tempfile.TemporaryDirectory(prefix="ossnb-dask-bench-") as scratch:
        folder = Path(scratch)
        path = folder / "data.bin"
        path.write_bytes(os.urandom(args.parts * part_size))
        (folder / "emu").mkdir()
        emulator = EmulatorProcess(folder / "emu", "bench", folder / "emu.log").start()
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None,
        )  # fmt: skip
        dask = DaskClient(cluster)
        client = Client(emulator.endpoint, Credentials(DEV_KEY, DEV_SECRET), region=REGION)
        ways: dict[str, dict[str, Any]] = {
            "local, 1 at a time": {"workers": 1},
            "dask, 1 at a time": {"carrier": DaskCarrier(dask, in_flight=1)},
            f"local, {n} at a time": {"workers": n},
            f"dask, {n} at a time": {"carrier": DaskCarrier(dask)},
        }
        try:
            _upload(client, path, "bench", part_size, carrier=DaskCarrier(dask))  # warm-up
            times: dict[str, list[float]] = {name: [] for name in ways}
            for _ in range(args.rounds):
                for name, how in ways.items():
                    times[name].append(_upload(client, path, "bench", part_size, **dict(how)))
        finally:
            dask.close()
            cluster.close()
            emulator.stop()

    size = args.parts * part_size
    print(f"{args.parts} parts of {format_size(part_size)}, {args.rounds} rounds, medians")
    print(f"{'carrier':<22} {'seconds':>8} {'MiB/s':>8} {'ms/part':>8}")
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, seconds in median.items():
        rate = size / seconds / 2**20
        print(f"{name:<22} {seconds:8.2f} {rate:8.1f} {1000 * seconds / args.parts:8.1f}")
    serial = (median["dask, 1 at a time"] - median["local, 1 at a time"]) / args.parts
    print(f"Dask carrier overhead per part (1 at a time): {1000 * serial:.1f} ms")
    return 0


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    sys.exit(main())
