"""Many currencies (SPEC 6.1-6.4): sales in any currency, fx_rates.csv, a plan currency per
plan, credit priced in the receiving rep's currency, outputs per currency."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, invoke, read_csv, write_case

FIXTURE = ROOT / "tests" / "fixtures" / "currency"
PLANS, DATA = FIXTURE / "plans", FIXTURE / "data"


def _run(out: Path, period: str, plans: Path = PLANS, data: Path = DATA, *extra: str):
    return invoke("run", "--plans", plans, "--data", data, "--period", period, "--out", out, "--allow-incomplete", *extra)


def _lines(out: Path, period: str) -> list[tuple]:
    rows = read_csv(out / period / "lines.csv")
    return [(r["rep_id"], r["kind"], r["sale_id"], r["role"], r["credited"], r["amount"], r["currency"]) for r in rows]


def test_a_usd_sale_is_credited_in_each_receiving_reps_currency(tmp_path):
    # S1: 1000.00 USD sold by E1 (EUR plan) 2026-03-10; G1 (GBP plan) called the customer on 03-01,
    # share 0.30. March rates: USD->EUR 0.92, USD->GBP 0.79.
    #   E1 seller:        1000.00 * 0.70 * 0.92 = 644.00 EUR; commission 644.00 * 0.10 = 64.40
    #   G1 relationship:  1000.00 * 0.30 * 0.79 = 237.00 GBP; commission 237.00 * 0.10 = 23.70
    # S2: 200.00 with no currency: E1's plan currency, EUR, no rate needed: 200.00, 20.00
    assert _run(tmp_path, "2026-03").exit_code == 0
    assert _lines(tmp_path, "2026-03") == [
        ("E1", "commission", "S1", "seller", "644.00", "64.40", "EUR"),
        ("E1", "commission", "S2", "seller", "200.00", "20.00", "EUR"),
        ("G1", "commission", "S1", "relationship", "237.00", "23.70", "GBP"),
    ]
    payouts = {r["rep_id"]: (r["credited"], r["payout"], r["currency"]) for r in read_csv(tmp_path / "2026-03" / "payouts.csv")}
    assert payouts == {"E1": ("844.00", "84.40", "EUR"), "G1": ("237.00", "23.70", "GBP")}


def test_a_cancellation_claws_back_at_the_sale_months_rate(tmp_path):
    # S1 cancelled 2026-04-05 (26 days, rule recover 1.0). The April rates (0.50) would give
    # 1000 * 0.70 * 0.50 * 0.10 = 35.00 and 15.00; the clawback takes back what was paid,
    # priced at the March rates: -64.40 EUR and -23.70 GBP.
    assert _run(tmp_path, "2026-04").exit_code == 0
    assert _lines(tmp_path, "2026-04") == [
        ("E1", "clawback", "S1", "seller", "644.00", "-64.40", "EUR"),
        ("G1", "clawback", "S1", "relationship", "237.00", "-23.70", "GBP"),
    ]


PLAN = """\
plan: {plan}
version: 1
effective_from: 2026-03-01
currency: {currency}
period: month
rounding: {rounding}
rates:
  - rate: 0.10
