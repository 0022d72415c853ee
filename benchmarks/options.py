"""The command line of ``python benchmarks/run.py``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from .common import parse_size

__all__ = ["CONTENDERS", "Options", "parse_args"]

CONTENDERS = ("ossnb", "oss2", "oss-v2", "ceiling", "emulator")


@dataclass(frozen=True)
class Options:
    size: int
    part_size: int
    workers: int
    rounds: int
    json_path: str | None
    contenders: tuple[str, ...]
    resume_rounds: int
    widget_rounds: int
    widget_factory: str | None
    verify: str
    tmp_dir: str | None
    emulator_dir: str | None
    keep: bool
    quiet_wait: float
    max_foreign: float


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="ossnb against oss2 and alibabacloud-oss-v2, a ceiling and the emulator alone.",
    )
    parser.add_argument("--size", default="1GiB", help="file size (default %(default)s)")
    parser.add_argument("--part-size", default="8MiB", help="part size (default %(default)s)")
    parser.add_argument("--workers", type=int, default=4, help="parallel parts (default 4)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--json", dest="json_path", help="also save the results here")
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help="comma-separated subset of %(default)s",
    )
    parser.add_argument("--resume-rounds", type=int, default=1, help="0 skips (default 1)")
    parser.add_argument("--widget-rounds", type=int, default=3, help="0 skips (default 3)")
    parser.add_argument("--widget-factory", help="name in ossnb.widgets that builds the widget")
    parser.add_argument(
        "--verify",
        choices=("auto", "bytes", "crc64"),
        default="auto",
        help="check objects byte for byte, or by size+CRC-64 (auto: bytes up to 256 MiB)",
    )
    parser.add_argument("--tmp-dir", help="where the generated file goes (default: the temp dir)")
    parser.add_argument(
        "--emulator-dir",
        help="where the emulator keeps its data (default: /dev/shm when it has room, so the "
        "kernel's disk write-back does not take CPU from the contenders; else --tmp-dir)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each sample, wait up to this many seconds for other work on the machine "
        "to use under 0.3 cores (default %(default)s; 0 never waits)",
    )
    parser.add_argument(
        "--max-foreign",
        type=float,
        default=0.3,
        help="run a sample again (twice at most) when other work took more than this many "
        "cores alongside it; the discarded ones are kept in the JSON (default %(default)s)",
    )
    args = parser.parse_args(argv)
    contenders = tuple(c.strip() for c in args.contenders.split(",") if c.strip())
    unknown = sorted(set(contenders) - set(CONTENDERS))
    if unknown:
        parser.error(f"unknown contender(s): {', '.join(unknown)}")
    size, part_size = parse_size(args.size), parse_size(args.part_size)
    if size < 1 or part_size < 100 * 1024 or args.workers < 1 or args.rounds < 1:
        parser.error("need --size >= 1 B, --part-size >= 100KiB, --workers >= 1, --rounds >= 1")
    return Options(
        size=size,
        part_size=part_size,
        workers=args.workers,
        rounds=args.rounds,
        json_path=args.json_path,
        contenders=contenders,
        resume_rounds=args.resume_rounds,
        widget_rounds=args.widget_rounds,
        widget_factory=args.widget_factory,
        verify=args.verify,
        tmp_dir=args.tmp_dir,
        emulator_dir=args.emulator_dir,
        keep=args.keep,
        quiet_wait=args.quiet_wait,
        max_foreign=args.max_foreign,
    )
