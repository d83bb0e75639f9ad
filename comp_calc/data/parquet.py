"""Read a Parquet input as the same untyped, trimmed strings as a CSV file, so
that the same row rules apply (see "Parquet inputs" in `comp_calc.data.load`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from comp_calc.data.files import Raw, file_name, not_a_file, read_bytes
from comp_calc.data.mapping import InputMap, normalize
from comp_calc.data.model import COLUMNS, OPTIONAL_COLUMNS, REQUIRED_FILES
from comp_calc.errors import Diagnostic


def read_parquet(
    path: Path, name: str, rows: tuple[int, int] | None = None, mapping: InputMap | None = None
) -> tuple[Raw | None, list[Diagnostic]]:
    """A Parquet file as the same untyped, trimmed strings as a CSV (line = row number, 1-based).

    `rows=(offset, count)`: only those rows, as a block of a file read in parts (no sha256,
    no `no-rows`: see `parse_csv`); `mapping`: a CRM export (see `parse_csv`).
    """
    fname = file_name(name, path)

    def fail(code: str, message: str, column: str | None = None):
        return None, [Diagnostic(fname, None, column, code, message)]

    if rows is None:
        data, errors = read_bytes(path, fname)
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
    their = mapping.their if mapping else str
    optional = OPTIONAL_COLUMNS.get(name, ())
    for column in COLUMNS[name]:
        if their(column) not in names:
            if mapping and column in mapping.columns:
                errors.append(mapping.missing(column, path.name, list(names)))
                continue
            if column in optional:  # left out: empty cells
                continue
            errors.append(Diagnostic(fname, None, column, "missing-column", f"required column '{column}' is missing"))
            continue
        dtype = schema[names[their(column)]]
        if dtype.is_nested() or dtype in (pl.Binary, pl.Object):
            errors.append(Diagnostic(fname, None, their(column), "bad-column-type",
                                     f"column '{their(column)}' has type {dtype}, which cannot be read as text"))
    if errors:
        return None, errors
    columns = list(dict.fromkeys(names[their(c)] for c in COLUMNS[name] if their(c) in names))
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
            pl.col(names[their(c)]).cast(pl.String).fill_null("").str.strip_chars(" \t").alias(c) if their(c) in names
            else pl.lit("", dtype=pl.String).alias(c)
            for c in COLUMNS[name]
        )
        .rechunk()
        .with_columns(line=pl.int_range(offset + 1, offset + pl.len() + 1, dtype=pl.Int64))
    )
    return Raw(name, str(path), sha256, normalize(frame, mapping, name), len(schema), mapping=mapping), []


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
