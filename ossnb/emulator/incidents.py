"""What the emulator logs and answers when a request goes wrong in a way no handler expected.

* Every line of the ``ossnb.emulator`` logger goes through :class:`RedactSecrets`: the
  values of ``security-token``, ``x-oss-security-token``, ``Signature`` and
  ``x-oss-signature`` are masked wherever they appear (request targets, messages,
  tracebacks), so ``ossnb serve --verbose`` never writes an STS token or a signature.
* :func:`unexpected` turns an unexpected exception into the error to answer: a full
  data disk (``ENOSPC``, ``EDQUOT``, SQLite's "database or disk is full") is an
  ``InternalError`` whose message says so (see ``protocol.errors.STORAGE_FULL``),
  logged in one line; anything else a plain ``InternalError`` with its traceback.
"""

from __future__ import annotations

import errno
import logging
import sqlite3

from ..protocol import errors
from ..protocol.http import mask_query

__all__ = ["RedactSecrets", "storage_full", "unexpected"]

log = logging.getLogger("ossnb.emulator")
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = getattr(sqlite3, "SQLITE_FULL", 13)


class RedactSecrets(logging.Filter):
    """Masks secret query values in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_query(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_query(logging.Formatter().formatException(record.exc_info))
        return True


if not any(isinstance(f, RedactSecrets) for f in log.filters):
    log.addFilter(RedactSecrets())  # once, for every module logging as "ossnb.emulator"


def storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk is full."""
    seen: BaseException | None = exc
    for _ in range(8):  # the cause chain, bounded
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return True
        if isinstance(seen, sqlite3.OperationalError) and (
            getattr(seen, "sqlite_errorcode", None) == _SQLITE_FULL or "disk is full" in str(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unexpected(exc: Exception, method: str, target: str) -> errors.ServiceError:
    """The error to answer for ``exc``, logged (one line for a full disk)."""
    if storage_full(exc):
        log.warning("%s %.200s: the data folder is full (%s)", method, target, exc)
        return errors.InternalError(
            f"{errors.STORAGE_FULL}: the ossnb emulator's data folder has no space left "
            "on its disk."
        )
    log.exception("internal error on %s %.200s", method, target)
    return errors.InternalError()
