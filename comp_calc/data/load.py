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
too large for memory are read block by block with the same functions
(`csv_text.parse_csv`, `validate_rows`) by `comp_calc.data.stream`, with the
same results.

This module reads the data directory; the work is done by its neighbours:
`files` finds the input files and reads their bytes, `csv_text` and `parquet`
turn a file into untyped trimmed cells (a `files.Raw`), `rules` holds the row
rules, applies them and types the rows that pass, and `contract` the limits
and keywords of SPEC section 1 (the columns are in `model`). The codes and
readings below are what they check, together.

File-level codes (raised in `InputError`):
  missing-dir        the data directory does not exist
  not-a-directory    the data directory is a file
  missing-file       reps or sales is absent (neither .csv nor .parquet)
  ambiguous-file     both sales.csv and sales.parquet (say) exist
  is-a-directory     a data file path is a directory
  unreadable         the data directory or a file cannot be read (permissions, I/O)
  not-utf8           the bytes are not UTF-8 text (binary file, UTF-16, Latin-1...)
  empty-file         no header row at all (any file); a Parquet file of 0 bytes
  no-rows            reps or sales has a header but no data rows
  bad-csv            quoting is broken so records cannot be split reliably
  bad-parquet        a .parquet file that is not valid Parquet
  bad-column-type    a Parquet column that cannot be read as text
                     (list, struct, array, binary, object)
  missing-column     a required column is absent (one diagnostic per column)
  duplicate-column   a column name appears twice in the header
  wrong-delimiter    the header has no comma but `;` or tabs between names of
                     expected columns (a European spreadsheet export): one
                     problem at line 1 naming the delimiter, instead of every
                     column reported missing

Row codes (in `Inputs.problems`):
  wrong-field-count  the record has more or fewer fields than the header
                     (its cells are not checked further: they are shifted)
  missing-value      a required cell is empty
  bad-id             an id containing a control character (NUL, tab, newline...)
  bad-date           not `YYYY-MM-DD`, or not a calendar date
  bad-decimal        not digits with an optional `.` and 1..6 decimals
                     (no sign, no exponent, no thousands separator), or more
                     than 15 digits before the point
  out-of-range       amount or fx rate not > 0; score outside nps 0..10 / csat 1..5
  bad-integer        score is not a whole number
  bad-enum           survey not `nps`|`csat`; channel not `voice`|`email`|`sms`|`visit`
  bad-bool           connected not `true`|`false`
  end-before-start   reps end_date < start_date
  cancelled-before-sold  sales cancelled_on < sold_on
  ends-before-starts  campaigns ends_on < starts_on
  bad-currency       a currency code (sales currency, fx_rates currency and to)
                     that is not 3 upper-case letters
  bad-month          fx_rates month not `YYYY-MM` naming a real month
  same-currency      fx_rates to equals currency
  duplicate-key      fx_rates repeats a (currency, to, month) (the first is kept)
  duplicate-id       a later row repeats an id (the first occurrence is kept)
  unknown-rep        rep_id not in reps.csv
  rep-rejected       rep_id names a rep whose reps.csv row was rejected

CRM exports read through a column mapping (`--map`, `mapping.yaml`) have codes of
their own, listed in `comp_calc.data.mapping`; the problems above name the
export's file, physical line and column.

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
- Diagnostics name a file as the user can open it: the data directory as given
  on the command line joined with the file name (`exports/2026-10/sales.csv`,
  absolute when the directory was given absolutely; `files.file_name`), in the
  terminal, `validate --format json` and exceptions.csv. Messages that mention
  another file keep its bare name (`rep 'E2' was rejected (reps.csv line 3)`),
  and so does the manifest's `inputs.*.file`, beside its sha256. The directory
  codes (`missing-dir`, `not-a-directory`, `unreadable`) are those of the plans
  directory.

