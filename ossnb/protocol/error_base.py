"""The roots of ossnb's exception tree (see :mod:`ossnb.protocol.errors`, which re-exports
them with one class per OSS error code)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from .error_codes import ERROR_CODES

__all__ = [
    "STORAGE_FULL",
    "STORAGE_FULL_HINT",
    "Cancelled",
    "IntegrityError",
    "OssError",
    "ResponseError",
    "ServiceError",
    "TransportError",
    "UsageError",
    "is_storage_full",
]


class OssError(Exception):
    """Root of every error ossnb raises on purpose."""


class TransportError(OssError):
    """The request got no answer: refused, reset, timed out."""


class IntegrityError(OssError):
    """Data did not match its checksum (ETag/MD5, CRC-64 or size)."""


class ResponseError(OssError):
    """A response that does not follow the OSS protocol (bad XML, missing element)."""


class UsageError(OssError, ValueError):
    """Invalid input refused before any request is sent."""


class Cancelled(OssError):
    """The request was stopped on purpose (abort or pause) before it finished."""


class ServiceError(OssError):
    """An error answered by OSS (or the emulator).

    ``code`` is the OSS error code (``NoSuchUpload``), ``ec`` the diagnostic EC
    (``0017-00000244``) and ``details`` any other elements of the error document
    (``UploadId``, ``ArgumentName`` …).
    """

    code: ClassVar[str] = ""

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str = "",
        ec: str = "",
        host_id: str = "",
        details: Mapping[str, str] | None = None,
    ) -> None:
        spec = ERROR_CODES.get(code or type(self).code)
        self.status: int = status if status is not None else (spec.status if spec else 500)
        self.error_code: str = code or type(self).code or "UnknownError"
        self.message: str = message or (spec.message if spec else "")
        self.request_id = request_id
        self.ec = ec or (spec.ec if spec else "")
        self.host_id = host_id
        self.details: dict[str, str] = dict(details or {})
        super().__init__(self._summary())

    def _summary(self) -> str:
        text = f"{self.error_code} ({self.status}): {self.message}"
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text

    @property
    def hint(self) -> str:
        """What the user can do about it, in one line."""
        if is_storage_full(self):
            return STORAGE_FULL_HINT
        spec = ERROR_CODES.get(self.error_code)
        return spec.hint if spec else ""


STORAGE_FULL = "The server's storage is full"
"""How the ossnb emulator's ``InternalError`` message starts when its disk is full.

OSS has no error code for that, so the emulator answers ``InternalError`` (500), as OSS
does for server faults, with this message; clients then say so and do not retry."""
STORAGE_FULL_HINT = (
    "The server's disk is full: free space there (for the ossnb emulator, in its "
    "--data-dir), then resume; retrying before that will not help."
)


def is_storage_full(error: BaseException) -> bool:
    """Whether ``error`` is the emulator's "storage is full" ``InternalError``."""
    return (
        isinstance(error, ServiceError)
        and error.error_code == "InternalError"
        and error.message.startswith(STORAGE_FULL)
    )
