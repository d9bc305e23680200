"""Helpers the tests share: paths, inline rule texts, one-call conversion, check outcomes.

``tests/`` is on ``sys.path`` (pytest puts the folder of ``conftest.py`` there), so any test,
however deep, imports these as ``from helpers import ...``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from converter.conversion.convert import Conversion, Converter
from converter.rules.load import LoadedRule, load_text

#: The project root and the shared corpus beside it (tests that need the corpus skip without it).
ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"

#: The id of every inline test rule (a conversion does not depend on it).
RULE_ID = "0b8f7a3e-0000-4000-8000-000000000001"

#: Sysmon's channel, and the process-creation rule the backtest tests replay events against
#: (whoami.exe started by cmd.exe, unless its command line asks for help).
SYSMON = "Microsoft-Windows-Sysmon/Operational"
WHOAMI_RULE = """\
title: Whoami From Cmd
id: 11111111-1111-4111-8111-111111111111
status: test
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\\whoami.exe'
    ParentImage|endswith: '\\cmd.exe'
  filter:
    CommandLine|contains: '/help'
  condition: selection and not filter
level: low
"""


def sysmon_process(image: str, parent: str, cmd: str, **more: Any) -> dict[str, Any]:
    """A Sysmon process-creation event (EventID 1) of CORP\\alice with these values."""
    return {"EventID": 1, "Channel": SYSMON, "Image": image, "ParentImage": parent,
            "CommandLine": cmd, "User": "CORP\\alice", **more}


def rule_text(
    detection: str | dict[str, Any],
    category: str | None = "process_creation",
    product: str = "windows",
    *,
    title: str = "test rule",
) -> str:
    """The YAML text of one Sigma rule with the given ``detection``.

    ``detection`` is the detection mapping, or its YAML text as it would stand under
    ``detection:`` without the indentation (the helper indents it).
    """
    logsource = {"product": product, **({"category": category} if category else {})}
    if isinstance(detection, dict):
        return yaml.safe_dump(
            {"title": title, "id": RULE_ID, "logsource": logsource, "detection": detection}
        )
    body = textwrap.indent(textwrap.dedent(detection).strip("\n"), "    ")
    return (
        f"title: {title}\nid: {RULE_ID}\nlogsource: {yaml.safe_dump(logsource, default_flow_style=True)}"
        f"detection:\n{body}\n"
    )


def load_one(text: str, name: str = "inline.yml") -> LoadedRule:
    """The one rule of a YAML text (loaded as sigport loads a rule file)."""
    (loaded,) = load_text(text, name)
    return loaded


def convert(
    target: str, text: str, data_source: str | None = None, pipelines: list[str] | None = None
) -> Conversion:
    """``text``'s one rule converted for ``target`` (the result whatever its status)."""
    options = {"data_source": data_source} if data_source else None
    return Converter(target, pipelines, options=options).convert(load_one(text))


def to_query(
    target: str, text: str, data_source: str | None = None, pipelines: list[str] | None = None
) -> str:
    """``text``'s one rule as ``target``'s query text; the conversion must succeed."""
    conversion = convert(target, text, data_source, pipelines)
    assert conversion.status == "converted", conversion.reason
    return "\n".join(conversion.queries)


def proven_but_for_length_limits(outcome: Any) -> bool:
    """A check outcome that is equivalent, or differs only where a value is over a field's
    ``ignore_above``, of which the conversion warned.

    ECS keyword fields and Defend's ``.caseless`` sub-fields stop indexing values over 1,024
    characters; ``check`` calls a KQL/Lucene query on them equivalent only when an event has a
    longer value that decides the field's test and the target still agrees (issue 11). Tests
    about other matters accept that limit, and nothing else.
    """
    from backends.common import is_limit_warning

    if outcome.equivalent is True:
        return True
    if not any(is_limit_warning(w) for w in outcome.warnings):
        return False
    if outcome.equivalent is None:
        return "ignore_above" in (outcome.reason or "") and "approximate" not in outcome.reason
    return bool(outcome.disagreements) and all(
        "not indexed" in d.why for d in outcome.disagreements
    )


def assert_held_out_rule_proven_or_refused(path: Path, checker: Any) -> None:
    """Check the held-out rule at ``path`` on events generated from it: every target is proven,
    or refused / not proven with its reason, never "differs", except where the stock mapping
    drops a value past ``ignore_above`` ("(not indexed)", issue 11) or on Kibana KQL, whose
    case-sensitivity is a declared approximation. The generator must write a positive event."""
    from converter.generate.generator import generate_events

    loaded = load_one(path.read_text("utf-8"), path.name)
    result = checker.check(loaded, generate_events(loaded.rule))
    assert result.reference_matched, "the generator wrote no positive event"
    for name, outcome in result.targets.items():
        if outcome.equivalent is None:
            assert outcome.reason, name
        elif outcome.equivalent is False:
            shown = [d.why for d in outcome.disagreements]
            assert shown, name
            past_limit = all("(not indexed)" in why for why in shown)
            assert past_limit or name == "kql", (name, outcome.reason, shown[:2])


def differs_only_by_number_coercion(outcome: Any, events: list[Any]) -> bool:
    """Differing only on events holding a number written in a form Elasticsearch coerces on a
    numeric field ('0888', '888.0', other scripts' digits) and Sigma compares as text, with the
    conversion's warning about it."""
    from backends.query.matching import to_number

    def noncanonical(value: Any) -> bool:
        number = to_number(value) if isinstance(value, str) else None
        return number is not None and str(number) != value

    if outcome.equivalent is not False or not any("coerces" in w for w in outcome.warnings):
        return False
    return all(any(noncanonical(v) for v in events[d.event].fields.values())
               for d in outcome.disagreements)


#: A pySigma pipeline file prefixing every field name with ``{prefix}`` (the cache tests change
#: the prefix and expect fresh conversions).
PREFIX_PIPELINE = """\
name: extra
priority: 100
transformations:
  - id: prefix
    type: field_name_prefix
    prefix: '{prefix}'
"""

#: A process-creation rule matching an Image ending in ``\\{name}`` (``{n}``: two id digits).
IMAGE_RULE = """\
title: Whoami
id: 11111111-1111-4111-8111-1111111111{n:02d}
status: test
logsource: {{product: windows, category: process_creation}}
detection:
  selection:
    Image|endswith: '\\\\{name}'
  condition: selection
level: low
"""
