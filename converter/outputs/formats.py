"""Output formats around the emitted queries, and the directory-tree writer.

``FORMATS`` maps a format name to its renderer: ``default`` (one query per line),
``kibana-ndjson`` (``converter/outputs/kibana.py``), ``savedsearches`` (``converter/outputs/savedsearches.py``)
``sentinel-yaml`` (``converter/outputs/sentinel.py``), and ``es-dsl`` / ``esql``
(``converter/outputs/elasticsearch_kql.py``).
Every renderer takes the conversions and keyword options (``data_source`` for the Elastic rule
settings, ``splunk_es`` for Splunk Enterprise Security keys); a renderer ignores the options it
does not use.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from backends import TARGETS

from converter.conversion.result import Conversion
from converter.outputs.elasticsearch_kql import render_es_dsl, render_esql, rule_query
from converter.outputs.kibana import kibana_rule, render_kibana_ndjson as _render_kibana
from converter.outputs.savedsearches import render as _render_savedsearches
from converter.outputs.sentinel import render_sentinel_yaml

__all__ = ["FORMATS", "SUFFIXES", "TreeWriter", "kibana_rule",
           "render_default", "render_kibana_ndjson", "render_savedsearches"]


def render_kibana_ndjson(
    conversions: list[Conversion], data_source: str | None = None, **_: Any
) -> str:
    """Kibana rule NDJSON (see ``converter/outputs/kibana.py``; kql-es queries become ES|QL
    rules, ``converter/outputs/elasticsearch_kql.py``)."""
    return _render_kibana(
        conversions, data_source, lambda conv, query: rule_query(conv, query, data_source)
    )


def render_savedsearches(conversions: list[Conversion], splunk_es: bool = False, **_: Any) -> str:
    """savedsearches.conf (see ``converter/outputs/savedsearches.py``); "" when nothing converted."""
    return _render_savedsearches(conversions, es=splunk_es)


def render_default(conversions: list[Conversion], **_: Any) -> str:
    """One query per line per converted rule."""
    out = [c.output for c in conversions if c.output]
    return "\n".join(out) + ("\n" if out else "")


FORMATS: dict[str, Callable[..., str]] = {
    "default": render_default,
    "kibana-ndjson": render_kibana_ndjson,
    "savedsearches": render_savedsearches,
    "sentinel-yaml": render_sentinel_yaml,
    "es-dsl": render_es_dsl,
    "esql": render_esql,
}

#: File suffix per format, for ``-o DIR`` output (the ``default`` format uses the target's own,
#: ``backends.TARGETS[name].suffix``).
SUFFIXES = {
    "default": None, "kibana-ndjson": ".ndjson", "savedsearches": ".conf", "sentinel-yaml": ".yaml",
    "es-dsl": ".ndjson", "esql": ".esql",
}

class TreeWriter:
    """Writes conversions under a directory that mirrors the input tree, one file per rule file
    and target: ``OUTPUT/<target>/<path relative to its input directory>.<suffix>``.

    ``write`` takes any batch of conversions (a whole run, or one input file's from
    ``convert_paths(on_file=...)``, so files are written while the workers convert the rest).
    Conversions without queries write nothing; the rules of one input file share its output file.

    A rule's place in the tree is its real path (symbolic links resolved) relative to the first
    input directory that contains it, or just its file name. Resolving a path asks the file
    system about every directory on it; here each directory is resolved once per run and each
    file only checked for being a link.

    Two input files that would land on one output file (``d1/a.yml`` and ``d2/a.yml`` given as
    files, or the same relative path under two input directories; compared case-insensitively,
    as macOS and Windows file systems do) never overwrite each other: the later one gets
    ``<name>~2<suffix>`` (``~3``, ...), and ``collisions`` lists every such case for the caller
    to report. Files are written by ``converter.outputs.files.write_file``: atomically, never through a
    symbolic link below ``output``.
    """

    def __init__(
        self,
        output: Path,
        roots: Sequence[Path],
        output_format: str = "default",
        options: dict[str, Any] | None = None,
    ) -> None:
        """Write under ``output``; ``roots`` are the input paths (directories are the roots);
        ``options`` are the renderer's keyword options.

        Raises:
            KeyError: an unknown ``output_format``, or the ``savedsearches`` format (one file
                per target, not per rule).
        """
        if output_format == "savedsearches":
            raise KeyError(output_format)
        self.output = output
        self.render = functools.partial(FORMATS[output_format], **(options or {}))
        self.suffix = SUFFIXES[output_format]
        self.roots = [root.resolve() for root in roots if root.is_dir()]
        self._real_dirs: dict[str, str] = {}
        # Output file (relative, case-folded) -> the input file that claimed it, and the
        # output file each (input file, target) got.
        self._claimed: dict[str, str] = {}
        self._assigned: dict[tuple[str, str], Path] = {}
        #: Every collision: (input file, target, the file it would have overwritten, the file
        #: written instead).
        self.collisions: list[tuple[str, str, Path, Path]] = []

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
        """The output file of one conversion (unique in this run: see ``collisions``)."""
        key = (conversion.path, conversion.target)
        assigned = self._assigned.get(key)
        if assigned is None:
            assigned = self._assigned[key] = self._claim(conversion)
        return self.output / assigned

    def _claim(self, conversion: Conversion) -> Path:
        suffix = self.suffix or TARGETS[conversion.target].suffix
        wanted = Path(conversion.target) / self.relative(conversion.path).with_suffix(suffix)
        candidate, number = wanted, 1
        while self._claimed.setdefault(str(candidate).casefold(), conversion.path) != (
            conversion.path
        ):
            number += 1
            candidate = wanted.with_name(f"{wanted.stem}~{number}{wanted.suffix}")
        if candidate != wanted:
            self.collisions.append(
                (conversion.path, conversion.target, self.output / wanted, self.output / candidate)
            )
        return candidate

    def write(self, conversions: Iterable[Conversion]) -> None:
        """Write the file of every rule file and target that has queries.

        Raises:
            OutputError: a symbolic link below the output directory, or a write error.
        """
        from converter.outputs.files import write_file

        groups: dict[tuple[str, str], list[Conversion]] = {}
        for conversion in conversions:
            if conversion.queries:
                groups.setdefault((conversion.path, conversion.target), []).append(conversion)
        for group in groups.values():
            target = self.target_file(group[0])
            write_file(self.output, target.relative_to(self.output), self.render(group))
