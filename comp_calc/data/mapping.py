"""Column mapping: CRM exports read as the input files without editing them (SPEC 6.1,
"Column mapping").

A mapping is a YAML file, `--map FILE` or `mapping.yaml` in the data folder (`--map`
wins: the folder's file is then not read). It has one optional section per input
of the contract (`comp_calc.data.model.COLUMNS`: reps, sales, feedback, contacts
and any input added there), each with optional keys:

  file               the export's file name in the data folder (.csv or .parquet)
  columns            our column: the export's column (a column not named keeps its own name)
  date_format        how the export writes dates: strftime codes %Y %m %d %b only
                     (default %Y-%m-%d); applies to the date columns of the section
  decimal_separator  "." (default) or ","; a "." under "," is an error (no thousands separators)
  values             our column: {the export's value: ours}; listed values are recoded,
                     others pass through (text columns only)
  true_values        the words for true in the yes/no columns (default: true), and
  false_values       for false (default: false); each replaces its default

Everything is generic over the contract: a column's kind (`COLUMNS`) says which
keys apply to it, so new inputs and columns are covered as they are added.

How it works: `parse_csv` and `read_parquet` find each of our columns under the
export's name; `normalize` then writes the export's values the way the contract
expects (dates YYYY-MM-DD, a decimal point, true/false, recoded values) before
any row rule, and flags the cells it cannot read (`_map_bad_<column>`), which the
rules of `rules` reports (the contract's own rule for that cell is then silent).
So every later stage, in memory or streaming, sees the contract's files; line
numbers stay the export's physical lines. `relabel` rewrites the diagnostics of
a mapped file to name the export's columns (`Amount`, not `amount`).

Codes (file-level, the mapping file and the line of the key):
  unreadable / encoding / yaml-*  the mapping file cannot be read (as for plans)
  not-a-mapping           the top level or a section is not a mapping
  unknown-key             a section or key the mapping does not have, or a column
                          that is not one of the input's
  wrong-type              text expected (quote numbers: "1"), or a list of texts
  bad-file-name           `file` is not a plain .csv or .parquet name in the data folder
  bad-date-format         codes other than %Y %m %d %b, or not one each of year, month, day
  bad-separator           decimal_separator other than "." or ","
  not-text-column         `values` for a date, number or yes/no column
  same-word               a word both in true_values and false_values
  not-applicable          date_format, decimal_separator or the true/false words in a section
                          without a column of that kind (feedback has no amount)
  same-export-column      two of our columns read from one export column
  mapped-column-missing   a mapped column is not in the export's header
  missing-file            the export named by `file` is not in the data folder
Row codes (the export's file, line and column): bad-date (not a real date written
in date_format), bad-decimal (not digits with the mapped separator), bad-bool (not
one of the words).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from comp_calc.data.contract import FORMATS
from comp_calc.data.model import COLUMNS
from comp_calc.data.rules import Rule
from comp_calc.errors import Diagnostic
from comp_calc.plan.yaml_positions import INVALID, YList, YMap, read_yaml

MAPPING_FILE = "mapping.yaml"
MAX_BYTES = 1024 * 1024
KEYS = ("file", "columns", "date_format", "decimal_separator", "values", "true_values", "false_values")
DATE_KINDS = ("date", "optional_date")
# kinds whose cells are not free text: `values` does not recode them
NOT_TEXT = (*DATE_KINDS, "decimal", "int", "bool")
DEFAULT_DATE = "%Y-%m-%d"
# strftime code -> (the part of the date it writes, the text it matches)
DATE_CODES = {"%Y": ("year", "[0-9]{4}"), "%m": ("month", "[0-9]{1,2}"), "%d": ("day", "[0-9]{1,2}"),
              "%b": ("month", "[A-Za-z]{3}")}
FLAG = "_map_bad_"
SHOWN_COLUMNS = 12  # of an export's header, in a message
# keys that apply to columns of some kinds only: (the kinds, what the columns are called)
APPLIES = {"date_format": (DATE_KINDS, "date"), "decimal_separator": (("decimal",), "decimal number"),
           "true_values": (("bool",), "yes/no"), "false_values": (("bool",), "yes/no")}


@dataclass(frozen=True)
class InputMap:
    """The mapping of one input (a section of the mapping file)."""

    name: str
    source: str  # the mapping file, as diagnostics name it
    file: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # our column -> the export's
    date_format: str | None = None  # None: the contract's YYYY-MM-DD
    decimal_separator: str = "."
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    true_values: tuple[str, ...] | None = None
    false_values: tuple[str, ...] | None = None
    lines: dict[str, int] = field(default_factory=dict)  # "columns.amount" -> line in `source`

    def their(self, column: str) -> str:
        """The export's name of our `column`."""
        return self.columns.get(column, column)

    @property
    def labels(self) -> dict[str, str]:
        """Our column -> the export's, for the columns whose name differs."""
        return {ours: theirs for ours, theirs in self.columns.items() if ours != theirs}

    def missing(self, column: str, export: str, header: list[str]) -> Diagnostic:
        """The problem of our mapped `column` absent from the header of `export` (the columns it
        has: the closest name, or the first SHOWN_COLUMNS)."""
        names = [h for h in header if h]
        close = difflib.get_close_matches(self.their(column), names, n=1, cutoff=0.6)
        shown = f"did you mean '{close[0]}'?" if close else "its columns: " + ", ".join(names[:SHOWN_COLUMNS]) + (
            ", ..." if len(names) > SHOWN_COLUMNS else "")
        return Diagnostic(self.source, self.lines.get(f"columns.{column}"), f"{self.name}.columns.{column}",
                          "mapped-column-missing",
                          f"{self.name} column {column} is mapped to '{self.their(column)}', which is not a column "
                          f"of {export} ({shown})")


