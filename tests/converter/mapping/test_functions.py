"""Exactness of the mapping tables' value functions (``converter/mapping/functions/registry.py``).

For each function: take a detection item parsed from an inline Sigma rule, a Sigma-taxonomy value,
render the value with the RENDER side, rewrite the item with the QUERY side, and check that the
rewritten query on the rendered event agrees with the original item on the Sigma value. Both sides
use the small evaluator below, which knows only detection items and detections on flat dicts
(case-insensitive globs by default, cased strings, regexes, numbers, null/exists, negated items,
AND/OR). In Sigma mode a number also equals its decimal text and comparisons read decimal strings
(Sigma's "numbers"); in target mode a number only equals a number (a ``long`` field). It is kept
independent of ``converter.reference.evaluator`` and of every backend on purpose.
"""

from __future__ import annotations

import ipaddress
import itertools
import operator
import re
from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionAND
from sigma.exceptions import SigmaTransformationError
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from converter.mapping.functions.registry import ALIAS_FUNCTIONS, QUERY_FUNCTIONS, RENDER_FUNCTIONS
from converter.mapping.loader import builtin_table_names, load_table
from converter.mapping.table import FieldTarget

# --- a minimal, backend-independent evaluator for the target side -----------------------------

_MISSING = object()


def _glob(value: SigmaString, text: str) -> bool:
    regex = "".join(
        re.escape(p) if isinstance(p, str) else (".*" if p is SpecialChars.WILDCARD_MULTI else ".")
        for p in value.s
    )
    if isinstance(value, SigmaCasedString):
        return re.fullmatch(regex, text, re.S) is not None
    return re.fullmatch(regex.lower(), text.lower(), re.S) is not None


_OPS = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
}


def _value_matches(value: Any, scalar: Any, sigma: bool) -> bool:
    if isinstance(value, SigmaExpansion):
        return any(_value_matches(v, scalar, sigma) for v in value.values)
    text = str(scalar) if sigma and isinstance(scalar, int) else scalar
    if isinstance(value, SigmaString):
        return isinstance(text, str) and _glob(value, text)
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
        return isinstance(text, str) and re.search(str(value.regexp), text, flags) is not None
    if isinstance(value, SigmaNumber):
        if sigma and isinstance(scalar, str):
            return scalar.lower() == str(value.number).lower()
        return isinstance(scalar, int) and scalar == value.number
    if isinstance(value, SigmaCompareExpression):
        if sigma and isinstance(scalar, str) and re.fullmatch(r"-?[0-9]+", scalar.strip()):
            scalar = int(scalar)
        return isinstance(scalar, int) and _OPS[value.op](scalar, value.number.number)
    if isinstance(value, SigmaBool):
        return isinstance(scalar, str) and scalar.lower() == str(value.boolean).lower()
    if isinstance(value, SigmaCIDRExpression):
        return _in_network(scalar, value.network, sigma)
    raise AssertionError(f"test evaluator: no semantics for {value!r}")


def _in_network(scalar: Any, network: Any, sigma: bool) -> bool:
    """Sigma's cidr (the text parses as an address of the network's family and lies inside), or
    an Elasticsearch ip field's (every address stored as IPv6, IPv4 addresses IPv4-mapped)."""
    if not isinstance(scalar, str):
        return False
    try:
        address = ipaddress.ip_address(scalar.strip() if sigma else scalar)
    except ValueError:
        return False
    if sigma:
        return address.version == network.version and address in network
    return _as_v6(address) in _as_v6_network(network)


def _as_v6(address: Any) -> ipaddress.IPv6Address:
    return address if address.version == 6 else ipaddress.IPv6Address(f"::ffff:{address}")


def _as_v6_network(network: Any) -> ipaddress.IPv6Network:
    if network.version == 6:
        return network
    return ipaddress.IPv6Network(f"::ffff:{network.network_address}/{96 + network.prefixlen}")


def _field_test(field: str, value: Any, event: dict[str, Any], sigma: bool) -> bool:
    got = event.get(field, _MISSING)
    if isinstance(value, SigmaNull):
        return got is _MISSING or got is None
    if isinstance(value, SigmaExists):
        return (got is not _MISSING) is value.exists
    if got is _MISSING or got is None:
        return False
    scalars = got if isinstance(got, list) else [got]
    return any(_value_matches(value, s, sigma) for s in scalars)


