"""Pieces every sigport emitter shares: per-rule conversion warnings.

A warning is how an emitter says "this output is not exactly the rule" (a widened wildcard, a
case-sensitive match where Sigma's is not): never silently. Warnings live on the backend
instance, not the class, and are reset at the start of each rule.
"""

from __future__ import annotations

from typing import Any, ClassVar, Collection, Sequence

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    Placeholder,
    SigmaCasedString,
    SigmaExists,
    SigmaFieldReference,
    SigmaNull,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)


#: The rule attribute where a pipeline transformation leaves warnings for the backend (the
#: transformations live in ``converter``, which ``backends`` does not import; the name is the
#: contract between them).
PIPELINE_WARNINGS = "sigport_warnings"
#: The rule attribute listing warnings that state a fact of the data source under which the query
#: is exact (``converter.mapping.partial`` and emitters write it; ``Converter`` moves them to
#: ``Conversion.exact_warnings``, which ``check`` does not read as approximations).
EXACT_WARNINGS = "sigport_exact_warnings"


def refuse_empty_field(name: str) -> str:
    """Return ``name``; an empty field name (a pipeline mapped a field to '') is refused.

    No query language names a field '' (EQL and ES|QL back-quotes need one character, KQL and
    Lucene read ``:value`` as a missing field, SPL ``""=v`` as a phrase search), so the rule is
    reported as unsupported for the target instead of emitted.

    Raises:
        SigmaFeatureNotSupportedByBackendError: the name is empty.
    """
    if not name:
        raise SigmaFeatureNotSupportedByBackendError(
            "empty field name (a processing pipeline mapped a field to ''): no query can name it"
        )
    return name


def refuse_placeholders(value: SigmaString) -> SigmaString:
    """Return ``value``; one still holding a placeholder (``%name%``, ``|expand``) is refused.

    A processing pipeline resolves placeholders before the emitter sees the value; one left
    over has no value to emit, so the rule is unsupported for the target (the same message for
    every emitter).

    Raises:
        SigmaFeatureNotSupportedByBackendError: ``value`` holds a placeholder.
    """
    # Imported at module level: this runs for every value of every rule (a function-level
    # import cost about as much as the loop).
    for part in value.s:
        if isinstance(part, Placeholder):
            raise SigmaFeatureNotSupportedByBackendError(
                f"unresolved placeholder %{part.name}% in value {value}: apply a pipeline that "
                "resolves it"
            )
    return value


def refuse_nul(cond: Any, language: str, values: bool = True) -> None:
    """Refuse a test whose field name (or, with ``values``, value) holds U+0000 (NUL): no
    language documents a way to write one in a query (nor how its parser and engine read a raw
    one), except EQL in a string.

    A rule writes NUL only as an escape in a double-quoted YAML string (``"a\\0b"``); the
    query would hold it raw, and what the engine then does with it (end the string, reject the
    query, match it) is not documented, so no verdict on events would say what the real engine
    does. An emitter whose language documents an escape for it (EQL's ``\\u{00}``) writes that
    instead (``WarningsMixin.writes_nul``).

    Raises:
        SigmaFeatureNotSupportedByBackendError: the value or the field name holds NUL.
    """
    value = getattr(cond, "value", None)
    texts = [getattr(cond, "field", None) or ""]
    if not values:
        pass
    elif isinstance(value, SigmaString):
        texts += [part for part in value.s if isinstance(part, str)]
    elif isinstance(value, SigmaRegularExpression):
        texts.append(value.regexp)
    if any("\0" in text for text in texts):
        raise SigmaFeatureNotSupportedByBackendError(
            f"{'a value or field name' if values else 'a field name'} holds U+0000 (NUL): "
            f"{language} documents no way to write it in a query, nor how a raw one is read"
        )


