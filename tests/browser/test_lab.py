"""JupyterLab in Chromium: start an upload, watch ETags arrive, Abort mid-upload, check the
emulator holds nothing, then run the cell again and let a new upload complete; with
comms over subshells on (Lab 4.6's default) and off."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ServerHandle
from playwright.sync_api import expect

from .steering import open_in_lab, run_all, start_and_complete, start_then_abort

pytestmark = pytest.mark.browser


def test_lab_abort_mid_upload_then_complete(
    page: Any, lab: dict[str, Any], emulator: ServerHandle
) -> None:
    mode, key = lab["mode"], f"lab-{lab['mode']}.bin"
    open_in_lab(page, lab, "upload.ipynb")
    run_all(page)
    start_then_abort(page, emulator, key, f"lab-{mode}")
    # The setting took effect: with it on, Lab sent the click to a subshell it made for
    # widget comms (ipykernel 7.4 still runs it on the shell that created the comm).
    thread, sent_to, subshells = page.locator(".probe .widget-html-content").inner_text().split("|")
    if mode == "disabled":
        assert (sent_to, subshells) == ("None", ""), (thread, sent_to, subshells)
    else:
        assert sent_to != "None" and sent_to in subshells.split(","), (thread, sent_to, subshells)
    expect(page.locator("button.ossnb-start")).to_be_disabled()

    run_all(page)  # the cell again: a new session for the same key
    start_and_complete(page, emulator, key, f"lab-{mode}")