@dataclass(frozen=True)
class Mapping:
    source: str | None = None
    inputs: dict[str, InputMap] = field(default_factory=dict)
    # inputs whose section has a problem: not read, so that only the mapping's problems show
    broken: frozenset[str] = frozenset()

    def get(self, name: str) -> InputMap | None:
        return self.inputs.get(name)


NO_MAPPING = Mapping()


def mapping_path(data_dir: Path, map_file: str | Path | None) -> Path | None:
    """The mapping in force: `map_file`, else the data folder's mapping.yaml if there is one."""
    if map_file is not None:
        return Path(map_file)
    found = Path(data_dir) / MAPPING_FILE
    return found if found.is_file() else None


def load_mapping(data_dir: Path, map_file: str | Path | None = None) -> tuple[Mapping, list[Diagnostic]]:
    """(the mapping in force, its problems); the sections without a problem are kept."""
    path = mapping_path(data_dir, map_file)
    if path is None:
        return NO_MAPPING, []
    source = str(path)
    everything = frozenset(COLUMNS)

    def fail(code: str, message: str, line: int | None = None):
        return Mapping(source, {}, everything), [Diagnostic(source, line, None, code, message)]

    if not path.exists():
        return fail("missing-file", "mapping file does not exist")
    if path.is_dir():
        return fail("is-a-directory", "is a directory, not a mapping file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return fail("unreadable", f"cannot read the mapping file: {exc.strerror or exc}")
    if len(data) > MAX_BYTES:
        return fail("file-too-large", f"a mapping file is at most {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return fail("encoding", f"is not UTF-8 text: byte 0x{data[exc.start]:02x}", data.count(b"\n", 0, exc.start) + 1)
    value, problems = read_yaml(text, source)
    if problems:
        return Mapping(source, {}, everything), problems
    if value is None:
        return Mapping(source), []
    if not isinstance(value, YMap):
        return fail("not-a-mapping", "a mapping file holds sections named after the inputs: "
                    + ", ".join(COLUMNS), getattr(value, "line", 1))
    inputs: dict[str, InputMap] = {}
    broken: set[str] = set()
    for name, section in value.items():
        line = value.key_lines[name]
        if name not in COLUMNS:
            problems.append(Diagnostic(source, line, str(name), "unknown-key",
                                       f"'{name}' is not an input; the sections are: {', '.join(COLUMNS)}"))
            continue
        found, errors = _section(name, section, source, line)
        if errors:
            problems += errors
            broken.add(name)
        else:
            inputs[name] = found
    return Mapping(source, inputs, frozenset(broken)), problems


def _section(name: str, section, source: str, line: int) -> tuple[InputMap | None, list[Diagnostic]]:
    problems: list[Diagnostic] = []
    if section is None:
        return InputMap(name, source), []

    def err(key: str, at: int | None, code: str, message: str) -> None:
        problems.append(Diagnostic(source, at, f"{name}.{key}" if key else name, code, message))

    if not isinstance(section, YMap):
        err("", line, "not-a-mapping", f"the {name} section must be a mapping of keys: {', '.join(KEYS)}")
        return None, problems
    kinds = COLUMNS[name]
    lines: dict[str, int] = {}

    def text(key: str, value, at: int) -> str | None:
        if isinstance(value, str) and value != "":
            return value
        if value is not INVALID:
            err(key, at, "wrong-type", f"{key} must be text; write it in quotes, e.g. \"{_shown(value)}\"")
        return None

    def texts(key: str, value, at: int) -> tuple[str, ...] | None:
        if not isinstance(value, YList) or not value:
            err(key, at, "wrong-type", f"{key} must be a list of words, e.g. [\"Yes\", \"1\"]")
            return None
        out = [text(f"{key}[{i}]", v, value.lines[i]) for i, v in enumerate(value)]
        return None if None in out else tuple(out)

    def column_map(key: str, value, at: int) -> YMap | None:
        if not isinstance(value, YMap):
            err(key, at, "not-a-mapping", f"{key} maps our column names to the export's: {{sale_id: Id, ...}}")
            return None
        for column in value:
            if column not in kinds:
                err(f"{key}.{column}", value.key_lines[column], "unknown-key",
                    f"'{column}' is not a column of {name}; its columns are: {', '.join(kinds)}")
        return value

    out: dict = {}
    for key, value in section.items():
        at = section.value_lines[key]
        lines[key] = section.key_lines[key]
        if key not in KEYS:
            err(str(key), section.key_lines[key], "unknown-key", f"unknown key '{key}'; the keys are: {', '.join(KEYS)}")
        elif key == "file":
            if (file := text(key, value, at)) is not None:
                if Path(file).name != file or file in (".", "..") or Path(file).suffix.lower() not in FORMATS:
                    err(key, at, "bad-file-name", f"'{file}' must be a file name in the data folder ending in "
                        + " or ".join(FORMATS))
                out["file"] = file
        elif key == "columns":
            if (columns := column_map(key, value, at)) is not None:
                taken: dict[str, str] = {}
                for column, theirs in columns.items():
                    lines[f"columns.{column}"] = columns.key_lines[column]
                    theirs = text(f"columns.{column}", theirs, columns.value_lines[column])
                    if theirs is not None:
                        out.setdefault("columns", {})[column] = theirs.strip(" \t")
                effective = {c: out.get("columns", {}).get(c, c) for c in kinds}
                for column, theirs in effective.items():
                    if theirs in taken:
                        first = taken[theirs]
                        shown = column if column in columns else first
                        err(f"columns.{shown}", columns.key_lines.get(shown, at), "same-export-column",
                            f"{first} and {column} both read the export's column '{theirs}'; "
                            "each of our columns needs a column of its own")
                    taken.setdefault(theirs, column)
        elif key == "date_format":
            if (fmt := text(key, value, at)) is not None:
                if (problem := _date_format_problem(fmt)) is not None:
                    err(key, at, "bad-date-format", problem)
                out["date_format"] = fmt
        elif key == "decimal_separator":
            if (sep := text(key, value, at)) is not None:
                if sep not in (".", ","):
                    err(key, at, "bad-separator", f"decimal_separator must be \".\" or \",\", not '{sep}'")
                out["decimal_separator"] = sep
        elif key == "values":
            if (recodes := column_map(key, value, at)) is not None:
                for column, table in recodes.items():
                    where = f"values.{column}"
                    if column in kinds and kinds[column] in NOT_TEXT:
                        err(where, recodes.key_lines[column], "not-text-column",
                            f"values recodes text columns; {column} is a {kinds[column].replace('_', ' ')} column"
                            + (" (use true_values and false_values)" if kinds[column] == "bool" else ""))
                        continue
                    if not isinstance(table, YMap):
                        err(where, recodes.value_lines[column], "not-a-mapping",
                            f"{where} maps the export's values to ours: {{\"Credit Card\": credit_card}}")
                        continue
                    pairs = {}
                    for theirs, ours in table.items():
                        theirs_t = text(f"{where}", theirs, table.key_lines[theirs])
                        ours_t = text(f"{where}.{theirs}", ours, table.value_lines[theirs])
                        if theirs_t is not None and ours_t is not None:
                            pairs[theirs_t] = ours_t
                    out.setdefault("values", {})[column] = pairs
        else:  # true_values, false_values
            if (words := texts(key, value, at)) is not None:
                out[key] = words
    for key, (wanted, noun) in APPLIES.items():
        if key in section and not any(kind in wanted for kind in kinds.values()):
            err(key, lines[key], "not-applicable", f"{key} does not apply to {name}: it has no {noun} column")
    both = set(out.get("true_values", ())) & set(out.get("false_values", ()))
    for word in sorted(both):
        err("false_values", lines.get("false_values"), "same-word", f"'{word}' is both a true and a false word")
    if problems:
        return None, problems
    return InputMap(name, source, lines=lines, **out), []


def _shown(value) -> str:
    return {True: "true", False: "false", None: ""}.get(value, str(value)) if isinstance(value, bool | None) else str(value)


def _date_format_problem(fmt: str) -> str | None:
    codes = re.findall(r"%.?", fmt)
    unknown = [c for c in codes if c not in DATE_CODES]
    if unknown:
        return (f"date_format '{fmt}' uses {', '.join(dict.fromkeys(unknown))}; only %Y (year), %m (month number), "
                "%b (month name, Jan) and %d (day) are allowed")
    parts = [DATE_CODES[c][0] for c in codes]
    if sorted(parts) != ["day", "month", "year"]:
        return f"date_format '{fmt}' needs a year (%Y), a month (%m or %b) and a day (%d), each once"
    return None


def _date_pattern(fmt: str) -> str:
    """A regular expression matching exactly the text `fmt` writes (a day or month number takes
    one or two digits, two when another code follows or precedes it directly: `%Y%m%d`)."""
    pieces = re.split(r"(%[Ymdb])", fmt)  # codes at odd positions, the text between them (maybe "") at even

    def piece(i: int, p: str) -> str:
        if i % 2 == 0:
            return re.escape(p)
        if p in ("%m", "%d") and ((i > 1 and pieces[i - 1] == "") or (i + 2 < len(pieces) and pieces[i + 1] == "")):
            return "[0-9]{2}"
        return DATE_CODES[p][1]

    return "^" + "".join(piece(i, p) for i, p in enumerate(pieces)) + "$"


# --- reading an export -----------------------------------------------------------------------------


def flag(column: str) -> str:
    return f"{FLAG}{column}"


def normalize(frame: pl.DataFrame, im: InputMap | None, name: str) -> pl.DataFrame:
    """The export's cells written as the contract expects (see the module docstring); a cell that
    cannot be read keeps its text and gets a true `flag(column)`."""
    if im is None:
        return frame
    exprs: list[pl.Expr] = []
    for column, kind in COLUMNS[name].items():
        if column not in frame.columns:
            continue
        v = pl.col(column)
        present = v != ""
        if column in im.values and im.values[column]:
            table = im.values[column]
            exprs.append(v.replace(list(table), list(table.values())))
        elif kind in DATE_KINDS and im.date_format not in (None, DEFAULT_DATE):
            day = pl.when(v.str.contains(_date_pattern(im.date_format))).then(v.str.to_date(im.date_format, strict=False))
            ok = day.is_not_null()
            exprs += [pl.when(ok).then(day.dt.to_string("%Y-%m-%d")).otherwise(v).alias(column),
                      (present & ~ok).alias(flag(column))]
        elif kind == "decimal" and im.decimal_separator == ",":
            ok = v.str.contains(r"^[0-9]+(,[0-9]+)?$")
            exprs += [pl.when(ok).then(v.str.replace(",", ".", literal=True)).otherwise(v).alias(column),
                      (present & ~ok).alias(flag(column))]
        elif kind == "bool" and (im.true_values or im.false_values):
            trues, falses = list(im.true_values or ("true",)), list(im.false_values or ("false",))
            exprs += [pl.when(v.is_in(trues)).then(pl.lit("true")).when(v.is_in(falses)).then(pl.lit("false"))
                      .otherwise(v).alias(column),
                      (present & ~v.is_in(trues + falses)).alias(flag(column))]
    return frame.with_columns(exprs) if exprs else frame


def mapped_rules(frame: pl.DataFrame, im: InputMap | None, name: str, rules: list[Rule]) -> list[Rule]:
    """`rules` (the contract's, for `frame` of a file read through `im`) with the rules for the
    cells `normalize` could not read first; the contract's rules of such a cell are silent
    (one problem per cell, in the export's terms)."""
    flags = flagged(frame)
    if im is None or not flags:
        return rules
    quiet = [r._replace(bad=r.bad & ~pl.col(flags[r.column])) if r.column in flags else r for r in rules]
    shaped = pl.col("_ragged").is_null() if "_ragged" in frame.columns else pl.lit(True)

    def rule(column: str, code: str, bad: pl.Expr, message: pl.Expr) -> Rule:
        return Rule(column, code, shaped & bad, message, pre=bad)

    return _format_rules(frame, im, name, rule) + quiet


def _format_rules(frame: pl.DataFrame, im: InputMap, name: str, rule) -> list[Rule]:
    found = []
    for column, kind in COLUMNS[name].items():
        if flag(column) not in frame.columns:
            continue
        bad, cell = pl.col(flag(column)), pl.format("{} '{}'", pl.lit(column), pl.col(column))
        if kind in DATE_KINDS:
            found.append(rule(column, "bad-date", bad, pl.format("{} is not a real date written {}", cell,
                                                                 pl.lit(im.date_format))))
        elif kind == "decimal":
            message = (pl.when(pl.col(column).str.contains(".", literal=True))
                       .then(pl.format("{} has a '.', but the decimal separator is ',': write amounts like "
                                       "1234,56, without a thousands separator", cell))
                       .otherwise(pl.format("{} is not a plain decimal number like 1234,56", cell)))
            found.append(rule(column, "bad-decimal", bad, message))
        elif kind == "bool":
            words = (f"{', '.join(im.true_values or ('true',))} (true) or "
                     f"{', '.join(im.false_values or ('false',))} (false)")
            found.append(rule(column, "bad-bool", bad, pl.format("{} must be one of: " + words, cell)))
    return found


def flagged(frame: pl.DataFrame) -> dict[str, str]:
    """Our column -> its flag column, for the columns `normalize` flagged in `frame`."""
    return {c[len(FLAG):]: c for c in frame.columns if c.startswith(FLAG)}


# --- diagnostics in the export's words -------------------------------------------------------------

_QUOTED = re.compile(r"('[^']*')")


def relabel(diags: list[Diagnostic], labels: dict[str, dict[str, str]]) -> list[Diagnostic]:
    """`diags` with our column names replaced by the export's in the diagnostics of a mapped file:
    its `column`, and each whole word naming a mapped column in the message outside quoted
    values (`amount '1,5' ...` -> `Amount '1,5' ...`). `labels`: file (as diagnostics name it) ->
    our column -> the export's. Apply once to a diagnostic."""
    if not labels or not diags:
        return diags
    out = []
    for d in diags:
        names = labels.get(d.file)
        if not names:
            out.append(d)
            continue
        word = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                          + r")(?![A-Za-z0-9_])")
        parts = _QUOTED.split(d.message)
        message = "".join(p if i % 2 else word.sub(lambda m: names[m.group(1)], p) for i, p in enumerate(parts))
        out.append(replace(d, column=names.get(d.column, d.column), message=message))
    return out
