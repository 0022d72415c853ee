"""Upload from the user's own computer, in JupyterLab in Chromium: the page picks a file
(Playwright's ``set_input_files``), hashes its parts and PUTs them to presigned URLs; the
kernel never holds the bytes. Checked on the emulator with oss2: the object is
byte-identical; a bucket without CORS gets one line and the rule to add; a part altered in
flight is refused (InvalidDigest) and sent again; Abort leaves no parts; a page reload then
choosing the same file sends only the missing parts; kernel and page memory stay small.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest
from conftest import ServerHandle
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import expect
from session_fixtures import make_client

from ossnb.notebook import part_rule
from ossnb.protocol.cors import CorsConfig, DeleteBucketCors, PutBucketCors
from ossnb.protocol.errors import NoSuchUpload
from ossnb.protocol.operations import ListParts
from ossnb.upload.listing import list_all_uploads

from .conftest import ARTIFACTS, BUCKET, save_notebook
from .steering import open_in_lab, run_all

pytestmark = pytest.mark.browser

MiB = 1024 * 1024
SIZE = int(os.environ.get("OSSNB_BROWSER_UPLOAD_MIB", "1024")) * MiB
PART = 8 * MiB
INPUT = ".ossnb-bu input[type=file]"

CELL = """import resource, threading, time, ipywidgets, ossnb
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ui = ossnb.browser_upload_widget("oss://{bucket}/laptop/", part_size="8MiB", workers=3)
probe = ipywidgets.Label("")  # test only: the kernel's peak RSS growth, in KiB
probe.add_class("rss-probe")

def _watch():
    while True:
        probe.value = str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
        time.sleep(0.5)

threading.Thread(target=_watch, daemon=True).start()
display(ui, probe)"""


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    path = tmp_path_factory.mktemp("laptop") / "survey.bin"
    md5 = hashlib.md5()
    with open(path, "wb") as f:
        block = os.urandom(MiB)
        for i in range(SIZE // MiB):
            chunk = block[i % 997 :] + block[: i % 997]  # each MiB differs
            f.write(chunk)
            md5.update(chunk)
    yield path, md5.hexdigest()
    path.unlink()


def _notebook(root: Path, name: str) -> str:
    nb = new_notebook()
    nb.cells = [new_code_cell(CELL.format(bucket=BUCKET))]
    save_notebook(nb, root / name)
    return name


def _open(page: Any, lab: dict[str, Any], name: str) -> None:
    open_in_lab(page, lab, name)
    run_all(page)
    page.locator(INPUT).wait_for(state="attached", timeout=60_000)


def _restart_kernels(lab: dict[str, Any]) -> None:
    base, token = lab["url"], lab["token"]
    with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=10) as answer:
        kernels = json.load(answer)
    for kernel in kernels:
        request = urllib.request.Request(
            f"{base}/api/kernels/{kernel['id']}/restart?token={token}", data=b"", method="POST"
        )
        urllib.request.urlopen(request, timeout=60).close()


def _object_md5(emulator: ServerHandle, key: str) -> str:
    auth = oss2.AuthV4(emulator.access_key_id, emulator.access_key_secret)
    bucket = oss2.Bucket(auth, emulator.endpoint, BUCKET, region=emulator.region)
    md5 = hashlib.md5()
    for chunk in bucket.get_object(key):
        md5.update(chunk)
    return md5.hexdigest()


def _heap(page: Any) -> int:
    return int(page.evaluate("() => performance.memory.usedJSHeapSize"))


def _wait_completed(page: Any, key: str, emulator: ServerHandle, timeout: float) -> int:
    """Wait for the object; return the page's peak JS heap while waiting."""
    client = make_client(emulator)
    deadline, peak = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        peak = max(peak, _heap(page))
        if page.locator(".ossnb-upload .ossnb-state", has_text="completed").count():
            return peak
        failed = page.locator(".ossnb-upload .ossnb-state", has_text="failed")
        assert not failed.count(), page.locator(".ossnb-upload").inner_text()
        time.sleep(0.3)
    raise AssertionError(f"not completed in {timeout} s: {client.endpoint.url} {key}")


