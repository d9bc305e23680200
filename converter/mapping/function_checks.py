"""Load-time checks of the parameters of the mapping tables' vocabulary functions (and of
``exact_only_when``, which guards one of them).

``value_map``, ``value_columns`` and ``any_of``'s ``by`` are exact only on well-formed tables
(``converter/mapping/tables/README.md``, "Functions"); a malformed one is a PipelineError naming
the table file and the entry when the table is loaded, not a wrong query later.
"""

from __future__ import annotations

import re
from typing import Any

from converter.errors import PipelineError

#: Canonical decimal integer text (``converter.mapping.functions.query.DECIMAL``, which imports
#: pySigma: tables are loaded where a warm cached run must not import it).
_DECIMAL = re.compile(r"(?:0|-?[1-9][0-9]*)")
#: The ``ipv6_text`` values a ``to_ip`` entry takes (``converter/mapping/functions/ip.py``).
IPV6_TEXTS = ("sysmon", "compressed", "unknown")


def check_value_map(values: Any, where: str, path: str) -> None:
    """A ``value_map`` table: string keys distinct ignoring case, string targets, no target value
    shared by two keys (the query side could not tell them apart)."""
    if not isinstance(values, dict) or not values:
        raise PipelineError(f"{where}: value_map needs a non-empty `values` mapping", path=path)
    seen_keys: set[str] = set()
    seen_targets: set[str] = set()
    for key, target in values.items():
        targets = target if isinstance(target, list) else [target]
        if not isinstance(key, str) or not targets or not all(isinstance(t, str) for t in targets):
            raise PipelineError(
                f"{where}: value_map maps strings to a string or a list of strings, got "
                f"{key!r}: {target!r}",
                path=path,
                hint="quote YAML words such as 'true' and 'false'",
            )
        if key.lower() in seen_keys or seen_targets & set(targets):
            raise PipelineError(
                f"{where}: value_map keys must differ ignoring case and map to distinct values",
                path=path,
            )
        seen_keys.add(key.lower())
        seen_targets.update(targets)


def check_unlisted(spec: dict[str, Any], where: str, path: str) -> None:
    """``value_map``'s ``unlisted``: absent, or ``kept`` (a code outside the table is written as
    its decimal text) with every key a canonical decimal code and no target value one (a name
    equal to an unlisted code's text would make the two indistinguishable)."""
    unlisted = spec.get("unlisted")
    if unlisted is None:
        return
    values = spec.get("values") or {}
    targets = [t for v in values.values() for t in (v if isinstance(v, list) else [v])]
    if unlisted != "kept" or not all(isinstance(k, str) and _DECIMAL.fullmatch(k) for k in values) \
            or any(isinstance(t, str) and _DECIMAL.fullmatch(t) for t in targets):
        raise PipelineError(
            f"{where}: value_map's unlisted must be `kept`, with canonical decimal keys and no "
            "target value that is one",
            path=path,
        )


def check_value_columns(spec: dict[str, Any], where: str, path: str) -> None:
    """A ``value_columns`` table: string keys distinct ignoring case, each mapped to markers
    ``{column of to: string}``; no entry's markers within another's (an event carrying the one
    would carry the other)."""
    values, to = spec.get("values"), spec.get("to")
    columns = set(to) if isinstance(to, list) else {to}
    if not isinstance(values, dict) or not values or not all(
        isinstance(k, str) and isinstance(m, dict) and m and set(m) <= columns
        and all(isinstance(v, str) for v in m.values())
        for k, m in values.items()
    ):
        raise PipelineError(
            f"{where}: value_columns maps strings to {{column of `to`: string}}",
            path=path,
            hint="quote YAML words such as 'true' and 'false'",
        )
    keys = [k.lower() for k in values]
    markers = [set(m.items()) for m in values.values()]
    if len(set(keys)) != len(keys) or any(
        a <= b for i, a in enumerate(markers) for j, b in enumerate(markers) if i != j
    ):
        raise PipelineError(
            f"{where}: value_columns keys must differ ignoring case, and no entry's markers may "
            "lie within another's",
            path=path,
        )


def check_by(spec: dict[str, Any], where: str, path: str) -> None:
    """``any_of``'s ``by: {field, targets: {value: target of to}, cased?}`` (keys distinct ignoring
    case unless ``cased``)."""
    by, to = spec.get("by"), spec.get("to")
    columns = set(to) if isinstance(to, list) else {to}
    targets = by.get("targets") if isinstance(by, dict) else None
    if (
        spec.get("function") != "any_of"
        or not isinstance(by, dict)
        or not isinstance(by.get("field"), str)
        or not isinstance(targets, dict)
        or not targets
        or not all(isinstance(k, str) and v in columns for k, v in targets.items())
        or not isinstance(by.get("cased", False), bool)
        or (not by.get("cased") and len({k.lower() for k in targets}) != len(targets))
    ):
        raise PipelineError(
            f"{where}: `by` needs function any_of, a `field` and `targets` mapping distinct "
            "values (ignoring case) to targets of `to`",
            path=path,
        )


def check_trimmed(spec: dict[str, Any], where: str, path: str) -> None:
    """``any_of``'s ``trimmed: [target of to]``: the targets where the shipper trims the value."""
    trimmed, to = spec.get("trimmed"), spec.get("to")
    columns = set(to) if isinstance(to, list) else {to}
    if (
        spec.get("function") != "any_of"
        or not isinstance(trimmed, list)
        or not trimmed
        or not all(isinstance(t, str) and t in columns for t in trimmed)
    ):
        raise PipelineError(
            f"{where}: `trimmed` needs function any_of and lists targets of `to`", path=path
        )


def check_exact_only_when(raw: Any, where: str, path: str) -> list[dict[str, Any]]:
    """An entry's ``exact_only_when``: ``[{fields, gate, otherwise, reason}]``."""
    out = []
    for rule in raw or []:
        if not (
            isinstance(rule, dict)
            and isinstance(rule.get("fields"), list) and rule["fields"]
            and isinstance(rule.get("gate"), str)
            and isinstance(rule.get("otherwise"), list)
            and all(isinstance(v, str) for v in rule["otherwise"])
            and isinstance(rule.get("reason"), str)
        ):
            raise PipelineError(
                f"{where}: exact_only_when entries need fields (a list), gate, otherwise (a list "
                "of strings) and reason",
                path=path,
                hint="quote YAML words such as 'true' and 'false'",
            )
        out.append(rule)
    return out


def check_rewrites(rewrites: Any, where: str, path: str) -> None:
    """A ``rewritten_values`` table: a non-empty mapping of strings to other strings (the value
    as written -> the value the shipper may index instead)."""
    if (
        not isinstance(rewrites, dict)
        or not rewrites
        or not all(isinstance(k, str) and isinstance(v, str) and k != v for k, v in rewrites.items())
    ):
        raise PipelineError(
            f"{where}: rewritten_values needs a non-empty `rewrites` mapping of strings to other strings",
            path=path,
        )


def check_ipv6_text(spec: dict[str, Any], where: str, path: str) -> None:
    """``to_ip``'s ``ipv6_text``: how the data source writes IPv6 addresses, always said (a
    whole-value or prefix test is exact only on the one text per address it writes)."""
    if spec.get("ipv6_text") not in IPV6_TEXTS:
        raise PipelineError(
            f"{where}: to_ip needs `ipv6_text`: one of {', '.join(IPV6_TEXTS)} (how the data "
            "source writes IPv6 addresses)",
            path=path,
        )