Parquet inputs (`reps.parquet`, `sales.parquet`, `feedback.parquet`, `campaigns.parquet`,
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
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from comp_calc.data.csv_text import parse_csv
from comp_calc.data.files import Raw, check_dir, file_name, find_file, read_bytes
from comp_calc.data.managers import manager_rules
from comp_calc.data.mapping import InputMap, load_mapping, mapped_rules, relabel
from comp_calc.data.model import COLUMNS, OPTIONAL_FILES, REQUIRED_FILES, Inputs, Table, empty_frame
from comp_calc.data.parquet import read_parquet
from comp_calc.data.rules import (
    apply_rules, ids_in_order, parsed_columns, reference_rules, rejected_rep_lines, row_rules, typed_rows,
)
from comp_calc.errors import Diagnostic, InputError


def load_inputs(data_dir: str | Path, map_file: str | Path | None = None) -> Inputs:
    """Read and validate reps, sales and the optional feedback, contacts, campaigns, fx_rates (.csv or
    .parquet), the CRM exports of a column mapping (`map_file`, else the folder's mapping.yaml) included."""
    data_dir = check_dir(data_dir)
    mapping, fatal = load_mapping(data_dir, map_file)
    raws: dict[str, Raw | None] = {}
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        if name in mapping.broken:
            continue
        raws[name], errors = read_input(data_dir, name, mapping.get(name))
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
    return Inputs(tables["reps"], tables["sales"], tables["feedback"], tables["contacts"], problems, tables["campaigns"], tables["fx_rates"])


def validate_rows(
    raw: Raw, kept_reps: pl.Series | None, rejected_reps: pl.DataFrame | None, reps_file: str
) -> tuple[pl.DataFrame, pl.DataFrame, list[Diagnostic]]:
    """(kept rows, rejected rows, diagnostics) of `raw` under every row rule of its file; the
    rows of a file other than reps must name a rep of `kept_reps` (`reference_rules`)."""
    parsed = raw.frame.lazy().with_columns(parsed_columns(raw.name))
    if (order := ids_in_order(raw.name)) is None:
        frame, in_order = parsed.collect(), None
    else:  # both queries at once
        frame, facts = pl.collect_all([parsed, raw.frame.lazy().select(order)])
        in_order = facts.item()
    rules = row_rules(raw.name, frame, raw.width, raw.controls, in_order)
    if raw.name == "reps":
        frame, more = manager_rules(frame)
        rules += more
    if "rep_id" in COLUMNS[raw.name] and raw.name != "reps":
        rules += reference_rules(kept_reps, rejected_reps, reps_file, ragged="_ragged" in frame.columns)
    if raw.mapping is None:
        return apply_rules(frame, rules, raw.file)
    kept, rejected, diags = apply_rules(frame, mapped_rules(frame, raw.mapping, raw.name, rules), raw.file)
    return kept, rejected, relabel(diags, {raw.file: raw.mapping.labels})


def rep_refs(raw: Raw, kept: pl.DataFrame, rejected: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame, str]:
    """What `validate_rows` needs of the checked reps file for the other files' rep references
    (messages name the reps file by its bare name: `rep 'E2' was rejected (reps.csv line 3)`)."""
    kept_reps = kept["rep_id"]
    return kept_reps, rejected_rep_lines(rejected, kept_reps), Path(raw.path).name


def whole_table(raw: Raw, kept: pl.DataFrame, rejected: pl.DataFrame) -> Table:
    """The table of a file read in one piece, from its checked rows."""
    return Table(
        raw.name,
        typed_rows(raw.name, kept),
        path=raw.path,
        sha256=raw.sha256,
        rows_read=raw.frame.height,
        rows_rejected=rejected.height,
        columns=raw.mapping.labels if raw.mapping else {},
    )


def read_input(data_dir: Path, name: str, mapping: InputMap | None = None) -> tuple[Raw | None, list[Diagnostic]]:
    path, errors = find_file(data_dir, name, mapping)
    if path is None:
        return None, errors
    if path.suffix.lower() == ".parquet":
        return read_parquet(path, name, mapping=mapping)
    return _read_csv(path, name, mapping)


def _read_csv(path: Path, name: str, mapping: InputMap | None = None) -> tuple[Raw | None, list[Diagnostic]]:
    data, errors = read_bytes(path, path.name)
    if data is None:
        return None, errors
    return parse_csv(data, path, name, mapping=mapping)
