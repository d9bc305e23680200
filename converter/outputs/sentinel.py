"""Microsoft Sentinel analytics rules: the YAML of the Azure-Sentinel repository's detections.

One scheduled rule per converted Kusto query (``sigport convert -t kusto -f sentinel-yaml``).
The fields and their constraints are those the Azure-Sentinel repository validates every
detection against (``.script/tests/detectionTemplateSchemaValidation/Models``:
``AnalyticsTemplateInternalModelBase.cs``, ``ScheduledTemplateInternalModel.cs``,
``AttackTactic.cs``, ``EntityMappingIdentifiers.cs``; ``ValidConnectorIds.json`` for connector
ids), documented at https://github.com/Azure/Azure-Sentinel/wiki/Query-Style-Guide:

* required: ``id`` (GUID), ``kind`` (Scheduled), ``name`` (<= 256 characters), ``description``
  (<= 5000), ``severity`` (Informational, Low, Medium, High), ``requiredDataConnectors``
  (``connectorId`` + ``dataTypes``), ``queryFrequency`` / ``queryPeriod`` (``<n>m|h|d``, 5 minutes
  to 14 days, period >= frequency), ``triggerOperator`` (gt, lt, eq, ne), ``triggerThreshold``
  (0-10000), ``query`` (1-10000 characters);
* ``tactics`` from the ATT&CK tactic names (``InitialAccess``, ...), ``relevantTechniques``
  (``T1059``, ``T1059.001``), ``entityMappings`` (1-5 entities of 1-3 field mappings, each
  identifier valid for its entity type), ``version``.

Scheduling: every 5 minutes over the last 2 days, 1 hour and 5 minutes (the longest ingestion
delay assumed, QUERY_PERIOD), the event side keeping only the rows ingested since the previous
run (``scheduled_query``): a late row is read once. A Defender XDR query restricted to one
platform's devices (``| join kind=leftsemi (DeviceInfo | ...)``) reads DeviceInfo over the whole
period, which holds a row of every device.
"""

from __future__ import annotations

import uuid
from typing import Any

import yaml

from converter.outputs.attack import attack_tags, table
from converter.outputs.ids import DistinctIds
from converter.conversion.result import Conversion

#: Sigma level -> Sentinel severity (the Severity enum has no Critical).
SEVERITY = {
    "informational": "Informational",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "critical": "High",
}

def _account(identifier: str, column: str) -> dict[str, Any]:
    """An Account entity of one field mapping."""
    return {"entityType": "Account", "fieldMappings": [{"identifier": identifier, "columnName": column}]}


def _ip(column: str) -> dict[str, Any]:
    """An IP entity (identifier Address)."""
    return {"entityType": "IP", "fieldMappings": [{"identifier": "Address", "columnName": column}]}


def _azure_resource(column: str) -> dict[str, Any]:
    """An AzureResource entity (identifier ResourceId)."""
    return {"entityType": "AzureResource", "fieldMappings": [{"identifier": "ResourceId", "columnName": column}]}