def evaluate(
    node: SigmaDetectionItem | SigmaDetection, event: dict[str, Any], sigma: bool = False
) -> bool:
    """Two-valued evaluation of a (nested) detection on a flat event (Sigma or target mode)."""
    if isinstance(node, SigmaDetection):
        results = [evaluate(child, event, sigma) for child in node.detection_items]
        return all(results) if node.item_linking is ConditionAND else any(results)
    assert node.field is not None
    values = node.value or [SigmaNull()]
    results = [_field_test(node.field, v, event, sigma) for v in values]
    outcome = all(results) if node.value_linking is ConditionAND else any(results)
    return not outcome if node.negated else outcome


# --- helpers -----------------------------------------------------------------------------------


def sigma_rule(field_key: str, value: Any) -> Any:
    """Parse a one-selection rule ``{field_key: value}`` (inline YAML) with pySigma."""
    text = yaml.safe_dump(
        {
            "title": "function test",
            "logsource": {"product": "windows", "category": "process_creation"},
            "detection": {"sel": {field_key: value}, "condition": "sel"},
        }
    )
    return SigmaCollection.from_yaml(text).rules[0]


def parts(node: SigmaDetectionItem | SigmaDetection) -> list[Any]:
    """The string parts of a one-value detection item."""
    assert isinstance(node, SigmaDetectionItem) and isinstance(node.value[0], SigmaString)
    return list(node.value[0].s)


def function(spec: FieldTarget) -> str:
    assert spec.function is not None
    return spec.function


def item_of(rule: Any) -> SigmaDetectionItem:
    return rule.detection.detections["sel"].detection_items[0]


def check_exact(
    spec: FieldTarget,
    field_key: str,
    pattern: Any,
    values: list[Any],
    prefix: str = "",
    chosen: str | None = None,
) -> list[tuple[Any, bool]]:
    """Assert query-on-rendered == Sigma-on-value for every value; return the Sigma verdicts."""
    item = item_of(sigma_rule(field_key, pattern))
    replacement = QUERY_FUNCTIONS[function(spec)](item, spec, prefix)
    verdicts = []
    for value in values:
        sigma_event = {} if value is None else {spec.sigma: value}
        expected = evaluate(item, sigma_event, sigma=True)
        render = RENDER_FUNCTIONS[function(spec)]
        rendered = render(value, spec, chosen) if chosen else render(value, spec)
        target_event = {prefix + k: v for k, v in rendered.items()}
        got = evaluate(replacement, target_event)
        assert got == expected, (
            f"{field_key}: {pattern!r} on {value!r}: Sigma {expected}, target {got}\n"
            f"rendered {target_event}\nquery {replacement}"
        )
        verdicts.append((value, expected))
    return verdicts


def raises_with(spec: FieldTarget, field_key: str, pattern: Any, words: str) -> None:
    item = item_of(sigma_rule(field_key, pattern))
    with pytest.raises(SigmaTransformationError) as info:
        QUERY_FUNCTIONS[function(spec)](item, spec, "")
    message = str(info.value)
    assert spec.sigma in message and function(spec) in message
    assert re.search(words, message), message


# --- split_domain_user -------------------------------------------------------------------------

USER = FieldTarget("User", "user.domain", "split_domain_user", ("user.domain", "user.name"))
# The domain of exactness: a missing User, or DOMAIN\name with one backslash (parts may be empty,
# not both). Elastic writes no user field for other values, like for a missing User.
USERS_IN_DOMAIN = [
    "NT AUTHORITY\\SYSTEM",
    "nt authority\\system",
    "DOMAIN\\user",
    "DOMAIN\\",
    "\\user",
    "AUTHORITY\\x",
    None,
]
USERS_OUTSIDE = ["noslash", "a\\b\\c", "", "\\"]


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("User", "NT AUTHORITY\\SYSTEM"),
        ("User|endswith", "\\SYSTEM"),
        ("User|startswith", "NT AUTHORITY\\"),
        ("User|contains", "AUTHORI"),
        ("User|contains", "\\"),
        ("User|contains", "Y\\S"),
        ("User|contains|all", ["AUTHORITY", "SYSTEM"]),
        ("User", ["DOMAIN\\user", "*\\x"]),
        ("User", "*"),
        ("User", "\\"),
        ("User", "?"),
        ("User", "?*"),
        ("User", "DOMAIN\\"),
        ("User", "\\user"),
        ("User", "a\\b\\c"),
        ("User", "noslash"),
        ("User", "NT?AUTHORITY*"),
        ("User|cased", "NT AUTHORITY\\SYSTEM"),
        ("User|contains|cased", "system"),
        ("User", None),
        ("User|exists", True),
        ("User|exists", False),
        ("User|neq", "NT AUTHORITY\\SYSTEM"),
        ("User|neq", ["DOMAIN\\user", "*\\SYSTEM"]),
    ],
)
@pytest.mark.parametrize("prefix", ["", "P."])
def test_split_domain_user_exact(key: str, pattern: Any, prefix: str) -> None:
    check_exact(USER, key, pattern, USERS_IN_DOMAIN, prefix)


