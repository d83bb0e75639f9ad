"""Step 4c, activity bonus (SPEC 6.3): hand-computed runs through the engine, and the two ways
of finding customer values (pairs and events, `steps.activity`) compared on random inputs.

Every case runs March 2026 under a plan in force from January 2025, so that sales a year
before a March contact lie in computed periods. Seller S makes the sales that give the
customers their value; S has no activity quota of its own unless a test says so. The cases
that weigh customer values run each way (`value_path`).
"""

from __future__ import annotations

from datetime import date, timedelta
from unittest.mock import patch

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from comp_calc.engine import compute
from comp_calc.errors import InputError
from comp_calc.outputs.results import lines_frame, payouts_frame
from comp_calc.periods import parse_period
from comp_calc.steps import activity as step
from comp_calc.steps import currency
from comp_calc.steps.exact import Scales
from factories import D, activity, clawback, contact, fx_rate, inputs, plan, plans, rep, sale

START = date(2025, 1, 1)


def _run(quota, reps, sales=(), contacts=(), period="2026-03", **kw):
    ps = plans(plan(effective_from=START, activity=quota, **kw))
    return compute(ps, inputs(reps, list(sales), (), list(contacts)), parse_period(period))


def _row(result, rep_id, period=None):
    period = period or result.period.label
    rows = result.grid.filter((pl.col("rep_id") == rep_id) & (pl.col("period") == period) & pl.col("present")).to_dicts()
    return rows[0] if rows else None


def _bonus(result, rep_id, period=None):
    return _row(result, rep_id, period)["activity_bonus"]


def _lines(result, period=None):
    return lines_frame(result, period).filter(pl.col("kind") == "activity_bonus")


def _explanation(result, rep_id):
    return _lines(result).filter(pl.col("rep_id") == rep_id)["explanation"].item()


# min_customer_value 1000, target 1, bonus 100.00: each rep below contacts one customer on
# 2026-03-10 by voice (connected); the bonus shows whether that contact counted.
FIX = activity(1, "100.00", min_customer_value="1000")
CONTACT_DAY = "2026-03-10"
# the bound that makes each way be taken: pairs always, or events always (pairs >= 0 > -rows)
BOUND = {"pairs": 10**9, "events": -1}
WAY = {"pairs": "_pair_values", "events": "_event_values"}


@pytest.fixture(params=["pairs", "events"])
def value_path(request, monkeypatch):
    """The test runs with its customer values found by pairs, then by events; either must be taken."""
    monkeypatch.setattr(step, "PAIR_BOUND", BOUND[request.param])
    with patch.object(step, WAY[request.param], wraps=getattr(step, WAY[request.param])) as taken:
        yield request.param
    assert taken.called, f"the customer values were not found by {request.param}"


@pytest.mark.usefixtures("value_path")
def test_the_value_window_is_the_365_days_before_the_contact_day():
    # 2026-03-10 - 365 days = 2025-03-10 (no 29 February in between): a sale that day is the
    # window's first day and counts (value 1000 >= 1000); 2025-03-09 is 366 days before: value 0
    sales = [
        sale("s1", "S", "1000", "2025-03-10", customer="c365"),
        sale("s2", "S", "5000", "2025-03-09", customer="c366"),
    ]
    contacts = [contact("k1", "A", "c365", CONTACT_DAY), contact("k2", "B", "c366", CONTACT_DAY)]
    result = _run(FIX, [rep("S"), rep("A"), rep("B")], sales, contacts)
    assert (_bonus(result, "A"), _bonus(result, "B")) == (D("100.00"), D("0.00"))


@pytest.mark.usefixtures("value_path")
def test_a_sale_on_the_contact_day_itself_is_outside_the_window():
    # the window ends on contacted_on - 1 = 2026-03-09: a 3000 sale on 03-10 gives value 0;
    # one on 03-09 gives 3000 >= 1000
    sales = [sale("s1", "S", "3000", "2026-03-10", customer="same"), sale("s2", "S", "3000", "2026-03-09", customer="eve")]
    contacts = [contact("k1", "A", "same", CONTACT_DAY), contact("k2", "B", "eve", CONTACT_DAY)]
    result = _run(FIX, [rep("S"), rep("A"), rep("B")], sales, contacts)
    assert (_bonus(result, "A"), _bonus(result, "B")) == (D("0.00"), D("100.00"))


