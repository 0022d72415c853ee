"""The widget's states say what is true: repeated clicks, a resume seen before Start, the
parts map's compact encoding, and a transcript that explains itself (in-process, against
a real emulator, as in test_widgets)."""

from __future__ import annotations

import time
from pathlib import Path

import ipywidgets as w
from conftest import Factory
from session_fixtures import PART, make_file, sdk_read, server_with_faults, wait_for
from test_widgets import BUCKET, SLOW, _widget, closing_fixture  # noqa: F401 - fixture

from ossnb.upload.ledger import PartRow, PartState, SessionState
from ossnb.upload.listing import list_all_uploads
from ossnb.upload.session import UploadSession
from ossnb.widgets.parts_map import CODES, encode


def test_repeated_clicks_are_harmless(
    server_factory: Factory, work_dir: Path, closing: list[w.Widget]
) -> None:
    """A double click (or a click the page sent before it saw the button disabled) does
    nothing: no UsageError in the step panel, one run, one upload."""
    server, client = server_with_faults(server_factory, BUCKET, SLOW)
    data = make_file(work_dir / "double.bin", 8 * PART, seed=11)
    ui = _widget(closing, client, work_dir / "double.bin", "double.bin", workers=2)
    ui.buttons["start"].click()
    ui.buttons["start"].click()
    wait_for(lambda: ui.session.state is SessionState.RUNNING, what="running")
    ui.buttons["pause"].click()
    ui.buttons["pause"].click()
    ui.buttons["resume"].click()
    ui.buttons["resume"].click()
    assert ui.join(30) is SessionState.COMPLETED
    ui.buttons["complete"].click()
    ui.buttons["abort"].click()
    ui.join(10)
    ui.refresh()
    assert "UsageError" not in ui._step.value and "UsageError" not in ui._result.value
    assert "Completed and verified" in ui._result.value
    assert [u for u in list_all_uploads(client, BUCKET)] == []
    assert sdk_read(server, BUCKET, "double.bin") == data


def test_resume_shows_the_parts_on_the_server_before_start(
    server_factory: Factory, work_dir: Path, closing: list[w.Widget]
) -> None:
    """After a kernel restart (a new session from the checkpoint), the widget lists the
    server's parts once, read-only: the map shows them held and the toolbar says so."""
    server, client = server_with_faults(server_factory, BUCKET)
    path = work_dir / "resume.bin"
    data = make_file(path, 6 * PART, seed=12)
    first = UploadSession(client, path, BUCKET, "resume.bin", part_size=PART)
    upload_id = first.initiate()
    for number in (1, 2, 5):
        first.upload_part(number)
    ui = _widget(closing, client, path, "resume.bin")  # the "restarted kernel"
    assert ui.session.upload_id == upload_id
    assert ui.join(10) is SessionState.INITIATED
    codes = ui._map.codes
    assert [i + 1 for i, c in enumerate(codes) if c == CODES["held"]] == [1, 2, 5]
    assert "the server already holds 3 of 6 part(s) (300.0 KiB)" in ui._result.value
    assert "only the other 3 are sent" in ui._result.value
    assert ui._map.reply(2)["etag"] == first.row(2).etag, "the server's ETag of a held part"
    ui.buttons["start"].click()
    assert ui.join(30) is SessionState.COMPLETED
    reused = [row.number for row in ui.session.snapshot().rows if row.reused]
    assert reused == [1, 2, 5]
    assert [i + 1 for i, c in enumerate(ui._map.codes) if c == CODES["reused"]] == [1, 2, 5]
    assert sdk_read(server, BUCKET, "resume.bin") == data


def test_map_encoding_is_compact_at_10000_parts() -> None:
    rows = [PartRow(n, (n - 1) * PART, PART) for n in range(1, 10_001)]
    rows[9] = PartRow(10, 9 * PART, PART, state=PartState.SENDING, bytes_sent=PART // 2)
    rows[19] = PartRow(20, 19 * PART, PART, state=PartState.SENDING, attempts=2)
    rows[29] = PartRow(30, 29 * PART, PART, state=PartState.DONE, reused=True)
    rows[39] = PartRow(40, 39 * PART, PART, state=PartState.FAILED, attempts=300)
    timings = []
    for _ in range(5):  # the best of five: one pause of the machine is not the code's cost
        started = time.perf_counter()
        codes, fills, attempts = encode(rows, held={50})
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.05, ("ten encodings a second fit easily", timings)
    assert len(codes) == len(fills) == len(attempts) == 10_000
    assert (codes[9], fills[9], codes[19], codes[29], codes[39], codes[49]) == (
        CODES["sending"],
        127,
        CODES["retrying"],
        CODES["reused"],
        CODES["failed"],
        CODES["held"],
    )
    assert attempts[39] == 255 and codes[0] == CODES["pending"]
    gone, _, _ = encode(rows, held={50}, aborted=True)
    assert (gone[29], gone[49], gone[9]) == (CODES["gone"], CODES["gone"], CODES["pending"])


def test_transcript_says_why_an_empty_body_has_a_content_md5() -> None:
    from ossnb.protocol.checksums import EMPTY_MD5_B64
    from ossnb.protocol.transcript import Exchange
    from ossnb.widgets.transcript import Entry, exchange_html

    def exchange(method: str, md5: str) -> Exchange:
        return Exchange(
            operation="ListParts",
            method=method,
            host="127.0.0.1",
            path="/b/k",
            query=(("uploadId", "X"),),
            request_headers={"content-md5": md5},
        )

    empty = exchange_html(Entry(1, exchange("GET", EMPTY_MD5_B64)))
    assert "the MD5 of an empty body" in empty
    sent = exchange_html(Entry(2, exchange("PUT", "XrY7u+Ae7tCTyyK7j1rNww==")))
    assert "empty body" not in sent and "XrY7u+Ae7tCTyyK7j1rNww==" in sent