def test_split_domain_user_readme_examples() -> None:
    """The README's common cases give the simple queries it names."""
    query = QUERY_FUNCTIONS["split_domain_user"]
    endswith = query(item_of(sigma_rule("User|endswith", "\\SYSTEM")), USER, "")
    assert isinstance(endswith, SigmaDetectionItem)
    assert endswith.field == "user.name" and parts(endswith) == ["SYSTEM"]
    startswith = query(item_of(sigma_rule("User|startswith", "NT AUTHORITY\\")), USER, "")
    assert isinstance(startswith, SigmaDetectionItem) and startswith.field == "user.domain"
    contains = query(item_of(sigma_rule("User|contains", "AUTHORI")), USER, "")
    assert isinstance(contains, SigmaDetection)
    fields = {i.field for i in contains.detection_items if isinstance(i, SigmaDetectionItem)}
    assert fields == {"user.domain", "user.name"}


def test_split_domain_user_exhaustive_small_globs() -> None:
    """Every glob of up to 4 tokens over {a, B, \\, *, ?} against every small DOMAIN\\name."""
    halves = ["", "a", "b", "ab", "B", "ba", "aa"]
    values = [f"{d}\\{n}" for d in halves for n in halves if d or n]
    query = QUERY_FUNCTIONS["split_domain_user"]
    render = RENDER_FUNCTIONS["split_domain_user"]
    rendered = [render(v, USER) for v in values]
    alphabet = ["a", "B", "\\\\", "*", "?"]  # "\\\\" is an escaped literal backslash
    for size in range(5):
        for combo in itertools.product(alphabet, repeat=size):
            text = "".join(combo)
            item = SigmaDetectionItem("User", [], [SigmaString(text)])
            regex = "".join(
                (
                    re.escape(p)
                    if isinstance(p, str)
                    else (".*" if p is SpecialChars.WILDCARD_MULTI else ".")
                )
                for p in parts(item)
            )
            replacement = query(item, USER, "")
            for value, event in zip(values, rendered, strict=True):
                expected = re.fullmatch(regex.lower(), value.lower(), re.S) is not None
                assert evaluate(replacement, event) == expected, (text, value, replacement)


def test_split_domain_user_outside_domain_renders_nothing() -> None:
    for value in USERS_OUTSIDE:
        assert RENDER_FUNCTIONS["split_domain_user"](value, USER) == {}
    assert RENDER_FUNCTIONS["split_domain_user"]("DOMAIN\\user", USER) == {
        "user.domain": "DOMAIN",
        "user.name": "user",
    }
    assert RENDER_FUNCTIONS["split_domain_user"]("\\user", USER) == {"user.name": "user"}


@pytest.mark.parametrize(
    ("key", "pattern", "words"),
    [
        ("User|re", ".*SYSTEM", "regular expression"),
        ("User|fieldref", "ParentUser", "field reference"),
        ("User", 5, "number"),
        ("User|gt", 5, "comparison"),
    ],
)
def test_split_domain_user_errors(key: str, pattern: Any, words: str) -> None:
    raises_with(USER, key, pattern, words)


