"""Output formats around the emitted queries: Kibana rule NDJSON and Splunk savedsearches.conf.

The formats are built here from the rule's metadata, not by the stock pySigma finalizers: those
download MITRE ATT&CK data from the network at conversion time, and drop the Elastic settings a
rule carries in its ``elastic:`` custom attribute (index, interval, from, max signals, note, ...).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .convert import Conversion

#: Sigma level -> Elastic severity and default risk score (Elastic's prebuilt rules use 21/47/73/99).
ELASTIC_SEVERITY = {
    "informational": ("low", 21),
    "low": ("low", 21),
    "medium": ("medium", 47),
    "high": ("high", 73),
    "critical": ("critical", 99),
}

#: Target -> Elastic rule type and query language.
ELASTIC_RULE_KIND = {
    "eql": ("eql", "eql"),
    "kql": ("query", "kuery"),
    "lucene": ("query", "lucene"),
    "esql": ("esql", "esql"),
}

#: ATT&CK tactics (Enterprise): Sigma tag name -> (id, display name). Stable public identifiers.
ATTACK_TACTICS = {
    "reconnaissance": ("TA0043", "Reconnaissance"),
    "resource-development": ("TA0042", "Resource Development"),
    "initial-access": ("TA0001", "Initial Access"),
    "execution": ("TA0002", "Execution"),
    "persistence": ("TA0003", "Persistence"),
    "privilege-escalation": ("TA0004", "Privilege Escalation"),
    "defense-evasion": ("TA0005", "Defense Evasion"),
    "credential-access": ("TA0006", "Credential Access"),
    "discovery": ("TA0007", "Discovery"),
    "lateral-movement": ("TA0008", "Lateral Movement"),
    "collection": ("TA0009", "Collection"),
    "command-and-control": ("TA0011", "Command and Control"),
    "exfiltration": ("TA0010", "Exfiltration"),
    "impact": ("TA0040", "Impact"),
}

#: Sigma level -> Splunk alert.severity (1 debug .. 6 fatal).
SPLUNK_SEVERITY = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

DEFAULT_ELASTIC_INDEX = ["logs-*", "winlogbeat-*"]
DEFAULT_INTERVAL = "5m"


def _elastic_attrs(rule: Any) -> dict[str, Any]:
    attrs = getattr(rule, "custom_attributes", None) or {}
    value = attrs.get("elastic")
    return value if isinstance(value, dict) else {}


def _level(rule: Any) -> str:
    level = getattr(rule, "level", None)
    return level.name.lower() if level is not None else "medium"


def _attack_tags(rule: Any) -> tuple[list[str], list[str]]:
    """(tactic tag names, technique ids) from the rule's ``attack.*`` tags."""
    tactics, techniques = [], []
    for tag in getattr(rule, "tags", []) or []:
        if tag.namespace != "attack":
            continue
        if re.fullmatch(r"t\d{4}(\.\d{3})?", tag.name, re.IGNORECASE):
            techniques.append(tag.name.upper())
        elif tag.name.replace("_", "-") in ATTACK_TACTICS:
            tactics.append(tag.name.replace("_", "-"))
    return tactics, techniques


def _threat(rule: Any) -> list[dict[str, Any]]:
    """Elastic ``threat`` entries: the rule's own (``elastic.threat``), else its tactics.

    Sigma tags do not say which tactic a technique belongs to, so without ``elastic.threat`` the
    entries list tactics only; the techniques stay in the tags.
    """
    own = _elastic_attrs(rule).get("threat")
    if own:
        return own
    tactics, _ = _attack_tags(rule)
    out = []
    for name in tactics:
        tid, display = ATTACK_TACTICS[name]
        out.append(
            {
                "framework": "MITRE ATT&CK",
                "tactic": {
                    "id": tid,
                    "name": display,
                    "reference": f"https://attack.mitre.org/tactics/{tid}/",
                },
                "technique": [],
            }
        )
    return out


def _description(rule: Any) -> str:
    return (getattr(rule, "description", None) or getattr(rule, "title", "") or "").strip()


