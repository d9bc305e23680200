"""Tests of converter.events.inputs (formats, streaming, errors) and converter.events.normalise (event shapes).

Small inputs are written in tmp_path by each test. The corpus tests read ../shared/corpus
relative to the project root and skip when it is absent: every SigmaHQ regression ``.json`` and
``.evtx`` parses, and the two files of one rule folder give the same events.
"""

from __future__ import annotations

import copy
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from converter.events import inputs
from converter.errors import EventsError
from converter.events.inputs import FORMATS, InputError, detect_format, iter_events, iter_raw
from converter.events.normalise import is_windows_record, normalise

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpus"
REGRESSION = CORPUS / "sigmahq" / "regression_data"
OTRF = CORPUS / "events" / "Security-Datasets" / "datasets" / "atomic" / "windows"

SYSMON = "Microsoft-Windows-Sysmon/Operational"
FLAT = {"EventID": 1, "Channel": SYSMON, "Image": "C:\\Windows\\System32\\cmd.exe"}


def lines(*objects: Any) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


def xml_event(event_id: Any, data: dict[str, Any], channel: str = SYSMON) -> dict[str, Any]:
    """An Event.System/EventData record in the shape the evtx package writes."""
    return {
        "Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "{5770}"}},
                "EventID": event_id,
                "Level": 4,
                "Keywords": "0x8000000000000000",
                "Channel": channel,
                "Computer": "host1",
            },
            "EventData": data,
        }
    }


# ---------------------------------------------------------------------------------------------
# JSON lines


def test_jsonl_streams_with_sources_skipping_blank_and_comment_lines(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    path.write_bytes(b"# comment\n" + lines(FLAT) + b"\n   \n" + lines({"EventID": "4104"}))
    got = list(iter_raw(path))
    assert [s for s, _ in got] == [f"{path}:2", f"{path}:5"]
    events = list(iter_events(path))
    assert events[0] == FLAT and events[1] == {"EventID": 4104}


def test_jsonl_bad_line_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    path.write_bytes(lines(FLAT) + b'{"EventID": 1,, }\n')
    stream = iter_events(path)
    assert next(stream) == FLAT  # events before the bad line are delivered: it streams
    with pytest.raises(InputError) as info:
        next(stream)
    assert (info.value.path, info.value.line, info.value.column) == (str(path), 2, 15)
    assert info.value.one_line().startswith(f"{path}:2:15: not valid JSON")


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    path.write_bytes(b"[1, 2]\n")
    with pytest.raises(InputError, match="JSON object, not an array") as info:
        list(iter_raw(path))
    assert info.value.line == 1


@pytest.mark.parametrize(("line", "kind"), [(b"null", "null"), (b'"s"', "a string"),
                                            (b"1.5", "a number"), (b"true", "a boolean")])
def test_a_line_that_is_no_object_is_named_in_json_words(tmp_path: Path, line: bytes,
                                                         kind: str) -> None:
    # The message named Python's types: "not NoneType", "not str".
    path = tmp_path / "ev.jsonl"
    path.write_bytes(line + b"\n")
    with pytest.raises(InputError) as info:
        list(iter_raw(path))
    assert f"a line must hold a JSON object, not {kind}" in str(info.value), str(info.value)
    assert "NoneType" not in str(info.value) and not str(info.value).endswith(" str")


# ---------------------------------------------------------------------------------------------
# SigmaHQ regression JSON (concatenated objects, arrays)


def test_regression_json_with_two_concatenated_objects(tmp_path: Path) -> None:
    first = xml_event(1, {"Image": "C:\\a.exe", "ProcessId": 15596})
    second = xml_event(11, {"TargetFilename": "C:\\x.txt"})
    path = tmp_path / "r.json"
    path.write_text(json.dumps(first, indent=2) + "\n" + json.dumps(second, indent=2) + "\n")
    assert detect_format(path) == "sigma-regression"
    got = list(iter_raw(path))
    assert [raw for _, raw in got] == [first, second]
    second_line = json.dumps(first, indent=2).count("\n") + 2
    assert [s for s, _ in got] == [f"{path}:1", f"{path}:{second_line}"]
    events = list(iter_events(path))
    assert events[0]["EventID"] == 1 and events[0]["ProcessId"] == "15596"
    assert events[1]["TargetFilename"] == "C:\\x.txt" and events[1]["EventID"] == 11


def test_regression_json_objects_larger_than_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tiny read size makes every object span many reads of the incremental decoder.
    monkeypatch.setattr(inputs, "_CHUNK", 7)
    objects = [xml_event(n, {"CommandLine": "x" * 50 + str(n)}) for n in (1, 3, 5)]
    path = tmp_path / "r.json"
    path.write_text("".join(json.dumps(o, indent=1) for o in objects))
    assert [raw for _, raw in iter_raw(path, "sigma-regression")] == objects


def test_regression_json_top_level_array(tmp_path: Path) -> None:
    objects = [xml_event(1, {"Image": "a"}), xml_event(3, {"Image": "b"})]
    path = tmp_path / "arr.json"
    path.write_text(json.dumps(objects, indent=2))
    assert detect_format(path) == "sigma-regression"
    assert [e["EventID"] for e in iter_events(path)] == [1, 3]


def test_regression_json_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "a": 1\n}\n{\n  "b": ?\n}\n')
    stream = iter_raw(path, "sigma-regression")
    assert next(stream) == (f"{path}:1", {"a": 1})
    with pytest.raises(InputError) as info:
        next(stream)
    assert (info.value.line, info.value.column) == (5, 8)