"""

REPS = """\
rep_id,name,team,plan,quota,start_date,end_date
H1,Hana Up,North,up,0,2026-01-01,
V1,Vic Even,South,even,0,2026-01-01,
"""


def _two_plans(tmp_path: Path, sales: str, fx: str | None) -> tuple[Path, Path]:
    plans = {
        "up.yaml": PLAN.format(plan="up", currency="EUR", rounding="half_up"),
        "even.yaml": PLAN.format(plan="even", currency="GBP", rounding="half_even"),
    }
    tables = {"reps": REPS, "sales": sales} | ({"fx_rates": fx} if fx is not None else {})
    return write_case(tmp_path, plans, **tables)


def test_a_six_decimal_rate_on_a_half_cent_rounds_by_each_plans_rule(tmp_path):
    # 1000.00 USD * 0.123450 = 123.450000 credited (exact, never rounded), * rate 0.10 = 12.345:
    # half_up (EUR plan) 12.35; half_even (GBP plan) 12.34 (4 is even)
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on,currency\n" \
            "S1,H1,c1,card,1000.00,2026-03-02,,USD\nS2,V1,c2,card,1000.00,2026-03-03,,USD\n"
    fx = "currency,to,month,rate\nUSD,EUR,2026-03,0.123450\nUSD,GBP,2026-03,0.123450\n"
    plans, data = _two_plans(tmp_path, sales, fx)
    assert _run(tmp_path / "out", "2026-03", plans, data).exit_code == 0
    assert _lines(tmp_path / "out", "2026-03") == [
        ("H1", "commission", "S1", "seller", "123.45", "12.35", "EUR"),
        ("V1", "commission", "S2", "seller", "123.45", "12.34", "GBP"),
    ]


def test_a_missing_rate_names_the_sale_the_pair_and_the_month(tmp_path):
    # S1 needs USD->EUR for 2026-03 (given only for 2026-04; GBP->... is no inverse of anything);
    # S2 needs EUR->GBP for 2026-03: the inverse GBP->EUR is given but never turned around.
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on,currency\n" \
            "S1,H1,c1,card,10.00,2026-03-02,,USD\nS2,V1,c2,card,10.00,2026-03-03,,EUR\nS3,H1,c3,card,5.00,2026-03-04,,\n"
    fx = "currency,to,month,rate\nUSD,EUR,2026-04,0.9\nGBP,EUR,2026-03,1.2\n"
    plans, data = _two_plans(tmp_path, sales, fx)
    result = _run(tmp_path / "out", "2026-03", plans, data)
    assert result.exit_code == 2
    assert f"{data / 'sales.csv'}:2: missing-fx-rate currency: sale S1 needs a rate from USD to EUR for 2026-03" in result.output
    assert f"{data / 'sales.csv'}:3: missing-fx-rate currency: sale S2 needs a rate from EUR to GBP for 2026-03" in result.output
    assert ":4:" not in result.output  # S3 is in its seller's own currency
    assert not (tmp_path / "out" / "2026-03").exists()


def test_every_missing_rate_is_found_in_a_streaming_run_too(tmp_path):
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on,currency\n" \
            "S1,H1,c1,card,10.00,2026-03-02,,USD\nS2,H1,c2,card,10.00,2026-04-03,,USD\n"
    plans, data = _two_plans(tmp_path, sales, "currency,to,month,rate\n")
    result = _run(tmp_path / "out", "2026-04", plans, data, "--streaming")
    assert result.exit_code == 2
    assert "sale S1 needs a rate from USD to EUR for 2026-03" in result.output
    assert "sale S2 needs a rate from USD to EUR for 2026-04" in result.output


@pytest.mark.parametrize(
    "row, column, code",
    [
        ("USD,EUR,2026-04,0", "rate", "out-of-range"),         # a rate of 0
        ("USD,EUR,2026-03,0.91", "currency", "duplicate-key"),  # line 2 has USD, EUR, 2026-03
        ("USDX,EUR,2026-03,0.9", "currency", "bad-currency"),   # 4 letters
        ("USD,eur,2026-03,0.9", "to", "bad-currency"),          # lower case
        ("USD,USD,2026-03,1", "to", "same-currency"),
        ("USD,EUR,2026-3,0.9", "month", "bad-month"),
    ],
)
def test_a_bad_fx_row_is_reported_with_file_line_and_column(tmp_path, row, column, code):
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on,currency\nS1,H1,c1,card,10.00,2026-03-02,,USD\n"
    plans, data = _two_plans(tmp_path, sales, f"currency,to,month,rate\nUSD,EUR,2026-03,0.92\n{row}\n")
    result = invoke("validate", "--plans", plans, "--data", data, "--format", "json")
    assert result.exit_code == 2
    found = [(d["file"], d["line"], d["column"], d["code"]) for d in json.loads(result.stdout)["diagnostics"]]
    assert found == [(str(data / "fx_rates.csv"), 3, column, code)]
    assert _run(tmp_path / "out", "2026-03", plans, data).exit_code == 2


def test_a_sales_currency_must_be_three_upper_case_letters(tmp_path):
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on,currency\nS1,H1,c1,card,10.00,2026-03-02,,usd\n"
    plans, data = _two_plans(tmp_path, sales, None)
    result = invoke("validate", "--plans", plans, "--data", data, "--format", "json")
    found = [(d["line"], d["column"], d["code"]) for d in json.loads(result.stdout)["diagnostics"]]
    assert (result.exit_code, found) == (2, [(2, "currency", "bad-currency")])


def test_two_currencies_stream_to_the_same_files(tmp_path):
    for mode in ("memory", "streamed"):
        extra = ("--streaming",) if mode == "streamed" else ()
        result = _run(tmp_path / mode, "2026-04", PLANS, DATA, *extra)
        assert result.exit_code == 0, result.output
    for name in ("payouts.csv", "lines.csv", "manifest.json"):
        assert (tmp_path / "memory" / "2026-04" / name).read_bytes() == (tmp_path / "streamed" / "2026-04" / name).read_bytes()


def test_a_folder_without_currencies_gives_the_files_of_before(tmp_path):
    # the same plans with one currency and no currency column: byte-identical to a folder that
    # names the plan currency on every sale, and no fx_rates.csv in the manifest
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    (data / "fx_rates.csv").unlink()
    (data / "sales.csv").write_text(
        "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\nS2,E1,C2,card,200.00,2026-03-12,\n"
    )
    assert _run(tmp_path / "a", "2026-03", PLANS, data).exit_code == 0
    (data / "sales.csv").write_text(
        "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on,currency\nS2,E1,C2,card,200.00,2026-03-12,,EUR\n"
    )
    assert _run(tmp_path / "b", "2026-03", PLANS, data).exit_code == 0
    for name in ("payouts.csv", "lines.csv"):
        assert (tmp_path / "a" / "2026-03" / name).read_bytes() == (tmp_path / "b" / "2026-03" / name).read_bytes()
    assert "fx_rates" not in json.loads((tmp_path / "a" / "2026-03" / "manifest.json").read_text())["inputs"]


ACTIVITY_PLAN = """\
plan: calls
version: 1
effective_from: 2026-02-01
currency: GBP
period: month
rounding: half_up
rates:
  - rate: 0.01