def test_constant_false_is_an_exists_contradiction() -> None:
    """``a\\b\\c`` can match no DOMAIN\\name: the query is 'exists and not exists'."""
    replacement = QUERY_FUNCTIONS["split_domain_user"](
        item_of(sigma_rule("User", "a\\b\\c")), USER, ""
    )
    assert isinstance(replacement, SigmaDetection) and replacement.item_linking is ConditionAND
    tests = [i for i in replacement.detection_items if isinstance(i, SigmaDetectionItem)]
    assert [type(i.value[0]) for i in tests] == [SigmaExists, SigmaExists]
    for event in ({}, {"user.domain": "a"}, {"user.domain": "a", "user.name": "b"}):
        assert not evaluate(replacement, event)


# --- hashes / split_hashes ----------------------------------------------------------------------

HASHES = FieldTarget(
    "Hashes",
    "process.hash.md5",
    "hashes",
    ("process.hash.md5", "process.hash.sha1", "process.hash.sha256", "process.pe.imphash"),
    (("algorithms", ["md5", "sha1", "sha256", "imphash"]),),
)
MD5 = "A1B2C3D4E5F60718293A4B5C6D7E8F90"
SHA1 = "0123456789ABCDEF0123456789ABCDEF01234567"
SHA256 = "F" * 63 + "E"
IMPHASH = "DEADBEEF" * 4
ZERO32 = "0" * 32
HASH_VALUES = [
    f"SHA1={SHA1},MD5={MD5},SHA256={SHA256},IMPHASH={IMPHASH}",
    f"sha1={SHA1.lower()},md5={MD5.lower()},sha256={SHA256.lower()},imphash={IMPHASH.lower()}",
    f"MD5={MD5},IMPHASH={ZERO32}",
    f"SHA256={SHA256}",
    f"MD5={ZERO32},SHA1={SHA1}",
    None,
]


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("Hashes|contains", f"MD5={MD5}"),
        ("Hashes|contains", f"md5={MD5[:10].lower()}"),
        ("Hashes|contains", f"IMPHASH={IMPHASH}"),
        ("Hashes|contains", f"SHA256={SHA256[:20]}"),
        ("Hashes|contains", SHA1[5:20]),
        ("Hashes|contains", "DEADBEEFDE"),
        ("Hashes|contains", [f"MD5={MD5}", f"IMPHASH={IMPHASH}"]),
        ("Hashes|contains|all", [f"SHA1={SHA1}", "FFFFF"]),
        ("Hashes|neq", f"*MD5={MD5}*"),
        ("Hashes", None),
        ("Hashes|exists", True),
    ],
)
def test_hashes_exact(key: str, pattern: Any) -> None:
    check_exact(HASHES, key, pattern, HASH_VALUES)


@pytest.mark.parametrize(
    ("key", "pattern", "words"),
    [
        ("Hashes", f"MD5={MD5}", "only contains"),
        ("Hashes|startswith", "SHA1=", "only contains"),
        ("Hashes|endswith", IMPHASH, "only contains"),
        ("Hashes|re", "MD5=[0-9A-F]+", "regular expression"),
        ("Hashes|contains", "A256", "fewer than 5"),
        ("Hashes|contains", f"IMPHASH={ZERO32}", "all-zero"),
        ("Hashes|contains", "00000000", "all-zero"),
        ("Hashes|contains", f"MD5={MD5},SHA256", "hex digits only"),
        ("Hashes|contains", f"SHA384={MD5}", "not one of the mapped"),
        ("Hashes|contains", "MD5=AB*CD", "inner wildcards"),
        ("Hashes|contains|cased", f"MD5={MD5}", "case-sensitive"),
        ("Hashes|contains", "MD5=", "hex digits only"),
    ],
)
def test_hashes_errors(key: str, pattern: Any, words: str) -> None:
    raises_with(HASHES, key, pattern, words)


def test_hashes_render() -> None:
    render = RENDER_FUNCTIONS["hashes"]
    assert render(HASH_VALUES[0], HASHES) == {
        "process.hash.md5": MD5.lower(),
        "process.hash.sha1": SHA1.lower(),
        "process.hash.sha256": SHA256.lower(),
        "process.pe.imphash": IMPHASH.lower(),
    }
    assert render(f"MD5={MD5},IMPHASH={ZERO32},SHA1=", HASHES) == {"process.hash.md5": MD5.lower()}
    full = QUERY_FUNCTIONS["hashes"](
        item_of(sigma_rule("Hashes|contains", f"MD5={MD5}")), HASHES, ""
    )
    assert parts(full) == [MD5.lower()]  # the full digest: an equality


