"""Worked examples through the command line: tiny cases, every expected cent derived by hand.

Each test runs `comp-calc run` (or `diff`) on a few rows written here and reads
payouts.csv / lines.csv. Unless a test says otherwise the plan is monthly from
2026-01-01, rate 10% on everything, no tiers, and a rep's quota is 1000.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from conftest import invoke, read_csv, write_case
from test_streaming import assert_same_run

REPS_HEAD = "rep_id,name,team,plan,quota,start_date,end_date\n"
SALES_HEAD = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\n"
CONTACTS_HEAD = "contact_id,rep_id,customer_id,contacted_on,channel,connected\n"


def plan_text(version: int = 1, effective_from: str = "2026-01-01", extra: str = "", rounding: str = "half_up", plan: str = "p") -> str:
    return (
        f"plan: {plan}\nversion: {version}\neffective_from: {effective_from}\ncurrency: EUR\nperiod: month\n"
        f"rounding: {rounding}\nrates:\n  - rate: 0.1\n{extra}"
    )


def run_period(root: Path, plans: dict[str, str], period: str, **tables: str) -> tuple[dict, list[dict]]:
    """payouts.csv rows by rep_id, and lines.csv rows, of one period."""
    plans_dir, data = write_case(root, plans, **tables)
    out = root / "out"
    result = invoke("run", "--plans", plans_dir, "--data", data, "--period", period, "--out", out, "--force", "--allow-incomplete")
    assert result.exit_code == 0, result.output
    payouts = {row["rep_id"]: row for row in read_csv(out / period / "payouts.csv")}
    return payouts, read_csv(out / period / "lines.csv")


def money(row: dict) -> tuple:
    return tuple(row[c] for c in ("earned", "cap_adjustment", "clawbacks", "carry_in", "payout", "carry_out"))


def lines_of(lines: list[dict], *columns: str) -> list[tuple]:
    return [tuple(row[c] for c in columns) for row in lines]


# ---------------------------------------------------------------- a. negative balance across versions

CLAW = "clawback:\n  - within_days: 90\n    recover: 1.0\n"


def test_carry_forward_then_pay_pays_the_carried_balance_under_the_new_version(tmp_path):
    # v1 (from 2026-01) carry_forward; v2 (from 2026-03) pay.
    # Jan: S1 5000 -> 500.00, paid 500.00.
    # Feb (v1): S1 cancelled 02-10 -> clawback -500.00; net -500.00 < 0, carry_forward:
    #   payout 0.00, carry_out -500.00.
    # Mar (v2, pay): carry_in -500.00 (Feb's carry_out); S2 2000 -> 200.00;
    #   net = 200.00 - 500.00 = -300.00, paid as is: payout -300.00, carry_out 0.00.
    # Apr (v2): nothing carries in: carry_in 0.00, payout 0.00.
    plans = {
        "p1.yaml": plan_text(1, "2026-01-01", CLAW + "negative_balance: carry_forward\n"),
        "p2.yaml": plan_text(2, "2026-03-01", CLAW + "negative_balance: pay\n"),
    }
    tables = dict(
        reps=REPS_HEAD + "A1,Ann,North,p,1000,2026-01-01,\n",
        sales=SALES_HEAD + "S1,A1,c1,loan,5000,2026-01-10,2026-02-10\nS2,A1,c2,loan,2000,2026-03-05,\n",
    )
    feb, _ = run_period(tmp_path / "feb", plans, "2026-02", **tables)
    assert money(feb["A1"]) == ("0.00", "0.00", "-500.00", "0.00", "0.00", "-500.00")
    mar, lines = run_period(tmp_path / "mar", plans, "2026-03", **tables)
    assert mar["A1"]["plan_version"] == "2"
    assert money(mar["A1"]) == ("200.00", "0.00", "0.00", "-500.00", "-300.00", "0.00")
    assert lines_of(lines, "kind", "sale_id", "amount") == [("commission", "S2", "200.00"), ("carry", "", "-500.00")]
    apr, lines = run_period(tmp_path / "apr", plans, "2026-04", **tables)
    assert money(apr["A1"]) == ("0.00", "0.00", "0.00", "0.00", "0.00", "0.00")
    assert lines == []


def test_pay_then_carry_forward_pays_the_old_negative_and_carries_the_new_one(tmp_path):
    # v1 (from 2026-01) pay; v2 (from 2026-03) carry_forward.
    # Jan: S1 5000 -> 500.00, S2 3000 -> 300.00; payout 800.00.
    # Feb (v1, pay): S1 cancelled 02-10 -> -500.00; net -500.00 paid as is: payout -500.00, carry_out 0.00.
    # Mar (v2, carry_forward): carry_in 0.00 (nothing carried out of Feb); S2 cancelled 03-05
    #   (63 days, within 90; earned under v1, recover 1.0) -> -300.00: payout 0.00, carry_out -300.00.
    # Apr (v2): carry_in -300.00; S3 1000 -> 100.00; net -200.00: payout 0.00, carry_out -200.00.
    plans = {
        "p1.yaml": plan_text(1, "2026-01-01", CLAW + "negative_balance: pay\n"),
        "p2.yaml": plan_text(2, "2026-03-01", CLAW + "negative_balance: carry_forward\n"),
    }
    tables = dict(
        reps=REPS_HEAD + "A1,Ann,North,p,1000,2026-01-01,\n",
        sales=SALES_HEAD
        + "S1,A1,c1,loan,5000,2026-01-10,2026-02-10\nS2,A1,c2,loan,3000,2026-01-01,2026-03-05\nS3,A1,c3,loan,1000,2026-04-02,\n",
    )
    feb, _ = run_period(tmp_path / "feb", plans, "2026-02", **tables)
    assert money(feb["A1"]) == ("0.00", "0.00", "-500.00", "0.00", "-500.00", "0.00")
    mar, lines = run_period(tmp_path / "mar", plans, "2026-03", **tables)
    assert money(mar["A1"]) == ("0.00", "0.00", "-300.00", "0.00", "0.00", "-300.00")
    assert lines_of(lines, "kind", "sale_id", "amount") == [("clawback", "S2", "-300.00")]
    apr, lines = run_period(tmp_path / "apr", plans, "2026-04", **tables)
    assert money(apr["A1"]) == ("100.00", "0.00", "0.00", "-300.00", "0.00", "-200.00")
    assert lines_of(lines, "kind", "sale_id", "amount") == [("commission", "S3", "100.00"), ("carry", "", "-300.00")]


# ---------------------------------------------------------------- b. contact rep leaving on the sale day


def test_contact_rep_whose_last_day_is_the_sale_day_still_splits(tmp_path):
    # outbound_credit share 0.30, 90 days, voice. R2 contacted c1 on 01-05 and leaves on 01-15,
    # the day R1 sells 1000 to c1: R2 is active on sold_on (end_date included), so
    # R2 relationship 1000 * 0.30 = 300 -> 30.00; R1 seller 700 -> 70.00.
    extra = "outbound_credit:\n  channels: [voice]\n  window_days: 90\n  share: 0.30\n"
    payouts, lines = run_period(
        tmp_path, {"p.yaml": plan_text(extra=extra)}, "2026-01",
        reps=REPS_HEAD + "R1,Rae,North,p,1000,2026-01-01,\nR2,Rob,North,p,1000,2026-01-01,2026-01-15\n",
        sales=SALES_HEAD + "S1,R1,c1,loan,1000,2026-01-15,\n",
        contacts=CONTACTS_HEAD + "K1,R2,c1,2026-01-05,voice,true\n",
    )  # fmt: skip
    assert lines_of(lines, "rep_id", "sale_id", "role", "credited", "amount") == [
        ("R1", "S1", "seller", "700.00", "70.00"),
        ("R2", "S1", "relationship", "300.00", "30.00"),
    ]
    assert (payouts["R1"]["credited"], payouts["R1"]["payout"]) == ("700.00", "70.00")
    assert (payouts["R2"]["credited"], payouts["R2"]["payout"]) == ("300.00", "30.00")


# ---------------------------------------------------------------- c. prorated quota on a half cent


def test_prorated_quota_on_a_half_cent_is_shown_half_even(tmp_path):
    # February 2026 has 28 days; both reps start 02-15: active 14 of 28 days = half the quota.
    # A1: 1000.25 / 2 = 500.125 -> half-even 500.12 (half-up would give 500.13)
    # B2: 1000.35 / 2 = 500.175 -> half-even 500.18 (half-down would give 500.17)
    # attainment: A1 sells 500.125 = exactly the prorated quota -> 1.000000.
    payouts, _ = run_period(
        tmp_path, {"p.yaml": plan_text()}, "2026-02",
        reps=REPS_HEAD + "A1,Ann,North,p,1000.25,2026-02-15,\nB2,Bob,North,p,1000.35,2026-02-15,\n",
        sales=SALES_HEAD + "S1,A1,c1,loan,500.125,2026-02-20,\n",
    )  # fmt: skip
    assert payouts["A1"]["quota"] == "500.12"
    assert payouts["A1"]["attainment"] == "1.000000"
    assert payouts["B2"]["quota"] == "500.18"


# ---------------------------------------------------------------- d. tiers text on band edges

TIERS = "attainment_tiers:\n  - up_to: 0.5\n    multiplier: 0.5\n  - multiplier: 1.0\n"


def test_tiers_text_of_lines_ending_and_starting_exactly_on_a_band_edge(tmp_path):
    # quota 1000, edge 0.5 * 1000 = 500.
    # S1 500 on 01-05: running 0 -> 500, ends exactly on the edge: one piece 500 x0.5
    #   -> 500 * 0.1 * 0.5 = 25.00, tiers "0.50@500.00" (no "1.00@0.00" piece;
    #   multipliers are shown with at least 2 decimals).
    # S2 300 on 01-06: running 500 -> 800, starts exactly on the edge: one piece 300 x1
    #   -> 300 * 0.1 * 1.0 = 30.00, tiers "1.00@300.00" (no "0.50@0.00" piece).
    # S3 400 on 01-07: running 800 -> 1200, wholly in the last band -> 40.00, "1.00@400.00".
    payouts, lines = run_period(
        tmp_path, {"p.yaml": plan_text(extra=TIERS)}, "2026-01",
        reps=REPS_HEAD + "A1,Ann,North,p,1000,2026-01-01,\n",
        sales=SALES_HEAD + "S1,A1,c1,loan,500,2026-01-05,\nS2,A1,c1,loan,300,2026-01-06,\nS3,A1,c1,loan,400,2026-01-07,\n",
    )  # fmt: skip
    assert lines_of(lines, "sale_id", "tiers", "amount") == [
        ("S1", "0.50@500.00", "25.00"),
        ("S2", "1.00@300.00", "30.00"),
        ("S3", "1.00@400.00", "40.00"),
    ]
    assert payouts["A1"]["earned"] == "95.00"


# ---------------------------------------------------------------- e. diff delta_pct on a tie


def test_diff_csv_delta_pct_tie_rounds_half_away_from_zero(tmp_path):
    # OLD: 8% on everything. A1 sells loan 1000 -> 80.00; B2 sells card 1000 -> 80.00.
    # NEW: loan 0.0801 -> 80.10; card 0.0799 -> 79.90.
    # delta_pct A1 = 0.10 / 80.00 * 100 = 0.125 -> 0.13 (half away from zero; half-even: 0.12)
    # delta_pct B2 = -0.10 / 80.00 * 100 = -0.125 -> -0.13 (half toward +inf would give -0.12)
    old = plan_text().replace("rate: 0.1", "rate: 0.08")
    new = plan_text().replace("  - rate: 0.1\n", "  - product: card\n    rate: 0.0799\n  - rate: 0.0801\n")
    plans, data = write_case(
        tmp_path, {"p.yaml": old},
        reps=REPS_HEAD + "A1,Ann,North,p,1000,2026-01-01,\nB2,Bob,North,p,1000,2026-01-01,\n",
        sales=SALES_HEAD + "S1,A1,c1,loan,1000,2026-01-05,\nS2,B2,c2,card,1000,2026-01-05,\n",
    )  # fmt: skip
    (tmp_path / "new.yaml").write_text(new)
    result = invoke("diff", plans / "p.yaml", tmp_path / "new.yaml", "--plans", plans, "--data", data, "--period", "2026-01", "--format", "csv", "--allow-incomplete")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["rep_id"], r["old_payout"], r["new_payout"], r["delta"], r["delta_pct"]) for r in rows] == [
        ("A1", "80.00", "80.10", "0.10", "0.13"),
        ("B2", "80.00", "79.90", "-0.10", "-0.13"),
    ]


# ---------------------------------------------------------------- f. streaming: a repeat on a block boundary


@pytest.mark.parametrize("skip_invalid", [True, False])
def test_streaming_repeat_exactly_at_a_block_boundary(tmp_path, monkeypatch, skip_invalid):
    # Every sales row is 36 bytes; blocks of 3 * 36 bytes hold rows 1-3 (file lines 2-4) and 4-6.
    # Ids increase except that the first row of block 2 (line 5) repeats S0003 (line 4), the
    # last id of block 1: a duplicate-id on line 5. Kept: S0001..S0005 at 100.00 each:
    # credited 500.00, commission 10% = 5 x 10.00 = 50.00 (loaded twice it would be 140.00).
    rows = ["S0001", "S0002", "S0003", "S0003", "S0004", "S0005"]
    amounts = ["100.00", "100.00", "100.00", "900.00", "100.00", "100.00"]
    sales = "".join(f"{i},A1,c1,loan,{a},2026-01-05,\n" for i, a in zip(rows, amounts))
    assert {len(line) + 1 for line in sales.splitlines()} == {36}
    plans, data = write_case(tmp_path / "case", {"p.yaml": plan_text()}, reps=REPS_HEAD + "A1,Ann,North,p,1000,2026-01-01,\n", sales=SALES_HEAD + sales)
    args = ("--period", "2026-01", "--skip-invalid") if skip_invalid else ("--period", "2026-01")
    assert_same_run(data, tmp_path, *args, block_bytes=3 * 36, monkeypatch=monkeypatch, succeeds=skip_invalid, plans=plans)
    streamed = invoke("validate", "--plans", plans, "--data", data, "--streaming")
    assert f"{data / 'sales.csv'}:5: duplicate-id sale_id: duplicate sale_id 'S0003' (first on line 4)" in " ".join(streamed.output.split())
    if skip_invalid:
        payouts = read_csv(tmp_path / "streamed" / "2026-01" / "payouts.csv")
        assert [(r["rep_id"], r["credited"], r["earned"]) for r in payouts] == [("A1", "500.00", "50.00")]
        exceptions = read_csv(tmp_path / "streamed" / "2026-01" / "exceptions.csv")
        assert [(r["line"], r["column"], r["code"]) for r in exceptions] == [("5", "sale_id", "duplicate-id")]


# ---------------------------------------------------------------- g. clawback rounding mode


def test_clawback_rounds_under_the_plan_rounding_mode(tmp_path):
    # Two plans, rules 30 days -> 1.0, 90 days -> 0.5. Each rep sells 1234.50 on 01-10 -> 123.45,
    # cancelled 02-10 (31 days): 0.5 rule, 0.5 * 123.45 = 61.725, a tie:
    # half_up plan (A1): -61.73; half_even plan (B2): -61.72 (2 is even).
    claw = "clawback:\n  - within_days: 30\n    recover: 1.0\n  - within_days: 90\n    recover: 0.5\n"
    payouts, lines = run_period(
        tmp_path,
        {"up.yaml": plan_text(extra=claw, plan="up"), "even.yaml": plan_text(extra=claw, rounding="half_even", plan="even")},
        "2026-02",
        reps=REPS_HEAD + "A1,Ann,North,up,1000,2026-01-01,\nB2,Bob,North,even,1000,2026-01-01,\n",
        sales=SALES_HEAD + "S1,A1,c1,loan,1234.50,2026-01-10,2026-02-10\nS2,B2,c2,loan,1234.50,2026-01-10,2026-02-10\n",
    )
    assert lines_of(lines, "rep_id", "kind", "sale_id", "amount") == [("A1", "clawback", "S1", "-61.73"), ("B2", "clawback", "S2", "-61.72")]
    assert (payouts["A1"]["clawbacks"], payouts["B2"]["clawbacks"]) == ("-61.73", "-61.72")


# ---------------------------------------------------------------- h. cap and clawbacks together


def test_capped_period_with_clawbacks_and_carry_in(tmp_path):
    # cap 200, clawback 1.0 within 90 days, carry_forward.
    # Jan: S0 800 -> 80.00, S1 500 -> 50.00; earned 130.00 (under the cap); payout 130.00.
    # Feb: S0 cancelled 02-01 -> -80.00; net -80.00: payout 0.00, carry_out -80.00.
    # Mar: S2 3000 -> 300.00 > cap 200: cap line 200 - 300 = -100.00;
    #   S1 cancelled 03-05 -> clawback -50.00 (its rounded commission, not capped);
    #   payout = earned + cap + clawbacks + carry_in = 300.00 - 100.00 - 50.00 - 80.00 = 70.00.
    extra = "clawback:\n  - within_days: 90\n    recover: 1.0\ncap: 200\n"
    payouts, lines = run_period(
        tmp_path, {"p.yaml": plan_text(extra=extra)}, "2026-03",
        reps=REPS_HEAD + "A1,Ann,North,p,1000,2026-01-01,\n",
        sales=SALES_HEAD
        + "S0,A1,c1,loan,800,2026-01-05,2026-02-01\nS1,A1,c1,loan,500,2026-01-10,2026-03-05\nS2,A1,c2,loan,3000,2026-03-02,\n",
    )  # fmt: skip
    assert money(payouts["A1"]) == ("300.00", "-100.00", "-50.00", "-80.00", "70.00", "0.00")
    assert lines_of(lines, "kind", "sale_id", "amount") == [
        ("commission", "S2", "300.00"),
        ("cap", "", "-100.00"),
        ("clawback", "S1", "-50.00"),
        ("carry", "", "-80.00"),
    ]


# ---------------------------------------------------------------- draws: a recoverable draw and a guarantee

DRAW_FIXTURE = Path(__file__).parent / "fixtures" / "draw"


def _draw_months(root: Path) -> dict[str, dict]:
    """payouts.csv rows and draw lines of January to April 2026 of the draw fixture, by period."""
    months = {}
    for period in ("2026-01", "2026-02", "2026-03", "2026-04"):
        args = ("--plans", DRAW_FIXTURE / "plans", "--data", DRAW_FIXTURE / "data", "--period", period)
        result = invoke("run", *args, "--out", root, "--allow-incomplete")
        assert result.exit_code == 0, result.output
        payouts = {row["rep_id"]: row for row in read_csv(root / period / "payouts.csv")}
        draws = {row["rep_id"]: row["amount"] for row in read_csv(root / period / "lines.csv") if row["kind"] == "draw"}
        months[period] = {rep: (row["earned"], draws.get(rep, ""), row["payout"], row["draw_balance"]) for rep, row in payouts.items()}
    return months


def test_a_recoverable_draw_over_four_months_is_paid_back_from_the_good_months(tmp_path):
    # draw 2,000.00 a month, recoverable; commissions (sales x 10%) 500, 1,200, 3,500, 2,600.
    # month  commission  draw line                          payout  balance owed
    # Jan       500.00   2000 - 500 = +1500.00 (top-up)    2000.00  0 + 1500 = 1500.00
    # Feb      1200.00   2000 - 1200 = +800.00 (top-up)    2000.00  1500 + 800 = 2300.00
    # Mar      3500.00   -min(2300, 3500 - 2000) = -1500   2000.00  2300 - 1500 = 800.00
    # Apr      2600.00   -min(800, 2600 - 2000) = -600     2000.00  800 - 600 = 200.00
    # paid 8,000.00 for 7,800.00 of commission: the 200.00 still owed is the difference
    months = _draw_months(tmp_path)
    assert [months[p]["D1"] for p in sorted(months)] == [
        ("500.00", "1500.00", "2000.00", "1500.00"),
        ("1200.00", "800.00", "2000.00", "2300.00"),
        ("3500.00", "-1500.00", "2000.00", "800.00"),
        ("2600.00", "-600.00", "2000.00", "200.00"),
    ]


def test_a_guarantee_over_the_same_months_is_never_paid_back(tmp_path):
    # draw 2,000.00 a month, recoverable: false (a guarantee); the same commissions.
    # month  commission  draw line                       payout   balance owed
    # Jan       500.00   2000 - 500 = +1500.00           2000.00  0.00 (never owed)
    # Feb      1200.00   2000 - 1200 = +800.00           2000.00  0.00
    # Mar      3500.00   none (above the guarantee)      3500.00  0.00
    # Apr      2600.00   none                            2600.00  0.00
    # paid 10,100.00 = 7,800.00 of commission + 2,300.00 of guarantee top-ups
    months = _draw_months(tmp_path)
    assert [months[p]["G1"] for p in sorted(months)] == [
        ("500.00", "1500.00", "2000.00", "0.00"),
        ("1200.00", "800.00", "2000.00", "0.00"),
        ("3500.00", "", "3500.00", "0.00"),
        ("2600.00", "", "2600.00", "0.00"),
    ]


# ---------------------------------------------------------------- retroactive (non-cumulative) tiers

BANDS_1X_15X = "attainment_tiers:\n  - up_to: 1.0\n    multiplier: 1\n  - multiplier: 1.5\n"


def test_retroactive_tiers_pay_every_line_at_the_band_of_the_final_attainment(tmp_path):
    # quota 10,000; bands: up to 100% of quota x1, above x1.5; rate 10%; credited 7,000 + 5,000 = 12,000:
    # final attainment 12,000 / 10,000 = 1.2, in the band above 1.0 -> every line at x1.5:
    #   S1 7000 x 0.1 x 1.5 = 1,050.00; S2 5000 x 0.1 x 1.5 = 750.00; earned 1,800.00
    # the same under marginal tiers (R2): S1 7000 x 0.1 x 1 = 700.00 (running 0 -> 7,000, below the edge);
    #   S2 straddles the edge at 10,000: 3000 x 0.1 x 1 + 2000 x 0.1 x 1.5 = 300 + 300 = 600.00; earned 1,300.00
    plans = {
        "retro.yaml": plan_text(extra=BANDS_1X_15X + "tier_mode: retroactive\n", plan="retro"),
        "marginal.yaml": plan_text(extra=BANDS_1X_15X, plan="marginal"),
    }
    tables = dict(
        reps=REPS_HEAD + "R1,Rita,North,retro,10000,2026-01-01,\nR2,Raul,North,marginal,10000,2026-01-01,\n",
        sales=SALES_HEAD + "S1,R1,c1,loan,7000,2026-01-05,\nS2,R1,c2,loan,5000,2026-01-20,\n"
        + "S3,R2,c3,loan,7000,2026-01-05,\nS4,R2,c4,loan,5000,2026-01-20,\n",
    )
    payouts, lines = run_period(tmp_path, plans, "2026-01", **tables)
    assert (payouts["R1"]["attainment"], payouts["R1"]["earned"]) == ("1.200000", "1800.00")
    assert (payouts["R2"]["attainment"], payouts["R2"]["earned"]) == ("1.200000", "1300.00")
    assert lines_of(lines, "rep_id", "sale_id", "tiers", "amount") == [
        ("R1", "S1", "1.50@7000.00", "1050.00"),
        ("R1", "S2", "1.50@5000.00", "750.00"),
        ("R2", "S3", "1.00@7000.00", "700.00"),
        ("R2", "S4", "1.00@3000.00|1.50@2000.00", "600.00"),
    ]