activity:
  channels: [voice]
  target: 1
  bonus: 50.00
  min_customer_value: 1000
"""

SELLER_PLAN = PLAN.format(plan="sellers", currency="EUR", rounding="half_up").replace("2026-03-01", "2026-02-01")


def _activity_case(tmp_path: Path, fx: str) -> tuple[Path, Path]:
    reps = "rep_id,name,team,plan,quota,start_date,end_date\nA1,Al Call,North,calls,0,2026-01-01,\nE1,Eva Sell,North,sellers,0,2026-01-01,\n"
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on,currency\n" \
            "S1,E1,C1,card,1000.00,2026-02-10,,USD\nS2,E1,C2,card,1000.00,2026-02-11,,\n"
    contacts = "contact_id,rep_id,customer_id,contacted_on,channel,connected\n" \
               "K1,A1,C1,2026-03-05,voice,true\nK2,A1,C2,2026-03-06,voice,true\n"
    plans = {"calls.yaml": ACTIVITY_PLAN, "sellers.yaml": SELLER_PLAN}
    return write_case(tmp_path, plans, reps=reps, sales=sales, contacts=contacts, fx_rates=fx)


def test_customer_values_are_in_the_contacting_reps_currency_at_the_sale_months_rate(tmp_path):
    # A1 (GBP plan) needs customers worth 1000 GBP. C1 bought 1000.00 USD in February: at the
    # February rate 0.79 that is 790.00 GBP < 1000, left out (the March rate 2.00 would give 2000);
    # C2 bought 1000.00 EUR (E1's plan currency): * 1.20 = 1200.00 GBP >= 1000, counts.
    # Count 1 >= target 1: one activity_bonus line of 50.00 GBP, 1 contact left out.
    fx = "currency,to,month,rate\nUSD,GBP,2026-02,0.79\nUSD,GBP,2026-03,2.00\nEUR,GBP,2026-02,1.20\nUSD,EUR,2026-02,0.92\n"
    plans, data = _activity_case(tmp_path, fx)
    assert _run(tmp_path / "out", "2026-03", plans, data).exit_code == 0
    rows = [r for r in read_csv(tmp_path / "out" / "2026-03" / "lines.csv") if r["kind"] == "activity_bonus"]
    assert [(r["rep_id"], r["amount"], r["currency"]) for r in rows] == [("A1", "50.00", "GBP")]
    assert rows[0]["explanation"] == (
        "1 qualifying contact, target 1: bonus 50.00; 1 contact with a customer worth less than 1000.00 not counted"
    )


def test_a_customer_value_rate_that_is_missing_is_an_input_error(tmp_path):
    # as above without EUR->GBP for 2026-02: C2's value (S2, line 3) cannot be priced in A1's GBP
    fx = "currency,to,month,rate\nUSD,GBP,2026-02,0.79\nUSD,EUR,2026-02,0.92\n"
    plans, data = _activity_case(tmp_path, fx)
    result = _run(tmp_path / "out", "2026-03", plans, data)
    assert result.exit_code == 2
    assert f"{data / 'sales.csv'}:3: missing-fx-rate currency: sale S2 needs a rate from EUR to GBP for 2026-02" in result.output
    assert ":2: missing-fx-rate" not in result.output  # S1 has both its rates


def test_totals_are_per_currency_in_the_manifest_the_json_summary_and_the_table(tmp_path):
    # March: E1 84.40 EUR (64.40 + 20.00), G1 23.70 GBP; never added up into 108.10
    result = _run(tmp_path / "a", "2026-03", PLANS, DATA, "--format", "json")
    assert result.exit_code == 0
    totals = json.loads(result.stdout)["totals"]
    assert {c: (t["reps"], t["earned"], t["payout"]) for c, t in totals.items()} == {
        "EUR": (1, "84.40", "84.40"), "GBP": (1, "23.70", "23.70"),
    }
    manifest = json.loads((tmp_path / "a" / "2026-03" / "manifest.json").read_text())["totals"]
    assert {c: (t["reps"], t["credited"], t["payout"]) for c, t in manifest.items()} == {
        "EUR": (1, "844.000000", "84.40"), "GBP": (1, "237.000000", "23.70"),
    }
    table = _run(tmp_path / "b", "2026-03").output
    assert [line.split() for line in table.splitlines() if line.startswith("TOTAL")] == [
        ["TOTAL", "EUR", "84.40", "84.40"], ["TOTAL", "GBP", "23.70", "23.70"],
    ]
    assert "108.10" not in table


def test_diff_totals_are_per_currency(tmp_path):
    # the GBP plan's rate 0.10 -> 0.20: G1's 23.70 -> 237.00 * 0.20 = 47.40 GBP (+100.00%); E1's EUR pay unchanged
    new = tmp_path / "gbp.yaml"
    new.write_text((PLANS / "gbp.yaml").read_text().replace("rate: 0.10", "rate: 0.20").replace("version: 1", "version: 2"))
    result = invoke("diff", PLANS / "gbp.yaml", new, "--plans", PLANS, "--data", DATA, "--period", "2026-03",
                    "--format", "json", "--allow-incomplete")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert {c: (t["old_payout"], t["new_payout"], t["delta"], t["delta_pct"]) for c, t in got["totals"].items()} == {
        "EUR": ("84.40", "84.40", "0.00", "0.00"), "GBP": ("23.70", "47.40", "23.70", "100.00"),
    }
    assert {r["rep_id"]: r["currency"] for r in got["reps"]} == {"E1": "EUR", "G1": "GBP"}
    over = invoke("diff", PLANS / "gbp.yaml", new, "--plans", PLANS, "--data", DATA, "--period", "2026-03",
                  "--fail-over", "50", "--allow-incomplete")
    assert over.exit_code == 1 and "total payout in GBP changes by 100.00%" in over.output


def test_lines_and_statements_say_how_a_credit_was_converted(tmp_path):
    assert _run(tmp_path, "2026-03").exit_code == 0
    rows = {(r["rep_id"], r["sale_id"]): r["explanation"] for r in read_csv(tmp_path / "2026-03" / "lines.csv")}
    assert rows[("G1", "S1")] == (
        "sale S1 (card) sold 2026-03-10: credited 237.00 (relationship credit: contact K1 for seller E1) "
        "(300.00 USD x 0.79, the USD to GBP rate of 2026-03) x rate 0.10, tiers multiplier@piece 1.00@237.00, "
        "quality x1.00 = 23.70"
    )
    assert "USD" not in rows[("E1", "S2")]  # S2 is in E1's own currency: nothing converted
    result = invoke("explain", "--rep", "E1", "--plans", PLANS, "--data", DATA, "--period", "2026-03",
                    "--allow-incomplete", "--format", "json")
    statement = json.loads(result.stdout)
    assert statement["currency"] == "EUR"
    assert [c["role"] for c in statement["lines"]] == ["seller; 700.00 USD x 0.92 (USD to EUR, 2026-03)", "seller"]


def test_alignment_compares_pay_only_within_one_currency(tmp_path):
    # E1 is paid 84.40 EUR, G1 23.70 GBP: each is alone in its currency, so each ranks 1st of 1
    # (ranked together, G1 would be 2nd); teams are split by currency
    result = invoke("alignment", "--plans", PLANS, "--data", DATA, "--period", "2026-03", "--allow-incomplete", "--format", "json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert [(r["rep_id"], r["team"], r["currency"], r["period"]["pay_rank"]) for r in got["reps"]] == [
        ("E1", "Paris (EUR)", "EUR", 1), ("G1", "London (GBP)", "GBP", 1),
    ]
    assert sorted(t["team"] for t in got["teams"]) == ["London (GBP)", "Paris (EUR)"]
    assert got["currency"] == ""  # no single unit: each rep's amounts are in its own currency


# ---------------------------------------------------------------- overrides across currencies (SPEC 6.3 step 4d)

MANAGED = """\
plan: {plan}
version: 1
effective_from: 2026-03-01
currency: {currency}
period: month
rounding: half_up
rates:
  - rate: 0.10
