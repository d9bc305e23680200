"""Regenerate ``backends/query/ecs_fields.yml`` from the ECS flat field list.

Usage: ``python -m backends.query.gen_ecs_fields [path/to/ecs_flat.json.gz]``. The default
input is the shared corpus next to the project (``../shared/corpus/elastic/etc/ecs_flat.json.gz``); when it is
absent the script says so and exits 0, so it never breaks a checkout without the corpus.

Only schema facts are kept (field name, type, ignore_above, normalizer, multi-field names and
types) for the field sets the mapping tables use. The hand-written non-ECS sections (winlog,
powershell) and the per-source overlays are defined below, each with the document it comes from.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INPUT = ROOT.parent / "shared" / "corpus" / "elastic" / "etc" / "ecs_flat.json.gz"
OUTPUT = ROOT / "backends" / "query" / "ecs_fields.yml"
ECS_VERSION = "9.5.0"  # the version of the corpus copy (shared/corpus/README.md)

# user_agent and http: the cloud, Zeek and proxy tables query user_agent.original (keyword,
# ignore_above 1024) and http.request.method; a field the model does not know is read as a keyword
# without a length limit, which would hide that limit.
# observer, error, data_stream and cloud.provider: the proxy, cloud and Sysmon-error logsources
# query or render them (the ES|QL interpreter refuses a field the model does not know). A test in
# tests/converter/mapping/test_mappings_corpus.py checks that every ECS field an ECS table names
# is here.
FIELD_SETS = (
    "event", "host", "process", "user", "file", "registry", "dll", "source", "destination",
    "network", "dns", "url", "service", "group", "related", "user_agent", "http",
    # observer.type: the ecs-proxy logsource condition (Cisco Umbrella's web logs)
    "observer",
    # error.code: Sysmon error (255); data_stream.dataset: every Elastic logsource renders it
    "error", "data_stream",
)
# log.logger: the ecs-opencanary logsource (the OpenCanary integration writes the log type there).
SINGLE_FIELDS = ("@timestamp", "message", "cloud.provider", "log.logger")

# Not ECS. winlog.*: Winlogbeat / Windows integration fields
# (https://github.com/elastic/beats/blob/main/winlogbeat/_meta/fields.common.yml): event_data and
# user_data are `type: object, object_type: keyword`, so every sub-field is mapped as keyword by a
# dynamic template. ignore_above 1024 is the Beats/Fleet template default for keyword (inferred).
# powershell.*: https://github.com/elastic/integrations/blob/main/packages/windows/data_stream/
# powershell_operational/fields/fields.yml
KW = {"type": "keyword", "ignore_above": 1024}
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "winlog.event_id": KW,
    "winlog.channel": KW,
    "winlog.provider_name": KW,
    "winlog.provider_guid": KW,
    "winlog.computer_name": KW,
    "winlog.record_id": KW,
    "winlog.task": KW,
    "winlog.opcode": KW,
    "winlog.keywords": KW,
    # Security module enrichment (keyword): the subject's logon id, which the ecs-windows table
    # reads for LogonId (https://www.elastic.co/guide/en/beats/winlogbeat/current/
    # exported-fields-security.html; elastic/integrations packages/system/data_stream/security/
    # fields/winlog.yml).
    "winlog.logon.id": KW,
    "winlog.process.pid": {"type": "long"},
    "winlog.event_data.*": KW,
    "winlog.user_data.*": KW,
    "powershell.id": KW,
    "powershell.command.name": KW,
    "powershell.command.path": KW,
    "powershell.command.value": {"type": "text"},
    "powershell.file.script_block_id": KW,
    "powershell.file.script_block_text": {
        "type": "text", "analyzer": "powershell_script_analyzer"
    },
}

# Elastic Agent integration fields the cloud / identity tables query (converter/mappings/ecs-aws,
# ecs-azure, ecs-okta, ecs-kubernetes: non_ecs_fields): every one is `type: keyword` in the data
# stream's fields/fields.yml the table cites (elastic/integrations packages/<package>/data_stream/
# <stream>/fields/fields.yml); Fleet's templates give keyword fields ignore_above 1024 (inferred,
# as for winlog.* above).
INTEGRATION_KEYWORDS = (
    # packages/aws/data_stream/cloudtrail
    "aws.cloudtrail.event_type", "aws.cloudtrail.error_code", "aws.cloudtrail.error_message",
    "aws.cloudtrail.user_identity.type", "aws.cloudtrail.user_identity.arn",
    "aws.cloudtrail.user_identity.session_context.session_issuer.type",
    # packages/azure/data_stream/{activitylogs,auditlogs,signinlogs,identity_protection}
    "azure.activitylogs.operation_name", "azure.auditlogs.operation_name",
    "azure.auditlogs.properties.activity_display_name",
    "azure.auditlogs.properties.logged_by_service", "azure.auditlogs.properties.category",
    "azure.auditlogs.properties.result",
    "azure.signinlogs.result_type", "azure.signinlogs.result_description",
    "azure.signinlogs.properties.resource_display_name",
    "azure.signinlogs.properties.conditional_access_status",
    "azure.signinlogs.properties.risk_state",
    "azure.signinlogs.properties.authentication_requirement",
    "azure.signinlogs.properties.device_detail.device_id",
    "azure.identityprotection.properties.risk_event_type",
    # packages/okta/data_stream/system
    "okta.event_type", "okta.display_message", "okta.outcome.reason", "okta.outcome.result",
    "okta.actor.alternate_id", "okta.debug_context.debug_data.request_uri",
    # packages/kubernetes/data_stream/audit_logs
    "kubernetes.audit.verb", "kubernetes.audit.requestURI", "kubernetes.audit.userAgent",
    "kubernetes.audit.objectRef.resource", "kubernetes.audit.objectRef.subresource",
    "kubernetes.audit.objectRef.namespace", "kubernetes.audit.objectRef.name",
    "kubernetes.audit.objectRef.apiGroup",
    # packages/atlassian_bitbucket/data_stream/audit
    "bitbucket.audit.type.category", "bitbucket.audit.type.action",
    # packages/zeek/data_stream/{dns,http,smb_files,dce_rpc,kerberos} (keyword in the Zeek
    # fields the integration took over: elastic/beats x-pack/filebeat/module/zeek/*/_meta/fields.yml)
    "zeek.dns.query", "zeek.dns.qtype_name", "zeek.dns.answers", "zeek.http.resp_mime_types",
    "zeek.smb_files.name", "zeek.smb_files.path", "zeek.dce_rpc.operation",
    "zeek.dce_rpc.endpoint", "zeek.dce_rpc.named_pipe", "zeek.kerberos.request_type",
    "zeek.kerberos.cipher", "zeek.kerberos.service",
    # packages/cisco_duo/data_stream/auth
    "cisco_duo.auth.event_type", "cisco_duo.auth.reason", "cisco_duo.auth.result",
    "cisco_duo.auth.factor",
    # packages/auditd/data_stream/log: a0 is keyword in fields/fields.yml; the other keys of a
    # record the pipeline writes as auditd.log.<key> are undeclared, and the index template's
    # dynamic rule maps strings as keyword (ignore_above 1024)
    "auditd.log.a0", "auditd.log.record_type", "auditd.log.unit", "auditd.log.nametype",
    "auditd.log.syscall", "auditd.log.SYSCALL",
    # packages/o365/data_stream/audit
    "o365.audit.ResultStatus", "o365.audit.ApplicationId", "o365.audit.Directionality",
    "o365.audit.DeliveryAction",
)
EXTRA_FIELDS.update({name: KW for name in INTEGRATION_KEYWORDS})
# Integration fields of another type, as the cited fields.yml declares them:
# packages/kubernetes/data_stream/audit_logs/fields/fields.yml (responseStatus.code: integer; the
# pipeline keeps the audit Event's JSON number as it is).
EXTRA_FIELDS["kubernetes.audit.responseStatus.code"] = {"type": "integer"}
# boolean in packages/okta/data_stream/system/fields/fields.yml (security_context.is_proxy) and
# packages/zeek/data_stream/dns/fields/fields.yml (rejected); the pipelines move the record's
# JSON boolean there unchanged.
EXTRA_FIELDS["okta.security_context.is_proxy"] = {"type": "boolean"}
EXTRA_FIELDS["zeek.dns.rejected"] = {"type": "boolean"}
# packages/azure/data_stream/signinlogs/fields/fields.yml (device_detail.is_compliant: boolean)
EXTRA_FIELDS["azure.signinlogs.properties.device_detail.is_compliant"] = {"type": "boolean"}

# Elastic Defend adds .caseless (lowercase-normalised keyword) and .text (text) multi-fields:
# https://github.com/elastic/endpoint-package/blob/main/package/endpoint/data_stream/process/
# fields/fields.yml (process.*, process.parent.*, host.os.*; verified) and custom_schemas/
# custom_file.yml for file.path / file.target_path (per SEMANTICS.md section 5.2).
DEFEND_CASELESS = (
    "process.name", "process.executable", "process.command_line", "process.working_directory",
    "process.parent.name", "process.parent.executable", "process.parent.command_line",
    "process.parent.working_directory", "file.path", "file.target_path", "host.os.full",
    "host.os.name",
)
CASELESS = {"type": "keyword", "normalizer": "lowercase", "ignore_above": 1024}
# Elastic Defend's own (non-ECS) process fields that the mapping tables query (ecs-windows.yml:
# LogonId, IntegrityLevel), as the same fields.yml declares them (`type: keyword`,
# `ignore_above: 1024`; the corpus copy endpoint_process.json.gz gives the types).
DEFEND_KEYWORDS = ("process.Ext.authentication_id", "process.Ext.token.integrity_level_name")


def flow(spec: dict[str, Any]) -> str:
    """Render a small mapping in YAML flow style, keys in a stable order."""
    items = []
    for key, value in spec.items():
        text = flow(value) if isinstance(value, dict) else str(value)
        items.append(f"{key}: {text}")
    return "{" + ", ".join(items) + "}"


def select(ecs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ECS fields sigport keeps, as from_dict specs."""
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(ecs):
        if not (name in SINGLE_FIELDS or name.split(".", 1)[0] in FIELD_SETS):
            continue
        field = ecs[name]
        spec: dict[str, Any] = {"type": field["type"]}
        for key in ("ignore_above", "normalizer"):
            if field.get(key) is not None:
                spec[key] = field[key]
        subs = {m["name"]: {"type": m["type"]} for m in field.get("multi_fields", [])}
        if subs:
            spec["fields"] = subs
        out[name] = spec
    return out


