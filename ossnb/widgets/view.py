"""The upload widget: a live view of an :class:`~ossnb.upload.session.UploadSession` with buttons.

::

    w = UploadWidget(session)     # or widget_for(session): one widget per session
    w                             # display it; display it again anywhere: same live state
    w.buttons["start"].click()    # what a click does; w.join() waits for the outcome

Click handlers return at once: blocking calls run on short-lived threads
(:mod:`.actions`) and the upload itself on the session's workers. Only the
:class:`~.updater.Updater` thread writes to the widgets, at most ten times a second.
"""

from __future__ import annotations

import inspect
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..upload.ledger import PartState, SessionSnapshot, SessionState
from ..upload.session import UploadSession
from . import steps
from .actions import Actions
from .bars import Bars
from .controls import Controls, enabled, next_part
from .journal import Journal
from .ledger_table import ORDERS, counts_html, ledger_html, page_of
from .markup import STYLE, error_html, esc, kv_table, size, state_badge
from .transcript import transcript_html
from .updater import Updater, resend_state

__all__ = ["UploadWidget", "widget_for"]

_S = SessionState
_MOVING = (_S.RUNNING, _S.COMPLETING, _S.ABORTING)
_TABLE_INTERVAL = 0.5  # seconds between ledger tables while an upload moves
_ACTIVE = (*_MOVING, _S.PAUSED)


