"""The caseless-encoded copies an ingest pipeline writes (``backends/query/ingest.py``, issue 14)."""

from __future__ import annotations

import pytest

from backends.kql.semantics import SEMANTICS as KQL
from backends.query.fields import FieldModel, FieldModelError
from backends.query.folding import simple_lower
from backends.query.ingest import (
    META_KEY,
    COPY_SWAP,
    WHITESPACE_SWAP,
    apply_copies,
    caseless_encode,
    copy_value,
    painless_params,
    painless_source,
)


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("CMD.EXE /C Whoami", "cmd.exe␠/c␠whoami"),
        # U+0130 lowercases to one i (Character.toLowerCase), not to i + U+0307 (String.toLowerCase).
        ("WHOAMİ", "whoami"),
        # A final capital sigma is sigma, not the final form (no context rule).
        ("ΟΔΟΣ", "οδοσ"),
        ("ς ſ K", "ς␠ſ␠k"),  # the Kelvin sign lowercases to k; ς and ſ stay
        ("a\tb\nc\rd\u3000e", "a␉b␊c␍d␣e"),
        # The symbols in the data become the whitespace: the swap is a bijection.
        ("␠␉␊␍␣", " \t\n\r\u3000"),
        ("a\u00a0b", "a\u00a0b"),  # query_string does not split at a no-break space
        ("\\*.LNK \u2217", "\\\u2217.lnk\u2420*"),  # the literal * too (kql-es: live in query_string)
        ("𐐀", "𐐨"),  # Deseret: per code point, also beyond the BMP
    ],
)
def test_caseless_encode(text: str, encoded: str) -> None:
    assert caseless_encode(text) == encoded


def test_the_swap_is_the_query_string_whitespace_and_an_involution() -> None:
    assert set(WHITESPACE_SWAP) == set(str(KQL.get("query_string_splits_whitespace")))
    sample = "".join(COPY_SWAP) + "".join(COPY_SWAP.values()) + "x"
    assert caseless_encode(caseless_encode(sample)) == sample
    # No symbol is cased or whitespace, so lowercasing and swapping commute.
    for symbol in COPY_SWAP.values():
        assert simple_lower(symbol) == symbol and not symbol.isspace()


def test_copy_value_keeps_only_strings() -> None:
    assert copy_value("A B") == "a␠b"
    assert copy_value(["A", 5, None, "B"]) == ["a", "b"]
    assert copy_value([1, 2]) is None
    assert copy_value(42) is None and copy_value(None) is None


def test_apply_copies_reads_flat_and_nested_and_never_changes_the_event() -> None:
    copies = [("sigport.caseless.process.name", "process.name"),
              ("sigport.caseless.process.command_line", "process.command_line")]
    flat = {"process.name": "CMD.EXE"}
    out = apply_copies(flat, copies)
    assert out == {"process.name": "CMD.EXE", "sigport.caseless.process.name": "cmd.exe"}
    assert flat == {"process.name": "CMD.EXE"}
    nested = {"process": {"command_line": "A  B"}}
    assert apply_copies(nested, copies)["sigport.caseless.process.command_line"] == "a␠␠b"
    untouched = {"process": {"pid": 4}}
    assert apply_copies(untouched, copies) is untouched


def test_the_painless_script_swaps_the_same_characters() -> None:
    source = painless_source()
    params = painless_params([("process.name", "sigport.caseless.process.name")])
    assert params["copies"] == [["process.name", "sigport.caseless.process.name", True]]
    # The regex class holds every swapped character, and the map swaps both ways.
    swap = params["swap"]
    assert set(COPY_SWAP) == set(WHITESPACE_SWAP) | {"*"}
    for space, symbol in COPY_SWAP.items():
        assert swap[space] == symbol and swap[symbol] == space
        for char in (space, symbol):
            assert f"\\u{ord(char):04x}" in source
    assert len(swap) == 2 * len(COPY_SWAP)
    # İ and Σ are mapped before String.toLowerCase(Locale.ROOT), the only code points it maps
    # by SpecialCasing under the root locale.
    assert "(char) 0x0130), 'i')" in source and "(char) 0x03a3)" in source
    assert "toLowerCase(Locale.ROOT)" in source


def test_the_field_model_reads_a_copy_from_mapping_meta() -> None:
    template = {"template": {"mappings": {"properties": {"sigport": {"properties": {
        "caseless": {"properties": {"process": {"properties": {"name": {
            "type": "wildcard", "meta": {META_KEY: "process.name"},
        }}}}},
    }}}}}}
    model = FieldModel.from_es_mapping(template, base=FieldModel.builtin("windows"))
    copy = model.caseless_copy("process.name")
    assert copy is not None and copy.name == "sigport.caseless.process.name"
    assert copy.type == "wildcard" and copy.source == copy.name
    assert model.copies() == [("sigport.caseless.process.name", "process.name")]
    # The copy does not redefine its source field.
    assert model.lookup("process.name") == FieldModel.builtin("windows").lookup("process.name")
    assert FieldModel.builtin("windows").caseless_copy("process.name") is None


def test_a_copy_must_be_a_wildcard_field() -> None:
    bad = {"properties": {"x": {"type": "keyword", "meta": {META_KEY: "process.name"}}}}
    with pytest.raises(FieldModelError, match="wildcard"):
        FieldModel.from_es_mapping(bad)


def test_a_cased_copy_keeps_the_case_and_swaps_alike() -> None:
    from backends.query.ingest import CASED_META_KEY

    out = apply_copies({"process": {"command_line": "Curl -C X*"}},
                       [("sigport.caseless.process.command_line", "process.command_line")],
                       [("sigport.cased.process.command_line", "process.command_line")])
    assert out["sigport.cased.process.command_line"] == "Curl␠-C␠X\u2217"
    assert out["sigport.caseless.process.command_line"] == "curl␠-c␠x\u2217"
    params = painless_params([("a", "sigport.caseless.a")], [("a", "sigport.cased.a")])
    assert params["copies"] == [["a", "sigport.caseless.a", True], ["a", "sigport.cased.a", False]]
    # The script lowercases only where the triple says so.
    assert "boolean lower = pair.size() < 3 || pair[2] == true;" in painless_source()
    template = {"template": {"mappings": {"properties": {"c": {
        "type": "wildcard", "meta": {CASED_META_KEY: "process.command_line"}}}}}}
    model = FieldModel.from_es_mapping(template, base=FieldModel.builtin("windows"))
    copy = model.cased_copy("process.command_line")
    assert copy is not None and copy.name == "c" and model.caseless_copy("process.command_line") is None
    assert model.cased_copies() == [("c", "process.command_line")] and model.copies() == []
