"""Value functions over closed vocabularies and IP addresses, in both directions.

* ``integrity_level_name``: Sysmon level names and Security 4688 label SIDs -> Defend's lowercase
  level names;
* ``value_map``: a finite table ``{Sigma value: target value(s)}`` given in the mapping table
  (Sysmon ``Initiated: 'true'`` -> ECS ``network.direction: egress``);
* ``to_ip``: a Sysmon address string -> an Elasticsearch ``ip`` field.

The first two share one method (``vocabulary_query``): a field whose source writes only the values
of a closed list is tested by evaluating the rule's test, with Sigma's semantics, on every value
of the list, and the query keeps the target values of the accepted ones. Each render side writes
the target value of the source value. Case does not identify a value (Sysmon writes each value in
one fixed case; a Sigma test compares case-insensitively), so the render sides fold case and the
query sides refuse ``cased`` tests, which are the only string tests that could tell case variants
apart.

``to_ip`` is exact on the text forms Sysmon writes (its ``DestinationIp`` / ``SourceIp``): IPv4
dotted decimal, and IPv6 as eight lowercase hexadecimal groups without leading zeros and without
``::`` compression (``0:0:0:0:0:0:0:1``, ``fe80:0:0:0:3b31:a8fa:5adc:7b9e``). Every one of the 5,050
addresses in the OTRF Security-Datasets Sysmon events of ../shared/corpus (3,124 IPv4, 1,926 IPv6)
has that form; none is IPv4-mapped. On that domain one address has one text, so a whole-value
Sigma string test is the same as an address test, which is what an ``ip`` field answers
(https://www.elastic.co/guide/en/elasticsearch/reference/current/ip.html: term queries and CIDR
notation, every address stored as IPv6 with IPv4 addresses IPv4-mapped).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sigma.conditions import ConditionAND
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
)

from converter.mapping.functions.render import each, scalar_string, written
from converter.mapping.functions.tree import (
    FALSE,
    MANY,
    Leaf,
    Node,
    NotExact,
    QueryResult,
    describe,
    emit,
    guarded,
    make_string,
    or_,
    rewrite,
    sigma_value_matches,
    to_tokens,
)
from converter.mapping.table import FieldTarget
from converter.reference.fields import fold

# One entry of a closed vocabulary: (target values, source forms). The first target value is the
# one the render side writes; every source form renders to it.
Entry = tuple[tuple[str, ...], tuple[str, ...]]

# ---------------------------------------------------------------------------------------------
# Closed vocabularies


def vocabulary_query(
    item: SigmaDetectionItem,
    spec: FieldTarget,
    prefix: str,
    entries: list[Entry],
    noun: str = "value",
    all_means_exists: bool = False,
) -> QueryResult:
    """Decide the whole item on every source form; query the target values of the accepted ones.

    An entry is exact only when the item accepts all of its source forms or none (the target keeps
    the entry, not which form the source wrote). A missing field stays missing: the item's verdict
    on a missing field becomes a ``null`` test on the target.

    Args:
        entries: the vocabulary.
        noun: what an entry is called in error messages (``level``).
        all_means_exists: when every entry is accepted, test that the target exists (the target
            holds no other value) instead of listing the values.
    """
    target = prefix + spec.target
    chosen, on_missing = decide_vocabulary(item, spec, prefix, entries, noun)
    present: Node
    if all_means_exists and len(chosen) == len(entries):
        present = Leaf(target, SigmaExists(True))
    else:
        present = or_(
            *[Leaf(target, make_string(list(t), cased=True)) for e in chosen for t in e[0]]
        )
    missing = Leaf(target, SigmaNull()) if on_missing else FALSE
    return emit(or_(present, missing), item, target)


def decide_vocabulary(
    item: SigmaDetectionItem,
    spec: FieldTarget,
    prefix: str,
    entries: list[Entry],
    noun: str = "value",
) -> tuple[list[Entry], bool]:
    """The entries whose source forms the whole item accepts, and its verdict on a missing field.

    Raises:
        SigmaTransformationError: the item tells the forms of one entry apart, or uses a test no
            vocabulary can answer (``cased``, comparisons).
    """
    linking = all if item.value_linking is ConditionAND else any
    values = item.value or [SigmaNull()]

    def accepts(form: str | None) -> bool:  # None: the field is missing
        def one(value: SigmaType) -> bool:
            if isinstance(value, SigmaNull):
                return form is None
            if isinstance(value, SigmaExists):
                return (form is not None) is value.exists
            if isinstance(value, SigmaCasedString):
                raise NotExact(
                    "case-sensitive match: the target keeps the value, not the case the source "
                    "wrote it in"
                )
            if isinstance(value, SigmaCompareExpression):
                raise NotExact(f"{describe(value)} cannot be tested on a vocabulary of names")
            return form is not None and sigma_value_matches(value, form)

        return linking(one(v) for v in values) is not item.negated

    def accepted() -> list[Entry]:
        out = []
        for entry in entries:
            targets, forms = entry
            verdicts = {form: accepts(form) for form in forms}
            if len(set(verdicts.values())) > 1:
                raise NotExact(
                    f"the rule tells the forms of {noun} {targets[0]!r} apart "
                    f"({', '.join(f'{f}: {v}' for f, v in verdicts.items())}) but the target "
                    f"keeps only the {noun}; list {'both forms' if len(forms) == 2 else 'every form'}"
                    " in the rule"
                )
            if verdicts[forms[0]]:
                out.append(entry)
        return out

    chosen = guarded(item, spec, prefix, accepted)
    return chosen, bool(guarded(item, spec, prefix, lambda: accepts(None)))


def render_vocabulary(value: Any, spec: FieldTarget, entries: list[Entry]) -> str | None:
    """The first target value of the entry one of whose forms is ``value`` (case folded).

    Folded as the reference folds (``converter.reference.fields.fold``): a case variant Sigma
    matches (``admİn`` for ``admin``) stands for the same value, as the query side decides.
    """
    if value is None:
        return None
    # An event id is written as a number (EventID: 4697): Sigma compares its text.
    text = fold(str(value)) if isinstance(value, (str, bool, int)) else None
    if text is None:
        return None
    for targets, forms in entries:
        if text in (fold(form) for form in forms):
            return targets[0]
    return None


# Defend's closed vocabulary (custom_token.yml) with the Sysmon name and the mandatory-label SID.
INTEGRITY_LEVELS = (
    ("system", "System", "S-1-16-16384"),
    ("high", "High", "S-1-16-12288"),
    ("medium", "Medium", "S-1-16-8192"),
    ("low", "Low", "S-1-16-4096"),
    ("untrusted", "Untrusted", "S-1-16-0"),
)
_INTEGRITY: list[Entry] = [((name,), tuple(forms)) for name, *forms in INTEGRITY_LEVELS]


def query_integrity_level_name(
    item: SigmaDetectionItem, spec: FieldTarget, prefix: str
) -> QueryResult:
    """Evaluate the whole item on both source forms of each level; keep the levels it accepts.

    The target keeps the level but not its form (Sysmon name or label SID), so a level is exact
    only when the item accepts both forms or neither: ``IntegrityLevel: High`` alone is an error,
    ``['High', 'S-1-16-12288']`` (as SigmaHQ writes it) is ``high``.
    """
    return vocabulary_query(item, spec, prefix, _INTEGRITY, noun="level", all_means_exists=True)


def render_integrity_level_name(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """Sysmon name or label SID -> Defend's lowercase name.

    Raises:
        ValueError: the value is outside Defend's vocabulary (AppContainer, S-1-16-8448, ...).
    """
    text = scalar_string(value, spec)
    if text is None:
        return {}
    name = render_vocabulary(text, spec, _INTEGRITY)
    if name is None:
        raise ValueError(
            f"{spec.sigma}: {text!r} is not in Elastic Defend's integrity-level vocabulary "
            f"({', '.join(f for _, *forms in INTEGRITY_LEVELS for f in forms)})"
        )
    return {spec.target: name}


# The mandatory-label SIDs (S-1-16-<RID>) with the account name LookupAccountSid gives them
# (Microsoft "Well-known SIDs": https://learn.microsoft.com/windows/win32/secauthz/well-known-sids;
# `whoami /groups` shows the domain part "Mandatory Label").
MANDATORY_LABELS = (
    ("S-1-16-0", "Untrusted"),
    ("S-1-16-4096", "Low"),
    ("S-1-16-8192", "Medium"),
    ("S-1-16-8448", "Medium Plus"),
    ("S-1-16-12288", "High"),
    ("S-1-16-16384", "System"),
    ("S-1-16-20480", "Protected Process"),
    ("S-1-16-28672", "Secure Process"),
)
_LABELS: list[Entry] = [
    ((sid, f"Mandatory Label\\{name} Mandatory Level"), (sid,)) for sid, name in MANDATORY_LABELS
]


def query_mandatory_label(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """Security 4688's ``MandatoryLabel`` on a shipper that may write the SID (the record's
    ``<Data>``) or its resolved name (``Mandatory Label\\High Mandatory Level``): the test is
    decided on the SID, the record's value, and the query lists both spellings of each accepted
    label, so it is exact whichever the shipper writes."""
    return vocabulary_query(item, spec, prefix, _LABELS, noun="mandatory label",
                            all_means_exists=True)


def render_mandatory_label(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """A label SID in both spellings the shipper may write (``Alternatives``: check proves on
    each).

    Raises:
        ValueError: the value is no mandatory-label SID (a Sysmon name such as ``High`` is no
            value of a 4688 record).
    """
    from converter.mapping.functions.render import Alternatives

    text = scalar_string(value, spec)
    if text is None:
        return {}
    for targets, forms in _LABELS:
        if fold(text) in (fold(f) for f in forms):
            return {spec.target: Alternatives(targets)}
    raise ValueError(
        f"{spec.sigma}: {text!r} is no mandatory-label SID "
        f"({', '.join(sid for sid, _ in MANDATORY_LABELS)})"
    )


def value_map_entries(spec: FieldTarget) -> list[Entry]:
    """The ``values`` parameter of a ``value_map`` entry as vocabulary entries.

    ``values: {"true": egress, "false": [ingress, incoming]}``: each Sigma value has one target
    value or a list of them (a data source that has written several spellings over its versions);
    the first is the one rendered.

    Raises:
        ValueError: ``values`` is missing or not such a mapping.
    """
    table = spec.param("values")
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{spec.sigma}: value_map needs a non-empty `values` mapping")
    out: list[Entry] = []
    for source, target in table.items():
        targets = tuple(target) if isinstance(target, list) else (target,)
        if not isinstance(source, str) or not targets or not all(isinstance(t, str) for t in targets):
            raise ValueError(
                f"{spec.sigma}: value_map maps strings to a string or a list of strings "
                f"(got {source!r}: {target!r}; quote YAML words such as 'true')"
            )
        out.append((targets, (source,)))
    return out


def query_value_map(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The test decided on every Sigma value of the table; the target values of the accepted.

    With the parameter ``open`` (its text says why), the target also holds values the table does
    not list (Elastic Defend writes Security events of other ids under other ``event.action``
    values), so a test is exact only when no value outside the table can satisfy it: a positive
    test whose values are all plain listed values (``EventID: 4697``). Anything else (another id,
    a wildcard, ``null``, a negated item) could also hold on those events and is refused.
    """
    entries = value_map_entries(spec)
    why = spec.param("open")
    if why:
        guarded(item, spec, prefix, lambda: _only_listed(item, entries, str(why)))
    return vocabulary_query(item, spec, prefix, entries)


