"""Read CSV text: the bytes of an input file as a `Raw` whose rows carry their
physical line numbers (SPEC section 1; the readings are listed in
`comp_calc.data.load`).

How it stays fast (same results, less work on valid data): physical line
numbers need the quote-counting split only when the file holds a quote
character; without one every physical line is a record, so a second
single-column read of the lines gives each record's line, field count and
blankness directly. The trim of surrounding spaces is skipped when the file
has no space or tab byte at all.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import NamedTuple

import polars as pl

from comp_calc.data.files import Raw, file_name
from comp_calc.data.mapping import InputMap, normalize
from comp_calc.data.model import COLUMNS, OPTIONAL_COLUMNS, REQUIRED_FILES
from comp_calc.errors import Diagnostic

BOM = b"\xef\xbb\xbf"
# control characters but line feed and carriage return, as bytes (UTF-8 never uses them in a sequence)
_CONTROL_BYTES = bytes([*range(0x00, 0x0A), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
# every byte but those `_count_bytes` counts: control bytes, line feed, carriage return, comma
_NOT_COUNTED = bytes(sorted(set(range(256)) - {*_CONTROL_BYTES, 0x0A, 0x0D, 0x2C}))
# what `str.strip()` treats as whitespace among ASCII characters
_NOT_ASCII_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c\x1c-\x1f]")


class Block(NamedTuple):
    """Where a block of a file read in parts sits: `data` is the file's first `header_lines`
    lines (the header record) followed by the block, whose lines are `shift` lines further
    down in the file."""

    header_lines: int
    shift: int


def parse_csv(
    data: bytes, path: Path, name: str, block: Block | None = None, mapping: InputMap | None = None
) -> tuple[Raw | None, list[Diagnostic]]:
    """The CSV text `data` (of the file at `path`) as a `Raw`, or the problems that make it unusable.

    With `block` (see `Block`) the rows and problems get the file's line numbers, a
    block without rows is not an error, and the sha256 is left to the caller (empty).
    With `mapping` the file is a CRM export: each column is found under the export's
    name and its cells are normalized (`comp_calc.data.mapping`).
    """
    fname = file_name(name, path)
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

    if (delimiter := wrong_delimiter(body, name, mapping)) is not None:
        survey.wait()
        return fail("wrong-delimiter", f"the header is separated by {delimiter}, not commas: "
                    "export the file as comma-separated CSV", line=1)

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
    their = mapping.their if mapping else str
    for column in COLUMNS[name]:
        if their(column) not in seen:
            if mapping and column in mapping.columns:
                errors.append(mapping.missing(column, Path(path).name, header))
                continue
            if column in OPTIONAL_COLUMNS.get(name, ()):  # an optional column the file leaves out
                continue
            hint = f" (or map it under {name}: columns: in {mapping.source})" if mapping else ""
            errors.append(Diagnostic(fname, 1, column, "missing-column", f"required column '{column}' is missing{hint}"))
    if errors:
        return None, errors

    position = {h: i for i, h in reversed(list(enumerate(header)))}
    width = len(header)
    source = cells.drop("line").columns

    def cell(column: str) -> pl.Expr:
        if their(column) not in position:  # an optional column the file leaves out: empty cells,
            # made from another column so that they are chunked like the rest (no copy to align them)
            return pl.col(source[0]).str.slice(0, 0).fill_null("").alias(column)
        v = pl.col(source[position[their(column)]])
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
    frame = normalize(frame, mapping, name)
    if len(set(frame.n_chunks("all"))) > 1:
        # columns from different sources: align them once, or every later query would
        frame = frame.rechunk()
    if frame.height == 0 and required:
        return fail("no-rows", "has a header but no data rows")
    return Raw(name, str(path), sha256, frame, width, controls, mapping), []


_DELIMITERS = {b";": "';' (semicolons)", b"\t": "tabs"}


def wrong_delimiter(body: bytes, name: str, mapping: InputMap | None = None) -> str | None:
    """How the header of `body` is separated, when it is not by commas: a first line with no
    comma, holding `;` or a tab, at least two of whose parts (trimmed, quotes removed) are
    columns of `name`. Such a file would otherwise be one column and miss every other."""
    end = body.find(b"\n")
    header = body if end < 0 else body[:end]  # the first line only: not a copy of the whole file
    if b"," in header:
        return None
    found = [d for d in _DELIMITERS if d in header]
    if not found:
        return None
    delimiter = max(found, key=header.count)
    parts = {p.strip(b" \t\r").strip(b'"').strip().decode("utf-8", "replace") for p in header.split(delimiter)}
    expected = {mapping.their(c) if mapping else c for c in COLUMNS[name]}
    return _DELIMITERS[delimiter] if len(parts & expected) >= 2 else None


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
        self.newlines, self.commas, others, returns = _count_bytes(data)
        self.controls = others > 0
        if not self.controls and returns:
            self.controls = returns != data.count(b"\r\n")
        del self._data

    def wait(self) -> _Survey:
        self._thread.join()
        return self


def _count_bytes(data: bytes, chunk: int = 1 << 22) -> tuple[int, int, int, int]:
    """(line feeds, commas, control bytes but line feeds and carriage returns, carriage returns)
    in `data`, in one pass: each piece keeps only those bytes (few), which are then counted."""
    view = memoryview(data)
    newlines = commas = others = returns = 0
    for start in range(0, len(view), chunk):
        kept = view[start : start + chunk].tobytes().translate(None, _NOT_COUNTED)
        lf, comma, cr = kept.count(b"\n"), kept.count(b","), kept.count(b"\r")
        newlines, commas, returns = newlines + lf, commas + comma, returns + cr
        others += len(kept) - lf - comma - cr
    return newlines, commas, others, returns


def _cells(body: bytes) -> tuple[pl.DataFrame | None, bool]:
    """Every record's cells as strings (row 0 is the header) after `line`, the 1-based row number,
    and whether no record has more fields than the first.

    None if polars cannot split the records. `line` comes from the reader so
    that it is chunked like the cells (see `parse_csv`).
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
