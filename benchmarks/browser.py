"""From Chromium to the emulator, side by side with the kernel-side upload of the same file;
and the file size at which ipywidgets' FileUpload stops reaching the kernel.

    .venv/bin/python benchmarks/browser.py                      # 1 GiB, 8 MiB parts, 3 workers
    .venv/bin/python benchmarks/browser.py --size 256MiB --rounds 3

One ``ossnb serve`` and one JupyterLab on 127.0.0.1, Debian's Chromium driven by
Playwright (``/usr/bin/chromium``; ``./dev.sh test`` installs it). Each round uploads the
same random file twice, alternating which goes first: from the page
(``ossnb.browser_upload_widget``: the page hashes and PUTs, the kernel presigns) and from
the benchmark's own process (``UploadSession`` reading the file, the local carrier), both
with the same part size and parallelism and both checked end to end. Then FileUpload gets
files of 1, 2, 4 ... MiB until one never reaches the kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from ossnb.client import Client
from ossnb.emulator import DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET
from ossnb.notebook import part_rule
from ossnb.protocol.cors import CorsConfig, PutBucketCors
from ossnb.protocol.errors import NoSuchKey
from ossnb.protocol.operations import DeleteObject, HeadObject, PutBucket
from ossnb.protocol.parts import MiB, parse_size
from ossnb.protocol.signing import Credentials
from ossnb.upload.session import UploadSession

BUCKET = "bench"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
KERNEL_IDLE = """() => {
  const k = document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelName jp-button');
  const i = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
  return !!(k && i && k.getAttribute('aria-label') !== 'No Kernel' && i.dataset.status === 'idle');
}"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answers (the emulator refuses an anonymous GET /: still up)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _notebook(path: Path, source: str) -> None:
    nb = new_notebook(cells=[new_code_cell(source)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def _run_all(page: Any, url: str) -> None:
    page.goto(f"{url}?reset")  # a fresh workspace: only this notebook open
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()


def _gone(client: Client, key: str) -> None:
    client.execute(DeleteObject(BUCKET, key))  # 204 whether or not it was there


def browser_round(page: Any, lab: str, path: Path, client: Client, key: str) -> float:
    _gone(client, key)
    _run_all(page, f"{lab}/lab/tree/browser.ipynb")
    try:
        page.locator(".ossnb-bu input[type=file]").wait_for(state="attached", timeout=120_000)
    except Exception:
        page.screenshot(path="/tmp/bench-browser-fail.png")
        raise
    started = time.monotonic()
    page.set_input_files(".ossnb-bu input[type=file]", str(path))
    while True:
        try:
            client.execute(HeadObject(BUCKET, key))
            return time.monotonic() - started
        except NoSuchKey:
            time.sleep(0.05)


def kernel_round(path: Path, client: Client, key: str, part_size: int, workers: int) -> float:
    _gone(client, key)
    started = time.monotonic()
    session = UploadSession(client, path, BUCKET, key, part_size=part_size, workers=workers,
                            checkpoint=None)  # fmt: skip
    session.start()
    session.wait()
    return time.monotonic() - started


def file_upload_limit(page: Any, lab: str, folder: Path, top_mib: int) -> tuple[int, int | None]:
    """(largest size that reached the kernel, smallest that did not) in MiB."""
    _notebook(folder / "fileupload.ipynb", FILE_UPLOAD)
    ok, size = 0, 1
    while size <= top_mib:
        sample = folder / f"fu-{size}.bin"
        sample.write_bytes(os.urandom(size * MiB))
        _run_all(page, f"{lab}/lab/tree/fileupload.ipynb")
        button = page.locator(".jp-OutputArea button", has_text="Upload")
        button.wait_for(timeout=60_000)
        with page.expect_file_chooser() as chooser:  # its <input> is not in the page
            button.click()
        chooser.value.set_files(str(sample))
        try:
            page.locator(".fu-probe", has_text=str(size * MiB)).wait_for(timeout=60_000)
        except Exception:
            return ok, size
        finally:
            sample.unlink()
        ok, size = size, size * 2
    return ok, None


FILE_UPLOAD = """import ipywidgets
upload = ipywidgets.FileUpload()
probe = ipywidgets.Label("none")
probe.add_class("fu-probe")
upload.observe(lambda change: setattr(probe, "value", str(sum(len(f["content"]) for f in change["new"]))), "value")
display(upload, probe)"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--part-size", default="8MiB")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fileupload-top", type=int, default=256, help="MiB")
    parser.add_argument("--json")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    size, part = parse_size(args.size), parse_size(args.part_size)
    with tempfile.TemporaryDirectory(prefix="ossnb-bench-browser-") as tmp:
        work = Path(tmp)
        path = work / "big.bin"
        with open(path, "wb") as f:
            for _ in range(size // MiB):
                f.write(os.urandom(MiB))
        emu_port, lab_port, token = _port(), _port(), os.urandom(8).hex()
        serve = subprocess.Popen([sys.executable, "-m", "ossnb", "serve", "--port", str(emu_port),
                                  "--data-dir", str(work / "data")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        endpoint = f"http://127.0.0.1:{emu_port}"
        root = work / "root"
        root.mkdir()
        _notebook(root / "browser.ipynb", f'import ossnb\nossnb.browser_upload_widget("oss://{BUCKET}/b/", '
                  f'part_size={part}, workers={args.workers})')  # fmt: skip
        env = {**os.environ, "OSS_ENDPOINT": endpoint, "OSS_REGION": "cn-hangzhou",
               "OSS_ACCESS_KEY_ID": DEV_ACCESS_KEY_ID, "OSS_ACCESS_KEY_SECRET": DEV_ACCESS_KEY_SECRET,
               "JUPYTER_CONFIG_DIR": str(work / "cfg"), "JUPYTER_RUNTIME_DIR": str(work / "rt")}  # fmt: skip
        lab = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={lab_port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{lab_port}"
        try:
            _wait(f"{endpoint}/")
            _wait(f"{base}/api/status?token={token}")
            client = Client(endpoint, Credentials(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET),
                            region="cn-hangzhou")  # fmt: skip
            client.execute(PutBucket(BUCKET))
            client.execute(PutBucketCors(BUCKET, CorsConfig((part_rule(base),))))
            rows: dict[str, list[float]] = {"browser": [], "kernel": []}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(f"{base}/lab?token={token}")
                for r in range(args.rounds):
                    order = ["browser", "kernel"] if r % 2 == 0 else ["kernel", "browser"]
                    for who in order:
                        seconds = (
                            browser_round(page, base, path, client, f"b/{path.name}")
                            if who == "browser"
                            else kernel_round(path, client, "k/big.bin", part, args.workers)
                        )
                        rows[who].append(size / MiB / seconds)
                        print(f"round {r + 1} {who}: {seconds:.1f} s", file=sys.stderr)
                limit = file_upload_limit(page, base, root, args.fileupload_top)
                browser.close()
        finally:
            lab.terminate()
            serve.terminate()
            lab.wait(20)
            serve.wait(20)
    result = {
        "size_mib": size // MiB, "part_mib": part // MiB, "workers": args.workers,
        "browser_mib_s": [round(v, 1) for v in rows["browser"]],
        "kernel_mib_s": [round(v, 1) for v in rows["kernel"]],
        "fileupload_ok_mib": limit[0], "fileupload_fails_mib": limit[1],
    }  # fmt: skip
    print(f"{'from':<8} {'MiB/s (median)':>15}  rounds")
    for who in ("browser", "kernel"):
        print(f"{who:<8} {statistics.median(rows[who]):>15.0f}  {rows[who]}")
    print(
        f"browser / kernel: {statistics.median(rows['browser']) / statistics.median(rows['kernel']):.2f}"
    )
    fails = (
        f"fails at {limit[1]} MiB" if limit[1] else f"never failed up to {args.fileupload_top} MiB"
    )
    print(f"ipywidgets FileUpload: reaches the kernel up to {limit[0]} MiB, {fails}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