@pytest.mark.usefixtures("value_path")
def test_a_sale_cancelled_on_the_contact_day_has_no_value_and_one_cancelled_later_does():
    # both sales 2000 on 2026-01-05; cancelled 03-10 (on the contact day): not counted, value 0;
    # cancelled 03-11 (after it): still counts on 03-10, value 2000 >= 1000
    sales = [
        sale("s1", "S", "2000", "2026-01-05", customer="gone", cancelled_on="2026-03-10"),
        sale("s2", "S", "2000", "2026-01-05", customer="late", cancelled_on="2026-03-11"),
    ]
    contacts = [contact("k1", "A", "gone", CONTACT_DAY), contact("k2", "B", "late", CONTACT_DAY)]
    result = _run(FIX, [rep("S"), rep("A"), rep("B")], sales, contacts)
    assert (_bonus(result, "A"), _bonus(result, "B")) == (D("0.00"), D("100.00"))


@pytest.mark.usefixtures("value_path")
def test_the_value_adds_up_the_full_amounts_of_every_seller():
    # customer c: 600 sold by S in January, 400 sold by A itself in February: 600 + 400 = 1000,
    # not below 1000 -> counts. Customer d: 999.99 by S: below 1000 -> left out.
    sales = [
        sale("s1", "S", "600", "2026-01-20", customer="c"),
        sale("s2", "A", "400", "2026-02-20", customer="c"),
        sale("s3", "S", "999.99", "2026-02-20", customer="d"),
    ]
    contacts = [contact("k1", "A", "c", CONTACT_DAY), contact("k2", "B", "d", CONTACT_DAY)]
    result = _run(FIX, [rep("S"), rep("A"), rep("B")], sales, contacts)
    assert (_bonus(result, "A"), _bonus(result, "B")) == (D("100.00"), D("0.00"))


@pytest.mark.usefixtures("value_path")
def test_the_explanation_counts_the_contacts_left_out_for_low_value():
    # target 2, bonus 300.00, min 1000: A calls rich (value 5000) twice and poor (value 10) three
    # times: 2 counted, target 2 reached exactly -> 300.00; 3 left out for low value
    quota = activity(2, "300.00", min_customer_value="1000")
    sales = [sale("s1", "S", "5000", "2026-01-02", customer="rich"), sale("s2", "S", "10", "2026-01-02", customer="poor")]
    days = ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"]
    who = ["rich", "poor", "rich", "poor", "poor"]
    contacts = [contact(f"k{i}", "A", c, day) for i, (c, day) in enumerate(zip(who, days, strict=True))]
    result = _run(quota, [rep("S"), rep("A")], sales, contacts)
    assert _bonus(result, "A") == D("300.00")
    assert _explanation(result, "A") == (
        "2 qualifying contacts, target 2: bonus 300.00; 3 contacts with customers worth less than 1000.00 not counted"
    )
    lines = _lines(result)
    assert lines["reference"].to_list() == [None]
    assert lines["amount"].to_list() == [D("300.00")]


def test_distinct_customers_count_each_customer_once_per_period():
    # A: c1 on 03-02 and 03-09, c2 on 03-03: 3 contacts, 2 customers. B: c1, c2, c3: 3 customers.
    # target 3: with distinct_customers A has 2 < 3 (nothing) and B 3 (300.00, exactly the
    # target); without it both have 3 contacts
    contacts = [
        contact("a1", "A", "c1", "2026-03-02"), contact("a2", "A", "c1", "2026-03-09"), contact("a3", "A", "c2", "2026-03-03"),
        contact("b1", "B", "c1", "2026-03-02"), contact("b2", "B", "c2", "2026-03-02"), contact("b3", "B", "c3", "2026-03-02"),
    ]  # fmt: skip
    distinct = _run(activity(3, "300.00", distinct_customers=True), [rep("A"), rep("B")], (), contacts)
    assert (_bonus(distinct, "A"), _bonus(distinct, "B")) == (D("0.00"), D("300.00"))
    assert _explanation(distinct, "B") == "3 qualifying contacts, target 3: bonus 300.00"
    every = _run(activity(3, "300.00"), [rep("A"), rep("B")], (), contacts)
    assert (_bonus(every, "A"), _bonus(every, "B")) == (D("300.00"), D("300.00"))


