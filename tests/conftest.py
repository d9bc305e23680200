"""Shared pytest configuration.

Property tests (hypothesis) explore new random examples on every developer run; under CI (the
``CI`` environment variable, set by ``.ci/run``'s caller) they run derandomized, so a landing is
decided by the code, not by the luck of the draw. Failures found locally are kept in
hypothesis's example database and replayed.

Every test runs with its own persistent cache directory (``converter.conversion.cache``).
"""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _private_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own (empty, created on first use) persistent cache directory: tests
    never read entries another test or a developer's runs wrote, nor write into the user's."""
    name = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    monkeypatch.setenv("SIGPORT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache" / name))
    monkeypatch.delenv("SIGPORT_NO_CACHE", raising=False)
