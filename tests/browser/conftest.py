"""JupyterLab and Voilà on loopback, Debian's Chromium driven by Playwright (docs/TESTING.md §4).

* ``emulator``: an ``ossnb serve`` whose UploadParts each wait 0.2 s, so an upload of
  a few MiB takes seconds and can be aborted mid-flight; kernels reach it through
  ``OSS_*`` variables in the servers' environment.
* ``lab``: JupyterLab, once with comms over subshells (``perCommTarget``, Lab 4.6's
  default) and once with them ``disabled`` (as in classic front ends).
* ``voila``: Voilà serving a notebook directory.
* ``notebook7``: Jupyter Notebook 7 on an empty root the test writes its notebook into.
* ``page``: a fresh Chromium context; screenshots go to ``test-artifacts/``.

Without ``/usr/bin/chromium`` the tests are skipped, except under CI (``CI`` set), where
that is a failure: ``./dev.sh test`` installs it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import ServerHandle
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from session_fixtures import server_env, subprocess_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BUCKET = "browser"
SIZE = 4 * 1024 * 1024  # 41 parts of 100 KiB; 0.2 s each on 2 workers: about 4 s
PARTS = 41
KERNEL_IDLE = """() => {
  const k = document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelName jp-button');
  const i = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
  return !!(k && i && k.getAttribute('aria-label') !== 'No Kernel' && i.dataset.status === 'idle');
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                text = log.read_text(errors="replace")
                raise TimeoutError(f"{url} did not answer: {text}") from exc
            time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def write_notebook(path: Path, key: str) -> Path:
    """One cell a newcomer would run, plus a probe that shows which thread ran the click."""
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("Upload a 4 MiB file in 100 KiB parts; steer it with the buttons."),
        new_code_cell(
            f"""import os, threading
import ipywidgets
from ossnb.connect import upload_session
from ossnb.widgets import widget_for

if not os.path.exists("big.bin"):
    with open("big.bin", "wb") as f:
        f.write(os.urandom({SIZE}))
ui = widget_for(upload_session("big.bin", "oss://{BUCKET}/{key}", part_size="100KiB", workers=2))
probe = ipywidgets.HTML("")  # test only: how the Start click reached the kernel
probe.add_class("probe")

def _probe(_b):
    kernel = get_ipython().kernel
    sent_to = kernel.get_parent().get("header", {{}}).get("subshell_id")
    subshells = kernel.shell_channel_thread.manager.list_subshell()
    probe.value = f"{{threading.current_thread().name}}|{{sent_to}}|{{','.join(subshells)}}"

ui.buttons["start"].on_click(_probe)
display(ui, probe)"""
        ),
    ]
    return save_notebook(nb, path)


def save_notebook(nb: nbformat.NotebookNode, path: Path) -> Path:
    """Write ``nb`` to ``path`` with the ``python3`` kernel named, as Lab's new notebooks are."""
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI: ./dev.sh test installs it (apt chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); CI never skips this")
    return CHROMIUM


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    base = tmp_path_factory.mktemp("browser-emulator")
    args = ["--bucket", BUCKET, "--fault", "UploadPart@1x1000000=delay:0.2"]
    handle = ServerHandle(data_dir=base / "data", args=args).start()
    yield handle
    handle.stop()


def _server_env(base: Path, emulator: ServerHandle | None = None) -> dict[str, str]:
    """The servers' environment: no ``OSS_*`` but the emulator's (none without one: kernels
    then use the embedded emulator), Jupyter's folders under ``base``."""
    env = subprocess_env() if emulator is None else server_env(emulator)
    env.update(
        NO_PROXY="127.0.0.1,localhost",
        JUPYTER_CONFIG_DIR=str(base / "cfg"),
        JUPYTER_RUNTIME_DIR=str(base / "rt"),
        JUPYTER_DATA_DIR=str(base / "data"),
    )
    return env


