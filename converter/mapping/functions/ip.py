"""``to_ip``: an address string -> an Elasticsearch ``ip`` field, in both directions.

Sigma compares the text; an ``ip`` field compares addresses
(https://www.elastic.co/guide/en/elasticsearch/reference/current/ip.html: term queries and CIDR
notation, every address stored as IPv6 with IPv4 addresses IPv4-mapped). The two agree when the
data source writes one text per address, so every table entry says which (``ipv6_text``):

* ``sysmon``: IPv4 dotted decimal; IPv6 as eight lowercase hexadecimal groups without leading
  zeros and without ``::`` compression (``0:0:0:0:0:0:0:1``, ``fe80:0:0:0:3b31:a8fa:5adc:7b9e``).
  Every one of the 5,050 addresses in the OTRF Security-Datasets Sysmon events of
  ../shared/corpus (3,124 IPv4, 1,926 IPv6) has that form; none is IPv4-mapped.
* ``compressed``: IPv4 dotted decimal; IPv6 as RFC 5952 section 4 writes it (lowercase, no leading
  zeros, the leftmost longest run of two or more zero groups as ``::``): BSD ``inet_ntop``, which
  Zeek's ``IPAddr::AsString`` calls (zeek/zeek src/IPAddr.cc) for its ``addr`` log fields
  (``fe80::1``). Addresses in ``::/96`` (other than ``::`` and ``::1``) and ``::ffff:0:0/96`` are
  written with an embedded IPv4 part by some ``inet_ntop`` versions and not others: refused.
* ``unknown``: IPv4 dotted decimal; the IPv6 text is not documented, so a whole-value or prefix
  test that an IPv6 text could meet is refused (``cidr`` stays exact: it tests addresses).

On those domains one address has one text, so a whole-value Sigma string test is the same as an
address test; a prefix test becomes the union of the CIDR blocks its addresses fill.

Split from ``values.py`` (closed vocabularies), which shares none of this.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import (
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaExists,
    SigmaNull,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
)

from converter.mapping.function_checks import IPV6_TEXTS
from converter.mapping.functions.render import each, written
from converter.mapping.functions.tree import (
    MANY,
    Leaf,
    Node,
    NotExact,
    QueryResult,
    describe,
    or_,
    rewrite,
    to_tokens,
)
from converter.mapping.table import FieldTarget

# Elasticsearch stores IPv4 addresses as IPv4-mapped IPv6 (ip field docs), so a query on a
# network inside ::ffff:0:0/96 also matches IPv4 addresses, which Sigma's text never does.
_V4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_MAX_BLOCKS = 64  # a prefix whose CIDR union is longer than this is refused (query size)


# Where inet_ntop versions differ (an embedded IPv4 part or not): no one text is documented.
_V4_EMBEDDED = ipaddress.ip_network("::/96")
_PLAIN = {ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1")}


def sysmon_ip_text(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The text Sysmon writes for an address (module docstring): IPv6 uncompressed, no zeros."""
    if address.version == 4:
        return str(address)
    packed = address.packed
    return ":".join(format(int.from_bytes(packed[i : i + 2], "big"), "x") for i in range(0, 16, 2))


def source_ip_text(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, form: str
) -> str | None:
    """The text a data source writing ``form`` (``ipv6_text``) gives an address; None when
    that text is not documented (module docstring)."""
    if address.version == 4 or form == "sysmon":
        return sysmon_ip_text(address)
    if form != "compressed" or address in _V4_MAPPED or (
        address in _V4_EMBEDDED and address not in _PLAIN
    ):
        return None
    # Python's ipaddress compresses as RFC 5952 does: the leftmost longest run of >= 2 zeros.
    return ipaddress.IPv6Address(address).compressed


def ipv6_text_of(spec: FieldTarget) -> str:
    """The entry's ``ipv6_text`` (the loader requires one of IPV6_TEXTS; a FieldTarget built
    without it reads as ``unknown``, which refuses what it cannot tell)."""
    form = spec.param("ipv6_text", "unknown")
    return form if form in IPV6_TEXTS else "unknown"


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


