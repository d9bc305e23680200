"""Exactness of the closed-vocabulary and address functions (``converter/mapping/functions/values.py``).

``value_map`` and ``to_ip`` are checked the way ``tests/converter/mapping/test_functions.py`` checks every
function: the query side's rewrite, evaluated on the render side's event, must agree with the
Sigma item on the Sigma value, for every value of the documented domain. The evaluator comes from
that module (target mode: an ``ip`` field compares addresses, IPv4 stored IPv4-mapped, as
Elasticsearch does; Sigma mode: text, and cidr as the reference evaluator reads it).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import SigmaCIDRExpression, SigmaString
from test_functions import check_exact, evaluate, item_of, raises_with, sigma_rule

from converter.mapping.functions.ip import ip_prefix_networks, source_ip_text, sysmon_ip_text
from converter.mapping.functions.tree import NotExact
import converter.mapping
from converter.errors import PipelineError
from converter.mapping.functions.registry import QUERY_FUNCTIONS, RENDER_FUNCTIONS, invert_value_map
from converter.mapping.loader import load_table
from converter.mapping.table import FieldTarget

# --- value_map ---------------------------------------------------------------------------------

DIRECTION = FieldTarget(
    "Initiated",
    "network.direction",
    "value_map",
    ("network.direction",),
    (("values", {"true": "egress", "false": "ingress"}),),
)
# Defend has written two spellings of each direction over its versions.
DEFEND_DIRECTION = FieldTarget(
    "Initiated",
    "network.direction",
    "value_map",
    ("network.direction",),
    (("values", {"true": ["egress", "outgoing"], "false": ["ingress", "incoming"]}),),
)
# Sysmon writes "true"/"false"; a case variant stands for the same value (the render side folds
# case); "yes" is outside the vocabulary and writes nothing, like a missing field.
INITIATED = ["true", "false", "TRUE", "False", None]


# Tests on a Sysmon flag (every kind of value test Sigma has), shared with value_columns.
INITIATED_PATTERNS: list[tuple[str, Any]] = [
    ("Initiated", "true"),
    ("Initiated", "false"),
    ("Initiated", "TRUE"),
    ("Initiated", True),  # a YAML boolean: SigmaBool
    ("Initiated", ["true", "false"]),
    ("Initiated|contains", "ru"),
    ("Initiated|startswith", "f"),
    ("Initiated|re|i", "^T"),
    ("Initiated|windash", "-rue"),
    ("Initiated", "*"),
    ("Initiated", "x"),
    ("Initiated", None),
    ("Initiated|exists", True),
    ("Initiated|exists", False),
    ("Initiated|neq", "true"),
]


@pytest.mark.parametrize("spec", [DIRECTION, DEFEND_DIRECTION], ids=["sysmon", "defend"])
@pytest.mark.parametrize(("key", "pattern"), INITIATED_PATTERNS)
def test_value_map_exact(spec: FieldTarget, key: str, pattern: Any) -> None:
    check_exact(spec, key, pattern, INITIATED)


def test_value_map_queries_every_spelling_and_renders_the_first() -> None:
    query = QUERY_FUNCTIONS["value_map"](item_of(sigma_rule("Initiated", "true")), DEFEND_DIRECTION, "")
    assert isinstance(query, SigmaDetectionItem) and query.field == "network.direction"
    assert [str(v) for v in query.value] == ["egress", "outgoing"]
    render = RENDER_FUNCTIONS["value_map"]
    assert render("true", DEFEND_DIRECTION) == {"network.direction": "egress"}
    assert render("TRUE", DIRECTION) == {"network.direction": "egress"}
    assert render("yes", DIRECTION) == {}
    assert render(None, DIRECTION) == {}
    assert invert_value_map("outgoing", DEFEND_DIRECTION) == "true"
    assert invert_value_map("sideways", DEFEND_DIRECTION) is None


WORKSPACE_SERVICE = FieldTarget(
    "eventService",
    "event.provider",
    "value_map",
    ("event.provider",),
    (("values", {"admin.googleapis.com": "admin"}),),
)


def test_value_map_folds_case_as_sigma_does() -> None:
    """U+0130 (İ) folds to i in Sigma's case-insensitive match (the reference's simple lowercase),
    not to the two characters str.lower() gives: the render side writes the entry for such a case
    partner, and the query side decides a rule value spelled with it as Sigma does."""
    from converter.reference.fields import fold
    from converter.reference.values import folded_matcher, folded_specs

    render = RENDER_FUNCTIONS["value_map"]
    assert render("adm\u0130n.googleapis.com", WORKSPACE_SERVICE) == {"event.provider": "admin"}
    values = ["admin.googleapis.com", "adm\u0130n.googleapis.com", "ADMIN.GOOGLEAPIS.COM", "login.googleapis.com"]
    for pattern in ("admin.googleapis.com", "adm\u0130n.googleapis.com", "*min.google*"):
        item = item_of(sigma_rule("eventService", pattern))
        query = QUERY_FUNCTIONS["value_map"](item, WORKSPACE_SERVICE, "")
        reference = folded_matcher(folded_specs(item.value[0]) or [])
        for value in values:
            expected = reference(fold(value))  # the reference evaluator's verdict
            assert evaluate(query, render(value, WORKSPACE_SERVICE)) == expected, (pattern, value)
            assert expected is (value != "login.googleapis.com")


def test_value_map_nothing_accepted_is_constant_false() -> None:
    query = QUERY_FUNCTIONS["value_map"](item_of(sigma_rule("Initiated", "maybe")), DIRECTION, "")
    assert isinstance(query, SigmaDetection)
    for event in ({}, {"network.direction": "egress"}, {"network.direction": "ingress"}):
        assert not evaluate(query, event)


@pytest.mark.parametrize(
    ("key", "pattern", "words"),
    [
        ("Initiated|cased", "true", "case-sensitive"),
        ("Initiated|gt", 1, "comparison"),
        ("Initiated|fieldref", "SourceIsIpv6", "field reference"),
    ],
)
def test_value_map_errors(key: str, pattern: Any, words: str) -> None:
    raises_with(DIRECTION, key, pattern, words)


def test_value_map_table_entries_are_validated() -> None:
    """The shipped tables' value_map entries map quoted strings to distinct target values."""
    table = load_table("ecs-windows")
    entry = table.for_logsource("windows", "network_connection", None)
    assert entry is not None
    for source in ("defend", "windows", "winlogbeat"):
        spec = entry.field_targets(source)["Initiated"]
        assert spec.function == "value_map"
        assert RENDER_FUNCTIONS["value_map"]("true", spec) == {"network.direction": "egress"}
        assert RENDER_FUNCTIONS["value_map"]("false", spec) == {"network.direction": "ingress"}


