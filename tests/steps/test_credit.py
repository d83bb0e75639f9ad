"""Step 1, credit, called directly: a sale becomes one or two credit lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import polars as pl

from comp_calc.plan.model import Outbound, Plan, PlanSet, RateRule
from comp_calc.steps import credit
from comp_calc.steps.exact import Scales
from comp_calc.steps.params import build_tables

SCALES = Scales(amount=2, quota=0, share=2, up_to=0, rate=1, tier_multiplier=0, quality_multiplier=0, recover=0)


def _versions() -> pl.DataFrame:
    outbound = Outbound(("voice",), True, 90, D("0.30"))
    p = Plan("p", 1, date(2026, 1, 1), "EUR", "month", "half_up", (RateRule(None, D("0.1")),), outbound_credit=outbound)
    return build_tables(PlanSet((p,)), SCALES).versions


def _reps() -> pl.DataFrame:
    return pl.DataFrame(
        {"rep_id": ["R1", "R2"], "plan": ["p", "p"], "start_date": [date(2020, 1, 1)] * 2, "end_date": [None, None]},
        schema_overrides={"end_date": pl.Date},
    ).with_row_index("rep_no").with_columns(pl.col("rep_no").cast(pl.Int64))


def _sales() -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "sale_id": ["S2", "S1"],  # out of order on purpose: lines come in (sold_on, sale_id) order
            "rep_id": ["R1", "R1"],
            "customer_id": ["C2", "C1"],
            "product": ["x", "x"],
            "amount": [D("50.00"), D("1000.00")],
            "sold_on": [date(2026, 4, 2), date(2026, 4, 1)],
            "cancelled_on": [None, None],
        },
        schema_overrides={"amount": pl.Decimal(38, 2), "cancelled_on": pl.Date},
    )


def _contacts() -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "contact_id": ["K1"],
            "rep_id": ["R2"],
            "customer_id": ["C1"],
            "contacted_on": [date(2026, 3, 1)],  # 31 days before S1: within 90
            "channel": ["voice"],
            "connected": [True],
        }
    )


def _credit_lines(first_sale: int = 0) -> pl.DataFrame:
    """The credit lines of the sales below with their text, as the engine reads them."""
    lines, sales, matches = credit.coded_lines(_sales(), _contacts(), _reps(), _versions(), SCALES, first_sale)
    return credit.describe(lines.lazy(), sales, matches, _reps()["rep_id"]).collect()


def test_a_contact_by_another_rep_splits_the_sale_exactly():
    lines = _credit_lines()
    # S1 is sale 0 (sold first): relationship line 2*0 = 0 to R2, 1000.00 * 0.30 = 300.0000;
    # seller line 2*0 + 1 = 1 to R1, 1000.00 - 300.0000 = 700.0000.
    # S2 is sale 1, no contact with C2: one seller line 2*1 + 1 = 3 with the whole 50.00.
    assert lines.select("line_no", "rep_id", "rep_no", "role", "sale_id", "credited").rows() == [
        (0, "R2", 1, "relationship", "S1", D("300.0000")),
        (1, "R1", 0, "seller", "S1", D("700.0000")),
        (3, "R1", 0, "seller", "S2", D("50.0000")),
    ]
    assert credit.unbalanced_sales(lines, 2) == 0


def test_numbering_continues_from_first_sale_and_unbalanced_sales_counts_a_missing_sale():
    lines = _credit_lines(first_sale=10)
    # sales 10 and 11: line numbers 20, 21 (S1) and 23 (S2)
    assert lines["line_no"].to_list() == [20, 21, 23]
    # three sales said, two covered: one unbalanced; a seller line lost: S1 no longer adds up
    assert credit.unbalanced_sales(lines, 3) == 1
    assert credit.unbalanced_sales(lines.filter(pl.col("line_no") != 21), 2) == 1


def test_contact_and_seller_are_looked_up_from_the_matched_sales_only():
    # S1 (C1) has R2's contact K1: split. S2 (C2) has none. S3 (C3) has K3 by its own seller R1:
    # matched but not split. Sale order S1, S2, S3 (rows 0, 1, 2), so the matches are rows 0 and 2.
    sales = pl.concat([_sales(), pl.LazyFrame({"sale_id": ["S3"], "rep_id": ["R1"], "customer_id": ["C3"], "product": ["x"],
                       "amount": [D("10.00")], "sold_on": [date(2026, 4, 3)], "cancelled_on": [None]},
                      schema_overrides={"amount": pl.Decimal(38, 2), "cancelled_on": pl.Date})])  # fmt: skip
    contacts = pl.concat([_contacts(), _contacts().with_columns(contact_id=pl.lit("K3"), rep_id=pl.lit("R1"), customer_id=pl.lit("C3"))])
    lines, described, matches = credit.coded_lines(sales, contacts, _reps(), _versions(), SCALES)
    assert matches.rows() == [("K1", 0), ("K3", 0)]  # (contact_id, seller_no)
    assert described["match"].to_list() == [0, None, 1]  # each sale's row of the matches
    assert described.columns == [*credit.DESCRIPTION, "match"]  # no text column of every sale for contacts or sellers
    shown = credit.describe(lines.lazy(), described, matches, _reps()["rep_id"]).collect()
    assert shown.select("sale_id", "role", "rep_id", "contact_id", "seller_no", "seller_id").rows() == [
        ("S1", "relationship", "R2", "K1", 0, "R1"),
        ("S1", "seller", "R1", "K1", 0, "R1"),
        ("S2", "seller", "R1", None, 0, "R1"),
        ("S3", "seller", "R1", "K3", 0, "R1"),
    ]
    # no matches at all: nothing to look up, every contact null
    none = described.with_columns(match=pl.lit(None, dtype=pl.UInt32))
    bare = credit.describe(lines.lazy(), none, credit.NO_MATCHES, _reps()["rep_id"], ["contact_id"]).collect()
    assert bare["contact_id"].null_count() == bare.height
