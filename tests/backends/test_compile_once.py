"""``compile_once``: a tree's junctions compiled without the cache give ``compile_query``'s
verdicts (generated trees of Equals, Glob, Regex and Exists leaves under And, Or and Not, on
generated events), and its leaves are still the cached, verdict-sharing predicates."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from backends.query import ast
from backends.query.evaluate import _compile_cached, compile_once, compile_query
from backends.query.indexed import Event

ANY = ast.Wildcard.ANY
_VALUES = ("a", "A", "ab", "xaby", "", "b")
_LEAVES = st.one_of(
    st.builds(ast.Equals, field=st.sampled_from(["f", "g"]), value=st.sampled_from(_VALUES),
              case_sensitive=st.booleans()),
    st.builds(ast.Glob, field=st.sampled_from(["f", "g"]),
              parts=st.sampled_from([("a", ANY), (ANY, "b"), (ANY, "ab", ANY), ("ab",)]),
              case_sensitive=st.booleans()),
    st.builds(ast.Regex, field=st.just("f"), pattern=st.sampled_from([".*ab.*", "a.*", "[aA]b"]),
              dialect=st.just(ast.RegexDialect.LUCENE), anchored=st.just(True)),
    st.builds(ast.Exists, field=st.sampled_from(["f", "g"])),
)
_TREES = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.builds(ast.And, st.lists(inner, min_size=1, max_size=4).map(tuple)),
    st.builds(ast.Or, st.lists(inner, min_size=1, max_size=4).map(tuple)),
    st.builds(ast.Not, inner)), max_leaves=10)
_EVENTS = st.fixed_dictionaries({}, optional={"f": st.sampled_from(_VALUES + (["a", "b"],)),
                                              "g": st.sampled_from(_VALUES)})


@settings(max_examples=400, deadline=None)
@given(tree=_TREES, events=st.lists(_EVENTS, min_size=1, max_size=4))
def test_compile_once_gives_compile_querys_verdicts(tree: ast.Node, events: list) -> None:
    once, cached = compile_once(tree), compile_query(tree)
    for event in events:
        assert once(Event(event)) == cached(Event(event)), (tree, event)


def test_junctions_skip_the_cache_and_leaves_share_it() -> None:
    leaf = ast.Equals(field="f", value="a")
    tree = ast.Or((ast.And((leaf, ast.Not(ast.Exists(field="g")))), ast.Glob("f", parts=("z", ANY))))
    _compile_cached.cache_clear()
    compile_once(tree)
    keys = _compile_cached.cache_info().currsize
    assert keys == 3  # the three leaves, no junction
    assert compile_once(leaf) is compile_query(leaf)  # a leaf is the cached predicate
    view = Event({"f": "a"})
    assert compile_once(tree)(view) is True and view.verdicts  # leaf verdicts kept per view
