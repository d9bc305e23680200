"""Splunk ``savedsearches.conf``: one scheduled alert stanza per converted rule.

The file is written so that a reader following Splunk's documented .conf structure gets back
exactly the stanzas and values sigport meant, whatever the rule's text holds:

* A stanza header is ``[name]`` on one line (Splunk Admin Manual, "Configuration file structure",
  https://docs.splunk.com/Documentation/Splunk/latest/Admin/Configurationfilestructureandsyntax).
  A title holding ``[``, ``]``, a newline, ``\\r`` or another control character would end the
  header early or start a new line of settings, so names are reduced to one line without those
  characters. ``[default]`` is the stanza whose settings apply to every other stanza: a rule
  titled "default" gets another name. Stanza names are unique in a file (the same page: a later
  stanza of the same name is merged into the first, its settings winning), so a second rule with
  the same title is told apart by its Sigma id.
* A value spans several lines when each line but the last ends with a backslash, and the newline
  is kept in the value (savedsearches.conf.spec, ``search``, on multi-line search strings:
  https://docs.splunk.com/Documentation/Splunk/latest/Admin/Savedsearchesconf). A newline in a
  value is therefore written as backslash + newline (no added space), and ``\\r`` as a newline.
  A value whose last character is a backslash would swallow the next setting as a continuation,
  and a line of a multi-line value ending in one (before the added continuation) could read as an
  escaped backslash that ends the value early: a free-text value (description, label) loses the
  trailing backslashes of each line, and a search with such a line is refused (the rule is
  reported unsupported), since dropping them would change the query.

The alert settings (all from savedsearches.conf.spec, link above): ``enableSched`` and
``cron_schedule`` run the search on the rule's interval; ``dispatch.earliest_time`` /
``dispatch.latest_time`` give each run a window longer than the interval (the rule's Elastic
look-back, else one interval plus ``DEFAULT_LAG``), so events indexed late are still searched
by the next run; ``counttype = number of events``, ``relation = greater than``, ``quantity = 0``
trigger the alert on any result; ``alert.track = 1`` lists fired alerts in Triggered Alerts;
``alert.severity`` follows the Sigma level. Splunk Enterprise Security keys are written only when
asked (``es=True``): on a plain Splunk they are unknown settings. ES marks a saved search as a
correlation search with ``action.correlationsearch.enabled = 1`` and reads its name from
``action.correlationsearch.label``; ``action.notable`` with ``action.notable.param.rule_title`` and
``action.notable.param.severity`` creates the notable event (ES Admin manual, "Upgrade correlation
searches", which lists the savedsearches.conf parameters:
https://docs.splunk.com/Documentation/ES/latest/Admin/Upgradecorrelationsearches);
``action.correlationsearch.annotations`` holds the ATT&CK mapping as JSON (ES, "Use annotations
to enrich correlation search results":
https://docs.splunk.com/Documentation/ES/latest/Admin/Configurecorrelationsearches).
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from converter.conversion.result import Conversion
from converter.errors import ConverterError

#: Sigma level -> Splunk alert.severity (1 debug, 2 info, 3 warn, 4 error, 5 severe, 6 fatal).
SPLUNK_SEVERITY = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

DEFAULT_INTERVAL = "5m"
#: Extra look-back of each run beyond the interval, for events indexed late (indexing lag).
DEFAULT_LAG = "5m"

_UNIT_MINUTES = {"s": 1 / 60, "m": 1, "h": 60, "d": 1440}
_NAME_BAD = re.compile(r"[\[\]\x00-\x1f\x7f]+")


class SavedSearchError(ConverterError):
    """A converted rule whose search cannot be written to savedsearches.conf unchanged."""


def _minutes(duration: str) -> int | None:
    """``5m`` / ``1h`` / ``90s`` / ``now-9m`` -> whole minutes (rounded up), or None."""
    match = re.fullmatch(r"(?:now-)?(\d+)([smhd])", duration.strip())
    if not match:
        return None
    amount = int(match.group(1)) * _UNIT_MINUTES[match.group(2)]
    return max(1, int(-(-amount // 1)))


def cron(interval: str) -> str:
    """A cron schedule for an Elastic-style interval (``5m``, ``1h``, ``1d``)."""
    minutes = _minutes(interval) or 5
    if minutes < 60:
        return f"*/{minutes} * * * *"
    if minutes < 1440:
        hours = minutes // 60
        return f"0 */{hours} * * *" if hours > 1 else "0 * * * *"
    return "0 0 * * *"


def stanza_name(title: str, fallback: str) -> str:
    """One line, no brackets or control characters, never ``default``."""
    name = " ".join(_NAME_BAD.sub(" ", title).split()) or " ".join(_NAME_BAD.sub(" ", fallback).split())
    if not name:
        name = "sigport rule"
    if name.lower() == "default":
        name = f"{name} (sigma rule)"
    return name


def conf_value(text: str, free_text: bool, what: str = "value") -> str:
    """A value as written after ``key = ``: newlines become backslash-newline continuations.

    Raises:
        SavedSearchError: a value that is not free text (a search) ends with a backslash.
    """
    value = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    lines = value.split("\n")
    # Every line that a continuation follows, and the last one, must not end with a backslash of
    # the value's own: "x\\" + continuation could read as an escaped backslash that ends the
    # value, and the next line ("action.script = 1" in a description) as a setting of its own.
    for i, line in enumerate(lines):
        if line.endswith("\\"):
            if not free_text:
                where = "ends" if i == len(lines) - 1 else f"has a line ({i + 1}) that ends"
                raise SavedSearchError(
                    f"the {what} {where} with a backslash, which savedsearches.conf reads as a "
                    "line continuation"
                )
            lines[i] = line.rstrip("\\").rstrip()
    return "\\\n".join(lines)


def _level(rule: Any) -> str:
    level = getattr(rule, "level", None)
    return level.name.lower() if level is not None else "medium"


def _elastic(rule: Any) -> dict[str, Any]:
    value = (getattr(rule, "custom_attributes", None) or {}).get("elastic")
    return value if isinstance(value, dict) else {}


def _window(elastic: dict[str, Any], interval: str) -> tuple[str, str]:
    """(earliest, latest) dispatch times: the look-back, snapped to the minute, up to now."""
    lookback = _minutes(str(elastic.get("from", "")))
    every = _minutes(interval) or 5
    if lookback is None or lookback <= every:
        lookback = every + (_minutes(DEFAULT_LAG) or 5)
    return f"-{lookback}m@m", "now"


def settings(conv: Conversion, es: bool = False) -> dict[str, str]:
    """The settings of one rule's stanza (values not yet encoded)."""
    from converter.outputs.kibana import attack_tags

    rule = conv.rule
    elastic = _elastic(rule)
    interval = str(elastic.get("interval", DEFAULT_INTERVAL))
    earliest, latest = _window(elastic, interval)
    description = (getattr(rule, "description", None) or conv.title or "").strip()
    out = {
        "search": conv.queries[0],
        "description": description,
        "enableSched": "1",
        "cron_schedule": cron(interval),
        "dispatch.earliest_time": earliest,
        "dispatch.latest_time": latest,
        "counttype": "number of events",
        "relation": "greater than",
        "quantity": "0",
        "alert.track": "1",
        "alert.severity": str(SPLUNK_SEVERITY.get(_level(rule), 3)),
    }
    if es:
        tactics, techniques = attack_tags(rule)
        out.update(
            {
                "action.correlationsearch.enabled": "1",
                "action.correlationsearch.label": conv.title,
                "action.correlationsearch.annotations": json.dumps(
                    {"mitre_attack": techniques, "mitre_attack_tactics": tactics,
                     "sigma_id": conv.id},
                    ensure_ascii=False,
                ),
                "action.notable": "1",
                "action.notable.param.rule_title": conv.title,
                "action.notable.param.severity": _level(rule),
            }
        )
    return out


