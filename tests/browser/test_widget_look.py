"""The upload widget as people see it, measured in Chromium at 1280 x 800: in JupyterLab
(light, dark and high-contrast themes), Notebook 7 and Voilà, every visible text has WCAG
contrast of at least 4.5 (3 for disabled controls) in each state; status, upload ID,
overall bar, Pause and Abort are visible together without inner scrolling and nothing
overflows sideways (in Lab, beside the open file browser); the header, the status line and
the bytes, rate and time left are not cut off, nor a completed result; Pause and Abort move at most
2 px while an upload runs; paused, bytes and rate stand still. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import ServerHandle
from playwright.sync_api import expect

from .conftest import KERNEL_IDLE
from .look import (
    check_contrast,
    check_fits,
    check_result_shown_whole,
    check_steady,
    write_look_notebook,
    write_stripped_crc_notebook,
)
from .steering import run_all, state

pytestmark = pytest.mark.browser

MiB = 1024 * 1024
LAB_SCROLLER = ".jp-WindowedPanel-outer"


def _walk_through_states(page: Any, name: str, stop: str | None) -> None:
    """Planned, running (steady buttons), paused (frozen), aborted: contrast in each."""
    expect(state(page)).to_have_text("planned", timeout=60_000)
    check_fits(page, stop)
    check_contrast(page, f"{name}-planned")
    page.locator("button.ossnb-start").dblclick()  # the second click must do no harm
    expect(state(page)).to_have_text("running", timeout=10_000)
    sample = check_steady(page)
    check_fits(page, stop)
    check_contrast(page, f"{name}-running")
    page.locator(".ossnb-map-canvas").click(position={"x": 3, "y": 3})  # part 1
    expect(page.locator(".ossnb-map-info")).to_contain_text("part 1: bytes 0–102,399")
    expect(page.locator(".ossnb-map-info")).to_contain_text(re.compile(r'ETag "[0-9A-F]{32}"'))
    page.locator("button.ossnb-pause").dblclick()
    expect(state(page)).to_have_text("paused", timeout=10_000)
    page.wait_for_timeout(500)
    numbers = page.locator(".ossnb-numbers").inner_text()
    done = page.locator(".ossnb-parts-done").inner_text()
    assert "paused at " in numbers and "iB/s" in numbers, numbers
    page.wait_for_timeout(3000)
    assert page.locator(".ossnb-numbers").inner_text() == numbers, "paused: bytes and rate stand"
    assert page.locator(".ossnb-parts-done").inner_text() == done
    expect(page.locator(".ossnb-result")).to_contain_text("Paused.")
    check_contrast(page, f"{name}-paused")
    page.locator("button.ossnb-abort").click()
    expect(state(page)).to_have_text("aborted", timeout=15_000)
    check_contrast(page, f"{name}-aborted")
    for tab in ("Step by step", "HTTP transcript", "Plan"):  # string to sign, exchanges, plan
        page.locator(".ossnb-tabs .lm-TabBar-tab", has_text=tab).click()
        page.wait_for_timeout(300)
        check_contrast(page, f"{name}-aborted-{tab.split()[-1].lower()}")
    expect(page.locator(".ossnb-transcript")).to_contain_text("string to sign")
    page.locator(".ossnb-tabs .lm-TabBar-tab", has_text="Step by step").click()
    assert "Error" not in page.locator(".ossnb-step").inner_text(), "a double click did harm"
    assert "Error" not in page.locator(".ossnb-result").inner_text()
    print(name, sample)


def test_lab_themes(laptop: Any, themed_lab: dict[str, Any], emulator: ServerHandle) -> None:
    theme = themed_lab["theme"]
    name = "look-lab-" + "-".join(theme.split()[1:]).lower()
    write_look_notebook(themed_lab["root"] / "look.ipynb", f"{name}.bin", 8 * MiB)
    page = laptop
    page.goto(f"{themed_lab['url']}/lab/tree/look.ipynb?token={themed_lab['token']}&reset")
    page.wait_for_function(f"() => document.body.dataset.jpThemeName === {theme!r}")
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    expect(page.locator("#filebrowser")).to_be_visible()  # the widget shares the width with it
    run_all(page)
    _walk_through_states(page, name, LAB_SCROLLER)


def test_notebook7(laptop: Any, notebook7: dict[str, Any], emulator: ServerHandle) -> None:
    write_look_notebook(notebook7["root"] / "look.ipynb", "look-nb7.bin", 8 * MiB)
    page = laptop
    page.goto(f"{notebook7['url']}/notebooks/look.ipynb?token={notebook7['token']}")
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    run_all(page)
    expect(page.locator(".jp-OutputArea-output", has_text="the next cell ran")).to_be_visible(
        timeout=60_000
    )  # Notebook 7 squeezes tall outputs only once a later cell changes
    _walk_through_states(page, "look-notebook7", LAB_SCROLLER)


def test_voila(laptop: Any, voila: dict[str, Any], emulator: ServerHandle) -> None:
    write_look_notebook(voila["root"] / "look.ipynb", "look-voila.bin", 8 * MiB)
    laptop.goto(f"{voila['url']}/voila/render/look.ipynb", timeout=60_000)
    _walk_through_states(laptop, "look-voila", None)


def test_lab_completed_when_the_server_gave_no_object_crc64(
    laptop: Any, themed_lab: dict[str, Any], emulator: ServerHandle
) -> None:
    """The completed box's other wording, used when a proxy stripped the object's CRC-64:
    it says what was compared (size, ETag, each part) and reads in every theme."""
    theme = themed_lab["theme"]
    name = "look-lab-" + "-".join(theme.split()[1:]).lower() + "-no-object-crc"
    write_stripped_crc_notebook(themed_lab["root"] / "nocrc.ipynb", f"{name}.bin", 512 * 1024)
    page = laptop
    page.goto(f"{themed_lab['url']}/lab/tree/nocrc.ipynb?token={themed_lab['token']}&reset")
    page.wait_for_function(f"() => document.body.dataset.jpThemeName === {theme!r}")
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    run_all(page)
    expect(state(page)).to_have_text("planned", timeout=60_000)
    page.locator("button.ossnb-start").click()
    expect(state(page)).to_have_text("completed", timeout=60_000)
    box = page.locator(".ossnb-completed")
    expect(box).to_contain_text("the server gave none for the object")
    expect(box).to_contain_text("a HEAD confirmed size and ETag only")
    expect(box).not_to_contain_text("a HEAD confirmed size, ETag and CRC-64")
    assert re.fullmatch(r"\d+", page.locator(".ossnb-final-crc").inner_text())
    source = page.locator(".ossnb-header .ossnb-source")  # the file name; its path on hover
    expect(source).to_have_text(f"{name}.bin")
    expect(source).to_have_attribute(
        "title", re.compile(rf"(a-folder-deep-in-a-shared-project/){{4}}{name}\.bin$")
    )
    check_fits(page, LAB_SCROLLER)
    check_result_shown_whole(page)
    check_contrast(page, name)
