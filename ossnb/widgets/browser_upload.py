"""The browser upload widget: pick or drop files in the page; the page sends the parts.

:class:`FilePicker` is a drawn front end (anywidget: an ES module and CSS shipped in the
package, no build step). It sends the kernel only what it knows of a chosen file (name,
size, ``lastModified``) and the page's origin; the kernel answers with a session whose
parts the page hashes and PUTs to presigned URLs (:mod:`ossnb.upload.browser_carrier`).
:class:`BrowserUploadView` stacks the picker over one ordinary upload widget per file,
so the ledger, parts and buttons are those of any upload.

This module knows nothing of the client: ``open_upload`` (given by
:func:`ossnb.notebook.browser_upload_widget`) checks the bucket's CORS and builds the
session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w
import traitlets

from ..protocol.errors import OssError
from ..upload.browser_carrier import DEFAULT_LIFETIME, BrowserCarrier, BrowserFile
from ..upload.ledger import SessionState
from ..upload.session import UploadSession
from .view import widget_for

__all__ = ["BrowserUploadView", "CorsProblem", "FilePicker"]

STATIC = Path(__file__).with_name("static")


class CorsProblem(Exception):
    """The bucket's CORS rules would stop the browser: one line, and the rule to add."""

    def __init__(self, message: str, rule: str, can_add: bool) -> None:
        super().__init__(message)
        self.rule = rule
        self.can_add = can_add


OpenUpload = Callable[[BrowserFile, str], UploadSession]
AddRule = Callable[[str], str]  # the page's origin -> what was done, in words


class FilePicker(anywidget.AnyWidget):
    """The page's half: a file input and a drop zone; hashes and PUTs parts on request."""

    _esm = (STATIC / "hashes.js").read_text() + (STATIC / "browser_upload.js").read_text()
    _css = STATIC / "browser_upload.css"
    target = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("Choose or drop files to upload from this computer.").tag(sync=True)
    problem = traitlets.Unicode("").tag(sync=True)
    cors_rule = traitlets.Unicode("").tag(sync=True)
    can_add_rule = traitlets.Bool(False).tag(sync=True)


class _FileChannel:
    """Stamps a file's id on the carrier's messages to the page."""

    def __init__(self, picker: FilePicker, file_id: str) -> None:
        self.picker, self.file_id = picker, file_id

    def send(self, message: Mapping[str, Any]) -> None:
        self.picker.send({**message, "file": self.file_id})


class BrowserUploadView(w.VBox):  # type: ignore[misc]
    """The picker over one upload widget per chosen file."""

    def __init__(
        self,
        target: str,
        open_upload: OpenUpload,
        add_rule: AddRule | None,
        *,
        url_lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> None:
        self.picker = FilePicker(target=target)
        self.uploads = w.VBox()
        super().__init__([self.picker, self.uploads])
        self.add_class("ossnb-browser-upload")
        self._open_upload = open_upload
        self._add_rule = add_rule
        self._lifetime = url_lifetime
        self._lock = threading.Lock()
        self._origin = ""
        self.sessions: dict[str, UploadSession] = {}
        self._carriers: dict[str, BrowserCarrier] = {}
        self.picker.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: Mapping[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        if kind == "chosen":
            self._chosen(content)
        elif kind == "add_cors":
            self._add_cors()
        else:
            carrier = self._carriers.get(str(content.get("file", "")))
            if carrier is not None:
                carrier.receive(content)

    def _chosen(self, content: Mapping[str, Any]) -> None:
        try:
            file_id = str(content["file"])
            name, size = str(content["name"]), int(content["size"])
            modified, origin = int(content["lastModified"]), str(content.get("origin", ""))
        except (KeyError, TypeError, ValueError):
            self.picker.problem = "The page sent an incomplete file description."
            return
        self._origin = origin
        with self._lock:
            session = self.sessions.get(file_id)
        if session is not None and session.state in (SessionState.RUNNING, SessionState.PAUSED):
            self._rebind(session)  # the page was reloaded: its parts in flight were lost
            return
        try:
            session = self._open_upload(BrowserFile(name, size, modified), origin)
        except CorsProblem as problem:
            self.picker.problem = str(problem)
            self.picker.cors_rule = problem.rule
            self.picker.can_add_rule = problem.can_add and self._add_rule is not None
            return
        except OssError as exc:
            self.picker.problem = f"{name}: {exc}"
            return
        self.picker.problem, self.picker.cors_rule = "", ""
        carrier = BrowserCarrier(_FileChannel(self.picker, file_id), lifetime=self._lifetime)
        with self._lock:
            self.sessions[file_id], self._carriers[file_id] = session, carrier
        self.uploads.children = (*self.uploads.children, widget_for(session))
        self.picker.status = f"{name}: {session.url}"
        session.start(carrier=carrier)

    def _rebind(self, session: UploadSession) -> None:
        if session.state is SessionState.RUNNING:
            session.pause()
        session.resume()  # parts in flight go out again, to the page that holds the file now

    def _add_cors(self) -> None:
        if self._add_rule is None:
            return
        try:
            self.picker.status = self._add_rule(self._origin)
            self.picker.problem, self.picker.cors_rule, self.picker.can_add_rule = "", "", False
        except OssError as exc:
            self.picker.problem = f"Could not add the CORS rule: {exc}"
