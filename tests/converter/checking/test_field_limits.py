"""Issue 11: what Elasticsearch does to a value before any query sees it, proven on events.

* ``ignore_above`` on **every** keyword field (ECS base fields such as ``file.path`` and
  ``process.executable`` too, not only Defend's ``.caseless`` sub-fields): a longer value is not
  indexed, so ``convert`` warns where the rule can match a longer value and ``check`` proves the
  target only with an event whose long value decides that test.
* ``coerce`` on numeric fields: ``'0888'`` is indexed as 888 on a ``long`` field, which Sigma
  compares as text; the emitters declare it and ``check`` shows the event.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backends.common import can_exceed, is_limit_warning
from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import SampleEvent
from converter.rules.load import load_text

FILE_RULE = """
title: limits
id: 6a7b8c9d-0000-4000-8000-00000000000{n}
status: test
logsource: {{category: file_event, product: windows}}
detection:
  sel:
    {detection}
  condition: sel
level: low
"""

PORT_RULE = """
title: port
id: 6a7b8c9d-0000-4000-8000-0000000000a{n}
status: test
logsource: {{category: network_connection, product: windows}}
detection:
  sel:
    {detection}
  condition: sel
level: low
"""


def _check(rule: str, detection: str, events: list[dict[str, Any]], target: str,
           event_id: int, source: str | None = "windows") -> Any:
    (loaded,) = load_text(rule.format(n=1, detection=detection), "limits.yml")
    samples = [
        SampleEvent({"EventID": event_id, "Channel": "Microsoft-Windows-Sysmon/Operational", **e})
        for e in events
    ]
    return Checker([target], data_source=source).check(loaded, samples).targets[target]


def _warnings(rule: str, detection: str, target: str, source: str = "windows") -> list[str]:
    (loaded,) = load_text(rule.format(n=2, detection=detection), "limits.yml")
    return Converter(target, options={"data_source": source}).convert(loaded).warnings


@pytest.mark.parametrize("target", ["lucene", "kql", "eql", "esql"])
def test_convert_warns_on_a_base_keyword_field_where_a_long_value_can_match(target: str) -> None:
    warned = [w for w in _warnings(FILE_RULE, "TargetFilename|contains: '\\\\Temp\\\\'", target)
              if is_limit_warning(w)]
    assert warned and "file.path" in warned[0] and "1024" in warned[0], warned
    # An exact short value cannot match a value over 1,024 characters: nothing to warn about.
    assert not any(is_limit_warning(w) for w in
                   _warnings(FILE_RULE, "TargetFilename: 'C:\\\\x.dll'", target))


def test_can_exceed_reads_the_sigma_value() -> None:
    from sigma.types import SigmaExists, SigmaNumber, SigmaRegularExpression, SigmaString

    assert can_exceed(SigmaString("*x"), 10)
    assert not can_exceed(SigmaString("a?c"), 10)  # '?' is one character
    assert can_exceed(SigmaString("a" * 11), 10)
    assert can_exceed(SigmaRegularExpression("^ab$"), 10)
    assert can_exceed(SigmaExists(True), 10)
    assert not can_exceed(SigmaNumber(5), 10)


LONG_DLL = "C:\\Temp\\" + "d" * 1100 + ".dll"


@pytest.mark.parametrize("target", ["lucene", "eql"])
def test_a_base_keyword_field_is_proven_only_with_a_long_value(target: str) -> None:
    # EQL pushes `:` down as a wildcard query on file.path (keyword, ignore_above 1024), so it
    # misses a longer path exactly as Lucene does (backends/eql/semantics.py, ignore_above).
    detection = "TargetFilename|contains: '\\\\Temp\\\\'"
    short = [{"TargetFilename": "C:\\Temp\\x.dll"}, {"TargetFilename": "C:\\y.dll"}]
    outcome = _check(FILE_RULE, detection, short, target, 11)
    assert outcome.equivalent is None and "file.path" in outcome.reason, outcome.reason
    assert "ignore_above" in outcome.reason
    # A long value the test rejects anyway (no '\Temp\' in it) shows nothing.
    outcome = _check(FILE_RULE, detection, short + [{"TargetFilename": "C:\\" + "d" * 1100}],
                     target, 11)
    assert outcome.equivalent is None, outcome.reason
    # A long path under \Temp\: Sigma matches it, Elasticsearch never indexed it.
    outcome = _check(FILE_RULE, detection, short + [{"TargetFilename": LONG_DLL}], target, 11)
    assert outcome.equivalent is False and [d.event for d in outcome.disagreements] == [2]
    assert "not indexed" in outcome.disagreements[0].why


def test_the_coercion_is_declared_and_shown() -> None:
    # process.pid is a long field the table fills from any decimal text (no `canonical`).
    rule = PORT_RULE.replace("network_connection", "process_creation")
    detection = "ProcessId: 888"
    for target in ("eql", "lucene", "kql", "esql"):
        warned = [w for w in _warnings(rule, detection, target) if "coerces" in w]
        assert warned and "process.pid" in warned[0], (target, warned)
    # Canonical numbers: agreed, but the declared coercion keeps it from "equivalent".
    events = [{"ProcessId": "888"}, {"ProcessId": 999}]
    outcome = _check(rule, detection, events, "eql", 1)
    assert outcome.equivalent is None and "coerces" in outcome.reason, outcome.reason
    # '0888' is 888 to Elasticsearch and not 888 to Sigma: the event shows it.
    outcome = _check(rule, detection, events + [{"ProcessId": "0888"}], "eql", 1)
    assert outcome.equivalent is False and [d.event for d in outcome.disagreements] == [2]


@pytest.mark.parametrize("source", ["windows", "winlogbeat", "defend"])
def test_canonical_ports_are_exact(source: str) -> None:
    # Sysmon writes ports as UInt16 (canonical decimal text), Defend as numbers: the table says
    # `canonical: true`, so no coercion is declared, and a Sigma event with '0888' is no record
    # of the source (not rendered) instead of one on which the long field "differs".
    detection = "DestinationPort: 888"
    for target in ("eql", "lucene", "kql", "esql"):
        assert not [w for w in _warnings(PORT_RULE, detection, target, source)
                    if "coerces" in w], target
    events = [{"DestinationPort": "888"}, {"DestinationPort": 999}, {"DestinationPort": "0888"}]
    for target in ("eql", "lucene"):
        outcome = _check(PORT_RULE, detection, events, target, 3, source)
        assert outcome.equivalent is True, (target, outcome.reason)
        assert outcome.not_rendered == [2] and outcome.matched == [0], target


def test_a_number_on_a_keyword_field_needs_no_coercion_caveat() -> None:
    # winlog.event_data fields are keyword: '0888' stays '0888' there, as Sigma reads it.
    warned = [w for w in _warnings(FILE_RULE, "TargetFilename: 888", "lucene") if "coerces" in w]
    assert warned == []


@pytest.mark.parametrize(
    "value, hit",
    [("888", True), (888, True), ("0888", True), ("+888", True), ("888.0", True),
     ("888.7", True), (888.7, True), ("8.887e2", True), ("\u0668\u0668\u0668", True),
     (" 888", False), ("8_88", False), ("0x378", False), ("inf", False), ("888x", False),
     (True, False)],
)
def test_interpreters_read_a_long_field_as_elasticsearch_indexes_it(value: Any, hit: bool) -> None:
    from backends.kql.parser import parse as parse_kql
    from backends.lucene.parser import parse as parse_lucene
    from backends.query.evaluate import matches
    from backends.query.fields import FieldModel

    # coerce: Long.parseLong, else BigDecimal truncated ('888.7' and 8.887e2 are 888); Java's
    # digits include other scripts' ('٨٨٨'); anything else is rejected, so not indexed.
    model = FieldModel.builtin("windows")
    event = {"destination": {"port": value}}
    assert matches(parse_lucene("destination.port:888", fields=model), event) is hit
    assert matches(parse_kql("destination.port:888", fields=model), event) is hit


def test_a_fraction_past_a_comparison_limit_is_truncated_on_a_long_field() -> None:
    # Sigma reads '1000.5' as 1000.5 > 1000 (number_text); Elasticsearch indexes 1000 on the
    # long process.pid, so Lucene's range does not match it: the event shows the difference.
    rule = PORT_RULE.replace("network_connection", "process_creation")
    events = [{"ProcessId": 1001}, {"ProcessId": 999}, {"ProcessId": "1000.5"}]
    outcome = _check(rule, "ProcessId|gt: 1000", events, "lucene", 1)
    assert outcome.equivalent is False and [d.event for d in outcome.disagreements] == [2]
    assert "coerces" in " ".join(outcome.warnings)


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_exists_on_a_long_value_is_shown_to_differ(target: str) -> None:
    # `?file.path != null` (EQL) and `_exists_:file.path` (Lucene) are exists queries: a value
    # over ignore_above was never indexed, so they read the field as absent where Sigma's
    # |exists sees it (the exists query's documented reasons).
    detection = "TargetFilename|exists: true"
    warned = [w for w in _warnings(FILE_RULE, detection, target) if is_limit_warning(w)]
    assert warned and "file.path" in warned[0], warned
    short = [{"TargetFilename": "C:\\x.dll"}, {"Image": "C:\\y.exe"}]
    # (Not proven on short values: the windows shipper's deletion of '-' is declared too.)
    assert _check(FILE_RULE, detection, short, target, 11).equivalent is None
    outcome = _check(FILE_RULE, detection, short + [{"TargetFilename": LONG_DLL}], target, 11)
    assert outcome.equivalent is False and [d.event for d in outcome.disagreements] == [2]


def test_eql_exact_short_values_need_no_limit_caveat() -> None:
    # A whole value of at most 1,024 characters is false on a longer value either way.
    assert not any(is_limit_warning(w) for w in
                   _warnings(FILE_RULE, "TargetFilename: 'C:\\x.dll'", "eql"))
    outcome = _check(FILE_RULE, "TargetFilename: 'C:\\x.dll'",
                     [{"TargetFilename": "C:\\x.dll"}, {"TargetFilename": "C:\\y.dll"}], "eql", 11)
    assert outcome.equivalent is True, outcome.reason


def test_eql_reads_the_users_mapping(tmp_path: Any) -> None:
    # A user's mapping (--mapping) with a shorter limit and a keyword port: EQL's emitter and
    # interpreter both follow it, as KQL's and Lucene's do.
    import json

    mapping = tmp_path / "mapping.json"
    properties = {
        "file": {"properties": {"path": {"type": "keyword", "ignore_above": 40}}},
        "destination": {"properties": {"port": {"type": "keyword"}}},
    }
    mapping.write_text(json.dumps({"mappings": {"properties": properties}}))
    (loaded,) = load_text(FILE_RULE.format(n=3, detection="TargetFilename|endswith: '.dll'"),
                          "limits.yml")
    event = {"EventID": 11, "Channel": "Microsoft-Windows-Sysmon/Operational",
             "TargetFilename": "C:\\" + "d" * 50 + ".dll"}
    checker = Checker(["eql"], data_source="windows", mapping=mapping)
    outcome = checker.check(loaded, [SampleEvent(event)]).targets["eql"]
    assert outcome.equivalent is False and "not indexed" in outcome.disagreements[0].why
    (port,) = load_text(PORT_RULE.format(n=4, detection="DestinationPort: 888"), "port.yml")
    conversion = Converter("eql", options={"data_source": "windows", "mapping": str(mapping)})
    converted = conversion.convert(port)
    assert 'destination.port : "888"' in converted.output, converted.output
    assert not any("coerces" in w for w in converted.warnings), converted.warnings


def test_esql_declares_the_limit_on_exists_and_patterns() -> None:
    # ES|QL reads a keyword value over ignore_above as null (doc values never hold it, and its
    # _source fallback applies the limit too): |exists and patterns that can match a longer
    # value are declared; a short exact value is not.
    for detection in ("TargetFilename|exists: true", "TargetFilename|endswith: '.dll'",
                      "TargetFilename|re: 'x.*'"):
        warned = [w for w in _warnings(FILE_RULE, detection, "esql") if is_limit_warning(w)]
        assert warned and "file.path" in warned[0], (detection, warned)
    assert not any(is_limit_warning(w) for w in
                   _warnings(FILE_RULE, "TargetFilename: 'C:\\x.dll'", "esql"))


COPY_TEMPLATE = Path(__file__).parents[2] / "data" / "kql_es_copy_template.json"
PROC_RULE = PORT_RULE.replace("network_connection", "process_creation")


@pytest.mark.parametrize("target", ["eql", "lucene", "esql"])
@pytest.mark.parametrize("source", ["defend", "windows"])
def test_null_and_exists_read_the_field_and_its_copy(target: str, source: str) -> None:
    # process.executable stops at 1,024 characters; its caseless copy (a wildcard field the
    # ingest script writes for strings) does not, but holds no number: a value is missing only
    # when neither has it, so the test is made on both and a long value decides it right.
    long_image = "C:\\" + "x" * 1100 + ".exe"
    events = [{"CommandLine": "a x b", "Image": "C:\\y.exe"}, {"CommandLine": "a x b"},
              {"CommandLine": "a x b", "Image": long_image}]
    cases = {"Image: null": ([1], "=="), "Image|exists: true": ([0, 2], "!=")}
    for detection, (matched, _) in cases.items():
        (loaded,) = load_text(PROC_RULE.format(n=5, detection=detection), "copy.yml")
        samples = [SampleEvent({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                                **e}) for e in events]
        checker = Checker([target], data_source=source, mapping=COPY_TEMPLATE)
        outcome = checker.check(loaded, samples).targets[target]
        assert "sigport.caseless.process.executable" in (outcome.query or ""), outcome.query
        if source == "defend":  # (the windows shipper's deletion of '-' is declared there)
            assert outcome.equivalent is True, (detection, outcome.reason)
        assert outcome.disagreements == [] and outcome.matched == matched, detection
        # Without the template the exists query misses the long value: the event shows it.
        plain = Checker([target], data_source=source).check(loaded, samples).targets[target]
        assert [d.event for d in plain.disagreements] == [2], (detection, plain.reason)


def test_a_null_leaf_needs_a_long_value_only_where_a_not_can_see_it() -> None:
    """A leaf null on a missing (or over-limit) field decides a query with no NOT above it as a
    false one would (And/Or are monotone), so an exact value there needs no long event; under a
    NOT the null survives (ES|QL drops the row where Sigma keeps it), so it does."""
    from backends.query.ast import And, Equals, Missing, Not
    from converter.checking.limits import length_limits

    leaf = Equals(field="f", value="x", missing=Missing.NULL, max_length=8)
    other = Equals(field="g", value="y")
    assert length_limits(And((leaf, other))) == []
    assert length_limits(And((Not(leaf), other))) == [leaf]
    assert length_limits(Not(And((leaf, other)))) == [leaf]


CONTAINS_ALL_RULE = """
title: contains all on a limited field
id: 6a7b8c9d-0000-4000-8000-0000000000c1
status: test
logsource: {category: process_creation, product: windows}
detection:
  sel:
    CommandLine|contains|all: ['--remote-debugging-', '--headless']
  condition: sel
