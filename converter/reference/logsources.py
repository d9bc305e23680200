"""Which events belong to a Sigma logsource: a table of Windows event classes, and its test.

A Sigma rule only applies to the events of its ``logsource`` (``product`` / ``category`` /
``service``). The reference evaluator needs that as a predicate on a flat Windows event, so this
module turns the Sigma taxonomy appendix into data:

* a Windows **category** is one or more *event classes*, each an event log channel plus the event
  ids that carry that category (Sysmon ``EventID: 1`` in ``Microsoft-Windows-Sysmon/Operational``
  is ``process_creation``);
* a Windows **service** is one or more event log channels, any event id.

Source of every entry: the Sigma taxonomy appendix v2.1.0, "Windows Folder" tables
(https://github.com/SigmaHQ/sigma-specification/blob/main/specification/sigma-appendix-taxonomy.md).
Two additions, both from pySigma 1.5.1 itself: Security ``4688`` is a second source of
``process_creation`` (``sigma/validators/core/logsources.py`` maps it there) and the PowerShell 7
channel ``PowerShellCore/Operational`` also carries ``service: powershell``
(``sigma/pipelines/common.py``). Categories the taxonomy defines through an ETW provider rather
than a channel (``file_access``, ``file_rename``) have no entry, so rules using them are reported
as unsupported rather than guessed.

Membership test (the evaluator's convention, documented here because the spec is silent):
the event's ``Channel`` is compared case-insensitively; its ``EventID`` may be an integer or a
decimal string. A category event must carry a listed ``EventID``, and if it carries a ``Channel``
that channel must be the class's channel (hand-written test events often omit ``Channel``). A
service event must carry one of the service's channels. An event with neither field belongs to no
Windows logsource.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from backends.errors import UnsupportedError

SYSMON = "Microsoft-Windows-Sysmon/Operational"
POWERSHELL = ("Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational")
POWERSHELL_CLASSIC = "Windows PowerShell"


@dataclass(frozen=True)
class EventClass:
    """Events of one channel with one of the given event ids (``event_ids=None``: any id)."""

    channels: tuple[str, ...]
    event_ids: tuple[int, ...] | None = None


def _sysmon(*event_ids: int) -> tuple[EventClass, ...]:
    return (EventClass((SYSMON,), event_ids),)


# Windows categories -> event classes (taxonomy appendix, "Windows Folder / Category").
WINDOWS_CATEGORIES: dict[str, tuple[EventClass, ...]] = {
    "process_creation": (EventClass((SYSMON,), (1,)), EventClass(("Security",), (4688,))),
    "file_change": _sysmon(2),
    "network_connection": _sysmon(3),
    "sysmon_status": _sysmon(4, 16),
    "process_termination": _sysmon(5),
    "driver_load": _sysmon(6),
    "image_load": _sysmon(7),
    "create_remote_thread": _sysmon(8),
    "raw_access_thread": _sysmon(9),
    "process_access": _sysmon(10),
    "file_event": _sysmon(11),
    "registry_add": _sysmon(12),
    "registry_delete": _sysmon(12),
    "registry_set": _sysmon(13),
    "registry_rename": _sysmon(14),
    "registry_event": _sysmon(12, 13, 14),
    "create_stream_hash": _sysmon(15),
    "pipe_created": _sysmon(17, 18),
    "wmi_event": _sysmon(19, 20, 21),
    "dns_query": _sysmon(22),
    "file_delete": _sysmon(23),
    "clipboard_capture": _sysmon(24),
    "process_tampering": _sysmon(25),
    "file_delete_detected": _sysmon(26),
    "file_block_executable": _sysmon(27),
    "file_block_shredding": _sysmon(28),
    "file_executable_detected": _sysmon(29),
    "sysmon_error": _sysmon(255),
    "ps_classic_start": (EventClass((POWERSHELL_CLASSIC,), (400,)),),
    "ps_classic_provider_start": (EventClass((POWERSHELL_CLASSIC,), (600,)),),
    "ps_classic_script": (EventClass((POWERSHELL_CLASSIC,), (800,)),),
    "ps_module": (EventClass(POWERSHELL, (4103,)),),
    "ps_script": (EventClass(POWERSHELL, (4104,)),),
}

#: The taxonomy appendix's servicebus-client channels.
SERVICEBUS_CLIENT = ("Microsoft-ServiceBus-Client/Operational", "Microsoft-ServiceBus-Client/Admin")

# Windows services -> event log channels (taxonomy appendix, "Windows Folder / Service").
WINDOWS_SERVICES: dict[str, tuple[str, ...]] = {
    "application": ("Application",),
    "application-experience": (
        "Microsoft-Windows-Application-Experience/Program-Telemetry",
        "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant",
    ),
    "applocker": (
        "Microsoft-Windows-AppLocker/MSI and Script",
        "Microsoft-Windows-AppLocker/EXE and DLL",
        "Microsoft-Windows-AppLocker/Packaged app-Deployment",
        "Microsoft-Windows-AppLocker/Packaged app-Execution",
    ),
    "appmodel-runtime": ("Microsoft-Windows-AppModel-Runtime/Admin",),
    "appxdeployment-server": ("Microsoft-Windows-AppXDeploymentServer/Operational",),
    "appxpackaging-om": ("Microsoft-Windows-AppxPackaging/Operational",),
    "bitlocker": ("Microsoft-Windows-BitLocker/BitLocker Management",),
    "bits-client": ("Microsoft-Windows-Bits-Client/Operational",),
    "capi2": ("Microsoft-Windows-CAPI2/Operational",),
    "certificateservicesclient-lifecycle-system": (
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
    ),
    "codeintegrity-operational": ("Microsoft-Windows-CodeIntegrity/Operational",),
    "dhcp": ("Microsoft-Windows-DHCP-Server/Operational",),
    "diagnosis-scripted": ("Microsoft-Windows-Diagnosis-Scripted/Operational",),
    "dns-client": ("Microsoft-Windows-DNS Client Events/Operational",),
    "dns-server": ("DNS Server",),
    "dns-server-analytic": ("Microsoft-Windows-DNS-Server/Analytical",),
    "dns-server-audit": ("Microsoft-Windows-DNS-Server/Audit",),
    "driver-framework": ("Microsoft-Windows-DriverFrameworks-UserMode/Operational",),
    "firewall-as": ("Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",),
    "hyper-v-worker": ("Microsoft-Windows-Hyper-V-Worker",),
    "iis-configuration": ("Microsoft-IIS-Configuration/Operational",),
    "kernel-event-tracing": ("Microsoft-Windows-Kernel-EventTracing",),
    # The appendix writes the second channel with a Splunk-style "WinEventLog:" prefix; an event's
    # Channel field never carries it.
    "kernel-shimengine": (
        "Microsoft-Windows-Kernel-ShimEngine/Operational",
        "Microsoft-Windows-Kernel-ShimEngine/Diagnostic",
    ),
    "ldap": ("Microsoft-Windows-LDAP-Client/Debug",),
    "lsa-server": ("Microsoft-Windows-LSA/Operational",),
    "msexchange-management": ("MSExchange Management",),
    "ntfs": ("Microsoft-Windows-Ntfs/Operational",),
    "ntlm": ("Microsoft-Windows-NTLM/Operational",),
    "openssh": ("OpenSSH/Operational",),
    "powershell": POWERSHELL,
    "powershell-classic": (POWERSHELL_CLASSIC,),
    "printservice-admin": ("Microsoft-Windows-PrintService/Admin",),
    "printservice-operational": ("Microsoft-Windows-PrintService/Operational",),
    "security": ("Security",),
    "security-mitigations": (
        "Microsoft-Windows-Security-Mitigations/Kernel Mode",
        "Microsoft-Windows-Security-Mitigations/User Mode",
    ),
    "sense": ("Microsoft-Windows-SENSE/Operational",),
    "servicebus-client": SERVICEBUS_CLIENT,
    # SigmaHQ's rule writes the same service as microsoft-servicebus-client ("Change to
    # servicebus-client once validators are up to date", win_hybridconnectionmgr_svc_running.yml);
    # taxonomy appendix v2.2.0 lists it among the services the rules use, and pySigma's
    # windows_logsource_mapping (sigma/pipelines/common.py) names the same provider.
    "microsoft-servicebus-client": SERVICEBUS_CLIENT,
    "shell-core": ("Microsoft-Windows-Shell-Core/Operational",),
    "smbclient-security": ("Microsoft-Windows-SmbClient/Security",),
    # Taxonomy appendix v2.2.0 (windows_smbserver-connectivity.md: "Connectivity events of the
    # SMB server"); the channel is the SMB server's Connectivity log, as wevtutil names it.
    "smbserver-connectivity": ("Microsoft-Windows-SMBServer/Connectivity",),
    "sysmon": (SYSMON,),
    "system": ("System",),
    "taskscheduler": ("Microsoft-Windows-TaskScheduler/Operational",),
    "terminalservices-localsessionmanager": (
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
    ),
    "vhdmp": ("Microsoft-Windows-VHDMP/Operational",),
    "windefend": ("Microsoft-Windows-Windows Defender/Operational",),
    "wmi": ("Microsoft-Windows-WMI-Activity/Operational",),
}

#: Non-Windows logsources -> event classes of the Sigma-taxonomy event. Sysmon for Linux writes
#: the Windows Sysmon record (same event ids and field names) on the channel
#: ``Linux-Sysmon/Operational`` (https://github.com/Sysinternals/SysmonForLinux, and the Splunk data
#: sources ``sysmon_for_linux_eventid_1.yml`` / ``_11.yml``: ``source: Syslog:Linux-Sysmon/
#: Operational``), so Linux process, network and file events are those records. Other logsources
#: have no event-log record: their taxonomy event carries a sigport logsource tag as ``Channel``
#: (``macos/process_creation``), a convention of this table and of the mapping tables' ``events``
#: (the renderers write each data source's own constants for it).
LINUX_SYSMON = "Linux-Sysmon/Operational"
OTHER_LOGSOURCES: dict[tuple[str, str], tuple[EventClass, ...]] = {
    ("linux", "process_creation"): (EventClass((LINUX_SYSMON,), (1,)),),
    ("linux", "network_connection"): (EventClass((LINUX_SYSMON,), (3,)),),
    ("linux", "file_event"): (EventClass((LINUX_SYSMON,), (11,)),),
    ("macos", "process_creation"): (EventClass(("macos/process_creation",)),),
    ("macos", "file_event"): (EventClass(("macos/file_event",)),),
    ("linux", "auditd"): (EventClass(("linux/auditd",)),),
    ("aws", "cloudtrail"): (EventClass(("aws/cloudtrail",)),),
    ("azure", "activitylogs"): (EventClass(("azure/activitylogs",)),),
    ("azure", "auditlogs"): (EventClass(("azure/auditlogs",)),),
    ("azure", "signinlogs"): (EventClass(("azure/signinlogs",)),),
    ("azure", "riskdetection"): (EventClass(("azure/riskdetection",)),),
    ("azure", "pim"): (EventClass(("azure/pim",)),),
    ("okta", "okta"): (EventClass(("okta/okta",)),),
    ("github", "audit"): (EventClass(("github/audit",)),),
    ("gcp", "gcp.audit"): (EventClass(("gcp/gcp.audit",)),),
    ("kubernetes", "audit"): (EventClass(("kubernetes/audit",)),),
    ("bitbucket", "audit"): (EventClass(("bitbucket/audit",)),),
    ("cisco", "duo"): (EventClass(("cisco/duo",)),),
    ("m365", "audit"): (EventClass(("m365/audit",)),),
    ("m365", "exchange"): (EventClass(("m365/exchange",)),),
    ("m365", "threat_management"): (EventClass(("m365/threat_management",)),),
    ("m365", "threat_detection"): (EventClass(("m365/threat_detection",)),),
    # RPC Firewall's audit events: SigmaHQ names the Windows event log in the field EventLog.
    ("rpc_firewall", "application"): (EventClass(("rpc_firewall/application",)),),
    # Zeek: one logsource per log (service), each a tagged event of its own.
    **{("zeek", log): (EventClass((f"zeek/{log}",)),)
       for log in ("dns", "http", "smb_files", "dce_rpc", "kerberos", "x509", "rdp")},
    # Logs of one product that no target maps yet (each table refuses them with its reason):
    # tagged too, so that `check --generate` makes their events and reports that reason per
    # target instead of "no events".
    **{(product, key): (EventClass((f"{product}/{key}",)),)
       for product, key in (
           ("opencanary", "application"), ("fortigate", "event"), ("onelogin", "onelogin.events"),
           ("gcp", "google_workspace.admin"), ("gcp", "google_workspace.login"),
           ("cisco", "aaa"), ("cisco", "bgp"), ("cisco", "ldp"), ("cisco", "syslog"), ("huawei", "bgp"),
           ("juniper", "bgp"),
           ("linux", "syslog"), ("linux", "sshd"), ("linux", "vsftpd"), ("linux", "cron"),
           ("linux", "clamav"), ("linux", "guacamole"),
           ("jvm", "application"), ("spring", "application"), ("python", "application"),
           ("ruby_on_rails", "application"), ("django", "application"), ("nodejs", "application"),
           ("velocity", "application"), ("sql", "application"))},
}
#: Product-independent categories (a rule names the category alone): the taxonomy event of any
#: product's log of that kind carries the category itself as its tag. Sigma's proxy and webserver
#: taxonomy (c-uri, c-useragent, cs-host, cs-method, sc-status, ...) is written for any web proxy or
#: web server log, so one tagged event stands for all of them. A rule that also names a product
#: is not one of these: it stays untabled unless OTHER_LOGSOURCES lists it.
GENERIC_LOGSOURCES: dict[str, tuple[EventClass, ...]] = {
    category: (EventClass((category,)),)
    for category in ("proxy", "webserver", "antivirus", "dns", "firewall", "database")
}
#: Product-independent services (a rule names the service alone): a web server's own log, tagged
#: with the service (SigmaHQ's ``service: apache`` / ``service: nginx`` error-log keyword rules).
GENERIC_SERVICES: dict[str, tuple[EventClass, ...]] = {
    service: (EventClass((service,)),) for service in ("apache", "nginx")
}
#: A product named alone (no category, no service) means any log of that product: its own tag
#: (a log no category or service names, such as SigmaHQ's keyword rules over any Linux log) and
#: every tabled logsource of the product (Sysmon for Linux records, linux/auditd, ...).
PRODUCT_LOGSOURCES: dict[str, tuple[EventClass, ...]] = {
    product: (EventClass((product,)),
              *(ec for (owner, _), classes in OTHER_LOGSOURCES.items() if owner == product
                for ec in classes))
    for product in ("linux",)
}
#: Channels of non-Windows events: never members of a ``product: windows`` logsource.
_OTHER_CHANNELS = frozenset(
    ch.lower()
    for table in (OTHER_LOGSOURCES, GENERIC_LOGSOURCES, GENERIC_SERVICES, PRODUCT_LOGSOURCES)
    for classes in table.values()
    for ec in classes
    for ch in ec.channels
)

#: The sigport logsource tags (``okta/okta``, ``proxy``, ...) that a tagged taxonomy event carries
#: as ``Channel``, exactly as written. They are this table's convention, not text of the log
#: record, so a keyword search never looks at them (``fields.keyword_values``); Sysmon for Linux's
#: channel is a real one and stays searchable.
TAG_CHANNELS = frozenset(
    ch
    for table in (OTHER_LOGSOURCES, GENERIC_LOGSOURCES, GENERIC_SERVICES, PRODUCT_LOGSOURCES)
    for classes in table.values()
    for ec in classes
    for ch in ec.channels
    if ch != LINUX_SYSMON
)


def other_logsource(product: str | None, category: str | None, service: str | None
                    ) -> tuple[EventClass, ...] | None:
    """The event classes of a tabled non-Windows logsource (category or service), or None.

    A logsource naming both is the service's when the service is tabled (SigmaHQ writes
    Kubernetes audit rules as ``category: application, service: audit``). A category named alone
    (no product, no service) is looked up in GENERIC_LOGSOURCES, a service named alone in
    GENERIC_SERVICES, a product named alone in PRODUCT_LOGSOURCES."""
    if product is None and service is None and category is not None:
        return GENERIC_LOGSOURCES.get(category.lower())
    if product is None and category is None and service is not None:
        return GENERIC_SERVICES.get(service.lower())
    if product is not None and category is None and service is None:
        return PRODUCT_LOGSOURCES.get(product.lower())
    if product is None or (category is None and service is None):
        return None
    if category is not None and service is not None:
        return OTHER_LOGSOURCES.get((product.lower(), service.lower()))
    key = category if category is not None else service
    return OTHER_LOGSOURCES.get((product.lower(), str(key).lower()))


EventPredicate = Callable[[Mapping[str, Any]], bool]


class LogsourceUnsupported(UnsupportedError):
    """The logsource has no event-membership rule; ``str(error)`` is the reason."""


def describe(product: str | None, category: str | None, service: str | None) -> str:
    """Render a logsource as ``product/category/service`` with ``-`` for absent parts."""
    return "/".join(part or "-" for part in (product, category, service))


def _event_id(event: Mapping[str, Any]) -> int | None:
    """Return the event's ``EventID`` as an int (NXLog writes ints, some exports strings)."""
    value = event.get("EventID")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _channel(event: Mapping[str, Any]) -> str | None:
    value = event.get("Channel")
    return value.lower() if isinstance(value, str) else None


