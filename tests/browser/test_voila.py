"""Voilà in Chromium: the same notebook as a dashboard. Abort mid-upload, then reload the
page (a new kernel runs the notebook again) and let the upload complete."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ServerHandle

from .steering import start_and_complete, start_then_abort

pytestmark = pytest.mark.browser


def test_voila_abort_mid_upload_then_complete(
    page: Any, voila: dict[str, Any], emulator: ServerHandle
) -> None:
    page.goto(f"{voila['url']}/voila/render/upload.ipynb", timeout=60_000)
    start_then_abort(page, emulator, "voila.bin", "voila")
    page.reload(timeout=60_000)
    start_and_complete(page, emulator, "voila.bin", "voila")
