"""httpx, loaded when the first client is made, without its command line."""

from __future__ import annotations

import sys
from types import ModuleType

__all__ = ["import_httpx"]


def import_httpx() -> ModuleType:
    """``httpx``, imported without its command line where that is possible.

    httpx's ``__init__`` imports ``httpx._main`` (its CLI) inside ``try: ... except
    ImportError``, and that module loads click, rich and pygments whenever they are
    installed: ~0.1 s of CPU at every start of a process that never runs httpx's CLI.
    While httpx loads, ``httpx._main`` is marked missing, so httpx takes its fallback;
    the mark is removed at once (``import httpx._main`` works afterwards). Should a
    future httpx need the module, the import is simply done again without the mark.
    """
    if "httpx" in sys.modules:
        return sys.modules["httpx"]
    blocked = "httpx._main" not in sys.modules
    if blocked:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]  # "missing", to import
    try:
        import httpx
    except ImportError:
        if not blocked:
            raise
        sys.modules.pop("httpx._main", None)
        blocked = False
        import httpx
    finally:
        if blocked and sys.modules.get("httpx._main", 0) is None:
            del sys.modules["httpx._main"]
    return httpx
