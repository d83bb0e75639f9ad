"""Read the data directory's CSV files and validate every row (SPEC section 1).

`load_inputs(data_dir)` returns `Inputs` whose frames hold only the rows that
passed every rule, typed as `comp_calc.data.model` describes. Row problems do
not raise: each one becomes a `Diagnostic` in `Inputs.problems` (file name,
1-based physical line where the record starts, column, code, message) and its
row is left out of the frames. Whether a problem fails the run is the
caller's decision (`--skip-invalid`). Only problems that make a whole file
unusable raise `InputError`, carrying every such problem found in the
directory at once.

File-level codes (raised in `InputError`):
  missing-dir        the data directory does not exist
  not-a-directory    the data directory is a file
  missing-file       reps.csv or sales.csv is absent
  is-a-directory     a data file path is a directory
  unreadable         the file cannot be read (permissions, I/O)
  not-utf8           the bytes are not UTF-8 text (binary file, UTF-16, Latin-1...)
  empty-file         no header row at all (any file)
  no-rows            reps.csv or sales.csv has a header but no data rows
  bad-csv            quoting is broken so records cannot be split reliably
  missing-column     a required column is absent (one diagnostic per column)
  duplicate-column   a column name appears twice in the header

Row codes (in `Inputs.problems`):
  wrong-field-count  the record has more or fewer fields than the header
                     (its cells are not checked further: they are shifted)
  missing-value      a required cell is empty
  bad-id             an id containing a control character (NUL, tab, newline...)
  bad-date           not `YYYY-MM-DD`, or not a calendar date
  bad-decimal        not digits with an optional `.` and 1..6 decimals
                     (no sign, no exponent, no thousands separator), or more
                     than 15 digits before the point
  out-of-range       amount not > 0; score outside nps 0..10 / csat 1..5
  bad-integer        score is not a whole number
  bad-enum           survey not `nps`|`csat`; channel not `voice`|`email`|`sms`|`visit`
  bad-bool           connected not `true`|`false`
  end-before-start   reps end_date < start_date
  cancelled-before-sold  sales cancelled_on < sold_on
  duplicate-id       a later row repeats an id (the first occurrence is kept)
  unknown-rep        rep_id not in reps.csv
  rep-rejected       rep_id names a rep whose reps.csv row was rejected

Readings where SPEC section 1 is silent:
- Surrounding spaces and tabs are trimmed from every cell and header name
  before any rule (exports often pad cells); ids are otherwise kept exactly.
- Required means non-empty: every column except `name`, `team` (free text) and
  the optional dates `end_date`, `cancelled_on`.
- Keywords (`nps`, `true`, `voice`...) are exact and lower-case.
- Completely empty lines are not records: they are skipped and not counted.
- A UTF-8 BOM is accepted; CRLF and LF line endings both work; quoted fields
  may hold commas, doubled quotes and line breaks. Line numbers are physical:
  they are found by counting quote characters per line (an RFC 4180 record
  starts on a line where the quotes seen so far are balanced), so a record
  whose quoted field spans lines is reported on the line where it starts.
  A stray quote inside an unquoted field (`5" screen`) makes that impossible
  and is reported as `bad-csv` for the whole file.
- Diagnostics name files by their bare name (`sales.csv`) so that reports are
  the same wherever the directory lives; directory errors give the path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from comp_calc.data.model import COLUMNS, OPTIONAL_FILES, REQUIRED_FILES, Inputs, Table
from comp_calc.errors import Diagnostic, InputError

BOM = b"\xef\xbb\xbf"
MAX_DECIMALS = 6
MAX_INTEGER_DIGITS = 15
ENUMS = {"survey": ("nps", "csat"), "channel": ("voice", "email", "sms", "visit")}
SCORE_RANGE = {"nps": (0, 10), "csat": (1, 5)}
ID_KEYS = {"reps": "rep_id", "sales": "sale_id", "feedback": "response_id", "contacts": "contact_id"}

_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DECIMAL_RE = r"^[0-9]+(\.[0-9]+)?$"
_CONTROL_RE = r"[\x00-\x1f\x7f]"
_OPTIONAL_KINDS = ("text", "optional_date")

# A rule: (column, code, expression giving the message, or null when the row is fine).
Rule = tuple[str | None, str, pl.Expr]


def file_name(name: str) -> str:
    return f"{name}.csv"


def empty_frame(name: str) -> pl.DataFrame:
    """A frame with no rows and the typed schema of `name`."""
    return pl.DataFrame(schema={**{c: _dtype(k, 0) for c, k in COLUMNS[name].items()}, "line": pl.Int64})


def _dtype(kind: str, scale: int) -> pl.DataType:
    return {
        "date": pl.Date(),
        "optional_date": pl.Date(),
        "decimal": pl.Decimal(38, scale),
        "int": pl.Int64(),
        "bool": pl.Boolean(),
    }.get(kind, pl.String())


# --------------------------------------------------------------------------- files


@dataclass
class _Raw:
    """One file as untyped, trimmed strings, before row rules."""

    name: str
    path: str
    sha256: str
    frame: pl.DataFrame  # required columns as String, `line`, `_ragged` (message or null)


def load_inputs(data_dir: str | Path) -> Inputs:
    """Read and validate reps.csv, sales.csv and the optional feedback.csv, contacts.csv."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise InputError(Diagnostic(str(data_dir), None, None, "missing-dir", "data directory does not exist"))
    if not data_dir.is_dir():
        raise InputError(
            Diagnostic(str(data_dir), None, None, "not-a-directory", "data path is a file, not a directory")
        )
    raws: dict[str, _Raw | None] = {}
    fatal: list[Diagnostic] = []
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        raws[name], errors = _read(data_dir, name)
        fatal += errors
    if fatal:
        raise InputError(fatal)

    tables: dict[str, Table] = {}
    problems: list[Diagnostic] = []
    rejected_reps = None
    kept_reps = None
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        raw = raws[name]
        if raw is None:
            tables[name] = Table(name, empty_frame(name))
            continue
        rules = _row_rules(name, raw.frame)
        frame = raw.frame
        if name != "reps":
            frame = frame.join(rejected_reps, on="rep_id", how="left", maintain_order="left")
            rules += reference_rules(kept_reps)
        kept, rejected, diags = apply_rules(frame, rules, file_name(name))
        if name == "reps":
            kept_reps = kept["rep_id"]
            rejected_reps = rejected_rep_lines(rejected, kept_reps)
        tables[name] = Table(
            name,
            _typed(name, kept.select(*COLUMNS[name], "line")),
            path=raw.path,
            sha256=raw.sha256,
            rows_read=raw.frame.height,
            rows_rejected=rejected.height,
        )
        problems += diags
    return Inputs(tables["reps"], tables["sales"], tables["feedback"], tables["contacts"], problems)


