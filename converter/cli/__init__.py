"""The ``sigport`` command line: a thin click layer over the library.

``app.py`` holds the command group ``main`` (the ``sigport`` entry point) and the exit codes,
``common.py`` what several commands share, and one module per command or command group registers
it on ``main``: ``convert.py``, ``check.py`` (check, regress), ``backtest.py``, ``mapping.py``,
``importing.py`` (import elastic), ``listing.py`` (list). Importing this package registers them all.

Library errors become one-line messages on stderr with a documented exit code, never tracebacks
(``--debug`` shows them). Exit codes:

* 0: everything converted (``convert``) / every target equivalent (``check``);
* 1: ``check`` found a disagreement;
* 2: bad usage or bad input (unknown target, unreadable or invalid rule file, ...);
* 3: ``convert`` could not convert some rules for some targets (unsupported), the rest was written.
* 130 / 143: interrupted by SIGINT / SIGTERM (128 + the signal number): the worker processes are
  stopped, every file already written is whole, and ``convert --report`` says what was done.
"""

from __future__ import annotations

# Imported for their effect: each module registers its commands on ``main``.
from converter.cli import backtest, check, convert, importing, listing, mapping  # noqa: F401
from converter.cli.app import main
from converter.cli.process import run

__all__ = ["main", "run"]
