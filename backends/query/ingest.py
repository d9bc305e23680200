"""Lowercased copies that an ingest pipeline writes: what a document holds once indexed.

Kibana's KQL matches ``keyword`` fields case-sensitively, and the only exact case-insensitive form
a mapping alone offers — a ``keyword`` multi-field with a ``lowercase`` normalizer — stops at its
``ignore_above`` (at most 8,191 characters, for Lucene's 32,766-byte term limit), while
``process.command_line`` is a ``wildcard`` field that indexes values of any length. A ``wildcard``
field takes no normalizer, so ``sigport mapping`` adds, for such fields, a second field written by
an ingest pipeline (the integration's ``<type>-<dataset>@custom`` pipeline, Winlogbeat's
``index.final_pipeline``): a ``wildcard`` field holding the value *caseless-encoded*:

* every code point lowercased by its simple mapping, Java's ``Character.toLowerCase(int)`` — what
  Lucene's ``LowerCaseFilter`` (the ``lowercase`` normalizer) indexes and how the reference reads
  Sigma's "case-insensitive". Painless does not offer ``Character.toLowerCase(int)``; the script
  maps U+0130 to ``i`` and U+03A3 to U+03C3 first and then calls ``String.toLowerCase(Locale.ROOT)``,
  which lowercases every other code point by ``Character.toLowerCase(int)`` (those two are the
  only code points ``Locale.ROOT`` maps by SpecialCasing: ``İ`` to two code points, ``Σ`` by its
  context; OpenJDK ``StringUTF16.toLowerCase``/``toLowerCaseEx``,
  https://github.com/openjdk/jdk/blob/master/src/java.base/share/classes/java/lang/StringUTF16.java);
  the ingest ``lowercase`` processor (plain ``String.toLowerCase(Locale.ROOT)``) would not do;
* the five characters at which Lucene's query parser splits a ``query_string`` (space, tab, LF,
  CR, U+3000) swapped with five visible symbols (``␠ ␉ ␊ ␍ ␣``): Kibana sends a wildcard value on a
  non-``keyword`` field through ``query_string``, which would split ``* -enc *`` into OR-ed terms
  (``query_string_splits_whitespace`` in ``backends/kql/semantics.py``). A swap is a bijection
  on characters, so a pattern matches a value exactly when the swapped pattern matches the
  swapped value, and a symbol in the data is still told apart from the whitespace;
* ``*`` swapped with ``∗`` (U+2217) the same way (``COPY_SWAP``): Elasticsearch's own KQL
  (``kql-es``) sends a pattern on a non-``keyword`` field through a ``query_string`` in which
  every ``*`` of the text is live (``query_string_pattern`` in ``backends/kql_es/semantics.py``),
  so a Sigma value's literal ``*`` (``\\*.lnk``) could not be written on the copy; swapped, it is
  a plain character there for every target.

Only strings are copied (a string, or the strings of a list); the copy is absent when the source
holds none. ``apply_copies`` writes the copies into a rendered event, so ``check`` and
``backtest`` evaluate the query on the document the pipeline produces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .folding import simple_lower

__all__ = [
    "CASED_META_KEY", "CASED_PREFIX", "COPY_PREFIX", "COPY_SWAP", "WHITESPACE_SWAP", "META_KEY",
    "apply_copies", "cased_encode", "caseless_encode", "painless_params", "painless_source",
    "regex_swap",
]

#: query_string's whitespace -> the visible symbol the copy holds instead (and back).
WHITESPACE_SWAP = {" ": "\u2420", "\t": "\u2409", "\n": "\u240a", "\r": "\u240d", "\u3000": "\u2423"}
#: Every character the copy holds swapped (and back): the whitespace and the literal ``*``.
COPY_SWAP = {**WHITESPACE_SWAP, "*": "\u2217"}
#: ``COPY_SWAP`` both ways: the character a copy holds for each character of the value.
SWAP_BOTH = {**COPY_SWAP, **{symbol: char for char, symbol in COPY_SWAP.items()}}
_SWAP_TABLE = str.maketrans(SWAP_BOTH)
#: Where ``sigport mapping`` has the pipeline write the copy of a field (``<prefix><field>``).
COPY_PREFIX = "sigport.caseless."
#: The mapping ``meta`` key naming the field a caseless-encoded copy is written from (ES allows
#: keys of up to 20 characters: https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/mapping-field-meta).
META_KEY = "sigport_caseless_of"
#: The *cased* copy: the value with only the swaps (``COPY_SWAP``), not lowercased. A
#: case-sensitive test (a regex without ``|i`` written as wildcard values, ``|cased``) whose
#: pattern holds whitespace cannot be written on a non-``keyword`` field (query_string splits
#: it) nor on the caseless copy (which has lost the case); on this copy it is exact.
CASED_PREFIX = "sigport.cased."
CASED_META_KEY = "sigport_cased_of"


def regex_swap(info: Any) -> dict[str, str] | None:
    """The character swap a regular expression on field ``info`` (a ``FieldInfo``, or None)
    must be written through: ``SWAP_BOTH`` on a cased copy, whose values are the source's with
    those characters swapped and nothing else (a regex on the source field moves there where
    the source stops at an ``ignore_above``), else None. A swap is a bijection, so a pattern
    whose every character set is mapped through it matches the copy exactly where the
    original matches the source, at any length."""
    return SWAP_BOTH if info is not None and getattr(info, "cased_of", None) else None


def cased_encode(text: str) -> str:
    """``text`` as the pipeline writes it into a cased copy: only the swaps (``COPY_SWAP``)."""
    return text.translate(_SWAP_TABLE)


def caseless_encode(text: str) -> str:
    """``text`` as the pipeline writes it into a copy: lowercased per code point, whitespace
    swapped (see the module docstring). Applied to a Sigma value's literal parts, it gives the
    query text that matches the copy exactly where Sigma matches the original."""
    return simple_lower(text).translate(_SWAP_TABLE)


def _raw(event: Mapping[str, Any], field: str) -> Any:
    """The value at ``field`` the way the script reads it: the dotted key itself, else the path
    through nested objects; None when absent."""
    if field in event:
        return event[field]
    node: Any = event
    for part in field.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def copy_value(value: Any, cased: bool = False) -> Any:
    """The copy of one source value: an encoded string, the encoded strings of a list, or None
    (nothing is written) for anything else or a list without strings. ``cased``: a cased copy
    (``cased_encode``), else a caseless one."""
    encode = cased_encode if cased else caseless_encode
    if isinstance(value, str):
        return encode(value)
    if isinstance(value, list):
        out = [encode(v) for v in value if isinstance(v, str)]
        return out or None
    return None


def apply_copies(event: dict[str, Any], copies: Iterable[tuple[str, str]],
                 cased: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    """``event`` with each ``(copy, source)`` pair's copy written under the dotted name ``copy``,
    caseless for ``copies``, cased for ``cased`` (a new dict when any is written; the event
    itself is never changed)."""
    out = event
    pairs = [(copy, source, False) for copy, source in copies]
    pairs += [(copy, source, True) for copy, source in cased]
    for copy, source, is_cased in pairs:
        value = copy_value(_raw(event, source), is_cased)
        if value is not None:
            if out is event:
                out = dict(event)
            out[copy] = value
    return out


def painless_params(copies: Iterable[tuple[str, str]],
                    cased: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    """The script's ``params``: the ``[source, copy, lowercase]`` triples (``lowercase`` false
    for the cased copies) and the swap (``COPY_SWAP``)."""
    swap = dict(SWAP_BOTH)
    triples = [[source, copy, True] for source, copy in copies]
    triples += [[source, copy, False] for source, copy in cased]
    return {"copies": triples, "swap": swap}


def painless_source() -> str:
    """The script processor's source: for each ``[source, copy]`` pair in ``params.copies``, write
    the caseless-encoded copy (the same steps as ``caseless_encode``; ``params.swap`` holds
    ``COPY_SWAP`` both ways, see ``painless_params``). Every class and method it calls is
    on Painless's allowlist (``java.lang.txt``, ``java.util.txt``, ``java.util.regex.txt`` in
    https://github.com/elastic/elasticsearch/tree/main/modules/lang-painless/src/main/resources/org/elasticsearch/painless);
    ``Character.toLowerCase(int)`` is not, hence ``String.toLowerCase(Locale.ROOT)``. The swap is
    a regex ``replaceAll`` rather than a loop over the characters: Painless caps the iterations
    of a script's loops (a million), which a document with long values could exceed, while its
    regexes (enabled as ``limited`` by default) are bounded by the input's length."""
    chars = "".join(f"\\u{ord(c):04x}" for pair in COPY_SWAP.items() for c in pair)
    return "\n".join([
        "String sigportEncode(String s, Map swap, boolean lower) {",
        "  String t = !lower ? s : s.replace(Character.toString((char) 0x0130), 'i')",
        "      .replace(Character.toString((char) 0x03a3), Character.toString((char) 0x03c3))",
        "      .toLowerCase(Locale.ROOT);",
        f"  return t.replaceAll(/[{chars}]/, m -> swap.get(m.group()));",
        "}",
        "def sigportGet(Map m, String path) {",
        "  if (m.containsKey(path)) { return m.get(path); }",
        "  def node = m;",
        "  for (String part : path.splitOnToken('.')) {",
        "    if (!(node instanceof Map) || !node.containsKey(part)) { return null; }",
        "    node = node.get(part);",
        "  }",
        "  return node;",
        "}",
        "void sigportPut(Map m, String path, def value) {",
        "  String[] parts = path.splitOnToken('.');",
        "  Map node = m;",
        "  for (int i = 0; i < parts.length - 1; ++i) {",
        "    def next = node.get(parts[i]);",
        "    if (!(next instanceof Map)) { next = new HashMap(); node.put(parts[i], next); }",
        "    node = (Map) next;",
        "  }",
        "  node.put(parts[parts.length - 1], value);",
        "}",
        "for (def pair : params.copies) {",
        "  def v = sigportGet(ctx, pair[0]);",
        "  def out = null;",
        "  boolean lower = pair.size() < 3 || pair[2] == true;",
        "  if (v instanceof String) { out = sigportEncode((String) v, params.swap, lower); }",
        "  else if (v instanceof List) {",
        "    List l = new ArrayList();",
        "    for (def x : v) { if (x instanceof String) { l.add(sigportEncode((String) x, params.swap, lower)); } }",
        "    if (!l.isEmpty()) { out = l; }",
        "  }",
        "  if (out != null) { sigportPut(ctx, pair[1], out); }",
        "}",
    ])
