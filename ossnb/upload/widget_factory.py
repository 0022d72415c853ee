"""Where the notebook widgets plug into the engine without the engine importing them.

The engine sits below the widgets, so :meth:`UploadSession.widget` asks this registry;
``import ossnb`` registers the widget factory here without loading the session, the
client or ipywidgets (they load when first used).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["set_widget_factory", "widget_factory"]

_factory: Callable[[Any], Any] | None = None


def set_widget_factory(factory: Callable[[Any], Any]) -> None:
    """Register what :meth:`UploadSession.widget` builds (called with the session)."""
    global _factory
    _factory = factory


def widget_factory() -> Callable[[Any], Any] | None:
    """The registered factory, if any."""
    return _factory
