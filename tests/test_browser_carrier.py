"""The browser carrier's protocol, with a stand-in for the page over real sockets.

The page's half runs in Chromium in tests/browser/test_browser_upload.py; here a small
Python peer speaks the same messages (hash a range, PUT a presigned URL with Content-MD5,
report what OSS answered), so every branch of the kernel's half is driven quickly
against a real ``ossnb serve``: a part corrupted on the way is refused with InvalidDigest
and sent again, an expired URL is re-issued, pause and abort stop the page, a resumed
upload re-hashes the server's parts and sends only the rest, and no credential ever
reaches the page.
"""

from __future__ import annotations

import http.client
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import ServerHandle
from session_fixtures import PART, bucket_fixture, client_fixture, make_client, sdk_read, wait_for

from ossnb.client.client import Client
from ossnb.protocol.checksums import digest
from ossnb.upload.browser_carrier import BrowserCarrier, BrowserFile
from ossnb.upload.ledger import PartState, SessionState
from ossnb.upload.session import UploadSession

__all__ = ["bucket_fixture", "client_fixture"]

SIZE = 10 * PART + 1234  # 11 parts


class Page:
    """The page's half in Python: hashes the bytes it holds, PUTs what the kernel signs."""

    def __init__(
        self, data: bytes, corrupt_once: set[int] | None = None, stall_after: int = 0
    ) -> None:
        self.data = data
        self.stall_after = stall_after  # after this many parts, wait (for the test's pause)
        self.done = 0
        self.corrupt_once = set(corrupt_once or ())
        self.carrier: BrowserCarrier | None = None
        self.sent: list[Mapping[str, Any]] = []
        self.puts: list[int] = []
        self.hold = threading.Event()
        self.hold.set()
        self._pool = ThreadPoolExecutor(4)
        self._lock = threading.Lock()

    def send(self, message: Mapping[str, Any]) -> None:
        with self._lock:
            self.sent.append(dict(message))
        self._pool.submit(self._handle, dict(message))

    def _report(self, message: Mapping[str, Any]) -> None:
        assert self.carrier is not None
        self.carrier.receive(message)

    def _handle(self, msg: dict[str, Any]) -> None:
        self.hold.wait(30)
        if msg["type"] not in ("hash", "put"):
            return
        number, token = msg["number"], msg["token"]
        body = self.data[msg["offset"] : msg["offset"] + msg["size"]]
        if msg["type"] == "hash":
            d = digest(body)
            self._report(
                {"type": "hashed", "number": number, "token": token, "size": d.size,
                 "md5": d.md5_hex.lower(), "md5_b64": d.md5_b64, "crc64": str(d.crc64)}
            )  # fmt: skip
            return
        with self._lock:
            self.puts.append(number)
            if number in self.corrupt_once:
                self.corrupt_once.discard(number)
                # one bit flipped on the way, Content-MD5 unchanged
                body = bytes([body[0] ^ 1]) + body[1:]
        # as a browser PUTs a typeless Blob: Content-MD5 (signed) and no Content-Type
        url = urllib.parse.urlsplit(msg["url"])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            conn.request(
                "PUT", f"{url.path}?{url.query}", body=body, headers={"Content-MD5": msg["md5_b64"]}
            )
            response = conn.getresponse()
            text = response.read().decode()
        finally:
            conn.close()
        if response.status == 200:
            with self._lock:
                self.done += 1
                if self.stall_after and self.done >= self.stall_after:
                    self.hold.clear()  # a slow page: the test pauses it part-way
            self._report(
                {"type": "done", "number": number, "token": token,
                 "etag": response.headers["ETag"],
                 "server_crc64": response.headers.get("x-oss-hash-crc64ecma")}
            )  # fmt: skip
            return
        code = re.search(r"<Code>([^<]*)</Code>", text)
        message = re.search(r"<Message>([^<]*)</Message>", text)
        self._report(
            {"type": "failed", "number": number, "token": token, "status": response.status,
             "code": code.group(1) if code else "",
             "message": message.group(1) if message else ""}
        )  # fmt: skip

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def data() -> bytes:
    return bytes(range(256)) * (SIZE // 256) + b"tail"[: SIZE % 256]


def browser_session(
    client: Client, bucket: str, data: bytes, checkpoint: Path | None = None, **options: Any
) -> UploadSession:
    file = BrowserFile("photo.raw", len(data), 1_700_000_000_000)
    return UploadSession(
        client, file, bucket, "from-laptop/photo.raw", part_size=PART, workers=3,
        checkpoint=checkpoint, **options,
    )  # fmt: skip


def run(session: UploadSession, page: Page, **carrier_options: Any) -> BrowserCarrier:
    page.carrier = BrowserCarrier(page, **carrier_options)
    session.start(carrier=page.carrier)
    return page.carrier


def stalled_after(
    page_factory: Callable[..., Page], client: Client, bucket: str, data: bytes, parts: int,
    checkpoint: Path | None = None,
) -> tuple[UploadSession, Page]:  # fmt: skip
    """A session whose page stalls once ``parts`` parts are done; returns when they are."""
    page = page_factory(data, stall_after=parts)
    session = browser_session(client, bucket, data, checkpoint=checkpoint)
    run(session, page)
    wait_for(
        lambda: session.snapshot().ledger.count(PartState.DONE) >= parts, what=f"{parts} parts"
    )
    return session, page


@pytest.fixture
def page_factory() -> Iterator[Callable[..., Page]]:
    pages: list[Page] = []

    def make(data: bytes, **options: Any) -> Page:
        pages.append(Page(data, **options))
        return pages[-1]

    yield make
    for p in pages:
        p.close()


def test_the_page_sends_every_part_and_the_object_is_verified(
    server: ServerHandle, client: Client, bucket: str, data: bytes, page_factory: Any
) -> None:
    page = page_factory(data)
    session = browser_session(client, bucket, data)
    run(session, page)
    receipt = session.wait(60)
    assert receipt.verified and session.state is SessionState.COMPLETED
    assert sdk_read(server, bucket, "from-laptop/photo.raw") == data
    rows = session.snapshot().ledger.rows
    assert {r.carrier for r in rows} == {"browser"} and all(r.attempts == 1 for r in rows)
    # the page saw URLs, never a credential: no secret, no Authorization
    text = repr(page.sent)
    assert server.access_key_secret not in text and "Authorization" not in text
    assert all("x-oss-signature" in m["url"] for m in page.sent if m["type"] == "put")


def test_a_part_corrupted_on_the_way_is_refused_and_sent_again(
    server: ServerHandle, client: Client, bucket: str, data: bytes, page_factory: Any
) -> None:
    page = page_factory(data, corrupt_once={3, 7})
    session = browser_session(client, bucket, data)
    run(session, page)
    session.wait(60)
    assert page.puts.count(3) == 2 and page.puts.count(7) == 2
    assert session.row(3).attempts == 2
    assert sdk_read(server, bucket, "from-laptop/photo.raw") == data


class ExpiredFirst:
    """A transport whose first ``count`` presigned URLs were signed an hour ago (expired
    before the page uses them); everything else goes through the real client."""

    def __init__(self, client: Client, stale: Client, count: int) -> None:
        self.client, self.stale, self.count = client, stale, count
        self.endpoint = client.endpoint

    def add_listener(self, listener: Callable[..., None]) -> None:
        self.client.add_listener(listener)

    def execute(self, operation: Any, **options: Any) -> Any:
        return self.client.execute(operation, **options)

    def presign(self, operation: Any, expires_in: timedelta = timedelta(hours=1)) -> str:
        if self.count > 0:
            self.count -= 1
            return self.stale.presign(operation, expires_in=timedelta(minutes=5))
        return self.client.presign(operation, expires_in=expires_in)


def test_an_expired_url_is_issued_again(
    server: ServerHandle, client: Client, bucket: str, data: bytes, page_factory: Any
) -> None:
    hour_ago = lambda: datetime.now(timezone.utc) - timedelta(hours=1)  # noqa: E731
    with make_client(server, clock=hour_ago) as stale:
        page = page_factory(data)
        session = browser_session(ExpiredFirst(client, stale, 2), bucket, data)  # type: ignore[arg-type]
        run(session, page)
        session.wait(60)
    puts = [m for m in page.sent if m["type"] == "put"]
    assert len(puts) == 11 + 2  # two URLs refused as expired, each issued again
    attempts = sorted(r.attempts for r in session.snapshot().ledger.rows)
    assert attempts == [1] * 9 + [2, 2]  # each PUT counts; the expired ones too
    assert sdk_read(server, bucket, "from-laptop/photo.raw") == data


def test_pause_stops_the_page_and_resume_finishes(
    server: ServerHandle, client: Client, bucket: str, data: bytes, page_factory: Any
) -> None:
    page = page_factory(data)
    session = browser_session(client, bucket, data)
    page.hold.clear()  # the page is busy: nothing reports yet
    run(session, page)
    wait_for(lambda: sum(m["type"] == "hash" for m in page.sent) == 3, what="3 hashes asked")
    session.pause()
    assert page.sent[-1]["type"] == "pause"
    page.hold.set()  # late reports of cancelled dispatches are ignored
    assert session.snapshot().ledger.count(PartState.DONE) == 0
    session.resume()
    session.wait(60)
    assert sdk_read(server, bucket, "from-laptop/photo.raw") == data


def test_abort_stops_the_page_and_leaves_no_parts(
    client: Client, bucket: str, data: bytes, page_factory: Any
) -> None:
    session, page = stalled_after(page_factory, client, bucket, data, 2)
    session.abort()
    page.hold.set()
    assert session.state is SessionState.ABORTED
    assert any(m["type"] == "stop" for m in page.sent)
    assert session.receipt().server_parts_after_abort == 0


def test_choosing_the_same_file_again_resumes_and_sends_only_the_missing_parts(
    server: ServerHandle, client: Client, bucket: str, data: bytes, page_factory: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    session, first = stalled_after(page_factory, client, bucket, data, 4, tmp_path)
    session.pause()
    first.hold.set()
    upload_id = session.upload_id
    # a reload (or a kernel restart): a new session for the same file finds the checkpoint
    again = browser_session(client, bucket, data, checkpoint=tmp_path)
    assert again.upload_id == upload_id
    second = page_factory(data)
    run(again, second)
    again.wait(60)
    held = {r.number for r in again.snapshot().ledger.rows if r.reused}
    assert len(held) >= 4 and not held & set(second.puts)
    assert sorted(held | set(second.puts)) == list(range(1, 12))
    assert sdk_read(server, bucket, "from-laptop/photo.raw") == data


def test_a_different_file_with_the_same_name_does_not_reuse_the_server_parts(
    server: ServerHandle, client: Client, bucket: str, data: bytes, page_factory: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    session, first = stalled_after(page_factory, client, bucket, data, 3, tmp_path)
    session.pause()
    first.hold.set()
    changed = bytes(b ^ 1 for b in data)  # same name, size and lastModified, other bytes
    again = browser_session(client, bucket, changed, checkpoint=tmp_path)
    second = page_factory(changed)
    run(again, second)
    again.wait(60)
    assert sorted(second.puts) == list(range(1, 12))  # every server copy failed its re-hash
    assert sdk_read(server, bucket, "from-laptop/photo.raw") == changed


def test_a_page_that_no_longer_holds_the_file_fails_the_part_with_a_clear_line(
    client: Client, bucket: str, data: bytes
) -> None:
    class Gone:
        carrier: BrowserCarrier | None = None

        def send(self, message: Mapping[str, Any]) -> None:
            if message["type"] == "hash" and self.carrier is not None:
                self.carrier.receive(
                    {"type": "failed", "number": message["number"], "token": message["token"],
                     "status": 0, "message": "this page no longer holds the file"}
                )  # fmt: skip

    gone = Gone()
    session = browser_session(client, bucket, data, part_attempts=1)
    gone.carrier = BrowserCarrier(gone)
    session.start(carrier=gone.carrier)
    with pytest.raises(Exception, match="no longer holds the file"):
        session.wait(30)
    assert session.state is SessionState.FAILED