class WarningsMixin:
    """Collects conversion warnings for the rule being converted.

    Put it first in the bases of a pySigma backend subclass; ``convert_rule`` clears the list, and
    ``warn`` appends (once per distinct message).
    """

    warnings: list[str]
    #: Whether the language documents an escape for U+0000 (NUL) that the emitter writes; False:
    #: a test holding one is refused (``refuse_nul``).
    writes_nul: ClassVar[bool] = False

    def warn(self, message: str) -> None:
        """Record a warning for the current rule (duplicates are dropped)."""
        if not hasattr(self, "warnings"):
            self.warnings = []
        if message not in self.warnings:
            self.warnings.append(message)

    def convert_rule(self, rule: Any, output_format: str | None = None, *args: Any, **kwargs: Any) -> Any:
        """Reset the warnings, convert as the pySigma base class does, then collect the warnings
        the processing pipeline left on the rule (``PIPELINE_WARNINGS``)."""
        self.warnings = []
        try:
            return super().convert_rule(rule, output_format, *args, **kwargs)  # type: ignore[misc]
        finally:
            # Popped, so a rule object converted again (another target) starts clean.
            attributes = getattr(rule, "custom_attributes", None) or {}
            for message in attributes.pop(PIPELINE_WARNINGS, ()):
                self.warn(message)

    def convert_condition_field_eq_val(self, cond: Any, state: Any) -> Any:
        """Refuse a value that still holds a placeholder once the pipeline has run (every
        emitter, the same message), then convert as the backend does."""
        if isinstance(cond.value, SigmaString):
            refuse_placeholders(cond.value)
        refuse_nul(cond, getattr(self, "name", type(self).__name__), not self.writes_nul)
        return super().convert_condition_field_eq_val(cond, state)  # type: ignore[misc]

    def convert_condition_val(self, cond: Any, state: Any) -> Any:
        """An unbound value (keyword): placeholders refused as for field values."""
        if isinstance(cond.value, SigmaString):
            refuse_placeholders(cond.value)
        refuse_nul(cond, getattr(self, "name", type(self).__name__), not self.writes_nul)
        return super().convert_condition_val(cond, state)  # type: ignore[misc]


class ExpansionGroupMixin:
    """Parenthesise the OR that a value expansion (``windash``, ``base64offset``) becomes.

    pySigma converts an expansion into an OR of its variants *inside* what its parent sees as a
    single field test, so the parent never adds the parentheses an OR needs: under ``not`` in KQL
    (``not > and > or``) or SPL (``NOT > OR > AND``), ``not f:a or f:b`` negates only the first
    variant. Grouping the expansion keeps its meaning in every context.
    """

    def convert_condition_field_eq_expansion(self, cond: Any, state: Any) -> Any:
        """Convert the expansion as pySigma does, then group it when it has several variants."""
        result = super().convert_condition_field_eq_expansion(cond, state)  # type: ignore[misc]
        # The backend's pySigma group_expression ("({expr})"); read, not declared, because
        # pySigma's backends declare it with different types (str, str | None).
        template = getattr(self, "group_expression", None)
        variants = len(getattr(cond.value, "values", ()))
        if isinstance(template, str) and isinstance(result, str) and variants > 1:
            if not (result.startswith("(") and _balanced_group(result)):
                return template.format(expr=result)
        return result


def _balanced_group(text: str) -> bool:
    """True when ``text`` is one parenthesised group from its first to its last character."""
    depth = 0
    quote = False
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
            continue
        if ch == "\\":
            escaped = True
        elif ch == '"':
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
    return depth == 0 and text.endswith(")")


#: The words every length-limit warning carries (``is_limit_warning``).
_LIMIT_WORDS = "indexes values of at most"


def is_limit_warning(message: str) -> bool:
    """True for a ``SubfieldLimitMixin`` warning: ``check`` proves those from the events (a value
    over the limit on which the target still agrees) instead of counting them as approximations."""
    return _LIMIT_WORDS in message


