"""Unit tests for the language-neutral evaluator ``backends.query.evaluate``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from backends.query.ast import (
    And,
    Cidr,
    Compare,
    CompareOp,
    Const,
    Equals,
    Exists,
    FieldEquals,
    Glob,
    Keyword,
    Missing,
    MultiValued,
    Node,
    Not,
    Or,
    Regex,
    RegexDialect,
    Text,
    Wildcard,
)
from backends.query.errors import UnsupportedQueryError
from backends.query.evaluate import compile_query, evaluate, matches
from backends.query.explain import explain
from backends.query.matching import PatternSyntaxError

T, F = Const(True), Const(False)
#: A leaf that is unknown on an event without field "u".
U = Equals(field="u", value="x", missing=Missing.NULL)
TRUTH = {True: T, False: F, None: U}


# --- three-valued logic ------------------------------------------------------------------------


def _and3(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or3(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


@pytest.mark.parametrize("a", [True, False, None])
@pytest.mark.parametrize("b", [True, False, None])
def test_truth_tables(a: bool | None, b: bool | None) -> None:
    assert evaluate(And((TRUTH[a], TRUTH[b])), {}) is _and3(a, b)
    assert evaluate(Or((TRUTH[a], TRUTH[b])), {}) is _or3(a, b)
    assert matches(And((TRUTH[a], TRUTH[b])), {}) is (_and3(a, b) is True)


@pytest.mark.parametrize(("a", "expected"), [(True, False), (False, True), (None, None)])
def test_not(a: bool | None, expected: bool | None) -> None:
    assert evaluate(Not(TRUTH[a]), {}) is expected
    assert matches(Not(TRUTH[a]), {}) is (expected is True)


def test_empty_and_or() -> None:
    assert evaluate(And(()), {}) is True
    assert evaluate(Or(()), {}) is False


class _RecordingEvent(dict):
    """An event that records which keys the evaluator asked about."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.asked: list[object] = []

    def __contains__(self, key: object) -> bool:
        self.asked.append(key)
        return super().__contains__(key)


def test_short_circuit_skips_later_children() -> None:
    probe = Equals(field="p", value="x")
    event = _RecordingEvent({"p": "x"})
    # The compiled predicate itself (evaluate() wraps the event in a per-event lookup cache).
    assert compile_query(And((F, probe)))(event) is False
    assert compile_query(Or((T, probe)))(event) is True
    assert event.asked == []
    assert compile_query(And((T, probe)))(event) is True
    assert event.asked == ["p"]


# --- dispatch and caching ----------------------------------------------------------------------


def test_unknown_node_raises_naming_it() -> None:
    @dataclass(frozen=True)
    class Mystery(Node):
        pass

    with pytest.raises(UnsupportedQueryError, match="Mystery"):
        compile_query(Mystery())


def test_subclass_dispatch_through_mro() -> None:
    @dataclass(frozen=True)
    class CasedEquals(Equals):
        pass

    assert matches(CasedEquals(field="a", value="x"), {"a": "x"})


def test_compiled_once_per_node() -> None:
    node = Equals(field="a", value="x")
    assert compile_query(node) is compile_query(Equals(field="a", value="x"))


def test_cache_keeps_true_and_one_apart() -> None:
    # Equals(value=True) == Equals(value=1) as dataclasses, but they match different values.
    assert matches(Equals(field="a", value=True), {"a": "true"})
    assert not matches(Equals(field="a", value=1), {"a": "true"})
    assert matches(Equals(field="a", value=1), {"a": 1})
    assert not matches(Equals(field="a", value=True), {"a": 1})


# --- missing, null, empty, multi-valued, max_length --------------------------------------------


def test_missing_policy() -> None:
    eq_false = Equals(field="a", value="x")
    eq_null = Equals(field="a", value="x", missing=Missing.NULL)
    for event in ({}, {"a": None}, {"a": [None]}, {"a": []}):
        assert evaluate(eq_false, event) is False
        assert evaluate(Not(eq_false), event) is True
        assert evaluate(eq_null, event) is None
        assert evaluate(Not(eq_null), event) is None
        assert evaluate(Exists(field="a"), event) is False
        assert evaluate(Exists(field="a", missing=Missing.NULL), event) is False


