"""``sigport import elastic``: Elastic detection rules to Sigma rules, each with a round-trip proof.

Input: detection-rules TOML files (``[metadata]`` + ``[rule]``), directories of them, and Kibana
rule exports (NDJSON, one rule object per line; the export summary line and exception-list objects
are skipped). Rules whose language is ``eql`` (single-event queries) or ``kuery`` (``query``,
``threshold`` and ``new_terms`` rules' query) are parsed with sigport's own interpreters into the
shared query tree, lowered to a Sigma detection (``importer_lower``), written as Sigma YAML, and
proven (``importer_roundtrip``): the original query, the Sigma rule, and the EQL and KQL that
sigport converts it to must match the same generated events.

Every rule gets one report entry with a status:

* ``verified``: imported, and the round trip agreed on every event;
* ``imported``: written, but the round trip is not proven (the reason says where it differs);
* ``not_importable``: Sigma cannot express it (sequences, ES|QL, machine learning, full-text
  matches, functions without a Sigma equivalent, ...); the reason says what; nothing is guessed;
* ``error``: the file or rule could not be read (the reason names the file).

Field names: a rule whose query requires exactly a logsource's constants from the ``ecs-windows``
table (``process where host.os.type == "windows" and event.type == "start"``) and uses only
exactly-invertible fields is written in Sigma taxonomy (``Image``, ``CommandLine``, ...) for
``product: windows, category: process_creation``. Every other rule keeps its ECS names under a
logsource whose category says so (``ecs_process``, ``ecs_registry``, ``ecs_event``) with a
``definition``; such rules convert with the ECS pass-through pipeline
(``importer_roundtrip.ecs_passthrough_pipeline``).

Elastic settings are kept under the rule's ``elastic:`` custom attribute with the keys that
``converter/outputs/formats.py`` reads for ``kibana-ndjson`` output, so an imported rule exports back.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from backends.eql.parser import parse as parse_eql
from backends.kql.parser import parse as parse_kql
from backends.query import ast
from backends.query.errors import QueryError, QueryParseError, UnsupportedQueryError
from backends.query.fields import FieldModel

from converter.errors import show_traceback
from converter.importer.lower import NotImportable, build_detection, check_tree
from converter.importer.read import (  # noqa: F401 - statuses and readers re-exported
    ERROR,
    IMPORTED,
    NOT_IMPORTABLE,
    VERIFIED,
    ElasticRule,
    ImportEntry,
    malformed,
    read_rules,
    slug as _slug,
)
from converter.importer.roundtrip import round_trip
from converter.importer.taxonomy import ecs_logsource, to_taxonomy
from converter.rules.load import load_text

#: Languages whose queries are imported, and the rule types whose query is imported for kuery.
IMPORTED_LANGUAGES = ("eql", "kuery")
KUERY_TYPES = ("query", "threshold", "new_terms")
#: Elastic severity -> Sigma level (the same four names).
LEVELS = {"low": "low", "medium": "medium", "high": "high", "critical": "critical"}
#: detection-rules maturity -> Sigma status.
STATUSES = {"production": "stable", "development": "experimental", "deprecated": "deprecated"}
#: Rule settings carried under ``elastic:`` (the keys formats.kibana_rule reads, plus the ones a
#: faithful re-export needs: the rule type's own settings and the investigation material).
ELASTIC_KEYS = (
    "risk_score", "severity", "type", "language", "index", "interval", "from", "max_signals",
    "timestamp_override", "tags", "threat", "note", "setup", "building_block_type", "threshold",
    "new_terms", "history_window_start", "alert_suppression", "rule_name_override",
    "severity_mapping", "risk_score_mapping", "exceptions_list", "required_fields",
    "related_integrations", "investigation_fields", "version",
)


@dataclass
class ImportReport:
    """Every rule of an import run, in input order."""

    entries: list[ImportEntry] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report document: ``{"rules": [entry, ...]}``."""
        return {"rules": [e.to_json() for e in self.entries]}

    def counts(self) -> Counter[str]:
        """How many rules per status."""
        return Counter(e.status for e in self.entries)

    def reasons(self) -> Counter[tuple[str, str]]:
        """``(status, reason group)`` -> count, for the rules that are not verified."""
        return Counter(
            (e.status, e.group or (e.reason or "")) for e in self.entries if e.status != VERIFIED
        )


# --- metadata -------------------------------------------------------------------------------------


def _date(value: Any) -> str | None:
    if not value:
        return None
    return str(value).replace("/", "-")[:10]


def _attack_tags(threat: list[dict[str, Any]]) -> list[str]:
    """``attack.<tactic-name>`` and ``attack.tXXXX[.YYY]`` tags from Elastic ``threat`` entries."""
    tactics, techniques = [], []
    for entry in threat or []:
        if entry.get("framework") != "MITRE ATT&CK":
            continue
        name = (entry.get("tactic") or {}).get("name")
        if name:
            tactics.append("attack." + name.lower().replace(" ", "-"))
        for tech in entry.get("technique") or []:
            if tech.get("id"):
                techniques.append("attack." + str(tech["id"]).lower())
            for sub in tech.get("subtechnique") or []:
                if sub.get("id"):
                    techniques.append("attack." + str(sub["id"]).lower())
    return list(dict.fromkeys(tactics)) + sorted(set(techniques))


