"""``sigport mapping``, the command: write the template and its ingest pipeline, print the
requests to run and what the template does not make exact.

What the template holds (``propose``, ``template_body``, ``pipeline_body``) is built in
``converter.outputs.index_template``; this module writes and reports it (split from there).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from converter.outputs.fleet import (
    FLEET_CUSTOM_DOC,
    WINLOGBEAT_PRIORITY,
    requests,
    stream_parts,
    uncovered,
)
from converter.outputs.index_template import (
    CUSTOM_TEMPLATE_DOC,
    IGNORE_ABOVE,
    IGNORE_ABOVE_DOC,
    MULTI_FIELD,
    NORMALIZER,
    PIPELINE_DOC,
    Proposal,
    pipeline_body,
    propose,
    template_body,
)
from converter.rules.load import load_rules


def pipeline_path(output: Path | None) -> Path | None:
    """Where ``sigport mapping -o FILE`` writes the ingest pipeline: ``FILE`` with
    ``-pipeline`` before its suffix (``caseless.json`` -> ``caseless-pipeline.json``)."""
    if output is None:
        return None
    return output.with_name(f"{output.stem}-pipeline{output.suffix or '.json'}")


def not_covered(proposal: Proposal) -> list[str]:
    """What the template does not make exact, one sentence each."""
    out = [
        "indices written before the rollover keep their mapping: KQL stays case-sensitive on "
        "them (reindex them, or search them with the eql/lucene target)",
        f"a PUT replaces a template of that name: merge this body into yours if you have one "
        f"({CUSTOM_TEMPLATE_DOC})",
    ]
    if proposal.lossy:
        out.append(
            f"values over {IGNORE_ABOVE} characters are not indexed in the .caseless "
            f"multi-field (Lucene's 32,766-byte term limit, {IGNORE_ABOVE_DOC}); of "
            f"{', '.join(proposal.lossy)} the parent field indexes such values and KQL does not "
            "match them there (convert warns, check proves it only on longer values)"
        )
    if proposal.copies or proposal.cased:
        out.append(
            "a PUT replaces an ingest pipeline of that name: add this processor to yours if you "
            f"have one ({PIPELINE_DOC}); documents indexed before it have no copy"
        )
    if proposal.unknown:
        out.append(
            f"fields the {proposal.data_source} field model does not know get no caseless copy: "
            + ", ".join(proposal.unknown)
        )
    wide = [p for p in uncovered(proposal.streams) if stream_parts(p)[1] is None]
    if wide and proposal.data_source != "winlogbeat":
        out.append(
            f"the rules read {', '.join(wide)}, which spans datasets: the mapping goes into "
            "logs@custom, which every logs-* integration index template composes (Fleet has no "
            f"per-package component template, {FLEET_CUSTOM_DOC}); the copies are written only "
            "where their source field exists"
        )
    if proposal.data_source == "winlogbeat":
        out.append(
            f"Elasticsearch applies only the highest-priority index template to an index: this "
            f"one (priority {WINLOGBEAT_PRIORITY}) replaces Winlogbeat's own (priority 150), so "
            "copy the settings and mappings of GET _index_template/winlogbeat-<version> into it "
            "before the PUT (sigport adds only the fields above)"
        )
    for reason, count in sorted(proposal.refused.items(), key=lambda kv: -kv[1]):
        out.append(f"{count} rule(s) KQL does not convert on {proposal.data_source}: {reason}")
    return out


def run_mapping(paths: list[str], data_source: str, output: Path | None) -> int:
    """``sigport mapping``: write the template (to ``output`` or stdout), print the requests and
    what is not covered on stderr; return the exit code (0, or 2 when no rule converts and
    nothing is to be added)."""
    from converter.outputs.files import refuse_inputs, refuse_named_link, write_named_file
    from converter.rules.load import expand_paths

    refuse_inputs([("-o", output), ("-o (its pipeline)", pipeline_path(output) if output else None)],
                  [p for p in expand_paths(paths) if p != "-"])
    proposal = propose(load_rules(paths), data_source)
    text = json.dumps(template_body(proposal), indent=2, ensure_ascii=False) + "\n"
    pipeline_file = pipeline_path(output) if proposal.copies or proposal.cased else None
    if output is not None:
        # The template maps copies that only the pipeline writes: refuse before writing either.
        for path in (output, pipeline_file):
            if path is not None:
                refuse_named_link(path)
        write_named_file(output, text)
        if pipeline_file is not None:
            pipeline = json.dumps(pipeline_body(proposal), indent=2, ensure_ascii=False) + "\n"
            write_named_file(pipeline_file, pipeline)
    else:
        sys.stdout.write(text)
    err = sys.stderr
    print(
        f"sigport mapping: {proposal.converted} of {proposal.rules} rules convert for kql on "
        f"{data_source}; {len(proposal.copies)} fields get a caseless copy (a wildcard field the "
        "ingest pipeline writes, read by kql, kql-es, eql, lucene and esql): "
        + (", ".join(f"{proposal.copies[n]} (of {n})" for n in sorted(proposal.copies)) or "none"),
        file=err,
    )
    if proposal.cased:
        print(
            f"{len(proposal.cased)} fields get a cased copy (the value with the same swaps, not "
            "lowercased), for case-sensitive patterns that hold whitespace, and for regular "
            "expressions and |cased values on fields that stop at an ignore_above: "
            + ", ".join(f"{proposal.cased[n]} (of {n})" for n in sorted(proposal.cased)),
            file=err,
        )
    if proposal.fields:
        print(
            f"{len(proposal.fields)} fields, whose names are too long for a copy's meta, get a "
            f"lowercase-normalised keyword multi-field (normalizer {NORMALIZER}, ignore_above "
            f"{IGNORE_ABOVE}): "
            + ", ".join(f"{n}.{proposal.names.get(n, MULTI_FIELD)}" for n in sorted(proposal.fields)),
            file=err,
        )
    print("Run, in Kibana Dev Tools or with curl:", file=err)
    pipeline_name = (str(pipeline_file) if pipeline_file is not None
                     else "the pipeline, written only with -o FILE"
                     if proposal.copies or proposal.cased else None)
    body_name = str(output) if output is not None else "the JSON above"
    for line in requests(data_source, body_name, pipeline_name, proposal.streams):
        print(f"  {line}", file=err)
    print("Then convert and check with --mapping "
          f"{output if output is not None else 'FILE'} --data-source {data_source}.", file=err)
    print("Not covered:", file=err)
    for line in not_covered(proposal):
        print(f"  - {line}", file=err)
    # EQL and Lucene may read copies of rules KQL refuses (regexes).
    return 0 if proposal.converted or proposal.copies or proposal.cased or proposal.fields else 2
