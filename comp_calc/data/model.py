"""Validated input tables, as the engine receives them.

Every frame holds only the rows that passed every rule, typed:

- ids and free text: `pl.String` (leading zeros kept)
- dates: `pl.Date` (an empty optional date is null)
- amounts (`sales.amount`, `reps.quota`): `pl.Decimal(38, k)` where k is the
  largest number of decimals written in that column (at least 0); never float
- `feedback.score`: `pl.Int64`; `contacts.connected`: `pl.Boolean`
- currency codes: `pl.String` (`sales.currency` null when empty or absent);
  `fx_rates.month`: `pl.Date`, the month's first day

Each frame also has a `line` column (`pl.Int64`): the 1-based line of the row
in its file (the header is line 1), so later stages can point back at it.

A table read for a streaming run (`comp_calc.data.stream`) keeps its rows on
disk instead, as typed Parquet parts, one or more per month of its date
column; its `frame` is then empty but has the table's schema. `Table.scan`
reads either kind lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from comp_calc.errors import Diagnostic

COLUMNS: dict[str, dict[str, str]] = {
    # file -> column -> kind: id | text | decimal | date | optional_date | int | enum | bool
    # (the limits and keywords each kind is held to: `comp_calc.data.contract`)
    "reps": {
        "rep_id": "id",
        "name": "text",
        "team": "text",
        "plan": "id",
        "quota": "decimal",
        "start_date": "date",
        "end_date": "optional_date",
        "manager_id": "optional_id",
    },
    "sales": {
        "sale_id": "id",
        "rep_id": "id",
        "customer_id": "id",
        "product": "id",
        "amount": "decimal",
        "sold_on": "date",
        "cancelled_on": "optional_date",
        "currency": "optional_currency",  # SPEC 6.1: may be absent (see OPTIONAL_COLUMNS)
    },
    "feedback": {
        "response_id": "id",
        "rep_id": "id",
        "customer_id": "id",
        "responded_on": "date",
        "survey": "enum",
        "score": "int",
    },
    "contacts": {
        "contact_id": "id",
        "rep_id": "id",
        "customer_id": "id",
        "contacted_on": "date",
        "channel": "enum",
        "connected": "bool",
    },
    "campaigns": {  # SPEC 6.1: marketing's campaign calendar, optional
        "campaign_id": "id",
        "product": "id",
        "starts_on": "date",
        "ends_on": "date",
    },
    "fx_rates": {  # SPEC 6.1: exchange rates, optional; (currency, to, month) unique
        "currency": "currency",
        "to": "currency",
        "month": "month",
        "rate": "decimal",
    },
}

# columns a file may leave out altogether (SPEC 6.1): read as empty cells when the header lacks them
OPTIONAL_COLUMNS = {"reps": ("manager_id",), "sales": ("currency",)}

# the date that places a row in a period (reps.csv, campaigns.csv and fx_rates.csv rows are not dated)
ROW_DATE = {"sales": "sold_on", "feedback": "responded_on", "contacts": "contacted_on"}

REQUIRED_FILES = ("reps", "sales")
OPTIONAL_FILES = ("feedback", "contacts", "campaigns", "fx_rates")


def empty_frame(name: str) -> pl.DataFrame:
    """A frame with no rows and the typed schema of `name`."""
    return pl.DataFrame(schema={**{c: _dtype(k, 0) for c, k in COLUMNS[name].items()}, "line": pl.Int64})


def _dtype(kind: str, scale: int) -> pl.DataType:
    return {
        "date": pl.Date(),
        "optional_date": pl.Date(),
        "month": pl.Date(),  # the month's first day
        "decimal": pl.Decimal(38, scale),
        "int": pl.Int64(),
        "bool": pl.Boolean(),
    }.get(kind, pl.String())


@dataclass
class Table:
    name: str  # "reps", "sales", "feedback", "contacts", "campaigns"
    frame: pl.DataFrame  # valid rows only, typed as above, plus `line`
    path: str | None = None  # None: optional file absent
    sha256: str | None = None
    rows_read: int = 0
    rows_rejected: int = 0
    # streaming: (first day of the month, Parquet file) of the rows dated in that month
    parts: tuple[tuple[date, str], ...] = ()
    # read through a column mapping: our column -> the export's name, where they differ
    columns: dict[str, str] = field(default_factory=dict)

    def scan(self, since: date | None = None, until: date | None = None) -> pl.LazyFrame:
        """The valid rows, lazily; with `since`/`until`, only those whose ROW_DATE lies in
        `[since, until]` (a parted table then reads only the parts of those months)."""
        if not self.parts:
            frame = self.frame.lazy()
        else:
            low = since.replace(day=1) if since else date.min
            chosen = [path for month, path in self.parts if low <= month and (until is None or month <= until)]
            schema = self.frame.schema
            scans = [pl.scan_parquet(path).select(schema.names()).cast(dict(schema)) for path in chosen]
            frame = pl.concat(scans) if scans else self.frame.lazy()
        if since is not None:
            frame = frame.filter(pl.col(ROW_DATE[self.name]) >= since)
        if until is not None:
            frame = frame.filter(pl.col(ROW_DATE[self.name]) <= until)
        return frame


@dataclass
class Inputs:
    reps: Table
    sales: Table
    feedback: Table
    contacts: Table
    # every row problem found; with --skip-invalid these rows are excluded
    problems: list[Diagnostic] = field(default_factory=list)
    campaigns: Table = field(default_factory=lambda: Table("campaigns", empty_frame("campaigns")))
    fx_rates: Table = field(default_factory=lambda: Table("fx_rates", empty_frame("fx_rates")))

    def tables(self) -> list[Table]:
        """The inputs; campaigns and fx_rates only when their file is there (they are new: runs without
        them list the four of before)."""
        optional = [t for t in (self.campaigns, self.fx_rates) if t.path]
        return [self.reps, self.sales, self.feedback, self.contacts, *optional]
