"""The notebook widgets in-process: no kernel, no browser (ipywidgets uses dummy comms).

Buttons are clicked with ``.click()``; every assertion is on the session, on the
widgets' state, and on a real ``ossnb serve`` emulator over sockets.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest
import traitlets
from conftest import Factory, ServerHandle
from session_fixtures import (
    PART,
    MiB,
    make_client,
    make_file,
    sdk_read,
    server_with_faults,
    wait_for,
)

from ossnb.client.client import Client
from ossnb.protocol.errors import BucketAlreadyExists, NoSuchUpload
from ossnb.protocol.operations import HeadObject, ListParts, PutBucket
from ossnb.upload.ledger import PartRow, PartState, SessionState
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.session import UploadSession
from ossnb.widgets import StaleUploadsWidget, UploadWidget, widget_for
from ossnb.widgets.ledger_table import ledger_html, order_rows, page_of
from ossnb.widgets.parts_map import CODES
from ossnb.widgets.updater import Updater

BUCKET = "widgets"
SLOW = "UploadPart@1x100000=delay:0.1"  # every UploadPart waits 0.1 s on the server


@pytest.fixture(name="closing")
def closing_fixture() -> Iterator[list[w.Widget]]:
    """Widgets to close after the test (their updater threads stop)."""
    made: list[w.Widget] = []
    yield made
    for widget in made:
        widget.close()


def _shared(server: ServerHandle) -> Client:
    """A client of the shared emulator, with the test bucket there."""
    client = make_client(server)
    with contextlib.suppress(BucketAlreadyExists):
        client.execute(PutBucket(BUCKET))
    return client


def _widget(
    closing: list[w.Widget], client: Client, path: Path, key: str, **options: Any
) -> UploadWidget:
    options.setdefault("part_size", PART)
    session = UploadSession(client, path, BUCKET, key, **options)
    widget = UploadWidget(session)
    closing.append(widget)
    return widget


def _descendants(widget: w.Widget) -> list[w.Widget]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found.extend(_descendants(child))
    return found


def _state_json(widget: w.Widget) -> str:
    """Every trait of every widget in the tree, as the front end would receive it."""
    return json.dumps([c.get_state() for c in _descendants(widget)], default=str)


def _enabled(widget: UploadWidget) -> set[str]:
    return {name for name, b in widget.buttons.items() if not b.disabled}


def _click(button: w.Button) -> float:
    """Click and return how long the handler took."""
    started = time.perf_counter()
    button.click()
    return time.perf_counter() - started


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def _etags_in_ledger(widget: UploadWidget) -> int:
    return len(re.findall(r'class="ossnb-etag">&quot;[0-9A-F]{32}', widget._ledger.value))


def _gone(client: Client, key: str, upload_id: str) -> bool:
    """The emulator lists no upload for ``key`` and ListParts answers NoSuchUpload."""
    if any(u.key == key for u in list_all_uploads(client, BUCKET)):
        return False
    try:
        client.execute(ListParts(BUCKET, key, upload_id))
    except NoSuchUpload:
        return True
    return False


def test_step_mode_walks_the_protocol(
    server_factory: Factory, work_dir: Path, closing: list[w.Widget]
) -> None:
    server, client = server_with_faults(server_factory, BUCKET)
    data = make_file(work_dir / "steps.bin", 3 * PART + 5, seed=1)
    ui = _widget(closing, client, work_dir / "steps.bin", "steps.bin")
    session = ui.session
    assert _enabled(ui) == {"initiate", "start"}
    assert "oss://widgets/steps.bin" in ui._header.value
    assert server.endpoint in ui._header.value
    assert "4 part(s) of 100.0 KiB" in ui._header.value

    assert _click(ui.buttons["initiate"]) < 0.2
    ui.join(10)
    upload_id = session.upload_id
    assert upload_id and upload_id in ui._status.value
    assert f'class="ossnb-step-upload-id">{upload_id}' in ui._step.value
    assert "POST /widgets/steps.bin?uploads" in ui._step.value
    assert [u.upload_id for u in list_all_uploads(client, BUCKET)] == [upload_id]
    assert _enabled(ui) == {"upload_part", "list_parts", "start", "abort"}

    for number in (1, 2):
        ui.buttons["upload_part"].click()
        ui.join(10)
        row = session.row(number)
        assert row.state is PartState.DONE and row.md5
        step = ui._step.value
        assert f"Upload part {number}" in step
        assert f'class="ossnb-step-md5">{row.md5}' in step
        assert f'class="ossnb-step-etag">&quot;{row.md5}&quot;</code> equal ✓' in step
        assert f"PUT /widgets/steps.bin?partNumber={number}&amp;uploadId={upload_id}" in step
    assert _etags_in_ledger(ui) == 2
    assert "complete" not in _enabled(ui)  # two parts are still missing

    ui.buttons["list_parts"].click()
    ui.join(10)
    assert "The server holds <b>2</b> part(s)" in ui._step.value
    assert len(client.execute(ListParts(BUCKET, "steps.bin", upload_id)).parts) == 2

    while session.snapshot().ledger.count(PartState.DONE) < 4:
        ui.buttons["upload_part"].click()
        ui.join(10)
    assert "complete" in _enabled(ui)
    ui.buttons["complete"].click()
    assert ui.join(10) is SessionState.COMPLETED
    receipt = session.receipt()
    assert receipt.verified and receipt.etag
    assert f'class="ossnb-final-etag">{receipt.etag.replace(chr(34), "&quot;")}' in ui._result.value
    assert f'class="ossnb-final-crc">{receipt.crc64}' in ui._result.value
    head = client.execute(HeadObject(BUCKET, "steps.bin"))
    assert (head.size, head.crc64) == (len(data), receipt.crc64)
    assert sdk_read(server, BUCKET, "steps.bin") == data
    assert _enabled(ui) == set()


def test_abort_mid_upload_leaves_no_parts(
    server_factory: Factory, work_dir: Path, closing: list[w.Widget]
) -> None:
    _, client = server_with_faults(server_factory, BUCKET, SLOW)
    make_file(work_dir / "abort.bin", 4 * MiB, seed=2)
    ui = _widget(closing, client, work_dir / "abort.bin", "abort.bin", workers=2)
    assert _click(ui.buttons["start"]) < 0.2
    wait_for(lambda: ui.session.state is SessionState.RUNNING, what="running")
    wait_for(lambda: _etags_in_ledger(ui) >= 3, what="ETags in the ledger")
    upload_id = ui.session.upload_id
    assert upload_id is not None
    assert {"pause", "abort"} <= _enabled(ui) and "start" not in _enabled(ui)
    wait_for(lambda: ui.refresh() and set(ui._map.codes) & {CODES["sending"]}, what="map: sending")

    assert _click(ui.buttons["abort"]) < 0.2, "Abort returns at once; the work runs elsewhere"
    assert ui.join(20) is SessionState.ABORTED
    assert ui.session.snapshot().ledger.count(PartState.DONE) < 40, "stopped mid-upload"
    assert "the server holds <b>no parts</b>" in ui._result.value
    step = ui._step.value  # the requests and answers of the abort
    assert re.search(r"AbortMultipartUpload</b> <code>DELETE /widgets/abort.bin\?uploadId=", step)
    assert re.search(r"ListParts</b> .*→ <b [^>]*>404 NoSuchUpload", step)
    assert "UploadPart" not in step, "parts cancelled by the abort belong to the transcript"
    assert _gone(client, "abort.bin", upload_id)
    assert (ui._bar.bar_style, ui._bar.value) == ("danger", 0), "nothing left on the server"
    sent = ui.session.snapshot().ledger.count(PartState.DONE)
    assert f'class="ossnb-parts-dropped">{sent}<' in ui._status.value
    assert ui._map.codes.count(CODES["gone"]) == sent >= 3, "sent parts show as gone"
    assert set(ui._map.codes) == {CODES["gone"], CODES["pending"]}
    assert f"gone <b>{sent}</b>" in ui._counts.value and "done <b>" not in ui._counts.value
    assert "ossnb-part-done" not in ui._ledger.value and "dropped by Abort" in ui._ledger.value


def test_pause_resume_then_complete(
    server_factory: Factory, work_dir: Path, closing: list[w.Widget]
) -> None:
    server, client = server_with_faults(server_factory, BUCKET, SLOW)
    data = make_file(work_dir / "pause.bin", 4 * MiB + 3, seed=3)
    ui = _widget(closing, client, work_dir / "pause.bin", "pause.bin", workers=2)
    ui.buttons["start"].click()
    wait_for(lambda: _etags_in_ledger(ui) >= 2, what="two parts")
    wait_for(lambda: ui.refresh() and "iB/s" in ui._numbers.value, what="a rate")
    assert _click(ui.buttons["pause"]) < 0.2
    assert ui.session.state is SessionState.PAUSED
    assert ui.join(10) is SessionState.PAUSED
    assert "resume" in _enabled(ui) and "pause" not in _enabled(ui)
    assert 'ossnb-badge-paused ossnb-state">paused' in ui._status.value
    assert (
        "paused at " in ui._numbers.value and "ossnb-obvious" in ui.buttons["resume"]._dom_classes
    )
    frozen = (ui._numbers.value, ui._bar.value, ui._result.value)
    assert "Resume sends them again from their first byte" in frozen[2]
    time.sleep(1.0)
    ui.refresh()
    assert (ui._numbers.value, ui._bar.value, ui._result.value) == frozen, "paused: nothing moves"
    ui.buttons["resume"].click()
    assert ui.join(30) is SessionState.COMPLETED
    bar = ui._bar
    assert (bar.value, bar.max, bar.bar_style) == (len(data), len(data), "success")
    assert "4.0 MiB of 4.0 MiB (100%)" in ui._numbers.value
    assert sdk_read(server, BUCKET, "pause.bin") == data
    assert list_all_uploads(client, BUCKET) == []


def test_complete_button_waits_for_every_part(
    server_factory: Factory, work_dir: Path, closing: list[w.Widget]
) -> None:
    """With a session that can leave Complete to a click, the checkbox decides; otherwise
    the run completes by itself and the checkbox says so (it cannot be unticked)."""
    server, client = server_with_faults(server_factory, BUCKET)
    data = make_file(work_dir / "manual.bin", 5 * PART, seed=4)
    ui = _widget(closing, client, work_dir / "manual.bin", "manual.bin", workers=2)
    assert ui.auto_complete.value is True
    if ui.auto_complete.disabled:  # the session always completes a run
        ui.buttons["start"].click()
        assert ui.join(30) is SessionState.COMPLETED
    else:
        ui.auto_complete.value = False
        ui.buttons["start"].click()
        wait_for(lambda: ui.session.snapshot().ledger.all_done, what="all parts")
        ui.join(30)
        assert ui.session.state is not SessionState.COMPLETED
        assert _enabled(ui) == {"complete", "abort", "list_parts"}, "Start has nothing to do"
        assert "All 5 part(s) sent: ready to complete." in ui._result.value
        assert 'ossnb-badge-initiated ossnb-state">ready to complete<' in ui._status.value
        assert "ossnb-obvious" in ui.buttons["complete"]._dom_classes
        ui.buttons["start"].click()  # a stale click from the page: harmless
        assert ui.join(5) is SessionState.INITIATED
        ui.buttons["complete"].click()
        assert ui.join(30) is SessionState.COMPLETED
    assert sdk_read(server, BUCKET, "manual.bin") == data


def test_errors_show_the_oss_code_and_a_hint(
    server_factory: Factory, work_dir: Path, closing: list[w.Widget]
) -> None:
    _, client = server_with_faults(
        server_factory, BUCKET, "UploadPart@2x1000=error:400:InvalidDigest"
    )
    make_file(work_dir / "bad.bin", 4 * PART, seed=5)
    ui = _widget(closing, client, work_dir / "bad.bin", "bad.bin", workers=1)
    ui.buttons["initiate"].click()
    ui.join(10)
    ui.buttons["upload_part"].click()
    ui.join(10)
    ui.buttons["upload_part"].click()  # part 2 meets the fault
    ui.join(10)
    step = ui._step.value
    assert "InvalidDigest (HTTP 400)" in step
    assert "Hint: The bytes sent differ from their Content-MD5" in step
    assert '→ <b class="ossnb-status ossnb-status-error">400 InvalidDigest' in step
    first = re.search(
        r'<tr class="ossnb-part ossnb-part-(\w+)"><td class="ossnb-num">(\d+)', ui._ledger.value
    )
    assert first and first.groups() == ("failed", "2"), "failures first"
    assert "part 2: InvalidDigest" in ui._result.value

    ui.buttons["start"].click()  # the run meets the same fault and fails
    assert ui.join(20) is SessionState.FAILED
    assert "InvalidDigest (HTTP 400)" in ui._result.value
    assert "Hint:" in ui._result.value
    assert 'ossnb-badge-failed ossnb-state">failed' in ui._status.value
    assert {"start", "abort"} <= _enabled(ui)
    ui.buttons["abort"].click()
    assert ui.join(20) is SessionState.ABORTED


def test_abort_stops_a_step_in_flight(
    server_factory: Factory, work_dir: Path, closing: list[w.Widget]
) -> None:
    _, client = server_with_faults(server_factory, BUCKET, "UploadPart@1=delay:3")
    make_file(work_dir / "step.bin", 2 * PART, seed=6)
    ui = _widget(closing, client, work_dir / "step.bin", "step.bin")
    ui.buttons["initiate"].click()
    ui.join(10)
    upload_id = ui.session.upload_id
    assert upload_id
    assert _click(ui.buttons["upload_part"]) < 0.2
    wait_for(lambda: ui.refresh() and "… running" in ui._step.value, what="step running")
    assert _enabled(ui) == {"abort"}, "only Abort while a step runs"
    started = time.monotonic()
    ui.buttons["abort"].click()
    assert ui.join(10) is SessionState.ABORTED
    assert time.monotonic() - started < 2, "the 3 s UploadPart was cut short"
    assert "the server holds <b>no parts</b>" in ui._result.value
    assert _gone(client, "step.bin", upload_id)


def test_only_the_updater_thread_writes_widgets(
    server: ServerHandle, work_dir: Path, closing: list[w.Widget]
) -> None:
    client = _shared(server)
    make_file(work_dir / "threads.bin", 2 * MiB, seed=7)
    ui = _widget(closing, client, work_dir / "threads.bin", "threads.bin", workers=3)
    writers: set[str] = set()
    lock = threading.Lock()

    def record(_change: Any) -> None:
        with lock:
            writers.add(threading.current_thread().name)

    for widget in _descendants(ui):
        widget.observe(record, names=traitlets.All)
    ui.buttons["start"].click()
    assert ui.join(30) is SessionState.COMPLETED
    ui.buttons["abort"].click()  # disabled in the browser; a no-op click here still returns
    assert writers == {"ossnb-widget-updater"}
    updater = ui.updater
    assert updater is not None and updater.errors == []
    assert ui.session.observer_errors == []


def test_updater_is_throttled_and_idles() -> None:
    calls: list[float] = []
    updater = Updater(lambda: calls.append(time.monotonic()), interval=0.1, idle_exit=0.5)
    try:
        deadline = time.monotonic() + 0.55
        while time.monotonic() < deadline:
            updater.poke()
            time.sleep(0.001)
        assert updater.flush(2)
        gaps = [b - a for a, b in itertools.pairwise(calls)]
        assert 4 <= len(calls) <= 8 and min(gaps) >= 0.095, calls
        settled = len(calls)
        time.sleep(0.35)
        assert len(calls) == settled, "no renders without pokes when not live"
        wait_for(lambda: not updater.running, timeout=3, what="the idle thread to end")
        assert updater.flush(2) and len(calls) == settled + 1, "a poke starts a new thread"
    finally:
        updater.stop()
    assert not updater.running


def test_ledger_stays_one_page_at_10000_parts(
    server: ServerHandle, tmp_path: Path, closing: list[w.Widget]
) -> None:
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as f:
        f.truncate(10_000 * PART)  # sparse: nothing is read unless sent
    client = make_client(server)
    started = time.perf_counter()
    ui = _widget(closing, client, path, "sparse.bin", checkpoint=None)
    assert time.perf_counter() - started < 2
    html = ui._ledger.value
    assert html.count('<tr class="ossnb-part ') == 50
    assert "rows 1–50 of 10,000" in html and "page 1 of 200" in html
    assert "10,000 part(s)" in ui._counts.value and "pending <b>10,000</b>" in ui._counts.value
    assert ui._prev.disabled and not ui._next.disabled
    ui._next.click()
    ui.refresh()
    assert "rows 51–100 of 10,000" in ui._ledger.value
    ui._order.value = "number"
    ui.refresh()
    assert "rows 1–50 of 10,000 (by part number)" in ui._ledger.value
    renders = []
    for _ in range(5):
        t = time.perf_counter()
        ui._render()
        renders.append(time.perf_counter() - t)
    assert min(renders) < 0.1, renders  # ten renders a second fit in a fraction of a core
    # the map's three bytes-per-part arrays dominate (sent as binary buffers on the wire)
    assert len(_state_json(ui)) < 210_000


def test_ledger_order_puts_failures_first() -> None:
    def row(n: int, state: PartState) -> PartRow:
        return PartRow(n, (n - 1) * 10, 10, state=state)

    states = [PartState.DONE] * 6 + [PartState.PENDING] * 4
    states[7], states[2], states[8] = PartState.FAILED, PartState.SENDING, PartState.SENDING
    rows = [row(i + 1, s) for i, s in enumerate(states)]
    ordered = [r.number for r in order_rows(rows, recent=(5, 4, 99), order="attention")]
    assert ordered == [8, 3, 9, 5, 4, 1, 2, 6, 7, 10]
    page = page_of(rows, (5, 4), "attention", page=7, page_size=4)
    assert (page.page, page.pages, [r.number for r in page.rows]) == (2, 3, [7, 10])
    assert "rows 9–10 of 10" in ledger_html(page, "attention")
    escaped = ledger_html(page_of([PartRow(1, 0, 1, error_code="<x>")], (), "number", 0), "number")
    assert "&lt;x&gt;" in escaped and "<x>" not in escaped


def test_secrets_never_reach_widget_state(
    server: ServerHandle, work_dir: Path, closing: list[w.Widget]
) -> None:
    client = _shared(server)
    make_file(work_dir / "secret.bin", 3 * PART, seed=8)
    ui = _widget(closing, client, work_dir / "secret.bin", "secret.bin")
    ui.buttons["start"].click()
    assert ui.join(30) is SessionState.COMPLETED
    ui.refresh()
    assert ui._transcript.value == "", "a closed transcript is not rendered"
    ui._tabs.selected_index = 2  # open the transcript tab
    ui.refresh()
    state = _state_json(ui)
    assert "OSS4-HMAC-SHA256" in state and "string to sign" in state, "the transcript is shown"
    assert "CompleteMultipartUpload" in ui._transcript.value
    assert server.access_key_secret not in state
    assert not re.search(r"Signature=[0-9a-f]{7}", state), "signatures are shortened"
    full = [e.request_headers.get("authorization", "") for e in ui.session.transcript()]
    assert all(a.endswith("…") for a in full if a)


def test_one_widget_per_session_and_close(
    server: ServerHandle, work_dir: Path, closing: list[w.Widget]
) -> None:
    client = _shared(server)
    make_file(work_dir / "one.bin", PART, seed=9)
    session = UploadSession(client, work_dir / "one.bin", BUCKET, "one.bin", checkpoint=None)
    first = widget_for(session)
    assert widget_for(session) is first
    assert repr(first) == "<UploadWidget oss://widgets/one.bin: planned>"
    updater, first_id = first.updater, first.model_id
    first.close()
    first.close()  # idempotent: ipywidgets' __del__ calls it again, maybe mid-widget_for
    assert updater is not None and not updater.running
    second = widget_for(session)
    closing.append(second)
    assert second is not first and second.model_id != first_id


def test_stale_uploads_listed_and_aborted(server_factory: Factory, closing: list[w.Widget]) -> None:
    _, client = server_with_faults(server_factory, BUCKET)
    ids = {}
    for key, parts in (("old/a.bin", 2), ("old/b.bin", 1), ("old/c.bin", 0)):
        session = UploadSession(client, os.urandom(2 * PART), BUCKET, key, part_size=PART)
        ids[key] = session.initiate()
        for number in range(1, parts + 1):
            session.upload_part(number)
    ui = StaleUploadsWidget(client, BUCKET, prefix="old/")
    closing.append(ui)
    ui.join(10)
    assert {(u.key, u.parts, u.size) for u in ui.uploads} == {
        ("old/a.bin", 2, 2 * PART),
        ("old/b.bin", 1, PART),
        ("old/c.bin", 0, 0),
    }
    table = ui._table.value
    assert "3 unfinished upload(s) holding 300.0 KiB" in table
    assert all(upload_id in table for upload_id in ids.values())

    assert _click(ui.buttons["refresh"]) < 0.2
    ui.join(10)
    ui.selection.value = (("old/a.bin", ids["old/a.bin"]),)
    assert _click(ui.buttons["abort_selected"]) < 0.2
    ui.join(10)
    assert "aborted 1 of 1 upload(s)" in ui._status.value
    left = {u.key for u in list_all_uploads(client, BUCKET)}
    assert left == {"old/b.bin", "old/c.bin"}
    assert len(ui.selection.options) == 2

    ui.days.value = 7
    ui.buttons["abort_older"].click()  # all are seconds old: none goes
    ui.join(10)
    assert "aborted 0 of 0" in ui._status.value
    assert len(list_all_uploads(client, BUCKET)) == 2
    ui.days.value = 0
    ui.buttons["abort_older"].click()
    ui.join(10)
    assert "aborted 2 of 2" in ui._status.value
    assert list_all_uploads(client, BUCKET) == []
    assert "No unfinished uploads" in ui._table.value


def test_widgets_import_neither_client_nor_httpx() -> None:
    """docs/ARCHITECTURE.md §1: widgets import the session and the protocol, never the HTTP layer."""
    import ossnb.widgets

    root = Path(ossnb.widgets.__file__).parent
    seen: set[str] = set()
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                seen.add(
                    ("ossnb." if node.level == 2 else "ossnb.widgets.") + module
                    if node.level
                    else module
                )
            elif isinstance(node, ast.Import):
                seen.update(alias.name for alias in node.names)
    assert "ossnb.upload.session" in seen and "ipywidgets" in seen
    banned = {
        "httpx",
        "ossnb.client.client",
        "ossnb.connect",
        "ossnb.emulator",
        "ossnb.client.config",
    }
    assert not {m for m in seen if m in banned or m.startswith("httpx")}


def test_checkbox_follows_start_complete_false_called_on_the_session(
    server_factory: Factory, work_dir: Path, closing: list[w.Widget]
) -> None:
    """``session.start(complete=False)`` typed in a cell (not the Start button) unticks
    "complete automatically" on the next render; a user's tick alone is never undone."""
    server, client = server_with_faults(server_factory, BUCKET)
    data = make_file(work_dir / "direct.bin", 4 * PART, seed=9)
    ui = _widget(closing, client, work_dir / "direct.bin", "direct.bin", workers=2)
    assert ui.session.auto_complete is True and ui.auto_complete.value is True
    assert not ui.auto_complete.disabled
    ui.auto_complete.value = False  # the user's tick: renders leave it alone
    assert ui.refresh()
    assert ui.auto_complete.value is False
    ui.auto_complete.value = True
    assert ui.refresh()
    assert ui.auto_complete.value is True

    ui.session.start(complete=False)
    assert ui.join(30) is SessionState.INITIATED  # every part sent, left to Complete
    assert ui.session.snapshot().ledger.all_done
    assert ui.session.auto_complete is False
    assert ui.auto_complete.value is False
    assert "complete" in _enabled(ui)
    ui.buttons["complete"].click()
    assert ui.join(30) is SessionState.COMPLETED
    assert sdk_read(server, BUCKET, "direct.bin") == data
    assert list_all_uploads(client, BUCKET) == []


def test_a_widget_made_after_start_complete_false_shows_it(
    server_factory: Factory, work_dir: Path, closing: list[w.Widget]
) -> None:
    _, client = server_with_faults(server_factory, BUCKET)
    make_file(work_dir / "late.bin", 2 * PART, seed=10)
    session = UploadSession(client, work_dir / "late.bin", BUCKET, "late.bin", part_size=PART)
    session.start(complete=False)
    ui = UploadWidget(session)
    closing.append(ui)
    assert ui.auto_complete.value is False
    assert ui.join(30) is SessionState.INITIATED
    assert ui.auto_complete.value is False
    session.abort()
    assert list_all_uploads(client, BUCKET) == []