def declared_approximations(warnings: Sequence[str], exact: Collection[str]) -> list[str]:
    """The warnings that declare the output approximate, as ``check`` and ``backtest`` both read
    them: not the facts of the data source the query relies on (``exact``,
    ``Conversion.exact_warnings``) and not the length limits, which are decided apart
    (``is_limit_warning``)."""
    return [w for w in warnings if w not in exact and not is_limit_warning(w)]


def can_exceed(value: Any, limit: int) -> bool:
    """True when the Sigma ``value`` can match a string longer than ``limit`` characters.

    A string with ``*`` can, as can a fixed string longer than the limit (Sigma's ``?`` is one
    character); a regex can; so can ``|exists`` and ``null`` (a value that is not indexed reads
    as no value). Numbers, booleans and CIDR ranges never test long strings.
    """
    if isinstance(value, (SigmaRegularExpression, SigmaExists, SigmaNull)):
        return True
    if not isinstance(value, SigmaString):
        return False
    parts = list(value.iter_parts())
    if SpecialChars.WILDCARD_MULTI in parts:
        return True
    fixed = "".join(p if isinstance(p, str) else "?" for p in parts)
    return len(fixed) + sum(1 for ch in fixed if ord(ch) > 0xFFFF) > limit


class SubfieldLimitMixin:
    """Warn when a query tests a keyword field that stops indexing long values.

    ECS keyword fields have ``ignore_above: 1024`` (``process.name``, ``file.path``...), as do
    Elastic Defend's ``.caseless`` sub-fields: a longer value is kept in ``_source`` but not
    indexed there, so no term, wildcard, regexp or exists query on that field matches it, while
    Sigma does (https://www.elastic.co/guide/en/elasticsearch/reference/current/ignore-above.html).
    A multi-field whose limit is at least its source field's loses nothing more than the source
    field (``FieldModel.loses_values``), but both lose what Sigma still matches.
    """

    def warn_length_limit(self, field: str, value: Any) -> None:
        """Warn (once) when ``field`` has an ``ignore_above`` in the data source's field model
        and ``value`` can match a longer string (``can_exceed``)."""
        info = self.field_model().lookup(field)
        if info is None or info.ignore_above is None or not can_exceed(value, info.ignore_above):
            return
        self.warn(  # type: ignore[attr-defined]
            f"{field} {_LIMIT_WORDS} {info.ignore_above} characters (ignore_above): "
            f"a longer {info.source} value is not matched there, where Sigma matches it"
        )

    def warn_unmodelled(self, field: str) -> None:
        """Warn (once) when the field model gives ``field`` a mapping parameter that changes
        what a query matches and that sigport does not model (``FieldInfo.unmodelled``:
        ``null_value``, ``index: false``, ``coerce: false``, ``split_queries_on_whitespace``):
        ``check`` leaves such a query not checked, so ``convert`` declares it."""
        info = self.field_model().lookup(field)
        if info is not None and info.unmodelled:
            self.warn(  # type: ignore[attr-defined]
                f"field {field} sets {info.unmodelled} in the mapping, which changes what the "
                "query matches in a way sigport does not model: not proven"
            )

    def convert_condition_field_eq_val(self, cond: Any, state: Any) -> Any:
        """Every field test (and the field a ``|fieldref`` names) declares an unmodelled
        mapping parameter of its field, then converts as the backend does."""
        self.warn_unmodelled(cond.field)
        if isinstance(cond.value, SigmaFieldReference):
            self.warn_unmodelled(cond.value.field)
        return super().convert_condition_field_eq_val(cond, state)  # type: ignore[misc]

    def convert_condition_field_eq_val_exists(self, cond: Any, state: Any) -> Any:
        """``|exists``: a value over the field's limit is not indexed, so it does not exist."""
        self.warn_length_limit(cond.field, cond.value)
        return super().convert_condition_field_eq_val_exists(cond, state)  # type: ignore[misc]

    def convert_condition_field_eq_val_null(self, cond: Any, state: Any) -> Any:
        """``null``: a value over the field's limit is not indexed, so it reads as no value."""
        self.warn_length_limit(cond.field, cond.value)
        return super().convert_condition_field_eq_val_null(cond, state)  # type: ignore[misc]

    def field_model(self) -> Any:
        """The Elasticsearch field model the rule's pipeline was built for (``field_model``)."""
        return field_model(self)

    def caseless_copy_of(self, field: str, value: Any, language: str) -> str | None:
        """The field whose caseless-encoded copy ``field`` is, or None when it is no such copy.

        ``sigport mapping`` has an ingest pipeline write ``sigport.caseless.<field>``: a
        ``wildcard`` field holding the value lowercased per code point, whitespace swapped
        (``backends.query.ingest``). The conversion pipeline moved a case-insensitive string test
        there and encoded its value alike (``CaselessSubfieldTransformation``), so a
        case-sensitive test of the encoded value on the copy is exactly Sigma's test, at any
        length: a ``wildcard`` field has no ``ignore_above`` (ES wildcard field type:
        https://www.elastic.co/guide/en/elasticsearch/reference/current/keyword.html#wildcard-field-type).
        A ``|cased`` value (which the pipeline never moves; a custom one might) loses its case
        there: warned.
        """
        info = self.field_model().lookup(field)
        if info is None or not info.caseless_of:
            return None
        if isinstance(value, SigmaCasedString):
            plain = "".join(p for p in value.iter_parts() if isinstance(p, str))
            self.warn(  # type: ignore[attr-defined]
                f"{language} matches {field}, a lowercased copy of {info.caseless_of}; the "
                f"Sigma value {plain!r} is |cased"
            )
        return str(info.caseless_of)

    def is_lowercase_field(self, field: str) -> bool:
        """True when the field model gives ``field`` a ``lowercase`` normalizer (a keyword form
        that matches case-insensitively)."""
        return bool(self.field_model().is_lowercase(field))

    def data_source_name(self) -> str | None:
        """The data source the rule's pipeline was built for (``data_source_name``)."""
        return data_source_name(self)