def test_regression_json_value_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"a": 1}\n"text"\n')
    with pytest.raises(InputError, match="not str") as info:
        list(iter_raw(path, "sigma-regression"))
    assert info.value.line == 2


# ---------------------------------------------------------------------------------------------
# Archives


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def write_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


ARCHIVE_MEMBERS = {
    "ds/events.json": lines(FLAT, {"EventID": 4104, "Channel": "Windows PowerShell"}),
    # macOS debris: not JSON at all, must be skipped.
    "__MACOSX/ds/._events.json": b"\x00\x05\x16\x07 Mac OS X resource fork",
    "ds/._other.json": b"\x00\x05\x16\x07",
    "ds/README.txt": b"not events",
    "more.jsonl": lines({"EventID": 3, "Channel": SYSMON}),
}


@pytest.mark.parametrize("name", ["set.zip", "set.tar.gz", "set.tgz"])
def test_archive_members_stream_and_macos_entries_are_skipped(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".zip"):
        write_zip(path, ARCHIVE_MEMBERS)
    else:
        write_tar(path, ARCHIVE_MEMBERS)
    assert detect_format(path) == "archive"
    got = list(iter_raw(path))
    assert [s for s, _ in got] == [
        f"{path}!ds/events.json:1", f"{path}!ds/events.json:2", f"{path}!more.jsonl:1",
    ]
    assert [e["EventID"] for e in iter_events(path)] == [1, 4104, 3]


@pytest.mark.parametrize("name", ["bad.zip", "bad.tar.gz"])
def test_archive_bad_line_names_archive_member_and_line(tmp_path: Path, name: str) -> None:
    members = {"a/m.json": lines(FLAT) + b"{not json\n"}
    path = write_zip(tmp_path / name, members) if name.endswith(".zip") else write_tar(
        tmp_path / name, members
    )
    with pytest.raises(InputError) as info:
        list(iter_events(path))
    assert info.value.location() == f"{path}!a/m.json:2:2"
    assert isinstance(info.value, EventsError)
    assert f"{path}!a/m.json:2:2: not valid JSON" in info.value.one_line()


def test_uncompressed_tar_and_damaged_archive(tmp_path: Path) -> None:
    plain = write_tar(tmp_path / "p.tar", {"x.json": lines(FLAT)}, mode="w")
    assert list(iter_events(plain)) == [FLAT]
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputError, match="not a readable"):
        list(iter_events(broken))


@pytest.mark.parametrize("name", ["events.jsonl.gz", "events.json.gz", "events.gz"])
def test_a_gzip_compressed_events_file_is_read_line_by_line(tmp_path: Path, name: str) -> None:
    # A gzip of JSON lines (not a tar) was "not a readable zip or tar archive: truncated
    # header", and skipped without a word inside a directory.
    import gzip

    path = tmp_path / "d" / name
    path.parent.mkdir()
    path.write_bytes(gzip.compress(lines(FLAT, {"EventID": 3, "Channel": SYSMON})))
    assert detect_format(path) == "archive"
    assert [s for s, _ in iter_raw(path)] == [f"{path}:1", f"{path}:2"]
    assert [e["EventID"] for e in iter_events(path.parent)] == [1, 3]


