"""Read the data directory's input files and validate every row (SPEC section 1).

`load_inputs(data_dir)` returns `Inputs` whose frames hold only the rows that
passed every rule, typed as `comp_calc.data.model` describes. Row problems do
not raise: each one becomes a `Diagnostic` in `Inputs.problems` (file name,
1-based physical line where the record starts, column, code, message) and its
row is left out of the frames. Whether a problem fails the run is the
caller's decision (`--skip-invalid`). Only problems that make a whole file
unusable raise `InputError`, carrying every such problem found in the
directory at once.

Each input may be a CSV file (`sales.csv`) or a Parquet file (`sales.parquet`),
with the same columns and the same rules; see "Parquet inputs" below.

File-level codes (raised in `InputError`):
  missing-dir        the data directory does not exist
  not-a-directory    the data directory is a file
  missing-file       reps or sales is absent (neither .csv nor .parquet)
  ambiguous-file     both sales.csv and sales.parquet (say) exist
  is-a-directory     a data file path is a directory
  unreadable         the file cannot be read (permissions, I/O)
  not-utf8           the bytes are not UTF-8 text (binary file, UTF-16, Latin-1...)
  empty-file         no header row at all (any file); a Parquet file of 0 bytes
  no-rows            reps or sales has a header but no data rows
  bad-csv            quoting is broken so records cannot be split reliably
  bad-parquet        a .parquet file that is not valid Parquet
  bad-column-type    a Parquet column that cannot be read as text
                     (list, struct, array, binary, object)
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

Parquet inputs (`reps.parquet`, `sales.parquet`, `feedback.parquet`,
`contacts.parquet`):
- Every required column is cast to text (a Parquet `Date` becomes
  `2026-03-01`, a `Decimal` keeps its scale, `1.50`; a boolean `true`; a null
  cell is an empty cell) and then the CSV rules above apply unchanged, so a
  file is accepted or rejected the same way whichever format it comes in. A
  float amount is accepted only where its text is a plain decimal
  (`2000.0`; `1e+20` is `bad-decimal`); a `Datetime` is not a date.
- There is no header line, so `line` is the row number, 1-based: the first
  row is line 1. File-level problems (missing or duplicate column, column
  type) have no line.
- Having both `sales.csv` and `sales.parquet` is `ambiguous-file`, not a
  silent choice.

How the check stays fast (same results, less work on valid data):
- Rules are boolean expressions evaluated over all rows; a message is built
  only for the rows that break a rule (normally none), see `apply_rules`.
- Physical line numbers need the quote-counting split only when the file
  holds a quote character; without one every physical line is a record, so a
  second single-column read of the lines gives each record's line, field count
  and blankness directly. The trim of surrounding spaces is skipped when the
  file has no space or tab byte at all.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import polars as pl

from comp_calc.data.model import COLUMNS, OPTIONAL_FILES, REQUIRED_FILES, Inputs, Table
from comp_calc.errors import Diagnostic, InputError

BOM = b"\xef\xbb\xbf"
MAX_DECIMALS = 6
MAX_INTEGER_DIGITS = 15
ENUMS = {"survey": ("nps", "csat"), "channel": ("voice", "email", "sms", "visit")}
SCORE_RANGE = {"nps": (0, 10), "csat": (1, 5)}
ID_KEYS = {"reps": "rep_id", "sales": "sale_id", "feedback": "response_id", "contacts": "contact_id"}
FORMATS = (".csv", ".parquet")

_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DECIMAL_RE = r"^[0-9]+(\.[0-9]+)?$"
_CONTROL_RE = r"[\x00-\x1f\x7f]"
_OPTIONAL_KINDS = ("text", "optional_date")
# what `str.strip()` treats as whitespace among ASCII characters
_NOT_ASCII_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c\x1c-\x1f]")


class Rule(NamedTuple):
    """One row rule.

    `bad` is a boolean expression, true on the rows that break the rule (null
    counts as false). `message` is the reason; it is evaluated only on those
    rows, so it may be as costly as it likes. `whole` marks a message that
    needs every row of the frame (a window such as `.over(...)`) rather than
    only the broken rows.
    """

    column: str | None
    code: str
    bad: pl.Expr
    message: pl.Expr
    whole: bool = False


def file_name(name: str, path: str | Path | None = None) -> str:
    """The bare file name used in diagnostics: `sales.csv`, or the name of `path`."""
    return Path(path).name if path else f"{name}.csv"


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
    # required columns as String, `line` (Int64), `_ragged` (Int64: the record's
    # field count when it differs from the header's, else null)
    frame: pl.DataFrame
    width: int = 0  # number of fields in the header (CSV)

    @property
    def file(self) -> str:
        return file_name(self.name, self.path)


def load_inputs(data_dir: str | Path) -> Inputs:
    """Read and validate reps, sales and the optional feedback, contacts (.csv or .parquet)."""
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
    reps_file = file_name("reps")
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        raw = raws[name]
        if raw is None:
            tables[name] = Table(name, empty_frame(name))
            continue
        frame = raw.frame.with_columns(_parsed(name))
        rules = _row_rules(name, raw.width)
        if name != "reps":
            rules += reference_rules(kept_reps, rejected_reps, reps_file)
        kept, rejected, diags = apply_rules(frame, rules, raw.file)
        if name == "reps":
            kept_reps = kept["rep_id"]
            rejected_reps = rejected_rep_lines(rejected, kept_reps)
            reps_file = raw.file
        tables[name] = Table(
            name,
            _typed(name, kept),
            path=raw.path,
            sha256=raw.sha256,
            rows_read=raw.frame.height,
            rows_rejected=rejected.height,
        )
        problems += diags
    return Inputs(tables["reps"], tables["sales"], tables["feedback"], tables["contacts"], problems)


def _read(data_dir: Path, name: str) -> tuple[_Raw | None, list[Diagnostic]]:
    present = [data_dir / f"{name}{suffix}" for suffix in FORMATS if (data_dir / f"{name}{suffix}").exists()]
    if len(present) > 1:
        names = " and ".join(p.name for p in present)
        return None, [Diagnostic(file_name(name), None, None, "ambiguous-file",
                                 f"both {names} exist; keep only one of them")]
    if not present:
        if name in REQUIRED_FILES:
            return None, [Diagnostic(file_name(name), None, None, "missing-file",
                                     f"required file is missing from {data_dir}")]
        return None, []
    path = present[0]
    if path.suffix == ".parquet":
        return _read_parquet(path, name)
    return _read_csv(path, name)


def _read_bytes(path: Path, fname: str) -> tuple[bytes | None, list[Diagnostic]]:
    if path.is_dir():
        kind = "a Parquet" if path.suffix == ".parquet" else "a CSV"
        return None, [Diagnostic(fname, None, None, "is-a-directory", f"{path} is a directory, not {kind} file")]
    try:
        return path.read_bytes(), []
    except OSError as exc:
        return None, [Diagnostic(fname, None, None, "unreadable", f"cannot read {path}: {exc.strerror or exc}")]


def _read_csv(path: Path, name: str) -> tuple[_Raw | None, list[Diagnostic]]:
    fname = path.name
    required = name in REQUIRED_FILES

    def fail(code: str, message: str, line: int | None = None, column: str | None = None):
        return None, [Diagnostic(fname, line, column, code, message)]

    data, errors = _read_bytes(path, fname)
    if data is None:
        return None, errors
    sha256 = hashlib.sha256(data).hexdigest()
    body = data[len(BOM) :] if data.startswith(BOM) else data
    del data
    text = None
    if body.isascii():
        empty = _NOT_ASCII_SPACE.search(body) is None
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            hint = " (it looks like UTF-16)" if body[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
            line = body.count(b"\n", 0, exc.start) + 1
            return fail("not-utf8", f"is not UTF-8 text{hint}: byte 0x{body[exc.start]:02x} on line {line}; "
                        "export it as UTF-8 CSV")
        empty = not text.strip()
    if empty:
        return fail("empty-file", "file is empty: expected a header row")

    cells = _cells(body)
    layout = _layout_fast(body, cells)
    trim = True
    if layout is not None:
        trim = b" " in body or b"\t" in body
    else:
        records, balanced = _records(text if text is not None else body.decode("ascii"))
        if cells is None or not balanced or cells.height != records.height:
            odd = records.filter(pl.col("quotes") % 2 == 1)["line"].head(1).to_list()
            return fail("bad-csv", 'quote characters (") are unbalanced or inside an unquoted field, '
                        "so rows cannot be split reliably", line=odd[0] if odd else None)
        layout = records.select("line", "fields", "blank")
    del body, text

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
    width = len(header)

    def cell(column: str) -> pl.Expr:
        v = pl.col(cells.columns[position[column]])
        return (v.str.strip_chars(" \t") if trim else v).alias(column)

    frame = (
        pl.concat([cells.slice(1), layout.slice(1)], how="horizontal")
        .lazy()
        .filter(~pl.col("blank"))
        .select(
            *(cell(c) for c in COLUMNS[name]),
            pl.col("line").cast(pl.Int64),
            _ragged=pl.when(pl.col("fields") != width).then(pl.col("fields").cast(pl.Int64)),
        )
        .collect()
    )
    if frame.height == 0 and required:
        return fail("no-rows", "has a header but no data rows")
    return _Raw(name, str(path), sha256, frame, width), []


def _cells(body: bytes) -> pl.DataFrame | None:
    """Every record's cells as strings (row 0 is the header), or None if polars cannot split them."""
    try:
        return pl.read_csv(
            body,
            has_header=False,
            infer_schema=False,
            empty_string_is_null=False,
            truncate_ragged_lines=True,
        )
    except pl.exceptions.PolarsError:
        return None


