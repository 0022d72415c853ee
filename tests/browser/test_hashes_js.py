"""The page's own MD5 and CRC-64 (ossnb/widgets/static/hashes.js) in Chromium, checked
against Python's hashlib and ossnb's CRC-64 on the same bytes: every padding boundary,
split updates, unaligned views and a Blob read in slices."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path
from typing import Any

import pytest

from ossnb.protocol.checksums import crc64

pytestmark = pytest.mark.browser

MODULE = Path(__file__).resolve().parents[2] / "ossnb" / "widgets" / "static" / "hashes.js"
SIZES = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, (1 << 20) + 3]

RUN = """async ([module, cases]) => {
  const h = await import(module);
  const out = [];
  for (const [b64, cuts] of cases) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const md5 = new h.MD5(), crc = new h.CRC64();
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      // an unaligned view of a copy: the word path and the byte path both get exercised
      const copy = new Uint8Array(cut - at + 1);
      copy.set(bytes.subarray(at, cut), 1);
      md5.update(copy.subarray(1));
      crc.update(bytes.subarray(at, cut));
      at = cut;
    }
    out.push([h.hex(md5.digest()), crc.decimal()]);
  }
  return out;
}"""


@pytest.fixture
def blank(browser: Any) -> Any:
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def _module_url() -> str:
    return "data:text/javascript;base64," + base64.b64encode(MODULE.read_bytes()).decode()


def test_md5_and_crc64_match_python_on_every_boundary(blank: Any) -> None:
    rng = random.Random(7)
    cases, expected = [], []
    for size in SIZES:
        data = rng.randbytes(size)
        cuts = sorted(rng.sample(range(size), min(3, size))) if size else []
        cases.append([base64.b64encode(data).decode(), cuts])
        expected.append([hashlib.md5(data).hexdigest(), str(crc64(data))])
    assert blank.evaluate(RUN, [_module_url(), cases]) == expected


def test_crc64_check_value_and_a_blob_hashed_in_slices(blank: Any) -> None:
    data = random.Random(3).randbytes(3 * (1 << 20) + 5)
    result = blank.evaluate(
        """async ([module, b64]) => {
          const h = await import(module);
          const check = new h.CRC64().update(new TextEncoder().encode("123456789")).decimal();
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const blob = new Blob([bytes]);
          const t0 = performance.now();
          const got = await h.hashBlob(blob);
          got.mib_per_s = bytes.length / 1048576 / ((performance.now() - t0) / 1000);
          return [check, got];
        }""",
        [_module_url(), base64.b64encode(data).decode()],
    )
    check, got = result
    assert check == str(0x995DC9BBDF1939FA)
    assert got["md5"] == hashlib.md5(data).hexdigest()
    assert got["md5_b64"] == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert got["crc64"] == str(crc64(data))
    assert got["size"] == len(data)
    print(f"hashBlob: {got['mib_per_s']:.0f} MiB/s (MD5 + CRC-64, one thread)")
