"""The teaching notebooks (``notebooks/*.ipynb``).

Each one runs top to bottom in a real kernel (nbclient; an error cell fails the test) on
the embedded emulator, and again unchanged with ``OSS_*`` naming an endpoint (an ``ossnb
serve`` standing in for OSS); the facts it teaches show in its outputs and saved widget
state. Committed notebooks are clean: no outputs, no execution counts, no machine paths,
no secrets. Also ``ensure_bucket``, the helper their first cell calls."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import ServerHandle
from nbclient import NotebookClient

from ossnb.connect import EmbeddedClient, connect, ensure_bucket, stop_embedded
from ossnb.emulator import DEV_ACCESS_KEY_SECRET
from ossnb.protocol.errors import NoSuchBucket
from ossnb.protocol.operations import GetBucketInfo, PutBucket
from ossnb.protocol.signing import Credentials

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
UPLOAD_ID = r"[0-9A-F]{32}"

# ------------------------------------------------------------------ executing them


def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OSS_* (the embedded emulator is used) and the default course bucket."""
    for name in list(os.environ):
        if name.startswith("OSS_") or name == "OSSNB_BUCKET":
            monkeypatch.delenv(name)


def _execute(path: Path, directory: Path) -> nbformat.NotebookNode:
    """Run a copy of ``path`` in ``directory`` (its working directory); raises on any error cell."""
    copy = directory / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(directory)}}
    ).execute()
    return nb


