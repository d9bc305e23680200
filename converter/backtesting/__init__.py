"""``sigport backtest``: every rule and every target's query over a large stream of real events.

``prepare.py`` loads, converts and interprets every rule once (in parallel); ``engine.py``
evaluates events in each worker; ``renderings.py`` carries the events the parent rendered once
per target schema to the shards; ``needs.py`` derives the target queries' necessary
literals for the prefilter; ``report.py`` tallies and renders; ``run.py`` drives it.
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "BacktestOptions": "prepare",
    "run_backtest": "run",
    "BacktestReport": "report",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