def test_a_gzip_of_a_json_array_and_a_bad_line_in_a_gzip(tmp_path: Path) -> None:
    import gzip

    array = tmp_path / "regression.json.gz"
    array.write_bytes(gzip.compress(json.dumps([FLAT, FLAT], indent=2).encode()))
    assert [e["EventID"] for e in iter_events(array)] == [1, 1]
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(lines(FLAT) + b"{not json\n"))
    with pytest.raises(InputError) as info:
        list(iter_events(bad))
    assert info.value.location() == f"{bad}:2:2"


def test_a_gzip_member_past_its_cap_is_cut_and_reported(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "big.jsonl.gz"
    path.write_bytes(gzip.compress(lines(*[FLAT] * 100)))
    limits = inputs.InputLimits(max_member_bytes=len(lines(FLAT)) * 10)
    assert len(list(iter_raw(path, limits=limits))) == 10
    assert any("max_member_bytes" in w for w in limits.warnings)


# ---------------------------------------------------------------------------------------------
# Detection, directories, forced formats


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.jsonl", b"", "jsonl"),
        ("a.ndjson", b"{}", "jsonl"),
        ("a.json", b'{"EventID": 1}\n{"EventID": 2}\n', "jsonl"),
        ("a.json", b'\xef\xbb\xbf  {"EventID": 1}\n', "jsonl"),
        ("a.json", b'{\n  "Event": {}\n}\n', "sigma-regression"),
        ("a.json", b'{"a": 1}{"b": 2}\n', "sigma-regression"),
        ("a.json", b"  [\n{}]", "sigma-regression"),
        ("a.json", b"# comment\n{}", "jsonl"),
        ("a.evtx", b"", "evtx"),
        ("a.ZIP", b"", "archive"),
        ("a.tar.gz", b"", "archive"),
        ("a.tgz", b"", "archive"),
        ("a.dat", b"ElfFile\x00rest", "evtx"),
        ("a.dat", b"PK\x03\x04rest", "archive"),
        ("a.dat", b"\x1f\x8brest", "archive"),
        ("a.log", b'{"EventID": 1}\n', "jsonl"),
    ],
)
def test_detect_format(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert detect_format(path) == expected


def test_detect_format_refuses_unknown_content_and_directories(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("EventID,Image\n1,cmd.exe\n")
    with pytest.raises(InputError, match="cannot tell the events format") as info:
        detect_format(path)
    assert "force one of" in info.value.one_line()
    with pytest.raises(InputError, match="directory"):
        detect_format(tmp_path)


def test_directory_is_walked_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.jsonl").write_bytes(lines({"EventID": 2}))
    (tmp_path / "a.json").write_text(json.dumps(xml_event(1, {}), indent=2))
    write_zip(tmp_path / "b" / "1.zip", {"m.json": lines({"EventID": 3})})
    (tmp_path / "c.yml").write_text("not: events")  # not an events suffix
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.jsonl").write_bytes(lines({"EventID": 9}))
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "y.jsonl").write_bytes(b"\x00")
    assert [e["EventID"] for e in iter_events(tmp_path)] == [1, 3, 2]


def test_forced_format(tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    path.write_bytes(lines({"EventID": 7}))
    assert list(iter_events(path, "jsonl")) == [{"EventID": 7}]
    assert list(iter_events(path, "sigma-regression")) == [{"EventID": 7}]
    with pytest.raises(InputError, match="unknown input format") as info:
        list(iter_events(path, "csv"))
    assert all(f in info.value.one_line() for f in FORMATS)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such events file"):
        list(iter_events(tmp_path / "nope.jsonl"))


def test_evtx_format_on_a_file_that_is_not_evtx(tmp_path: Path) -> None:
    pytest.importorskip("evtx")
    path = tmp_path / "fake.evtx"
    path.write_bytes(b"not an event log")
    with pytest.raises(InputError, match="not a readable .evtx file") as info:
        list(iter_events(path))
    assert info.value.path == str(path)


# ---------------------------------------------------------------------------------------------
# Normalisation: Event.System / EventData shapes


def test_normalise_evtx_package_shape() -> None:
    raw = xml_event(
        {"#attributes": {"Qualifiers": 16384}, "#text": 1},
        {"#attributes": {"Name": "TaskDisabled"}, "Image": "C:\\a.exe", "ProcessId": 42,
         "Signed": True, "Hashes": "SHA256=AB"},
    )
    before = copy.deepcopy(raw)
    assert normalise(raw) == {
        "EventID": 1, "Channel": SYSMON, "Computer": "host1",
        "Provider_Name": "Microsoft-Windows-Sysmon", "Level": "4",
        "Keywords": "0x8000000000000000",
        "Image": "C:\\a.exe", "ProcessId": "42", "Signed": "true", "Hashes": "SHA256=AB",
    }
    assert raw == before  # the input is not modified


def test_normalise_xmltodict_shape_with_named_and_unnamed_data() -> None:
    raw = {
        "Event": {
            "System": {
                "Provider": {"@Name": "Service Control Manager", "@Guid": "{555908d1}"},
                "EventID": {"@Qualifiers": "16384", "#text": "7045"},
                "Channel": "System",
                "Computer": "dc1",
            },
            "EventData": {
                "Data": [
                    {"@Name": "ServiceName", "#text": "evil"},
                    {"@Name": "ImagePath", "#text": "C:\\evil.exe"},
                    {"@Name": "AccountName"},  # an empty <Data Name="AccountName"/>
                ]
            },
        }
    }
    assert normalise(raw) == {
        "EventID": 7045, "Channel": "System", "Computer": "dc1",
        "Provider_Name": "Service Control Manager",
        "ServiceName": "evil", "ImagePath": "C:\\evil.exe", "AccountName": None,
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"Data": {"@Name": "Only", "#text": "one"}}, {"Only": "one"}),
        (
            {"Data": {"#text": ["HostName=ConsoleHost", "x"]}},
            {"Data": ["HostName=ConsoleHost", "x"]},
        ),
        ({"Data": "single"}, {"Data": "single"}),
        ({"Data": ["a", {"#text": "b"}]}, {"Data": ["a", "b"]}),
        ({"Binary": "00FF"}, {"Binary": "00FF"}),
    ],
)
def test_normalise_event_data_shapes(data: dict[str, Any], expected: dict[str, Any]) -> None:
    system = {"EventID": 400, "Channel": "Windows PowerShell"}
    event = normalise({"System": system, "EventData": data})
    assert {k: v for k, v in event.items() if k not in {"EventID", "Channel"}} == expected


