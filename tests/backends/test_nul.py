"""U+0000 (NUL) in a rule's value: only EQL documents an escape for it (``\\u{XX}``, semantics
``unicode_escape_digits``), which its emitter writes; every other emitter refuses the test with
the reason (``backends.common.refuse_nul``). The values were emitted raw in every query, where
what each engine does with a NUL (end the string, reject the query, match it) is undocumented."""

from __future__ import annotations

import pytest
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingPipeline

from backends.eql.backend import SigportEqlBackend
from backends.esql.backend import SigportEsqlBackend
from backends.kql.backend import SigportKqlBackend
from backends.kql_es.backend import SigportKqlEsBackend
from backends.kusto.backend import SigportKustoBackend
from backends.lucene.backend import SigportLuceneBackend
from backends.splunk.backend import SigportSplunkBackend

RULE = """
title: NUL
id: 11111111-2222-3333-4444-555555555556
status: test
logsource: {category: process_creation, product: windows}
detection:
    sel:
        CommandLine|contains: "a\\0b"
    condition: sel
"""

REFUSING = [SigportKqlBackend, SigportKqlEsBackend, SigportLuceneBackend, SigportEsqlBackend,
            SigportSplunkBackend, SigportKustoBackend]


@pytest.mark.parametrize("backend", REFUSING)
@pytest.mark.parametrize("test", [
    'CommandLine|contains: "a\\0b"',
    'CommandLine|re: "a\\0b"',
    'CommandLine|cased: "a\\0b"',
    '"Command\\0Line": "ab"',
])
def test_a_nul_is_refused_where_no_escape_is_documented(backend: type, test: str) -> None:
    rule = RULE.replace('CommandLine|contains: "a\\0b"', test)
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match=r"U\+0000 \(NUL\)"):
        backend(ProcessingPipeline()).convert(SigmaCollection.from_yaml(rule))


@pytest.mark.parametrize("backend", REFUSING)
def test_a_keyword_holding_nul_is_refused(backend: type) -> None:
    rule = RULE.replace('sel:\n        CommandLine|contains: "a\\0b"', 'sel:\n        - "a\\0b"')
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match=r"U\+0000 \(NUL\)"):
        backend(ProcessingPipeline()).convert(SigmaCollection.from_yaml(rule))


@pytest.mark.parametrize("test", ['CommandLine|contains: "a\\0b"', 'CommandLine|re: "a\\0b"',
                                  'CommandLine|contains|cased: "a\\0b"'])
def test_eql_writes_nul_as_its_documented_escape(test: str) -> None:
    from backends.eql.parser import parse
    from backends.query.evaluate import matches

    rule = RULE.replace('CommandLine|contains: "a\\0b"', test)
    (query,) = SigportEqlBackend(ProcessingPipeline()).convert(SigmaCollection.from_yaml(rule))
    assert "\0" not in query and "\\u{00}" in query, query
    tree = parse(query)
    assert matches(tree, {"CommandLine": "xa\0by"}) is True
    assert matches(tree, {"CommandLine": "xaby"}) is False


def test_eql_refuses_a_nul_in_a_field_name() -> None:
    rule = RULE.replace('CommandLine|contains: "a\\0b"', '"Command\\0Line": "ab"')
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="a field name holds U"):
        SigportEqlBackend(ProcessingPipeline()).convert(SigmaCollection.from_yaml(rule))