def _read(data_dir: Path, name: str) -> tuple[_Raw | None, list[Diagnostic]]:
    fname = file_name(name)
    path = data_dir / fname
    required = name in REQUIRED_FILES

    def fail(code: str, message: str, line: int | None = None, column: str | None = None):
        return None, [Diagnostic(fname, line, column, code, message)]

    if not path.exists():
        if required:
            return fail("missing-file", f"required file is missing from {data_dir}")
        return None, []
    if path.is_dir():
        return fail("is-a-directory", f"{path} is a directory, not a CSV file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return fail("unreadable", f"cannot read {path}: {exc.strerror or exc}")
    sha256 = hashlib.sha256(data).hexdigest()
    body = data[len(BOM) :] if data.startswith(BOM) else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = " (it looks like UTF-16)" if body[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        line = body.count(b"\n", 0, exc.start) + 1
        return fail("not-utf8", f"is not UTF-8 text{hint}: byte 0x{body[exc.start]:02x} on line {line}; "
                    "export it as UTF-8 CSV")
    if not text.strip():
        return fail("empty-file", "file is empty: expected a header row")

    records, balanced = _records(text)
    try:
        cells = pl.read_csv(
            body,
            has_header=False,
            infer_schema=False,
            empty_string_is_null=False,
            truncate_ragged_lines=True,
        )
    except pl.exceptions.PolarsError:
        cells = None
    if cells is None or not balanced or cells.height != records.height:
        odd = records.filter(pl.col("quotes") % 2 == 1)["line"].head(1).to_list()
        return fail("bad-csv", 'quote characters (") are unbalanced or inside an unquoted field, '
                    "so rows cannot be split reliably", line=odd[0] if odd else None)

    header = [str(h).strip(" \t") for h in cells.row(0)]
    errors = []
    seen = set()
    for h in header:
        if h and h in seen:
            message = f"column '{h}' appears more than once in the header"
            errors.append(Diagnostic(fname, 1, h, "duplicate-column", message))
        seen.add(h)
    for column in COLUMNS[name]:
        if column not in seen:
            errors.append(Diagnostic(fname, 1, column, "missing-column", f"required column '{column}' is missing"))
    if errors:
        return None, errors

    position = {h: i for i, h in reversed(list(enumerate(header)))}
    frame = (
        pl.concat([cells.slice(1), records.slice(1)], how="horizontal")
        .filter(~pl.col("blank"))
        .select(
            *(pl.col(cells.columns[position[c]]).str.strip_chars(" \t").alias(c) for c in COLUMNS[name]),
            pl.col("line"),
            pl.when(pl.col("fields") != len(header))
            .then(pl.format("has {} fields but the header has " + str(len(header)), pl.col("fields")))
            .alias("_ragged"),
        )
    )
    if frame.height == 0 and required:
        return fail("no-rows", "has a header but no data rows")
    return _Raw(name, str(path), sha256, frame), []


def _records(text: str) -> tuple[pl.DataFrame, bool]:
    """One row per CSV record: physical start `line`, field count, blank flag.

    Vectorised: split into physical lines, count quotes per line; a line starts
    a record when the quotes before it are balanced (RFC 4180: doubled quotes
    inside a quoted field keep the balance). Fields are counted after removing
    the quoted parts of the record.
    """
    lines = pl.Series("text", [text]).str.split("\n").explode()
    if text.endswith("\n"):
        lines = lines.head(lines.len() - 1)
    lines = (
        lines.to_frame()
        .with_row_index("line", offset=1)
        .with_columns(pl.col("line").cast(pl.Int64), quotes=pl.col("text").str.count_matches('"', literal=True))
        .with_columns(start=(pl.col("quotes").cum_sum() - pl.col("quotes")) % 2 == 0)
    )
    records = lines
    if not lines["start"].all():  # some quoted field spans lines: glue them back into records
        records = (
            lines.group_by(pl.col("start").cum_sum().alias("record"), maintain_order=True)
            .agg(pl.col("line").first(), pl.col("text").str.join("\n"), pl.col("quotes").sum())
        )
    text_col = pl.col("text")
    unquoted = pl.when(pl.col("quotes") > 0).then(text_col.str.replace_all(r'"[^"]*"', "")).otherwise(text_col)
    records = records.select(
        "line",
        "quotes",
        fields=unquoted.str.count_matches(",", literal=True) + 1,
        blank=pl.col("text").str.strip_chars("\r") == "",
    )
    balanced = records["quotes"].sum() % 2 == 0
    return records, balanced


# --------------------------------------------------------------------------- rules


def _row_rules(name: str, frame: pl.DataFrame) -> list[Rule]:
    """Every single-row and within-file rule of `name`, as message expressions."""
    shaped = pl.col("_ragged").is_null()
    rules: list[Rule] = [(None, "wrong-field-count", pl.col("_ragged"))]

    def rule(column: str, code: str, bad: pl.Expr, message: pl.Expr | str) -> None:
        msg = pl.lit(message) if isinstance(message, str) else message
        rules.append((column, code, pl.when(shaped & bad).then(msg)))

    def quoted(column: str) -> pl.Expr:
        return pl.format("'{}'", pl.col(column))

    for column, kind in COLUMNS[name].items():
        v = pl.col(column)
        empty = v == ""
        present = ~empty
        if kind not in _OPTIONAL_KINDS:
            rule(column, "missing-value", empty, f"{column} is empty")
        if kind == "id":
            rule(column, "bad-id", present & v.str.contains(_CONTROL_RE),
                 f"{column} contains a control character (tab, line break, NUL...)")
        elif kind in ("date", "optional_date"):
            rule(column, "bad-date", present & _parse_date(v).is_null(),
                 pl.format("{} {} is not a real date written YYYY-MM-DD", pl.lit(column), quoted(column)))
        elif kind == "decimal":
            decimals = v.str.extract(r"\.([0-9]+)$").str.len_chars().fill_null(0)
            digits = v.str.extract(r"^([0-9]+)").str.len_chars()
            rule(column, "bad-decimal", present & ~v.str.contains(_DECIMAL_RE),
                 pl.format("{} {} is not a plain decimal number like 1234.56", pl.lit(column), quoted(column)))
            rule(column, "bad-decimal", present & v.str.contains(_DECIMAL_RE) & (decimals > MAX_DECIMALS),
                 pl.format("{} {} has more than {} decimals", pl.lit(column), quoted(column), pl.lit(MAX_DECIMALS)))
            rule(column, "bad-decimal", present & v.str.contains(_DECIMAL_RE) & (digits > MAX_INTEGER_DIGITS),
                 pl.format("{} {} has more than {} digits before the point", pl.lit(column), quoted(column),
                           pl.lit(MAX_INTEGER_DIGITS)))
            if column == "amount":
                rule(column, "out-of-range", v.str.contains(r"^0+(\.0+)?$"),
                     pl.format("amount {} must be greater than 0", quoted(column)))
        elif kind == "enum":
            allowed = ENUMS[column]
            rule(column, "bad-enum", present & ~v.is_in(allowed),
                 pl.format("{} {} must be one of: " + ", ".join(allowed), pl.lit(column), quoted(column)))
        elif kind == "bool":
            rule(column, "bad-bool", present & ~v.is_in(["true", "false"]),
                 pl.format("{} {} must be true or false", pl.lit(column), quoted(column)))
        elif kind == "int":
            score = v.str.strip_prefix("+").cast(pl.Int64, strict=False)
            rule(column, "bad-integer", present & (~v.str.contains(r"^[+-]?[0-9]+$") | score.is_null()),
                 pl.format("{} {} is not a whole number", pl.lit(column), quoted(column)))
            for survey, (low, high) in SCORE_RANGE.items():
                rule(column, "out-of-range", (pl.col("survey") == survey) & ((score < low) | (score > high)),
                     pl.format("{} score {} is outside {}..{}", pl.lit(survey), quoted(column), low, high))

    ordered = {"reps": ("start_date", "end_date", "end-before-start"),
               "sales": ("sold_on", "cancelled_on", "cancelled-before-sold")}
    if name in ordered:
        first, later, code = ordered[name]
        rule(later, code, _parse_date(pl.col(later)) < _parse_date(pl.col(first)),
             pl.format("{} {} is before {} {}", pl.lit(later), pl.col(later), pl.lit(first), pl.col(first)))

    key_name = ID_KEYS[name]
    key = pl.when(shaped & (pl.col(key_name) != "")).then(pl.col(key_name))
    rule(key_name, "duplicate-id", key.is_not_null() & ~key.is_first_distinct(),
         pl.format("duplicate {} {} (first on line {})", pl.lit(key_name), quoted(key_name),
                   pl.col("line").first().over(key)))
    return rules


def _parse_date(v: pl.Expr) -> pl.Expr:
    """The date, or null unless `v` is YYYY-MM-DD naming a real day in years 1..9999."""
    parsed = pl.when(v.str.contains(_DATE_RE)).then(v.str.to_date("%Y-%m-%d", strict=False))
    return pl.when(parsed.dt.year() >= 1).then(parsed)


def reference_rules(kept_reps: pl.Series) -> list[Rule]:
    """rep_id must name a kept rep; needs `_rep_line` joined from `rejected_rep_lines`."""
    rep = pl.col("rep_id")
    usable = pl.col("_ragged").is_null() & (rep != "") & ~rep.str.contains(_CONTROL_RE)
    rejected = pl.col("_rep_line").is_not_null()
    return [
        ("rep_id", "rep-rejected", pl.when(usable & rejected).then(
            pl.format("rep '{}' was rejected (reps.csv line {})", rep, pl.col("_rep_line")))),
        ("rep_id", "unknown-rep", pl.when(usable & ~rejected & ~rep.is_in(kept_reps.implode())).then(
            pl.format("rep '{}' is not in reps.csv", rep))),
    ]


def rejected_rep_lines(rejected: pl.DataFrame, kept_reps: pl.Series) -> pl.DataFrame:
    """(rep_id, _rep_line): reps whose every row was rejected, with their first line."""
    return (
        rejected.filter((pl.col("rep_id") != "") & ~pl.col("rep_id").is_in(kept_reps.implode()))
        .group_by("rep_id")
        .agg(_rep_line=pl.col("line").min())
    )


def apply_rules(
    frame: pl.DataFrame, rules: list[Rule], file: str
) -> tuple[pl.DataFrame, pl.DataFrame, list[Diagnostic]]:
    """Evaluate `rules` on `frame` in one query: (kept rows, rejected rows, diagnostics).

    Diagnostics come sorted by line, then by column (in frame order), then rule order.
    """
    names = [f"_rule{i}" for i in range(len(rules))]
    flagged = frame.with_columns(
        *(expr.cast(pl.String).alias(n) for n, (_, _, expr) in zip(names, rules, strict=True))
    ).with_columns(_bad=pl.any_horizontal(pl.col(n).is_not_null() for n in names))
    rule_table = pl.DataFrame(
        {
            "rule": names,
            "order": [(_position(frame, c), i) for i, (c, _, _) in enumerate(rules)],
            "column": [c for c, _, _ in rules],
            "code": [code for _, code, _ in rules],
        },
        schema={"rule": pl.String, "order": pl.List(pl.Int64), "column": pl.String, "code": pl.String},
    )
    found = (
        flagged.filter("_bad")
        .select("line", *names)
        .unpivot(index="line", variable_name="rule", value_name="message")
        .drop_nulls("message")
        .join(rule_table, on="rule")
        .sort("line", "order")
    )
    diagnostics = [
        Diagnostic(file, line, column, code, message)
        for line, column, code, message in found.select("line", "column", "code", "message").rows()
    ]
    drop = [*names, "_bad"]
    kept = flagged.filter(~pl.col("_bad")).drop(drop)
    rejected = flagged.filter("_bad").drop(drop)
    return kept, rejected, diagnostics


def _position(frame: pl.DataFrame, column: str | None) -> int:
    return frame.columns.index(column) if column in frame.columns else -1


def _typed(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Cast validated strings to the types of `comp_calc.data.model`."""
    exprs = []
    for column, kind in COLUMNS[name].items():
        v = pl.col(column)
        if kind in ("date", "optional_date"):
            exprs.append(pl.when(v != "").then(v.str.to_date("%Y-%m-%d")).alias(column))
        elif kind == "decimal":
            scale = frame.select(v.str.extract(r"\.([0-9]+)$").str.len_chars().max()).item() or 0
            exprs.append(v.str.to_decimal(scale=scale).cast(pl.Decimal(38, scale)).alias(column))
        elif kind == "int":
            exprs.append(v.str.strip_prefix("+").cast(pl.Int64))
        elif kind == "bool":
            exprs.append((v == "true").alias(column))
        else:
            exprs.append(v)
    return frame.select(*exprs, pl.col("line").cast(pl.Int64))
