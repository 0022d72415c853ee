"""The ``ossnb`` command: ``serve``, ``upload``, ``uploads``, ``parts`` and ``demo``."""
