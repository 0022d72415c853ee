"""``python -m ossnb``: the same as the ``ossnb`` command."""

from __future__ import annotations

import sys

from .cli.main import main

sys.exit(main())