# --- to_ip -------------------------------------------------------------------------------------

DEST = FieldTarget("DestinationIp", "destination.ip", "to_ip", ("destination.ip",),
                   (("ipv6_text", "sysmon"),))
# Sysmon's texts: IPv4 dotted decimal; IPv6 eight lowercase groups, no leading zeros, no "::".
ADDRESSES = [
    "10.0.0.1",
    "10.255.3.4",
    "127.0.0.1",
    "172.1.0.1",
    "172.16.5.4",
    "172.100.3.3",
    "172.2.0.1",
    "192.168.1.1",
    "1.2.3.4",
    "1.2.3.40",
    "100.64.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "0:0:0:0:0:0:0:1",
    "fe80:0:0:0:3b31:a8fa:5adc:7b9e",
    "fc00:0:0:0:0:0:0:1",
    "2001:500:84:0:0:0:0:b",
    "1:0:0:0:0:0:0:0",
    "10:0:0:0:0:0:0:1",
    "1a2b:0:0:0:0:0:0:1",
    "ff02:0:0:0:0:0:1:3",
    None,
]


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("DestinationIp", "127.0.0.1"),
        ("DestinationIp", ["10.0.0.1", "0:0:0:0:0:0:0:1"]),
        ("DestinationIp", "FE80:0:0:0:3B31:A8FA:5ADC:7B9E"),  # Sigma ignores case
        ("DestinationIp|cidr", ["10.0.0.0/8", "::1/128", "fe80::/10", "fc00::/7"]),
        ("DestinationIp|cidr", "172.16.0.0/12"),
        ("DestinationIp|startswith", "10."),
        ("DestinationIp|startswith", "172.1"),
        ("DestinationIp|startswith", "1"),
        ("DestinationIp|startswith", "1.2.3.4"),
        ("DestinationIp|startswith", "FE8"),
        ("DestinationIp|startswith", "fe80:0:0:0:"),
        ("DestinationIp|startswith", "2001:500:"),
        ("DestinationIp|startswith", "0.0.0."),
        ("DestinationIp", "*"),
        ("DestinationIp", None),
        ("DestinationIp|exists", False),
        ("DestinationIp|neq", "127.0.0.1"),
        ("DestinationIp|cased", "127.0.0.1"),
    ],
)
def test_to_ip_exact(key: str, pattern: Any) -> None:
    check_exact(DEST, key, pattern, ADDRESSES, prefix="P.")


