"""SIGINT and SIGTERM: stop cleanly, take the worker processes along, say what was done.

Python's default SIGTERM ends the process on the spot: worker processes forked for ``convert``
(and ``backtest``) lived on, holding the output pipes (a CI step waiting for EOF hangs), a file
being written stayed truncated, and no ``--report`` was written. With ``handle_signals``:

* the first SIGINT or SIGTERM terminates this process's worker processes and raises
  ``Interrupted`` in the main thread (after a ``deferred()`` block in progress, such as writing
  one output file, is done), so the command writes its report, and the CLI exits with 128 + the
  signal number (130 for SIGINT, 143 for SIGTERM), without waiting for what is left of a
  stopped process pool (``exit_after_interrupt``); a cleanup that blocks (a pool's result thread
  waiting for a message a killed worker never finished) is cut short after ``GRACE_SECONDS``;
* a forked worker that inherited the handler dies of the signal at once, as it would by default;
* on Linux each forked worker asks the kernel for SIGTERM when its parent dies
  (``PR_SET_PDEATHSIG``), so even a parent killed with SIGKILL leaves no orphan behind.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from typing import Any, Callable, Iterator

_HANDLED = (signal.SIGINT, signal.SIGTERM)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_fork_hook_installed = False


class Interrupted(BaseException):
    """The run was stopped by a signal (a ``BaseException``: ``except Exception`` in library code
    must not swallow it).

    Attributes:
        signum: the signal number.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {self.name}")

    @property
    def name(self) -> str:
        """``SIGINT`` / ``SIGTERM``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell convention for death by a signal: 128 + its number."""
        return 128 + self.signum


def terminate_workers() -> None:
    """Terminate every child process this process started through ``multiprocessing``."""
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join(timeout=5)


class _State:
    """The installed handler's state (one per process; reset by each ``handle_signals``)."""

    owner = 0  # the process that installed the handlers (forked workers inherit them)
    fired = False  # a signal was acted on: later ones are ignored while cleaning up
    deferring = 0  # depth of ``deferred()`` blocks in progress
    pending: int | None = None  # a signal that arrived during a deferred block


#: Seconds an interrupted process may spend cleaning up before it ends anyway.
GRACE_SECONDS = 5.0


def _fire(signum: int) -> None:
    _State.fired = True
    _start_watchdog(signum)
    terminate_workers()
    raise Interrupted(signum)


def _start_watchdog(signum: int) -> None:
    """End the process ``GRACE_SECONDS`` after the signal whatever the main thread is doing.

    A process pool's own cleanup can block forever once its workers are gone (a
    ``multiprocessing.Pool`` joins its result thread, which waits for the rest of a message a
    killed worker never sent); the interrupt must end the run all the same.
    """
    name = signal.Signals(signum).name

    def run() -> None:
        if not threading.Event().wait(GRACE_SECONDS):
            os.write(2, f"sigport: interrupted by {name} (cleanup cut short)\n".encode())
            os._exit(128 + signum)

    threading.Thread(target=run, name="sigport-interrupt", daemon=True).start()


def _handler(signum: int, frame: Any) -> None:
    if os.getpid() != _State.owner:  # a forked worker: die of the signal, as by default
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _State.fired or _State.pending is not None:
        return  # already stopping: let the cleanup finish
    if _State.deferring:
        _State.pending = signum
        return
    _fire(signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold a SIGINT or SIGTERM back until the block is done, then act on it: a step that must
    not be cut in two (creating a temporary file and renaming it into place, writing a file and
    recording it as written) finishes first. The exception a handler raises may otherwise land
    between any two statements, e.g. after a file was created and before the ``try`` that
    removes it."""
    _State.deferring += 1
    try:
        yield
    finally:
        _State.deferring -= 1
        if not _State.deferring and _State.pending is not None and not _State.fired:
            signum, _State.pending = _State.pending, None
            _fire(signum)


def handle_signals() -> Callable[[], None]:
    """Install the SIGINT/SIGTERM handlers (main thread only); returns a function restoring the
    previous ones. A no-op elsewhere than in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    _State.owner, _State.fired, _State.deferring, _State.pending = os.getpid(), False, 0, None
    previous = {signum: signal.signal(signum, _handler) for signum in _HANDLED}
    _install_fork_hook()

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore


def exit_after_interrupt(code: int) -> None:
    """End the interrupted process with ``code`` now when threads other than the main one are
    still running, instead of waiting for them at exit.

    They are the remains of a stopped process pool: its manager thread waits for the rest of a
    result that a worker killed mid-send never wrote (the pipe's other end is this process, so
    no end of file ever comes), and the interpreter's exit would join it forever. Everything
    sigport must do on an interrupt (output files whole, the report) is done by then; the
    standard streams are flushed first.
    """
    main = threading.main_thread()
    if any(t is not main and t.is_alive() for t in threading.enumerate()):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def die_with_parent(parent: int) -> None:
    """In a worker process: ask the kernel for SIGTERM when the parent dies (Linux), and exit
    now if ``parent`` is already gone. A no-op elsewhere."""
    prctl = _prctl()
    if prctl is None:
        return
    prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(128 + int(signal.SIGTERM))


def _prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _install_fork_hook() -> None:
    """Have every process forked from now on die with its parent (Linux): this covers pools
    that do not call ``die_with_parent`` themselves."""
    global _fork_hook_installed
    if _fork_hook_installed or _prctl() is None:
        return
    parent = {"pid": os.getpid()}

    def before() -> None:
        parent["pid"] = os.getpid()

    os.register_at_fork(before=before, after_in_child=lambda: die_with_parent(parent["pid"]))
    _fork_hook_installed = True
