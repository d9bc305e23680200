"""A companion table is not built for its own default beside a data source whose engine lacks
its records (``options.data_source.not_with``, ``converter.mapping.loader.left_out_on``).

kusto-windows-channels (Sentinel's WindowsEvent table, default sentinel) joined the kusto
pipeline on ``--data-source defender`` (and with no data source: defender is kusto-windows'
default), so ``service:`` and PowerShell rules were converted to WindowsEvent queries and
counted on defender, whose advanced hunting engine has no such table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.conversion.convert import Converter
from converter.errors import PipelineError
from converter.mapping.loader import builtin_table_names, load_table
from converter.rules.load import load_text

SYSTEM = ("{product: windows, service: system}",
          "    selection:\n        EventID: 7045\n        ImagePath|contains: 'x'\n"
          "    condition: selection\n")
PS_SCRIPT = ("{product: windows, category: ps_script}",
             "    selection:\n        ScriptBlockText|contains: 'x'\n    condition: selection\n")


def rule(logsource: str, detection: str) -> object:
    """The one rule of a logsource and a detection."""
    return load_text(
        "title: t\nid: 92111111-2222-3333-4444-555555555570\n"
        f"logsource: {logsource}\ndetection:\n{detection}", "rule.yml")[0]


@pytest.mark.parametrize("options", [{"data_source": "defender"}, None])
@pytest.mark.parametrize(("logsource", "detection"), [SYSTEM, PS_SCRIPT])
def test_channel_rules_are_refused_beside_defender(
    options: dict[str, str] | None, logsource: str, detection: str
) -> None:
    result = Converter("kusto", options=options).convert(rule(logsource, detection))
    assert result.status == "unsupported", result.queries
    reason = result.reason or ""
    assert "data_source=defender" in reason and "(kusto-windows-channels)" in reason, reason
    assert "no WindowsEvent table" in reason, reason


@pytest.mark.parametrize("data_source", ["sentinel", "sentinel-asim", "sentinel-wef"])
@pytest.mark.parametrize(("logsource", "detection"), [SYSTEM, PS_SCRIPT])
def test_channel_rules_still_convert_on_sentinel(data_source: str, logsource: str, detection: str) -> None:
    result = Converter("kusto", options={"data_source": data_source}).convert(rule(logsource, detection))
    assert result.status == "converted", result.reason
    assert " ".join(result.queries).startswith("WindowsEvent"), result.queries


def test_not_with_names_only_data_sources_of_the_base_the_table_does_not_list() -> None:
    """A reason for a data source the table offers, or one its base does not, would never apply."""
    for name in builtin_table_names():
        table = load_table(name)
        option = table.options.get("data_source") or {}
        if not option.get("not_with"):
            continue
        assert table.extends, name
        base = load_table(table.extends).options["data_source"]["choices"]
        for source in option["not_with"]:
            assert source in base and source not in option["choices"], (name, source)


def test_a_malformed_not_with_is_a_table_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("name: bad\nschema: kusto\nextends: kusto-windows\noptions:\n  data_source:\n"
                    "    default: sentinel\n    choices: [sentinel]\n    not_with: [defender]\n"
                    "logsources: []\n", encoding="utf-8")
    with pytest.raises(PipelineError, match="not_with must map a data source to a reason"):
        load_table(str(path))
