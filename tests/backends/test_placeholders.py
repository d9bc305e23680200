"""A placeholder left unresolved by the pipeline is refused the same way by every emitter
(``backends.common.refuse_placeholders``), never emitted and never an internal error."""

from __future__ import annotations

import pytest
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingPipeline

from backends.eql.backend import SigportEqlBackend
from backends.esql.backend import SigportEsqlBackend
from backends.kql.backend import SigportKqlBackend
from backends.kusto.backend import SigportKustoBackend
from backends.splunk.backend import SigportSplunkBackend
from backends.lucene.backend import SigportLuceneBackend

RULE = r"""
title: Placeholder
id: 11111111-2222-3333-4444-555555555555
status: test
logsource:
    category: process_creation
    product: windows
detection:
    sel:
        Image|expand: '%Admins%\foo*.exe'
    condition: sel
"""


@pytest.mark.parametrize(
    "backend",
    [
        SigportEqlBackend,
        SigportKqlBackend,
        SigportLuceneBackend,
        SigportEsqlBackend,
        SigportSplunkBackend,
        SigportKustoBackend,
    ],
)
@pytest.mark.parametrize("cased", [False, True])
def test_unresolved_placeholder_is_refused(backend: type, cased: bool) -> None:
    rule = RULE.replace("|expand", "|expand|cased") if cased else RULE
    with pytest.raises(
        SigmaFeatureNotSupportedByBackendError,
        match=r"unresolved placeholder %Admins% in value .*apply a pipeline that resolves it",
    ):
        backend(ProcessingPipeline()).convert(SigmaCollection.from_yaml(rule))
