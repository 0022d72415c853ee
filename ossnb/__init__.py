"""ossnb: Alibaba Cloud OSS multipart upload, step by step, in a Jupyter notebook.

::

    import ossnb
    ossnb.upload_widget("big.bin", "oss://demo/big.bin")    # a live, steerable upload
    session = ossnb.upload_session("big.bin", "oss://demo/big.bin")
    session.start(); session.wait()                         # the same engine, headless
    client = ossnb.connect()                                # the embedded emulator unless
                                                            # OSS_ENDPOINT is set

With no endpoint configured everything runs against ossnb's local OSS emulator; real
OSS is configured like the official SDKs: ``OSS_ACCESS_KEY_ID``,
``OSS_ACCESS_KEY_SECRET``, ``OSS_ENDPOINT`` and ``OSS_REGION``.
"""

from __future__ import annotations

from typing import Any

from .client.client import Client, RetryPolicy
from .connect import connect, ensure_bucket, parse_oss_url, upload_session
from .emulator import Emulator
from .protocol.errors import (
    Cancelled,
    IntegrityError,
    OssError,
    ResponseError,
    ServiceError,
    TransportError,
    UsageError,
)
from .protocol.parts import Limits, plan_parts
from .protocol.signing import Credentials
from .upload.dask_carrier import DaskCarrier
from .upload.ledger import PartState, SessionState
from .upload.receipt import Receipt
from .upload.session import UploadSession, set_widget_factory

__version__ = "0.1.0"


def _widget(session: UploadSession) -> Any:
    from .widgets import widget_for  # ipywidgets is loaded only when a widget is wanted

    return widget_for(session)


set_widget_factory(_widget)

__all__ = [
    "Cancelled",
    "Client",
    "Credentials",
    "DaskCarrier",
    "Emulator",
    "IntegrityError",
    "Limits",
    "OssError",
    "PartState",
    "Receipt",
    "ResponseError",
    "RetryPolicy",
    "ServiceError",
    "SessionState",
    "TransportError",
    "UploadSession",
    "UsageError",
    "browser_upload_widget",
    "connect",
    "ensure_bucket",
    "parse_oss_url",
    "plan_parts",
    "stale_uploads_widget",
    "upload_session",
    "upload_widget",
]

_NOTEBOOK = ("browser_upload_widget", "stale_uploads_widget", "upload_widget")


def __getattr__(name: str) -> Any:
    # The widget helpers import ipywidgets; load them only when asked for, so the CLI
    # and scripts stay light.
    if name in _NOTEBOOK:
        from . import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'ossnb' has no attribute {name!r}")