def test_empty_string_is_a_value() -> None:
    assert matches(Exists(field="a"), {"a": ""})
    assert matches(Equals(field="a", value=""), {"a": ""})
    assert not matches(Equals(field="a", value=""), {})


def test_multi_valued_any_and_none() -> None:
    leaf = Equals(field="a", value="x")
    assert matches(leaf, {"a": ["y", "x"]})
    assert not matches(Not(leaf), {"a": ["y", "x"]})
    assert matches(Not(leaf), {"a": ["y", "z"]})


def test_max_length() -> None:
    leaf = Glob(field="a", parts=(Wildcard.ANY,), max_length=3)
    assert matches(leaf, {"a": "abc"})
    assert not matches(leaf, {"a": "abcd"})
    assert matches(leaf, {"a": ["abcd", "ab"]})
    assert not matches(Exists(field="a", max_length=3), {"a": "abcd"})
    assert matches(Exists(field="a", max_length=3), {"a": ["abcd", "x"]})
    null = Equals(field="a", value="abcd", max_length=3, missing=Missing.NULL)
    assert evaluate(null, {"a": "abcd"}) is None  # all values too long: behaves as missing
    assert matches(Equals(field="n", value=12345, max_length=3), {"n": 12345})  # numbers kept
    assert not matches(Exists(field="a", max_length=1), {"a": "\U0001f600"})  # UTF-16 length 2


# --- Equals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leaf", "value", "expected"),
    [
        (Equals(field="a", value="cmd.exe"), "cmd.exe", True),
        (Equals(field="a", value="cmd.exe"), "CMD.EXE", False),
        (Equals(field="a", value="cmd.exe", case_sensitive=False), "CMD.EXE", True),
        (Equals(field="a", value="CMD.exe", lowercase_value=True), "cmd.EXE", True),
        (Equals(field="a", value=4688), "4688", True),
        (Equals(field="a", value=4688), 4688.0, True),
        (Equals(field="a", value=4688), "04688", True),
        (Equals(field="a", value=4688), "x4688", False),
        (Equals(field="a", value=4688), True, False),
        (Equals(field="a", value="4688"), 4688, True),
        (Equals(field="a", value="1.0"), 1.0, True),
        (Equals(field="a", value=True), True, True),
        (Equals(field="a", value=True), "true", True),
        (Equals(field="a", value=True), "TRUE", False),
        (Equals(field="a", value=True, case_sensitive=False), "TRUE", True),
        (Equals(field="a", value=False), 0, False),
        (Equals(field="a", value="true"), True, True),
    ],
)
def test_equals(leaf: Equals, value: object, expected: bool) -> None:
    assert matches(leaf, {"a": value}) is expected


# --- Glob, Regex, Cidr, Compare ----------------------------------------------------------------


def test_glob_case_rules() -> None:
    parts = (Wildcard.ANY, "\\CMD.exe")
    assert matches(Glob(field="a", parts=parts), {"a": "C:\\x\\CMD.exe"})
    assert not matches(Glob(field="a", parts=parts), {"a": "C:\\x\\cmd.exe"})
    assert matches(Glob(field="a", parts=parts, case_sensitive=False), {"a": "C:\\X\\cmd.EXE"})
    assert matches(Glob(field="a", parts=parts, lowercase_value=True), {"a": "c:\\CMD.EXE"})
    assert matches(Glob(field="a", parts=("4", Wildcard.ONE)), {"a": 42})


