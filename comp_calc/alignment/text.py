"""Numbers as text in the alignment report (reasons, findings, JSON).

- money_text: an amount rounded half-even to cents (`12.30`), `-0.00` shown as `0.00`;
- trim: an exact value with trailing zeros dropped, at least 2 decimals (`1.10`, `0.8125`);
- pct: a 4-decimal ratio times 100 (so exactly 2 decimals) with `%` (`39.85%`);
- na_text: any value as text, null as `n/a`;
- decimal_text: a Decimal with all its decimals, `-0` (any number of zero decimals) shown unsigned.

The flags' `value` and `threshold`, and a few numbers inside reasons, are plain
`cast(pl.String)` of ratios already held at their display scale.
"""

from __future__ import annotations

import polars as pl

from comp_calc.alignment.exact import RATIO
from comp_calc.steps.exact import dec, round_to


def money_text(expr: pl.Expr) -> pl.Expr:
    """Cents as text, `-0.00` shown as `0.00`."""
    return round_to(expr, 2, "half_even").cast(pl.String).str.replace(r"^-(0\.00)$", "${1}")


def trim(expr: pl.Expr) -> pl.Expr:
    """An exact value as text with trailing zeros dropped but at least 2 decimals (`1.10`, `0.8125`)."""
    return expr.cast(pl.String).str.replace(r"^(-?[0-9]+\.[0-9]{2}[0-9]*?)0*$", "${1}")


def na_text(expr: pl.Expr) -> pl.Expr:
    """Any value as text, null as `n/a`."""
    return expr.cast(pl.String).fill_null("n/a")


def pct(ratio: pl.Expr) -> pl.Expr:
    """A 4-decimal ratio as text like `39.85%`."""
    return (ratio * pl.lit(100, dtype=RATIO)).cast(dec(2)).cast(pl.String) + pl.lit("%")


def decimal_text(expr: pl.Expr) -> pl.Expr:
    """A Decimal as text with all its decimals, `-0` (any number of zero decimals) shown unsigned."""
    return expr.cast(pl.String).str.replace(r"^-(0(?:\.0*)?)$", "${1}")
