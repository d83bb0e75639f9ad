"""Numbers as text in the alignment report (reasons, findings, JSON), through `comp_calc.outputs.numbers`.

- money_text: an amount rounded half-even to cents (`12.30`);
- trim: an exact value with trailing zeros dropped, at least 2 decimals (`1.10`, `0.8125`);
- pct: a 4-decimal ratio times 100 (so exactly 2 decimals) with `%` (`39.85%`);
- na_text: any value as text, null as `n/a`;
- decimal_text: a Decimal with all its decimals.

The flags' `value` and `threshold`, and a few numbers inside reasons, are plain
`cast(pl.String)` of ratios already held at their display scale.
"""

from __future__ import annotations

import polars as pl

from comp_calc.alignment.exact import RATIO
from comp_calc.outputs import numbers

money_text = numbers.rounded_money_text


def trim(expr: pl.Expr) -> pl.Expr:
    """An exact value as text with trailing zeros dropped but at least 2 decimals (`1.10`, `0.8125`)."""
    return numbers.trim_zeros(expr.cast(pl.String))


def na_text(expr: pl.Expr) -> pl.Expr:
    """Any value as text, null as `n/a`."""
    return expr.cast(pl.String).fill_null("n/a")


def pct(ratio: pl.Expr) -> pl.Expr:
    """A 4-decimal ratio as text like `39.85%`."""
    return numbers.percent_text(ratio, 2, RATIO)


def decimal_text(expr: pl.Expr) -> pl.Expr:
    """A Decimal as text with all its decimals."""
    return expr.cast(pl.String)
