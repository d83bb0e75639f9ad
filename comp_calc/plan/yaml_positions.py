"""Safe YAML reading that keeps the line of every key and value.

`read_yaml(text, file)` composes the document with `PlanLoader` (a
`yaml.SafeLoader` subclass: nothing is ever constructed from tags) and turns
the node tree into plain values:

- mappings become `YMap` (a dict with `line`, `key_lines` and `value_lines`),
- sequences become `YList` (a list with `line` and per-item `lines`),
- scalars follow a strict, YAML 1.2-like core schema: `true`/`false` only are
  booleans (`yes`, `on`, `True` stay text), `null`/`~`/empty is None, integers
  are plain decimal digits (`010` is 10; `0x10` is text), floats are
  `Decimal(text)` exactly as written (`0.004`, `1e-3`; never a binary float),
  `YYYY-MM-DD` is a date. Everything else is text.

Refused with a diagnostic instead of an exception: syntax errors (with the
line and an excerpt), anchors and aliases (a plan must read on its own, and
this stops alias bombs), tags other than the standard scalar and collection
tags, duplicate keys, non-scalar keys and nesting deeper than `MAX_DEPTH`.
Lines are 1-based.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from comp_calc.errors import Diagnostic

MAX_DEPTH = 32

_T = "tag:yaml.org,2002:"
NULL, BOOL, INT, FLOAT, STR, TIMESTAMP, SEQ, MAP = (
    _T + n for n in ("null", "bool", "int", "float", "str", "timestamp", "seq", "map")
)

INT_RE = re.compile(r"^[-+]?[0-9]+$")
FLOAT_RE = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_DATE_RE = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$")


class _Invalid:
    """A value that could not be read; its problem is already reported."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID = _Invalid()


class YMap(dict):
    """A mapping that remembers where its keys and values were written."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.key_lines: dict = {}
        self.value_lines: dict = {}


class YList(list):
    """A sequence that remembers where it and each item were written."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.lines: list[int] = []


class _Refused(Exception):
    def __init__(self, mark, code: str, message: str):
        super().__init__(message)
        self.line = mark.line + 1
        self.code = code
        self.message = message


class PlanLoader(yaml.SafeLoader):
    """Safe loader with a strict scalar schema that refuses anchors, aliases and deep nesting."""

    yaml_implicit_resolvers: dict = {}  # replaced below: never share SafeLoader's table
    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                event.start_mark,
                "yaml-alias",
                "anchors (&name) and aliases (*name) are not allowed: write every value out "
                "so the plan can be reviewed on its own",
            )
        if self._depth >= MAX_DEPTH:
            raise _Refused(event.start_mark, "yaml-depth", f"nested deeper than {MAX_DEPTH} levels")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


for _tag, _regexp, _first in [
    (BOOL, re.compile(r"^(?:true|false)$"), "tf"),
    (INT, INT_RE, "-+0123456789"),
    (FLOAT, FLOAT_RE, "-+0123456789."),
    (NULL, re.compile(r"^(?:~|null|)$"), ["~", "n", ""]),
    (TIMESTAMP, _DATE_RE, "0123456789"),
]:
    PlanLoader.add_implicit_resolver(_tag, _regexp, list(_first))


