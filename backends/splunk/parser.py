"""The Splunk SPL interpreter: parse SPL query text into the shared query tree.

A query is a pipeline. ``parse`` splits it on ``|`` (outside double quotes and backtick macros),
parses each command and conjoins every filtering step, because each of ``search``, ``regex`` and
``where`` keeps a subset of what reaches it:

* the initial search (optionally written ``search ...``) and ``| search``: search language;
* ``| regex [field](=|!=)"pcre"``; ``| where <eval-expr>``;
* ``| rex field=F "(?<G>pcre)"`` and ``| eval C=if(<expr>, "true", "false")``: they only *define*
  fields; a later ``search`` on ``C`` is replaced by the test those commands compute (the shape
  pySigma's Splunk backend uses for OR-ed regexes);
* ``| tstats ... from datamodel=<DM>.<Set> [where <search>] by <fields>``: WHERE is search
  language on data-model fields (``<Set>.`` prefixes are stripped: events carry bare CIM names);
  commands after tstats see only the BY fields, a missing one reading as the ``fillnull_value``
  string;
* ``| table``, ``| convert`` and the ``drop_dm_object_name`` macro do not filter and are ignored.

``Lowering`` (``lower.py``) consults ``SEMANTICS`` (``semantics.py``); the interpreter never
imports an emitter.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from backends.query.ast import And, Const, Node
from backends.query.errors import QueryParseError, UnsupportedQueryError
from backends.query.syntax import Grammar, SyntaxMessages, run_lowering

from .lower import Lowering, unescape
from .semantics import LANGUAGE

if TYPE_CHECKING:
    from backends.query.fields import FieldModel

__all__ = ["LANGUAGE", "parse", "split_pipes", "unescape"]

_IGNORED = {"table", "convert", "fields"}


class _Messages(SyntaxMessages):
    """SPL's syntax-error wording; each pipe's expression is parsed alone (positions are
    shifted to the whole query by ``Grammar.parse``)."""

    def character(self, text: str, offset: int, exc: UnexpectedCharacters) -> tuple[str, int]:
        if offset < len(text):
            return f"unexpected character {text[offset]!r}", 1
        return "unexpected end", 1

    def end(self, text: str, exc: UnexpectedInput) -> tuple[str, int]:
        return "unexpected end of expression", len(text.rstrip())

    def token(self, text: str, exc: UnexpectedToken) -> tuple[str, int]:
        return f"unexpected {str(exc.token)!r}", 1


#: Both SPL expression languages: the search language and eval expressions (``where``, ``eval``).
GRAMMAR = Grammar(
    __file__,
    _Messages(LANGUAGE),
    parser="lalr",
    start=["search_query", "eval_expr"],
    propagate_positions=True,
)


#: The characters ``split_pipes`` acts on; the text between them is skipped in one search.
_PIPE_SYNTAX = re.compile(r'[\\"`|]')


def split_pipes(text: str) -> list[tuple[int, str]]:
    """Split a query on ``|`` outside double quotes and backticks; (offset, segment) pairs.

    Only a backslash, a quote, a backtick or a pipe changes anything, so the scan jumps from one
    to the next (a query is mostly values between them)."""
    segments: list[tuple[int, str]] = []
    start, quote, tick, i = 0, False, False, 0
    search = _PIPE_SYNTAX.search
    while True:
        found = search(text, i)
        if found is None:
            break
        i = found.start()
        ch = text[i]
        if ch == "\\":
            i += 2 if quote else 1  # inside a string it escapes the next character
            continue
        if ch == '"' and not tick:
            quote = not quote
        elif ch == "`" and not quote:
            tick = not tick
        elif ch == "|" and not quote and not tick:
            segments.append((start, text[start:i]))
            start = i + 1
        i += 1
    if quote:
        raise QueryParseError("unterminated string", text, text.rfind('"'), 1, LANGUAGE)
    segments.append((start, text[start:]))
    return segments


_COMMANDS: dict[str, Callable[[Lowering, str, int], None]] = {
    "regex": Lowering.regex_command,
    "rex": Lowering.rex_command,
    "eval": Lowering.eval_command,
    "where": Lowering.where_command,
    "tstats": Lowering.tstats_command,
}


def parse(text: str, fields: FieldModel | None = None) -> Node:
    """Parse SPL query text into the shared query tree.

    Args:
        text: the SPL query (an initial search and/or pipes).
        fields: accepted for interface symmetry; SPL matching does not depend on field types.

    Returns:
        The conjunction of every filtering step of the pipeline.

    Raises:
        QueryParseError: the text is not valid SPL (position and caret in the message).
        UnsupportedQueryError: a valid command or construct sigport does not evaluate.
    """
    # The search and where lowerings recurse once per nesting level (run_lowering: too_deep()).
    return run_lowering(lambda: _parse(text, fields), text, LANGUAGE)


def _parse(text: str, fields: FieldModel | None) -> Node:
    pipeline = Lowering(text, GRAMMAR, fields)
    for index, (offset, segment) in enumerate(split_pipes(text)):
        stripped = segment.lstrip()
        at = offset + len(segment) - len(stripped)
        word = re.match(r"`?[\w]*", stripped)
        name = word.group(0) if word else ""
        if index == 0 and not re.match(r"search\b", stripped):
            pipeline.filters.append(pipeline.parse_search(segment, offset))
            continue
        if not stripped.strip():
            raise QueryParseError("empty command between pipes", text, at, 1, LANGUAGE)
        args_at = at + len(name)
        args = stripped[len(name) :]
        if name == "search":
            pipeline.filters.append(pipeline.parse_search(args, args_at))
        elif name in _COMMANDS:
            _COMMANDS[name](pipeline, args, args_at)
        elif name in _IGNORED or stripped.startswith("`drop_dm_object_name("):
            continue  # presentation only: no event is removed
        else:
            label = name or stripped.split()[0]
            raise UnsupportedQueryError(f"SPL command {label!r} (at offset {at}) is not supported")
    filters = [f for f in pipeline.filters if f != Const(True)]
    if not filters:
        return Const(True)
    return filters[0] if len(filters) == 1 else And(tuple(filters))
