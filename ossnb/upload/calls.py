"""Operations run on a transport with each HTTP exchange attributed to its caller.

A client reports every attempt to its listeners, for every caller alike. A session
wants its own exchanges only, and to know which part each one was for (to count a
part's attempts). The call runs on the caller's thread and the client reports the
exchange synchronously on that thread, so a thread-local "who is calling" is exact:
:class:`AttributedCalls` sets it around ``execute``, and one listener per transport
hands each exchange to its owner.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from ..protocol.operations import Operation
from ..protocol.transcript import Exchange
from .listing import Transport

__all__ = ["AttributedCalls"]

T = TypeVar("T")
OnExchange = Callable[[Exchange, "int | None"], None]
_local = threading.local()
_attached: weakref.WeakSet[Any] = weakref.WeakSet()
_kept: list[Any] = []
_attach_lock = threading.Lock()


class AttributedCalls:
    """An executor over ``transport`` whose exchanges go to ``on_exchange(exchange, part)``."""

    def __init__(self, transport: Transport, on_exchange: OnExchange) -> None:
        self.transport = transport
        self._on_exchange = on_exchange
        with _attach_lock:
            try:
                known = transport in _attached
                _attached.add(transport)
            except TypeError:  # not weak-referenceable: remembered for good instead
                known = any(t is transport for t in _kept)
                if not known:
                    _kept.append(transport)
            if not known:
                transport.add_listener(_dispatch)

    def execute(
        self,
        operation: Operation[T],
        *,
        part: int | None = None,
        progress: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
        retry: bool = True,
    ) -> T:
        """Run ``operation``; its exchanges are reported as this owner's (and ``part``'s)."""
        saved = getattr(_local, "owner", None), getattr(_local, "part", None)
        _local.owner, _local.part = self, part
        try:
            return self.transport.execute(operation, progress=progress, cancel=cancel, retry=retry)
        finally:
            _local.owner, _local.part = saved


def _dispatch(exchange: Exchange) -> None:
    """The one listener per transport: hand an exchange to the caller that made it."""
    owner = getattr(_local, "owner", None)
    if isinstance(owner, AttributedCalls):
        owner._on_exchange(exchange, getattr(_local, "part", None))
