from datetime import date

import pytest

from comp_calc.periods import parse_period, period_containing, periods_between, previous


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