clawback:
  - within_days: 90
    recover: 1.0
{override}"""


def _managed(tmp_path: Path, sales: str, fx: str) -> tuple[Path, Path]:
    """M1 (GBP plan, override 0.005 of 1 level) manages R1 (EUR plan); E2 (EUR plan, override
    0.01) manages G2 (GBP plan)."""
    plans = {
        "gbp-mgr.yaml": MANAGED.format(plan="gbp-mgr", currency="GBP", override="override:\n  rate: 0.005\n  levels: 1\n"),
        "eur-rep.yaml": MANAGED.format(plan="eur-rep", currency="EUR", override=""),
        "eur-mgr.yaml": MANAGED.format(plan="eur-mgr", currency="EUR", override="override:\n  rate: 0.01\n  levels: 1\n"),
        "gbp-rep.yaml": MANAGED.format(plan="gbp-rep", currency="GBP", override=""),
    }
    reps = (
        "rep_id,name,team,plan,quota,start_date,end_date,manager_id\n"
        "E2,Eli Kent,Paris,eur-mgr,0,2026-01-01,,\nG2,Gil Moor,London,gbp-rep,0,2026-01-01,,E2\n"
        "M1,Mia Ross,London,gbp-mgr,0,2026-01-01,,\nR1,Rui Sol,Paris,eur-rep,0,2026-01-01,,M1\n"
    )
    return write_case(tmp_path, plans, reps=reps, sales=sales, fx_rates=fx)


MANAGED_SALES = (
    "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on,currency\n"
    "S1,R1,c1,card,1000.00,2026-03-10,2026-04-05,USD\n"  # a USD sale of a EUR rep under a GBP manager
    "S2,G2,c2,card,2000.00,2026-03-12,,\n"  # in G2's own GBP, under a EUR manager
)
MANAGED_FX = (
    "currency,to,month,rate\n"
    "USD,EUR,2026-03,0.92\nUSD,GBP,2026-03,0.79\nUSD,EUR,2026-04,0.50\nUSD,GBP,2026-04,0.50\n"
    "EUR,GBP,2026-03,0.90\nGBP,EUR,2026-03,1.15\n"
)


def _overrides(out: Path, period: str) -> list[tuple]:
    return [(r["rep_id"], r["reference"], r["amount"], r["currency"]) for r in read_csv(out / period / "lines.csv") if r["kind"] == "override"]


def test_an_override_is_the_reports_credit_in_the_managers_currency_at_the_sale_months_rate(tmp_path):
    # March. S1: 1000.00 USD sold by R1 (EUR plan) on 03-10; R1 is credited 1000.00 * 0.92 = 920.00 EUR.
    #   M1 (GBP plan) overrides R1 on the sale itself: 1000.00 * 1 (part) * 0.79 (USD->GBP, 2026-03)
    #   = 790.0000 GBP -> round(0.005 * 790.0000) = 3.95. Not R1's 920.00 EUR * 0.90 (EUR->GBP)
    #   = 828.00 -> 4.14.
    # S2: 2000.00 GBP (G2's plan currency, no currency written) under E2 (EUR plan):
    #   2000.00 * 1.15 (GBP->EUR, 2026-03) = 2300.0000 EUR -> round(0.01 * 2300.0000) = 23.00.
    # April: S1 cancelled on 04-05 nets R1's credit in M1's April, at the rate of March (sold_on),
    #   not April's 0.50: -1000.00 * 0.79 = -790.0000 -> -3.95 (with 0.50 it would be -2.50).
    plans, data = _managed(tmp_path, MANAGED_SALES, MANAGED_FX)
    for period in ("2026-03", "2026-04"):
        assert _run(tmp_path / "out", period, plans, data).exit_code == 0
    assert _overrides(tmp_path / "out", "2026-03") == [("E2", "G2", "23.00", "EUR"), ("M1", "R1", "3.95", "GBP")]
    assert _overrides(tmp_path / "out", "2026-04") == [("M1", "R1", "-3.95", "GBP")]
    payouts = {r["rep_id"]: (r["overrides"], r["currency"]) for r in read_csv(tmp_path / "out" / "2026-04" / "payouts.csv")}
    assert payouts["M1"] == ("-3.95", "GBP")
    # the explanation shows the net credit in the manager's currency
    notes = {(r["rep_id"], r["reference"]): r["explanation"] for r in read_csv(tmp_path / "out" / "2026-03" / "lines.csv") if r["kind"] == "override"}
    assert notes[("M1", "R1")] == ("R1, direct report: net credit 790.00 GBP (sold less cancelled in the period, each sale at the rate of its month of sale) x 0.5% = 3.95")
    assert notes[("E2", "G2")].startswith("G2, direct report: net credit 2300.00 EUR")
    # a streaming run writes the same files
    for period in ("2026-03", "2026-04"):
        assert _run(tmp_path / "streamed", period, plans, data, "--streaming").exit_code == 0
        for name in ("payouts.csv", "lines.csv"):
            assert (tmp_path / "out" / period / name).read_bytes() == (tmp_path / "streamed" / period / name).read_bytes()


@pytest.mark.parametrize("streaming", [False, True])
def test_a_rate_only_an_override_needs_is_reported_by_run_and_validate(tmp_path, streaming):
    # S2 (GBP, G2's own currency) needs no rate for G2, but E2's override needs GBP->EUR for
    # 2026-03, which fx_rates.csv lacks: EUR->GBP is given and never turned around. S1 is
    # priced for R1 (USD->EUR) and for M1 (USD->GBP).
    fx = "currency,to,month,rate\nUSD,EUR,2026-03,0.92\nUSD,GBP,2026-03,0.79\nEUR,GBP,2026-03,0.87\n"
    sales = MANAGED_SALES.replace("2026-04-05", "")
    plans, data = _managed(tmp_path, sales, fx)
    extra = ("--streaming",) if streaming else ()
    expected = f"{data / 'sales.csv'}:3: missing-fx-rate currency: sale S2 needs a rate from GBP to EUR for 2026-03"
    result = _run(tmp_path / "out", "2026-03", plans, data, *extra)
    assert result.exit_code == 2
    assert expected in result.output
    assert ":2:" not in result.output
    checked = invoke("validate", "--plans", plans, "--data", data, *extra)
    assert checked.exit_code == 2
    assert expected in checked.output
    found = json.loads(invoke("validate", "--plans", plans, "--data", data, "--format", "json", *extra).stdout)["diagnostics"]
    assert found == [{
        "file": str(data / "sales.csv"), "line": 3, "column": "currency", "code": "missing-fx-rate",
        "message": "sale S2 needs a rate from GBP to EUR for 2026-03, which fx_rates.csv lacks", "severity": "error",
    }]  # fmt: skip


@pytest.mark.parametrize("streaming", [False, True])
def test_validate_reports_every_missing_rate_as_run_does(tmp_path, streaming):
    # the folder of test_a_missing_rate_names_the_sale_the_pair_and_the_month, plus S4 of April
    # (USD->EUR of 2026-04 is given): validate, which takes no period, checks every sale, with
    # the run's diagnostics (file, line, column currency, missing-fx-rate), in text and json
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on,currency\n" \
            "S1,H1,c1,card,10.00,2026-03-02,,USD\nS2,V1,c2,card,10.00,2026-03-03,,EUR\nS3,H1,c3,card,5.00,2026-03-04,,\n" \
            "S4,H1,c4,card,7.00,2026-04-01,,USD\n"
    fx = "currency,to,month,rate\nUSD,EUR,2026-04,0.9\nGBP,EUR,2026-03,1.2\n"
    plans, data = _two_plans(tmp_path, sales, fx)
    extra = ("--streaming",) if streaming else ()
    ran = _run(tmp_path / "out", "2026-04", plans, data, *extra)
    checked = invoke("validate", "--plans", plans, "--data", data, *extra)
    assert (ran.exit_code, checked.exit_code) == (2, 2)
    wanted = [
        f"{data / 'sales.csv'}:2: missing-fx-rate currency: sale S1 needs a rate from USD to EUR for 2026-03, which fx_rates.csv lacks",
        f"{data / 'sales.csv'}:3: missing-fx-rate currency: sale S2 needs a rate from EUR to GBP for 2026-03, which fx_rates.csv lacks",
    ]
    for line in wanted:
        assert line in ran.output and line in checked.output
    assert ":4:" not in checked.output and ":5:" not in checked.output
    found = json.loads(invoke("validate", "--plans", plans, "--data", data, "--format", "json", *extra).stdout)["diagnostics"]
    assert [(d["line"], d["column"], d["code"]) for d in found] == [(2, "currency", "missing-fx-rate"), (3, "currency", "missing-fx-rate")]
    # with the rates given, validate is clean
    (data / "fx_rates.csv").write_text(fx + "USD,EUR,2026-03,0.9\nEUR,GBP,2026-03,0.8\n")
    assert invoke("validate", "--plans", plans, "--data", data, *extra).exit_code == 0


def test_validate_names_a_mapped_exports_currency_column(tmp_path):
    # the sales come as a CRM export whose currency column is CurrencyIsoCode: the run and
    # validate name that column, at the export's line
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on,CurrencyIsoCode\nS1,H1,c1,card,10.00,2026-03-02,,USD\n"
    plans, data = _two_plans(tmp_path, sales, "currency,to,month,rate\n")
    (data / "mapping.yaml").write_text("sales:\n  columns: {currency: CurrencyIsoCode}\n")
    expected = f"{data / 'sales.csv'}:2: missing-fx-rate CurrencyIsoCode: sale S1 needs a rate from USD to EUR for 2026-03"
    checked = invoke("validate", "--plans", plans, "--data", data)
    ran = _run(tmp_path / "out", "2026-03", plans, data)
    assert (checked.exit_code, ran.exit_code) == (2, 2)
    assert expected in checked.output and expected in ran.output
