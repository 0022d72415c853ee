"""The upload widget in a real kernel: nbclient runs tests/notebooks/upload_widget.ipynb
against an ``ossnb serve`` emulator; the assertions read the widget state nbclient saves
(``nb.metadata.widgets``), as a front end would restore it, and the emulator itself."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import ServerHandle
from nbclient import NotebookClient
from session_fixtures import make_client

from ossnb.protocol.operations import HeadObject
from ossnb.upload.listing import list_all_uploads

NOTEBOOK = Path(__file__).parent / "notebooks" / "upload_widget.ipynb"
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
SIZE = 2 * 1024 * 1024 + 11


def _by_class(models: dict[str, Any], css: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (model_id, m["state"])
        for model_id, m in models.items()
        if css in m["state"].get("_dom_classes", ())
    ]


def test_notebook_upload_saves_the_final_widget_state(
    server_factory: Callable[..., ServerHandle], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = server_factory("--bucket", "nbclient")
    for name, value in {
        "OSS_ENDPOINT": server.endpoint,
        "OSS_REGION": server.region,
        "OSS_ACCESS_KEY_ID": server.access_key_id,
        "OSS_ACCESS_KEY_SECRET": server.access_key_secret,
    }.items():
        monkeypatch.setenv(name, value)
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    nb = nbformat.read(tmp_path / NOTEBOOK.name, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    shown = [o["data"][VIEW]["model_id"] for o in nb.cells[1].outputs + nb.cells[3].outputs]
    assert len(shown) == 2 and shown[0] == shown[1], "re-displayed: the same widget model"
    assert "completed" in nb.cells[4].outputs[0]["text"]

    models = nb.metadata["widgets"][STATE]["state"]
    ((root_id, root),) = _by_class(models, "ossnb-upload")
    assert root_id == shown[0] and root["children"]
    ((_, status),) = _by_class(models, "ossnb-status-line")
    assert 'ossnb-state">completed' in status["value"]
    ((_, result),) = _by_class(models, "ossnb-result")
    head = make_client(server).execute(HeadObject("nbclient", "data.bin"))
    assert head.size == SIZE
    assert head.etag.replace('"', "&quot;") in result["value"]
    assert f'class="ossnb-final-crc">{head.crc64}<' in result["value"]
    ((_, ledger),) = _by_class(models, "ossnb-ledger")
    assert len(re.findall(r'class="ossnb-etag">&quot;[0-9A-F]{32}', ledger["value"])) == 21
    ((_, overall),) = _by_class(models, "ossnb-overall")
    bar = models[overall["children"][1].removeprefix("IPY_MODEL_")]["state"]
    assert (bar["value"], bar["max"], bar["bar_style"]) == (SIZE, SIZE, "success")
    buttons = {
        css: state["disabled"]
        for _, state in _by_class(models, "ossnb-start") + _by_class(models, "ossnb-abort")
        for css in state["_dom_classes"]
        if css in ("ossnb-start", "ossnb-abort")
    }
    assert buttons == {"ossnb-start": True, "ossnb-abort": True}, "nothing to start or abort"
    assert server.access_key_secret not in str(nb.metadata["widgets"])
    assert list_all_uploads(make_client(server), "nbclient") == []