def _rule_uuid(rule_id: str) -> str:
    """The Sigma id: the rule_id when it is a UUID, else a stable UUID derived from it."""
    try:
        return str(uuid.UUID(rule_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "elastic-rule:" + rule_id))


def sigma_document(item: ElasticRule, logsource: dict[str, str], detection: dict[str, Any]) -> dict[str, Any]:
    """The Sigma rule (as a mapping, in conventional key order) for an imported Elastic rule."""
    rule, meta = item.rule, item.metadata
    rule_id = str(rule.get("rule_id", ""))
    author = rule.get("author")
    doc: dict[str, Any] = {
        "title": rule.get("name") or rule_id,
        "id": _rule_uuid(rule_id),
        "status": STATUSES.get(str(meta.get("maturity", "")), "experimental"),
        "description": str(rule.get("description") or "").strip() or None,
        "references": list(rule.get("references") or []) or None,
        "author": ", ".join(author) if isinstance(author, list) else author,
        "date": _date(meta.get("creation_date") or rule.get("created_at")),
        "modified": _date(meta.get("updated_date") or rule.get("updated_at")),
        "license": rule.get("license"),
        "tags": _attack_tags(rule.get("threat") or []) or None,
        "logsource": logsource,
        "detection": detection,
        "falsepositives": list(rule.get("false_positives") or []) or None,
        "level": LEVELS.get(str(rule.get("severity", "")).lower()),
    }
    elastic: dict[str, Any] = {"rule_id": rule_id}
    for key in ELASTIC_KEYS:
        if rule.get(key) not in (None, "", [], {}):
            elastic[key] = rule[key]
    for key in ("maturity", "integration"):
        if meta.get(key):
            elastic[key] = meta[key]
    if item.transform:
        elastic["transform"] = item.transform
    doc["elastic"] = elastic
    return {k: v for k, v in doc.items() if v is not None}


class _Dumper(yaml.SafeDumper):
    """Safe dumping; multi-line strings as literal blocks so notes stay readable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value and not any(c in value for c in "\r\t") and value == value.rstrip(" "):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def dump_yaml(doc: dict[str, Any]) -> str:
    """The Sigma YAML text (safe dumper: backslashes and quotes survive exactly)."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


# --- one rule -------------------------------------------------------------------------------------


def _os_tag(rule: dict[str, Any]) -> str | None:
    for tag in rule.get("tags") or []:
        if isinstance(tag, str) and tag.startswith("OS: "):
            return tag[4:]
    return None


def _scope(rule: dict[str, Any]) -> NotImportable | None:
    """Why the rule's type or language is outside the importer's scope, or None."""
    rule_type, language = str(rule.get("type", "")), str(rule.get("language", ""))
    if rule_type == "machine_learning":
        return NotImportable("machine learning", "the rule is an anomaly-detection job, not a query")
    if rule_type == "esql" or language == "esql":
        return NotImportable("ES|QL", "ES|QL pipelines have no Sigma equivalent")
    if rule_type == "threat_match":
        return NotImportable("indicator match", "matching against threat-intel indices")
    if language not in IMPORTED_LANGUAGES:
        return NotImportable(f"{language or 'no'} query language", f"rule type {rule_type!r}")
    if language == "kuery" and rule_type not in KUERY_TYPES:
        return NotImportable(f"{rule_type} rule", "only query, threshold and new_terms kuery rules")
    if not str(rule.get("query") or "").strip():
        return NotImportable("empty query", "the rule has no query")
    return None


#: EQL's math operators ("Math operators" in the EQL syntax reference,
#: https://www.elastic.co/guide/en/elasticsearch/reference/current/eql-syntax.html); Sigma has no
#: arithmetic, so a query computing a value cannot become a Sigma detection.
EQL_MATH_OPERATORS = frozenset("+-*/%")


def _arithmetic(exc: QueryParseError) -> NotImportable | None:
    """The EQL parse error is an arithmetic operator the interpreter's grammar lacks, or None.

    sigport's EQL grammar has no math operators, so ``length(a) - 1`` fails to parse at the
    ``-`` token. A lark error names an unexpected *token*, which lies outside any string, and in
    EQL such a token can only be a math operator: the rule is valid EQL that Sigma cannot express.
    """
    text, offset = exc.source, exc.offset
    if offset >= len(text) or text[offset] not in EQL_MATH_OPERATORS:
        return None
    if not exc.reason.startswith("unexpected"):
        return None
    line = text.split("\n")[exc.line - 1]
    start = max(0, exc.column - 61)
    snippet = " ".join(line[start : exc.column + 60].split())
    return NotImportable(
        "arithmetic",
        f"the EQL math operator {text[offset]!r} at line {exc.line}, column {exc.column} "
        f"({snippet}): Sigma has no arithmetic",
    )


