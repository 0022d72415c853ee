"""Secrets never leak (issue: "Secrets").

Real runs with a distinctive access key secret and STS security token: a library
session (checkpoint read mid-upload, receipt, transcript, widget built in-process), a
request with a wrong secret, a CLI subprocess (its stdout and stderr), the emulator's
verbose log, and Python logging at DEBUG. Then every text these produced is scanned for
the secret's and token's values (raw and percent-encoded).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
from conftest import Factory
from reliability_ledger import Scenario, scenario_fixture  # noqa: F401 - fixture
from rich.pretty import pretty_repr
from session_fixtures import FAST_RETRY, PART, make_file, run_cli, subprocess_env

from ossnb.client.client import Client
from ossnb.client.proxy import Proxy
from ossnb.cluster.part_task import PartTask
from ossnb.protocol.errors import OssError, SignatureDoesNotMatch
from ossnb.protocol.http import Request, Response
from ossnb.protocol.models import GetObjectResult, ObjectInfo, UploadPartResult
from ossnb.protocol.multipart import UploadPart
from ossnb.protocol.operations import PutBucket, PutObject
from ossnb.protocol.signing import Credentials, SignedRequest
from ossnb.upload.session import UploadSession

KEY_ID = "rel-key-id"
SECRET = f"Sec-{uuid.uuid4().hex}"
WRONG = f"Wrong-{uuid.uuid4().hex}"
TOKEN = f"STS/{uuid.uuid4().hex}+token="


def _needles() -> list[str]:
    values = [SECRET, WRONG, TOKEN]
    return values + [quote(v, safe="") for v in values] + [TOKEN.split("/")[1][:20]]


def _leaks(where: str, text: str) -> list[str]:
    return [f"{where}: contains {needle!r}" for needle in _needles() if needle in text]


_HELD = ("access_key_secret", "security_token")


def _texts(value: Any, depth: int = 0) -> Iterable[str]:
    """repr, str and rich's pretty form of ``value`` and, recursively, of its shown fields
    and its items."""
    yield repr(value)
    yield str(value)
    yield pretty_repr(value)  # rich (in most notebook environments) reads __rich_repr__
    if depth > 6:
        return
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            if isinstance(value, Credentials) and name in _HELD:
                continue  # the holder of the secret itself: its repr is what is checked
            yield from _texts(getattr(value, name), depth + 1)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(k, depth + 1)
            yield from _texts(v, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _texts(item, depth + 1)


def _widget_state(widget: Any) -> str:
    found, stack = [], [widget]
    while stack:
        current = stack.pop()
        found.append(current.get_state())
        stack.extend(getattr(current, "children", ()))
    return json.dumps(found, default=str)


def test_the_scan_walks_into_records_but_not_into_the_secrets_holder() -> None:
    """The scan below reads every field of a record on its own (a nested repr may show what
    the outer one hides); only the Credentials' own secret fields are left to its repr."""
    part = UploadPartResult(1, '"FIELD-SEEN"', 7, None, "R")
    assert '"FIELD-SEEN"' in list(_texts(part)), "the field's own text was yielded"
    texts = list(_texts([Credentials(KEY_ID, SECRET, TOKEN)]))
    assert KEY_ID in texts and not any(SECRET in t or TOKEN in t for t in texts)


def test_pretty_printers_show_the_masked_repr_of_every_masked_record() -> None:
    """msgspec gives every Struct a ``__rich_repr__`` listing each field, which rich's
    pretty printer prefers to ``repr()``: records whose repr masks a secret, a token, a
    bearer URL or a body must not offer it."""
    request = Request(
        "PUT",
        "b",
        "k",
        (("security-token", TOKEN),),
        {"x-oss-security-token": TOKEN, "authorization": f"OSS {KEY_ID}:sig"},
    )
    records = [
        Credentials(KEY_ID, SECRET, TOKEN),
        request,
        SignedRequest(request, f"to sign {TOKEN}"),
        Response(200, {"x-oss-request-id": "R"}, SECRET.encode()),
        PutObject("bkt", "k", SECRET.encode()),
        UploadPart("bkt", "k", "upload", 1, SECRET.encode()),
        GetObjectResult(SECRET.encode(), ObjectInfo(1, '"E"', *[None] * 6), None, 200),
        Proxy("http://proxy:3128", ("user", SECRET)),
        PartTask(1, "t", "/f", 0, 1, url=f"http://b/k?security-token={TOKEN}"),
    ]  # fmt: skip
    for record in records:
        shown = pretty_repr(record)
        assert shown == repr(record), type(record).__name__
        assert SECRET not in shown and TOKEN not in shown, type(record).__name__


