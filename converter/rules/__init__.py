"""Loading Sigma rules: files, directories and standard input, bounded YAML, per-rule limits.

``load.py`` parses rule files, losing none of them (every failure is a ``RuleLoadError`` with
the file), and ``paths.py`` finds them (without pySigma); ``bounded_yaml.py`` reads YAML with
libyaml's speed and refuses hostile documents; ``limits.py`` caps what one rule may cost before
pySigma builds it; ``conditions.py`` parses conditions into pySigma's objects without pyparsing.
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "load_rules": "load",
    "load_text": "load",
    "expand_paths": "paths",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