def _layout_fast(body: bytes, cells: pl.DataFrame | None) -> pl.DataFrame | None:
    """`line`, `fields`, `blank` of every record when no record can span lines, else None.

    Without a quote character every physical line is one record, so the lines
    read as one column (NUL as separator: the file must not hold one) give
    each record's physical line, its field count (commas + 1) and whether it
    is blank, exactly as `_records` would. Anything unexpected (row counts
    that differ from the physical line count) returns None: the caller then
    takes the quote-counting path, which decides.
    """
    if cells is None or b'"' in body or b"\x00" in body:
        return None
    physical = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    if cells.height != physical:
        return None
    try:
        lines = pl.read_csv(body, has_header=False, schema={"text": pl.String}, separator="\x00", quote_char=None)
    except pl.exceptions.PolarsError:
        return None
    if lines.height != physical:
        return None
    text = pl.col("text")
    return lines.select(
        line=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        fields=text.str.count_matches(",", literal=True).fill_null(0) + 1,
        blank=text.is_null() | (text.str.strip_chars("\r") == ""),
    )


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


def _read_parquet(path: Path, name: str) -> tuple[_Raw | None, list[Diagnostic]]:
    """A Parquet file as the same untyped, trimmed strings as a CSV (line = row number, 1-based)."""
    fname = path.name

    def fail(code: str, message: str, column: str | None = None):
        return None, [Diagnostic(fname, None, column, code, message)]

    data, errors = _read_bytes(path, fname)
    if data is None:
        return None, errors
    if not data:
        return fail("empty-file", "file is empty: expected Parquet data")
    sha256 = hashlib.sha256(data).hexdigest()
    del data
    try:
        table = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError, pl.exceptions.PanicException) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return fail("bad-parquet", f"is not a readable Parquet file: {reason}")

    errors = []
    names: dict[str, str] = {}
    for original in table.columns:
        h = original.strip(" \t")
        if h and h in names:
            errors.append(Diagnostic(fname, None, h, "duplicate-column", f"column '{h}' appears more than once"))
        names.setdefault(h, original)
    for column in COLUMNS[name]:
        if column not in names:
            errors.append(Diagnostic(fname, None, column, "missing-column", f"required column '{column}' is missing"))
            continue
        dtype = table.schema[names[column]]
        if dtype.is_nested() or dtype in (pl.Binary, pl.Object):
            errors.append(Diagnostic(fname, None, column, "bad-column-type",
                                     f"column '{column}' has type {dtype}, which cannot be read as text"))
    if errors:
        return None, errors
    if table.height == 0 and name in REQUIRED_FILES:
        return fail("no-rows", "has no data rows")
    frame = table.select(
        *(pl.col(names[c]).cast(pl.String).fill_null("").str.strip_chars(" \t").alias(c) for c in COLUMNS[name]),
        line=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        _ragged=pl.lit(None, pl.Int64),
    )
    return _Raw(name, str(path), sha256, frame, len(table.columns)), []


