"""Many kernels, one folder, in the browser: two notebooks in one folder run the README's
one cell (no OSS_* set: the embedded emulator) and upload at once. The first kernel starts
the emulator for the folder's ``.ossnb/emulator``; the second finds it and shares it; both
widgets name the same endpoint, and both objects are on it, byte for byte (oss2)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import expect

from ossnb.emulator import DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET

from .conftest import ARTIFACTS, _server_env, jupyter_server, save_notebook
from .steering import open_in_lab, run_all

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
        save_notebook(nb, root / f"{name}.ipynb")
    with jupyter_server(base, _server_env(base)) as server:
        yield server


def _open_and_start(page: Any, lab: dict[str, Any], name: str) -> None:
    open_in_lab(page, lab, name)
    run_all(page)
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
