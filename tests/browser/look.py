"""In-page measurements of the upload widget: WCAG contrast of every visible text,
button steadiness, what fits the viewport, and frame gaps (all computed in the page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .conftest import ARTIFACTS, BUCKET, save_notebook

# For each visible text node under the widget: its colour (with the opacity of it and its
# ancestors) over its effective background (every non-transparent ancestor background,
# blended from the top down), as a WCAG 2 ratio of relative luminances. Disabled controls
# need 3, other text 4.5.
CONTRAST_JS = """(root) => {
  const parse = (c) => {
    const m = c && c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i -= 1) bg = over(layers[i], bg);
    return bg;
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity);
    return o;
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || !el || el.closest('option, style, script')) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || el.getClientRects().length === 0) continue;
    const bg = background(el);
    const fg = parse(cs.color);
    const fgo = over([fg[0], fg[1], fg[2], fg[3] * opacity(el)], bg);
    const l1 = lum(fgo), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const disabled = !!el.closest('button:disabled, :disabled, .mod-disabled, label:has(input:disabled), .widget-checkbox:has(input:disabled)');
    out.push({text: text.slice(0, 60), ratio: Math.round(ratio * 100) / 100, need: disabled ? 3 : 4.5,
              fg: cs.color, bg: 'rgb(' + bg.slice(0, 3).map(Math.round).join(',') + ')'});
  }
  return out;
}"""

# Bounding boxes of the Pause and Abort buttons every 50 ms for ``ms``, and the gaps
# between animation frames over the same time.
SAMPLE_JS = """(ms) => new Promise((resolve) => {
  const boxes = {pause: [], abort: []};
  const gaps = [];
  let last = performance.now();
  const t0 = last;
  const frame = (t) => { gaps.push(t - last); last = t; if (t - t0 < ms) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  const timer = setInterval(() => {
    for (const name of ['pause', 'abort']) {
      const r = document.querySelector('.ossnb-upload button.ossnb-' + name).getBoundingClientRect();
      boxes[name].push([r.x, r.y]);
    }
  }, 50);
  setTimeout(() => {
    clearInterval(timer);
    const moved = {};
    for (const [name, list] of Object.entries(boxes)) {
      const xs = list.map((p) => p[0]), ys = list.map((p) => p[1]);
      moved[name] = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
    }
    gaps.sort((a, b) => a - b);
    resolve({moved, samples: boxes.pause.length, frames: gaps.length,
             maxGap: gaps[gaps.length - 1], p95Gap: gaps[Math.floor(gaps.length * 0.95)]});
  }, ms);
})"""

# The toolbar's parts must be inside the viewport together, and no box between the widget
# and the notebook's own scroller may scroll (Notebook 7 squeezes tall outputs).
VISIBLE_JS = """(stop) => {
  const root = document.querySelector('.ossnb-upload');
  const parts = {status: '.ossnb-state', uploadId: '.ossnb-upload-id', bar: '.ossnb-overall .progress',
                 pause: 'button.ossnb-pause', abort: 'button.ossnb-abort'};
  const out = {};
  for (const [name, css] of Object.entries(parts)) {
    const r = root.querySelector(css).getBoundingClientRect();
    out[name] = r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth && r.height > 0;
  }
  const scrolled = [];
  for (let e = root.parentElement; e && !(stop && e.matches(stop)); e = e.parentElement) {
    const cs = getComputedStyle(e);
    if (/(auto|scroll)/.test(cs.overflowY) && e.scrollHeight > e.clientHeight + 1) scrolled.push(e.className);
  }
  out.innerScroll = scrolled;
  out.overflowX = root.scrollWidth - root.clientWidth;
  const header = root.querySelector('.ossnb-header .widget-html-content');
  out.headerCut = header.scrollHeight - header.clientHeight;
  const numbers = root.querySelector('.ossnb-numbers .widget-html-content');
  out.numbersCut = numbers.scrollWidth - numbers.clientWidth;
  const status = root.querySelector('.ossnb-status-line');
  out.statusCut = status.scrollWidth - status.clientWidth;
  out.height = root.getBoundingClientRect().height;
  return out;
}"""


def write_look_notebook(
    path: Path, key: str, size: int, *, sparse: bool = False, checkpoint: bool = False
) -> Path:
    """The README's one cell, on a file of ``size`` bytes in 100 KiB parts, then one more cell."""
    fill = f"f.truncate({size})" if sparse else f"f.write(os.urandom({size}))"
    resumable = "" if checkpoint else ", checkpoint=None"
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("The upload widget, as a newcomer sees it."),
        new_code_cell(
            f"""import os
import ossnb

if not os.path.exists("{key}"):
    with open("{key}", "wb") as f:
        {fill}
ossnb.upload_widget("{key}", "oss://{BUCKET}/{key}", part_size="100KiB", workers=2{resumable})"""
        ),
        new_code_cell('print("the next cell ran")'),
    ]
    save_notebook(nb, path)
    return path