def _only_listed(item: SigmaDetectionItem, entries: list[Entry], why: str) -> None:
    """Refuse a test an unlisted value of an open vocabulary could satisfy (``query_value_map``)."""
    forms = {fold(form) for _, entry_forms in entries for form in entry_forms}
    listed = ", ".join(form for _, entry_forms in entries for form in entry_forms)
    if item.negated:
        raise NotExact(f"a negated test also holds on values outside {listed}: {why}")
    for value in item.value:
        text: str | None = None
        if isinstance(value, SigmaNumber) or (
            type(value) is SigmaString and not value.contains_special()
        ):
            text = str(value)
        if text is None or fold(text) not in forms:
            raise NotExact(
                f"{str(value)!r} ({describe(value)}) is not one of the listed values ({listed}), "
                f"and the target also holds unlisted ones: {why}"
            )


def render_value_map(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The target value of a Sigma value of the table (case folded); any other value: nothing.

    That is what the shipper's conditional ``set`` does (the Windows integration writes
    ``network.direction`` only for ``Initiated`` "true" or "false").
    """
    entries = value_map_entries(spec)
    return written(spec.target, each(value, lambda v: render_vocabulary(v, spec, entries)))


def invert_value_map(value: Any, spec: FieldTarget) -> str | None:
    """The Sigma value a target value stands for (for events given in the target schema)."""
    for targets, forms in value_map_entries(spec):
        if value in targets:
            return forms[0]
    return None


# ---------------------------------------------------------------------------------------------
# IP addresses

# Elasticsearch stores IPv4 addresses as IPv4-mapped IPv6 (ip field docs), so a query on a
# network inside ::ffff:0:0/96 also matches IPv4 addresses, which Sigma's text never does.
_V4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_MAX_BLOCKS = 64  # a prefix whose CIDR union is longer than this is refused (query size)


def sysmon_ip_text(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The text Sysmon writes for an address (module docstring): IPv6 uncompressed, no zeros."""
    if address.version == 4:
        return str(address)
    packed = address.packed
    return ":".join(format(int.from_bytes(packed[i : i + 2], "big"), "x") for i in range(0, 16, 2))