def test_connected_only_false_counts_unconnected_contacts_in_the_listed_channels():
    # channels voice and visit; A: voice connected, visit not connected, email connected (not listed).
    # connected_only false: 2 count (voice, visit), target 2 -> 300.00, "2 qualifying contacts";
    # connected_only true (the default): 1 counts, below 2 -> nothing
    contacts = [
        contact("k1", "A", "c1", "2026-03-02", "voice", True),
        contact("k2", "A", "c2", "2026-03-03", "visit", False),
        contact("k3", "A", "c3", "2026-03-04", "email", True),
    ]
    loose = _run(activity(2, "300.00", ("voice", "visit"), connected_only=False), [rep("A")], (), contacts)
    assert _bonus(loose, "A") == D("300.00")
    assert _explanation(loose, "A") == "2 qualifying contacts, target 2: bonus 300.00"
    strict = _run(activity(2, "300.00", ("voice", "visit")), [rep("A")], (), contacts)
    assert _bonus(strict, "A") == D("0.00")
    assert _lines(strict).height == 0


def test_only_contacts_on_days_the_rep_is_active_count():
    # A leaves 2026-03-15: contacts 03-10 and 03-15 count, 03-16 and 03-20 do not: 2 < 3, nothing.
    # B starts 2026-03-12: 03-11 does not count, 03-12, 03-13 and 03-31 do: 3 -> 300.00.
    # A February contact of B (before B started... B starts in March) and an April one never count.
    contacts = [
        *(contact(f"a{i}", "A", "c1", day) for i, day in enumerate(["2026-03-10", "2026-03-15", "2026-03-16", "2026-03-20"])),
        *(contact(f"b{i}", "B", "c1", day) for i, day in enumerate(["2026-03-11", "2026-03-12", "2026-03-13", "2026-03-31"])),
    ]
    reps = [rep("A", end="2026-03-15"), rep("B", start="2026-03-12")]
    result = _run(activity(3, "300.00"), reps, (), contacts)
    assert (_bonus(result, "A"), _bonus(result, "B")) == (D("0.00"), D("300.00"))
    # with target 2, A's two counted contacts are enough: "2 qualifying contacts"
    result = _run(activity(2, "300.00"), reps, (), contacts)
    assert _explanation(result, "A") == "2 qualifying contacts, target 2: bonus 300.00"


def test_contacts_of_another_period_count_in_their_own():
    # target 2: A has 2 contacts in February and 1 in March: the February row has 300.00, March nothing
    contacts = [contact("k1", "A", "c1", "2026-02-27"), contact("k2", "A", "c1", "2026-02-28"), contact("k3", "A", "c1", "2026-03-01")]
    result = _run(activity(2, "300.00"), [rep("A")], (), contacts)
    assert (_bonus(result, "A", "2026-02"), _bonus(result, "A")) == (D("300.00"), D("0.00"))


def test_a_zero_bonus_still_writes_its_line():
    # bonus 0.00, target 1, one contact: a line of 0.00 ("1 qualifying contact", singular)
    result = _run(activity(1, "0.00"), [rep("A")], (), [contact("k1", "A", "c1", "2026-03-02")])
    lines = _lines(result)
    assert lines["amount"].to_list() == [D("0.00")]
    assert lines["explanation"].to_list() == ["1 qualifying contact, target 1: bonus 0.00"]
    assert payouts_frame(result)["activity_bonus"].to_list() == [D("0.00")]


