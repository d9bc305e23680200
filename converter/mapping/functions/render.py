"""Render sides of the string-shaped value functions, and the source-alias functions.

A render function ``render_<function>(value, spec)`` writes one Sigma field's event value as
target fields (``{target: value}``; ``{}`` writes nothing), the way the shipper does, so that the
query side (``converter/mapping/functions/query.py``) can be checked on the events it assumes. An alias
function ``alias_<function>(values, spec)`` normalises the fields of a non-Sysmon record (Security
4688) to one Sigma field value (None: not set).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from converter.mapping.functions.query import DECIMAL, LONG_RANGE, hash_targets
from converter.mapping.table import FieldTarget

class Alternatives(tuple[Any, ...]):
    """The values a shipper may write for one source value, in the spellings it uses (Elastic
    Defend's hive names): the renderer makes one target event per alternative
    (``converter.events.render.expand_alternatives``), the first being the primary one."""


def each(value: Any, convert: Callable[[Any], Any]) -> Any:
    """Apply ``convert`` to a scalar or to each element of a multi-valued field.

    ``convert`` returns None for "not written"; a list keeps its written elements only.
    """
    if isinstance(value, (list, tuple)):
        # Nested lists are flattened, as the reference reads them ("multi_valued") and as
        # Elasticsearch indexes an array of arrays; converting a list itself would write its
        # Python repr ("['C:\\x.exe']") as a value.
        out = [c for c in (convert(v) for v in _flat(value)) if c is not None]
        return out or None
    return None if value is None else convert(value)


def _flat(values: list[Any] | tuple[Any, ...]) -> Iterator[Any]:
    """The non-null scalars of a list, nested lists flattened (iteratively: events nest at
    most ``MAX_EVENT_DEPTH`` levels, but nothing here needs recursion)."""
    stack = [iter(values)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):  # a JSON array (a tuple is a function's own value)
                stack.append(iter(item))
                break
            if item is not None:
                yield item
        else:
            stack.pop()


def written(field: str, value: Any) -> dict[str, Any]:
    """``{field: value}``, or nothing when the value is None (not written)."""
    return {} if value is None else {field: value}


def scalar_string(value: Any, spec: FieldTarget) -> str | None:
    """The single string a splitting function reads; None when the field is missing."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{spec.sigma}: {spec.function} expects one string, got {value!r}")
    return value


