"""The rich console every table of the CLI is printed on.

On a terminal rich takes the terminal's width. Written to a pipe or a file there is no width to
ask, and rich would assume 80 columns, folding long reasons into narrow columns: there the width
is ``COLUMNS`` when set, else ``PIPE_WIDTH``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: Width of tables written to a pipe or file (``COLUMNS`` overrides it).
PIPE_WIDTH = 200


def console(stderr: bool = False) -> Any:
    """A ``rich.console.Console`` on stdout (or stderr), sized as the module docstring says."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH
    return Console(stderr=stderr, width=width)