#: Kusto table -> (connector id, entity mappings). Connector ids from ValidConnectorIds.json
#: or the connector's definition in Azure-Sentinel;
#: columns from each table's reference (Defender XDR advanced hunting DeviceProcessEvents,
#: Azure Monitor SecurityEvent).
TABLES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "DeviceProcessEvents": (
        "MicrosoftThreatProtection",
        [
            {"entityType": "Host", "fieldMappings": [{"identifier": "HostName", "columnName": "DeviceName"}]},
            {
                "entityType": "Account",
                "fieldMappings": [
                    {"identifier": "Name", "columnName": "AccountName"},
                    {"identifier": "NTDomain", "columnName": "AccountDomain"},
                ],
            },
            {
                "entityType": "Process",
                "fieldMappings": [
                    {"identifier": "ProcessId", "columnName": "ProcessId"},
                    {"identifier": "CommandLine", "columnName": "ProcessCommandLine"},
                ],
            },
        ],
    ),
    "SecurityEvent": (
        "SecurityEvents",
        [
            {"entityType": "Host", "fieldMappings": [{"identifier": "FullName", "columnName": "Computer"}]},
            {"entityType": "Account", "fieldMappings": [{"identifier": "FullName", "columnName": "SubjectAccount"}]},
            {"entityType": "Process", "fieldMappings": [{"identifier": "CommandLine", "columnName": "CommandLine"}]},
        ],
    ),
    # Windows Forwarded Events (--data-source sentinel-wef): the connector's definition,
    # Azure-Sentinel Solutions/Windows Forwarded Events/Data Connectors/WindowsForwardedEvents.JSON
    # ("id": "WindowsForwardedEvents", base query WindowsEvent), the id Azure-Sentinel's own
    # WindowsEvent detections require. Computer is the table's only entity column
    # (https://learn.microsoft.com/azure/azure-monitor/reference/tables/windowsevent); the
    # process fields are inside EventData (dynamic), which no entity mapping can name.
    "WindowsEvent": (
        "WindowsForwardedEvents",
        [{"entityType": "Host", "fieldMappings": [{"identifier": "FullName", "columnName": "Computer"}]}],
    ),
    # Cloud and identity tables (converter/mapping/tables/kusto-cloud.yml; columns from the Azure
    # Monitor table reference or the solution's table definition). A connector id is given only
    # where ValidConnectorIds.json lists the connector that writes the table.
    "AWSCloudTrail": ("AWS", [_account("Name", "UserIdentityUserName"), _ip("SourceIpAddress")]),
    "AzureActivity": (
        "AzureActivity",
        [
            _account("FullName", "Caller"),
            _ip("CallerIpAddress"),
            _azure_resource("_ResourceId"),
        ],
    ),
    "AuditLogs": ("AzureActiveDirectory", []),
    "SigninLogs": ("AzureActiveDirectory", [_account("FullName", "UserPrincipalName"), _ip("IPAddress")]),
    "AADUserRiskEvents": ("", [_account("FullName", "UserPrincipalName"), _ip("IpAddress")]),
    "GCPAuditLogs": ("", [_account("FullName", "PrincipalEmail")]),
    "OfficeActivity": ("Office365", [_account("FullName", "UserId"), _ip("ClientIP")]),
    "OktaV2_CL": ("", [_account("FullName", "OriginalActorAlternateId"), _ip("SrcIpAddr")]),
    "GitHubAuditLogsV2_CL": ("", [_account("Name", "Actor"), _ip("ActorIp")]),
    "AKSAudit": ("", [_azure_resource("_ResourceId")]),
    # IIS logs the Azure Monitor Agent collects (W3CIISLog reference: cIP, the client address).
    "W3CIISLog": ("", [_ip("cIP")]),
    # ASIM parsers read several tables; Azure-Sentinel's ASIM detections list no connector.
    "imProcessCreate": (
        "",
        [
            {"entityType": "Host", "fieldMappings": [{"identifier": "HostName", "columnName": "DvcHostname"}]},
            {
                "entityType": "Process",
                "fieldMappings": [{"identifier": "CommandLine", "columnName": "TargetProcessCommandLine"}],
            },
        ],
    ),
}

#: The tactic names the Azure-Sentinel validation accepts (AttackTactic.cs).
SENTINEL_TACTICS = frozenset(
    {"InitialAccess", "Execution", "Persistence", "PrivilegeEscalation", "DefenseEvasion",
     "CredentialAccess", "Discovery", "LateralMovement", "Collection", "Exfiltration",
     "CommandAndControl", "Impact", "Reconnaissance", "ResourceDevelopment",
     "ImpairProcessControl", "InhibitResponseFunction"}
)

#: Scheduling: every 5 minutes (the minimum both fields accept).
QUERY_FREQUENCY = "5m"

#: The longest delay between a row's TimeGenerated and its ingestion that the rules are built
#: for, in minutes. Azure Monitor Logs replaces a TimeGenerated "more than two days before the
#: received time" by the received time (Log data ingestion time, "Check ingestion time":
#: https://learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time), so no row is
#: received more than 2 days after its TimeGenerated; the same page gives under 10 seconds from
#: receipt to being queryable, and a few minutes more for custom logs and transformations. The
#: assumption here is that this last step takes under an hour: 2 days + 1 hour in all.
ASSUMED_MAX_DELAY_MINUTES = 2 * 1440 + 60

#: Every query looks back over that delay plus one run's interval (``scheduled_query``): a row
#: ingested since the previous run then has a TimeGenerated inside the period. The period also
#: exceeds a day, which a Defender XDR query's DeviceInfo side needs: Defender XDR writes entity
#: data such as DeviceInfo "every 15 minutes" only "with any new information", and "every 24
#: hours" a consolidated record of each entity (advanced hunting overview, "Data freshness and
#: update frequency": https://learn.microsoft.com/defender-xdr/advanced-hunting-overview).
#: 2,945 minutes; Sentinel accepts up to 14 days.
QUERY_PERIOD = f"{ASSUMED_MAX_DELAY_MINUTES + 5}m"

#: The event side of every query keeps only the rows ingested since the previous run (the
#: pattern of https://learn.microsoft.com/azure/sentinel/ingestion-delay): with the longer
#: period, a late row is still read, and by one run only, so overlapping periods repeat no alert.
INGESTION_WINDOW = f"| where ingestion_time() > ago({QUERY_FREQUENCY})"


def _guid(conv: Conversion) -> str:
    """The rule's own id when it is a GUID (Sigma ids are UUIDs), else one derived from it."""
    try:
        return str(uuid.UUID(str(conv.id)))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sigport:{conv.id}:{conv.title}"))


def _level(rule: Any) -> str:
    level = getattr(rule, "level", None)
    return level.name.lower() if level is not None else "medium"