class UploadWidget(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Target, plan, upload ID, progress bars, part ledger, result, buttons and transcript."""

    def __init__(self, session: UploadSession, *, interval: float = 0.1, **kwargs: Any) -> None:
        self.session = session
        self._lock = threading.Lock()
        self._page = 0
        self._shown_seq = -1
        self._table_view: tuple[str, int] | None = None  # (order, page) the table shows
        self._table_at = 0.0
        self._manual_complete = _supports_manual_complete(session)
        self._journal = Journal(self._poke)
        self._actions = Actions(self._journal, self._poke)
        self._updater: Updater | None = None
        self._controls = Controls.build(self._manual_complete)
        self.buttons = self._controls.buttons
        self.auto_complete = self._controls.auto_complete
        self._shown_auto = session.auto_complete  # the session's setting the checkbox shows
        if self._manual_complete:
            self.auto_complete.value = self._shown_auto
        self._bars = Bars(session.plan.size, session.plan.workers)
        self._header = w.HTML(STYLE + self._header_html())
        self._status = _html("ossnb-status-line")
        self._result = _html("ossnb-result")
        self._step = _html("ossnb-step")
        self._counts = _html("ossnb-counts-box")
        self._ledger = _html("ossnb-ledger")
        self._order = w.Dropdown(
            options=[(label, key) for key, label in ORDERS.items()],
            value="attention",
            layout=w.Layout(width="160px"),
        )
        self._order.add_class("ossnb-ledger-order")
        self._prev = _button("◀", "ossnb-ledger-prev", "previous page")
        self._next = _button("▶", "ossnb-ledger-next", "next page")
        self._transcript = _html("ossnb-transcript")
        self._transcript.layout = w.Layout(max_height="420px", overflow="auto")
        self._transcript_at = 0.0
        accordion = w.Accordion(children=[self._transcript], selected_index=None)
        accordion.observe(lambda _c: self._poke(), names="selected_index")
        self._accordion = accordion
        accordion.set_title(0, "HTTP transcript (each request and answer; secrets masked)")
        accordion.add_class("ossnb-transcript-box")
        pager = w.HBox([self._prev, self._next, self._order, self._counts])
        super().__init__(
            [
                self._header,
                self._status,
                self._bars.box,
                self._controls.step_row,
                self._controls.run_row,
                self._result,
                self._step,
                pager,
                self._ledger,
                accordion,
            ],
            **kwargs,
        )
        self.add_class("ossnb-upload")
        self.add_class("ossnb-box")
        self._wire()
        self._unsubscribe = session.subscribe(self._journal.observe)
        self._render()  # first values, before any other thread can see the widget
        self._updater = Updater(self._render, live=self._live, interval=interval)

    # -- public ---------------------------------------------------------------------------

    def join(self, timeout: float | None = 120.0) -> SessionState:
        """Wait until button work is done and the upload is not moving, then until the
        widgets show it. For scripts, tests and Run All; a paused upload counts as settled."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        while True:
            if not self._actions.join(left()):
                raise TimeoutError("the widget's button work did not finish in time")
            if self.session.state not in _MOVING and self._actions.busy is None:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the upload is still {self.session.state.value}")
            time.sleep(0.02)
        self.refresh(timeout=left() or 5.0)
        resend_state(self)
        return self.session.state

    def refresh(self, timeout: float = 5.0) -> bool:
        """Have the updater show the current state now; False if it did not in time."""
        return self._updater is not None and self._updater.flush(timeout)

    @property
    def updater(self) -> Updater | None:
        return self._updater

    def close(self) -> None:
        """Stop the updater and drop the widgets (the session goes on). Idempotent; also
        called by ipywidgets' ``__del__``, so it must never wait on a lock held elsewhere."""
        if self.__dict__.get("_closed", False):
            return
        self._closed = True
        updater: Updater | None = getattr(self, "_updater", None)  # None if __init__ failed
        if updater is not None:
            updater.stop()
        if hasattr(self, "_unsubscribe"):
            self._unsubscribe()
        if hasattr(self, "_bars"):
            self._bars.close()
        for child in _descendants(self):
            child.close()
        with _cache_lock:
            if _cache.get(self.session) is self:
                del _cache[self.session]
        super().close()

    def __repr__(self) -> str:
        return f"<UploadWidget {self.session.url}: {self.session.state.value}>"

    # -- handlers: return at once ---------------------------------------------------------

    def _wire(self) -> None:
        handlers: dict[str, Callable[[], None]] = {
            "initiate": self._on_initiate,
            "upload_part": self._on_upload_part,
            "list_parts": self._on_list_parts,
            "start": self._on_start,
            "pause": self._on_pause,
            "resume": self._on_resume,
            "complete": self._on_complete,
            "abort": self._on_abort,
        }
        for name, handler in handlers.items():
            self.buttons[name].on_click(lambda _b, h=handler: h())
        self._prev.on_click(lambda _b: self._turn(-1))
        self._next.on_click(lambda _b: self._turn(+1))
        self._order.observe(lambda _c: self._turn(None), names="value")

    def _on_initiate(self) -> None:
        s = self.session
        self._actions.run(
            "initiate",
            "Initiate",
            lambda: f'upload ID <code class="ossnb-step-upload-id">{esc(s.initiate())}</code>',
        )

    def _on_upload_part(self) -> None:
        number = next_part(self.session.snapshot())
        if number is None:
            return
        s = self.session
        self._actions.run(
            "upload_part",
            f"Upload part {number}",
            lambda: steps.uploaded_html(s.upload_part(number)),
            part=number,
        )

    def _on_list_parts(self) -> None:
        s = self.session
        self._actions.run("list_parts", "List parts", lambda: steps.parts_html(s.list_parts()))

    def _on_complete(self) -> None:
        s = self.session
        self._actions.run("complete", "Complete", lambda: _done(s.complete, ""))

    def _on_abort(self) -> None:
        s = self.session
        self._actions.run("abort", "Abort", lambda: _done(s.abort, ""), exclusive=False)

    def _on_start(self) -> None:
        self._actions.run("start", "Start", self._start, background=False)

    def _start(self) -> str:
        start: Callable[..., None] = self.session.start
        if self._manual_complete:
            start(complete=bool(self.auto_complete.value))
        else:
            start()
        return f"Parts go out on {self.session.plan.workers} background worker(s)."

    def _on_pause(self) -> None:
        self._actions.run(
            "pause", "Pause", lambda: _done(self.session.pause, "Paused."), background=False
        )

    def _on_resume(self) -> None:
        self._actions.run(
            "resume", "Resume", lambda: _done(self.session.resume, "Resumed."), background=False
        )

    def _turn(self, step: int | None) -> None:
        with self._lock:
            self._page = 0 if step is None else max(0, self._page + step)
        self._poke()

    # -- rendering: the updater thread only (and once in __init__) ------------------------

    def _poke(self) -> None:
        if self._updater is not None:
            self._updater.poke()

    def _live(self) -> bool:
        return self.session.state in _ACTIVE or self._actions.busy is not None

    def _render(self) -> None:
        snap = self.session.snapshot()
        busy = self._actions.busy
        _put(self._status, self._status_html(snap))
        self._bars.render(snap)
        self._controls.apply(enabled(snap, busy=busy is not None))
        self._render_auto_complete()
        _put(self._result, self._result_html(snap))
        _put(self._step, steps.record_html(self._actions.last))
        self._render_table(snap)
        self._render_transcript()

    def _render_table(self, snap: SessionSnapshot) -> None:
        """The part ledger: at most twice a second while bytes flow (each new table is a
        large comm message), at once when the page or order changes or nothing moves."""
        order = str(self._order.value)
        moving = snap.state in _MOVING
        now = time.monotonic()
        with self._lock:
            view = (order, self._page)
            if moving and view == self._table_view and now - self._table_at < _TABLE_INTERVAL:
                return
            recent = self._journal.recent() if moving else ()
            page = page_of(snap.rows, recent, order, self._page)
            self._page = page.page
            self._table_view, self._table_at = (order, page.page), now
        _put(self._counts, counts_html(snap.ledger))
        _put(self._ledger, ledger_html(page, order))
        _set(self._prev, "disabled", page.page == 0)
        _set(self._next, "disabled", page.page >= page.pages - 1)

    def _render_auto_complete(self) -> None:
        """Show a ``session.start(complete=...)`` made without the button; a tick in the
        checkbox stays until the session's own setting changes."""
        auto = self.session.auto_complete
        if self._manual_complete and auto != self._shown_auto:
            self._shown_auto = auto
            self.auto_complete.value = auto

    def _render_transcript(self) -> None:
        """Only while the transcript is open, and at most once a second while moving."""
        seq, now = self._journal.seq, time.monotonic()
        if self._accordion.selected_index != 0 or seq == self._shown_seq:
            return
        if self._live() and now - self._transcript_at < 1.0:
            return
        self._shown_seq, self._transcript_at = seq, now
        _put(self._transcript, transcript_html(self._journal.entries(), seq))

    def _header_html(self) -> str:
        s, plan = self.session, self.session.plan
        pairs = [
            ("target", f'<code class="ossnb-target">{esc(s.url)}</code>'),
            ("endpoint", f'<code class="ossnb-endpoint">{esc(s.endpoint)}</code>'),
            ("source", f"{esc(s.source.label)} ({size(plan.size)})"),
            (
                "plan",
                f'<span class="ossnb-plan">{plan.part_count:,} part(s) of {size(plan.part_size)}'
                f"{' (grown to stay within the part limit)' if plan.grown else ''}; "
                f"{plan.workers} worker(s); memory up to {size(plan.peak_memory)}</span>",
            ),
        ]
        if s.checkpoint_path is not None:
            pairs.append(("checkpoint", f"<code>{esc(s.checkpoint_path)}</code>"))
        return kv_table(pairs)

    def _status_html(self, snap: SessionSnapshot) -> str:
        done = snap.ledger.count(PartState.DONE)
        upload_id = esc(snap.upload_id) if snap.upload_id else "(not initiated)"
        return (
            f"{state_badge(snap.state)} upload ID "
            f'<code class="ossnb-upload-id">{upload_id}</code> · parts done '
            f'<span class="ossnb-parts-done">{done:,}</span>/{len(snap.rows):,}'
        )

    def _result_html(self, snap: SessionSnapshot) -> str:
        if snap.state is _S.COMPLETED:
            return steps.completed_html(self.session.receipt())
        if snap.state is _S.ABORTED:
            return steps.aborted_html(self.session.receipt())
        if snap.state is _S.FAILED:
            error = self.session.error
            after = "<div>Start sends what is missing again; Abort drops the upload.</div>"
            return error_html(error if error is not None else (snap.error or "failed")) + after
        failed = [row for row in snap.rows if row.state is PartState.FAILED]
        if failed:
            first = failed[0]
            return error_html(
                first.error or "failed", code=f"part {first.number}: {first.error_code}"
            )
        return ""


_cache: weakref.WeakKeyDictionary[UploadSession, UploadWidget] = weakref.WeakKeyDictionary()
_cache_lock = threading.RLock()  # re-entered when the GC closes an old widget mid-build


def widget_for(session: UploadSession) -> UploadWidget:
    """The one live widget of ``session`` (made on first use; a new one after close())."""
    with _cache_lock:
        widget = _cache.get(session)
        if widget is None:
            widget = _cache[session] = UploadWidget(session)
        return widget


def _supports_manual_complete(session: UploadSession) -> bool:
    """Whether ``session.start`` takes ``complete=`` (run the parts, leave Complete to a click)."""
    try:
        return "complete" in inspect.signature(session.start).parameters
    except (TypeError, ValueError):
        return False


def _done(call: Callable[[], object], text: str) -> str:
    """Run ``call``; ``text`` describes it (the result box already shows Complete and Abort)."""
    call()
    return text


def _html(css: str) -> w.HTML:
    widget = w.HTML()
    widget.add_class(css)
    return widget


def _button(label: str, css: str, tip: str) -> w.Button:
    button = w.Button(description=label, tooltip=tip, layout=w.Layout(width="36px"))
    button.add_class(css)
    return button


def _put(widget: w.HTML, value: str) -> None:
    if widget.value != value:
        widget.value = value


def _set(widget: w.Widget, name: str, value: object) -> None:
    if getattr(widget, name) != value:
        setattr(widget, name, value)


def _descendants(root: w.Box) -> list[w.Widget]:
    found: list[w.Widget] = []
    for child in getattr(root, "children", ()):
        found.extend(_descendants(child))
        found.append(child)
    return found