def join(path: str, key) -> str:
    """`quality` + `metrics` -> `quality.metrics`; an int key gives `[i]`."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _scalar(text: str, tag: str):
    """The value of a scalar with a standard tag, or None-and-reason if it cannot be read."""
    if tag == STR:
        return text, None
    if tag == NULL:
        return None, None
    if tag == BOOL and text in ("true", "false"):
        return text == "true", None
    if tag == INT and INT_RE.match(text):
        return int(text), None
    if tag == FLOAT and FLOAT_RE.match(text):
        return Decimal(text), None
    if tag == TIMESTAMP and (m := _DATE_RE.match(text)):
        try:
            return date(*map(int, m.groups())), None
        except ValueError:
            return INVALID, ("bad-date", f"'{text}' is not a valid date")
    what = {BOOL: "true or false", INT: "a whole number in plain digits",
            FLOAT: "a plain decimal number", TIMESTAMP: "a date YYYY-MM-DD"}.get(tag, "")
    return INVALID, ("yaml-tag", f"'{text}' cannot be read as {what}")


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    def err(self, node, path: str, code: str, message: str) -> _Invalid:
        self.diagnostics.append(Diagnostic(self.file, node.start_mark.line + 1, path or None, code, message))
        return INVALID

    def value(self, node, path: str):
        line = node.start_mark.line + 1
        standard = {MAP: MappingNode, SEQ: SequenceNode}.get(node.tag, ScalarNode)
        if node.tag not in (NULL, BOOL, INT, FLOAT, STR, TIMESTAMP, SEQ, MAP) or not isinstance(node, standard):
            return self.err(node, path, "yaml-tag", f"the tag {node.tag.replace(_T, '!!')} is not allowed in a plan")
        if isinstance(node, ScalarNode):
            value, problem = _scalar(node.value, node.tag)
            return self.err(node, path, *problem) if problem else value
        if isinstance(node, SequenceNode):
            out = YList(line)
            for i, item in enumerate(node.value):
                out.append(self.value(item, join(path, i)))
                out.lines.append(item.start_mark.line + 1)
            return out
        out = YMap(line)
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.err(key_node, path, "unknown-key", "a key must be a plain word, not a list or mapping")
                continue
            key = self.value(key_node, path)
            if key is INVALID:
                continue
            if key in out:
                self.err(key_node, join(path, str(key)), "duplicate-key",
                         f"key '{key}' is given twice (first on line {out.key_lines[key]})")
                continue
            out[key] = self.value(value_node, join(path, str(key)))
            out.key_lines[key] = key_node.start_mark.line + 1
            out.value_lines[key] = value_node.start_mark.line + 1
        return out


# Where pyyaml's context mark, not its problem mark, is where the mistake is: a key without
# its ':' is noticed only where the next line starts, an unclosed quote or bracket only at
# the end of the file or at the next ':'.
_AT_CONTEXT = ("while scanning a simple key", "while scanning a quoted scalar", "while parsing a flow")


def _mistake_mark(e: yaml.MarkedYAMLError):
    """The mark of the line to report for a syntax error: where it was written, not where it was noticed."""
    if e.context_mark is not None and (e.context or "").startswith(_AT_CONTEXT):
        return e.context_mark
    return e.problem_mark or e.context_mark


def read_yaml(text: str, file: str) -> tuple[object, list[Diagnostic]]:
    """(value, diagnostics). `None` with one diagnostic when the text is not readable YAML;
    `None` without diagnostics for an empty document."""
    try:
        loader = PlanLoader(text)  # the reader checks for control characters right here
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except _Refused as e:
        return None, [Diagnostic(file, e.line, None, e.code, e.message)]
    except yaml.MarkedYAMLError as e:
        mark = _mistake_mark(e)
        line = mark.line + 1 if mark else None
        reason = "; ".join(p for p in (e.context, e.problem) if p) or "not valid YAML"
        lines = text.splitlines()
        excerpt = lines[line - 1].strip()[:60] if line and line <= len(lines) else ""
        message = f"YAML syntax error: {reason}" + (f", near: {excerpt}" if excerpt else "")
        return None, [Diagnostic(file, line, None, "yaml-syntax", message)]
    except yaml.reader.ReaderError as e:  # e.character is the code point
        line = text.count("\n", 0, e.position) + 1
        message = f"contains the control character #x{e.character:04x}, which a YAML file cannot hold"
        return None, [Diagnostic(file, line, None, "encoding", message)]
    if node is None:
        return None, []
    builder = _Builder(file)
    return builder.value(node, ""), builder.diagnostics