def test_to_ip_equality_is_a_single_address_block() -> None:
    query = QUERY_FUNCTIONS["to_ip"](item_of(sigma_rule("DestinationIp", "127.0.0.1")), DEST, "")
    assert isinstance(query, SigmaDetectionItem)
    assert [str(v) for v in query.value] == ["127.0.0.1/32"]
    many = QUERY_FUNCTIONS["to_ip"](
        item_of(sigma_rule("DestinationIp|cidr", ["10.0.0.0/8", "fe80::/10"])), DEST, ""
    )
    # OR-ed blocks of one field stay one item (cidrMatch(destination.ip, a, b) in EQL).
    assert isinstance(many, SigmaDetectionItem)
    assert all(isinstance(v, SigmaCIDRExpression) for v in many.value)


@pytest.mark.parametrize(
    ("key", "pattern", "words"),
    [
        ("DestinationIp", "::1", "not the text Sysmon writes.*'0:0:0:0:0:0:0:1'"),
        ("DestinationIp", "010.0.0.1", "not an IP address"),
        ("DestinationIp", "localhost", "not an IP address"),
        ("DestinationIp|cased", "FE80:0:0:0:0:0:0:1", "not the text Sysmon writes"),
        ("DestinationIp|endswith", ".1", "no wildcard query on an ip field"),
        ("DestinationIp|contains", "168", "no wildcard query"),
        ("DestinationIp", "10.?.0.1", "no wildcard query"),
        ("DestinationIp|startswith", "300.", "no address text Sysmon writes"),
        ("DestinationIp|startswith", "1.2.3.4.", "no address text Sysmon writes"),
        ("DestinationIp|re", "^10\\.", "regexp"),
        ("DestinationIp|cidr", "::ffff:0:0/96", "IPv4-mapped"),
        ("DestinationIp|cidr", "::/0", "IPv4-mapped"),
        ("DestinationIp|startswith", "0:0:0:0:0:ffff:", "IPv4-mapped"),
        ("DestinationIp", 5, "number"),
        ("DestinationIp|fieldref", "SourceIp", "field reference"),
    ],
)
def test_to_ip_errors(key: str, pattern: Any, words: str) -> None:
    raises_with(DEST, key, pattern, words)


