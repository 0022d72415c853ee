"""The hashing figures docs/ARCHITECTURE.md §5 rests on, measured on this machine.

::

    python -m benchmarks.primitives            # from the repository root, in the venv
    python -m benchmarks.primitives --mib 64   # a smaller buffer on a slow machine

MD5 (hashlib) on one thread and on two (does it release the GIL?), CRC-64/XZ with
``fastcrc`` (what ossnb uses) and with ``crcmod`` configured as both official SDKs
configure it, and combining part CRCs: ossnb's ``crc64_combine`` against the one oss2
ships. Medians of a few runs; the machine's other work shows in the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import threading
import time
from collections.abc import Callable

from ossnb.protocol.checksums import crc64, crc64_combine

MIB = 1024 * 1024
CHECK = b"123456789"  # CRC-64/XZ check value 0x995DC9BBDF1939FA


def _best_of(runs: int, work: Callable[[], None]) -> float:
    """Median wall seconds of ``runs`` calls of ``work``."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _md5(buffer: bytes) -> None:
    hashlib.md5(buffer).digest()


def _md5_two_threads(buffer: bytes) -> None:
    threads = [threading.Thread(target=_md5, args=(buffer,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.primitives")
    parser.add_argument("--mib", type=int, default=256, help="buffer size in MiB (256)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (5)")
    args = parser.parse_args(argv)
    buffer = os.urandom(args.mib * MIB)
    size = args.mib

    one = _best_of(args.runs, lambda: _md5(buffer))
    two = _best_of(args.runs, lambda: _md5_two_threads(buffer))
    print(f"MD5, one thread            {size / one:10.0f} MiB/s")
    print(f"MD5, two threads at once   {2 * size / two:10.0f} MiB/s ({one * 2 / two:.2f}x one)")

    assert crc64(CHECK) == 0x995DC9BBDF1939FA
    fast = _best_of(args.runs, lambda: crc64(buffer))
    print(f"CRC-64/XZ, fastcrc         {size / fast:10.0f} MiB/s")
    try:
        import crcmod  # the official SDKs' CRC (installed with oss2)
    except ImportError:
        print("CRC-64/XZ, crcmod          (crcmod not installed)")
    else:
        make = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=(1 << 64) - 1)
        assert make(CHECK) == 0x995DC9BBDF1939FA
        small = buffer[: min(len(buffer), 64 * MIB)]
        slow = _best_of(args.runs, lambda: make(small))
        print(f"CRC-64/XZ, crcmod (SDKs)   {len(small) / MIB / slow:10.0f} MiB/s")

    parts = 1000
    part_crcs = [(i * 0x9E3779B97F4A7C15) & ((1 << 64) - 1) for i in range(parts)]
    part_len = 8 * MIB

    def ours() -> None:
        total = 0
        for value in part_crcs:
            total = crc64_combine(total, value, part_len)

    per_part = _best_of(args.runs, ours) / parts
    print(f"combine, ossnb             {per_part * 1e6:10.1f} µs a part")
    try:
        from oss2.utils import Crc64
    except ImportError:
        print("combine, oss2              (oss2 not installed)")
    else:
        sdk = Crc64(0)
        few = part_crcs[:20]

        def theirs() -> None:
            total = 0
            for value in few:
                total = sdk.combine(total, value, part_len)

        per_part = _best_of(args.runs, theirs) / len(few)
        print(f"combine, oss2              {per_part * 1e6:10.1f} µs a part")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
