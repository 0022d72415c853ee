"""The stale-uploads view in JupyterLab (Chromium): a notebook leaves three unfinished
uploads on the emulator and shows ``ossnb.stale_uploads_widget``; in the page, select one
and Abort selected (two left), then Abort all older than 0 days (none left). Each step is
checked on the emulator itself, from the test process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import ServerHandle
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from playwright.sync_api import expect
from session_fixtures import make_client

from ossnb.upload.listing import list_all_uploads

from .conftest import BUCKET, save_notebook
from .look import contrast_failures
from .steering import open_in_lab, run_all, shot

pytestmark = pytest.mark.browser

PREFIX = "stale/"
KEYS = [f"{PREFIX}{name}.bin" for name in ("a", "b", "c")]


def _write_notebook(path: Path) -> None:
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("Three uploads initiated, one part each, never completed."),
        new_code_cell(
            f"""import os
import ossnb
from ossnb.protocol.operations import InitiateMultipartUpload, UploadPart

client = ossnb.connect()
for i, key in enumerate({KEYS!r}):
    upload_id = client.execute(InitiateMultipartUpload({BUCKET!r}, key)).upload_id
    client.execute(UploadPart({BUCKET!r}, key, upload_id, 1, os.urandom(1024 * (i + 1))))"""
        ),
        new_code_cell(
            f"""view = ossnb.stale_uploads_widget({BUCKET!r}, {PREFIX!r}, endpoint=os.environ["OSS_ENDPOINT"])
view"""
        ),
    ]
    save_notebook(nb, path)


def _left(emulator: ServerHandle) -> list[str]:
    return sorted(u.key for u in list_all_uploads(make_client(emulator), BUCKET, PREFIX))


@pytest.mark.parametrize("lab", ["perCommTarget"], indirect=True)  # Lab's default; once
def test_stale_view_abort_selected_then_older_than(
    page: Any, lab: dict[str, Any], emulator: ServerHandle
) -> None:
    assert _left(emulator) == []
    _write_notebook(lab["root"] / "stale.ipynb")
    open_in_lab(page, lab, "stale.ipynb")
    run_all(page)

    keys = page.locator(".ossnb-stale-table td.ossnb-stale-key")
    status = page.locator(".ossnb-stale-status")
    expect(keys).to_have_text(KEYS, timeout=20_000)
    expect(status).to_contain_text("3 unfinished upload(s)")
    expect(page.locator(".ossnb-stale-table")).to_contain_text("3 unfinished upload(s) holding")
    assert _left(emulator) == KEYS
    shot(page, "stale-listed")
    assert contrast_failures(page, ".ossnb-stale") == []

    select = page.locator(".ossnb-stale-select select")
    expect(select.locator("option")).to_have_count(3)
    label = select.locator("option", has_text="stale/b.bin").inner_text()
    select.select_option(label=label)
    page.locator("button.ossnb-stale-abort-selected").click()
    expect(status).to_contain_text("aborted 1 of 1 upload(s)", timeout=10_000)
    expect(keys).to_have_text([KEYS[0], KEYS[2]])
    expect(select.locator("option")).to_have_count(2)
    assert _left(emulator) == [KEYS[0], KEYS[2]]
    shot(page, "stale-abort-selected")

    days = page.locator(".ossnb-stale-days input")
    days.fill("0")
    days.press("Enter")  # a text widget sends its value on Enter (or blur)
    page.locator("button.ossnb-stale-abort-older").click()
    expect(status).to_contain_text("aborted 2 of 2 upload(s)", timeout=10_000)
    expect(page.locator(".ossnb-stale-none")).to_be_visible()
    expect(keys).to_have_count(0)
    assert _left(emulator) == []
    shot(page, "stale-abort-older")
