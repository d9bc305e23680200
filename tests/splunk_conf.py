"""A small .conf reader for tests, following Splunk's documented configuration file structure.

Rules (Splunk Admin Manual, "Configuration file structure",
https://docs.splunk.com/Documentation/Splunk/latest/Admin/Configurationfilestructureandsyntax, and
the multi-line ``search`` values of savedsearches.conf.spec,
https://docs.splunk.com/Documentation/Splunk/latest/Admin/Savedsearchesconf):

* a line ``[name]`` starts a stanza; settings before any stanza belong to ``default``;
* ``key = value`` sets a value (spaces around ``=`` are not part of either);
* a line starting with ``#`` is a comment, a blank line is nothing;
* a value line ending with a backslash continues on the next line, the newline kept in the value;
* a stanza named twice is one stanza: the later settings win.

It is deliberately independent of sigport's writer, so a writer bug shows as a round-trip failure.
"""

from __future__ import annotations


def read_conf(text: str) -> dict[str, dict[str, str]]:
    """Stanza name -> {key: value}."""
    stanzas: dict[str, dict[str, str]] = {}
    current = stanzas.setdefault("default", {})
    key: str | None = None
    value = ""
    continuing = False
    for line in text.split("\n"):
        if continuing:
            assert key is not None
            continuing = line.endswith("\\")
            value += "\n" + (line[:-1] if continuing else line)
            current[key] = value
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stanzas.setdefault(stripped[1:-1], {})
            continue
        if "=" not in line:
            raise ValueError(f"not a setting: {line!r}")
        raw_key, raw_value = line.split("=", 1)
        key = raw_key.strip()
        value = raw_value.strip()
        continuing = value.endswith("\\")
        if continuing:
            value = value[:-1]
        current[key] = value
    if not stanzas["default"]:
        del stanzas["default"]
    return stanzas


def stanza_headers(text: str) -> list[str]:
    """Every stanza header line's name, in order (duplicates included)."""
    out: list[str] = []
    continuing = False
    for line in text.split("\n"):
        if not continuing and line.strip().startswith("[") and line.strip().endswith("]"):
            out.append(line.strip()[1:-1])
        continuing = line.endswith("\\")
    return out
