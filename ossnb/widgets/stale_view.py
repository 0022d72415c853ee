"""Unfinished uploads of a bucket: age, parts and bytes; abort one, a selection, or all
older than N days. Their parts are stored, and billed, until someone aborts them.

::

    StaleUploadsWidget(client, "bucket", prefix="data/")

``executor`` is anything :mod:`ossnb.upload.stale` takes (an :class:`ossnb.client.client.Client`).
Listing and aborting run on background threads; one updater writes the widgets.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import ipywidgets as w

from ..upload.listing import Executor
from ..upload.stale import (
    AbortOutcome,
    UnfinishedUpload,
    abort_older_than,
    abort_uploads,
    format_age,
    list_unfinished,
)
from .actions import Actions
from .journal import Journal
from .markup import STYLE, error_html, esc, size, table
from .updater import Updater, resend_state

__all__ = ["StaleUploadsWidget"]


class StaleUploadsWidget(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """A table of unfinished uploads with Refresh and Abort buttons."""

    def __init__(
        self,
        executor: Executor,
        bucket: str,
        prefix: str = "",
        *,
        interval: float = 0.1,
        **kwargs: Any,
    ) -> None:
        self.executor, self.bucket, self.prefix = executor, bucket, prefix
        self._lock = threading.Lock()
        self._uploads: list[UnfinishedUpload] | None = None
        self._outcomes: list[AbortOutcome] = []
        self._shown: tuple[tuple[str, str], ...] = ()
        self._updater: Updater | None = None
        self._actions = Actions(Journal(self._poke), self._poke)
        self._table = w.HTML()
        self._table.add_class("ossnb-stale-table")
        self._status = w.HTML()
        self._status.add_class("ossnb-stale-status")
        self.selection = w.SelectMultiple(options=[], rows=6, layout=w.Layout(width="95%"))
        self.selection.add_class("ossnb-stale-select")
        self.days = w.BoundedFloatText(
            value=7, min=0, max=36500, step=1, description="days:", layout=w.Layout(width="160px")
        )
        self.days.add_class("ossnb-stale-days")
        self.buttons = {
            "refresh": _button("Refresh", "ossnb-stale-refresh"),
            "abort_selected": _button("Abort selected", "ossnb-stale-abort-selected"),
            "abort_older": _button("Abort all older than", "ossnb-stale-abort-older"),
        }
        self.buttons["refresh"].on_click(lambda _b: self.refresh())
        self.buttons["abort_selected"].on_click(lambda _b: self._abort_selected())
        self.buttons["abort_older"].on_click(lambda _b: self._abort_older())
        title = w.HTML(
            f"{STYLE}<b>Unfinished uploads in</b> <code>oss://{esc(bucket)}/{esc(prefix)}</code>"
        )
        row = w.HBox(
            [
                self.buttons["refresh"],
                self.buttons["abort_selected"],
                self.buttons["abort_older"],
                self.days,
            ]
        )
        super().__init__([title, self._table, self.selection, row, self._status], **kwargs)
        self.add_class("ossnb-stale")
        self.add_class("ossnb-box")
        self._render()
        self._updater = Updater(
            self._render, live=lambda: self._actions.busy is not None, interval=interval
        )
        self.refresh()

    # -- public ---------------------------------------------------------------------------

    @property
    def uploads(self) -> list[UnfinishedUpload]:
        """The uploads found by the last listing."""
        with self._lock:
            return list(self._uploads or [])

    def refresh(self) -> None:
        """List again (in the background)."""
        self._actions.run("refresh", "List unfinished uploads", self._refresh)

    def join(self, timeout: float | None = 60.0) -> None:
        """Wait for listing and aborts, then until the widgets show their outcome."""
        if not self._actions.join(timeout):
            raise TimeoutError("listing or aborting unfinished uploads did not finish in time")
        if self._updater is not None:
            self._updater.flush()
        resend_state(self)

    def close(self) -> None:
        if self.__dict__.get("_closed", False):  # also called by ipywidgets' __del__
            return
        self._closed = True
        updater: Updater | None = getattr(self, "_updater", None)
        if updater is not None:
            updater.stop()
        for child in (*self.children, *self.children[3].children):
            child.close()
        super().close()

    # -- work (action threads) ------------------------------------------------------------

    def _refresh(self) -> str:
        found = list_unfinished(self.executor, self.bucket, self.prefix)
        with self._lock:
            self._uploads = found
        return f"{len(found)} unfinished upload(s)"

    def _abort_selected(self) -> None:
        chosen: list[tuple[str, str]] = list(self.selection.value)
        if chosen:
            self._actions.run(
                "abort_selected",
                f"Abort {len(chosen)} upload(s)",
                lambda: self._after(abort_uploads(self.executor, self.bucket, chosen)),
            )

    def _abort_older(self) -> None:
        age = timedelta(days=float(self.days.value))
        self._actions.run(
            "abort_older",
            f"Abort uploads older than {self.days.value:g} day(s)",
            lambda: self._after(abort_older_than(self.executor, self.bucket, age, self.prefix)),
        )

    def _after(self, outcomes: list[AbortOutcome]) -> str:
        with self._lock:
            self._outcomes = outcomes
        self._refresh()
        ok = sum(1 for o in outcomes if o.aborted)
        return f"aborted {ok} of {len(outcomes)} upload(s); each confirmed gone by ListParts"

    # -- rendering (updater thread) -------------------------------------------------------

    def _poke(self) -> None:
        if self._updater is not None:
            self._updater.poke()

    def _render(self) -> None:
        with self._lock:
            uploads, outcomes = self._uploads, list(self._outcomes)
        if uploads is None:
            self._table.value = "<i>listing…</i>"
        else:
            self._table.value = _uploads_html(uploads)
            keys = tuple((u.key, u.upload_id) for u in uploads)
            if keys != self._shown:
                self._shown = keys
                self.selection.options = [(_label(u), (u.key, u.upload_id)) for u in uploads]
        busy, last = self._actions.busy, self._actions.last
        for button in self.buttons.values():
            button.disabled = busy is not None
        status = ""
        if last is not None:
            if last.running:
                status = f"<b>{esc(last.title)}</b> … running"
            elif last.error is not None:
                status = f"<b>{esc(last.title)}</b>" + error_html(last.error)
            else:
                status = f"<b>{esc(last.title)}</b>: {last.result_html}"
        failed = [o for o in outcomes if not o.aborted]
        if failed:
            status += "".join(
                error_html(o.error or "failed", code=f"{o.key} {o.upload_id}") for o in failed
            )
        if self._status.value != status:
            self._status.value = status


def _label(u: UnfinishedUpload) -> str:
    return (
        f"{u.key}  ·  {u.upload_id}  ·  {format_age(u.age)}  ·  {u.parts} part(s), {size(u.size)}"
    )


def _uploads_html(uploads: list[UnfinishedUpload]) -> str:
    if not uploads:
        return (
            '<div class="ossnb-stale-none">No unfinished uploads: nothing is stored in parts.</div>'
        )
    rows = [
        [
            f'<td class="ossnb-stale-key">{esc(u.key)}</td>',
            f'<td class="ossnb-stale-id"><code>{esc(u.upload_id)}</code></td>',
            f"<td>{esc(u.initiated.isoformat(timespec='seconds'))}</td>",
            f"<td>{esc(format_age(u.age))}</td>",
            f"<td>{u.parts:,}</td>",
            f"<td>{size(u.size)}</td>",
        ]
        for u in uploads
    ]
    total = sum(u.size for u in uploads)
    head = f"<div>{len(uploads):,} unfinished upload(s) holding {size(total)} in parts, oldest first.</div>"
    return head + table(("key", "upload ID", "initiated", "age", "parts", "bytes"), rows)


def _button(label: str, css: str) -> w.Button:
    """A button coloured by the stylesheet's theme variables (``ossnb-btn``)."""
    button = w.Button(description=label, layout=w.Layout(width="auto"))
    button.add_class("ossnb-btn")
    button.add_class(css)
    return button
