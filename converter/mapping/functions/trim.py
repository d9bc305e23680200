"""``trimmed``: a shipper that strips leading and trailing whitespace from a value (the query side;
the render side, ``render_trimmed``, is in ``render.py``, which reads ``java_trim`` from here).

The Windows integration's powershell_operational pipeline renames ``ScriptBlockText`` to
``powershell.file.script_block_text`` and then trims it (a ``trim`` processor; elastic/integrations
``packages/windows/data_stream/powershell_operational/elasticsearch/ingest_pipeline/default.yml``).
Elasticsearch's trim processor returns Java's ``String.trim()`` of the value
(``org.elasticsearch.ingest.common.TrimProcessor``), which removes every leading and trailing
character whose code is at most U+0020 (the space and the C0 control characters) and nothing else:
https://docs.oracle.com/en/java/javase/21/docs/api/java.base/java/lang/String.html#trim().

Query side: a glob ``*Q*`` (``contains``, ``contains|all``, a wildcard pattern that starts and ends
with ``*``) whose first and last tokens inside the outer ``*`` are literal characters above U+0020
matches a value exactly when it matches the trimmed value: a match of ``Q`` starts and ends at a
character that trimming never removes, so it lies inside the trimmed value. Sigma's case rule keeps
this (no character up to U+0020 has a case partner). Every other test depends on the characters
trimming may remove (an anchored start or end, a whitespace edge, a ``?`` at an edge, a regular
expression): a string test of that kind is converted as the same test on the trimmed value, a
declared approximation (``approximations.approximate``: a warning, so ``check`` calls it "not
proven"), unless an anchored edge of the pattern is itself a character trimming removes (``'foo '``
could then never match); that, a regular expression or any other test is refused. ``null`` and ``exists`` are kept:
trimming never removes the field.
"""

from __future__ import annotations

from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaExists, SigmaNull, SigmaString, SigmaType

from converter.mapping.functions.approximations import approximate
from converter.mapping.functions.tree import (
    MANY,
    Leaf,
    Node,
    NotExact,
    QueryResult,
    Token,
    describe,
    make_string,
    rewrite,
    to_tokens,
)
from converter.mapping.table import FieldTarget

#: Java's ``String.trim()`` removes the characters up to this code point.
TRIM_MAX = 0x20


def java_trim(text: str) -> str:
    """``text`` without its leading and trailing characters up to U+0020 (``String.trim()``)."""
    start, end = 0, len(text)
    while start < end and ord(text[start]) <= TRIM_MAX:
        start += 1
    while end > start and ord(text[end - 1]) <= TRIM_MAX:
        end -= 1
    return text[start:end]


def _kept(token: Token) -> bool:
    """True for a literal character that trimming never removes."""
    return isinstance(token, str) and ord(token) > TRIM_MAX


def query_trimmed(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """``*Q*`` with literal non-whitespace edges -> the same test on the trimmed field; else refused."""
    target = prefix + spec.target
    return rewrite(item, spec, prefix, lambda value: trimmed_node(item, target, value))


def trimmed_node(item: SigmaDetectionItem, target: str, value: SigmaType) -> Node:
    """The test ``value`` of ``item`` on ``target``, a field holding the value trimmed: exact for
    ``*Q*`` with literal non-whitespace edges, ``null`` and ``exists``; a declared approximation
    for another glob; refused otherwise (``NotExact``). Also ``any_of``'s targets listed in its
    ``trimmed`` parameter (``query.query_any_of``)."""
    if isinstance(value, (SigmaNull, SigmaExists)):
        # Trimming never removes a value: "" is deleted before it (drop_values), and a value
        # that trims to "" stays, empty.
        return Leaf(target, value)
    if isinstance(value, SigmaString):
        tokens = to_tokens(value)
        inner = tokens
        while inner and inner[0] is MANY:
            inner = inner[1:]
        while inner and inner[-1] is MANY:
            inner = inner[:-1]
        if (
            inner
            and tokens[0] is MANY
            and tokens[-1] is MANY
            and _kept(inner[0])
            and _kept(inner[-1])
        ):
            return Leaf(target, value)
        if not tokens or (tokens[0] is not MANY and not _kept(tokens[0])) or (
            tokens[-1] is not MANY and not _kept(tokens[-1])
        ):
            # An anchored edge that trimming removes (`'foo '`, `?foo`): the same test on the
            # trimmed value could never hold where Sigma's does; no useful query exists.
            raise NotExact(
                f"{make_string(tokens).original!r} begins or ends with whitespace, a control "
                f"character or '?', which the shipper's trimming of {target} removes "
                f"(String.trim()): no query on the trimmed value can hold where it does"
            )
        # The same test on the trimmed value is right wherever the value's edges hold no
        # character up to U+0020 next to the tested text; no query can see what the shipper
        # removed, so the test is converted as a declared approximation, not refused.
        approximate(
            f"{item.field}: {make_string(tokens).original!r} is not a contains-style pattern "
            f"('*text*') whose text starts and ends with a character above U+0020, and the "
            f"shipper trims the leading and trailing whitespace and control characters of "
            f"{target} (String.trim()): the query tests the trimmed value, so it can miss or "
            f"match a value whose edges the trimming changed",
            trims=item.field,
        )
        return Leaf(target, value)
    raise NotExact(
        f"{describe(value)} could depend on the leading or trailing whitespace the shipper trims"
    )
