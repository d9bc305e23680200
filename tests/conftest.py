"""Shared pytest configuration.

Property tests (hypothesis) explore new random examples on every developer run; under CI (the
``CI`` environment variable, set by ``.ci/run``'s caller) they run derandomized, so a landing is
decided by the code, not by the luck of the draw. Failures found locally are kept in
hypothesis's example database and replayed.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