def kibana_rule(conv: Conversion) -> dict[str, Any]:
    """One Elastic Security detection rule object for Kibana's rule import."""
    rule = conv.rule
    elastic = _elastic_attrs(rule)
    severity, risk = ELASTIC_SEVERITY.get(_level(rule), ("medium", 47))
    rule_type, language = ELASTIC_RULE_KIND[conv.target]
    author = getattr(rule, "author", None)
    obj: dict[str, Any] = {
        "rule_id": str(elastic.get("rule_id") or conv.id),
        "name": conv.title,
        "description": _description(rule),
        "risk_score": int(elastic.get("risk_score", risk)),
        "severity": str(elastic.get("severity", severity)),
        "type": rule_type,
        "language": language,
        "query": conv.queries[0] if conv.queries else "",
        "index": list(elastic.get("index") or DEFAULT_ELASTIC_INDEX),
        "interval": str(elastic.get("interval", DEFAULT_INTERVAL)),
        "from": str(elastic.get("from", "now-9m")),
        "to": "now",
        "max_signals": int(elastic.get("max_signals", 100)),
        "enabled": False,
        "author": [a.strip() for a in str(author).split(",")] if author else [],
        "tags": list(elastic.get("tags") or [f"{t.namespace}.{t.name}" for t in rule.tags]),
        "threat": _threat(rule),
        "false_positives": list(getattr(rule, "falsepositives", None) or []),
        "references": list(getattr(rule, "references", None) or []),
        "version": 1,
    }
    if rule_type == "esql":
        obj.pop("index")
    if getattr(rule, "license", None):
        obj["license"] = rule.license
    for key in ("note", "setup", "timestamp_override"):
        if elastic.get(key):
            obj[key] = elastic[key]
    if len(conv.queries) > 1:
        obj["description"] += " (sigport: the rule has several conditions; this is the first)"
    return obj


def render_kibana_ndjson(conversions: list[Conversion]) -> str:
    """All converted rules as NDJSON (one rule object per line)."""
    lines = [json.dumps(kibana_rule(c), ensure_ascii=False) for c in conversions if c.queries]
    return "\n".join(lines) + ("\n" if lines else "")


def _conf_value(text: str) -> str:
    """A savedsearches.conf value: continuation lines end with a backslash."""
    return " \\\n".join(text.strip().split("\n"))


def _cron(interval: str) -> str:
    """A cron schedule for an Elastic-style interval (``5m``, ``1h``, ``1d``)."""
    match = re.fullmatch(r"(\d+)([smhd])", interval.strip())
    if not match:
        return "*/5 * * * *"
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "s":
        return "* * * * *"
    if unit == "m":
        return f"*/{amount} * * * *" if amount < 60 else "0 * * * *"
    if unit == "h":
        return f"0 */{amount} * * *" if amount < 24 else "0 0 * * *"
    return "0 0 * * *"


def savedsearch_stanza(conv: Conversion) -> str:
    """One savedsearches.conf stanza for a converted rule."""
    rule = conv.rule
    elastic = _elastic_attrs(rule)
    interval = str(elastic.get("interval", DEFAULT_INTERVAL))
    _, techniques = _attack_tags(rule)
    tactics, _ = _attack_tags(rule)
    title = re.sub(r"[\[\]]", "", conv.title) or conv.id
    settings = {
        "search": _conf_value(conv.queries[0]),
        "description": _conf_value(_description(rule)),
        "cron_schedule": _cron(interval),
        "enableSched": "1",
        # Look back as far as the rule's Elastic schedule does (from: now-9m), else one interval.
        "dispatch.earliest_time": "-" + str(elastic.get("from", f"now-{interval}")).removeprefix("now-"),
        "dispatch.latest_time": "now",
        "alert.severity": str(SPLUNK_SEVERITY.get(_level(rule), 3)),
        "alert.track": "1",
        "action.correlationsearch.enabled": "1",
        "action.correlationsearch.label": _conf_value(conv.title),
        "action.correlationsearch.annotations": json.dumps(
            {"mitre_attack": techniques, "mitre_attack_tactics": tactics, "sigma_id": conv.id}
        ),
    }
    body = "\n".join(f"{k} = {v}" for k, v in settings.items())
    return f"[{title}]\n{body}\n"


