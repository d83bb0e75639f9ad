"""Inputs read block by block, for runs larger than memory (`run --streaming`).

`load_inputs_streaming(data_dir, scratch)` checks the same rules and reports the
same problems as `load.load_inputs`, but never holds a whole sales, feedback or
contacts file in memory: a CSV file is cut into blocks of about BLOCK_BYTES at
line ends, never inside a quoted field (a cut is made only where the quote
characters before it are balanced), and each block, with the header line in
front, is read and checked by the code that reads a whole file
(`csv_text.parse_csv`, `load.validate_rows`), with the file's line numbers. Its
valid rows are written, typed, to Parquet parts in `scratch`, one per block and
month of the row's date (`model.ROW_DATE`), so that a period reads only its own
months. reps.csv and campaigns.csv are small and read whole; a Parquet input is one block.

What one block cannot see is checked over the whole file afterwards:
- a repeated id: as in a whole-file read, the first occurrence in the file
  (valid or not) is kept and every later one is `duplicate-id`, naming the first
  line. When every block's ids increase and each block starts above the
  previous one's last id (exports are often in id order), no id can repeat and
  nothing is read again;
- a required file without data rows;
- the decimal scale of an amount column, the largest of the blocks' (each part
  keeps its own; `Table.scan` reads them all at that scale).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from comp_calc.data.contract import ID_KEYS
from comp_calc.data.csv_text import BOM, Block, parse_csv
from comp_calc.data.files import Raw, check_dir, file_name, find_file, not_a_file, unreadable
from comp_calc.data.load import read_input, rep_refs, validate_rows, whole_table
from comp_calc.data.mapping import InputMap, load_mapping, relabel
from comp_calc.data.model import COLUMNS, OPTIONAL_FILES, REQUIRED_FILES, ROW_DATE, Inputs, Table, empty_frame
from comp_calc.data.parquet import read_parquet
from comp_calc.data.rules import typed_rows
from comp_calc.errors import Diagnostic, InputError
from comp_calc.periods import per_day

BLOCK_BYTES = 256 << 20  # CSV bytes per block: about 3.5 million sales rows


def load_inputs_streaming(
    data_dir: str | Path, scratch: str | Path, block_bytes: int | None = None, map_file: str | Path | None = None
) -> Inputs:
    """Like `load.load_inputs`, with the sales, feedback and contacts rows in Parquet parts under `scratch`."""
    data_dir, scratch = check_dir(data_dir), Path(scratch)
    mapping, fatal = load_mapping(data_dir, map_file)
    reps_raw = None
    if "reps" not in mapping.broken:
        reps_raw, errors = read_input(data_dir, "reps", mapping.get("reps"))
        fatal += errors
    tables, problems, refs = {}, [], None
    if reps_raw is not None:
        kept, rejected, problems = validate_rows(reps_raw, None, None, "")
        refs = rep_refs(reps_raw, kept, rejected)
        tables["reps"] = whole_table(reps_raw, kept, rejected)
    # every file-level problem of every file is reported at once, as by a whole-file read: once
    # one is found, the later files are only read for theirs
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        if name == "reps" or name in mapping.broken:
            continue
        if name not in ROW_DATE:  # not dated (campaigns.csv, fx_rates.csv): small, read whole like reps.csv
            tables[name], errors, found = _whole(data_dir, name, mapping.get(name))
            fatal += errors
            problems += found
            continue
        path, errors = find_file(data_dir, name, mapping.get(name))
        fatal += errors
        if path is None:
            tables[name] = Table(name, empty_frame(name))
            continue
        try:
            tables[name], diags = _load_parts(
                name, path, scratch, block_bytes or BLOCK_BYTES, None if fatal else refs, mapping.get(name)
            )
        except InputError as e:
            fatal += e.diagnostics
            continue
        problems += diags
    if fatal:
        raise InputError(fatal)
    return Inputs(tables["reps"], tables["sales"], tables["feedback"], tables["contacts"], problems, tables["campaigns"], tables["fx_rates"])


def _whole(data_dir: Path, name: str, mapping: InputMap | None = None) -> tuple[Table, list[Diagnostic], list[Diagnostic]]:
    """(table, file-level problems, row problems) of an undated input read in one piece
    (`mapping`: a CRM export read through it)."""
    raw, errors = read_input(data_dir, name, mapping)
    if raw is None:
        return Table(name, empty_frame(name)), errors, []
    kept, rejected, found = validate_rows(raw, None, None, "")  # in the export's terms (raw.mapping)
    return whole_table(raw, kept, rejected), errors, found


def _load_parts(
    name: str, path: Path, scratch: Path, block_bytes: int, refs, mapping: InputMap | None = None
) -> tuple[Table, list[Diagnostic]]:
    """The file's table and row problems; with `refs` None, only its file-level problems are sought;
    `mapping`: the file is a CRM export read through it."""
    key = ID_KEYS[name]
    day = pl.col(ROW_DATE[name])
    parts: list[tuple] = []
    diags: list[Diagnostic] = []
    rejected_ids = []  # (id, line) of the rejected rows that hold an id: they still count as first occurrences
    read = rejected = 0
    in_order, last_id = True, None
    schema = None
    hasher = hashlib.sha256()
    for number, raw in enumerate(_raws(name, path, block_bytes, hasher, mapping)):
        read += raw.frame.height
        if refs is None:
            continue
        ids = raw.frame[key]
        if in_order and ids.len():
            in_order = (last_id is None or ids[0] > last_id) and bool(
                raw.frame.select((pl.col(key) > pl.col(key).shift(1)).fill_null(True).all()).item()
            )
            last_id = ids[-1]
        kept, bad, found = validate_rows(raw, *refs)
        rejected += bad.height
        diags += found
        shaped = pl.col("_ragged").is_null() if "_ragged" in bad.columns else pl.lit(True)
        rejected_ids.append(bad.filter(shaped & (pl.col(key) != "")).select(key, "line"))
        typed = typed_rows(name, kept)
        schema = _widest(schema, typed.schema)
        for month, rows in _by_month(typed, day):
            target = scratch / f"{name}-{number:05d}-{month:%Y-%m}.parquet"
            rows.write_parquet(target, compression="lz4", statistics=False)
            parts.append((month, str(target)))
    fname = file_name(name, path)
    if read == 0 and name in REQUIRED_FILES:
        detail = "has no data rows" if path.suffix == ".parquet" else "has a header but no data rows"
        raise InputError(Diagnostic(fname, None, None, "no-rows", detail))
    parts.sort()
    if not in_order:
        found, repeated = _repeated_ids(key, fname, parts, pl.concat(rejected_ids))
        if found and mapping is not None:
            found = relabel(found, {fname: mapping.labels})
        if found:
            diags = [d for d in diags if d.code != "duplicate-id"] + found
            diags.sort(key=lambda d: (d.line, _column_order(name, d.column, mapping)))
            rejected += _drop_lines(parts, repeated)
    table = Table(
        name,
        empty_frame(name).cast(dict(schema)) if schema else empty_frame(name),
        path=str(path),
        sha256=hasher.hexdigest(),
        rows_read=read,
        rows_rejected=rejected,
        parts=tuple(parts),
        columns=mapping.labels if mapping else {},
    )
    return table, diags


def _by_month(frame: pl.DataFrame, day: pl.Expr) -> Iterator[tuple]:
    """(first day of the month, the rows dated in it) for each month of `day` in `frame`.
    Exports are mostly in date order: then each month is a slice, not a copy."""
    months = frame.select(per_day(day, lambda d: d.dt.truncate("1mo"))).to_series()
    runs = months.rle()
    if runs.len() == months.n_unique():  # one run per month: the rows are grouped by month
        start = 0
        for length, month in runs.struct.unnest().select("len", "value").rows():
            yield month, frame.slice(start, length)
            start += length
        return
    groups = frame.with_columns(_month=months).partition_by("_month", as_dict=True, include_key=False)
    for (month,), rows in sorted(groups.items()):
        yield month, rows


def _raws(name: str, path: Path, block_bytes: int, hasher, mapping: InputMap | None = None) -> Iterator[Raw]:
    """The file as one `Raw` per block, hashing every byte into `hasher`."""
    if path.suffix.lower() == ".parquet":
        yield from _parquet_blocks(name, path, block_bytes, hasher, mapping)
        return
    if problem := not_a_file(path):
        raise InputError(problem)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(unreadable(path, exc)) from None
    with handle, ThreadPoolExecutor(1) as pool:
        header = _header(handle)
        hasher.update(header)
        header_lines = header.count(b"\n")
        line = header_lines + 1  # the file's line of the block's first record
        failed: list[Diagnostic] = []
        for block in _blocks(handle, block_bytes):
            hashing = pool.submit(hasher.update, block)  # alongside the parse
            if not failed or _rank(failed) > 0:
                raw, errors = parse_csv(header + block, path, name, Block(header_lines, line - header_lines - 1), mapping)
                if raw is None and (not failed or _rank(errors) < _rank(failed)):
                    failed = errors
                elif raw is not None and not failed:
                    yield raw
            hashing.result()
            line += block.count(b"\n")
        if failed:
            raise InputError(failed)


def _parquet_blocks(name: str, path: Path, block_bytes: int, hasher, mapping: InputMap | None = None) -> Iterator[Raw]:
    """A Parquet file as `Raw` blocks of about `block_bytes` of text each (a guess of
    PARQUET_ROW_BYTES a row); the first block's read checks the file and its columns."""
    step = max(1, block_bytes // PARQUET_ROW_BYTES)
    offset, total = 0, None
    while total is None or offset < total:
        raw, errors = read_parquet(path, name, rows=(offset, step), mapping=mapping)
        if raw is None:
            raise InputError(errors)
        if total is None:
            total = pl.scan_parquet(path).select(pl.len()).collect().item()
        offset += step
        yield raw
    with path.open("rb") as handle:
        while piece := handle.read(1 << 24):
            hasher.update(piece)


PARQUET_ROW_BYTES = 64

# A whole-file read finds a file's problems in this order, and reports the first kind found
# anywhere in the file: a later block's problem may take the place of an earlier block's.
_PRECEDENCE = ("not-utf8", "bad-csv")


def _rank(errors: list[Diagnostic]) -> int:
    return min((_PRECEDENCE.index(d.code) for d in errors if d.code in _PRECEDENCE), default=len(_PRECEDENCE))


def _header(handle) -> bytes:
    """The file's lines up to the header record: blank lines first are not records, and a
    quoted header name may span lines."""
    header = b""
    while line := handle.readline():
        header += line
        content = header[len(BOM):] if header.startswith(BOM) else header
        if content.strip(b"\r\n") and content.count(b'"') % 2 == 0:
            break
    return header


def _blocks(handle, size: int) -> Iterator[bytes]:
    """The rest of the file in pieces of about `size` bytes that end at a record's end; at least one."""
    pending = b""
    yielded = False
    while chunk := handle.read(size):
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        # a cut with an odd number of quotes before it would split a quoted field: read on
        if cut and pending.count(b'"', 0, cut) % 2 == 0:
            yield pending[:cut]
            yielded = True
            pending = pending[cut:]
    if pending or not yielded:
        yield pending


def _widest(schema: pl.Schema | None, other: pl.Schema) -> pl.Schema:
    """`other`, with each Decimal at the larger scale of the two schemas."""
    if schema is None:
        return other
    return pl.Schema(
        {
            name: pl.Decimal(38, max(dtype.scale, schema[name].scale)) if isinstance(dtype, pl.Decimal) else dtype
            for name, dtype in other.items()
        }
    )


def _repeated_ids(key: str, fname: str, parts: list[tuple], rejected_ids: pl.DataFrame) -> tuple[list[Diagnostic], pl.Series]:
    """Every row whose id appeared on an earlier line of the file: its diagnostics and lines."""
    kept = pl.concat([pl.scan_parquet(p).select(key, "line") for _, p in parts]) if parts else rejected_ids.clear().lazy()
    rows = pl.concat([kept, rejected_ids.lazy()])
    firsts = rows.group_by(key).agg(first=pl.col("line").min(), n=pl.len()).filter(pl.col("n") > 1).drop("n")
    later = rows.join(firsts, on=key).filter(pl.col("line") != pl.col("first")).sort("line").collect()
    diags = [
        Diagnostic(fname, line, key, "duplicate-id", f"duplicate {key} '{value}' (first on line {first})")
        for value, line, first in later.select(key, "line", "first").rows()
    ]
    return diags, later["line"]


def _drop_lines(parts: list[tuple], lines: pl.Series) -> int:
    """Remove the rows of `lines` from the parts; how many were there."""
    dropped = 0
    for _, path in parts:
        frame = pl.read_parquet(path)
        gone = frame["line"].is_in(lines.implode())
        if gone.any():
            dropped += int(gone.sum())
            frame.filter(~gone).write_parquet(path, compression="lz4", statistics=False)
    return dropped


def _column_order(name: str, column: str | None, mapping: InputMap | None = None) -> int:
    columns = [mapping.their(c) for c in COLUMNS[name]] if mapping else list(COLUMNS[name])
    return columns.index(column) if column in columns else -1

