"""Output formats around the emitted queries, and the directory-tree writer.

``FORMATS`` maps a format name to its renderer: ``default`` (one query per line),
``kibana-ndjson`` (``converter/kibana.py``), ``savedsearches`` (``converter/savedsearches.py``)
and ``sentinel-yaml`` (``converter/sentinel.py``).
Every renderer takes the conversions and keyword options (``data_source`` for the Elastic rule
settings, ``splunk_es`` for Splunk Enterprise Security keys); a renderer ignores the options it
does not use.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .convert import Conversion
from .kibana import kibana_rule, render_kibana_ndjson as _render_kibana
from .savedsearches import render as _render_savedsearches
from .sentinel import render_sentinel_yaml

__all__ = ["FORMATS", "SUFFIXES", "TARGET_SUFFIXES", "TreeWriter", "kibana_rule",
           "render_default", "render_kibana_ndjson", "render_savedsearches"]


def render_kibana_ndjson(
    conversions: list[Conversion], data_source: str | None = None, **_: Any
) -> str:
    """Kibana rule NDJSON (see ``converter/kibana.py``)."""
    return _render_kibana(conversions, data_source)


def render_savedsearches(conversions: list[Conversion], splunk_es: bool = False, **_: Any) -> str:
    """savedsearches.conf (see ``converter/savedsearches.py``); "" when nothing converted."""
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
}

#: File suffix per format, for ``-o DIR`` output.
SUFFIXES = {
    "default": None, "kibana-ndjson": ".ndjson", "savedsearches": ".conf", "sentinel-yaml": ".yaml"
}

#: File suffix per target for the default format.
TARGET_SUFFIXES = {
    "eql": ".eql",
    "kql": ".kql",
    "lucene": ".lucene",
    "esql": ".esql",
    "splunk": ".spl",
    "splunk-cim": ".spl",
    "kusto": ".kusto",
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