def test_the_bonus_is_not_capped_not_prorated_and_nets_in_the_balance():
    # A starts 2026-03-25 (7 of 31 days) and sells 1000 x 0.1 = 100.00; cap 50 -> cap line -50.00.
    # The activity bonus 300.00 is neither capped nor prorated: payout 100 - 50 + 300 = 350.00.
    # Line order: commission, activity_bonus, cap.
    contacts = [contact("k1", "A", "c1", "2026-03-26")]
    result = _run(activity(1, "300.00"), [rep("A", start="2026-03-25")], [sale("s1", "A", "1000", "2026-03-26")], contacts, cap=D("50"))
    row = _row(result, "A")
    assert (row["earned"], row["cap_adjustment"], row["activity_bonus"], row["payout"]) == (
        D("100.00"), D("-50.00"), D("300.00"), D("350.00"),
    )  # fmt: skip
    assert lines_frame(result).filter(pl.col("rep_id") == "A")["kind"].to_list() == ["commission", "activity_bonus", "cap"]


def test_the_bonus_pays_off_a_carried_balance():
    # carry_forward. February: A's January sale 3000 x 0.1 = 300.00 is cancelled 02-05 (26 days,
    # rule 60 days recover 1): -300.00 -> payout 0, carry_out -300.00. March: bonus 100.00;
    # net 100.00 - 300.00 = -200.00 -> payout 0.00, carry_out -200.00
    sales = [sale("s1", "A", "3000", "2026-01-10", cancelled_on="2026-02-05")]
    result = _run(activity(1, "100.00"), [rep("A")], sales, [contact("k1", "A", "c9", "2026-03-02")], clawback=clawback((60, "1")))
    row = _row(result, "A")
    assert (row["activity_bonus"], row["carry_in"], row["payout"], row["carry_out"]) == (
        D("100.00"), D("-300.00"), D("0.00"), D("-200.00"),
    )  # fmt: skip


def test_a_version_without_activity_pays_nothing():
    # v1 (from 2025-01) has the quota, v2 (from 2026-03) does not: February pays, March does not
    v1 = plan(effective_from=START, activity=activity(1, "100.00"))
    v2 = plan(version=2, effective_from=date(2026, 3, 1))
    contacts = [contact("k1", "A", "c1", "2026-02-02"), contact("k2", "A", "c1", "2026-03-02")]
    result = compute(plans(v1, v2), inputs([rep("A")], [], (), contacts), parse_period("2026-03"))
    assert (_bonus(result, "A", "2026-02"), _bonus(result, "A")) == (D("100.00"), D("0.00"))


# Many currencies. S (plan p, EUR) sells; A (plan calls, GBP) needs customers worth 1000.00 GBP.
# c1 bought s1, 1000.00 USD on 2026-02-10, and s3, 500.00 USD on 2026-03-20 (after A's call);
# c2 bought s2, 1000.00 with no currency (S's EUR) on 2026-02-11 and s4, 300.00 USD on
# 2026-01-20, cancelled 03-06 (the day of A's call: not in its window). A calls c1 on 03-05
# and c2 on 03-06. No USD->GBP rate for January or March: s3 and s4 never need one.
CALLS = plan(plan="calls", currency="GBP", effective_from=START, activity=activity(1, "50.00", min_customer_value="1000"))
CREDIT_RATES = [fx_rate("USD", "EUR", m, "0.92") for m in ("2026-01", "2026-02", "2026-03")]  # S's own credit


def _currency_run(fx):
    sales = [
        sale("s1", "S", "1000.00", "2026-02-10", customer="c1") | {"currency": "USD"},
        sale("s2", "S", "1000.00", "2026-02-11", customer="c2"),
        sale("s3", "S", "500.00", "2026-03-20", customer="c1") | {"currency": "USD"},
        sale("s4", "S", "300.00", "2026-01-20", customer="c2", cancelled_on="2026-03-06") | {"currency": "USD"},
    ]
    contacts = [contact("k1", "A", "c1", "2026-03-05"), contact("k2", "A", "c2", "2026-03-06")]
    data = inputs([rep("S"), rep("A", plan="calls")], sales, (), contacts, fx_rates=CREDIT_RATES + fx)
    return compute(plans(plan(effective_from=START), CALLS), data, parse_period("2026-03"))