# --------------------------------------------------------------------------- rules


def _date_column(column: str) -> str:
    return f"_date_{column}"


def _parsed(name: str) -> list[pl.Expr]:
    """Columns parsed once, used by the rules and then by `_typed`: dates, the score."""
    exprs = []
    for column, kind in COLUMNS[name].items():
        if kind in ("date", "optional_date"):
            exprs.append(_parse_date(pl.col(column)).alias(_date_column(column)))
        elif kind == "int":
            exprs.append(pl.col(column).str.strip_prefix("+").cast(pl.Int64, strict=False).alias(f"_int_{column}"))
    return exprs


def _row_rules(name: str, width: int) -> list[Rule]:
    """Every single-row and within-file rule of `name` (needs the `_parsed` columns)."""
    shaped = pl.col("_ragged").is_null()
    rules: list[Rule] = [
        Rule(None, "wrong-field-count", ~shaped,
             pl.format("has {} fields but the header has " + str(width), pl.col("_ragged")))
    ]

    def rule(column: str, code: str, bad: pl.Expr, message: pl.Expr | str, whole: bool = False) -> None:
        msg = pl.lit(message) if isinstance(message, str) else message
        rules.append(Rule(column, code, shaped & bad, msg, whole))

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
            rule(column, "bad-date", present & pl.col(_date_column(column)).is_null(),
                 pl.format("{} {} is not a real date written YYYY-MM-DD", pl.lit(column), quoted(column)))
        elif kind == "decimal":
            plain = v.str.contains(_DECIMAL_RE)
            point = v.str.find(".", literal=True)
            # both only meaningful where `plain` holds (digits, at most one point)
            decimals = (v.str.len_bytes().cast(pl.Int64) - point - 1).fill_null(0)
            digits = point.fill_null(v.str.len_bytes()).cast(pl.Int64)
            rule(column, "bad-decimal", present & ~plain,
                 pl.format("{} {} is not a plain decimal number like 1234.56", pl.lit(column), quoted(column)))
            rule(column, "bad-decimal", present & plain & (decimals > MAX_DECIMALS),
                 pl.format("{} {} has more than {} decimals", pl.lit(column), quoted(column), pl.lit(MAX_DECIMALS)))
            rule(column, "bad-decimal", present & plain & (digits > MAX_INTEGER_DIGITS),
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
            score = pl.col(f"_int_{column}")
            rule(column, "bad-integer", present & (~v.str.contains(r"^[+-]?[0-9]+$") | score.is_null()),
                 pl.format("{} {} is not a whole number", pl.lit(column), quoted(column)))
            for survey, (low, high) in SCORE_RANGE.items():
                rule(column, "out-of-range", (pl.col("survey") == survey) & ((score < low) | (score > high)),
                     pl.format("{} score {} is outside {}..{}", pl.lit(survey), quoted(column), low, high))

    ordered = {"reps": ("start_date", "end_date", "end-before-start"),
               "sales": ("sold_on", "cancelled_on", "cancelled-before-sold")}
    if name in ordered:
        first, later, code = ordered[name]
        rule(later, code, pl.col(_date_column(later)) < pl.col(_date_column(first)),
             pl.format("{} {} is before {} {}", pl.lit(later), pl.col(later), pl.lit(first), pl.col(first)))

    key_name = ID_KEYS[name]
    key = pl.when(shaped & (pl.col(key_name) != "")).then(pl.col(key_name))
    rule(key_name, "duplicate-id", key.is_not_null() & ~key.is_first_distinct(),
         pl.format("duplicate {} {} (first on line {})", pl.lit(key_name), quoted(key_name),
                   pl.col("line").first().over(key)), whole=True)
    return rules


def _parse_date(v: pl.Expr) -> pl.Expr:
    """The date, or null unless `v` is YYYY-MM-DD naming a real day in years 1..9999."""
    parsed = pl.when(v.str.contains(_DATE_RE)).then(v.str.to_date("%Y-%m-%d", strict=False))
    return pl.when(parsed.dt.year() >= 1).then(parsed)


def reference_rules(
    kept_reps: pl.Series, rejected: pl.DataFrame | None = None, reps_file: str = "reps.csv"
) -> list[Rule]:
    """rep_id must name a kept rep; `rejected` is `rejected_rep_lines(...)` (rep_id, _rep_line)."""
    rep = pl.col("rep_id")
    usable = pl.col("_ragged").is_null() & (rep != "") & ~rep.str.contains(_CONTROL_RE)
    if rejected is None or rejected.height == 0:
        is_rejected = pl.lit(False)
        rep_line = pl.lit(None, pl.Int64)
    else:
        is_rejected = rep.is_in(rejected["rep_id"].implode())
        rep_line = rep.replace_strict(rejected["rep_id"], rejected["_rep_line"], default=None, return_dtype=pl.Int64)
    return [
        Rule("rep_id", "rep-rejected", usable & is_rejected,
             pl.format("rep '{}' was rejected ({} line {})", rep, pl.lit(reps_file), rep_line)),
        Rule("rep_id", "unknown-rep", usable & ~is_rejected & ~rep.is_in(kept_reps.implode()),
             pl.format("rep '{}' is not in {}", rep, pl.lit(reps_file))),
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
    """Evaluate `rules` on `frame`: (kept rows, rejected rows, diagnostics).

    Every rule is first evaluated as a boolean column in one query; messages
    are then built only for the flagged rows, so valid data costs no text.
    Diagnostics come sorted by line, then by column (in frame order), then rule order.
    """
    names = [f"_rule{i}" for i in range(len(rules))]
    flagged = (
        frame.lazy()
        .with_columns(*(rule.bad.fill_null(False).alias(n) for n, rule in zip(names, rules, strict=True)))
        .with_columns(_bad=pl.any_horizontal(names) if names else pl.lit(False))
        .collect()
    )
    mask = flagged["_bad"]
    if not mask.any():
        return frame, frame.clear(), []

    bad = flagged.filter(mask)
    messages = []
    for n, rule in zip(names, rules, strict=True):
        if not bad[n].any():
            continue
        text = pl.when(pl.col(n)).then(rule.message.cast(pl.String).fill_null(rule.code)).alias(n)
        if rule.whole:
            messages.append(flagged.select(text).to_series().filter(mask))
        else:
            messages.append(bad.select(text).to_series())
    rule_table = pl.DataFrame(
        {
            "rule": names,
            "order": [(_position(frame, rule.column), i) for i, rule in enumerate(rules)],
            "column": [rule.column for rule in rules],
            "code": [rule.code for rule in rules],
        },
        schema={"rule": pl.String, "order": pl.List(pl.Int64), "column": pl.String, "code": pl.String},
    )
    found = (
        bad.select("line")
        .with_columns(messages)
        .unpivot(index="line", variable_name="rule", value_name="message")
        .drop_nulls("message")
        .join(rule_table, on="rule")
        .sort("line", "order")
    )
    diagnostics = [
        Diagnostic(file, line, column, code, message)
        for line, column, code, message in found.select("line", "column", "code", "message").rows()
    ]
    kept = flagged.filter(~mask).select(frame.columns)
    rejected = bad.select(frame.columns)
    return kept, rejected, diagnostics


def _position(frame: pl.DataFrame, column: str | None) -> int:
    return frame.columns.index(column) if column in frame.columns else -1


def _typed(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Cast validated strings (and the `_parsed` columns) to the types of `comp_calc.data.model`."""
    exprs = []
    for column, kind in COLUMNS[name].items():
        v = pl.col(column)
        if kind in ("date", "optional_date"):
            exprs.append(pl.col(_date_column(column)).alias(column))
        elif kind == "decimal":
            point = v.str.find(".", literal=True)
            decimals = v.str.len_bytes().cast(pl.Int64) - point - 1
            scale = frame.select(decimals.max()).item() or 0
            exprs.append(v.str.to_decimal(scale=scale).cast(pl.Decimal(38, scale)).alias(column))
        elif kind == "int":
            exprs.append(pl.col(f"_int_{column}").alias(column))
        elif kind == "bool":
            exprs.append((v == "true").alias(column))
        else:
            exprs.append(v)
    return frame.select(*exprs, pl.col("line").cast(pl.Int64))
