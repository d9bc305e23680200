"""``sigport check`` and ``sigport regress``: proving on events that each query means the rule.

``checker.py`` is the equivalence checker (reference verdict against each target's
interpreted query, per event); ``run.py`` the command as a library call (load rules and
events, check, report), ``context.py`` its options and what checking a rule file needs,
``workers.py`` the rule files checked in worker processes; ``user_pipeline.py`` mirrors a
user's pySigma pipeline on the events; ``regress.py`` runs SigmaHQ's regression data as an
acceptance test.
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "CheckOptions": "run",
    "CheckReport": "run",
    "check_rules": "run",
    "run_regress": "regress",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