@pytest.mark.usefixtures("value_path")
def test_customer_values_are_in_the_contacting_reps_currency():
    # at the sale month's (February's) rates: c1 1000.00 USD * 0.79 = 790.00 GBP < 1000, left out
    # (s3 is sold after the call); c2 1000.00 EUR * 1.20 = 1200.00 GBP >= 1000 (s4 cancelled):
    # 1 counted >= 1 -> 50.00
    fx = [fx_rate("USD", "GBP", "2026-02", "0.79"), fx_rate("EUR", "GBP", "2026-02", "1.20")]
    result = _currency_run(fx)
    assert _bonus(result, "A") == D("50.00")
    assert _explanation(result, "A") == (
        "1 qualifying contact, target 1: bonus 50.00; 1 contact with a customer worth less than 1000.00 not counted"
    )


@pytest.mark.usefixtures("value_path")
def test_a_missing_customer_value_rate_names_only_the_sales_in_a_contacts_window():
    # EUR->GBP for 2026-02 is missing: s2 (line 3) is in k2's window, an input error. s3 (sold
    # 03-20) and s4 (cancelled on the call's day) lack their USD->GBP rates too, but are in no
    # GBP contact's window: not reported
    with pytest.raises(InputError) as error:
        _currency_run([fx_rate("USD", "GBP", "2026-02", "0.79")])
    found = [(d.line, d.code, d.message.split(",")[0]) for d in error.value.diagnostics]
    assert found == [(3, "missing-fx-rate", "sale s2 needs a rate from EUR to GBP for 2026-02")]


# Random small cases for the two ways: customers c1 and c2, contact days around the 365/366-day
# edges (2024-03-01 has a 29 February in its window), sales sold those edges before a contact
# day or anywhere in the 400 days before it, cancelled around a contact day or just after the
# sale, in EUR, GBP, USD or their seller's plan currency (R1: EUR, R2: GBP), some rates missing.
CONTACT_DAYS = [date(2026, 3, 10), date(2024, 3, 1)]
EDGES = [0, 1, 2, 364, 365, 366, 367]
CURRENCIES = ["EUR", "GBP", "USD"]
SCALES = Scales(amount=2, quota=2, share=2, up_to=0, rate=2, tier_multiplier=0, quality_multiplier=0, recover=0, fx=6)
REPS = pl.DataFrame({"rep_id": ["R1", "R2"], "plan": ["p", "q"]})
PLAN_CURRENCY = pl.Series("currency", ["EUR", "GBP"])


@st.composite
def value_cases(draw):
    customer = st.sampled_from(["c1", "c2"])
    contacts = draw(st.lists(st.tuples(customer, st.sampled_from(CONTACT_DAYS), st.sampled_from(CURRENCIES)), min_size=1, max_size=5))
    sales = []
    for i in range(draw(st.integers(0, 10))):
        sold = draw(st.sampled_from(CONTACT_DAYS)) - timedelta(days=draw(st.sampled_from(EDGES) | st.integers(0, 400)))
        cancelled = draw(st.sampled_from([None, "contact", "contact", "near", "sale"]))
        if cancelled in ("contact", "near"):
            cancelled = draw(st.sampled_from(CONTACT_DAYS)) + timedelta(days=0 if cancelled == "contact" else draw(st.sampled_from([-1, 1])))
        elif cancelled == "sale":
            cancelled = sold + timedelta(days=draw(st.integers(0, 2)))
        amount = D(draw(st.integers(1, 10**7))) / 100
        sales.append((f"s{i}", draw(st.sampled_from(["R1", "R2"])), draw(customer), amount, sold, cancelled,
                      draw(st.sampled_from([None, *CURRENCIES]))))  # fmt: skip
    months = sorted({s[4].replace(day=1) for s in sales})
    rates = [
        (a, b, m, D(draw(st.sampled_from(["0.92", "1.2", "0.123456", "2"]))))
        for a in CURRENCIES for b in CURRENCIES if a != b for m in months if draw(st.booleans())  # False: missing
    ]  # fmt: skip
    return contacts, sales, rates, draw(st.booleans())