def test_secrets_and_tokens_never_leak(
    server_factory: Factory,
    work_dir: Path,
    scenario: Scenario,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scenario(
        "secrets: never in reprs, logs, exceptions, transcripts, widgets, receipts, checkpoints, CLI"
    )
    caplog.set_level(logging.DEBUG)
    server = server_factory(
        "--access-key-id", KEY_ID, "--access-key-secret", SECRET, "--bucket", "sec", "--verbose"
    )
    server.access_key_id, server.access_key_secret = KEY_ID, SECRET
    collected: list[tuple[str, str]] = []
    leaks: list[str] = []

    # 1. A library session with STS-style credentials, stepped so the checkpoint exists.
    credentials = Credentials(KEY_ID, SECRET, TOKEN)
    client = Client(server.endpoint, credentials, region=server.region, retry=FAST_RETRY)
    path = work_dir / "secret.bin"
    make_file(path, 3 * PART + 1, seed=12)
    session = UploadSession(client, path, "sec", "secret.bin", part_size=PART)
    session.initiate()
    session.upload_part(1)
    assert session.checkpoint_path is not None
    collected.append(("checkpoint file", session.checkpoint_path.read_text()))
    from ossnb.widgets.view import UploadWidget

    widget = UploadWidget(session)
    try:
        session.start()
        assert widget.join(30).value == "completed"
        widget._tabs.selected_index = 2  # open the transcript tab so it is rendered
        widget.refresh()
        collected.append(("widget state", _widget_state(widget)))
    finally:
        widget.close()
    receipt = session.receipt()
    assert receipt.verified
    sent = [e for e in session.transcript() if "x-oss-security-token" in e.request_headers]
    assert sent, "the token was not sent: the scan would prove nothing"
    collected.append(("receipt json", receipt.to_json()))
    collected.append(("session describe", session.describe()))
    for name, obj in [
        ("client", client),
        ("credentials", credentials),
        ("session", session),
        ("receipt", receipt),
        ("transcript", session.transcript()),
        ("snapshot", session.snapshot()),
        ("plan", session.plan),
    ]:
        collected.extend((f"repr/str of {name}", text) for text in _texts(obj))
    collected.extend(("exchange summary", e.summary()) for e in session.transcript())

    # 2. A request with a wrong secret (and a token): the exception and its transcript.
    wrong = Client(
        server.endpoint, Credentials(KEY_ID, WRONG, TOKEN), region=server.region, retry=FAST_RETRY
    )
    exchanges: list[Any] = []
    wrong.add_listener(exchanges.append)
    with pytest.raises(SignatureDoesNotMatch) as refused:
        wrong.execute(PutBucket("sec-two"))
    error: OssError = refused.value
    collected.extend(("wrong-secret exception", t) for t in _texts(error))
    collected.append(("wrong-secret exception args", repr(error.args)))
    collected.extend(("wrong-secret transcript", t) for t in _texts(exchanges))
    bad_session_error = None
    try:
        bad = UploadSession(wrong, path, "sec", "other.bin", part_size=PART, checkpoint=None)
        bad.start()
        bad.wait(30)
    except OssError as exc:
        bad_session_error = exc
    assert bad_session_error is not None
    collected.extend(("failed session", t) for t in _texts(bad_session_error))
    collected.append(("failed session receipt", bad.receipt().to_json()))

    # 3. The CLI in a subprocess, with the token from OSS_SESSION_TOKEN.
    env = subprocess_env()
    env.update(
        OSS_ENDPOINT=server.endpoint,
        OSS_REGION=server.region,
        OSS_ACCESS_KEY_ID=KEY_ID,
        OSS_ACCESS_KEY_SECRET=SECRET,
        OSS_SESSION_TOKEN=TOKEN,
    )
    ok = run_cli("upload", str(path), "oss://sec/cli.bin", "--part-size", "100KiB", env=env)
    assert ok.returncode == 0, ok.stderr
    collected += [("cli stdout", ok.stdout), ("cli stderr", ok.stderr)]
    failed = run_cli(
        "upload", str(path), "oss://sec/cli2.bin", env=dict(env, OSS_ACCESS_KEY_SECRET=WRONG)
    )
    assert failed.returncode == 1 and "SignatureDoesNotMatch" in failed.stderr
    collected += [("failed cli stdout", failed.stdout), ("failed cli stderr", failed.stderr)]
    listing = run_cli("uploads", "oss://sec", env=env)
    collected += [("cli uploads", listing.stdout + listing.stderr)]

    # 4. The emulator's own output, and everything Python logged.
    server.stop()
    collected += [("emulator log", server.log()), ("emulator banner", "\n".join(server.banner))]
    assert "PUT /sec/secret.bin" in server.log() or "UploadPart" in server.log(), "verbose log"
    collected.append(("python logging", "\n".join(r.getMessage() for r in caplog.records)))
    collected.append(("python logging raw", repr([vars(r) for r in caplog.records])))

    for where, text in collected:
        leaks += _leaks(where, text)
    assert not leaks, "\n".join(leaks)
    assert len(collected) > 50
