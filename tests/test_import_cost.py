"""What a process loads: ``import ossnb`` and ``ossnb upload --help`` stay light, and an
upload to a remote endpoint loads neither the emulator nor any notebook machinery.

Each case runs in a fresh interpreter (a subprocess) and reports its ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ServerHandle
from session_fixtures import (  # noqa: F401 - fixtures
    bucket_fixture,
    client_fixture,
    make_file,
    server_env,
    subprocess_env,
)

# heavy, and not needed before a widget is built / a client is made / an emulator started
NOTEBOOK = ("ipywidgets", "IPython", "ipykernel", "jupyter_client", "comm", "tqdm.notebook")
EMULATOR = ("ossnb.emulator.server", "ossnb.emulator.app", "ossnb.emulator.store", "sqlite3")
HTTP = ("httpx", "httpcore", "h11", "ssl")
HTTPX_CLI = ("rich", "click", "pygments")  # what httpx's own command line imports

_REPORT = "import json, sys; print('MODULES ' + json.dumps(sorted(sys.modules)))"


def _modules(code: str, env: dict[str, str] | None = None) -> set[str]:
    script = f"import atexit\natexit.register(lambda: exec({_REPORT!r}))\n{code}"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or subprocess_env(),
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("MODULES ")]
    assert lines, f"exit {done.returncode}: {done.stderr[-2000:]}"
    return set(json.loads(lines[-1][len("MODULES ") :]))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_import_ossnb_loads_nothing_heavy() -> None:
    modules = _modules("import ossnb")
    assert _loaded(modules, NOTEBOOK + EMULATOR + HTTP + HTTPX_CLI + ("tqdm",)) == []
    assert _loaded(modules, ("ossnb.upload.session", "ossnb.widgets", "ossnb.emulator")) == []


def test_the_public_names_still_load_on_first_use() -> None:
    modules = _modules(
        "import ossnb\n"
        "assert ossnb.UploadSession.__module__ == 'ossnb.upload.session'\n"
        "assert issubclass(ossnb.IntegrityError, ossnb.OssError)\n"
        "assert 'UploadSession' in dir(ossnb)\n"
        "import ossnb.connect\n"
        "from ossnb import connect, Client\n"
        "assert callable(connect) and connect.__module__ == 'ossnb.connect'\n"
    )
    assert "ossnb.upload.session" in modules and "ossnb.client.client" in modules
    assert _loaded(modules, NOTEBOOK + EMULATOR + HTTP) == [], "a client is not made yet"


def test_upload_help_loads_no_http_progress_bar_or_emulator() -> None:
    modules = _modules(
        "from ossnb.cli.main import main\n"
        "try:\n    main(['upload', '--help'])\nexcept SystemExit:\n    pass\n"
    )
    assert _loaded(modules, NOTEBOOK + EMULATOR + HTTP + HTTPX_CLI + ("tqdm",)) == []


def test_an_http_client_loads_httpcore_but_not_httpx() -> None:
    modules = _modules(
        "from ossnb.client.client import Client\n"
        "from ossnb.protocol.signing import Credentials\n"
        "Client('http://127.0.0.1:9', Credentials('id', 'secret'), region='cn-hangzhou')\n"
    )
    assert {"httpcore", "h11"} <= modules
    assert _loaded(modules, ("httpx", *HTTPX_CLI, *EMULATOR, *NOTEBOOK)) == []


def test_an_https_client_loads_httpx_without_its_command_line() -> None:
    modules = _modules(
        "from ossnb.client.client import Client\n"
        "from ossnb.protocol.signing import Credentials\n"
        "Client('https://oss-cn-hangzhou.aliyuncs.com', Credentials('id', 'secret'))\n"
        "import sys, httpx\n"
        "assert 'httpx._main' not in sys.modules\n"
    )
    assert {"httpx", "ssl"} <= modules, "httpx makes the TLS context (CA bundle, SSL_CERT_FILE)"
    assert _loaded(modules, HTTPX_CLI + EMULATOR + NOTEBOOK) == []


def test_an_upload_to_an_endpoint_loads_no_emulator_or_notebook(
    server: ServerHandle, bucket: str, tmp_path: Path
) -> None:
    path = tmp_path / "f.bin"
    make_file(path, 300 * 1024, seed=3)
    modules = _modules(
        "from ossnb.cli.main import main\n"
        f"code = main(['upload', {str(path)!r}, 'oss://{bucket}/f.bin', '--part-size', '100KiB',"
        " '--no-checkpoint'])\n"
        "assert code == 0, code\n",
        env=server_env(server),
    )
    assert {"httpcore", "tqdm", "ossnb.upload.session"} <= modules
    assert _loaded(modules, NOTEBOOK + EMULATOR + HTTPX_CLI + ("ossnb.widgets",)) == []