def test_to_ip_render() -> None:
    render = RENDER_FUNCTIONS["to_ip"]
    assert render("10.0.0.1", DEST) == {"destination.ip": "10.0.0.1"}
    assert render("0:0:0:0:0:0:0:1", DEST) == {"destination.ip": "0:0:0:0:0:0:0:1"}
    for outside in ("", "-", "10.0.0.256", " 10.0.0.1", "fe80::1%4", "host", 5):
        assert render(outside, DEST) == {}, outside
    assert render(["10.0.0.1", "x"], DEST) == {"destination.ip": ["10.0.0.1"]}


SYSMON_DEST = FieldTarget("DestinationIp", "destination.ip", "to_ip", ("destination.ip",),
                          (("canonical", True), ("ipv6_text", "sysmon")))


def test_to_ip_canonical_refuses_text_the_record_cannot_hold() -> None:
    """Sysmon's record holds an address: on other text (``""``, a host name) the query, exact on
    addresses, and Sigma's string test may answer apart (``DestinationIp|endswith: ''`` matches
    ``" 'q' "``, which the shipper writes as no destination.ip), so such an event is not one the
    data source writes. Other spellings of an address are written (the ip field reads them)."""
    render = RENDER_FUNCTIONS["to_ip"]
    assert render("10.0.0.1", SYSMON_DEST) == {"destination.ip": "10.0.0.1"}
    assert render(["0:0:0:0:0:0:0:1"], SYSMON_DEST) == {"destination.ip": ["0:0:0:0:0:0:0:1"]}
    assert render("::ffff:10.1.2.3", SYSMON_DEST) == {"destination.ip": "::ffff:10.1.2.3"}
    for outside in ("", " 'q' ", "host", "10.0.0.256", "010.1.2.3", "fe80::1%4", 5):
        with pytest.raises(ValueError, match="never as text that is not one"):
            render(outside, SYSMON_DEST)
    with pytest.raises(ValueError):
        render(["10.0.0.1", "x"], SYSMON_DEST)
    check_exact(SYSMON_DEST, "DestinationIp", "*", ADDRESSES, prefix="P.")


def test_the_windows_table_declares_sysmon_addresses_canonical() -> None:
    entry = load_table("ecs-windows").for_logsource("windows", "network_connection", None)
    assert entry is not None
    for source in ("defend", "windows", "winlogbeat"):
        for name in ("DestinationIp", "SourceIp"):
            spec = entry.field_targets(source)[name]
            assert spec.function == "to_ip" and spec.param("canonical") is True, (source, spec)


def test_sysmon_ip_text() -> None:
    assert sysmon_ip_text(ipaddress.ip_address("::1")) == "0:0:0:0:0:0:0:1"
    assert sysmon_ip_text(ipaddress.ip_address("fe80::a:b")) == "fe80:0:0:0:0:0:a:b"
    assert sysmon_ip_text(ipaddress.ip_address("10.0.0.1")) == "10.0.0.1"


_ADDRESS = st.one_of(
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
    st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
    # addresses with small fields, where prefixes of several lengths meet
    st.lists(st.integers(0, 20), min_size=4, max_size=4).map(
        lambda f: ipaddress.IPv4Address(".".join(map(str, f)))
    ),
    st.lists(st.integers(0, 40), min_size=8, max_size=8).map(
        lambda f: ipaddress.IPv6Address(":".join(format(x, "x") for x in f))
    ),
)


@given(base=_ADDRESS, cut=st.integers(0, 40), probes=st.lists(_ADDRESS, min_size=1, max_size=20))
def test_prefix_blocks_hold_exactly_the_addresses_with_that_text_prefix(
    base: Any, cut: int, probes: list[Any]
) -> None:
    """startswith P on Sysmon's text == membership in ip_prefix_networks(P), for any address."""
    text = sysmon_ip_text(base)[:cut]
    blocks = ip_prefix_networks(text)
    candidates = [*probes, base]
    # the neighbours of each block's edges: where an off-by-one would show
    for block in blocks[:8]:
        for edge in (int(block.network_address), int(block.broadcast_address)):
            for delta in (-1, 0, 1):
                if 0 <= edge + delta < 2 ** block.max_prefixlen:
                    candidates.append(ipaddress.ip_address(edge + delta) if block.version == 4
                                      else ipaddress.IPv6Address(edge + delta))
    for address in candidates:
        expected = sysmon_ip_text(address).startswith(text)
        got = any(address.version == b.version and address in b for b in blocks)
        assert got == expected, (text, str(address), blocks)


