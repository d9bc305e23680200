"""Shared pytest configuration.

Property tests (hypothesis) explore new random examples on every developer run; under CI (the
``CI`` environment variable, set by ``.ci/run``'s caller) they run derandomized, so a landing is
decided by the code, not by the luck of the draw. Failures found locally are kept in
hypothesis's example database and replayed. Neither profile has a per-example deadline.

Every test runs with its own persistent cache directory (``converter.conversion.cache``).
"""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import settings

# No per-example deadline in either profile: a deadline is a wall-clock assertion, and speed is
# measured in bench/, never asserted in tests. Hypothesis's default 200 ms failed
# test_prefix_blocks_hold_exactly_the_addresses_with_that_text_prefix (1-17 ms an example) under
# load: a full garbage collection (270,000 objects once the converter is imported) took 0.17 to
# 0.38 s inside an example on the shared 2-core machine.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _private_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own (empty, created on first use) persistent cache directory: tests
    never read entries another test or a developer's runs wrote, nor write into the user's."""
    name = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    monkeypatch.setenv("SIGPORT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache" / name))
    monkeypatch.delenv("SIGPORT_NO_CACHE", raising=False)
