"""Non-Windows logsources that the `splunk` target maps but no document maps to Splunk CIM.

``splunk-cim-uncovered.yml`` names, for each, the security_content data source that lists the
add-on's fields without CIM ``field_mappings``; a rule of such a logsource is refused with that
reason instead of the bare "no mapping for logsource".
"""

from __future__ import annotations

import pytest

from converter.mapping.loader import load_table
from helpers import to_query

RULE = """
title: uncovered
id: 8e2d1f83-1111-4222-8333-944455556666
logsource: {LOGSOURCE}
detection:
    selection:
        {FIELD}: x
    condition: selection
"""


@pytest.mark.parametrize("logsource,field,why", [
    ("{product: aws, service: cloudtrail}", "eventName", "aws_cloudtrail.yml gives no CIM field_mappings"),
    ("{product: okta, service: okta}", "eventType", "okta.yml gives no CIM field_mappings"),
    ("{product: zeek, service: dns}", "query", "no Zeek data source with CIM field_mappings"),
    ("{category: dns}", "query", "no Zeek data source with CIM field_mappings"),
    ("{product: linux, service: auditd}", "type", "linux_auditd_"),
])
def test_refused_with_the_data_source_that_lacks_a_cim_mapping(logsource: str, field: str, why: str) -> None:
    text = RULE.replace("{LOGSOURCE}", logsource).replace("{FIELD}", field)
    with pytest.raises(Exception, match="splunk-cim-uncovered") as info:
        to_query("splunk-cim", text)
    assert why in str(info.value)
    # The raw-event target still converts it.
    assert to_query("splunk", text)


def test_a_product_without_any_splunk_add_on_is_refused_with_that_reason() -> None:
    text = RULE.replace("{LOGSOURCE}", "{product: fortigate, service: event}").replace(
        "{FIELD}", "action")
    with pytest.raises(Exception, match="no Splunk add-on data source that sigport cites"):
        to_query("splunk-cim", text)


def test_a_log_the_splunk_target_reads_raw_is_refused_for_lack_of_a_data_model() -> None:
    # OpenCanary's JSON file is read on splunk (splunk-opencanary.yml), with no CIM tags.
    text = RULE.replace("{LOGSOURCE}", "{product: opencanary, category: application}").replace(
        "{FIELD}", "logtype")
    with pytest.raises(Exception, match="reads this log as raw events"):
        to_query("splunk-cim", text)
    assert to_query("splunk", text)


def test_the_table_maps_nothing() -> None:
    table = load_table("splunk-cim-uncovered")
    assert table.extends == "splunk-cim" and not table.logsources
