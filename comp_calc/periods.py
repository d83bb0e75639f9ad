"""Pay periods: months (`2026-10`) and quarters (`2026-Q4`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

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

    def next(self) -> Period:
        return period_containing(self.end + timedelta(days=1), self.kind)

    def __str__(self) -> str:
        return self.label


def period_containing(day: date, kind: str) -> Period:
    months = 1 if kind == MONTH else 3
    first_month = day.month if kind == MONTH else 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end_month = first_month + months
    end = (date(day.year + 1, 1, 1) if end_month > 12 else date(day.year, end_month, 1)) - timedelta(days=1)
    return Period(start, end, kind)


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
    p = first
    while p.start <= last.start:
        out.append(p)
        p = p.next()
    return out


def is_period_start(day: date, kind: str) -> bool:
    return period_containing(day, kind).start == day