def _category_predicate(classes: tuple[EventClass, ...]) -> EventPredicate:
    """Member when some class lists the event's id and (if present) its channel."""
    table = tuple(
        (frozenset(c.lower() for c in ec.channels), frozenset(ec.event_ids or ()), ec.event_ids)
        for ec in classes
    )

    def member(event: Mapping[str, Any]) -> bool:
        event_id = _event_id(event)
        channel = _channel(event)
        if event_id is None:
            return False
        for channels, ids, any_id in table:
            if (any_id is None or event_id in ids) and (channel is None or channel in channels):
                return True
        return False

    return member


def _service_predicate(channels: tuple[str, ...]) -> EventPredicate:
    """Member when the event's channel is one of the service's channels."""
    wanted = frozenset(c.lower() for c in channels)
    return lambda event: _channel(event) in wanted


def _windows_event(event: Mapping[str, Any]) -> bool:
    """``product: windows`` alone: any Windows event log record (it has a channel or an id), not
    one of the non-Windows classes (``Linux-Sysmon/Operational`` has Sysmon's ids too)."""
    channel = _channel(event)
    if channel in _OTHER_CHANNELS:
        return False
    return channel is not None or _event_id(event) is not None


def _class_predicate(classes: tuple[EventClass, ...]) -> EventPredicate:
    """Non-Windows classes: the event must carry the class's channel (there is no event without
    one, unlike hand-written Windows events), and a listed ``EventID`` where the class has ids."""
    table = tuple((frozenset(c.lower() for c in ec.channels), ec.event_ids) for ec in classes)

    def member(event: Mapping[str, Any]) -> bool:
        channel = _channel(event)
        return any(
            channel in channels and (ids is None or _event_id(event) in ids)
            for channels, ids in table
        )

    return member