@pytest.mark.parametrize("function", ["hashes", "split_hashes"])
@pytest.mark.parametrize("key", ["\u0130MPHASH", "SHA\u0661", "M\uff24\uff15"])
def test_hashes_render_refuses_non_ascii_algorithm(function: str, key: str) -> None:
    # Sysmon names its algorithms in ASCII (MD5, SHA1, SHA256, IMPHASH). 'İMPHASH' folds to
    # 'imphash' for Sigma but not for a shipper's lowercasing ('i̇mphash'), so such an event
    # has no faithful rendering: it is one Sysmon cannot write, never a disagreement.
    spec = HASHES if function == "hashes" else FieldTarget(
        "Hashes", {"imphash": "IMPHASH"}, "split_hashes"  # type: ignore[arg-type]
    )
    with pytest.raises(ValueError, match="ASCII"):
        RENDER_FUNCTIONS[function](f"MD5={MD5},{key}={IMPHASH}", spec)


def test_split_hashes_render_keeps_digests() -> None:
    columns = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "imphash": "IMPHASH"}
    spec = FieldTarget("Hashes", columns, "split_hashes")  # type: ignore[arg-type]
    assert RENDER_FUNCTIONS["split_hashes"](f"SHA1={SHA1},MD5={MD5},IMPHASH={ZERO32}", spec) == {
        "SHA1": SHA1,
        "MD5": MD5,
        "IMPHASH": ZERO32,
    }


# --- integrity_level_name / any_of --------------------------------------------------------------

INTEGRITY = FieldTarget(
    "IntegrityLevel",
    "process.Ext.token.integrity_level_name",
    "integrity_level_name",
    ("process.Ext.token.integrity_level_name",),
)
LEVELS = [
    "High",
    "S-1-16-12288",
    "System",
    "S-1-16-16384",
    "Medium",
    "Low",
    "Untrusted",
    "S-1-16-0",
    None,
]


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("IntegrityLevel", ["High", "S-1-16-12288"]),
        ("IntegrityLevel", ["High", "System", "S-1-16-16384", "S-1-16-12288"]),
        ("IntegrityLevel", ["high", "s-1-16-12288"]),  # Sigma strings are case-insensitive
        ("IntegrityLevel|re", "^(High|S-1-16-12288)$"),
        ("IntegrityLevel|re|i", "^(low|s-1-16-4096)$"),
        ("IntegrityLevel|contains", "x"),
        ("IntegrityLevel", "AppContainer"),
        ("IntegrityLevel|neq", ["High", "S-1-16-12288"]),
        ("IntegrityLevel|windash", "-1-16-0"),
        ("IntegrityLevel", None),
        ("IntegrityLevel|exists", True),
        ("IntegrityLevel|exists", False),
        ("IntegrityLevel", ["*"]),
    ],
)
def test_integrity_level_name_exact(key: str, pattern: Any) -> None:
    check_exact(INTEGRITY, key, pattern, LEVELS)


def test_integrity_level_name_render_and_errors() -> None:
    render = RENDER_FUNCTIONS["integrity_level_name"]
    assert render("S-1-16-12288", INTEGRITY) == {INTEGRITY.target: "high"}
    # Case does not identify a level: "hIGH" is High (Sigma compares case-insensitively).
    assert render("hIGH", INTEGRITY) == {INTEGRITY.target: "high"}
    for outside in ("AppContainer", "S-1-16-8448", "Higher"):
        with pytest.raises(ValueError, match="vocabulary"):
            render(outside, INTEGRITY)
    raises_with(INTEGRITY, "IntegrityLevel|cased", "High", "case-sensitive")
    # The target keeps the level, not whether the source wrote its name or its SID.
    raises_with(INTEGRITY, "IntegrityLevel", "High", "forms of level 'high'.*list both forms")
    raises_with(INTEGRITY, "IntegrityLevel|contains", "igh", "forms of level 'high'")
    raises_with(INTEGRITY, "IntegrityLevel|startswith", "S-1-16-1", "forms of level 'system'")
    raises_with(INTEGRITY, "IntegrityLevel|contains|all", ["s", "m"], "forms of level 'system'")
    raises_with(INTEGRITY, "IntegrityLevel|gt", 3, "comparison")
    raises_with(INTEGRITY, "IntegrityLevel|fieldref", "User", "field reference")