def test_regex_dialects() -> None:
    lucene = Regex(field="a", pattern="cmd", dialect=RegexDialect.LUCENE, anchored=True)
    assert matches(lucene, {"a": "cmd"})
    assert not matches(lucene, {"a": "x cmd"})  # Lucene matches the whole value
    pcre = Regex(field="a", pattern="cmd")
    assert matches(pcre, {"a": "x cmd y"})  # PCRE searches
    anchored = Regex(field="a", pattern="cmd", anchored=True)
    assert not matches(anchored, {"a": "x cmd"})
    assert matches(Regex(field="a", pattern="CMD", flags="i"), {"a": "cmd"})
    insensitive = Regex(field="a", pattern="CMD", case_sensitive=False)
    assert matches(insensitive, {"a": "cmd"})
    ci_lucene = Regex(field="a", pattern="CMD", dialect=RegexDialect.LUCENE, case_sensitive=False)
    assert matches(ci_lucene, {"a": "cmd"})


def test_regex_lowercase_value_does_not_lowercase_pattern() -> None:
    upper = Regex(field="a", pattern="CMD.*", dialect=RegexDialect.LUCENE, lowercase_value=True)
    lower = Regex(field="a", pattern="cmd.*", dialect=RegexDialect.LUCENE, lowercase_value=True)
    assert not matches(upper, {"a": "CMD.EXE"})
    assert matches(lower, {"a": "CMD.EXE"})


def test_regex_errors_surface_at_compile_time() -> None:
    with pytest.raises(PatternSyntaxError):
        compile_query(Regex(field="a", pattern="(ab", dialect=RegexDialect.LUCENE))
    with pytest.raises(UnsupportedQueryError):
        compile_query(Regex(field="a", pattern="a", dialect=RegexDialect.LUCENE, flags="i"))
    with pytest.raises(PatternSyntaxError):
        compile_query(Cidr(field="ip", network="300.0.0.0/8"))


def test_cidr_leaf() -> None:
    leaf = Cidr(field="ip", network="10.0.0.0/8")
    assert matches(leaf, {"ip": ["192.168.0.1", "10.2.3.4"]})
    assert not matches(leaf, {"ip": "192.168.0.1"})
    assert matches(Cidr(field="ip", network="2001:db8::/32"), {"ip": "2001:db8::5"})


@pytest.mark.parametrize(
    ("op", "value", "event_value", "expected"),
    [
        (CompareOp.GT, 10, 11, True),
        (CompareOp.GT, 10, "11", True),
        (CompareOp.GT, 10, "9", False),
        (CompareOp.LTE, 10, 10.0, True),
        (CompareOp.LT, 10, "abc", False),
        (CompareOp.GTE, "b", "a", False),
        (CompareOp.LT, "b", "a", True),
        (CompareOp.LT, "b", "B", True),  # case-sensitive lexicographic order
        (CompareOp.LT, "10", "9", False),  # strings compare as strings
        (CompareOp.EQ, 5, "5", True),
        (CompareOp.NEQ, 5, [5, 6], True),  # some value differs
    ],
)
def test_compare(op: CompareOp, value: object, event_value: object, expected: bool) -> None:
    assert matches(Compare(field="a", op=op, value=value), {"a": event_value}) is expected


# --- Text --------------------------------------------------------------------------------------


def test_text_any_token_phrase_and_wildcard() -> None:
    event = {"m": "C:\\Windows\\System32\\cmd.exe /c Invoke-Mimikatz"}
    assert matches(Text(field="m", parts=("CMD.EXE",)), event)
    assert matches(Text(field="m", parts=("nothing here invoke",)), event)  # any token (OR)
    assert not matches(Text(field="m", parts=("cmd",)), event)  # cmd.exe is one token
    assert matches(Text(field="m", parts=("invoke mimikatz",), phrase=True), event)
    assert not matches(Text(field="m", parts=("mimikatz invoke",), phrase=True), event)
    assert matches(Text(field="m", parts=("MIMI", Wildcard.ANY)), event)
    assert not matches(Text(field="m", parts=(Wildcard.ANY, "32\\cmd", Wildcard.ANY)), event)
    assert not matches(Text(field="m", parts=("--",)), event)  # no tokens: matches nothing
    assert not matches(Text(field="m", parts=("x",)), {})