def test_prefix_blocks_examples() -> None:
    assert [str(b) for b in ip_prefix_networks("10.")] == ["10.0.0.0/8"]
    assert [str(b) for b in ip_prefix_networks("fe80:0:0:0:")] == ["fe80::/64"]
    assert ip_prefix_networks("300.") == []
    # "172.1" is 172.1.x, 172.10-19.x and 172.100-199.x: nine blocks
    assert len(ip_prefix_networks("172.1")) == 9
    # a cased upper-case prefix matches no (lowercase) Sysmon IPv6 text
    assert ip_prefix_networks("FE80:", cased=True) == []


# Zeek's addr text (IPAddr::AsString: inet_ntop): IPv6 compressed as RFC 5952 writes it.
ZEEK_DEST = FieldTarget("id.resp_h", "destination.ip", "to_ip", ("destination.ip",),
                        (("canonical", True), ("ipv6_text", "compressed")))
ZEEK_ADDRESSES = [
    "10.0.0.1", "172.16.5.4", "0.0.0.0", "::1", "::", "fe80::1", "fe80::3b31:a8fa:5adc:7b9e",
    "fe80:1::1", "fe8:0:1::", "2001:db8::1", "2001:db8:0:1:1:1:1:1", "fc00::", "1::1:0:0:1:1",
    "fe80:0:0:1::1", None,
]


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("id.resp_h", "fe80::1"),
        ("id.resp_h", ["::1", "10.0.0.1", "2001:db8::1"]),
        ("id.resp_h", "FE80::3B31:A8FA:5ADC:7B9E"),
        ("id.resp_h|startswith", "fe80:"),
        ("id.resp_h|startswith", "fe8"),
        ("id.resp_h|startswith", "2001:db8:"),
        ("id.resp_h|startswith", "1"),
        ("id.resp_h|startswith", "10."),
        ("id.resp_h|cidr", ["fe80::/10", "10.0.0.0/8"]),
    ],
)
def test_to_ip_exact_on_compressed_ipv6_text(key: str, pattern: Any) -> None:
    """On Zeek's text a Sysmon-form value or prefix would test addresses Zeek never writes so
    (``fe80:0:`` starts no Zeek text of fe80::1, which is in fe80::/32): the query follows the
    table's ``ipv6_text``."""
    check_exact(ZEEK_DEST, key, pattern, ZEEK_ADDRESSES, prefix="P.")


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("fe80:0:0:0:0:0:0:1", "not the text the data source writes.*'fe80::1'"),
        ("::ffff:10.0.0.1", "IPv4-mapped|not documented"),
        ("::10.0.0.1", "not documented"),
    ],
)
def test_to_ip_compressed_refuses_other_spellings(pattern: str, words: str) -> None:
    raises_with(ZEEK_DEST, "id.resp_h", pattern, words)


@pytest.mark.parametrize("prefix", ["fe80:0:", "fe80::", "0", "::", "fe80:0"])
def test_to_ip_compressed_refuses_prefixes_a_zero_run_decides(prefix: str) -> None:
    """``fe80:0:`` starts Zeek's text of fe80:0:1:: but not of fe80::1 (both in fe80::/32)."""
    raises_with(ZEEK_DEST, "id.resp_h|startswith", prefix, "zero run|no address text")


UNKNOWN_DEST = FieldTarget("dst_ip", "destination.ip", "to_ip", ("destination.ip",),
                           (("ipv6_text", "unknown"),))


