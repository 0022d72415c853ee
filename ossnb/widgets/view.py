"""The upload widget: a live view of an :class:`~ossnb.upload.session.UploadSession`.

::

    w = UploadWidget(session)     # or widget_for(session): one widget per session
    w                             # display it; display it again anywhere: same live state
    w.buttons["start"].click()    # what a click does; w.join() waits for the outcome

Layout, top to bottom, every part of a fixed height so nothing moves under the pointer
while an upload runs: one line naming target and plan; the toolbar (state, upload ID,
overall bar with bytes, rate and time left, the run buttons, a line saying what is true
now); the parts map; tabs for the part ledger, the step-by-step buttons and their last
exchange, the HTTP transcript and the plan.

Click handlers return at once, and a click a button's state does not allow (a double
click) does nothing: blocking calls run on short-lived threads (:mod:`.actions`) and the
upload itself on the session's workers. Only the :class:`~.updater.Updater` thread
writes to the widgets, at most ten times a second.
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
from . import panels, steps
from .actions import Actions
from .controls import Controls, enabled, next_part
from .journal import Journal
from .ledger_table import ORDERS, counts_html, ledger_html, page_of
from .markup import STYLE, esc
from .parts_map import PartsMap, carriers, encode
from .resume import ServerParts
from .status import Progress, numbers_html, status_html
from .transcript import transcript_html
from .updater import Updater, resend_state

__all__ = ["UploadWidget", "widget_for"]

_S = SessionState
_MOVING = (_S.RUNNING, _S.COMPLETING, _S.ABORTING)
_TABLE_INTERVAL = 0.5  # seconds between ledger tables while an upload moves
_ACTIVE = (*_MOVING, _S.PAUSED)
_TRANSCRIPT_TAB = 2
_BAR_STYLE = {
    _S.COMPLETED: "success",
    _S.FAILED: "danger",
    _S.ABORTED: "danger",
    _S.ABORTING: "danger",
    _S.PAUSED: "warning",
}


class UploadWidget(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Target and plan, toolbar, parts map, and tabs: ledger, steps, transcript, plan."""

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
        self._progress = Progress()
        self._server = ServerParts()  # a resumed upload's parts, seen before Start
        self._controls = Controls.build(self._manual_complete)
        self.buttons = self._controls.buttons
        self.auto_complete = self._controls.auto_complete
        self._shown_auto = session.auto_complete  # the session's setting the checkbox shows
        if self._manual_complete:
            self.auto_complete.value = self._shown_auto
        plan = session.plan
        self._header = w.HTML(STYLE + panels.header_html(session))
        self._header.add_class("ossnb-header")
        self._status = panels.html("ossnb-status-line")
        self._bar = w.FloatProgress(
            value=0, min=0, max=max(1, plan.size), layout=w.Layout(flex="1", min_width="80px")
        )
        self._numbers = panels.html("ossnb-numbers")
        self._numbers.layout = w.Layout(width="460px")
        self._overall = w.HBox(
            [w.HTML("uploaded", layout=w.Layout(width="64px")), self._bar, self._numbers],
            layout=w.Layout(align_items="center", height="28px"),
        )
        self._overall.add_class("ossnb-overall")
        self._result = panels.html("ossnb-result")
        self._map = PartsMap(plan.part_size, plan.size, lambda n: self._server.details(session, n))
        self._map.add_class("ossnb-parts-map")
        self._step = panels.html("ossnb-step")
        self._counts = panels.html("ossnb-counts-box")
        self._ledger = panels.html("ossnb-ledger")
        self._order = w.Dropdown(
            options=[(label, key) for key, label in ORDERS.items()],
            value="attention",
            layout=w.Layout(width="160px"),
        )
        self._order.add_class("ossnb-ledger-order")
        self._prev = panels.button("◀", "ossnb-ledger-prev", "previous page")
        self._next = panels.button("▶", "ossnb-ledger-next", "next page")
        self._transcript = panels.html("ossnb-transcript")
        self._transcript_at = 0.0
        pager = w.HBox([self._prev, self._next, self._order, self._counts])
        self._tabs = w.Tab(
            children=[
                panels.panel(pager, self._ledger),
                panels.panel(self._controls.step_row, self._step),
                panels.panel(self._transcript),
                panels.panel(w.HTML(panels.plan_html(session))),
            ],
            titles=("Parts ledger", "Step by step", "HTTP transcript", "Plan"),
            selected_index=0,
        )
        self._tabs.add_class("ossnb-tabs")
        self._tabs.observe(lambda _c: self._poke(), names="selected_index")
        super().__init__(
            [
                self._header,
                self._status,
                self._overall,
                self._controls.run_row,
                self._result,
                self._map,
                self._tabs,
            ],
            **kwargs,
        )
        self.add_class("ossnb-upload")
        self.add_class("ossnb-box")
        self._wire()
        self._unsubscribe = session.subscribe(self._journal.observe)
        self._render()  # first values, before any other thread can see the widget
        self._updater = Updater(self._render, live=self._live, interval=interval)
        if session.state is _S.INITIATED and not session.snapshot().ledger.count(PartState.DONE):
            self._actions.run(
                "check", "Check the server (ListParts)", lambda: self._server.probe(session)
            )

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

    @property
    def parts_map(self) -> PartsMap:
        """The map of parts; ``parts_map.colour_by = "worker"`` colours them by carrier."""
        return self._map

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
        for child in panels.descendants(self):
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
            self.buttons[name].on_click(lambda _b, n=name, h=handler: self._click(n, h))
        self._prev.on_click(lambda _b: self._turn(-1))
        self._next.on_click(lambda _b: self._turn(+1))
        self._order.observe(lambda _c: self._turn(None), names="value")

    def _click(self, name: str, handler: Callable[[], None]) -> None:
        """Run ``handler`` if the button may be clicked now: a second click of a double
        click, or a click the page sent before it saw the button disabled, does nothing."""
        busy = self._actions.busy is not None
        if enabled(self.session.snapshot(), busy=busy).get(name, False):
            handler()
        else:
            self._poke()  # show the page the state that disabled it

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
        state = snap.state
        ledger = snap.ledger
        shown, rate = self._progress.update(snap)
        panels.put(self._status, status_html(snap))
        panels.put(self._numbers, numbers_html(snap, shown, rate))
        panels.set_trait(
            self._bar, "value", shown if ledger.total_size else (1 if ledger.all_done else 0)
        )
        panels.set_trait(self._bar, "bar_style", _BAR_STYLE.get(state, ""))
        flags = enabled(snap, busy=busy is not None)
        self._controls.apply(flags, panels.obvious(snap, flags))
        self._render_auto_complete()
        server = self._server
        result = panels.result_html(
            self.session,
            snap,
            held=server.held,
            upload_gone=server.gone,
            pause=self._progress.pause,
        )
        panels.put(self._result, result)
        panels.put(self._step, steps.record_html(self._actions.last))
        held = (
            self._server.held
            if state in (_S.INITIATED, _S.RUNNING, _S.PAUSED, _S.ABORTED)
            else None
        )
        self._map.show(
            *encode(snap.rows, held or (), aborted=state is _S.ABORTED), *carriers(snap.rows)
        )
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
        aborted = snap.state is _S.ABORTED
        panels.put(self._counts, counts_html(snap.ledger, aborted=aborted))
        panels.put(self._ledger, ledger_html(page, order, aborted=aborted))
        panels.set_trait(self._prev, "disabled", page.page == 0)
        panels.set_trait(self._next, "disabled", page.page >= page.pages - 1)

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
        if self._tabs.selected_index != _TRANSCRIPT_TAB or seq == self._shown_seq:
            return
        if self._live() and now - self._transcript_at < 1.0:
            return
        self._shown_seq, self._transcript_at = seq, now
        panels.put(self._transcript, transcript_html(self._journal.entries(), seq))


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
