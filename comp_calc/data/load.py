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
with the same columns and the same rules; see "Parquet inputs" below. Inputs
too large for memory are read block by block with this module's functions
(`parse_csv`, `validate_rows`) by `comp_calc.data.stream`, with the same results.

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
import threading
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
# control characters but line feed and carriage return, as bytes (UTF-8 never uses them in a sequence)
_CONTROL_BYTES = bytes([*range(0x00, 0x0A), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
# what `str.strip()` treats as whitespace among ASCII characters
_NOT_ASCII_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c\x1c-\x1f]")


class Rule(NamedTuple):
    """One row rule.

    `bad` is a boolean expression, true on the rows that break the rule (null
    counts as false); without `pre` it is evaluated on every row, so it may
    look at the whole frame (`is_first_distinct`...). `pre`, when given, is a
    cheaper expression true on every row where `bad` may be true (a screen):
    `bad` is then evaluated only on the rows `pre` lets through, so it must
    look at its own row only. `message` is the reason, evaluated only on the
    rows that break the rule, so it may be as costly as it likes; what it
    needs from other rows (a window such as `.over(...)`) goes in `context`,
    named expressions evaluated on every row of the frame, but only when the
    rule breaks somewhere.
    """

    column: str | None
    code: str
    bad: pl.Expr
    message: pl.Expr
    pre: pl.Expr | None = None
    context: tuple[pl.Expr, ...] = ()


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
class Raw:
    """One file as untyped, trimmed strings, before row rules."""

    name: str
    path: str
    sha256: str
    # required columns as String, `line` (Int64) and, only when some record's
    # field count differs from the header's, `_ragged` (Int64: that count, else null)
    frame: pl.DataFrame
    width: int = 0  # number of fields in the header (CSV)
    controls: bool = True  # false: no cell holds a control character (checked on the bytes)

    @property
    def file(self) -> str:
        return file_name(self.name, self.path)


def load_inputs(data_dir: str | Path) -> Inputs:
    """Read and validate reps, sales and the optional feedback, contacts (.csv or .parquet)."""
    data_dir = check_dir(data_dir)
    raws: dict[str, Raw | None] = {}
    fatal: list[Diagnostic] = []
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        raws[name], errors = read_input(data_dir, name)
        fatal += errors
    if fatal:
        raise InputError(fatal)

    tables: dict[str, Table] = {}
    problems: list[Diagnostic] = []
    refs = (None, None, file_name("reps"))
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        raw = raws.pop(name)  # dropped once typed: its text columns are not needed any more
        if raw is None:
            tables[name] = Table(name, empty_frame(name))
            continue
        kept, rejected, diags = validate_rows(raw, *refs)
        if name == "reps":
            refs = rep_refs(raw, kept, rejected)
        tables[name] = whole_table(raw, kept, rejected)
        problems += diags
    return Inputs(tables["reps"], tables["sales"], tables["feedback"], tables["contacts"], problems)


def check_dir(data_dir: str | Path) -> Path:
    """The data directory, or `InputError` if it is missing or not a directory."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise InputError(Diagnostic(str(data_dir), None, None, "missing-dir", "data directory does not exist"))
    if not data_dir.is_dir():
        raise InputError(
            Diagnostic(str(data_dir), None, None, "not-a-directory", "data path is a file, not a directory")
        )
    return data_dir


def find_file(data_dir: Path, name: str) -> tuple[Path | None, list[Diagnostic]]:
    """The input file of `name` (.csv or .parquet); None when it is absent (an error if required)."""
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
    return present[0], []


def validate_rows(
    raw: Raw, kept_reps: pl.Series | None, rejected_reps: pl.DataFrame | None, reps_file: str
) -> tuple[pl.DataFrame, pl.DataFrame, list[Diagnostic]]:
    """(kept rows, rejected rows, diagnostics) of `raw` under every row rule of its file; the
    rows of a file other than reps must name a rep of `kept_reps` (`reference_rules`)."""
    frame = raw.frame.with_columns(_parsed(raw.name))
    rules = _row_rules(raw.name, frame, raw.width, raw.controls)
    if raw.name != "reps":
        rules += reference_rules(kept_reps, rejected_reps, reps_file, ragged="_ragged" in frame.columns)
    return apply_rules(frame, rules, raw.file)


def rep_refs(raw: Raw, kept: pl.DataFrame, rejected: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame, str]:
    """What `validate_rows` needs of the checked reps file for the other files' rep references."""
    kept_reps = kept["rep_id"]
    return kept_reps, rejected_rep_lines(rejected, kept_reps), raw.file


def whole_table(raw: Raw, kept: pl.DataFrame, rejected: pl.DataFrame) -> Table:
    """The table of a file read in one piece, from its checked rows."""
    return Table(
        raw.name,
        typed_rows(raw.name, kept),
        path=raw.path,
        sha256=raw.sha256,
        rows_read=raw.frame.height,
        rows_rejected=rejected.height,
    )


def read_input(data_dir: Path, name: str) -> tuple[Raw | None, list[Diagnostic]]:
    path, errors = find_file(data_dir, name)
    if path is None:
        return None, errors
    if path.suffix == ".parquet":
        return read_parquet(path, name)
    return _read_csv(path, name)


def not_a_file(path: Path) -> Diagnostic | None:
    """The problem with reading `path` as an input file, if it is a directory."""
    if not path.is_dir():
        return None
    kind = "a Parquet" if path.suffix == ".parquet" else "a CSV"
    return Diagnostic(path.name, None, None, "is-a-directory", f"{path} is a directory, not {kind} file")


def unreadable(path: Path, exc: OSError) -> Diagnostic:
    return Diagnostic(path.name, None, None, "unreadable", f"cannot read {path}: {exc.strerror or exc}")


def _read_bytes(path: Path, fname: str) -> tuple[bytes | None, list[Diagnostic]]:
    if problem := not_a_file(path):
        return None, [problem]
    try:
        return path.read_bytes(), []
    except OSError as exc:
        return None, [unreadable(path, exc)]


def _read_csv(path: Path, name: str) -> tuple[Raw | None, list[Diagnostic]]:
    data, errors = _read_bytes(path, path.name)
    if data is None:
        return None, errors
    return parse_csv(data, path, name)


class Block(NamedTuple):
    """Where a block of a file read in parts sits: `data` is the file's first `header_lines`
    lines (the header record) followed by the block, whose lines are `shift` lines further
    down in the file."""

    header_lines: int
    shift: int


def parse_csv(data: bytes, path: Path, name: str, block: Block | None = None) -> tuple[Raw | None, list[Diagnostic]]:
    """The CSV text `data` (of the file at `path`) as a `Raw`, or the problems that make it unusable.

    With `block` (see `Block`) the rows and problems get the file's line numbers, a
    block without rows is not an error, and the sha256 is left to the caller (empty).
    """
    fname = path.name
    required = name in REQUIRED_FILES and block is None
    header_lines, shift = block or (0, 0)

    def in_file(line: int) -> int:
        return line + shift if line > header_lines else line

    def fail(code: str, message: str, line: int | None = None, column: str | None = None):
        return None, [Diagnostic(fname, line, column, code, message)]

    survey = _Survey(data, digest=block is None)  # on another thread while polars parses the cells
    body = data[len(BOM) :] if data.startswith(BOM) else data
    text = None
    if body.isascii():
        empty = _NOT_ASCII_SPACE.search(body) is None
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            hint = " (it looks like UTF-16)" if body[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
            line = in_file(body.count(b"\n", 0, exc.start) + 1)
            survey.wait()
            return fail("not-utf8", f"is not UTF-8 text{hint}: byte 0x{body[exc.start]:02x} on line {line}; "
                        "export it as UTF-8 CSV")
        empty = not text.strip()
    if empty:
        survey.wait()
        return fail("empty-file", "file is empty: expected a header row")

    cells, none_longer = _cells(body)
    layout = _layout_fast(body, cells, survey, none_longer)
    if layout is not None:
        trim = b" " in body or b"\t" in body
        controls = survey.wait().controls
    else:
        trim = controls = True
        records, balanced = _records(text if text is not None else body.decode("ascii"))
        if cells is None or not balanced or cells.height != records.height:
            odd = records.filter(pl.col("quotes") % 2 == 1)["line"].head(1).to_list()
            survey.wait()
            return fail("bad-csv", 'quote characters (") are unbalanced or inside an unquoted field, '
                        "so rows cannot be split reliably", line=in_file(odd[0]) if odd else None)
        layout = records.select("line", "fields", "blank")
    del data, body, text
    sha256 = survey.wait().sha256

    header = [str(h).strip(" \t") for h in cells.drop("line").row(0)]
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
    source = cells.drop("line").columns

    def cell(column: str) -> pl.Expr:
        v = pl.col(source[position[column]])
        return (v.str.strip_chars(" \t") if trim else v).alias(column)

    rows = cells.slice(1)
    del cells
    extra = []
    if layout.width:  # some record is not a plain `width`-field line: take its layout
        layout = layout.slice(1)
        blank = layout["blank"]
        rows = pl.concat([rows.drop([c for c in layout.columns if c in rows.columns]), layout], how="horizontal")
        if blank.any():
            rows = rows.filter(~pl.col("blank"))
        if (layout["fields"].filter(~blank) != width).any():
            extra.append(pl.when(pl.col("fields") != width).then(pl.col("fields").cast(pl.Int64)).alias("_ragged"))
    del layout
    frame = rows.select(*(cell(c) for c in COLUMNS[name]), pl.col("line").cast(pl.Int64) + shift, *extra)
    if len(set(frame.n_chunks("all"))) > 1:
        # columns from different sources: align them once, or every later query would
        frame = frame.rechunk()
    if frame.height == 0 and required:
        return fail("no-rows", "has a header but no data rows")
    return Raw(name, str(path), sha256, frame, width, controls), []


class _Survey:
    """Facts about a file's bytes, gathered on a worker thread while polars parses the cells.

    `sha256`; `newlines`, the count of line feeds; `commas`, of commas; `controls`, false only when
    no cell can hold a control character: no control byte but line feeds and
    the carriage returns of CRLF line ends (what a cell holds when the file
    has no quote character).
    """

    sha256: str
    newlines: int
    controls: bool

    def __init__(self, data: bytes, digest: bool = True):
        self._data = data
        self._digest = digest
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        data = self._data
        self.sha256 = hashlib.sha256(data).hexdigest() if self._digest else ""  # releases the GIL
        self.newlines = data.count(b"\n")
        self.commas = data.count(b",")
        self.controls = _has_control_bytes(data)
        if not self.controls and b"\r" in data:
            self.controls = data.count(b"\r") != data.count(b"\r\n")
        del self._data

    def wait(self) -> _Survey:
        self._thread.join()
        return self


def _has_control_bytes(data: bytes, chunk: int = 1 << 22) -> bool:
    view = memoryview(data)
    for start in range(0, len(view), chunk):
        part = view[start : start + chunk].tobytes()
        if len(part.translate(None, _CONTROL_BYTES)) != len(part):
            return True
    return False


def _cells(body: bytes) -> tuple[pl.DataFrame | None, bool]:
    """Every record's cells as strings (row 0 is the header) after `line`, the 1-based row number,
    and whether no record has more fields than the first.

    None if polars cannot split the records. `line` comes from the reader so
    that it is chunked like the cells (see `_read_csv`).
    """
    for truncate in (False, True):  # a record with extra fields fails the first read
        try:
            cells = pl.read_csv(
                body,
                has_header=False,
                infer_schema=False,
                empty_string_is_null=False,
                truncate_ragged_lines=truncate,
                row_index_name="line",
                row_index_offset=1,
            )
            return cells, not truncate
        except pl.exceptions.PolarsError:
            continue
    return None, False


def _layout_fast(body: bytes, cells: pl.DataFrame | None, survey: _Survey, none_longer: bool = False) -> pl.DataFrame | None:
    """The layout of the records when no record can span lines, else None.

    Without a quote character every physical line is one record, so record i
    (the header is record 1) starts on line i: the `line` of `_cells`. The
    lines, read as one column (NUL as separator: the file must not hold one),
    give each record's field count (commas + 1) and blankness exactly as
    `_records` would. To spare counting commas on every line, a line is first
    checked by length: when its byte length is the sum of its cells' lengths
    plus width - 1 separators, it has exactly `width` fields (fewer fields
    make it shorter, more fields longer). When every record passes, the
    result has no columns: nothing to add. Otherwise it holds `fields` and
    `blank` for every record. Row counts that differ from the physical line
    count return None: the caller then takes the quote-counting path, which
    decides.

    Quicker still when the reader found no record longer than the header
    (`none_longer`): then every line has at most width - 1 commas, so a file
    holding exactly (width - 1) * lines commas has exactly that many on every
    line: every record has `width` fields and none is blank, and the lines
    need not be read again.
    """
    if cells is None or b'"' in body or b"\x00" in body:
        return None
    columns = [c for c in cells.columns if c != "line"]
    width = len(columns)
    if none_longer and width > 1:
        survey.wait()
        physical = survey.newlines + (0 if body.endswith(b"\n") else 1)
        if cells.height == physical and survey.commas == (width - 1) * physical:
            return pl.DataFrame()
    text = pl.col("text")
    lines = pl.scan_csv(body, has_header=False, schema={"text": pl.String}, separator="\x00", quote_char=None)
    try:
        length = lines.select(text.str.len_bytes().cast(pl.Int64)).collect().to_series()
    except pl.exceptions.PolarsError:
        return None
    physical = survey.wait().newlines + (0 if body.endswith(b"\n") else 1)
    if cells.height != physical or length.len() != physical:
        return None
    expected = cells.select(pl.sum_horizontal(pl.col(c).str.len_bytes().cast(pl.Int64) for c in columns) + (width - 1))
    exact = (length == expected.to_series()).slice(1).fill_null(False).all()
    if exact and width > 1:
        # every record has `width` fields, so at least one comma: none is blank
        return pl.DataFrame()
    return lines.select(
        fields=text.str.count_matches(",", literal=True).fill_null(0).cast(pl.Int64) + 1,
        blank=text.is_null() | (text.str.strip_chars("\r") == ""),
    ).collect()


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


def read_parquet(path: Path, name: str, rows: tuple[int, int] | None = None) -> tuple[Raw | None, list[Diagnostic]]:
    """A Parquet file as the same untyped, trimmed strings as a CSV (line = row number, 1-based).

    `rows=(offset, count)`: only those rows, as a block of a file read in parts (no sha256,
    no `no-rows`: see `parse_csv`).
    """
    fname = path.name

    def fail(code: str, message: str, column: str | None = None):
        return None, [Diagnostic(fname, None, column, code, message)]

    if rows is None:
        data, errors = _read_bytes(path, fname)
        if data is None:
            return None, errors
        sha256 = hashlib.sha256(data).hexdigest()
        del data
    else:
        sha256, problem = "", not_a_file(path)
        if problem:
            return None, [problem]
    if path.stat().st_size == 0:
        return fail("empty-file", "file is empty: expected Parquet data")
    try:
        schema = pl.read_parquet_schema(path)
    except (pl.exceptions.PolarsError, OSError, pl.exceptions.PanicException) as exc:
        return fail("bad-parquet", f"is not a readable Parquet file: {_first_line(exc)}")

    errors = []
    names: dict[str, str] = {}
    for original in schema:
        h = original.strip(" \t")
        if h and h in names:
            errors.append(Diagnostic(fname, None, h, "duplicate-column", f"column '{h}' appears more than once"))
        names.setdefault(h, original)
    for column in COLUMNS[name]:
        if column not in names:
            errors.append(Diagnostic(fname, None, column, "missing-column", f"required column '{column}' is missing"))
            continue
        dtype = schema[names[column]]
        if dtype.is_nested() or dtype in (pl.Binary, pl.Object):
            errors.append(Diagnostic(fname, None, column, "bad-column-type",
                                     f"column '{column}' has type {dtype}, which cannot be read as text"))
    if errors:
        return None, errors
    columns = list(dict.fromkeys(names[c] for c in COLUMNS[name]))
    offset = rows[0] if rows else 0
    try:
        if rows is None:
            table = pl.read_parquet(path, columns=columns)
        else:
            table = pl.scan_parquet(path).select(columns).slice(*rows).collect()
    except (pl.exceptions.PolarsError, OSError, pl.exceptions.PanicException) as exc:
        return fail("bad-parquet", f"is not a readable Parquet file: {_first_line(exc)}")
    if table.height == 0 and name in REQUIRED_FILES and rows is None:
        return fail("no-rows", "has no data rows")
    frame = (
        table.select(
            pl.col(names[c]).cast(pl.String).fill_null("").str.strip_chars(" \t").alias(c) for c in COLUMNS[name]
        )
        .rechunk()
        .with_columns(line=pl.int_range(offset + 1, offset + pl.len() + 1, dtype=pl.Int64))
    )
    return Raw(name, str(path), sha256, frame, len(schema)), []


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- rules


def _date_column(column: str) -> str:
    return f"_date_{column}"


def _parsed(name: str) -> list[pl.Expr]:
    """Columns parsed once, used by the rules and then by `typed_rows`: dates, the score."""
    exprs = []
    for column, kind in COLUMNS[name].items():
        if kind in ("date", "optional_date"):
            exprs.append(_parse_date(pl.col(column)).alias(_date_column(column)))
        elif kind == "int":
            exprs.append(pl.col(column).str.strip_prefix("+").cast(pl.Int64, strict=False).alias(f"_int_{column}"))
    return exprs


def _row_rules(name: str, frame: pl.DataFrame, width: int, controls: bool = True) -> list[Rule]:
    """Every single-row and within-file rule of `name` on `frame` (a `Raw` frame plus `_parsed`).

    `controls=False` says no cell holds a control character (`_Survey`).
    """
    ragged = "_ragged" in frame.columns
    shaped = pl.col("_ragged").is_null() if ragged else pl.lit(True)
    rules: list[Rule] = []
    if ragged:
        rules.append(Rule(None, "wrong-field-count", ~shaped,
                          pl.format("has {} fields but the header has " + str(width), pl.col("_ragged"))))

    def rule(column: str, code: str, bad: pl.Expr, message: pl.Expr | str, pre: pl.Expr | None = None,
             context: tuple[pl.Expr, ...] = ()) -> None:
        msg = pl.lit(message) if isinstance(message, str) else message
        rules.append(Rule(column, code, shaped & bad, msg, pre, context))

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
                 f"{column} contains a control character (tab, line break, NUL...)",
                 pre=None if controls else pl.lit(False))
        elif kind in ("date", "optional_date"):
            rule(column, "bad-date", present & pl.col(_date_column(column)).is_null(),
                 pl.format("{} {} is not a real date written YYYY-MM-DD", pl.lit(column), quoted(column)))
        elif kind == "decimal":
            plain = v.str.contains(_DECIMAL_RE)
            point = v.str.find(".", literal=True)
            # both only meaningful where `plain` holds (digits, at most one point)
            decimals = (v.str.len_bytes().cast(pl.Int64) - point - 1).fill_null(0)
            digits = point.fill_null(v.str.len_bytes()).cast(pl.Int64)
            # every bad-decimal row fails this one pattern
            odd = present & ~v.str.contains(
                rf"^[0-9]{{1,{MAX_INTEGER_DIGITS}}}(\.[0-9]{{1,{MAX_DECIMALS}}})?$"
            )
            rule(column, "bad-decimal", present & ~plain,
                 pl.format("{} {} is not a plain decimal number like 1234.56", pl.lit(column), quoted(column)),
                 pre=odd)
            rule(column, "bad-decimal", present & plain & (decimals > MAX_DECIMALS),
                 pl.format("{} {} has more than {} decimals", pl.lit(column), quoted(column), pl.lit(MAX_DECIMALS)),
                 pre=odd)
            rule(column, "bad-decimal", present & plain & (digits > MAX_INTEGER_DIGITS),
                 pl.format("{} {} has more than {} digits before the point", pl.lit(column), quoted(column),
                           pl.lit(MAX_INTEGER_DIGITS)),
                 pre=odd)
            if column == "amount":
                rule(column, "out-of-range", v.str.contains(r"^0+(\.0+)?$"),
                     pl.format("amount {} must be greater than 0", quoted(column)),
                     pre=v.str.starts_with("0"))
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
    ids = pl.col(key_name)
    key = pl.when(shaped & (ids != "")).then(ids)
    if frame.select((ids > ids.shift(1)).fill_null(True).all()).item():
        repeated = pl.lit(False)  # ids in strictly increasing order (exports often are): all distinct
    elif ragged:
        repeated = key.is_not_null() & ~key.is_first_distinct()
    else:
        # without ragged rows the key is the column itself (empty ids are excluded
        # and cannot hide a later duplicate), which spares building a copy of it
        repeated = (ids != "") & ~ids.is_first_distinct()
    rule(key_name, "duplicate-id", repeated,
         pl.format("duplicate {} {} (first on line {})", pl.lit(key_name), quoted(key_name), pl.col("_first_line")),
         context=(pl.col("line").first().over(key).alias("_first_line"),))
    return rules


def _parse_date(v: pl.Expr) -> pl.Expr:
    """The date, or null unless `v` is YYYY-MM-DD naming a real day in years 1..9999."""
    return pl.when(v.str.contains(_DATE_RE) & ~v.str.starts_with("0000")).then(
        v.str.to_date("%Y-%m-%d", strict=False)
    )


def reference_rules(
    kept_reps: pl.Series, rejected: pl.DataFrame | None = None, reps_file: str = "reps.csv", *, ragged: bool = False
) -> list[Rule]:
    """rep_id must name a kept rep.

    `rejected` is `rejected_rep_lines(...)` (rep_id, _rep_line); `ragged`
    says the frame has a `_ragged` column (rows with a wrong field count are
    not checked).
    """
    rep = pl.col("rep_id")
    usable = (rep != "") & ~rep.str.contains(_CONTROL_RE)
    if ragged:
        usable = pl.col("_ragged").is_null() & usable
    if rejected is None or rejected.height == 0:
        is_rejected = pl.lit(False)
        rep_line = pl.lit(None, pl.Int64)
    else:
        is_rejected = rep.is_in(rejected["rep_id"].implode())
        rep_line = rep.replace_strict(rejected["rep_id"], rejected["_rep_line"], default=None, return_dtype=pl.Int64)
    known = rep.is_in(kept_reps.implode())
    return [
        Rule("rep_id", "rep-rejected", usable & is_rejected,
             pl.format("rep '{}' was rejected ({} line {})", rep, pl.lit(reps_file), rep_line), pre=is_rejected),
        Rule("rep_id", "unknown-rep", usable & ~is_rejected & ~known,
             pl.format("rep '{}' is not in {}", rep, pl.lit(reps_file)), pre=~known),
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

    Valid data costs no text and little work: one query evaluates every rule's
    screen (its `pre`, or `bad` itself) as a boolean over all rows; only the
    rows some screen lets through (normally none) get the exact `bad` of the
    screened rules, and messages are built only for the rows that break a rule.
    Diagnostics come sorted by line, then by column (in frame order), then rule order.
    """
    names = [f"_rule{i}" for i in range(len(rules))]
    screens: list[pl.Expr] = []  # distinct screen expressions, evaluated once each
    screen_of: list[str] = []
    for rule in rules:
        expr = rule.bad if rule.pre is None else rule.pre
        for i, seen in enumerate(screens):
            if seen.meta.eq(expr):
                break
        else:
            i = len(screens)
            screens.append(expr)
        screen_of.append(f"_screen{i}")
    if not screens:
        return frame, frame.clear(), []
    screen_names = [f"_screen{i}" for i in range(len(screens))]
    # only the screens are computed over every row (the frame itself is not copied)
    screened = (
        frame.lazy()
        .select(*(expr.fill_null(False).alias(n) for n, expr in zip(screen_names, screens, strict=True)))
        .with_columns(_bad=pl.any_horizontal(screen_names))
        .collect()
    )
    if not screened["_bad"].any():
        return frame, frame.clear(), []
    flagged = pl.concat([frame, screened], how="horizontal")

    # the exact verdict of every rule, on the screened rows only (few: rechunking them is cheap
    # and keeps every column's chunks aligned for the string functions below)
    suspects = flagged.with_row_index("_row").filter("_bad").rechunk()
    suspects = suspects.with_columns(
        (pl.col(screen) if rule.pre is None else rule.bad.fill_null(False)).alias(n)
        for n, screen, rule in zip(names, screen_of, rules, strict=True)
    ).with_columns(_bad=pl.any_horizontal(names))
    bad = suspects.filter("_bad")
    mask = pl.repeat(False, frame.height, eager=True).scatter(bad["_row"], True).alias("_bad")
    broken = [i for i, n in enumerate(names) if bad[n].any()]
    context = [expr for i in broken for expr in rules[i].context]
    if context:
        bad = bad.with_columns(frame.select(context).filter(mask))
    bad = bad.rechunk()
    messages = [
        bad.select(
            pl.when(pl.col(names[i])).then(rules[i].message.cast(pl.String).fill_null(rules[i].code)).alias(names[i])
        ).to_series()
        for i in broken
    ]
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
    kept = frame.filter(~mask)
    rejected = bad.select(frame.columns)
    return kept, rejected, diagnostics


def _position(frame: pl.DataFrame, column: str | None) -> int:
    return frame.columns.index(column) if column in frame.columns else -1


def typed_rows(name: str, frame: pl.DataFrame) -> pl.DataFrame:
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
            # the text is validated (digits, at most `scale` decimals): the cast is exact
            exprs.append(v.cast(pl.Decimal(38, scale)).alias(column))
        elif kind == "int":
            exprs.append(pl.col(f"_int_{column}").alias(column))
        elif kind == "bool":
            exprs.append((v == "true").alias(column))
        else:
            exprs.append(v)
    return frame.select(*exprs, pl.col("line").cast(pl.Int64))