@pytest.mark.parametrize("lab", ["perCommTarget"], indirect=True)
def test_a_file_from_the_laptop_goes_up_from_the_page(
    page: Any, lab: dict[str, Any], emulator: ServerHandle, big_file: tuple[Path, str]
) -> None:
    path, md5 = big_file
    key = f"laptop/{path.name}"
    make_client(emulator).execute(DeleteBucketCors(BUCKET))
    _open(page, lab, _notebook(lab["root"], "browser-upload.ipynb"))
    # no CORS rule yet: one line, the rule, and a button that adds it
    page.set_input_files(INPUT, str(path))
    problem = page.locator(".ossnb-bu-problem")
    expect(problem).to_contain_text("cannot send parts", timeout=30_000)
    origin = lab["url"]
    expect(page.locator(".ossnb-bu-rule")).to_contain_text(
        f"<AllowedOrigin>{origin}</AllowedOrigin>"
    )
    page.screenshot(path=str(ARTIFACTS / "browser-upload-no-cors.png"), full_page=True)
    page.locator(".ossnb-bu-add").click()
    expect(page.locator(".ossnb-bu-status")).to_contain_text("Added a CORS rule", timeout=30_000)
    expect(problem).to_be_hidden()

    # a part altered in flight (Content-MD5 unchanged) is refused, then sent again
    altered: list[str] = []

    def corrupt(route: Any) -> None:
        request = route.request
        if request.method == "PUT" and not altered:
            altered.append(request.url)
            body = bytearray(request.post_data_buffer)
            body[0] ^= 0xFF
            route.continue_(post_data=bytes(body))
            return
        route.continue_()

    part_two = lambda url: "partNumber=2&" in url  # noqa: E731 - only part 2 goes through the route
    page.route(part_two, corrupt)
    page.evaluate("() => window.gc && window.gc()")
    base_heap = _heap(page)  # JupyterLab's own heap, before the upload
    started = time.monotonic()
    page.set_input_files(INPUT, str(path))
    deadline = time.monotonic() + 120
    while not altered and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # route handlers run while Playwright waits
    # a routed request crosses the test's process: keep the route only as long as needed
    page.unroute(part_two)
    peak_heap = _wait_completed(page, key, emulator, timeout=600)
    took = time.monotonic() - started
    page.screenshot(path=str(ARTIFACTS / "browser-upload-completed.png"), full_page=True)
    assert altered, "the route never saw part 2"
    # the map coloured by who carried each part: every one by the browser
    page.locator(".ossnb-map-toggle input").check()
    carried = page.locator(".ossnb-map-key-worker[data-worker='browser']")
    expect(carried).to_have_attribute("data-count", str(-(-SIZE // PART)), timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "browser-upload-by-worker.png"), full_page=True)
    assert _object_md5(emulator, key) == md5  # byte-identical, read back with oss2
    rss_growth_kib = int(page.locator(".rss-probe").inner_text() or "0")
    print(
        f"browser upload of {SIZE // MiB} MiB: {took:.1f} s ({SIZE / MiB / took:.0f} MiB/s), "
        f"kernel peak RSS +{rss_growth_kib / 1024:.1f} MiB, page JS heap "
        f"{base_heap / MiB:.1f} MiB before, peak {peak_heap / MiB:.1f} MiB"
    )
    assert rss_growth_kib < 50 * 1024, "the kernel held the file's bytes"
    assert peak_heap - base_heap < 3 * PART + 64 * MiB  # workers x part size + a constant


@pytest.mark.parametrize("lab", ["perCommTarget"], indirect=True)
def test_abort_then_reload_and_resume_sends_only_the_missing_parts(
    page: Any, lab: dict[str, Any], emulator: ServerHandle, big_file: tuple[Path, str]
) -> None:
    path, md5 = big_file
    key = f"laptop/{path.name}"
    rule = CorsConfig((part_rule(lab["url"]),))
    make_client(emulator).execute(PutBucketCors(BUCKET, rule))
    name = _notebook(lab["root"], "browser-resume.ipynb")
    _open(page, lab, name)
    page.set_input_files(INPUT, str(path))
    upload = page.locator(".ossnb-upload")
    expect(upload.locator(".ossnb-state")).to_have_text("running", timeout=60_000)
    client = make_client(emulator)

    def held() -> list[int]:
        uploads = [u for u in list_all_uploads(client, BUCKET) if u.key == key]
        if not uploads:
            return []
        return [
            p.part_number
            for p in client.execute(ListParts(BUCKET, key, uploads[0].upload_id)).parts
        ]

    deadline = time.monotonic() + 120
    some = max(2, min(6, SIZE // PART // 4))  # part-way, well before the end
    while len(held()) < some and time.monotonic() < deadline:
        time.sleep(0.3)
    page.locator("button.ossnb-abort").click()
    expect(upload.locator(".ossnb-state")).to_have_text("aborted", timeout=30_000)
    assert [u for u in list_all_uploads(client, BUCKET) if u.key == key] == []

    # a new upload, paused part-way; then the page is reloaded and the file chosen again
    _open(page, lab, name)
    page.set_input_files(INPUT, str(path))
    upload = page.locator(".ossnb-upload").last
    deadline = time.monotonic() + 120
    while len(held()) < some and time.monotonic() < deadline:
        time.sleep(0.3)
    page.locator("button.ossnb-pause").last.click()
    expect(upload.locator(".ossnb-state")).to_have_text("paused", timeout=30_000)
    before = set(held())
    uploads = [u for u in list_all_uploads(client, BUCKET) if u.key == key]
    upload_id = uploads[0].upload_id
    # the page is reloaded and the kernel restarted: nothing of the first run is left
    # in memory; only the checkpoint (in the kernel's folder) and the server's parts
    _restart_kernels(lab)
    _open(page, lab, name)
    sent: list[int] = []
    page.on(
        "request",
        lambda r: (
            sent.append(int(re.search(r"partNumber=(\d+)", r.url).group(1)))  # type: ignore[union-attr]
            if r.method == "PUT" and "partNumber=" in r.url
            else None
        ),
    )
    page.set_input_files(INPUT, str(path))
    _wait_completed(page, key, emulator, timeout=600)
    assert not before & set(sent), f"parts the server held were sent again: {before & set(sent)}"
    assert _object_md5(emulator, key) == md5
    try:
        client.execute(ListParts(BUCKET, key, upload_id))
    except NoSuchUpload:
        pass  # completed: the upload is gone
    else:
        raise AssertionError("the resumed upload is still open")


def test_a_voila_page_is_an_upload_app_with_no_key_in_the_page(
    page: Any, voila: dict[str, Any], emulator: ServerHandle, big_file: tuple[Path, str]
) -> None:
    path, md5 = big_file
    key = f"laptop/{path.name}"
    make_client(emulator).execute(PutBucketCors(BUCKET, CorsConfig((part_rule(voila["url"]),))))
    name = _notebook(voila["root"], "dropbox.ipynb")
    page.goto(f"{voila['url']}/voila/render/{name}", timeout=120_000)
    page.locator(INPUT).wait_for(state="attached", timeout=120_000)
    page.set_input_files(INPUT, str(path))
    _wait_completed(page, key, emulator, timeout=600)
    page.screenshot(path=str(ARTIFACTS / "browser-upload-voila.png"), full_page=True)
    assert _object_md5(emulator, key) == md5
    assert emulator.access_key_secret not in page.content()


@pytest.mark.parametrize("lab", ["perCommTarget"], indirect=True)
def test_an_expired_part_url_is_issued_again(
    page: Any, lab: dict[str, Any], emulator: ServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "short.bin"
    data = os.urandom(4 * PART)
    path.write_bytes(data)
    make_client(emulator).execute(PutBucketCors(BUCKET, CorsConfig((part_rule(lab["url"]),))))
    cell = CELL.format(bucket=BUCKET).replace(
        "workers=3)", "workers=3, url_lifetime=__import__('datetime').timedelta(seconds=2))"
    )
    nb = new_notebook()
    nb.cells = [new_code_cell(cell)]
    save_notebook(nb, lab["root"] / "browser-expiry.ipynb")
    _open(page, lab, "browser-expiry.ipynb")
    puts: list[str] = []

    def late(route: Any) -> None:  # the first PUT of part 2 waits past its URL's 2 s
        if route.request.method == "PUT":
            puts.append(route.request.url)
            if len(puts) == 1:
                time.sleep(4)
        route.continue_()

    page.route(lambda url: "partNumber=2&" in url, late)
    page.set_input_files(INPUT, str(path))
    _wait_completed(page, f"laptop/{path.name}", emulator, timeout=120)
    assert len(puts) == 2, puts  # refused as expired, then sent with a fresh URL
    first, second = (re.search(r"x-oss-date=(\w+)", u) for u in puts)
    assert first and second and first[1] <= second[1]
    assert _object_md5(emulator, f"laptop/{path.name}") == hashlib.md5(data).hexdigest()