def data_source_name(backend: Any) -> str | None:
    """The data source the rule's pipeline was built for (``ecs-windows`` records its options
    in the pipeline vars), or None when the pipeline does not say."""
    pipeline = getattr(backend, "last_processing_pipeline", None)
    options = (getattr(pipeline, "vars", None) or {}).get("sigport_options") or {}
    source = options.get("data_source") if isinstance(options, dict) else None
    return str(source) if source else None


def field_model(backend: Any) -> Any:
    """The Elasticsearch field model the rule's pipeline was built for: the user's mapping
    (``--mapping``) or the data source's built-in model, recorded in the pipeline vars;
    Defend's built-in model when the pipeline records none."""
    pipeline = getattr(backend, "last_processing_pipeline", None)
    model = (getattr(pipeline, "vars", None) or {}).get("sigport_field_model")
    if model is not None:
        return model
    from backends.query.fields import BUILTIN_SOURCES, FieldModel

    source = data_source_name(backend)
    return FieldModel.builtin(source if source in BUILTIN_SOURCES else "defend")


#: The words every number-coercion warning carries.
_COERCE_WORDS = "coerces the event's strings to numbers"
#: The pipeline state key listing the numeric fields that the data source only ever holds as
#: numbers written from canonical decimal text (mapping table ``to_integer`` with
#: ``canonical: true``, e.g. Sysmon's UInt16 ports): Elasticsearch's coercion never reads a
#: string there, so a number test on them needs no coercion warning.
CANONICAL_NUMBERS = "canonical_numbers"


