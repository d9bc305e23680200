"""IP address tests of the evaluator: CIDR membership (Elasticsearch ``ip`` fields, Splunk's
search CIDR, Kusto's ``ipv4_is_in_range``) and Kusto's IP-prefix match (``ipv6_is_match``).

Pure functions of a value and a network literal, re-exported by ``matching.py`` (the one import
path of the evaluator's primitive matchers). Moved from ``matching.py``: reading addresses is
one concern, globs and regex dialects another.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

from .patterns import PatternSyntaxError


@functools.lru_cache(maxsize=1024)
def parse_network(network: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Parse a CIDR network (host bits allowed, as Elasticsearch allows them)."""
    try:
        return ipaddress.ip_network(network.strip(), strict=False)
    except ValueError as exc:
        raise PatternSyntaxError(f"invalid CIDR network: {exc}", network) from exc


def cidr_match(value: Any, network: str, ipv4_mapped: bool | None = True) -> bool:
    """True when ``value`` is an IP address inside ``network``; non-IP values are False.

    IPv4 and IPv4-mapped IPv6 (``::ffff:10.0.0.1``) are the same address, as in an Elasticsearch
    ``ip`` field, which stores every address as IPv6
    (https://www.elastic.co/guide/en/elasticsearch/reference/current/ip.html); with
    ``ipv4_mapped=False`` an IPv6 text is never inside an IPv4 network (an engine that parses
    only IPv4 text there). ``ipv4_mapped=None``: the engine documents neither (Splunk's search
    CIDR); a value on which the two readings disagree raises ``AddressUndecided``.
    """
    net = parse_network(network)
    if not isinstance(value, str):
        return False
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    if addr.version == net.version:
        return addr in net
    if ipv4_mapped is None:
        mapped, apart = _cross_version(addr, net, True), _cross_version(addr, net, False)
        if mapped != apart:
            from .errors import AddressUndecided

            raise AddressUndecided(
                f"{value[:80]!r} against {network}: whether the engine reads an IPv4 address and "
                "its IPv4-mapped IPv6 form (::ffff:a.b.c.d) as one address is not documented")
        return mapped
    # An IPv4 text against an IPv6 network is read as its mapped form (Elasticsearch's ip field;
    # Kusto's IPv4-only functions never take an IPv6 network).
    return _cross_version(addr, net, ipv4_mapped or isinstance(addr, ipaddress.IPv4Address))


def _cross_version(
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
    net: ipaddress.IPv4Network | ipaddress.IPv6Network,
    ipv4_mapped: bool,
) -> bool:
    """``addr`` inside a network of the other IP version: only as an IPv4-mapped IPv6 address,
    and only when the engine reads the two forms as one (``ipv4_mapped``)."""
    if not ipv4_mapped:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        return addr.ipv4_mapped is not None and addr.ipv4_mapped in net
    return ipaddress.IPv6Address("::ffff:" + str(addr)) in net


#: ::ffff:0:0/96, the IPv4-mapped IPv6 addresses (RFC 4291 section 2.5.5.2).
_MAPPED = 0xFFFF << 32
_PREFIX_LENGTH = re.compile(r"[0-9]{1,3}")
_ZONE = re.compile(r"%[^/]*")
_ZERO_PADDED = re.compile(r"(?:0*[0-9]{1,3}\.){3}0*[0-9]{1,3}")


def _prefix_form(text: str, lenient: bool = False) -> tuple[int, int] | None:
    """``text`` in IP-prefix notation as (IPv6 address as an int, prefix length in IPv6 bits),
    IPv4 as its IPv4-mapped form (a /n of IPv4 is n + 96 bits); None when it is no address.

    The strict reading takes plain address text only; the lenient one also reads spaces around
    it, a zone index (``fe80::1%12``) and IPv4 octets with leading zeros (``010.0.0.1``), forms
    no engine documents."""
    address, slash, length = text.partition("/")
    if lenient:
        address = _ZONE.sub("", address.strip())
        if _ZERO_PADDED.fullmatch(address):
            address = ".".join(str(int(octet)) for octet in address.split("."))
        length = length.strip()
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.scope_id is not None:
        return None  # a zone index: the lenient reading has removed it
    width = 32 if parsed.version == 4 else 128
    bits = width
    if slash:
        if not _PREFIX_LENGTH.fullmatch(length) or int(length) > width:
            return None
        bits = int(length)
    if parsed.version == 4:
        return _MAPPED | int(parsed), bits + 96
    return int(parsed), bits


#: A query's network literal, read once (``_prefix_form`` of it).
_network_form = functools.lru_cache(maxsize=1024)(_prefix_form)


def _same_prefix(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two prefix forms agree on the shorter of their two prefixes."""
    shift = 128 - min(a[1], b[1])
    return (a[0] >> shift) == (b[0] >> shift)


def ip_prefix_match(value: Any, network: str, invalid: bool | None) -> bool | None:
    """Kusto's ``ipv6_is_match(value, network)``: both strings read in IP-prefix notation as IPv6
    (IPv4 compared as IPv6: ``192.168.1.1`` equals ``::ffff:c0a8:0101``) and equal on the
    combined prefix, the shorter of the two; null when a conversion fails
    (https://learn.microsoft.com/kusto/query/ipv6-is-match-function). ``invalid`` is the
    verdict on a value that is no address (None: null).

    Microsoft documents plain IPv4 and IPv6 text only: a value that only the lenient reading
    (``_prefix_form``) takes as an address, with a verdict other than the strict reading's,
    raises ``AddressUndecided`` instead of being decided by a guess.
    """
    from .errors import AddressUndecided

    net = _network_form(network)
    if net is None:
        raise PatternSyntaxError("invalid IP-prefix network", network)
    if not isinstance(value, str):
        return invalid
    strict = _prefix_form(value)
    verdict = invalid if strict is None else _same_prefix(strict, net)
    if strict is None:
        lenient = _prefix_form(value, lenient=True)
        if lenient is not None and _same_prefix(lenient, net) != verdict:
            raise AddressUndecided(
                f"{value[:80]!r} against {network}: Microsoft does not document whether "
                "ipv6_is_match reads this text as an address (spaces, a zone index or leading "
                "zeros)")
    return verdict
