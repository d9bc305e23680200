"""The pipeline step for data sources whose field values keep XML entities (``value_encoding``).

The Splunk Windows add-ons extract ``XmlWinEventLog`` fields with regexes over the raw XML, so a
command line ``a & b`` is the field value ``a &amp; b`` (semantics entry
``xmlwineventlog_values_entity_encoded`` of ``backends/splunk/semantics.py``; the table's
``sources.<data source>.value_encoding: xml_text``). ``EntityEncodedValues`` writes every Sigma
string of a rule the way the add-on holds it, and every regex as a regex on that text
(``entity_regex``: entities where the pattern may match ``&``, ``<`` or ``>``, a match that
cannot start inside one); a regex with a construct that translation does not handle is kept
with a warning that it is exact only on values without ``&``, ``<`` and ``>`` (``check`` then
calls the query "not proven", never equivalent). Patterns whose SPL glob could match inside an
entity are left to the emitter, which tests them token by token (``backends/splunk/xml_text.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaExpansion, SigmaRegularExpression, SigmaString

from backends.splunk.xml_text import NotTranslatable, encode_value, entity_regex
from converter.mapping.transformations import warn_on_rule


@dataclass
class EntityEncodedValues(DetectionItemTransformation):
    """Encode the rule's string values as XML text; keep or flag its regexes (see the module)."""

    data_source: str = ""

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Rewrite the item's values in place (its field and modifiers stay)."""
        detection_item.value = [self._value(v, detection_item) for v in detection_item.value]

    def _value(self, value: Any, item: SigmaDetectionItem) -> Any:
        if isinstance(value, SigmaExpansion):
            return SigmaExpansion([self._value(v, item) for v in value.values])
        if isinstance(value, SigmaString):
            return encode_value(value)
        if isinstance(value, SigmaRegularExpression):
            try:
                return SigmaRegularExpression(entity_regex(str(value.regexp)), value.flags)
            except NotTranslatable as reason:
                warn_on_rule(
                    self._rule,
                    f"{item.field or 'keyword'}: on data_source={self.data_source} the add-on's "
                    "values keep XML entities ('&' is '&amp;', '<' '&lt;', '>' '&gt;'), and this "
                    f"regex has no form on that text here ({reason}); it is kept as written, "
                    "exact only on values without '&', '<' and '>'",
                )
        return value

    def apply(self, rule: Any) -> None:
        """Remember the rule (warnings go on it), then visit its detection items."""
        self._rule = rule
        super().apply(rule)
