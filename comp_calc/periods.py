"""Pay periods: months (`2026-10`) and quarters (`2026-Q4`)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

MONTH = "month"
QUARTER = "quarter"

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_RE = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    kind: str

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return f"{self.start.year:04d}-{self.start.month:02d}"
        return f"{self.start.year:04d}-Q{(self.start.month - 1) // 3 + 1}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def next(self) -> Period | None:
        """The period after this one, or None after 9999-12-31."""
        return None if self.end == date.max else period_containing(self.end + timedelta(days=1), self.kind)

    def __str__(self) -> str:
        return self.label


def period_containing(day: date, kind: str) -> Period:
    first_month = day.month if kind == MONTH else 3 * ((day.month - 1) // 3) + 1
    last_month = first_month if kind == MONTH else first_month + 2
    start = date(day.year, first_month, 1)
    end = date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
    return Period(start, end, kind)


def previous(p: Period) -> Period | None:
    """The period before `p`, or None before year 1."""
    return None if p.start == date.min else period_containing(p.start - timedelta(days=1), p.kind)


def parse_period(text: str) -> Period:
    """`2026-10` -> the month; `2026-Q4` -> the quarter. ValueError otherwise."""
    text = text.strip()
    if m := _MONTH_RE.match(text):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and year >= 1:
            return period_containing(date(year, month, 1), MONTH)
    elif m := _QUARTER_RE.match(text):
        year, quarter = int(m.group(1)), int(m.group(2))
        if year >= 1:
            return period_containing(date(year, 3 * quarter - 2, 1), QUARTER)
    raise ValueError(f"'{text}' is not a period: use YYYY-MM for a month or YYYY-QN for a quarter")


def periods_between(first: Period, last: Period) -> list[Period]:
    """Every period from `first` to `last`, both included, in order."""
    out = []
    p: Period | None = first
    while p is not None and p.start <= last.start:
        out.append(p)
        p = p.next()
    return out


def is_period_start(day: date, kind: str) -> bool:
    return period_containing(day, kind).start == day


def per_day(day: pl.Expr, of: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """`of(day)` for a date column `day` (one value per date; null stays null), computed once for
    each day from its earliest to its latest and looked up by the day: over millions of rows a
    date's month, period or text costs far more than a lookup among the few thousand days they
    span. Over the whole column: not for a window or an aggregation (the span would be a group's)."""
    none = pl.lit(0).cast(pl.Date)  # no day at all: a span of one, never read
    first = day.min().fill_null(none)
    return of(pl.date_range(first, day.max().fill_null(none))).gather(day.to_physical() - first.to_physical())