def main(argv: list[str]) -> int:
    """Write the YAML; return the process exit code."""
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_INPUT
    if not source.exists():
        print(f"{source} not found; nothing to do (the shared corpus is absent)")
        return 0
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        ecs = json.load(handle)
    fields = select(ecs)
    lines = [
        "# Elasticsearch field types for sigport's builtin field models (FieldModel.builtin).",
        "# GENERATED by backends/query/gen_ecs_fields.py; edit that script, not this file.",
        f"# ECS {ECS_VERSION}: https://github.com/elastic/ecs/blob/main/generated/ecs/ecs_flat.yml",
        "#   (https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html)",
        "# winlog.*: https://github.com/elastic/beats/blob/main/winlogbeat/_meta/fields.common.yml",
        "# winlog.logon.id: https://www.elastic.co/guide/en/beats/winlogbeat/current/"
        "exported-fields-security.html",
        "# powershell.*: https://github.com/elastic/integrations/blob/main/packages/windows/"
        "data_stream/powershell_operational/fields/fields.yml",
        "# defend overlay: https://github.com/elastic/endpoint-package/blob/main/package/endpoint/"
        "data_stream/process/fields/fields.yml",
        "# aws.*, azure.*, okta.*, kubernetes.*, bitbucket.*, zeek.*, cisco_duo.*, auditd.*, o365.*: elastic/integrations packages/<package>/data_stream/"
        "<stream>/fields/fields.yml (keyword)",
        "# Keys ending in '.*' map every sub-field (dynamic templates).",
        f'ecs_version: "{ECS_VERSION}"',
        "ecs_fields:",
    ]
    lines += [f'  "{name}": {flow(spec)}' for name, spec in fields.items()]
    lines.append("extra_fields:")
    lines += [f'  "{name}": {flow(spec)}' for name, spec in EXTRA_FIELDS.items()]
    lines.append("overlays:")
    lines.append("  defend:")
    for name in DEFEND_CASELESS:
        overlay = {"fields": {"caseless": CASELESS, "text": {"type": "text"}}}
        lines.append(f'    "{name}": {flow(overlay)}')
    for name in DEFEND_KEYWORDS:
        lines.append(f'    "{name}": {flow(KW)}')
    lines.append("  windows: {}")
    lines.append("  winlogbeat: {}")
    lines.append("  winlog: {}")
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(fields)} ECS fields and {len(EXTRA_FIELDS)} extra fields to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