def test_normalise_user_data_and_value_shaped_event_id() -> None:
    raw = {
        "Event": {
            "System": {"EventID": {"Value": 5858}, "Channel": "WMI-Activity"},
            "UserData": {
                "Operation_ClientFailure": {
                    "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2006/windows/WMI"},
                    "User": "dom\\u", "ClientProcessId": 25920, "Operation": "Start IWbemServices",
                }
            },
        }
    }
    assert normalise(raw) == {
        "EventID": 5858, "Channel": "WMI-Activity",
        "User": "dom\\u", "ClientProcessId": "25920", "Operation": "Start IWbemServices",
    }


def test_system_event_id_and_channel_win_over_event_data() -> None:
    event = normalise(xml_event(1, {"Channel": "fake", "EventID": "99", "Computer": "data"}))
    assert (event["EventID"], event["Channel"], event["Computer"]) == (1, SYSMON, "data")


# ---------------------------------------------------------------------------------------------
# Normalisation: flat events (NXLog), pass-through


NXLOG_SYSMON = {
    "EventID": 1, "Channel": SYSMON, "SourceName": "Microsoft-Windows-Sysmon",
    "Hostname": "WORKSTATION5.theshire.local", "Keywords": -9223372036854775808,
    "SourceModuleType": "im_msvistalog", "Image": "C:\\w\\cmd.exe", "ProcessId": "6196",
}


