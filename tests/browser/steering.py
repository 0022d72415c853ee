"""What the Lab and Voilà tests do in the page, and check on the emulator."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from conftest import ServerHandle
from playwright.sync_api import expect
from session_fixtures import make_client

from ossnb.protocol.errors import NoSuchUpload
from ossnb.protocol.operations import HeadObject, ListParts
from ossnb.upload.listing import list_all_uploads

from .conftest import ARTIFACTS, BUCKET, KERNEL_IDLE, PARTS, SIZE
from .look import check_result_shown_whole

DONE_ROWS = ".ossnb-ledger tr.ossnb-part-done"


def state(page: Any) -> Any:
    return page.locator(".ossnb-upload .ossnb-state")


def open_in_lab(page: Any, lab: dict[str, Any], name: str) -> None:
    """Open notebook ``name`` in JupyterLab (a fresh workspace) and wait for its idle kernel."""
    page.goto(f"{lab['url']}/lab/tree/{name}?token={lab['token']}&reset")
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)


def run_all(page: Any) -> None:
    """Run > Run All Cells through the menu bar (Lab's and Notebook 7's are alike)."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()


def shot(page: Any, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_etags(page: Any, count: int, timeout: float = 15_000) -> None:
    """Wait until ``count`` ledger rows show an ETag equal to their local MD5 (✓)."""
    page.wait_for_function(
        """(n) => [...document.querySelectorAll('.ossnb-ledger tr.ossnb-part-done td.ossnb-etag')]
                  .filter(td => /^"[0-9A-F]{32}" ✓$/.test(td.textContent.trim())).length >= n""",
        arg=count,
        timeout=timeout,
    )


def start_then_abort(page: Any, emulator: ServerHandle, key: str, name: str) -> str:
    """Start, see ETags appear, Abort mid-upload; check the emulator kept nothing."""
    expect(state(page)).to_have_text("planned", timeout=30_000)
    start = page.locator("button.ossnb-start")
    expect(start).to_be_enabled()
    start.click()
    expect(state(page)).to_have_text("running", timeout=10_000)
    wait_for_etags(page, 3)
    upload_id = page.locator(".ossnb-upload-id").inner_text().strip()
    assert re.fullmatch(r"[0-9A-F]{32}", upload_id), upload_id
    shot(page, f"{name}-running")
    clicked = time.monotonic()
    page.locator("button.ossnb-abort").click()
    expect(state(page)).to_have_text("aborted", timeout=10_000)
    took = time.monotonic() - clicked
    dropped = int(page.locator(".ossnb-parts-dropped").inner_text().replace(",", ""))
    assert 3 <= dropped < PARTS, f"aborted mid-upload, not after it: {dropped}/{PARTS}"
    expect(page.locator(".ossnb-parts-done")).to_have_text("0")
    expect(page.locator(".ossnb-result")).to_contain_text("the server holds no parts")
    gone = page.locator(".ossnb-map-key-gone")
    expect(gone).to_have_attribute("data-count", str(dropped))
    shot(page, f"{name}-aborted")
    client = make_client(emulator)
    assert [u for u in list_all_uploads(client, BUCKET) if u.upload_id == upload_id] == []
    try:
        client.execute(ListParts(BUCKET, key, upload_id))
    except NoSuchUpload:
        pass
    else:
        raise AssertionError(f"the emulator still has upload {upload_id}")
    assert took < 8, f"Abort took {took:.1f} s"
    return upload_id


def start_and_complete(page: Any, emulator: ServerHandle, key: str, name: str) -> None:
    """Start a fresh upload and let it run to a verified completion."""
    expect(state(page)).to_have_text("planned", timeout=30_000)
    page.locator("button.ossnb-start").click()
    expect(state(page)).to_have_text("running", timeout=10_000)
    expect(state(page)).to_have_text("completed", timeout=30_000)
    head = make_client(emulator).execute(HeadObject(BUCKET, key))
    assert head.size == SIZE
    expect(page.locator(".ossnb-final-etag")).to_have_text(head.etag)
    expect(page.locator(".ossnb-final-crc")).to_have_text(str(head.crc64))
    expect(page.locator(".ossnb-parts-done")).to_have_text(str(PARTS))
    check_result_shown_whole(page)
    expect(page.locator(".ossnb-map-key-done")).to_have_attribute("data-count", str(PARTS))
    expect(page.locator(".ossnb-overall .progress-bar")).to_have_attribute(
        "style", re.compile(r"width: 100%")
    )
    page.locator(".ossnb-tabs .lm-TabBar-tab", has_text="HTTP transcript").click()
    transcript = page.locator(".ossnb-transcript")
    expect(transcript).to_contain_text("CompleteMultipartUpload", timeout=5_000)
    expect(transcript).to_contain_text("string to sign")
    assert emulator.access_key_secret not in transcript.inner_text()
    shot(page, f"{name}-completed")
