from datetime import date

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from comp_calc.periods import parse_period, per_day, period_containing, periods_between, previous


def test_month_and_quarter_bounds():
    feb = parse_period("2028-02")  # leap year: 29 days
    assert (feb.start, feb.end, feb.days, feb.label) == (date(2028, 2, 1), date(2028, 2, 29), 29, "2028-02")
    q4 = parse_period("2026-Q4")
    assert (q4.start, q4.end, q4.days, q4.label) == (date(2026, 10, 1), date(2026, 12, 31), 92, "2026-Q4")


def test_periods_between_crosses_year():
    got = [p.label for p in periods_between(parse_period("2026-11"), parse_period("2027-02"))]
    assert got == ["2026-11", "2026-12", "2027-01", "2027-02"]


def test_period_containing_quarter():
    assert period_containing(date(2026, 8, 15), "quarter").label == "2026-Q3"


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "26-10", "2026/10", ""])
def test_bad_period_text(bad):
    with pytest.raises(ValueError, match="is not a period"):
        parse_period(bad)


def test_calendar_edges_year_9999_and_year_1():
    last = parse_period("9999-12")
    assert (last.end, last.next()) == (date(9999, 12, 31), None)
    assert parse_period("9999-Q4").end == date(9999, 12, 31)
    assert previous(parse_period("0001-01")) is None
    assert previous(parse_period("2026-01")).label == "2025-12"


def test_per_day_looks_each_row_up_by_its_day():
    # rows 2026-03-31, null, 2026-02-27, 2026-03-31: the days span 2026-02-27..2026-03-31 (33 days);
    # each row gets its own day's value, null stays null
    days = pl.DataFrame({"d": [date(2026, 3, 31), None, date(2026, 2, 27), date(2026, 3, 31)]})
    got = days.select(
        month=per_day(pl.col("d"), lambda d: d.dt.month_start()),
        text=per_day(pl.col("d"), lambda d: d.cast(pl.String)),
    )
    assert got["month"].to_list() == [date(2026, 3, 1), None, date(2026, 2, 1), date(2026, 3, 1)]
    assert got["text"].to_list() == ["2026-03-31", None, "2026-02-27", "2026-03-31"]
    # no day at all: nothing to look up
    for empty in (pl.DataFrame({"d": [None, None]}, schema={"d": pl.Date}), pl.DataFrame(schema={"d": pl.Date})):
        assert empty.select(per_day(pl.col("d"), lambda d: d.dt.month_start()))["d"].null_count() == empty.height


@given(st.lists(st.one_of(st.none(), st.dates(date(1900, 1, 1), date(2100, 12, 31))), max_size=20))
@example([date(1, 1, 1), None, date(9999, 12, 31)])  # the widest span a date column can hold
def test_per_day_equals_computing_every_row(days):
    # rows far apart or close together: the lookup equals the expression itself
    frame = pl.DataFrame({"d": days}, schema={"d": pl.Date})
    month = lambda d: d.dt.month_start()  # noqa: E731
    got = frame.select(a=per_day(pl.col("d"), month), b=month(pl.col("d")))
    assert got["a"].to_list() == got["b"].to_list()