def test_normalise_nxlog_flat_event_adds_sigma_system_names_and_keeps_originals() -> None:
    raw = dict(NXLOG_SYSMON)
    event = normalise(raw)
    assert raw == NXLOG_SYSMON
    assert event == {
        **NXLOG_SYSMON, "Computer": "WORKSTATION5.theshire.local",
        "Provider_Name": "Microsoft-Windows-Sysmon", "Keywords": "0x8000000000000000",
    }
    # Audit Success, the keyword of every OTRF AUDIT_SUCCESS record.
    assert normalise({"EventID": 4689, "Keywords": -9214364837600034816})["Keywords"] == (
        "0x8020000000000000"
    )


def test_normalise_flat_event_id_text_and_existing_sigma_names() -> None:
    event = normalise({"EventID": "4104", "Computer": "given", "Hostname": "other"})
    assert event == {"EventID": 4104, "Computer": "given", "Hostname": "other"}


@pytest.mark.parametrize(
    "raw",
    [
        {"process": {"name": "cmd.exe"}, "event": {"code": "1"}},
        {"message": "linux auditd line", "type": "EXECVE"},
        {"EventID": {"nested": 1}},
    ],
)
def test_events_that_are_not_windows_records_pass_through(raw: dict[str, Any]) -> None:
    assert normalise(raw) is raw
    assert not is_windows_record(raw)


# ---------------------------------------------------------------------------------------------
# Security 4688 -> Sigma taxonomy (source_aliases of ecs-windows)


SECURITY_4688 = {
    "EventID": 4688, "Channel": "Security", "SubjectUserSid": "S-1-5-18",
    "SubjectUserName": "MORDORDC$", "SubjectDomainName": "MORDOR", "SubjectLogonId": "0x3e7",
    "NewProcessId": "0x7d8", "NewProcessName": "C:\\Windows\\System32\\sppsvc.exe",
    "TokenElevationType": "%%1936", "ProcessId": "0x2b8",
    "CommandLine": "C:\\windows\\system32\\sppsvc.exe", "TargetUserSid": "S-1-0-0",
    "ParentProcessName": "C:\\Windows\\System32\\services.exe", "MandatoryLabel": "S-1-16-16384",
}
SIGMA_4688 = {
    "Image": "C:\\Windows\\System32\\sppsvc.exe",
    "ParentImage": "C:\\Windows\\System32\\services.exe",
    "CommandLine": "C:\\windows\\system32\\sppsvc.exe",
    "ProcessId": "2008", "ParentProcessId": "696", "User": "MORDOR\\MORDORDC$",
    "LogonId": "0x3e7", "IntegrityLevel": "S-1-16-16384",
}


@pytest.mark.parametrize("channel", ["Security", "security"])
def test_security_4688_gets_sigma_names_and_keeps_microsoft_fields(channel: str) -> None:
    event = normalise({**SECURITY_4688, "Channel": channel})
    assert {k: event[k] for k in SIGMA_4688} == SIGMA_4688
    kept = {k: v for k, v in SECURITY_4688.items() if k not in {"ProcessId", "Channel"}}
    assert {k: event[k] for k in kept} == kept


def test_security_4688_in_xml_shape_and_normalising_twice() -> None:
    data = {k: v for k, v in SECURITY_4688.items() if k not in {"EventID", "Channel"}}
    event = normalise(xml_event(4688, data, channel="Security"))
    assert {k: event[k] for k in SIGMA_4688} == SIGMA_4688
    assert normalise(event) == event


def test_4688_already_in_sigma_names_is_not_reread() -> None:
    sample = {"EventID": 4688, "Channel": "Security", "Image": "C:\\x.exe", "ProcessId": "1234"}
    assert normalise(sample) == sample  # no ParentProcessId invented from the Sigma ProcessId


def test_other_event_ids_are_not_aliased() -> None:
    record = {**SECURITY_4688, "EventID": 4689}
    assert normalise(record) == record


def test_4688_value_without_sigma_representation(tmp_path: Path) -> None:
    bad = {**SECURITY_4688, "SubjectUserName": "a\\b"}
    with pytest.raises(ValueError, match="backslash"):
        normalise(bad)
    path = tmp_path / "s.jsonl"
    path.write_bytes(lines(FLAT, bad))
    with pytest.raises(InputError, match="cannot normalise event") as info:
        list(iter_events(path))
    assert info.value.location() == f"{path}:2"


# ---------------------------------------------------------------------------------------------
# Corpus (skips when ../shared/corpus is absent)


