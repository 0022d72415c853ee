"""Jupyter Notebook 7 in Chromium: the one-liner ``ossnb.upload_widget(...)``; start an
upload, watch ETags arrive, Abort mid-upload, check the emulator holds nothing, then run
the cell again and let a new upload complete.

Notebook 7 is built from JupyterLab's components: the kernel indicator, the Run menu and
its ``runmenu:run-all`` item carry the same classes and commands as in Lab.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import ServerHandle
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from playwright.sync_api import expect

from .conftest import BUCKET, KERNEL_IDLE, SIZE, save_notebook
from .steering import run_all, start_and_complete, start_then_abort

pytestmark = pytest.mark.browser

KEY = "notebook7.bin"


def _write_notebook(path: Path) -> None:
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("Upload a 4 MiB file in 100 KiB parts with the one-line helper."),
        new_code_cell(
            f"""import os
import ossnb

if not os.path.exists("big.bin"):
    with open("big.bin", "wb") as f:
        f.write(os.urandom({SIZE}))
ossnb.upload_widget("big.bin", "oss://{BUCKET}/{KEY}", part_size="100KiB", workers=2)"""
        ),
    ]
    save_notebook(nb, path)


def test_notebook7_abort_mid_upload_then_complete(
    page: Any, notebook7: dict[str, Any], emulator: ServerHandle
) -> None:
    _write_notebook(notebook7["root"] / "upload.ipynb")
    page.goto(f"{notebook7['url']}/notebooks/upload.ipynb?token={notebook7['token']}")
    # Notebook 7's own shell around Lab's notebook panel (not Lab's .jp-LabShell)
    expect(page.locator("#main-panel .jp-NotebookPanel")).to_be_visible(timeout=30_000)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    run_all(page)
    start_then_abort(page, emulator, KEY, "notebook7")
    expect(page.locator("button.ossnb-start")).to_be_disabled()

    run_all(page)  # the cell again: a new widget and session for the same key
    expect(page.locator(".ossnb-upload")).to_have_count(1)
    start_and_complete(page, emulator, KEY, "notebook7")