def test_to_ip_unknown_ipv6_text_keeps_ipv4_and_cidr_and_refuses_ipv6_text() -> None:
    check_exact(UNKNOWN_DEST, "dst_ip", ["10.0.0.1", "192.168.1.1"], ADDRESSES, prefix="P.")
    check_exact(UNKNOWN_DEST, "dst_ip|startswith", "192.168.", ADDRESSES, prefix="P.")
    check_exact(UNKNOWN_DEST, "dst_ip|cidr", ["::1/128", "fe80::/10"], ADDRESSES, prefix="P.")
    raises_with(UNKNOWN_DEST, "dst_ip", "::1", "not documented")
    raises_with(UNKNOWN_DEST, "dst_ip|startswith", "fe80:", "not documented")
    raises_with(UNKNOWN_DEST, "dst_ip|startswith", "1", "not documented")


@given(base=_ADDRESS, cut=st.integers(0, 40), probes=st.lists(_ADDRESS, min_size=1, max_size=20))
def test_compressed_prefix_blocks_hold_exactly_the_addresses_with_that_text_prefix(
    base: Any, cut: int, probes: list[Any]
) -> None:
    """startswith P on RFC 5952 text == membership in the blocks, whenever P is accepted."""
    text = source_ip_text(base, "compressed")
    if text is None:
        return
    text = text[:cut]
    try:
        blocks = ip_prefix_networks(text, form="compressed")
    except NotExact:
        return
    for address in [*probes, base]:
        written = source_ip_text(address, "compressed")
        if written is None:
            continue
        got = any(address.version == b.version and address in b for b in blocks)
        assert got == written.startswith(text), (text, str(address), blocks)


def test_every_to_ip_entry_says_how_its_source_writes_ipv6() -> None:
    expected = {"ecs-windows": "sysmon", "ecs-zeek": "compressed", "ecs-linux": "unknown",
                "ecs-proxy": "unknown"}
    tables = Path(converter.mapping.__file__).parent / "tables"
    for name, form in expected.items():
        raw = yaml.safe_load((tables / f"{name}.yml").read_text(encoding="utf-8"))
        specs = [spec for entry in raw["logsources"] for spec in (entry.get("fields") or {}).values()
                 if isinstance(spec, dict) and spec.get("function") == "to_ip"]
        assert specs and {spec["ipv6_text"] for spec in specs} == {form}, name
        # Zeek's addr fields hold an address and nothing else (canonical), as Sysmon's do.
        assert all(spec.get("canonical") is True for spec in specs) == (name != "ecs-proxy"), name


def test_a_to_ip_entry_without_ipv6_text_is_refused(tmp_path: Path) -> None:
    raw = {"name": "t", "schema": "ecs", "description": "d", "logsources": [
        {"id": "x", "match": {"category": "network_connection"},
         "fields": {"DestinationIp": {"function": "to_ip", "to": "destination.ip"}}}]}
    path = tmp_path / "t.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(PipelineError, match="to_ip needs `ipv6_text`"):
        load_table(str(path))


def test_item_stays_a_literal_string_when_not_an_address() -> None:
    """The error names the field and the function (the reason reaches the checker)."""
    item = SigmaDetectionItem("DestinationIp", [], [SigmaString("localhost")])
    with pytest.raises(Exception, match="DestinationIp is mapped by function to_ip"):
        QUERY_FUNCTIONS["to_ip"](item, DEST, "")


def test_property_tests_assert_no_speed() -> None:
    """The property tests here (and everywhere) run without hypothesis's 200 ms per-example
    deadline, in developer runs as under CI: a garbage collection under load broke it."""
    from hypothesis import settings

    assert settings().deadline is None


# --- rewritten_values ---------------------------------------------------------------------------

OPERATION = FieldTarget(
    "Operation",
    "event.action",
    "rewritten_values",
    ("event.action",),
    (("rewrites", {"Add user.": "added-user-account", "TeamCreated": "added-group-account-to"}),),
)
OPERATIONS = ["Add user.", "TeamCreated", "UserLoggedIn", "Disable Strong Authentication.", None]