def _tactic_name(short: str) -> str:
    """ATT&CK short name (``command-and-control``) -> Sentinel's (``CommandAndControl``)."""
    return "".join(word.capitalize() for word in short.split("-"))


def attack_fields(rule: Any) -> tuple[list[str], list[str]]:
    """(tactics, relevantTechniques): the rule's tactic tags plus the tactics of its technique
    tags (the validation refuses a technique without one of its tactics), in Sentinel's names;
    a technique none of whose tactics Sentinel knows is left out."""
    tactic_tags, techniques = attack_tags(rule)
    known = table().techniques
    tactics: list[str] = []
    kept: list[str] = []
    for short in tactic_tags:
        name = _tactic_name(short)
        if name in SENTINEL_TACTICS and name not in tactics:
            tactics.append(name)
    for tid in techniques:
        names = [_tactic_name(t) for t in known.get(tid, ("", ()))[1]]
        names = [n for n in names if n in SENTINEL_TACTICS]
        if not names:
            continue
        kept.append(tid)
        if not any(n in tactics for n in names):
            tactics.append(names[0])
    return tactics, kept


def _joined_tables(query: str) -> list[str]:
    """Tables the query reads beside its own: the DeviceInfo of a Defender XDR query restricted
    to one platform's devices (``| join kind=leftsemi (DeviceInfo | ...)``)."""
    return ["DeviceInfo"] if "| join kind=leftsemi (DeviceInfo |" in query else []


def scheduled_query(query: str) -> tuple[str, str]:
    """(query, queryPeriod) of the scheduled rule running ``query`` every QUERY_FREQUENCY.

    The event side (the first line, the table) keeps only the rows ingested since the previous
    run, and the period (QUERY_PERIOD) covers the longest ingestion delay assumed plus one run:
    a row ingested late is read once, by the run after its ingestion, whatever its
    TimeGenerated (Microsoft's pattern for ingestion delay). A query restricted to one
    platform's devices reads DeviceInfo (``| join kind=leftsemi (DeviceInfo | ...)``) over the
    whole period, whose rows of a device may be 24 hours apart.
    """
    table, _, rest = query.partition("\n")
    lines = [table, INGESTION_WINDOW, *([rest] if rest else [])]
    return "\n".join(lines), QUERY_PERIOD


def sentinel_rule(conv: Conversion) -> dict[str, Any]:
    """One scheduled analytics rule for a converted Kusto query."""
    query, period = scheduled_query(conv.queries[0])
    table = query.split("\n", 1)[0].strip()
    connector, entities = TABLES.get(table, ("", []))
    tactics, techniques = attack_fields(conv.rule)
    description = (getattr(conv.rule, "description", None) or "").strip()
    rule: dict[str, Any] = {
        "id": _guid(conv),
        "name": conv.title[:256],
        "description": description[:5000] or conv.title,
        "severity": SEVERITY.get(_level(conv.rule), "Medium"),
        "requiredDataConnectors": (
            [{"connectorId": connector, "dataTypes": [table, *_joined_tables(query)]}]
            if connector else []
        ),
        "queryFrequency": QUERY_FREQUENCY,
        "queryPeriod": period,
        "triggerOperator": "gt",
        "triggerThreshold": 0,
        "tactics": tactics,
        "relevantTechniques": techniques,
        "query": query,
    }
    if entities:
        rule["entityMappings"] = entities
    rule["version"] = "1.0.0"
    rule["kind"] = "Scheduled"
    return rule


class _Literal(str):
    """A string dumped as a YAML block literal (multi-line queries stay readable)."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


#: ScheduledTemplateInternalModel.cs: [StringLength(10000, MinimumLength = 1)] on the query.
MAX_QUERY_LENGTH = 10000


def render_sentinel_yaml(conversions: list[Conversion], **_: Any) -> str:
    """The converted rules as Sentinel analytics-rule YAML documents (``---`` between them).

    A rule whose query is longer than Sentinel accepts is left out, named in a YAML comment at
    the top (a comment, so the file still parses and every document in it is valid).
    """
    docs = []
    skipped = []
    ids = DistinctIds()  # a template id names one analytics rule
    for conv in conversions:
        if not conv.queries:
            continue
        length = len(scheduled_query(conv.queries[0])[0])
        if length > MAX_QUERY_LENGTH:
            skipped.append(
                f"# sigport: left out {conv.id} ({conv.title}): its query has "
                f"{length} characters, more than Sentinel's {MAX_QUERY_LENGTH}\n"
            )
            continue
        rule = sentinel_rule(conv)
        rule["id"], note = ids.claim(rule["id"], conv.path, conv.title)
        if note:
            rule["description"] = f"{rule['description'][:5000 - len(note) - 1]} {note}"
        if "\n" in rule["query"]:
            rule["query"] = _Literal(rule["query"])
        docs.append(yaml.dump(rule, Dumper=_Dumper, sort_keys=False, allow_unicode=True))
    return "".join(skipped) + "---\n".join(docs)
