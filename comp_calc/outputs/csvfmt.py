"""Turn result frames into CSV text, the way SPEC section 4 writes numbers (`numbers`).

Everything here is a polars expression over whole columns; no cell is touched
from Python. The rules:

- money columns: exactly two decimals (`1234.56`, `-750.00`), never `-0.00`;
- exact columns (credited amounts, rates, multipliers): plain decimal notation,
  trailing zeros dropped but at least two decimals (`0.004`, `1.10`, `1.00`);
- integers as integers; other Decimal columns at their own scale (attainment
  is shown with its 6 decimals);
- null (and the empty string) is an empty cell;
- a text cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`
  so that no spreadsheet evaluates it. Numbers are never changed that way.

The CSV itself is UTF-8 without BOM, `\\n` line endings, one header row, and
standard quoting (a field with a comma, quote, CR or LF is quoted, quotes are
doubled).
"""

from __future__ import annotations

import io
from typing import BinaryIO

import polars as pl

from comp_calc.outputs.numbers import fixed_text, trim_zeros

__all__ = [
    "FORMULA_START",
    "format_frame",
    "money_expr",
    "exact_expr",
    "text_expr",
    "neutralised",
    "neutralised_value",
    "cell",
    "to_csv_bytes",
    "write_csv",
]

# Characters that make a spreadsheet treat a cell as a formula (or that some
# spreadsheets strip before doing so).
FORMULA_START = "=+-@\t\r"
_FORMULA_RE = r"^[=+\-@\t\r]"


def _decimal_scale(dtype: pl.DataType) -> int:
    scale = getattr(dtype, "scale", None)
    return int(scale or 0)


def _fixed_text(expr: pl.Expr, dtype: pl.DataType, min_decimals: int) -> pl.Expr:
    """Decimal or integer `expr` as plain text with at least `min_decimals` decimals."""
    if dtype.is_decimal():
        return fixed_text(expr, _decimal_scale(dtype), min_decimals)
    if dtype.is_integer():
        return fixed_text(expr, 0, min_decimals)
    raise TypeError(dtype)  # pragma: no cover - guarded by the callers


def _check_numeric(name: str, dtype: pl.DataType, kind: str) -> None:
    if dtype == pl.Null:
        return
    if dtype.is_decimal() or dtype.is_integer():
        return
    raise TypeError(
        f"column {name!r} is listed as {kind} but has type {dtype}; "
        "money and exact values must be Decimal (or integer) columns"
    )


def money_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """Money in cents: exactly two decimals.

    Money reaches the writer already rounded to cents; a column with more
    decimals than that is a calculation bug, not something to round away here.
    """
    _check_numeric(name, dtype, "money")
    if dtype == pl.Null:
        return pl.col(name).cast(pl.String)
    if dtype.is_decimal() and _decimal_scale(dtype) > 2:
        raise ValueError(
            f"money column {name!r} has scale {_decimal_scale(dtype)}; "
            "amounts must be rounded to cents before they are written"
        )
    return _fixed_text(pl.col(name), dtype, 2)


def exact_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """An exact value: plain notation, trailing zeros dropped, at least 2 decimals."""
    _check_numeric(name, dtype, "exact")
    if dtype == pl.Null:
        return pl.col(name).cast(pl.String)
    return trim_zeros(_fixed_text(pl.col(name), dtype, 2))


def text_expr(name: str) -> pl.Expr:
    """A text cell, neutralised against formula injection."""
    return neutralised(pl.col(name).cast(pl.String))


def neutralised(text: pl.Expr) -> pl.Expr:
    """String `text` with a leading `'` where it starts like a formula (see the module docstring)."""
    return pl.when(text.str.contains(_FORMULA_RE)).then(pl.lit("'") + text).otherwise(text)


def neutralised_value(text: str | None) -> str | None:
    """`cell(neutralised(...))` of one value: a column that is the same on every row is formatted once."""
    return pl.select(cell(neutralised(pl.lit(text, dtype=pl.String)))).item()


def cell(text: pl.Expr) -> pl.Expr:
    """A String column as written: the empty string is an empty cell (null), as null is."""
    return pl.when(text == pl.lit("")).then(pl.lit(None, dtype=pl.String)).otherwise(text)


def _other_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column that is neither money, exact nor text: integers, dates, flags."""
    if dtype.is_decimal():
        # Shown at its own scale, e.g. attainment with its 6 decimals.
        return _fixed_text(pl.col(name), dtype, 0)
    if dtype.is_float():
        raise TypeError(
            f"column {name!r} is floating point; write numbers as Decimal columns"
        )
    if dtype.is_nested() or dtype == pl.Object or dtype == pl.Binary:
        raise TypeError(f"column {name!r} has type {dtype}, which has no CSV form")
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        return text_expr(name)
    return pl.col(name).cast(pl.String)


def format_frame(df: pl.DataFrame, money: set[str], exact: set[str]) -> pl.DataFrame:
    """Every column of `df` as text, ready to be written as CSV.

    `money` and `exact` name the columns with those number formats; String
    columns are text (formula-neutralised); other numeric columns keep their
    natural form (integers as integers, Decimals at their own scale).
    Nulls and empty strings both become null, which the CSV writer leaves as
    an empty, unquoted cell.
    """
    unknown = (money | exact) - set(df.columns)
    if unknown:
        raise KeyError(f"no such columns: {sorted(unknown)}")
    both = money & exact
    if both:
        raise ValueError(f"columns both money and exact: {sorted(both)}")

    exprs: list[pl.Expr] = []
    for name, dtype in df.schema.items():
        if name in money:
            expr = money_expr(name, dtype)
        elif name in exact:
            expr = exact_expr(name, dtype)
        elif dtype == pl.String:
            expr = text_expr(name)
        else:
            expr = _other_expr(name, dtype)
        exprs.append(cell(expr.cast(pl.String)).alias(name))
    return df.lazy().select(exprs).collect()  # lazy: the columns are formatted in parallel


def to_csv_bytes(formatted: pl.DataFrame, header: bool = True) -> bytes:
    """CSV bytes of an all-text frame: UTF-8, no BOM, `\\n`, header (unless not `header`: a
    later piece of a file written in pieces), standard quoting."""
    out = io.BytesIO()  # straight to bytes: no intermediate str of the whole file
    write_csv(formatted, out, header)
    return out.getvalue()


def write_csv(formatted: pl.DataFrame, out: BinaryIO, header: bool = True) -> None:
    """`to_csv_bytes`, written into the binary file object `out` in chunks as they are made."""
    not_text = [n for n, t in formatted.schema.items() if t != pl.String]
    if not_text:
        raise TypeError(f"format the frame first; non-text columns: {not_text}")
    if formatted.width == 0:
        return
    formatted.write_csv(
        out,
        include_bom=False,
        include_header=header,
        separator=",",
        line_terminator="\n",
        quote_char='"',
        null_value="",
        quote_style="necessary",
    )
