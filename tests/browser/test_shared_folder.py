"""Many kernels, one folder, in the browser: two notebooks in one folder run the README's
one cell (no OSS_* set: the embedded emulator) and upload at once. The first kernel starts
the emulator for the folder's ``.ossnb/emulator``; the second finds it and shares it; both
widgets name the same endpoint, and both objects are on it, byte for byte (oss2)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import oss2
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import expect

from ossnb.emulator import DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET

from .conftest import ARTIFACTS, KERNEL_IDLE, _free_port, _stop, _wait_http

pytestmark = pytest.mark.browser

MiB = 1024 * 1024
README_CELL = 'import ossnb\nossnb.upload_widget("big.bin", "oss://demo/{key}")'


@pytest.fixture(scope="module")
def plain_lab(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[dict[str, Any]]:
    """JupyterLab with no OSS_* in its environment: kernels use the embedded emulator."""
    base = tmp_path_factory.mktemp("lab-shared")
    root = base / "root"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(256 * MiB))
    for name in ("a", "b"):
        nb = new_notebook(cells=[new_code_cell(README_CELL.format(key=f"{name}.bin"))])
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, root / f"{name}.ipynb")
    settings = base / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSS_")}
    env.update(JUPYTER_CONFIG_DIR=str(base / "cfg"), JUPYTER_RUNTIME_DIR=str(base / "rt"),
               JUPYTER_DATA_DIR=str(base / "data"), NO_PROXY="127.0.0.1,localhost")  # fmt: skip
    port, token = _free_port(), os.urandom(8).hex()
    log = base / "lab.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={base / 'settings'}",
         f"--LabApp.workspaces_dir={base / 'ws'}"],
        env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/api/status?token={token}", proc, log)
        yield {"url": url, "token": token, "root": root}
    finally:
        _stop(proc)


def _open_and_start(page: Any, lab: dict[str, Any], name: str) -> None:
    page.goto(f"{lab['url']}/lab/tree/{name}?token={lab['token']}&reset")
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
    start = page.locator("button.ossnb-start")
    expect(start).to_be_enabled(timeout=60_000)
    start.click()


def test_two_notebooks_in_one_folder_upload_at_once(
    plain_lab: dict[str, Any], browser: Any
) -> None:
    pages = [browser.new_context(viewport={"width": 1280, "height": 1000}).new_page() for _ in "ab"]
    try:
        _open_and_start(pages[0], plain_lab, "a.ipynb")
        _open_and_start(pages[1], plain_lab, "b.ipynb")
        for page in pages:
            expect(page.locator(".ossnb-upload .ossnb-state")).to_have_text(
                "completed", timeout=180_000
            )
        for page, name in zip(pages, "ab", strict=True):
            page.screenshot(path=str(ARTIFACTS / f"shared-folder-{name}.png"), full_page=True)
        published = json.loads(
            (plain_lab["root"] / ".ossnb" / "emulator" / "endpoint.json").read_text()
        )
        endpoint = published["endpoint"]
        for page in pages:  # each widget names the one endpoint to point oss2 at
            assert endpoint in page.locator(".ossnb-upload").inner_text()
        auth = oss2.AuthV4(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET)
        bucket = oss2.Bucket(auth, endpoint, "demo", region=published["region"])
        want = hashlib.md5((plain_lab["root"] / "big.bin").read_bytes()).hexdigest()
        for key in ("a.bin", "b.bin"):
            got = hashlib.md5()
            for chunk in bucket.get_object(key):
                got.update(chunk)
            assert got.hexdigest() == want, key
    finally:
        for page in pages:
            page.context.close()