LOGON = FieldTarget(
    "LogonId",
    "winlog.event_data.LogonId",
    "any_of",
    ("winlog.event_data.LogonId", "winlog.logon.id"),
)


@pytest.mark.parametrize("chosen", list(LOGON.targets))
@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("LogonId", "0x3E7"),
        ("LogonId|contains", "3e"),
        ("LogonId|re", "^0x[0-9a-f]+$"),
        ("LogonId", None),
        ("LogonId|exists", False),
        ("LogonId|exists", True),
        ("LogonId|neq", "0x3e7"),
        ("LogonId|cased", "0x3E7"),
    ],
)
def test_any_of_exact(key: str, pattern: Any, chosen: str) -> None:
    check_exact(LOGON, key, pattern, ["0x3e7", "0x3E7", "0x1234", None], chosen=chosen)


def test_any_of_render_rejects_unknown_target() -> None:
    with pytest.raises(ValueError, match="not one of"):
        RENDER_FUNCTIONS["any_of"]("0x3e7", LOGON, "user.id")


# --- to_integer / to_string / lowercase / copy / basename ---------------------------------------

PID = FieldTarget("ProcessId", "process.pid", "to_integer", ("process.pid",))


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("ProcessId", 4),
        ("ProcessId", "4"),
        ("ProcessId", [500, "4"]),
        ("ProcessId|gt", 4),
        ("ProcessId|lte", 4),
        ("ProcessId|gte", 0),
        ("ProcessId", None),
        ("ProcessId|exists", True),
        ("ProcessId|neq", 4),
    ],
)
def test_to_integer_exact(key: str, pattern: Any) -> None:
    check_exact(PID, key, pattern, [4, "4", "500", 500, 0, "0", None])


def test_to_integer_render() -> None:
    render = RENDER_FUNCTIONS["to_integer"]
    assert render("4", PID) == {"process.pid": 4}
    assert render("0x1f4", PID) == {}  # hex is converted earlier, by hex_to_integer
    assert render("abc", PID) == {}
    assert render(str(2**63), PID) == {}


@pytest.mark.parametrize(
    ("key", "pattern", "words"),
    [
        ("ProcessId|contains", "4", "wildcards"),
        ("ProcessId", "4*", "wildcards"),
        ("ProcessId|re", "^4$", "regular expression"),
        ("ProcessId", "0x1f4", "canonical decimal"),
        ("ProcessId", "04", "canonical decimal"),
        ("ProcessId", 4.5, "number"),
        ("ProcessId|fieldref", "ParentProcessId", "field reference"),
    ],
)
def test_to_integer_errors(key: str, pattern: Any, words: str) -> None:
    raises_with(PID, key, pattern, words)


EVENT_CODE = FieldTarget("EventID", "event.code", "to_string", ("event.code",))


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("EventID", 1),
        ("EventID", "1"),
        ("EventID", [1, 4688]),
        ("EventID|contains", "68"),
        ("EventID|re", "^4"),
        ("EventID", None),
    ],
)
def test_to_string_exact(key: str, pattern: Any) -> None:
    check_exact(EVENT_CODE, key, pattern, [1, "1", 4688, "4688", 10, None])


def test_to_string_errors() -> None:
    raises_with(EVENT_CODE, "EventID|gt", 4000, "comparison")
    raises_with(EVENT_CODE, "EventID", 1.5, "number")


LOWER = FieldTarget("Hashes", "hash", "lowercase", ("hash",))


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("Hashes", "ABC"),
        ("Hashes|contains", "bC"),
        ("Hashes|re|i", "^a.C$"),
        ("Hashes|cased", "123"),
        ("Hashes|neq", "abc"),
    ],
)
def test_lowercase_exact(key: str, pattern: Any) -> None:
    check_exact(LOWER, key, pattern, ["ABC", "abc", "AbC", "123", None])


def test_lowercase_errors() -> None:
    raises_with(LOWER, "Hashes|cased", "abc", "original case is gone")
    raises_with(LOWER, "Hashes|re", "^[A-Z]+$", "regular expression")


COPY = FieldTarget("CommandLine", "process", "copy", ("process",))


