"""Memory stays within workers × part size plus a small constant for a 1 GiB upload, and
within workers × 1 MiB with ``checksum="crc64"`` (parts are streamed a piece at a time).

Measured, not timed: a subprocess uploads a 1 GiB (sparse) file to ``ossnb serve`` and
reports its peak RSS (``VmHWM``) before and after; the emulator runs in its own process,
so only the uploader's memory is counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ServerHandle
from session_fixtures import MiB, subprocess_env

from ossnb.protocol.http import BODY_PIECE

WORKERS = 4
PART_SIZE = 8 * MiB
SLACK = 16 * MiB  # buffers in flight besides the parts (h11 joins 1 MiB chunks), stacks, slack

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from ossnb.client.client import Client
    from ossnb.protocol.operations import PutBucket
    from ossnb.protocol.signing import Credentials
    from ossnb.upload.session import UploadSession

    endpoint, region, key_id, secret, path, workers, part_size, checksum = sys.argv[1:]

    def peak_rss():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024

    client = Client(endpoint, Credentials(key_id, secret), region=region)
    client.execute(PutBucket("memory"))
    warm = UploadSession(client, b"x" * 200_000, "memory", "warm", part_size=102400)
    warm.start()
    warm.wait()  # imports, threads, connections and caches exist before the baseline
    before = peak_rss()
    session = UploadSession(
        client, path, "memory", "big.bin", workers=int(workers), part_size=int(part_size),
        checkpoint=None, checksum=checksum,
    )
    session.start()
    receipt = session.wait(600)
    print(json.dumps({"before": before, "after": peak_rss(), "verified": receipt.verified,
                      "parts": len(receipt.parts), "size": receipt.size}))
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
@pytest.mark.parametrize(
    ("checksum", "held"), [("md5", PART_SIZE), ("crc64", BODY_PIECE)], ids=["md5", "crc64"]
)
def test_a_1_gib_upload_stays_within_workers_times_what_a_worker_holds(
    server: ServerHandle, work_dir: Path, checksum: str, held: int
) -> None:
    path = work_dir / "sparse-1GiB.bin"
    with open(path, "wb") as handle:
        handle.truncate(1024 * MiB)  # sparse: no disk used, reads return zeros
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            server.endpoint,
            server.region,
            server.access_key_id,
            server.access_key_secret,
            str(path),
            str(WORKERS),
            str(PART_SIZE),
            checksum,
        ],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verified"] and report["parts"] == 128 and report["size"] == 1024 * MiB
    grown = report["after"] - report["before"]
    budget = WORKERS * held + SLACK
    print(f"peak RSS grew by {grown / MiB:.1f} MiB (budget {budget / MiB:.0f} MiB)")
    assert grown <= budget, f"peak RSS grew by {grown / MiB:.1f} MiB, over {budget / MiB} MiB"
