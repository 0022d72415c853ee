"""tqdm.notebook bars over a session: one for the whole upload, one per part in flight.

The bars are driven only by the updater thread (tqdm's notebook bars are widgets, and
nothing else may write to widgets). The overall bar takes its elapsed time and rate
from the session's own clock, so they stop with the upload and ignore reused parts.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
from tqdm.notebook import tqdm_notebook

from ..upload.ledger import PartState, SessionSnapshot, SessionState

__all__ = ["Bars"]

_STYLE = {
    SessionState.COMPLETED: "success",
    SessionState.FAILED: "danger",
    SessionState.ABORTED: "danger",
    SessionState.ABORTING: "danger",
    SessionState.PAUSED: "warning",
}


class _Bar(tqdm_notebook):  # type: ignore[misc]  # tqdm is untyped
    """A notebook bar that is never displayed on its own and may be given elapsed and rate."""

    def __init__(self, **options: Any) -> None:
        self.given: dict[str, float | None] = {}
        super().__init__(
            display=False,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            mininterval=0,
            **options,
        )
        self.container.layout.width = "100%"
        self.container.children[1].layout.flex = "2"

    @property
    def format_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = super().format_dict
        values.update({k: v for k, v in self.given.items() if v is not None})
        return values

    def show(self, n: int, style: str = "") -> None:
        self.n = n
        self.refresh()
        pbar = self.container.children[1]
        if pbar.bar_style != style:
            pbar.bar_style = style


class Bars:
    """The overall bar and ``slots`` part bars, in :attr:`box`."""

    def __init__(self, total: int, slots: int) -> None:
        self.overall = _Bar(total=total, desc="uploaded")
        self.overall.container.add_class("ossnb-overall")
        self.parts = [_Bar(total=1, desc="idle", leave=True) for _ in range(slots)]
        self._assigned: list[int | None] = [None] * slots
        for bar in self.parts:
            bar.container.add_class("ossnb-part-bar")
            bar.container.layout.display = "none"
        self.box = w.VBox([self.overall.container, *(b.container for b in self.parts)])

    def render(self, snap: SessionSnapshot) -> None:
        """Show ``snap`` (updater thread only)."""
        ledger = snap.ledger
        self.overall.given = {"elapsed": snap.elapsed, "rate": snap.bytes_per_second}
        self.overall.initial = ledger.bytes_reused
        self.overall.show(ledger.bytes_done, _STYLE.get(snap.state, ""))
        sending = {row.number: row for row in ledger.rows if row.state is PartState.SENDING}
        for i, number in enumerate(self._assigned):
            if number is not None and number not in sending:
                self._assigned[i] = None
        waiting = [n for n in sending if n not in self._assigned]
        for i, bar in enumerate(self.parts):
            if self._assigned[i] is None and waiting:
                number = waiting.pop(0)
                self._assigned[i] = number
                bar.reset(total=sending[number].size)
                bar.set_description(f"part {number}", refresh=False)
            number = self._assigned[i]
            if number is None:
                if bar.container.layout.display != "none":
                    bar.container.layout.display = "none"
                continue
            bar.container.layout.display = None
            bar.show(sending[number].bytes_sent)

    def close(self) -> None:
        for bar in (self.overall, *self.parts):
            bar.disp = lambda *_, **__: None  # no last redraw: the widget is going away
            bar.close()
            for child in bar.container.children:
                child.close()
            bar.container.close()
