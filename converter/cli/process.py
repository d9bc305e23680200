"""The ``sigport`` program around the click group: ``run`` ends the process without tearing down
its objects when the command asked for it (``request_fast_exit``).

A warm backtest holds every loaded rule, prepared target and tally when it exits (all SigmaHQ
Windows rules: hundreds of MB of small objects); freeing them one by one at interpreter shutdown
took 0.15-0.19 CPU s after the report was written (process_creation, measured as the parent's
CPU from exit to end), wall time the user waits for nothing. ``run`` runs the ``atexit``
handlers (multiprocessing's, which join queue feeders; logging's; ``weakref.finalize``), flushes
the standard streams and calls ``os._exit`` with the exit code. Only a command whose every
output is written through those streams or closed files asks for it, so nothing is lost;
tests invoking ``main`` (click's runner) never go through ``run``.
"""

from __future__ import annotations

import atexit
import os
import sys

__all__ = ["request_fast_exit", "run"]

_fast = False


def request_fast_exit() -> None:
    """Let ``run`` end the process without freeing its objects once this command exits."""
    global _fast
    _fast = True


def run() -> None:
    """``sigport``: the click group ``main`` (its commands registered by importing
    ``converter.cli``, which exports this function), then the process's end (see the module)."""
    from converter.cli.app import main

    try:
        main()
    except SystemExit as exc:
        code = exc.code
        if not _fast or not (code is None or isinstance(code, int)):
            raise
        atexit._run_exitfuncs()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - as at a normal exit: Python reports the failure
            raise exc from None
        os._exit(code or 0)
