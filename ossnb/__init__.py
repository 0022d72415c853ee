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

from importlib import import_module
from typing import TYPE_CHECKING, Any

# ``connect`` is also a module's name: bound here, the function keeps it (a later
# ``import ossnb.connect`` finds the module loaded and does not rebind the name).
from .connect import connect, ensure_bucket, parse_oss_url, upload_session
from .upload.widget_factory import set_widget_factory

if TYPE_CHECKING:
    from .client.client import Client, RetryPolicy
    from .emulator import Emulator
    from .notebook import browser_upload_widget, stale_uploads_widget, upload_widget
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
    from .upload.session import UploadSession

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

# The other public names load their modules on first use: ``import ossnb`` (and so every
# ``import ossnb.<module>``, the CLI's included) imports neither httpx, nor the emulator,
# nor ipywidgets, nor the upload engine until something needs them.
_WHERE = {
    "Client": "client.client",
    "RetryPolicy": "client.client",
    "DaskCarrier": "upload.dask_carrier",
    "Emulator": "emulator",
    "browser_upload_widget": "notebook",
    "stale_uploads_widget": "notebook",
    "upload_widget": "notebook",
    "Limits": "protocol.parts",
    "plan_parts": "protocol.parts",
    "Credentials": "protocol.signing",
    "PartState": "upload.ledger",
    "SessionState": "upload.ledger",
    "Receipt": "upload.receipt",
    "UploadSession": "upload.session",
    **dict.fromkeys(
        (
            "Cancelled",
            "IntegrityError",
            "OssError",
            "ResponseError",
            "ServiceError",
            "TransportError",
            "UsageError",
        ),
        "protocol.errors",
    ),
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'ossnb' has no attribute {name!r}")
    value = getattr(import_module(f".{where}", __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