def test_text_unsupported() -> None:
    with pytest.raises(UnsupportedQueryError):
        compile_query(Text(field="m", parts=("a",), analyzer="powershell_script_analyzer"))
    with pytest.raises(UnsupportedQueryError):
        compile_query(Text(field="m", parts=("a", Wildcard.ANY), phrase=True))


# --- FieldEquals, Keyword ----------------------------------------------------------------------


def test_field_equals() -> None:
    leaf = FieldEquals(field="a", other="b")
    assert matches(leaf, {"a": "x", "b": ["y", "x"]})
    assert not matches(leaf, {"a": "x", "b": "X"})
    assert matches(FieldEquals(field="a", other="b", case_sensitive=False), {"a": "x", "b": "X"})
    assert matches(leaf, {"a": 4688, "b": "4688"})
    assert evaluate(leaf, {"a": "x"}) is False
    assert evaluate(FieldEquals(field="a", other="b", missing=Missing.NULL), {"b": "x"}) is None


def test_keyword() -> None:
    event = {"process": {"name": "cmd.exe", "pid": 4}, "message": "Started Mimikatz", "x": None}
    assert matches(Keyword(parts=(Wildcard.ANY, "mimikatz", Wildcard.ANY)), event)
    assert not matches(Keyword(parts=("mimikatz",)), event)  # whole value, not a token
    assert not matches(Keyword(parts=("CMD.EXE",), case_sensitive=True), event)
    assert matches(Keyword(parts=("CMD.EXE",)), event)
    assert matches(Keyword(parts=("4",)), event)
    only_raw = Keyword(parts=(Wildcard.ANY, "cmd", Wildcard.ANY), fields=("_raw",))
    assert not matches(only_raw, event)
    assert matches(only_raw, {"_raw": "a cmd b", "process.name": "x"})


# --- explain -----------------------------------------------------------------------------------


def test_explain_messages() -> None:
    leaf = Equals(field="process.name", value="cmd.exe")
    assert explain(leaf, {"process": {"name": "CMD.EXE"}}) == (
        "process.name == 'cmd.exe' (case-sensitive) was false: process.name is 'CMD.EXE'"
    )
    assert explain(leaf, {}) == (
        "process.name == 'cmd.exe' (case-sensitive) was false: process.name missing"
    )
    tree = And((Exists(field="a"), leaf))
    assert explain(tree, {"a": 1, "process.name": "x"}).startswith("process.name == 'cmd.exe'")
    assert explain(tree, {"a": 1, "process.name": "cmd.exe"}).startswith("and of 2 was true")
    either = Or((leaf, Glob(field="b", parts=(Wildcard.ANY,))))
    assert explain(either, {"b": "z"}) == "b like '*' (case-sensitive) was true: b is 'z'"
    assert explain(either, {}).startswith("or of 2 was false: no alternative was true")
    assert "unknown" in explain(Not(U), {})
    long = Equals(field="a", value="x", max_length=2)
    assert "longer than 2 characters" in explain(long, {"a": "xyz"})
    assert "b missing" in explain(FieldEquals(field="a", other="b"), {"a": "x"})
    assert explain(Const(True), {}) == "constant true"


@pytest.mark.parametrize("kind", [Or, And])
def test_explain_of_an_unknown_names_the_unknown_operand_the_event_has(kind: type) -> None:
    # Two operands are unknown: one on a field the event lacks, one on a field holding two
    # values (ES|QL's single-value operators). The second is why a target that reads the field
    # misses the event; the explanation named the first, whatever the order.
    several = Equals(field="p", value="x", missing=Missing.NULL,
                     multi_valued=MultiValued.NULL_DISTINCT)
    event = {"p": ["x", "y"]}
    for children in ((U, several), (several, U)):
        tree = kind(children)
        assert evaluate(tree, event) is None
        assert explain(tree, event).startswith("p == 'x'"), explain(tree, event)
