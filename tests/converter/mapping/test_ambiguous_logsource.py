"""A rule whose logsource two entries of a pipeline select is refused naming both entries.

Before, every selecting entry applied its renames and refusals, so the rule was refused by one
entry for a field the other maps ("field 'message' is not mapped", "'Image' is not mapped") or
converted with both entries' conditions. No corpus rule selects two entries
(``converter/mapping/refusals.py`` ``AmbiguousLogsourceFailure``).
"""

from __future__ import annotations

import pytest

from converter.conversion.convert import Converter
from converter.rules.load import load_text


def rule(logsource: str, detection: str) -> object:
    """The one rule of a logsource and a detection."""
    text = (
        "title: ambiguous\nid: 92111111-2222-3333-4444-555555555560\n"
        f"logsource: {logsource}\ndetection:\n{detection}"
    )
    return load_text(text, "rule.yml")[0]


KEYWORD = "    keywords: ['segfault']\n    condition: keywords\n"
IMAGE = "    selection:\n        Image|endswith: '\\\\x.exe'\n    condition: selection\n"


@pytest.mark.parametrize(("target", "logsource", "detection", "entries"), [
    ("eql", "{category: webserver, service: apache}", KEYWORD, ["apache-error of ecs-lines", "webserver-access of ecs-lines"]),
    ("eql", "{category: webserver, service: nginx}", KEYWORD, ["nginx-error of ecs-lines", "webserver-access of ecs-lines"]),
    ("splunk", "{category: webserver, service: apache}", KEYWORD, ["apache-error of splunk-lines", "webserver of splunk-stream"]),
    ("splunk", "{category: process_creation, product: windows, service: security}", IMAGE,
     ["windows-process-creation of splunk-sysmon", "windows-security of splunk-sysmon"]),
    ("eql", "{category: process_creation, product: windows, service: security}", IMAGE,
     ["windows-process-creation of ecs-windows", "windows-security-defend of ecs-windows"]),
])
def test_a_logsource_two_entries_select_is_refused_naming_them(
    target: str, logsource: str, detection: str, entries: list[str]
) -> None:
    result = Converter(target).convert(rule(logsource, detection))
    assert result.status == "unsupported"
    reason = result.reason or ""
    assert "is ambiguous: it selects 2 entries" in reason, reason
    assert all(entry in reason for entry in entries), reason
    assert "is not mapped" not in reason


@pytest.mark.parametrize(("target", "logsource", "detection"), [
    ("splunk", "{service: apache}", KEYWORD),
    ("splunk", "{category: process_creation, product: windows}", IMAGE),
    ("eql", "{category: process_creation, product: windows}", IMAGE),
])
def test_a_logsource_one_entry_selects_is_not_called_ambiguous(target: str, logsource: str, detection: str) -> None:
    result = Converter(target).convert(rule(logsource, detection))
    assert "ambiguous" not in (result.reason or ""), result.reason
