"""Events: read them in every supported format, normalise them, render them for each target.

``inputs.py`` streams JSON lines, SigmaHQ regression data, .evtx and archives;
``bounded.py`` the caps and the bounded line reader they share; ``normalise.py`` turns a raw
event into flat Sigma/Sysmon field names; ``render.py`` renders Sigma-taxonomy events for a
target with the mapping tables.
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "read_jsonl": "render",
    "EventRenderer": "render",
    "SampleEvent": "render",
    "iter_events": "inputs",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
