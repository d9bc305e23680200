"""``registry_hive``: Sysmon's ``TargetObject`` in a data source that spells the registry hives
differently, possibly in several ways (Elastic Defend's ``registry.path``), both directions.

A Sysmon registry path is ``H\\R``: ``H`` one of the hive abbreviations Sysmon writes (``HKLM``,
``HKU``, ``HKCR``), ``R`` the rest, kept unchanged by every shipper. The table's parameter
``hives`` lists, per Sysmon hive, every spelling the target writes for it, the first one
being the primary (``{HKLM: [HKLM, '\\REGISTRY\\MACHINE'], HKU: [HKEY_USERS, '\\REGISTRY\\USER']}``);
``undocumented`` names the Sysmon hives whose target spelling no source documents, with the
reason.

Render: ``H\\R`` -> ``S\\R`` for every spelling ``S`` of ``H``, as ``Alternatives`` (the
renderer writes one target event per spelling, so ``check`` proves a query on each of them). A
value that does not start with a listed hive (``HKCR`` when undocumented, ``HKCU``, which Sysmon
never writes, lowercase hives) raises ``ValueError``: it is not a value of the data source.

Query: a Sigma glob ``P`` on ``H\\R`` becomes the OR of globs on the target value
(``hive_globs``): a glob that starts with ``<H>\\`` is rewritten once per spelling of ``H`` (a
literal value for a hive Sysmon does not write matches nothing); a glob that starts with ``*``
is kept as it is when its first literal run cannot begin inside any hive name, in Sysmon's
spellings or the target's (it then matches at the same place of ``R`` in every spelling, or at
the backslash after the hive, which every spelling has); at the value's first character, a run
that starts like a Sysmon hive (``*HKLM\\Software\\*``) is also rewritten per spelling.
Everything else (a hive prefix followed by a wildcard, ``HK*``; a leading ``?``; two leading
wildcards; a text that could begin inside a hive name such as ``*\\REGISTRY\\*``; a hive whose
spelling is undocumented; regular expressions; numbers) is refused as not exact (``NotExact``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaCasedString, SigmaExists, SigmaNull, SigmaString, SigmaType

from converter.mapping.functions.render import Alternatives, scalar_string, written
from converter.mapping.functions.tree import (
    MANY,
    Leaf,
    Node,
    NotExact,
    QueryResult,
    Token,
    describe,
    make_string,
    or_,
    rewrite,
    to_tokens,
)
from converter.mapping.table import FieldTarget

#: The hive abbreviations Sysmon writes at the start of ``TargetObject`` (it reports keys of
#: ``\REGISTRY\MACHINE`` as ``HKLM``, of ``\REGISTRY\USER`` as ``HKU``, the classes root as
#: ``HKCR``); a Sigma value starting with another name never matches Sysmon data.
SYSMON_HIVES = ("HKLM", "HKU", "HKCR")


def _same(a: str, b: str, cased: bool) -> bool:
    return a == b if cased else a.lower() == b.lower()


def literal_run(tokens: Sequence[Token]) -> str:
    """The literal characters at the start of ``tokens`` (up to the first wildcard)."""
    run = []
    for token in tokens:
        if not isinstance(token, str):
            break
        run.append(token)
    return "".join(run)


def compatible(run: str, text: str, cased: bool) -> bool:
    """Could a glob whose leading literal run is ``run`` match a string that starts with
    ``text`` (and goes on arbitrarily)? Yes unless the two differ within their common length."""
    return all(_same(a, b, cased) for a, b in zip(run, text))


def hive_globs(
    tokens: list[Token],
    cased: bool,
    spellings: Mapping[str, Sequence[str]],
    undocumented: Mapping[str, str] | None = None,
) -> list[tuple[str | None, list[Token]]]:
    """Globs on ``S\\R`` that together match exactly the Sysmon values ``H\\R`` the glob
    ``tokens`` matches, for every spelling ``S`` in ``spellings[H]``; each paired with the
    Sysmon hive it was rewritten for (None: kept unchanged, whatever the hive).

    ``undocumented`` hives refuse a glob that could match their values. Raises ``NotExact``
    where no exact set of globs exists.
    """
    undocumented = undocumented or {}
    run = literal_run(tokens)
    if all(t is MANY for t in tokens):
        return [(None, tokens)]  # any value (never empty)
    if isinstance(tokens[0], str):
        out: list[tuple[str | None, list[Token]]] = []
        for hive in SYSMON_HIVES:
            head = hive + "\\"
            if len(run) >= len(head):
                if not _same(run[: len(head)], head, cased):
                    continue
                if hive in undocumented:
                    raise NotExact(f"the value starts with {head!r}: {undocumented[hive]}")
                for spelling in spellings.get(hive, ()):
                    prefix: list[Token] = list(spelling + "\\")
                    out.append((hive, prefix + tokens[len(head):]))
            elif len(run) == len(tokens):
                continue  # a shorter literal value never matches "<hive>\\<rest>"
            elif compatible(run, head, cased):
                raise NotExact(
                    f"the value starts with {run!r}, part of the hive prefix {head!r}, and then a "
                    "wildcard that would span the hive the data source spells differently"
                )
        return out
    if tokens[0] is not MANY:
        raise NotExact("a value that starts with '?' spans the hive the data source spells differently")
    inner = literal_run(tokens[1:])
    if not inner:
        raise NotExact(
            "a value that starts with two wildcards spans the hive the data source spells differently"
        )
    # A match that begins at the value's first character (`*` matching nothing) starts with a
    # Sysmon hive: the glob without its `*`, rewritten per spelling (`*HKLM\\Software\\*`).
    at_start: list[tuple[str | None, list[Token]]] = []
    if any(compatible(inner, hive + "\\", cased) for hive in SYSMON_HIVES):
        at_start = hive_globs(tokens[1:], cased, spellings, undocumented)
    # Every other place a match could begin inside a hive name, in Sysmon's spelling or the
    # target's, other than the backslash after it. A target spelling that is its Sysmon hive's
    # own name (HKLM) begins with the same text at the same place, which the rewrite covers.
    starts = [hive[i:] + "\\" for hive in SYSMON_HIVES for i in range(1, len(hive))]
    starts += [form[i:] + "\\" for hive, forms in sorted(spellings.items()) for form in forms
               for i in range(len(form)) if i > 0 or form != hive]
    if any(compatible(inner, text, cased) for text in starts):
        raise NotExact(
            f"the text {inner!r} after the leading '*' could begin inside a hive name, which "
            "Sysmon and the data source spell differently"
        )
    return [*at_start, (None, tokens)]


def _hive_params(spec: FieldTarget) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    hives = spec.param("hives") or {}
    if not isinstance(hives, dict) or not hives or not all(
        h in SYSMON_HIVES and isinstance(forms, list) and forms
        and all(isinstance(f, str) and f for f in forms)
        for h, forms in hives.items()
    ):
        raise ValueError(
            f"{spec.sigma}: registry_hive needs `hives`: Sysmon hive ({', '.join(SYSMON_HIVES)}) "
            "-> non-empty list of the target's spellings"
        )
    undocumented = spec.param("undocumented") or {}
    if not isinstance(undocumented, dict):
        raise ValueError(f"{spec.sigma}: registry_hive `undocumented` must map a hive to a reason")
    return {h: tuple(forms) for h, forms in hives.items()}, {
        str(h): str(r) for h, r in undocumented.items()
    }


def render_registry_hive(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """``H\\R`` -> ``{target: Alternatives(S\\R for each spelling S of H)}``."""
    text = scalar_string(value, spec)
    if text is None:
        return {}
    spellings, undocumented = _hive_params(spec)
    hive, sep, rest = text.partition("\\")
    if not sep or hive not in SYSMON_HIVES:
        raise ValueError(
            f"{spec.sigma}: {text!r} does not start with a hive Sysmon writes "
            f"({', '.join(h + chr(92) for h in SYSMON_HIVES)})"
        )
    if hive in undocumented or hive not in spellings:
        raise ValueError(f"{spec.sigma}: {text!r}: {undocumented.get(hive, 'no spelling listed')}")
    return written(spec.target, Alternatives(s + "\\" + rest for s in spellings[hive]))


def query_registry_hive(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """A Sigma test on ``TargetObject`` as the OR of tests on the target's spellings."""
    try:
        spellings, undocumented = _hive_params(spec)
    except ValueError as exc:
        raise NotExact(str(exc)) from None
    target = prefix + spec.target

    def handle(value: SigmaType) -> Node:
        if isinstance(value, (SigmaNull, SigmaExists)):
            return Leaf(target, value)  # the path is written exactly when TargetObject is
        if isinstance(value, SigmaString):
            cased = isinstance(value, SigmaCasedString)
            globs = hive_globs(to_tokens(value), cased, spellings, undocumented)
            return or_(*(Leaf(target, make_string(glob, cased)) for _, glob in globs))
        raise NotExact(f"{describe(value)} cannot be tested across hive spellings")

    return rewrite(item, spec, prefix, handle)


def invert_registry_hive(value: Any, spec: FieldTarget) -> str | None:
    """The Sysmon value a target path stands for (for events given in the target schema): the
    hive of the longest spelling the path starts with, then the rest; None for another form."""
    if not isinstance(value, str):
        return None
    spellings, _ = _hive_params(spec)
    forms = sorted(((s, h) for h, forms in spellings.items() for s in forms),
                   key=lambda pair: -len(pair[0]))
    for spelling, hive in forms:
        head = spelling + "\\"
        if value[: len(head)].lower() == head.lower():
            return hive + "\\" + value[len(head):]
    return None
