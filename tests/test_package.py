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
    code = "import sys, ossnb, ossnb.cli; print('ipywidgets' in sys.modules)"
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