level: low
"""


def test_a_long_value_the_rest_of_the_query_masks_proves_nothing() -> None:
    """On Defend, KQL tests ``process.command_line.caseless`` (1,024 characters) for both values.
    An event whose long command line holds only one of them flips that leaf but leaves the query
    false either way: agreeing on it is no evidence. The query misses a long command line holding
    both, which Sigma matches, so the generated events must not make it "equivalent"."""
    from converter.checking.limits import limit_shows, length_limits

    (loaded,) = load_text(CONTAINS_ALL_RULE, "r.yml")
    base = SampleEvent({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                        "Image": "C:\\Windows\\System32\\cmd.exe"})
    only_one = SampleEvent({**base.fields, "CommandLine": "x" * 1100 + " --headless"})
    both = SampleEvent({**base.fields, "CommandLine": "x" * 1100 + " --remote-debugging-1 --headless"})
    checker = Checker(["kql"], data_source="defend")
    outcome = checker.check(loaded, [only_one]).targets["kql"]
    assert outcome.equivalent is not True, outcome.reason
    assert outcome.disagreements == []
    # The event holding both values shows the difference the one above could not.
    outcome = checker.check(loaded, [only_one, both]).targets["kql"]
    assert outcome.equivalent is False and [d.event for d in outcome.disagreements] == [1]
    # And through the generator's events: never equivalent.
    from converter.generate import generate_events

    outcome = checker.check(loaded, generate_events(loaded.rule)).targets["kql"]
    assert outcome.equivalent is not True, outcome.reason
    # limit_shows itself: the masked event decides a leaf, not the query.
    from backends import TARGETS

    tree = TARGETS["kql"].parse_function()(
        outcome.query, fields=checker.models.get("kql")) if outcome.query else None
    assert tree is not None
    rendered = checker.renderers["kql"].render_sample_all(only_one)[0]
    leaves = length_limits(tree)
    assert leaves and not any(limit_shows(tree, leaf, rendered) for leaf in leaves)


IMAGE_ALL_RULE = CONTAINS_ALL_RULE.replace("c1", "c2").replace(
    "CommandLine|contains|all: ['--remote-debugging-', '--headless']",
    "Image|contains|all: ['\\\\Temp\\\\', 'evil']",
)


@pytest.mark.parametrize("target", ["eql", "lucene", "kql-es", "esql"])
def test_the_generated_long_positive_decides_a_masked_limit(target: str) -> None:
    """``process.executable`` stops at 1,024 characters; the rule tests it twice. The generator's
    long positive keeps both tests in one long value, so the limit decides the whole query: on
    the stock mapping the query misses it (the event shows it), and with the template's caseless
    copy (a ``wildcard`` field, no limit) the target is proven on it."""
    from converter.generate import generate_events

    (loaded,) = load_text(IMAGE_ALL_RULE, "r.yml")
    events = generate_events(loaded.rule)
    (long,) = [i for i, e in enumerate(events) if "long positive" in e.note]
    plain = Checker([target], data_source="defend").check(loaded, events).targets[target]
    assert plain.equivalent is False, plain.reason
    assert [d.event for d in plain.disagreements] == [long]
    copied = Checker([target], data_source="defend", mapping=COPY_TEMPLATE)
    outcome = copied.check(loaded, events).targets[target]
    assert "sigport.caseless.process.executable" in (outcome.query or ""), outcome.query
    assert outcome.equivalent is True, outcome.reason


REGEX_RULE = """
title: regex and cased values on limited fields
id: 6a7b8c9d-0000-4000-8000-0000000000e1
status: test
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|re: '.*[A-Za-z]:\\\\Win dows\\\\.*'
    ParentImage|cased|contains: '\\Temp Dir\\'
  condition: sel