def regression_folders() -> list[Path]:
    if not REGRESSION.is_dir():
        return []
    return sorted({p.parent for p in REGRESSION.rglob("*.evtx")})


def loose(event: dict[str, Any]) -> dict[str, Any]:
    """The event with string values right-stripped and case-folded (see the test below)."""
    return {k: v.rstrip().casefold() if isinstance(v, str) else v for k, v in event.items()}


def folder_id(path: Path) -> str:
    return path.name


needs_regression = pytest.mark.skipif(not REGRESSION.is_dir(), reason="corpus absent")


@needs_regression
@pytest.mark.parametrize("folder", regression_folders(), ids=folder_id)
def test_regression_json_and_evtx_give_the_same_events(folder: Path) -> None:
    """The .json (SigmaHQ's rendering) and the .evtx of one rule give the same events.

    Known differences, reported and tolerated here: the .json files lose trailing whitespace of
    values (``"cmd.exe" `` in the .evtx is ``"cmd.exe"`` in 53 of 144 folders, mostly
    ``CommandLine``/``ParentCommandLine``), and one folder (susp_right_to_left_override) has
    ``Explorer.exe`` in the .json where the .evtx says ``Explorer.EXE``.
    """
    pytest.importorskip("evtx")
    from_json = [e for p in sorted(folder.glob("*.json")) for e in iter_events(p)]
    from_evtx = [e for p in sorted(folder.glob("*.evtx")) for e in iter_events(p)]
    assert from_json and len(from_json) == len(from_evtx)
    for a, b in zip(from_json, from_evtx):
        assert isinstance(a["EventID"], int) and a["Channel"]
        for key in ("EventID", "Channel", "Computer", "Provider_Name", "Image"):
            assert a.get(key) == b.get(key), key
        assert set(a) == set(b)
        assert loose(a) == loose(b)


@needs_regression
def test_every_regression_json_parses() -> None:
    files = sorted(REGRESSION.rglob("*.json"))
    assert files
    counts = []
    for path in files:
        events = list(iter_events(path))
        assert events and all(isinstance(e["EventID"], int) for e in events), path
        counts.append(len(events))
    assert max(counts) > 1  # some files hold several concatenated objects


@pytest.mark.skipif(not OTRF.is_dir(), reason="corpus absent")
@pytest.mark.parametrize(
    "name",
    ["discovery/host/cmd_discover_iexplorer_version_registry.zip",
     "persistence/host/covenant_persistwmi.tar.gz"],
)
def test_otrf_archives(name: str) -> None:
    path = OTRF / name
    if not path.is_file():
        pytest.skip(f"{name} absent")
    events = list(iter_events(path))
    assert events and all(isinstance(e["EventID"], int) for e in events)
    assert all("Computer" in e for e in events)
    for event in events:
        if event["EventID"] == 4688 and event["Channel"].lower() == "security":
            assert event["Image"] == event["NewProcessName"]
            assert isinstance(event["ParentProcessId"], str)


def test_a_gzip_of_json_objects_past_its_cap_is_cut_and_reported(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "big.json.gz"
    path.write_bytes(gzip.compress(json.dumps([FLAT] * 100, indent=1).encode()))
    limits = inputs.InputLimits(max_member_bytes=2000)
    with pytest.raises(InputError, match="not valid JSON"):  # the cut falls inside an object
        list(iter_raw(path, limits=limits))
    assert any("max_member_bytes" in w for w in limits.warnings)


def test_dotted_collision_is_the_path_walk() -> None:
    """The search for a dotted key (the keys joined, a loop over the values) decides only
    whether the walk runs: without a dotted key no two paths spell one field."""
    from hypothesis import given, settings, strategies as st

    from converter.events.bounded import dotted_collision, path_collision

    keys = st.text(alphabet="ab.", max_size=3)
    values = st.recursive(st.one_of(st.none(), st.integers(0, 2), st.text("x", max_size=1)),
                          lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(keys, inner, max_size=4)),
                          max_leaves=12)

    @settings(max_examples=500, deadline=None)
    @given(value=st.dictionaries(keys, values, max_size=5))
    def check(value: dict[str, Any]) -> None:
        assert dotted_collision(value) == path_collision(value)

    check()
