"""The upload widget's pieces that hold no state: header, plan, result and small helpers."""

from __future__ import annotations

import os

import ipywidgets as w

from ..protocol.models import PartInfo
from ..upload.ledger import PartState, SessionSnapshot, SessionState
from ..upload.session import UploadSession
from . import steps
from .markup import error_html, esc, kv_table, size
from .status import Pause, truth_html

__all__ = [
    "button",
    "descendants",
    "header_html",
    "html",
    "obvious",
    "panel",
    "plan_html",
    "put",
    "result_html",
    "set_trait",
]

_S = SessionState
PANEL = "300px"  # every tab's height: switching tabs or filling one never moves the page


def header_html(session: UploadSession) -> str:
    """One line: target, source and plan, endpoint (the one oss2 or the CLI can use).

    The source is named by its file name (the whole path is its tooltip and in the Plan
    tab), so a deep folder does not push the rest onto more lines."""
    s, plan = session, session.plan
    label = s.source.label
    name = os.path.basename(label) or label
    return (
        f'<code class="ossnb-target">{esc(s.url)}</code> ← '
        f'<span class="ossnb-source" title="{esc(label)}">{esc(name)}</span> '
        f'({size(plan.size)}) · <span class="ossnb-plan">{plan.part_count:,} part(s) of '
        f"{size(plan.part_size)}</span> · {plan.workers} worker(s) · endpoint "
        f'<code class="ossnb-endpoint">{esc(s.endpoint_url)}</code>'
    )


def plan_html(session: UploadSession) -> str:
    s, plan = session, session.plan
    pairs = [
        ("target", f"<code>{esc(s.url)}</code>"),
        ("endpoint", f"<code>{esc(s.endpoint_url)}</code>"),
        ("source", f"{esc(s.source.label)} ({size(plan.size)})"),
        (
            "plan",
            f"{plan.part_count:,} part(s) of {size(plan.part_size)}"
            f"{' (grown to stay within the part limit)' if plan.grown else ''}; "
            f"{plan.workers} worker(s); memory up to {size(plan.peak_memory)}",
        ),
    ]
    if s.checkpoint_path is not None:
        pairs.append(("checkpoint", f"<code>{esc(s.checkpoint_path)}</code>"))
    return kv_table(pairs)


def result_html(
    session: UploadSession,
    snap: SessionSnapshot,
    *,
    held: dict[int, PartInfo] | None,
    upload_gone: bool,
    pause: Pause | None,
) -> str:
    """The result once there is one (completed, aborted, failed), else what is true now."""
    if snap.state is _S.COMPLETED:
        return steps.completed_html(session.receipt())
    if snap.state is _S.ABORTED:
        return steps.aborted_html(session.receipt())
    if snap.state is _S.FAILED:
        error = session.error
        after = "<div>Start sends what is missing again; Abort drops the upload.</div>"
        return error_html(error if error is not None else (snap.error or "failed")) + after
    failed = [row for row in snap.rows if row.state is PartState.FAILED]
    if failed:
        first = failed[0]
        return error_html(first.error or "failed", code=f"part {first.number}: {first.error_code}")
    return truth_html(
        snap,
        workers=session.plan.workers,
        auto_complete=session.auto_complete,
        held=(len(held), sum(p.size for p in held.values())) if held else None,
        upload_gone=upload_gone,
        pause=pause,
    )


def obvious(snap: SessionSnapshot, flags: dict[str, bool]) -> str | None:
    """The button a person most likely wants next, marked in the toolbar."""
    if flags.get("complete") and snap.state is _S.INITIATED:
        return "complete"
    for name in ("start", "resume"):
        if flags.get(name):
            return name
    return None


def panel(*children: w.Widget) -> w.VBox:
    """A tab's content: a fixed height, scrolled inside."""
    box = w.VBox(list(children), layout=w.Layout(height=PANEL, overflow="auto"))
    box.add_class("ossnb-panel")
    return box


def html(css: str) -> w.HTML:
    widget = w.HTML()
    widget.add_class(css)
    return widget


def button(label: str, css: str, tip: str) -> w.Button:
    button = w.Button(description=label, tooltip=tip, layout=w.Layout(width="36px"))
    button.add_class(css)
    return button


def put(widget: w.HTML, value: str) -> None:
    if widget.value != value:
        widget.value = value


def set_trait(widget: w.Widget, name: str, value: object) -> None:
    if getattr(widget, name) != value:
        setattr(widget, name, value)


def descendants(root: w.Box) -> list[w.Widget]:
    found: list[w.Widget] = []
    for child in getattr(root, "children", ()):
        found.extend(descendants(child))
        found.append(child)
    return found