def contrast_failures(page: Any, root: str = ".ossnb-upload") -> list[dict[str, Any]]:
    found = page.locator(root).evaluate(CONTRAST_JS)
    assert len(found) > 5, f"too few texts measured: {found}"
    return [f for f in found if f["ratio"] < f["need"]]


def check_contrast(page: Any, name: str) -> None:
    """Every visible text passes; a screenshot of the widget is kept either way."""
    page.locator(".ossnb-upload").screenshot(path=str(ARTIFACTS / f"{name}.png"))
    failures = contrast_failures(page)
    assert failures == [], f"{name}: low contrast: {failures}"


def check_fits(page: Any, stop: str | None) -> dict[str, Any]:
    """Status, upload ID, bar, Pause and Abort visible together, no inner scrolling, no
    horizontal overflow; ``stop`` is the notebook's own scroller."""
    page.locator(".ossnb-upload").evaluate("(e) => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    seen: dict[str, Any] = page.evaluate(VISIBLE_JS, stop)
    assert all(seen[k] for k in ("status", "uploadId", "bar", "pause", "abort")), seen
    assert seen["innerScroll"] == [], seen
    assert seen["overflowX"] <= 1, seen
    assert seen["headerCut"] <= 1, f"the header line is cut off: {seen}"
    assert seen["numbersCut"] <= 1, f"the bytes, rate and time left are cut off: {seen}"
    assert seen["statusCut"] <= 1, f"the status line is cut off: {seen}"
    return seen


def check_result_shown_whole(page: Any) -> None:
    """The result line (a fixed-height box that scrolls rather than move the buttons)
    shows its whole message without scrolling."""
    box = page.locator(".ossnb-upload .ossnb-result")
    sizes = box.evaluate("(e) => [e.scrollHeight, e.clientHeight, e.innerText]")
    assert sizes[0] <= sizes[1] + 1, f"the result needs scrolling to be read: {sizes}"


def check_legend_whole(page: Any) -> None:
    """The parts map's legend (one line that hides what overflows) shows every state."""
    cut = page.locator(".ossnb-map-legend").evaluate("(e) => e.scrollWidth - e.clientWidth")
    assert cut <= 1, f"the parts map's legend is cut off by {cut} px"


def count(page: Any, state: str) -> int:
    """How many cells of the parts map are in ``state`` (its legend says)."""
    return int(page.locator(f".ossnb-map-key-{state}").get_attribute("data-count") or -1)


def check_steady(page: Any, ms: int = 4000) -> dict[str, Any]:
    """Pause and Abort move at most 2 px while the upload runs."""
    sample: dict[str, Any] = page.evaluate(SAMPLE_JS, ms)
    assert sample["samples"] >= ms // 100, sample
    assert max(sample["moved"].values()) <= 2, sample
    return sample


# A proxy that drops x-oss-hash-crc64ecma from the answers to Complete and HEAD, as a
# kernel-side wrapper: the emulator always sends the header, so the parsed answers lose it.
STRIPPED_CRC_CELL = """import msgspec, os
import ossnb
from ossnb.protocol.models import CompleteResult, ObjectInfo
from ossnb.upload.session import UploadSession
from ossnb.widgets import widget_for


class NoObjectCrc:
    def __init__(self, client):
        self.client, self.endpoint = client, client.endpoint

    def add_listener(self, listener):
        self.client.add_listener(listener)

    def execute(self, operation, **options):
        result = self.client.execute(operation, **options)
        if isinstance(result, (CompleteResult, ObjectInfo)):
            return msgspec.structs.replace(result, crc64=None)
        return result


folder = os.path.join(*["a-folder-deep-in-a-shared-project"] * 4)  # a long path
os.makedirs(folder, exist_ok=True)
path = os.path.join(folder, "{key}")
with open(path, "wb") as f:
    f.write(os.urandom({size}))
session = UploadSession(NoObjectCrc(ossnb.connect()), path, "{bucket}", "{key}",
                        part_size=100 * 1024, workers=2, checkpoint=None)
widget_for(session)"""


def write_stripped_crc_notebook(path: Path, key: str, size: int) -> Path:
    """An upload whose server (through a proxy) gives no CRC-64 for the whole object."""
    nb = new_notebook()
    nb.cells = [new_code_cell(STRIPPED_CRC_CELL.format(key=key, size=size, bucket=BUCKET))]
    save_notebook(nb, path)
    return path