def parse_query(language: str, query: str) -> ast.Node:
    """Parse the original query with sigport's interpreter, with the Elastic Defend field model
    (types, multi-fields, ``ignore_above``) for EQL and KQL alike.

    Raises:
        NotImportable: sequences, samples, arithmetic and constructs the interpreter does not
            evaluate.
        QueryError: a parse error.
    """
    try:
        if language == "eql":
            return parse_eql(query, FieldModel.builtin("defend"))
        return parse_kql(query, FieldModel.builtin("defend"))
    except QueryParseError as exc:
        arithmetic = _arithmetic(exc) if language == "eql" else None
        if arithmetic is not None:
            raise arithmetic from None
        raise
    except UnsupportedQueryError as exc:
        text = str(exc)
        group = "EQL sequence" if "sequence" in text.split(":")[0] else "unsupported construct"
        if "sample" in text.split(":")[0] or "join" in text.split(":")[0]:
            group = "EQL sample/join"
        if "length(" in text or "startswith~()" in text or "function" in text.lower():
            group = "function without a Sigma equivalent"
        raise NotImportable(group, " ".join(text.split())[:300]) from None


def import_rule(item: ElasticRule, outdir: Path, taken: set[Path]) -> ImportEntry:
    """Import one rule; never raises."""
    rule = item.rule
    entry = ImportEntry(
        item.source, str(rule.get("rule_id", "")), str(rule.get("language", "")), ERROR,
        deprecated=item.metadata.get("maturity") == "deprecated", name=str(rule.get("name", "")),
    )
    shape = malformed(rule)
    if shape is not None:
        entry.status, entry.group = ERROR, "malformed rule"
        entry.reason = f"{item.source}: malformed rule: {shape}"
        return entry
    try:
        scope = _scope(rule)
        if scope is not None:
            raise scope
        original = parse_query(entry.language, str(rule["query"]))
        check_tree(original)
        mapped = to_taxonomy(original)
        if mapped is not None:
            logsource, sigma_tree = mapped
        else:
            logsource, sigma_tree = ecs_logsource(original, _os_tag(rule)), original
        detection = build_detection(sigma_tree)
        text = dump_yaml(sigma_document(item, logsource.to_yaml(), detection))
    except NotImportable as exc:
        entry.status, entry.group = NOT_IMPORTABLE, exc.group
        entry.reason = f"not importable: {exc}"
        return entry
    except QueryError as exc:
        entry.status, entry.group = ERROR, "query parse error"
        entry.reason = f"{item.source}: the query does not parse: {' '.join(str(exc).split())}"
        return entry
    except RecursionError:
        entry.status, entry.group = ERROR, "query nested too deeply"
        entry.reason = f"{item.source}: the query nests too deeply to import"
        return entry
    except Exception as exc:  # noqa: BLE001 - a bug on one rule must not stop the batch
        show_traceback(exc, f"importing {item.source}")
        entry.status, entry.group = ERROR, "internal error"
        entry.reason = (f"{item.source}: internal error while importing (please report): "
                        f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        return entry
    target = outdir / item.relative
    if target in taken:
        target = target.with_name(f"{target.stem}_{_slug(entry.rule_id)}.yml")
    taken.add(target)
    loaded = load_text(text, str(target))[0]
    if loaded.error is not None or loaded.rule is None:
        entry.status, entry.group = ERROR, "written rule does not load"
        entry.reason = f"the written Sigma rule does not load: {loaded.error}"
        return entry
    try:
        proof = round_trip(original, loaded, sigma_tree, logsource.taxonomy)
    except Exception as exc:  # a bug in one rule's proof must not stop the batch
        show_traceback(exc, f"proving the import of {item.source}")
        entry.status, entry.group = IMPORTED, "round trip failed to run"
        entry.reason = f"round trip failed to run: {type(exc).__name__}: {exc}"
        proof = None
    if proof is not None:
        entry.status = VERIFIED if proof.verified else IMPORTED
        entry.reason = proof.reason
        if not proof.verified:
            entry.group = (proof.reason or "").split(":")[0].split(" (")[0]
    if rule.get("type") in {"threshold", "new_terms"}:
        note = f"{rule['type']} rule: only its query is imported; its settings are under elastic.{rule['type']}"
        entry.reason = f"{entry.reason}; {note}" if entry.reason else note
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        entry.status, entry.group = ERROR, "cannot write"
        entry.reason = f"{target}: cannot write: {exc.strerror}"
        return entry
    entry.output = str(target)
    return entry


def import_elastic(
    paths: Iterable[str | Path], outdir: str | Path, report: str | Path | None = None
) -> ImportReport:
    """Import Elastic detection rules as Sigma rules under ``outdir``, mirroring the input tree.

    Args:
        paths: TOML files, NDJSON exports, or directories of them.
        outdir: where the ``.yml`` files go (created as needed).
        report: optional path of the JSON report (``{"rules": [...]}``).

    Returns:
        The report, one entry per rule (and per unreadable file).
    """
    out = Path(outdir)
    result = ImportReport()
    taken: set[Path] = set()
    for item in read_rules(paths):
        if isinstance(item, ImportEntry):
            result.entries.append(item)
        else:
            result.entries.append(import_rule(item, out, taken))
    if report is not None:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    return result