def _address(text: str, cased: bool, form: str) -> SigmaCIDRExpression:
    """Whole-value equality with one address text, as a one-address CIDR block."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise NotExact(
            f"{text!r} is not an IP address: the ip field holds only addresses (the shipper's "
            "convert to ip drops any other text), so no query tests this text"
        ) from None
    written_text = source_ip_text(address, form)
    if written_text is None:
        raise NotExact(
            f"{text!r}: which text the data source writes for this IPv6 address is not documented "
            f"(ipv6_text: {form}), and Sigma compares the text while an ip field compares "
            "addresses; use the cidr modifier"
        )
    if (text if cased else text.lower()) != written_text:
        who = "Sysmon" if form == "sysmon" else "the data source"
        raise NotExact(
            f"{text!r} is not the text {who} writes for this address ({written_text!r}): Sigma "
            f"compares the text, so the rule never matches {who}'s value, while an ip field "
            f"compares addresses; write {written_text!r} or use the cidr modifier"
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


def _may_start_ipv6_text(text: str) -> bool:
    """Whether some IPv6 text (any spelling: groups, ``::``, an embedded IPv4 part) starts so."""
    head, _, tail = text.partition(".") if ":" in text else (text, "", "")
    return all(c in "0123456789abcdef:" for c in head) and all(c in "0123456789." for c in tail)


def _fixed_by_compressed_text(text: str) -> bool:
    """Whether the RFC 5952 texts starting with ``text`` are those of the addresses whose Sysmon
    text starts so: every complete group non-zero (no zero run can come before it, so it is
    written in full), and the open group empty or starting with a non-zero digit (never ``0``,
    which a ``::`` may replace). ``fe80:`` and ``2001:db8:`` qualify; ``fe80:0:`` and ``::`` do
    not."""
    if "." in text:
        return False
    *full, partial = text.split(":")
    return "" not in full and all(g[0] != "0" for g in full) and not partial.startswith("0")


def _join(fields: list[int], width: int) -> int:
    """The integer of an address from its fields (octets or groups)."""
    number = 0
    for value in fields:
        number = (number << width) | value
    return number


def ip_prefix_networks(text: str, cased: bool = False, form: str = "sysmon") -> list[Any]:
    """CIDR blocks holding exactly the addresses whose text (``form``) starts with ``text``.

    ``10.`` is 10.0.0.0/8; ``172.1`` is 172.1.0.0/16 and 172.10.0.0-172.19.255.255 and
    172.100.0.0-172.199.255.255; ``fe80:0:0:0:`` is fe80::/64 in Sysmon's text, ``fe80:`` is
    fe80::/16 in any. A prefix without ``.`` or ``:`` can start texts of both families. Sigma
    compares case-insensitively (IPv6 hex is lowercased first); a ``cased`` prefix with
    upper-case letters matches no IPv6 text.

    Raises:
        NotExact: a prefix IPv6 texts can start with whose addresses the form does not fix
            (``compressed``: a zero group may be written ``0`` or folded into ``::``, depending
            on the rest of the address; ``unknown``: any IPv6 prefix).
    """
    lowered = text.lower()
    if form != "sysmon" and _may_start_ipv6_text(lowered) and not (
        form == "compressed" and (cased and lowered != text or _fixed_by_compressed_text(lowered))
    ):
        raise NotExact(
            f"startswith {text!r}: IPv6 texts can start so, and which addresses they are "
            + ("is not documented (ipv6_text: unknown)" if form != "compressed" else
               "depends on where the address's zero run falls (RFC 5952 folds it into '::') or "
               "on an embedded IPv4 part")
            + "; use the cidr modifier"
        )
    blocks: list[Any] = []
    if ":" not in text:
        blocks += _family_prefix(text, 4)
    if "." not in text and (not cased or lowered == text):
        blocks += _family_prefix(lowered, 6)
    return list(ipaddress.collapse_addresses([b for b in blocks if b.version == 4])) + list(
        ipaddress.collapse_addresses([b for b in blocks if b.version == 6])
    )


def query_to_ip(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """Sigma tests on an address string as tests on an ``ip`` field (term queries with CIDR).

    Exact: ``null``/``exists``; ``cidr`` (IPv6 blocks inside the IPv4-mapped range refused);
    whole-value equality with the data source's text of an address (``ipv6_text``; a /32 or /128
    block); ``startswith`` a literal (the CIDR blocks of every address whose text has that
    prefix, where the form fixes them); ``*`` (exists). Refused with the reason: any other
    wildcard (Elasticsearch runs no wildcard query on an ip field), regular expressions, numbers,
    comparisons, text that is not an address or not the source's text of it (or an IPv6 text the
    source's form does not document), and prefixes that need more than 64 blocks.
    """
    target = prefix + spec.target
    form = ipv6_text_of(spec)

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
                return Leaf(target, _address("".join(literal), cased, form))
            if tokens == [MANY]:  # the field holds a value: on the domain, an address
                return Leaf(target, SigmaExists(True))
            if tokens[-1] is MANY and len(literal) == len(tokens) - 1:
                text = "".join(literal)
                blocks = ip_prefix_networks(text, cased, form)
                if not blocks:
                    who = "Sysmon" if form == "sysmon" else "the data source"
                    raise NotExact(f"no address text {who} writes starts with {text!r}")
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

    With ``canonical: true`` the table says the record holds an address there and nothing
    else (Sysmon's ``DestinationIp`` / ``SourceIp``): other text (``""``, a host name) is a value
    the record cannot hold, which the shipper would write as no address at all, so a test that
    holds on any text (``*``, a prefix) and the query (exact on addresses) would answer apart.
    As with ``to_integer``'s ``canonical``, such an event is refused (not rendered) rather than
    written as a missing field. Other spellings of an address stay written: the ``ip`` field
    reads them as addresses, and the interpreters model that.

    Raises:
        ValueError: with ``canonical: true``, a string that is not an IP address.
    """
    if spec.param("canonical"):
        each(value, lambda v: _an_address(v, spec))
    return written(spec.target, each(value, _address_text))


def _address_text(value: Any) -> str | None:
    """The address string as ``convert`` writes it, None when it writes nothing (module
    docstring; scope ids are not written: whether Elasticsearch parses them is undocumented)."""
    if not isinstance(value, str) or "%" in value:
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return None
    return value


def _an_address(value: Any, spec: FieldTarget) -> Any:
    """``value`` when it is the text of an address ``convert`` writes.

    Raises:
        ValueError: anything else (other text, a scope id, a number, a boolean).
    """
    if _address_text(value) is None:
        raise ValueError(
            f"{spec.sigma}={value!r}: the record holds {spec.sigma} as an IP address, never as "
            "text that is not one"
        )
    return value
