"""The package's public face: a flat, sorted, importable ``__all__``."""

from __future__ import annotations

import subprocess
import sys

import ossnb


def test_all_is_sorted_unique_and_importable() -> None:
    names = list(ossnb.__all__)
    assert names == sorted(names, key=lambda n: (n[0].islower(), n))
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(ossnb, name) is not None, name


def test_importing_ossnb_does_not_load_widgets() -> None:
    code = "import sys, ossnb, ossnb.cli.main; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_upload_widget_is_the_widget_of_a_session(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ossnb.connect import stop_embedded
    from ossnb.widgets import UploadWidget

    source = tmp_path / "small.bin"
    source.write_bytes(b"x" * 1000)
    data_dir = tmp_path / "emulator"
    try:
        ui = ossnb.upload_widget(source, "oss://pkg-test/small.bin", data_dir=data_dir)
        assert isinstance(ui, UploadWidget)
        ui.session.start()
        receipt = ui.session.wait(timeout=30)
        assert receipt.etag
        ui.close()
    finally:
        stop_embedded(data_dir)


def test_session_widget_is_the_one_live_widget_of_that_session(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ossnb.connect import stop_embedded
    from ossnb.widgets import widget_for

    source = tmp_path / "w.bin"
    source.write_bytes(b"y" * 5000)
    data_dir = tmp_path / "emulator"
    try:
        session = ossnb.upload_session(source, "oss://pkg-test/w.bin", data_dir=data_dir)
        ui = session.widget()
        assert ui is widget_for(session) and ui.session is session
        assert not ui.auto_complete.disabled  # the session can leave Complete to a click
        ui.close()
    finally:
        stop_embedded(data_dir)


def test_readme_python_example_runs_as_written(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The README's "In Python" block, on the embedded emulator, in a fresh folder."""
    import re
    from pathlib import Path

    from ossnb.connect import stop_embedded

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## In Python\n\n```python\n(.*?)```", readme, re.S)
    assert block, "README has no 'In Python' example"
    monkeypatch.chdir(tmp_path)
    for name in ("OSS_ENDPOINT", "OSS_REGION", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "big.bin").write_bytes(bytes(range(256)) * 200_000)  # ~49 MiB: 4 parts
    namespace: dict[str, object] = {}
    try:
        exec(compile(block.group(1), "README.md", "exec"), namespace)
    finally:
        stop_embedded()
    receipt = namespace["receipt"]
    assert receipt.verified  # type: ignore[attr-defined]
