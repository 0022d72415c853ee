"""Browser tests (a package, so that its conftest does not replace tests/conftest.py as the
module ``conftest`` that the other test modules import from)."""
