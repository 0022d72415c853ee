"""The upload widget's buttons, and which of them make sense in each session state.

Step mode (for teaching) walks the protocol one request at a time: Initiate, Upload
next part, List parts, Complete, Abort. Run mode hands the parts to the session's
background workers: Start, Pause, Resume, and the same Complete and Abort. Every
button carries a ``ossnb-<name>`` DOM class, the stable selector the browser tests use.
"""

from __future__ import annotations

import ipywidgets as w
from msgspec import Struct

from ..upload.ledger import PartState, SessionSnapshot, SessionState

__all__ = ["BUTTONS", "Controls", "enabled", "next_part"]

_S = SessionState
BUTTONS: dict[str, tuple[str, str]] = {
    # name: (label, tooltip); colours come from the stylesheet's theme variables
    "initiate": ("Initiate", "InitiateMultipartUpload: get an upload ID"),
    "upload_part": ("Upload next part", "UploadPart: send the next part, compare its ETag"),
    "list_parts": ("List parts", "ListParts: what the server holds for this upload"),
    "start": ("Start", "Send every part on background workers"),
    "pause": ("Pause", "Stop sending; parts in flight are sent again on Resume"),
    "resume": ("Resume", "Continue a paused upload"),
    "complete": ("Complete", "CompleteMultipartUpload, then verify ETag and CRC-64"),
    "abort": ("Abort", "AbortMultipartUpload, then confirm the server holds no parts"),
}


def next_part(snap: SessionSnapshot) -> int | None:
    """The part Upload next part would send: the first pending or failed one."""
    for row in snap.rows:
        if row.state in (PartState.PENDING, PartState.FAILED):
            return row.number
    return None


def enabled(snap: SessionSnapshot, *, busy: bool) -> dict[str, bool]:
    """Which buttons may be clicked now (``busy``: a step is in flight)."""
    state = snap.state
    has_id = snap.upload_id is not None
    all_done = snap.ledger.all_done
    idle = not busy
    return {
        "initiate": idle and state is _S.PLANNED,
        "upload_part": idle and state is _S.INITIATED and next_part(snap) is not None,
        "list_parts": idle and has_id and state in (_S.INITIATED, _S.RUNNING, _S.PAUSED, _S.FAILED),
        "start": idle
        and (state is _S.PLANNED or (state is _S.INITIATED and not all_done) or state is _S.FAILED),
        "pause": state is _S.RUNNING,
        "resume": state is _S.PAUSED,
        "complete": idle and all_done and has_id and state in (_S.INITIATED, _S.FAILED),
        "abort": state in (_S.INITIATED, _S.RUNNING, _S.PAUSED, _S.FAILED),
    }


class Controls(Struct):
    """The buttons (by name), grouped into the step row and the run row."""

    buttons: dict[str, w.Button]
    auto_complete: w.Checkbox
    step_row: w.HBox
    run_row: w.HBox

    @classmethod
    def build(cls, manual_complete: bool) -> Controls:
        buttons: dict[str, w.Button] = {}
        for name, (text, tip) in BUTTONS.items():
            button = w.Button(
                description=text, tooltip=tip, disabled=True, layout=w.Layout(width="auto")
            )
            button.add_class("ossnb-btn")
            button.add_class(f"ossnb-{name.replace('_', '-')}")
            buttons[name] = button
        auto = w.Checkbox(
            value=True,
            description="complete automatically",
            disabled=not manual_complete,
            indent=False,
            layout=w.Layout(width="auto"),
            tooltip=(
                "Complete as soon as every part is uploaded"
                if manual_complete
                else "This session always completes when every part is uploaded"
            ),
        )
        auto.add_class("ossnb-auto-complete")

        step = w.HBox([buttons[n] for n in ("initiate", "upload_part", "list_parts")])
        run = w.HBox(
            [*(buttons[n] for n in ("start", "pause", "resume", "complete", "abort")), auto],
            layout=w.Layout(flex_flow="row wrap", align_items="center", min_height="32px"),
        )
        run.add_class("ossnb-run-row")
        return cls(buttons, auto, step, run)

    def apply(self, flags: dict[str, bool], obvious: str | None = None) -> None:
        """Enable exactly the buttons ``flags`` allow and mark ``obvious``, the next step a
        person should take (updater thread only)."""
        for name, button in self.buttons.items():
            disabled = not flags.get(name, False)
            if button.disabled != disabled:
                button.disabled = disabled
            marked = "ossnb-obvious" in button._dom_classes
            if (name == obvious) != marked:
                if marked:
                    button.remove_class("ossnb-obvious")
                else:
                    button.add_class("ossnb-obvious")