@contextmanager
def _serve(args: list[str], port: int, env: dict[str, str], log: Path, ready: str) -> Iterator[str]:
    """``python -m *args`` in a session of its own, logging to ``log``; yields its URL once
    ``ready`` (a path) answers, and stops it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        env=env,
        stdout=open(log, "wb"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}{ready}", proc, log)
        yield url
    finally:
        _stop(proc)


@contextmanager
def jupyter_server(
    base: Path,
    env: dict[str, str],
    settings: dict[str, dict[str, Any]] | None = None,
    *,
    app: str = "jupyterlab",
    app_class: str = "LabApp",
    log_name: str = "lab.log",
) -> Iterator[dict[str, Any]]:
    """JupyterLab (or Notebook 7: ``app="notebook"``) serving ``base/root`` with a token.

    ``settings`` are user settings of ``@jupyterlab/apputils-extension`` written before the
    start, by file stem, over ``notification`` = ``{"fetchNews": "false"}`` (else a news
    toast covers the page). Yields ``url``, ``token``, ``root`` and ``log``."""
    root = base / "root"
    root.mkdir(exist_ok=True)
    folder = base / "settings" / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True)
    for stem, value in {"notification": {"fetchNews": "false"}, **(settings or {})}.items():
        (folder / f"{stem}.jupyterlab-settings").write_text(json.dumps(value))
    port, token = _free_port(), os.urandom(8).hex()
    log = base / log_name
    args = [
        app,
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--{app_class}.user_settings_dir={base / 'settings'}",
        f"--{app_class}.workspaces_dir={base / 'ws'}",
    ]
    with _serve(args, port, env, log, f"/api/status?token={token}") as url:
        yield {"url": url, "token": token, "root": root, "log": log}


@pytest.fixture(scope="session", params=["perCommTarget", "disabled"])
def lab(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    emulator: ServerHandle,
    chromium: Path,
) -> Iterator[dict[str, Any]]:
    mode: str = request.param
    base = tmp_path_factory.mktemp(f"lab-{mode}")
    (base / "root").mkdir()
    write_notebook(base / "root" / "upload.ipynb", f"lab-{mode}.bin")
    settings = {"kernels-settings": {"commsOverSubshells": mode}}
    with jupyter_server(base, _server_env(base, emulator), settings) as server:
        yield {**server, "mode": mode}


THEMES = ("JupyterLab Light", "JupyterLab Dark", "JupyterLab Dark High Contrast")


@pytest.fixture(scope="session", params=THEMES)
def themed_lab(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    emulator: ServerHandle,
    chromium: Path,
) -> Iterator[dict[str, Any]]:
    """JupyterLab in a theme set before the page loads; tests write notebooks into ``root``."""
    theme: str = request.param
    base = tmp_path_factory.mktemp("lab-theme")
    (base / "cfg").mkdir()  # jupyter-lsp would run npm: off, to spare CPU and the home folder
    (base / "cfg" / "jupyter_server_config.json").write_text(
        '{"ServerApp": {"jpserver_extensions": {"jupyter_lsp": false}}}'
    )
    settings = {
        "notification": {"fetchNews": "false", "checkForUpdates": False},
        "themes": {"theme": theme},
    }
    with jupyter_server(base, _server_env(base, emulator), settings) as server:
        yield {**server, "theme": theme}


@pytest.fixture(scope="session")
def voila(
    tmp_path_factory: pytest.TempPathFactory, emulator: ServerHandle, chromium: Path
) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("voila")
    root = base / "root"
    root.mkdir()
    write_notebook(root / "upload.ipynb", "voila.bin")
    port = _free_port()
    log = base / "voila.log"
    args = [
        "voila",
        str(root),
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--port={port}",
        "--Voila.port_retries=0",
        "--show_tracebacks=True",
    ]
    with _serve(args, port, _server_env(base, emulator), log, "/") as url:
        yield {"url": url, "root": root, "log": log}


@pytest.fixture(scope="session")
def notebook7(
    tmp_path_factory: pytest.TempPathFactory, emulator: ServerHandle, chromium: Path
) -> Iterator[dict[str, Any]]:
    """Jupyter Notebook 7 (its own front end, Lab's components); tests write into ``root``."""
    base = tmp_path_factory.mktemp("notebook7")
    env = _server_env(base, emulator)
    with jupyter_server(
        base, env, app="notebook", app_class="JupyterNotebookApp", log_name="notebook.log"
    ) as server:
        yield server


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _fresh_page(browser: Any, height: int) -> Iterator[Any]:
    """A page in a context of its own, 1280 pixels wide; screenshots go to ``ARTIFACTS``."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": height})
    yield context.new_page()
    context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from _fresh_page(browser, 1000)


@pytest.fixture
def laptop(browser: Any) -> Iterator[Any]:
    """A page the size of a small laptop screen: 1280 x 800."""
    yield from _fresh_page(browser, 800)