def render_basename(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The part after the last backslash; nothing when there is no backslash or nothing after it.

    Elastic's ingest script returns "" for a value without a backslash and the processor then
    sets nothing; an empty base name is not written either.
    """

    def base(v: Any) -> str | None:
        text = str(v)
        return text.rsplit("\\", 1)[1] or None if "\\" in text else None

    return written(spec.target, each(value, base))


def render_copy(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The same value under the target name."""
    return written(spec.target, value)


def _to_long(value: Any) -> int | None:
    """Elastic ``convert`` to long of a decimal value; None (not written) when that fails."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value):
        number = int(value)
    else:
        return None
    return number if LONG_RANGE[0] <= number <= LONG_RANGE[1] else None


def render_to_integer(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """``int(value)`` of a decimal string or an int; anything else is not written.

    The table converts with ``ignore_failure``. Elastic's ``convert`` to long would also read a
    ``0x`` hex string (https://www.elastic.co/docs/reference/enrich-processor/convert-processor),
    but a Sigma-taxonomy ``ProcessId`` is decimal (Sysmon) and Security 4688 hex ids reach the
    Sigma layer already converted by ``hex_to_integer``; reading hex here would make the numeric
    query match a value that Sigma's own number test rejects (``500`` vs ``"0x1f4"``).
    """
    if spec.param("canonical"):
        each(value, lambda v: _canonical_integer(v, spec))
    return written(spec.target, each(value, _to_long))


def _canonical_integer(value: Any, spec: FieldTarget) -> Any:
    """``value`` when it is an integer or its canonical decimal text.

    With ``canonical: true`` the table says the record holds the number as the system wrote it
    (a Windows event's EventID, an event-data UInt32 such as LogonType): never with a leading
    zero, a sign or spaces. Other text is a value the record cannot hold, which Sigma's test
    (comparing text) may answer differently from the column's number.

    Raises:
        ValueError: ``value`` is text that is not canonical decimal.
    """
    if isinstance(value, str) and not DECIMAL.fullmatch(value):
        raise ValueError(
            f"{spec.sigma}={value!r}: the record holds {spec.target} as a canonical decimal "
            "number, never as this text"
        )
    return value


#: Text a parser of the record into a dynamic object might have read as a number (JSON's number
#: grammar, widened by a sign, leading zeros and spaces), whose tostring() text would then be
#: the number's canonical text, not this one.
_NUMBER_LIKE = re.compile(r"\s*[+-]?[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?\s*")


def event_data_text(name: str, value: Any) -> str:
    """The text of a Windows event's named data as ``tostring(EventData.<name>)`` reads it from
    the WindowsEvent table's dynamic EventData.

    The record holds each ``<Data Name='X'>`` as one text value. The table reference says only
    that EventData is the event data "parsed to dynamic type", not whether a numeric text stays
    a string: tostring() gives back the same text either way when it is a string or a canonical
    decimal integer; any other numeric-looking text (``010``, ``+5``, ``1.50``, ``1e3``) might
    come back changed, so such a value is refused as one no row is known to hold.

    Raises:
        ValueError: a value that is not one scalar text or integer (a list, a boolean, a real),
            or numeric-looking text that is not canonical.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if not LONG_RANGE[0] <= value <= LONG_RANGE[1]:
            raise ValueError(f"{name}={value!r}: outside the long range of a parsed number")
        return str(value)
    if not isinstance(value, str):
        raise ValueError(
            f"{name}={value!r}: a Windows event's named data is one text value"
        )
    if _NUMBER_LIKE.fullmatch(value) and not (
        DECIMAL.fullmatch(value) and LONG_RANGE[0] <= int(value) <= LONG_RANGE[1]
    ):
        raise ValueError(
            f"{name}={value!r}: numeric text in a non-canonical form, which the WindowsEvent "
            "table may hold as a number (tostring() would give another text)"
        )
    return value


def render_to_string(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """``str(value)`` (EventID 1 -> event.code "1")."""
    return written(spec.target, each(value, lambda v: v if isinstance(v, str) else str(v)))


def render_lowercase(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The value lowercased (non-strings unchanged)."""
    return written(spec.target, each(value, lambda v: v.lower() if isinstance(v, str) else v))


def render_any_of(value: Any, spec: FieldTarget, chosen: str | None = None) -> dict[str, Any]:
    """The value, unchanged, under exactly one of the targets.

    Args:
        value: the Sigma field's value.
        spec: the mapping entry.
        chosen: the target the source event uses (``event_render[].fields``); default the first.

    Raises:
        ValueError: ``chosen`` is not one of the entry's targets.
    """
    target = chosen or spec.targets[0]
    if target not in spec.targets:
        raise ValueError(f"{spec.sigma}: {target!r} is not one of {', '.join(spec.targets)}")
    return written(target, value)


def render_split_domain_user(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """``DOMAIN\\name`` -> domain and name; only for exactly one backslash; empty parts omitted."""
    text = scalar_string(value, spec)
    if text is None or text.count("\\") != 1:
        return {}
    out = {}
    for target, part in zip(spec.targets, text.split("\\"), strict=True):
        if part:  # ignore_empty_value
            out[target] = part
    return out


def _hash_pairs(text: str) -> list[tuple[str, str]]:
    """``ALG=HEX,ALG=HEX`` as (algorithm, digest) pairs, malformed entries skipped.

    Raises ValueError on an algorithm name with a non-ASCII character: Sysmon writes its names
    in ASCII (``MD5``, ``SHA1``, ``SHA256``, ``IMPHASH``), and a name such as ``İMPHASH`` --
    which Sigma's folding reads as ``imphash`` but a shipper's lowercasing does not -- has no
    faithful rendering, so the event is one the data source cannot hold, not evidence.
    """
    pairs = []
    for entry in text.split(","):
        algorithm, sep, digest = entry.partition("=")
        if sep:
            if not algorithm.isascii():
                raise ValueError(
                    f"hash algorithm {algorithm.strip()!r}: Sysmon names its algorithms in ASCII"
                )
            pairs.append((algorithm.strip(), digest.strip()))
    return pairs


def render_hashes(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """Parse the Sysmon string; lowercase digests of the mapped algorithms, empty/zero dropped."""
    text = scalar_string(value, spec)
    if text is None:
        return {}
    fields = hash_targets(spec, "")
    out = {}
    for algorithm, digest in _hash_pairs(text):
        field = fields.get(algorithm.lower())
        if field is not None and digest.strip("0"):
            out[field] = digest.lower()
    return out


def render_split_hashes(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """Splunk add-on: the same parse, digests unchanged, into ``{algorithm: field}`` targets."""
    text = scalar_string(value, spec)
    if text is None:
        return {}
    mapping = spec.target if isinstance(spec.target, dict) else spec.param("fields")
    if not isinstance(mapping, dict):
        mapping = dict(zip(spec.param("algorithms") or (), spec.targets, strict=False))
    fields = {str(k).lower(): v for k, v in mapping.items()}
    return {fields[a.lower()]: d for a, d in _hash_pairs(text) if a.lower() in fields and d}


# ---------------------------------------------------------------------------------------------
# Source aliases: fields of a non-Sysmon record -> one Sigma field value (None: not set)


def alias_hex_to_integer(values: list[Any], spec: dict[str, Any]) -> int | None:
    """``0x11cc`` -> 4556 (Security 4688 process ids); decimal text and ints pass as numbers.

    Elastic's ``convert`` to long reads ``0x``-prefixed hex and plain decimal
    (https://www.elastic.co/docs/reference/enrich-processor/convert-processor); anything else
    is not set.
    """
    if len(values) != 1:
        raise ValueError(f"hex_to_integer reads one field, got {len(values)}: {spec.get('from')!r}")
    value = values[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"(-?)0[xX]([0-9a-fA-F]+)", value.strip())
        if match:
            number = int(match.group(2), 16)
            return -number if match.group(1) else number
        return _to_long(value.strip())
    return None


def alias_join_domain_user(values: list[Any], spec: dict[str, Any]) -> str | None:
    """``SubjectDomainName`` + ``\\`` + ``SubjectUserName``; None when both are missing.

    Raises:
        ValueError: a part contains a backslash (the joined value could not be split back).
    """
    if len(values) != 2:
        raise ValueError(f"join_domain_user reads two fields (domain, name), got {len(values)}")
    domain, name = ("" if v is None else str(v) for v in values)
    if not domain and not name:
        return None
    if "\\" in domain or "\\" in name:
        raise ValueError(f"join_domain_user: {domain!r} / {name!r} contains a backslash")
    return f"{domain}\\{name}"


def render_trimmed(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The value trimmed as ``String.trim()`` does (a value that trims to ``""`` stays, empty;
    ``trim.py``)."""
    from converter.mapping.functions.trim import java_trim

    return written(spec.target, each(value, lambda v: java_trim(str(v))))