def _frames(contacts, sales, rates):
    contacts = pl.LazyFrame(
        [(f"k{i}", *c) for i, c in enumerate(contacts)], orient="row",
        schema={"contact_id": pl.String, "customer_id": pl.String, "contacted_on": pl.Date, "currency": pl.String},
    )  # fmt: skip
    sales = pl.LazyFrame(sales, orient="row", schema={
        "sale_id": pl.String, "rep_id": pl.String, "customer_id": pl.String, "amount": pl.Decimal(38, 2), "sold_on": pl.Date,
        "cancelled_on": pl.Date, "currency": pl.String,
    })  # fmt: skip
    fx = pl.DataFrame(rates, orient="row", schema={"currency": pl.String, "to": pl.String, "month": pl.Date, "fx_rate": pl.Decimal(38, 6)})
    return contacts, sales, fx


def _values_by(way, contacts, sales, pricing):
    with patch.object(step, "PAIR_BOUND", BOUND[way]), patch.object(step, WAY[way], wraps=getattr(step, WAY[way])) as taken:
        valued, missing = step._values(contacts, sales, pricing)
        valued = valued.collect()
    assert taken.called
    return valued, missing.unique().sort(pl.all())  # the caller reads the missing rates as a set


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value_cases())
def test_pairs_and_events_find_the_same_customer_values(case):
    contacts, sales, rates, priced = case
    contacts_, sales_, fx = _frames(contacts, sales, rates)
    pricing = currency.Pricing(fx, REPS, PLAN_CURRENCY, SCALES) if priced else None
    by_pairs, missing_by_pairs = _values_by("pairs", contacts_, sales_, pricing)
    by_events, missing_by_events = _values_by("events", contacts_, sales_, pricing)
    assert_frame_equal(by_pairs, by_events)  # same rows, order and dtypes
    assert_frame_equal(missing_by_pairs, missing_by_events)
    # and both the literal reading: the sales of the customer sold 1 to 365 days before the
    # contact, not cancelled by the contact day, at their sale month's rate into the contact's currency
    rate = {(a, b, m): r for a, b, m, r in rates}
    want, missing = {}, set()
    for contact_id, (customer, day, to) in enumerate(contacts):
        value = D(0)
        for sale_id, seller, of, amount, sold, cancelled, written in sales:
            if of != customer or not 1 <= (day - sold).days <= 365 or (cancelled is not None and cancelled <= day):
                continue
            frm, month = written or {"R1": "EUR", "R2": "GBP"}[seller], sold.replace(day=1)
            if pricing is None or frm == to:
                value += amount
            elif (frm, to, month) in rate:
                value += amount * rate[(frm, to, month)]
            else:
                missing.add((sale_id, frm, to, month))
        want[f"k{contact_id}"] = value
    assert dict(zip(by_pairs["contact_id"], by_pairs["customer_value"], strict=True)) == want
    assert by_pairs["contacted_on"].is_sorted()
    assert set(missing_by_pairs.iter_rows()) == missing
    assert by_pairs.schema["customer_value"] == pl.Decimal(38, 8 if priced else 2)


def test_a_customer_with_many_sales_and_contacts_is_valued_by_events():
    # c1: 30 sales of 10.00 on 2026-03-01 and 30 contacts on 03-10: 900 pairs > PAIR_BOUND 4 x
    # (30 + 30) rows: events, each contact worth 30 x 10.00 = 300.00. c1's first sale and contact
    # alone: 1 pair <= 4 x 2: pairs, worth 10.00
    sales = [(f"s{i}", "R1", "c1", D("10.00"), date(2026, 3, 1), None, None) for i in range(30)]
    contacts = [("c1", date(2026, 3, 10), "EUR")] * 30
    for n, way, value in [(30, "_event_values", D("300.00")), (1, "_pair_values", D("10.00"))]:
        contacts_, sales_, _ = _frames(contacts[:n], sales[:n], [])
        with patch.object(step, way, wraps=getattr(step, way)) as taken:
            valued = step.customer_values(contacts_, sales_).collect()
        assert taken.called, way
        assert valued["customer_value"].to_list() == [value] * n
