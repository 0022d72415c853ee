"""How hints name the ``ossnb`` command: the way the user can run it again from here."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys

__all__ = ["cli_message", "ossnb_command", "runnable"]

# a command a message suggests: quoted in backticks or parentheses, e.g. `ossnb uploads abort …`
_COMMAND = re.compile(r"(?<=[`(])ossnb (?=(?:uploads?|parts|serve|demo) )")


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


def cli_message(text: str) -> str:
    """An error's text as the command line shows it: commands it suggests made runnable,
    and a silent endpoint explained with the flags that choose it."""
    text = runnable(text)
    if "nothing answers at " in text:
        text += (
            "; check that the server is running and that --endpoint (or OSS_ENDPOINT) "
            "names it, with its port"
        )
    return text