class NumberCoercionMixin:
    """Warn when a Sigma number is tested on a numeric Elasticsearch field.

    Elasticsearch indexes a string on a numeric field as the number it reads (``coerce``, on by
    default: https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/coerce), and
    on a whole-number field truncates a fraction
    (https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/number): ``'0888'``,
    ``'888.0'``, ``'888.7'`` and ``'٨٨٨'`` are all 888 on a ``long`` field. Sigma compares an
    event's string with a number as text ("numbers" in ``converter.reference.semantics``), and
    reads only ASCII decimals for ``gt``/``lt`` ("number_text"), so those events differ.
    """

    def warn_number_coercion(self, field: str) -> None:
        """Warn (once) when ``field`` is numeric in the data source's field model, unless the
        rule's pipeline lists it as holding canonical numbers only (``CANONICAL_NUMBERS``)."""
        from backends.query.fields import INTEGER_TYPES, NUMERIC_TYPES

        info = field_model(self).lookup(field)
        if info is None or info.type not in NUMERIC_TYPES:
            return
        # The state of the pipeline applied to the rule being converted (pySigma keeps the
        # applied pipeline on the backend as ``last_processing_pipeline``).
        pipeline = getattr(self, "last_processing_pipeline", None)
        if field in ((getattr(pipeline, "state", None) or {}).get(CANONICAL_NUMBERS) or ()):
            return
        self.warn(  # type: ignore[attr-defined]
            f"{field} is a {info.type} field: Elasticsearch {_COERCE_WORDS} ('0888' and "
            "'888.0' index as 888" + (", '888.7' truncated too" if info.type in INTEGER_TYPES
                                      else "") + "), where Sigma compares them as text"
        )

    def convert_condition_field_eq_val_num(self, cond: Any, state: Any) -> Any:
        """A Sigma number: compared with coerced values on a numeric field."""
        self.warn_number_coercion(cond.field)
        return super().convert_condition_field_eq_val_num(cond, state)  # type: ignore[misc]

    def convert_condition_field_compare_op_val(self, cond: Any, state: Any) -> Any:
        """``gt``/``gte``/``lt``/``lte``: the number is compared with coerced values."""
        self.warn_number_coercion(cond.field)
        return super().convert_condition_field_compare_op_val(cond, state)  # type: ignore[misc]


class CidrOnIpFieldMixin:
    """Refuse a Sigma ``|cidr`` test on a field the field model types as anything but ``ip``.

    Only an ``ip`` field reads ``a.b.c.d/n`` as a network: a term query on a ``keyword`` field
    (Lucene ``field:10.0.0.0\\/8``, KQL ``field:10.0.0.0/8``) matches the literal text
    ``10.0.0.0/8``, never the address ``10.1.2.3`` Sigma's ``cidr`` matches
    (https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/ip, "Querying ip
    fields"), and EQL's ``cidrMatch`` and ES|QL's ``CIDR_MATCH`` reject a non-``ip`` first
    argument (``CIDRMatch.resolveType``: ``isIPAndExact``), so the whole query fails. Windows
    event data such as Security's ``IpAddress`` is a keyword (``winlog.event_data.*``). A field
    the model does not know is left to the emitter.
    """

    #: How the target reads a network on a non-ip field, for the reason.
    cidr_on_keyword: ClassVar[str] = "matches the network's text literally"

    def require_ip_field(self, field: str, network: Any) -> None:
        """Raise when the field model types ``field`` as a known non-``ip`` field."""
        info = field_model(self).lookup(field)
        if info is not None and info.type != "ip":
            raise SigmaFeatureNotSupportedByBackendError(
                f"cidr {network} on {field}: it is a {info.type} field, on which this target "
                f"{self.cidr_on_keyword}; only an ip field holds addresses a network can contain"
            )

    def convert_condition_field_eq_val_cidr(self, cond: Any, state: Any) -> Any:
        """The emitter's CIDR test, after ``require_ip_field``."""
        self.require_ip_field(cond.field, cond.value.network)
        return super().convert_condition_field_eq_val_cidr(cond, state)  # type: ignore[misc]