def _stdout(nb: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


def _widgets(nb: nbformat.NotebookNode, css: str) -> list[dict[str, Any]]:
    """The saved state of every widget model carrying the CSS class ``css``."""
    models = nb.metadata["widgets"][WIDGET_STATE]["state"]
    return [m["state"] for m in models.values() if css in m["state"].get("_dom_classes", ())]


def _check_01(nb: nbformat.NotebookNode, text: str) -> None:
    assert re.search(rf"^upload ID: {UPLOAD_ID}$", text, re.M)
    assert len(re.findall(r"= local MD5 [0-9A-F]{32}: ETag matches$", text, re.M)) == 4
    assert re.search(r'^object ETag: "[0-9A-F]{32}-4"$', text, re.M)
    assert "downloaded 358,407 bytes: identical to multipart.bin" in text
    assert len(re.findall(r"^UploadPart: PUT .* -> 200 ", text, re.M)) == 4


def _check_02(nb: nbformat.NotebookNode, text: str) -> None:
    assert text.count("ETag matches local MD5: True") == 3
    assert "from marker 2: parts [3], truncated: False" in text
    assert "x-oss-complete-all: yes" in text and "body bytes: 0" in text


def _check_03(nb: nbformat.NotebookNode, text: str) -> None:
    assert len(re.findall(r": NoSuchUpload \(HTTP 404\)", text)) == 4
    assert "aborted True" in text
    (table,) = _widgets(nb, "ossnb-stale-table")
    assert "No unfinished uploads" in table["value"]
    (status,) = _widgets(nb, "ossnb-stale-status")
    assert "aborted 2 of 2 upload(s)" in status["value"]


def _check_04(nb: nbformat.NotebookNode, text: str) -> None:
    for code in ("InvalidDigest", "InvalidPartOrder", "EntityTooSmall"):
        assert text.count(f"{code} (HTTP 400)") == 1, code
    assert text.count("InvalidPart (HTTP 400)") == 2
    assert text.count("= local: CRC matches") == 4
    crcs = re.findall(
        r"^(?:combined from the parts|CompleteMultipartUpload|HeadObject|"
        r"the whole local file):\s+(\d+)$",
        text,
        re.M,
    )
    assert len(crcs) == 4 and len(set(crcs)) == 1


def _check_05(nb: nbformat.NotebookNode, text: str) -> None:
    assert "worker: sent part 8\n" in text and "worker exit status: -9" in text
    (held,) = re.findall(r"the server holds (\d+) of 40 parts", text)
    reused, sent = re.findall(
        r"^reused after a CRC-64 check: (\d+) parts.*\nsent: (\d+) parts", text, re.M
    )[0]
    assert int(reused) == int(held) and int(sent) == 40 - int(held)
    assert "reused: [1, 2, 4, 5]\nsent: 36 parts [3, 6, 7," in text


def _check_06(nb: nbformat.NotebookNode, text: str) -> None:
    assert "paused: " in text and "initiated: 128 parts on the server" in text
    (stopped,) = re.findall(r"^in flight when paused, to be sent again: \[([\d, ]*)\]$", text, re.M)
    (final,) = re.findall(r"^parts sent more than once \(part: attempts\): (\{.*\})$", text, re.M)
    again = {int(k): int(v) for k, v in re.findall(r"(\d+): (\d+)", final)}
    stopped_parts = [int(n) for n in stopped.split(", ") if n]
    resent = [n for n in stopped_parts if again.get(n, 1) >= 2]
    # a part may finish in the instant between the listing and the pause: allow one
    assert stopped_parts and len(resent) >= len(stopped_parts) - 1, (stopped_parts, final)
    if text.startswith("the embedded emulator"):  # its injected 503s were retried
        assert text.count("→ 503 ") >= 3 and len(again) > len(resent), text
    assert "first upload: completed" in text
    assert "second upload: aborted" in text
    assert "parts on the server after the abort: 0" in text
    assert len(_widgets(nb, "ossnb-upload")) == 2
    statuses = sorted(s["value"] for s in _widgets(nb, "ossnb-status-line"))
    assert 'ossnb-state">aborted' in statuses[0] and 'ossnb-state">completed' in statuses[1]
    assert 'class="ossnb-parts-done">128</span>/128' in statuses[1]
    results = " ".join(s["value"] for s in _widgets(nb, "ossnb-result"))
    assert re.search(r'ossnb-final-etag">&quot;[0-9A-F]{32}-128&quot;', results)
    assert "the server holds <b>no parts</b>" in results


def _check_07(nb: nbformat.NotebookNode, text: str) -> None:
    assert text.count("<AccessKeyId>") >= 6 and "ossnb-dev-key" not in text
    assert re.search(r"^by hand: OSS4-HMAC-SHA256 Credential=.*Signature=[0-9a-f]{64}$", text, re.M)
    assert re.search(r"^by hand: OSS <AccessKeyId>:[A-Za-z0-9+/]{27}=$", text, re.M)
    assert "SignatureDoesNotMatch (HTTP 403)" in text
    assert "the request is described alike; the key is wrong." in text


def _check_08(nb: nbformat.NotebookNode, text: str) -> None:
    assert "the secret is in the URL: False" in text and "ossnb-dev-key" not in text
    assert re.search(r'^PUT with the URL: 200 ETag "[0-9A-F]{32}"$', text, re.M)
    assert "ETag is the part's MD5: True" in text
    assert "altered bytes: 400 <Code>InvalidDigest</Code>" in text
    assert "after expiry: 403 Request has expired." in text
    assert "parts on the server: [1]" in text
    assert "preflight without rules: (403, {})" in text
    assert "preflight with the rule: 200" in text
    assert "Access-Control-Expose-Headers: ETag, x-oss-hash-crc64ecma" in text
    assert "another origin: 403" in text
    assert _widgets(nb, "ossnb-browser-upload"), "the browser upload widget was displayed"


CHECKS: dict[str, Callable[[nbformat.NotebookNode, str], None]] = {
    "01_multipart_step_by_step": _check_01,
    "02_etags_and_listparts": _check_02,
    "03_abort_and_cleanup": _check_03,
    "04_integrity": _check_04,
    "05_resume": _check_05,
    "06_upload_widget": _check_06,
    "07_signatures": _check_07,
    "08_from_your_laptop": _check_08,
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_emulator(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch)
    nb = _execute(path, tmp_path)
    text = _stdout(nb)
    assert DEV_ACCESS_KEY_SECRET not in json.dumps(nb), "a secret reached an output"
    stderr = [
        output.text
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr"
    ]
    assert stderr == [], "warnings or tracebacks on stderr"
    CHECKS[path.stem](nb, text)
    assert (tmp_path / "course-data").is_dir()


def test_notebook_08_alters_a_part_whatever_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "altered bytes" cell must change the part whatever its first byte is: it once put
    a constant first byte in, so one run in 256 (a part starting with that byte) sent the
    same bytes and got 200. Random data cannot be chosen otherwise, so the kernel's
    ``os.urandom`` is wrapped to start every result with that byte."""
    _environment(monkeypatch)
    path = NOTEBOOK_DIR / "08_from_your_laptop.ipynb"
    nb = nbformat.read(path, as_version=4)
    rig = "import os\n_urandom = os.urandom\nos.urandom = lambda n: b'X' + _urandom(n - 1) if n > 1 else _urandom(n)"
    nb.cells.insert(0, nbformat.v4.new_code_cell(rig))
    rigged = tmp_path / "rigged"
    rigged.mkdir()
    nbformat.write(nb, rigged / path.name)
    text = _stdout(_execute(rigged / path.name, tmp_path))
    assert "altered bytes: 400 <Code>InvalidDigest</Code>" in text, text


# On "real OSS" (OSS_* set) the emulator cannot be slowed from the notebook: the server is.
_SERVER_ARGS = {"06_upload_widget": ("--fault", "UploadPart@1x100000=delay:0.2")}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_unchanged_against_an_endpoint(
    path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server_factory: Callable[..., ServerHandle],
) -> None:
    """With OSS_ENDPOINT and the keys set (here an ``ossnb serve`` standing in for OSS) and
    OSSNB_BUCKET naming an existing bucket, the same notebooks run unchanged."""
    _environment(monkeypatch)
    server = server_factory("--bucket", "course-elsewhere", *_SERVER_ARGS.get(path.stem, ()))
    for name, value in {
        "OSS_ENDPOINT": server.endpoint,
        "OSS_REGION": server.region,
        "OSS_ACCESS_KEY_ID": server.access_key_id,
        "OSS_ACCESS_KEY_SECRET": server.access_key_secret,
        "OSSNB_BUCKET": "course-elsewhere",
    }.items():
        monkeypatch.setenv(name, value)
    nb = _execute(path, tmp_path)
    text = _stdout(nb)
    assert text.startswith(
        f"OSS at {server.endpoint} (region {server.region}), bucket course-elsewhere"
    )
    assert not (tmp_path / ".ossnb").exists(), "an embedded emulator was started"
    assert server.access_key_secret not in json.dumps(nb)
    CHECKS[path.stem](nb, text)


def test_every_notebook_is_checked_and_listed() -> None:
    assert len(NOTEBOOKS) >= 7
    assert {p.stem for p in NOTEBOOKS} == set(CHECKS)
    readme = (NOTEBOOK_DIR / "README.md").read_text()
    assert "./dev.sh lab" in readme
    for path in NOTEBOOKS:
        assert f"]({path.name})" in readme, f"{path.name} is not in notebooks/README.md"


# ------------------------------------------------------------------ committed clean

_MACHINE_PATH = re.compile(
    r"(?<![\w.~-])(?:/(?:home|root|tmp|work|Users|var|private|mnt|opt)/|[A-Za-z]:\\\\)"
)
_SECRETS = [
    re.compile(re.escape(DEV_ACCESS_KEY_SECRET)),
    re.compile(r"LTAI[0-9A-Za-z]{12,}"),  # an Alibaba Cloud AccessKey ID
    re.compile(r"STS\.[0-9A-Za-z]{20,}"),  # an STS token
    re.compile(r"""(?i)(?:secret|password|token)\w*\s*[:=]\s*["'][^"']{8,}["']"""),
]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_clean(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    nb = nbformat.reads(raw, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "widgets" not in nb.metadata, "saved widget state: clear the outputs"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert len(code) >= 5 and len(nb.cells) <= 25
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: clear them"
            assert cell.execution_count is None, f"cell {i} has an execution count"
        assert "execution" not in cell.metadata, f"cell {i} keeps execution timestamps"
    for text in (raw, "\n".join(cell.source for cell in nb.cells)):  # as stored, as read
        match = _MACHINE_PATH.search(text)
        assert match is None, f"a machine path in {path.name}: {text[match.start() :][:40]!r}"
        for pattern in _SECRETS:
            assert pattern.search(text) is None, f"{path.name} has something like a secret"
    # its own emulator data folder, so several notebooks can have a running kernel at once
    setup = code[0].source
    assert f'client = connect(data_dir=".ossnb/course-{path.name[:2]}")' in setup
    assert 'BUCKET = ensure_bucket(client, os.environ.get("OSSNB_BUCKET", "ossnb-course"))' in setup


@pytest.mark.parametrize(
    ("dirt", "complaint"),
    [
        ({"outputs": [nbformat.v4.new_output("stream", text="hi\n")]}, "has outputs"),
        ({"execution_count": 3}, "execution count"),
        ({"source": 'open("/home/alice/data.bin")'}, "machine path"),
        ({"source": r'open("C:\\Users\\alice\\data.bin")'}, "machine path"),
        ({"source": 'key_secret = "abcdefgh12345678"'}, "like a secret"),
    ],
)
def test_the_hygiene_check_catches_dirt(
    dirt: dict[str, Any], complaint: str, tmp_path: Path
) -> None:
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    cell = nb.cells[-1] = nbformat.v4.new_code_cell()
    cell.update(dirt)
    dirty = tmp_path / NOTEBOOKS[0].name
    nbformat.write(nb, dirty)
    with pytest.raises(AssertionError, match=complaint):
        test_committed_notebook_is_clean(dirty)


# ------------------------------------------------------------------ ensure_bucket


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedClient]:
    _environment(monkeypatch)
    client = connect(data_dir=tmp_path / "emulator")
    assert isinstance(client, EmbeddedClient)
    yield client
    client.close()
    stop_embedded(tmp_path / "emulator")


def test_ensure_bucket_creates_it_on_the_embedded_emulator(embedded: EmbeddedClient) -> None:
    assert ensure_bucket(embedded, "ossnb-course") == "ossnb-course"
    assert ensure_bucket(embedded, "ossnb-course") == "ossnb-course"  # idempotent
    assert embedded.execute(GetBucketInfo("ossnb-course")).name == "ossnb-course"


def test_ensure_bucket_only_checks_elsewhere(server: ServerHandle, bucket_name: str) -> None:
    credentials = Credentials(server.access_key_id, server.access_key_secret)
    with connect(server.endpoint, region=server.region, credentials=credentials) as client:
        assert not isinstance(client, EmbeddedClient)
        with pytest.raises(NoSuchBucket):
            ensure_bucket(client, bucket_name)  # not created: the owner decides
        client.execute(PutBucket(bucket_name))
        assert ensure_bucket(client, bucket_name) == bucket_name
