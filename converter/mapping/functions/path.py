"""``path_basename``: a record that names a file by its base name only, both directions.

CrowdStrike's ProcessRollup2 names the parent process by ``ParentBaseFileName`` (the part of the
parent's image path after the last separator), while Sigma rules test the parent's whole path
(``ParentImage``). The base name decides exactly one form of test on the path: ``endswith
'<sep><name>'`` where ``<name>`` is a literal without the separator, which holds exactly when the
path's base name is ``<name>`` (Sigma's case rule applies to both). Every other test (equality
on a whole path, ``contains``, wildcards inside the name, regular expressions, ``exists``) needs
the directory, which the record does not keep: it is refused (``converter/mapping/tables/README.md``,
"Functions").

With the parameter ``absolute`` (every path the source names holds the separator: a macOS
sensor names an executable by its absolute POSIX path), ``endswith '<name>'`` where ``<name>`` is a
literal without the separator is exact too: the path's last ``len(name)`` characters hold no
separator, so they are the last characters of its base name, and the base name ends with
``<name>`` exactly when the path does. A path without the separator is then no record of the
source (not rendered), since its base name would be nothing while the path may end with the name.
"""

from __future__ import annotations

from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaCasedString, SigmaString, SigmaType

from converter.mapping.functions.render import each, written
from converter.mapping.functions.tree import (
    MANY,
    Leaf,
    Node,
    NotExact,
    QueryResult,
    describe,
    make_string,
    rewrite,
    to_tokens,
)
from converter.mapping.table import FieldTarget

DEFAULT_SEPARATOR = "/"


def _separator(spec: FieldTarget) -> str:
    """The path separator the table names (one character; ``/`` by default)."""
    separator = spec.param("separator", DEFAULT_SEPARATOR)
    if not isinstance(separator, str) or len(separator) != 1:
        raise NotExact(f"separator {separator!r} must be one character")
    return separator


def query_path_basename(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """``endswith '<sep><name>'`` -> equality of the base name field with ``<name>``; else refused."""
    target = prefix + spec.target

    def handle(value: SigmaType) -> Node:
        separator = _separator(spec)
        if isinstance(value, SigmaString):
            tokens = to_tokens(value)
            name = tokens[2:]
            if (
                len(tokens) > 2
                and tokens[0] is MANY
                and tokens[1] == separator
                and all(isinstance(t, str) and t != separator for t in name)
            ):
                return Leaf(target, make_string(name, cased=isinstance(value, SigmaCasedString)))
            suffix = tokens[1:]
            if (
                spec.param("absolute", False) is True
                and len(tokens) > 1
                and tokens[0] is MANY
                and all(isinstance(t, str) and t != separator for t in suffix)
            ):
                # A path holds the separator, so a suffix without one is a suffix of its base name.
                return Leaf(
                    target, make_string(tokens[:1] + suffix, cased=isinstance(value, SigmaCasedString))
                )
            raise NotExact(
                f"{value.original!r} is not endswith '{separator}<name>' with a literal name: "
                f"only the base name ({target}) is recorded, not the directory"
            )
        raise NotExact(f"{describe(value)} needs the whole path; only the base name is recorded")

    return rewrite(item, spec, prefix, handle)


def render_path_basename(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The part after the last separator; nothing when there is none or nothing after it.

    Raises:
        ValueError: with the parameter ``absolute``, a path without the separator (no record of
            the source names one; the checker then does not ask the query about it).
    """
    separator = spec.param("separator", DEFAULT_SEPARATOR)

    def base(v: Any) -> str | None:
        text = str(v)
        if spec.param("absolute", False) is True and separator not in text:
            raise ValueError(f"{spec.sigma}: {text!r} is no absolute path (no {separator!r})")
        return text.rsplit(separator, 1)[1] or None if separator in text else None

    return written(spec.target, each(value, base))