level: low
"""


@pytest.mark.parametrize("target", ["eql", "lucene", "kql-es", "esql"])
def test_regex_and_cased_tests_on_a_limited_field_read_the_cased_copy(
    target: str, tmp_path: Path
) -> None:
    """A regex or a ``|cased`` value on a keyword field that stops at 1,024 characters: the
    template from ``sigport mapping`` maps a cased copy (a ``wildcard`` field, values with
    whitespace and ``*`` swapped, not lowercased) of each, the emitters test the copy (a regex
    written through the swap), and the long positives prove it; without the template the long
    positives show the difference."""
    import json

    from converter.generate import generate_events
    from converter.outputs.index_template import propose, template_body

    (loaded,) = load_text(REGEX_RULE, "r.yml")
    proposal = propose([loaded], "windows")
    assert proposal.cased == {
        "process.executable": "sigport.cased.process.executable",
        "process.parent.executable": "sigport.cased.process.parent.executable",
    }
    template = tmp_path / "t.json"
    template.write_text(json.dumps(template_body(proposal)))
    events = generate_events(loaded.rule)
    long = {i for i, e in enumerate(events) if "long positive" in e.note}
    plain = Checker([target], data_source="windows").check(loaded, events).targets[target]
    assert plain.equivalent is False and {d.event for d in plain.disagreements} & long
    assert all("not indexed" in d.why for d in plain.disagreements), plain.disagreements
    copied = Checker([target], data_source="windows", mapping=template)
    outcome = copied.check(loaded, events).targets[target]
    assert "sigport.cased.process.executable" in (outcome.query or ""), outcome.query
    assert "sigport.cased.process.parent.executable" in (outcome.query or ""), outcome.query
    assert outcome.equivalent is True, outcome.reason


@pytest.mark.parametrize(
    ("pattern", "bounded"),
    [("abc", True), ("a\\*b", True), ("a\\+\\{2\\}\\@", True), ("a\\\\\\\\1", True),
     ("a*b", False), ("a\\\\*", False), ("a\\1", False), ("a{2}", False), ("a\\X", False)],
)
def test_an_escaped_operator_does_not_make_a_regex_unbounded(pattern: str, bounded: bool) -> None:
    """``\\*`` is a literal '*': before, any '*' in the text (also escaped) read as repetition,
    so an anchored regex matching at most a few characters counted as unbounded."""
    from converter.checking.limits import _regex_bound

    assert (_regex_bound(pattern) < float("inf")) is bounded
