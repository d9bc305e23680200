"""``python -m converter.cli``: the ``sigport`` command."""

from converter.cli import run

run()
