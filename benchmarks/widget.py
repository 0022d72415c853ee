"""The widget's cost: the same ossnb upload in a Jupyter kernel, widget attached or not.

Each measurement executes a generated notebook with ``nbclient`` (a real kernel, real
comm messages to the client): a setup cell builds the client and session; in
``widget`` mode a cell builds the session's widget and displays it; the last cell times
``start()`` + ``wait()`` and prints one marked JSON line. Modes alternate over rounds.

It needs ``ossnb.widgets``. The widget factory is the first of :data:`FACTORIES` that
the package exports (or ``--widget-factory NAME``); it is called with the session.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .common import DEV_KEY, DEV_SECRET, MIB, REGION
from .measure import MARK

__all__ = ["FACTORIES", "WidgetRun", "measure_widget_cost", "widget_unavailable"]

FACTORIES = ("widget_for", "UploadWidget", "SessionWidget", "session_widget")

SETUP = """\
import json, os, time, resource
from ossnb.client.client import Client
from ossnb.protocol.signing import Credentials
from ossnb.upload.session import UploadSession
P = json.loads({params!r})
client = Client(P["endpoint"], Credentials(P["key_id"], P["secret"]), region=P["region"])
session = UploadSession(client, P["path"], P["bucket"], P["key"], part_size=P["part_size"],
                        workers=P["workers"], checkpoint=None)
"""
ATTACH = """\
import ossnb.widgets as W
names = [P["factory"]] if P["factory"] else {factories!r}
factory = next(getattr(W, n) for n in names if callable(getattr(W, n, None)))
panel = factory(session)
display(panel)
"""
UPLOAD = """\
def _cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
def _ticks(path, first, last):  # busy CPU seconds in /proc (None where there is none)
    try:
        with open(path) as f:
            fields = f.readline().rsplit(")", 1)[-1].split()
        return sum(int(x) for x in fields[first:last]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
def _busy():  # all cores: user, nice, system, irq, softirq, steal (not idle, iowait)
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
server_stat = "/proc/%d/stat" % P["server_pid"]
b0, s0 = _busy(), _ticks(server_stat, 11, 13)
t0, c0 = time.perf_counter(), _cpu()
session.start()
receipt = session.wait()
wall, cpu = time.perf_counter() - t0, _cpu() - c0
b1, s1 = _busy(), _ticks(server_stat, 11, 13)
assert receipt.verified, receipt.state
out = {{"wall_s": wall, "cpu_s": cpu}}
if None not in (b0, b1, s0, s1):  # other people's work that ran alongside, in cores
    out["foreign_cores"] = max(0.0, (b1 - b0 - cpu - (s1 - s0)) / wall)
if "panel" in globals():  # how often the widget re-rendered while the parts flew
    out["renders"] = getattr(getattr(panel, "_updater", None), "renders", None)
print({mark!r} + json.dumps(out))
"""


@dataclass(frozen=True)
class WidgetRun:
    """What the notebooks upload, to which server, and how noise is handled."""

    endpoint: str
    server_pid: int
    bucket: str
    path: str
    size: int
    part_size: int
    workers: int
    rounds: int
    factory: str | None
    max_foreign: float
    timeout: float


def widget_unavailable(factory: str | None) -> str | None:
    """Why the measurement cannot run here, or ``None`` if it can."""
    for module in ("nbclient", "nbformat", "ipykernel", "ipywidgets"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    if importlib.util.find_spec("ossnb.widgets") is None:
        return "ossnb.widgets does not exist yet"
    try:
        widgets = importlib.import_module("ossnb.widgets")
    except Exception as exc:  # a package being written may not import yet
        return f"ossnb.widgets does not import: {type(exc).__name__}: {exc}"
    names = [factory] if factory else list(FACTORIES)
    if not any(callable(getattr(widgets, name, None)) for name in names):
        return f"ossnb.widgets exports none of {', '.join(names)}"
    return None


def _run_notebook(params: dict[str, Any], attach: bool, timeout: float) -> dict[str, float]:
    import nbformat
    from nbclient import NotebookClient

    cells = [SETUP.format(params=json.dumps(params))]
    if attach:
        cells.append(ATTACH.format(factories=list(FACTORIES)))
    cells.append(UPLOAD.format(mark=MARK))
    new_cell, new_notebook = nbformat.v4.new_code_cell, nbformat.v4.new_notebook
    nb = new_notebook(cells=[new_cell(c) for c in cells])  # type: ignore[no-untyped-call]
    NotebookClient(nb, timeout=int(timeout), kernel_name="python3").execute()
    for output in nb.cells[-1].outputs:
        for line in str(output.get("text", "")).splitlines():
            if line.startswith(MARK):
                result: dict[str, float] = json.loads(line[len(MARK) :])
                return result
    raise RuntimeError(f"the upload cell printed no result: {nb.cells[-1].outputs!r}")


def measure_widget_cost(
    run: WidgetRun, cleanup: Callable[[str], None], settle: Callable[[], object]
) -> dict[str, Any]:
    """Median MiB/s and kernel CPU with the widget and without, and the costs in percent.

    A run that other work disturbed (more than ``max_foreign`` cores alongside) is run
    again, twice at most; ``settle`` is called before each (e.g. to wait for quiet).
    """
    samples: dict[str, list[dict[str, float]]] = {"widget": [], "headless": []}
    discarded: list[dict[str, float]] = []
    for r in range(run.rounds):
        for mode in ["widget", "headless"] if r % 2 == 0 else ["headless", "widget"]:
            key = f"widget-cost/{mode}-r{r + 1}"
            params = {
                "endpoint": run.endpoint,
                "server_pid": run.server_pid,
                "key_id": DEV_KEY,
                "secret": DEV_SECRET,
                "region": REGION,
                "path": run.path,
                "bucket": run.bucket,
                "key": key,
                "part_size": run.part_size,
                "workers": run.workers,
                "factory": run.factory,
            }
            for attempt in range(3):
                settle()
                result = _run_notebook(params, mode == "widget", run.timeout)
                result["mib_s"] = run.size / MIB / result["wall_s"]
                cleanup(key)
                if result.get("foreign_cores", 0.0) <= run.max_foreign or attempt == 2:
                    break
                discarded.append({**result, "mode_is_widget": float(mode == "widget")})
            samples[mode].append(result)
    medians = {m: statistics.median(s["mib_s"] for s in v) for m, v in samples.items()}
    cpu = {m: statistics.median(s["cpu_s"] for s in v) for m, v in samples.items()}
    return {
        "widget_mib_s": medians["widget"],
        "headless_mib_s": medians["headless"],
        "cost_percent": 100 * (1 - medians["widget"] / medians["headless"]),
        "cpu_cost_percent": 100 * (cpu["widget"] / cpu["headless"] - 1),
        "renders": [s.get("renders") for s in samples["widget"]],
        "samples": samples,
        "discarded_samples": discarded,
    }
