"""The notebook front end: ipywidgets and tqdm over an upload session (docs/ARCHITECTURE.md §1-2).

::

    from ossnb.widgets import UploadWidget, StaleUploadsWidget, widget_for
    widget_for(session)                      # the live widget of a session; display it
    StaleUploadsWidget(client, "bucket")     # unfinished uploads: age, parts, bytes, abort

Layering: this package imports the session, the ledger and the protocol core, never the
HTTP client, ``connect`` or httpx. Widgets are written only by one throttled updater
thread per widget; workers and observers never display or print.
"""

from __future__ import annotations

from .stale_view import StaleUploadsWidget
from .view import UploadWidget, widget_for

__all__ = ["StaleUploadsWidget", "UploadWidget", "widget_for"]