def test_copy_exact() -> None:
    values = ["cmd.exe /c whoami", "C:\\x.exe", None]
    for key, pattern in [
        ("CommandLine|contains", "whoami"),
        ("CommandLine|windash", "/c"),
        ("CommandLine|re", "^C:"),
    ]:
        check_exact(COPY, key, pattern, values, prefix="Processes.")


def test_basename_render() -> None:
    spec = FieldTarget("Image", "process.name", "basename", ("process.name",))
    render = RENDER_FUNCTIONS["basename"]
    assert render("C:\\Windows\\cmd.exe", spec) == {"process.name": "cmd.exe"}
    assert render("cmd.exe", spec) == {}
    assert render("C:\\dir\\", spec) == {}
    assert render(None, spec) == {}


# --- source aliases ----------------------------------------------------------------------------


def test_alias_functions() -> None:
    hex_to_integer = ALIAS_FUNCTIONS["hex_to_integer"]
    assert hex_to_integer(["0x1f4"], {}) == 500
    assert hex_to_integer(["0x11CC"], {}) == 4556
    assert hex_to_integer(["4"], {}) == 4
    assert hex_to_integer([4], {}) == 4
    assert hex_to_integer(["zz"], {}) is None
    assert hex_to_integer([None], {}) is None
    join = ALIAS_FUNCTIONS["join_domain_user"]
    assert join(["NT AUTHORITY", "SYSTEM"], {}) == "NT AUTHORITY\\SYSTEM"
    assert join([None, "user"], {}) == "\\user"
    assert join([None, None], {}) is None
    with pytest.raises(ValueError, match="backslash"):
        join(["a\\b", "c"], {})


def test_4688_values_through_alias_then_render() -> None:
    """A Security 4688 record's hex id reaches process.pid as the number Elastic writes."""
    pid = ALIAS_FUNCTIONS["hex_to_integer"](["0x1f4"], {})
    assert RENDER_FUNCTIONS["to_integer"](pid, PID) == {"process.pid": 500}
    check_exact(PID, "ProcessId", 500, [pid])
    user = ALIAS_FUNCTIONS["join_domain_user"](["NT AUTHORITY", "SYSTEM"], {})
    check_exact(USER, "User|endswith", "\\SYSTEM", [user])


def test_every_table_function_is_implemented() -> None:
    """Each function a shipped table names in ``fields`` has both sides; derived ones render."""
    for name in builtin_table_names():
        table = load_table(name)
        for entry in table.logsources:
            for source in table.options.get("data_source", {}).get("choices") or [None]:
                for spec in entry.field_targets(source).values():
                    if spec.function is not None:
                        assert spec.function in RENDER_FUNCTIONS, (name, spec)
                        assert spec.function in QUERY_FUNCTIONS or spec.function == "basename"
            for derived in entry.derived:
                assert derived.function in RENDER_FUNCTIONS, (name, derived)
        for alias in table.source_aliases.values():
            for field in alias["fields"]:
                assert field.get("function") in (None, *ALIAS_FUNCTIONS), (name, field)


def test_glob_matches_agrees_with_the_regex_reading() -> None:
    """``glob_matches`` (two pointers, no regex) answers as a DOTALL full match of the glob
    as a regex, case folded on both sides unless cased, with the reference's fold (simple
    lowercase per code point: ``İ`` is ``i``, as the reference evaluator reads Sigma's case rule),
    not ``str.lower`` (which makes ``İ`` two characters)."""
    import random
    import re

    from converter.mapping.functions.tree import MANY, ONE, glob_matches
    from converter.reference.fields import fold as reference_fold

    def regex(tokens: list, text: str, cased: bool) -> bool:
        fold = (lambda s: s) if cased else reference_fold
        pattern = "".join(
            re.escape(fold(t)) if isinstance(t, str) else (".*" if t is MANY else ".") for t in tokens
        )
        return re.fullmatch(pattern, fold(text), re.DOTALL) is not None

    rng = random.Random(7)
    alphabet = ["a", "B", "\n", "İ", "-", "ß"]
    for _ in range(20000):
        tokens = [rng.choice(alphabet + [MANY, ONE]) for _ in range(rng.randint(0, 6))]
        text = "".join(rng.choice(alphabet + ["i", "\u0307", "A"]) for _ in range(rng.randint(0, 7)))
        cased = rng.random() < 0.3
        assert glob_matches(tokens, text, cased) == regex(tokens, text, cased), (tokens, text, cased)