@pytest.mark.parametrize(("key", "pattern"), [
    ("Operation", "UserLoggedIn"),
    ("Operation|contains", "Strong Authentication"),
    ("Operation|contains", "e"),  # every form of both pairs holds it
    ("Operation|startswith", ["Disable", "User"]),
    ("Operation|re", "^User"),
    ("Operation", None),
    ("Operation|exists", True),
])
def test_rewritten_values_exact_on_both_forms(key: str, pattern: Any) -> None:
    """The same test on the target, answering on each replacement as on the value as written:
    the document may hold either (the condition is on a key the Sigma event does not carry)."""
    check_exact(OPERATION, key, pattern, OPERATIONS)
    item = item_of(sigma_rule(key, pattern))
    query = QUERY_FUNCTIONS["rewritten_values"](item, OPERATION, "")
    for original, replacement in dict(OPERATION.params)["rewrites"].items():
        expected = evaluate(item, {"Operation": original}, sigma=True)
        assert evaluate(query, {"event.action": replacement}) == expected, (original, replacement)


@pytest.mark.parametrize(("key", "pattern", "words"), [
    ("Operation", "Add user.", "'Add user.' as 'added-user-account'"),
    ("Operation|contains", "user.", "'Add user.' as 'added-user-account'"),
    ("Operation|endswith", "Created", "'TeamCreated' as 'added-group-account-to'"),
    ("Operation|fieldref", "Workload", "field reference"),
])
def test_rewritten_values_refuses_a_test_that_tells_a_pair_apart(key: str, pattern: Any, words: str) -> None:
    raises_with(OPERATION, key, pattern, words)


def test_rewritten_values_table_entries_are_validated() -> None:
    from converter.errors import PipelineError
    from converter.mapping.function_checks import check_rewrites

    check_rewrites({"Add user.": "added-user-account"}, "w", "p")
    for bad in (None, {}, {"x": "x"}, {"x": 1}):
        with pytest.raises(PipelineError):
            check_rewrites(bad, "w", "p")


# --- lowercased_when ----------------------------------------------------------------------------

RESULT = FieldTarget(
    "properties.result",
    "azure.auditlogs.properties.result",
    "lowercased_when",
    ("azure.auditlogs.properties.result", "event.outcome"),
    (("values", ["success", "failure"]),),
)
RESULTS = ["success", "Success", "FAILURE", "timeout", "unknownFutureValue", "Successful", None]


@pytest.mark.parametrize(("key", "pattern"), [
    ("properties.result", "success"),
    ("properties.result", "Timeout"),
    ("properties.result|startswith", "succ"),
    ("properties.result|contains", "U"),
    ("properties.result|re|i", "^fail"),
    ("properties.result", None),
    ("properties.result|exists", True),
    ("properties.result|neq", "failure"),
])
def test_lowercased_when_exact_on_both_shapes(key: str, pattern: Any) -> None:
    """success / failure (any case) are indexed lowercased in event.outcome, any other result as
    written in the kept field: the query answers as Sigma on the record's value either way."""
    verdicts = check_exact(RESULT, key, pattern, RESULTS)
    assert len(verdicts) == len(RESULTS)


def test_lowercased_when_renders_the_pipeline_shapes() -> None:
    render = RENDER_FUNCTIONS["lowercased_when"]
    assert render("Success", RESULT) == {"event.outcome": "success"}
    assert render("timeout", RESULT) == {"azure.auditlogs.properties.result": "timeout"}
    assert render(0, RESULT) == {"azure.auditlogs.properties.result": 0}  # not a string: kept
    assert render(None, RESULT) == {}


def test_lowercased_when_refuses_a_case_sensitive_test() -> None:
    raises_with(RESULT, "properties.result|cased", "Success", "case")