_MEMO_LIMIT = 4096  # distinct (Channel, EventID) pairs remembered per logsource


def _memoized(raw: EventPredicate) -> EventPredicate:
    """Remember the answer per (Channel, EventID): membership depends on nothing else, and the
    backtest asks it once per rule and event (hundreds of millions of times)."""
    cache: dict[tuple[Any, Any], bool] = {}

    def member(event: Mapping[str, Any]) -> bool:
        key = (event.get("Channel"), event.get("EventID"))
        try:
            return cache[key]
        except KeyError:
            result = raw(event)
            if len(cache) < _MEMO_LIMIT:
                cache[key] = result
            return result
        except TypeError:  # an unhashable (list-valued) Channel or EventID
            return raw(event)

    return member


@lru_cache(maxsize=None)
def membership(
    product: str | None, category: str | None, service: str | None
) -> EventPredicate:
    """Return the predicate "this event belongs to the logsource".

    Rules with the same logsource share one (memoized) predicate.

    Args:
        product: the rule's ``logsource.product``.
        category: the rule's ``logsource.category``.
        service: the rule's ``logsource.service``.

    Returns:
        A function of a flat event returning ``True`` for members.

    Raises:
        LogsourceUnsupported: the table has no rule for this logsource (a non-Windows product, a
            Windows category or service the taxonomy does not tie to a channel); never guessed.
    """
    name = describe(product, category, service)
    other = other_logsource(product, category, service)
    if other is not None:
        return _memoized(_class_predicate(other))
    if (product or "").lower() != "windows":
        raise LogsourceUnsupported(
            f"logsource {name} has no event-membership rule (only product windows is tabled)"
        )
    predicates: list[EventPredicate] = []
    if category is not None:
        classes = WINDOWS_CATEGORIES.get(category.lower())
        if classes is None:
            raise LogsourceUnsupported(
                f"logsource {name} has no event-membership rule "
                f"(Windows category {category!r} is not tied to a channel and event id)"
            )
        predicates.append(_category_predicate(classes))
    if service is not None:
        channels = WINDOWS_SERVICES.get(service.lower())
        if channels is None:
            raise LogsourceUnsupported(
                f"logsource {name} has no event-membership rule "
                f"(Windows service {service!r} has no known channel)"
            )
        predicates.append(_service_predicate(channels))
    if not predicates:
        return _memoized(_windows_event)
    if len(predicates) == 1:
        return _memoized(predicates[0])
    first, second = predicates
    return _memoized(lambda event: first(event) and second(event))