_FREE_TEXT = {"description", "action.correlationsearch.label", "action.notable.param.rule_title"}


def render(conversions: Iterable[Conversion], es: bool = False) -> str:
    """A savedsearches.conf with one uniquely named stanza per converted rule ("" for none).

    A rule whose search cannot be written unchanged (it ends with a backslash) gets no stanza:
    its conversion is marked ``unsupported`` with the reason, so the report and the exit code
    account for it.
    """
    from converter.conversion.result import UNSUPPORTED

    stanzas: list[str] = []
    used: set[str] = set()
    for conv in conversions:
        if not conv.queries:
            continue
        try:
            values = [(k, conf_value(v, k in _FREE_TEXT, k)) for k, v in settings(conv, es).items()]
        except SavedSearchError as exc:
            conv.status, conv.reason = UNSUPPORTED, f"savedsearches.conf: {exc.message}"
            continue
        base = stanza_name(conv.title, conv.id)
        name = base
        if name.lower() in used and conv.id:
            name = stanza_name(f"{base} ({conv.id})", conv.id)
        count = 2
        while name.lower() in used:
            name, count = f"{base} ({count})", count + 1
        used.add(name.lower())
        lines = [f"[{name}]"] + [f"{key} = {value}" for key, value in values]
        stanzas.append("\n".join(lines) + "\n")
    return "\n".join(stanzas)