def render_savedsearches(conversions: list[Conversion]) -> str:
    """A savedsearches.conf with one stanza per converted rule."""
    stanzas = [savedsearch_stanza(c) for c in conversions if c.queries]
    return "\n".join(stanzas)


def render_default(conversions: list[Conversion]) -> str:
    """One query per line per converted rule."""
    out = [c.output for c in conversions if c.output]
    return "\n".join(out) + ("\n" if out else "")


FORMATS: dict[str, Callable[[list[Conversion]], str]] = {
    "default": render_default,
    "kibana-ndjson": render_kibana_ndjson,
    "savedsearches": render_savedsearches,
}

#: File suffix per format, for ``-o DIR`` output.
SUFFIXES = {"default": None, "kibana-ndjson": ".ndjson", "savedsearches": ".conf"}

#: File suffix per target for the default format.
TARGET_SUFFIXES = {
    "eql": ".eql",
    "kql": ".kql",
    "lucene": ".lucene",
    "esql": ".esql",
    "splunk": ".spl",
    "splunk-cim": ".spl",
}


class TreeWriter:
    """Writes conversions under a directory that mirrors the input tree, one file per rule and
    target: ``OUTPUT/<target>/<path relative to its input directory>.<suffix>``.

    ``write`` takes any batch of conversions (a whole run, or one input file's from
    ``convert_paths(on_file=...)``, so files are written while the workers convert the rest).
    Conversions without queries write nothing; a later conversion for the same file replaces
    the earlier one, as when writing a whole run in order.

    A rule's place in the tree is its real path (symbolic links resolved) relative to the first
    input directory that contains it, or just its file name. Resolving a path asks the file
    system about every directory on it; here each directory is resolved once per run and each
    file only checked for being a link, and each output directory is created once.
    """

    def __init__(self, output: Path, roots: Sequence[Path], output_format: str = "default") -> None:
        """Write under ``output``; ``roots`` are the input paths (directories are the roots).

        Raises:
            KeyError: an unknown ``output_format``, or the ``savedsearches`` format (one file
                per target, not per rule).
        """
        if output_format == "savedsearches":
            raise KeyError(output_format)
        self.output = output
        self.render = FORMATS[output_format]
        self.suffix = SUFFIXES[output_format]
        self.roots = [root.resolve() for root in roots if root.is_dir()]
        self._real_dirs: dict[str, str] = {}
        self._made: set[Path] = set()

    def relative(self, path: str) -> Path:
        """Where the rule file ``path`` goes under ``OUTPUT/<target>/`` (before its suffix)."""
        if self.roots:
            real = self._real_path(path)
            for root in self.roots:
                try:
                    return real.relative_to(root)
                except ValueError:
                    continue
        return Path(Path(path).name)

    def _real_path(self, path: str) -> Path:
        """``Path(path).resolve()``, with the directory part resolved once per directory."""
        head, name = os.path.split(path)
        if name in ("", ".", "..") or os.path.islink(path):
            return Path(path).resolve()
        real = self._real_dirs.get(head)
        if real is None:
            # realpath resolves the directories left to right; a last component that is no
            # link is appended as it is, so the file's real path is its directory's + name.
            real = self._real_dirs[head] = os.path.realpath(head)
        return Path(real, name)

    def target_file(self, conversion: Conversion) -> Path:
        """The output file of one conversion."""
        suffix = self.suffix or TARGET_SUFFIXES[conversion.target]
        return self.output / conversion.target / self.relative(conversion.path).with_suffix(suffix)

    def write(self, conversions: Iterable[Conversion]) -> None:
        """Write the file of every conversion that has queries."""
        for conversion in conversions:
            if not conversion.queries:
                continue
            target = self.target_file(conversion)
            if target.parent not in self._made:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(target.parent)
            target.write_text(self.render([conversion]), encoding="utf-8")
