"""How hints name the ``ossnb`` command: the way the user can run it again from here."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys

__all__ = ["ossnb_command", "runnable"]

_COMMAND = re.compile(r"(?<![\w./-])ossnb (?=(?:uploads?|parts|serve|demo)\b)")


def ossnb_command() -> str:
    """``ossnb`` when it is on PATH; else the script that runs now (e.g. the venv's
    ``.venv/bin/ossnb``, which ``./dev.sh ossnb`` runs, relative when under the current
    folder, else absolute); else ``python -m ossnb`` with this interpreter."""
    if shutil.which("ossnb"):
        return "ossnb"
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(script) == "ossnb" and os.path.isfile(script):
        relative = os.path.relpath(script)
        path = os.path.abspath(script) if relative.startswith("..") else relative
        return shlex.quote(path if os.sep in path else f".{os.sep}{path}")
    return f"{shlex.quote(sys.executable)} -m ossnb"


def runnable(text: str) -> str:
    """``text`` with each ``ossnb upload…``/``uploads``/``parts`` it suggests written as
    :func:`ossnb_command` (messages from the engine say plain ``ossnb``)."""
    command = ossnb_command()
    if command == "ossnb":
        return text
    return _COMMAND.sub(lambda _: f"{command} ", text)