def _cidr(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> SigmaCIDRExpression:
    """A Sigma cidr value for a network."""
    return SigmaCIDRExpression(str(network))


def _check_network(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
    """Refuse an IPv6 network an ip field would also match IPv4 addresses in."""
    if network.version == 6 and network.overlaps(_V4_MAPPED):
        raise NotExact(
            f"{network} overlaps the IPv4-mapped range ::ffff:0:0/96: an ip field stores IPv4 "
            "addresses there, so the query would also match IPv4 addresses, which Sigma's cidr "
            "does not"
        )


def _address(text: str, cased: bool) -> SigmaCIDRExpression:
    """Whole-value equality with one address text, as a one-address CIDR block."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise NotExact(
            f"{text!r} is not an IP address: the ip field holds only addresses (the shipper's "
            "convert to ip drops any other text), so no query tests this text"
        ) from None
    form = sysmon_ip_text(address)
    if (text if cased else text.lower()) != form:
        raise NotExact(
            f"{text!r} is not the text Sysmon writes for this address ({form!r}): Sigma compares "
            f"the text, so the rule never matches Sysmon's value, while an ip field compares "
            f"addresses; write {form!r} or use the cidr modifier"
        )
    network = ipaddress.ip_network(address)
    _check_network(network)
    return _cidr(network)


def _field_ranges(text: str, base: int, top: int) -> list[tuple[int, int]]:
    """Values of one address field (octet or group) whose canonical text starts with ``text``.

    Canonical texts have no leading zeros; IPv6 groups are lowercase hexadecimal.
    """
    digits = "0123456789" if base == 10 else "0123456789abcdef"
    if not text:
        return [(0, top)]
    if any(c not in digits for c in text) or (text[0] == "0" and len(text) > 1):
        return []
    if text == "0":
        return [(0, 0)]
    value, scale, out = int(text, base), 1, []
    while value * scale <= top:  # the text itself, then one, two, ... more digits
        out.append((value * scale, min((value + 1) * scale - 1, top)))
        scale *= base
    return out


def _family_prefix(text: str, version: int) -> list[Any]:
    """CIDR blocks holding exactly the addresses of one family whose Sysmon text starts so."""
    sep, count, base, top, width = (
        (".", 4, 10, 255, 8) if version == 4 else (":", 8, 16, 0xFFFF, 16)
    )
    *full, partial = text.split(sep)
    if len(full) >= count:
        return []
    fixed = []
    for part in full:  # every complete field must be a canonical field text
        ranges = _field_ranges(part, base, top) if part else []
        if not ranges or ranges[0] != (int(part, base), int(part, base)):
            return []
        fixed.append(int(part, base))
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    rest = count - len(fixed) - 1
    blocks: list[Any] = []
    for low, high in _field_ranges(partial, base, top):
        start = _join([*fixed, low, *([0] * rest)], width)
        end = _join([*fixed, high, *([top] * rest)], width)
        blocks += ipaddress.summarize_address_range(cls(start), cls(end))
    return blocks


def _join(fields: list[int], width: int) -> int:
    """The integer of an address from its fields (octets or groups)."""
    number = 0
    for value in fields:
        number = (number << width) | value
    return number


def ip_prefix_networks(text: str, cased: bool = False) -> list[Any]:
    """CIDR blocks holding exactly the addresses whose Sysmon text starts with ``text``.

    ``10.`` is 10.0.0.0/8; ``172.1`` is 172.1.0.0/16 and 172.10.0.0-172.19.255.255 and
    172.100.0.0-172.199.255.255; ``fe80:0:0:0:`` is fe80::/64. A prefix without ``.`` or ``:``
    can start texts of both families. Sigma compares case-insensitively (IPv6 hex is lowercased
    first); a ``cased`` prefix with upper-case letters matches no Sysmon IPv6 text.
    """
    blocks: list[Any] = []
    if ":" not in text:
        blocks += _family_prefix(text, 4)
    if "." not in text:
        lowered = text.lower()
        if not cased or lowered == text:
            blocks += _family_prefix(lowered, 6)
    return list(ipaddress.collapse_addresses([b for b in blocks if b.version == 4])) + list(
        ipaddress.collapse_addresses([b for b in blocks if b.version == 6])
    )


def query_to_ip(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """Sigma tests on an address string as tests on an ``ip`` field (term queries with CIDR).

    Exact: ``null``/``exists``; ``cidr`` (IPv6 blocks inside the IPv4-mapped range refused);
    whole-value equality with Sysmon's text of an address (a /32 or /128 block); ``startswith``
    a literal (the CIDR blocks of every address whose text has that prefix); ``*`` (exists).
    Refused with the reason: any other wildcard (Elasticsearch runs no wildcard query on an ip
    field), regular expressions, numbers, comparisons, text that is not an address or not
    Sysmon's text of it, and prefixes that need more than 64 blocks.
    """
    target = prefix + spec.target

    def handle(value: SigmaType) -> Node:
        if isinstance(value, (SigmaNull, SigmaExists)):
            return Leaf(target, value)
        if isinstance(value, SigmaCIDRExpression):
            _check_network(value.network)
            return Leaf(target, value)
        if isinstance(value, SigmaString):
            cased = isinstance(value, SigmaCasedString)
            tokens = to_tokens(value)
            literal = [t for t in tokens if isinstance(t, str)]
            if len(literal) == len(tokens):
                return Leaf(target, _address("".join(literal), cased))
            if tokens == [MANY]:  # the field holds a value: on the domain, an address
                return Leaf(target, SigmaExists(True))
            if tokens[-1] is MANY and len(literal) == len(tokens) - 1:
                text = "".join(literal)
                blocks = ip_prefix_networks(text, cased)
                if not blocks:
                    raise NotExact(f"no address text Sysmon writes starts with {text!r}")
                if len(blocks) > _MAX_BLOCKS:
                    raise NotExact(
                        f"startswith {text!r} needs {len(blocks)} CIDR blocks (at most "
                        f"{_MAX_BLOCKS} are emitted)"
                    )
                for block in blocks:
                    _check_network(block)
                return or_(*[Leaf(target, _cidr(b)) for b in blocks])
            raise NotExact(
                f"{value.original!r}: Elasticsearch runs no wildcard query on an ip field, and "
                "only a literal prefix (startswith) can be rewritten as CIDR blocks"
            )
        if isinstance(value, SigmaRegularExpression):
            raise NotExact("Elasticsearch runs no regexp query on an ip field")
        raise NotExact(f"{describe(value)} cannot be tested on an ip field")

    return rewrite(item, spec, prefix, handle)


def render_to_ip(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The address string unchanged when it parses as an IP address; anything else: nothing.

    Elastic's ``convert`` to ``ip`` keeps a valid address as it is and, with ``ignore_failure``,
    writes nothing for other text
    (https://www.elastic.co/docs/reference/enrich-processor/convert-processor). Scope ids
    (``%eth0``) are not written: whether Elasticsearch parses them is not documented.
    """

    def address(v: Any) -> str | None:
        if not isinstance(v, str) or "%" in v:
            return None
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return None
        return v

    return written(spec.target, each(value, address))
