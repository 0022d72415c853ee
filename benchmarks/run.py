"""The one benchmark command (see ``benchmarks/README.md``)::

python benchmarks/run.py cpu [--big 512MiB] [--small 24MiB] [--rounds 3] [--json out.json]
python benchmarks/run.py [--size 1GiB] [--part-size 8MiB] [--workers 4] [--rounds 3]
                         [--json out.json] [--contenders ossnb,oss2,...]
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    # run as a script, this folder is sys.path[0]: put the repository there instead, so
    # ``benchmarks.*`` imports work and no module here shadows another (``report``...)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    if sys.argv[1:2] == ["cpu"]:  # whole-process client CPU side by side (benchmarks/whole.py)
        from benchmarks.whole import main as run_whole

        return run_whole(sys.argv[2:])
    from benchmarks.suite import main as run_suite

    return run_suite(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
