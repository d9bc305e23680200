"""Refuse a test left on an analysed (``text``) field: no Elasticsearch query matches its whole value.

A ``text`` or ``match_only_text`` field is indexed as the tokens its analyzer makes
(https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/text): a KQL or Lucene
term, wildcard or regexp query on it matches tokens, not the string a Sigma test reads, and EQL
cannot search it at all (``backends/eql/semantics.py``, ``text_fields_supported``). A table may
still map a Sigma field to such a field when it is the only copy of the value the data source
keeps (PowerShell's ``powershell.file.script_block_text``): then the only exact test is on the
caseless copy of it that ``sigport mapping``'s ingest pipeline writes (a ``wildcard`` field), to
which the ``-caseless`` step moves every case-insensitive string test. This step runs after it and
refuses what stayed on the text field (``|cased`` values, regular expressions, ``null``,
``exists``, or every test when no ``--mapping`` names the copy), naming the field and the data
source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sigma.exceptions import SigmaTransformationError
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetectionItem


@dataclass
class TextFieldFailure(DetectionItemTransformation):
    """Fail on a detection item whose field the field model types as analysed text."""

    #: The field model (``backends.query.fields.FieldModel``) the pipeline's other steps read.
    model: Any = None
    pipeline: str = ""
    data_source: str = ""

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Raise for an item on a ``text`` / ``match_only_text`` field; pass every other item."""
        name = detection_item.field
        info = self.model.lookup(name) if name is not None and self.model is not None else None
        if info is None or not info.is_text:
            return None
        copy = self.model.caseless_copy(name)
        if copy is not None:
            how = (
                f"only a case-insensitive string test moves to its caseless copy {copy.name} "
                f"(|cased values, regular expressions, null and exists stay on it)"
            )
        else:
            how = (
                "a case-insensitive string test is exact on the caseless copy that "
                f"`sigport mapping RULES --data-source {self.data_source} -o FILE` adds "
                "(convert with --mapping FILE)"
            )
        raise SigmaTransformationError(
            f"field {name} ({self.pipeline}, data_source={self.data_source}) is a {info.type} field: "
            f"Elasticsearch matches its analysed tokens, not the whole value; {how}",
            source=detection_item.source,
        )
