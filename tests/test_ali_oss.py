"""ali-oss, the official Node.js and browser SDK, as a client of ``ossnb serve``.

``tests/js/ali_oss_scenarios.js`` drives ali-oss 6.23.0 (pinned by ``tests/js/package.json``
and its lock; ``npm ci`` installs it once into ``.cache/ali-oss/``) through what a course
and the browser carrier need: put and get, the SDK's own parallel multipart upload, a
cancelled upload resumed from the SDK's checkpoint, the steps one by one, abort, a part
PUT through a presigned URL, UploadPartCopy, and OSS's errors. It prints what the SDK saw;
this test judges it against its own MD5s and CRC-64s and the bytes on the server, once
with V1 signatures and once with V4.

Node.js and npm come from Debian's packages (``./dev.sh test`` installs them); without
them the test is skipped, except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import ServerHandle
from session_fixtures import (  # noqa: F401 - client and bucket are fixtures
    bucket_fixture,
    client_fixture,
    make_file,
)

from ossnb.client.client import Client
from ossnb.protocol.checksums import crc64, multipart_etag
from ossnb.protocol.operations import GetObject

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "js"
CACHE = HERE.parent / ".cache" / "ali-oss"
PART = 256 * 1024  # the scenario's part size
SIZE = 4 * PART + 100  # five parts, the last one short


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """ali-oss and its dependencies, installed by ``npm ci`` from the committed lock."""
    if not (shutil.which("node") and shutil.which("npm")):
        if os.environ.get("CI"):
            pytest.fail("node and npm are missing under CI: ./dev.sh test installs them (apt)")
        pytest.skip("node and npm not installed (apt-get install nodejs npm); CI never skips")
    lock = (PACKAGE / "package-lock.json").read_bytes()
    installed = CACHE / "node_modules" / ".ossnb-lock"
    if not installed.exists() or installed.read_bytes() != lock:
        shutil.rmtree(CACHE, ignore_errors=True)
        CACHE.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(PACKAGE / name, CACHE / name)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CACHE,
            check=True,
            timeout=300,
        )
        installed.write_bytes(lock)
    return CACHE / "node_modules"


def _scenarios(
    server: ServerHandle, bucket: str, signature: str, path: Path, modules: Path
) -> dict[str, dict[str, Any]]:
    env = {
        **os.environ,
        "NODE_PATH": str(modules),
        "OSS_ENDPOINT": server.endpoint,
        "OSS_REGION": server.region,
        "OSS_ACCESS_KEY_ID": server.access_key_id,
        "OSS_ACCESS_KEY_SECRET": server.access_key_secret,
        "OSSNB_BUCKET": bucket,
    }
    run = subprocess.run(
        ["node", str(PACKAGE / "ali_oss_scenarios.js"), signature, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and run.stderr == "", run.stderr
    steps = [json.loads(line) for line in run.stdout.splitlines()]
    return {step.pop("step"): step for step in steps}


def _etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest().upper()}"'


def _read(client: Client, bucket: str, key: str) -> bytes:
    return client.execute(GetObject(bucket, key)).body


@pytest.mark.parametrize("signature", ["V1", "V4"])
def test_ali_oss_uploads_resumes_and_errs_as_on_oss(
    server: ServerHandle,
    client: Client,
    bucket: str,
    tmp_path: Path,
    node_modules: Path,
    signature: str,
) -> None:
    data = make_file(tmp_path / "data.bin", SIZE, seed=41)
    parts = [data[i : i + PART] for i in range(0, SIZE, PART)]
    seen = _scenarios(server, bucket, signature, tmp_path / "data.bin", node_modules)
    prefix = f"ali-oss/{signature}/"

    assert seen["put"] == {"status": 200, "etag": _etag(b"hello from ali-oss")}
    assert seen["get"] == {"status": 200, "text": "hello from ali-oss"}

    whole = seen["multipartUpload"]
    assert whole["parts"] == {str(n): _etag(p) for n, p in enumerate(parts, 1)}
    assert whole["etag"] == multipart_etag(_etag(p) for p in parts)
    assert _read(client, bucket, f"{prefix}whole.bin") == data
    assert seen["head"] == {"status": 200, "length": SIZE, "crc64": str(crc64(data))}

    # cancelled after two parts; the checkpoint, the server and the resumed run agree
    assert seen["cancelled"]["error"]["name"] == "cancel"
    resumed = seen["resumed"]
    assert resumed["checkpointed"] == resumed["held"] == [1, 2]
    assert resumed["sent"] == [3, 4, 5], "parts the server held were not sent again"
    assert resumed["etag"] == whole["etag"]
    assert _read(client, bucket, f"{prefix}resumed.bin") == data

    steps = seen["steps"]
    assert steps["etags"] == [_etag(parts[0]), _etag(parts[1])]
    assert steps["listed"] == [
        {"number": n, "etag": _etag(parts[n - 1]), "size": PART} for n in (1, 2)
    ]
    assert steps["uploadId"] in steps["uploads"]
    assert seen["complete"]["etag"] == multipart_etag(steps["etags"])
    assert _read(client, bucket, f"{prefix}steps.bin") == data[: 2 * PART]

    assert seen["abort"] == {"status": 204}
    gone = seen["listParts after abort"]["error"]
    assert (gone["code"], gone["status"]) == ("NoSuchUpload", 404)

    assert seen["presigned part"] == {
        "status": 200,
        "etag": _etag(parts[0]),
        "secretInUrl": False,
    }
    assert seen["uploadPartCopy"] == {"status": 200, "etag": _etag(parts[0])}
    assert _read(client, bucket, f"{prefix}copied.bin") == data[: PART + 100]
    assert seen["range"] == {"status": 206, "bytes": list(data[10:20])}
    names = ["copied.bin", "resumed.bin", "small.txt", "steps.bin", "whole.bin"]
    assert seen["list"] == {"objects": [prefix + name for name in names]}
    assert seen["deleteMulti"] == {"deleted": [f"{prefix}never-was.txt", f"{prefix}small.txt"]}

    for step, code, status in [
        ("CopyObject (not emulated)", "NotImplemented", 501),
        ("wrong Content-MD5", "InvalidDigest", 400),
        ("missing object", "NoSuchKey", 404),
        ("wrong secret", "SignatureDoesNotMatch", 403),
    ]:
        error = seen[step]["error"]
        assert (error["code"], error["status"]) == (code, status), step
