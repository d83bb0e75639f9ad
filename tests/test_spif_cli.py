"""Campaign SPIFs through the command line: campaigns.csv, the plan key `campaigns`, payouts,
lines, explain, statements, diff and validate (SPEC 6.1-6.4).

The fixture (tests/fixtures/spif), by hand, plan `cards`: credit_card 0.05, else 0.01;
relationship share 0.20 for voice calls within 30 days; clawback 30 days -> 1.0, 90 -> 0.5;
campaigns spring-cards 25.00 per sale (credit_card, March), then home-week rate 0.01
(credit_card, 9-15 March).

March:
- S1 A1 credit_card 1234.50 on 10 March; B2 called c1 on 2 March: B2 relationship 246.90,
  A1 seller 987.60. A1 commission 987.60 x 0.05 = 49.38; spring-cards 25.00; home-week
  round(0.01 x 987.60) = round(9.876) = 9.88. B2 commission 246.90 x 0.05 = 12.345 -> 12.35, no spif.
- S2 A1 credit_card 800 on 20 March: 40.00; spring-cards 25.00 (home-week is over).
- S3 B2 credit_card 600 on 9 March (home-week's first day): 30.00; 25.00 and 6.00.
- S4 A1 mortgage 50000 on 12 March: 500.00, no campaign for mortgages.
A1: earned 49.38 + 40.00 + 500.00 = 589.38, spifs 25.00 + 9.88 + 25.00 = 59.88, payout 649.26.
B2: earned 12.35 + 30.00 = 42.35, spifs 31.00, payout 73.35.
February: S6 credit_card on 28 February, the day before spring-cards: 100.00, no spif.
May: S2 cancelled 4 May, 45 days after the sale: the 90-day rule, 0.5: commission
-round(0.5 x 40.00) = -20.00, then spring-cards -round(0.5 x 25.00) = -12.50; A1 carries -32.50.
"""

from __future__ import annotations

import json
import shutil
from functools import partial
from pathlib import Path

import pytest

import conftest
from conftest import invoke, read_csv
from comp_calc.data import stream
from test_streaming import assert_same_run

FIXTURE = Path(__file__).parent / "fixtures" / "spif"
PLANS, DATA = FIXTURE / "plans", FIXTURE / "data"
wide = partial(invoke, columns=200)


def _run(tmp_path: Path, period: str, plans: Path = PLANS, data: Path = DATA, *more: str):
    out = tmp_path / "out"
    r = invoke("run", "--plans", plans, "--data", data, "--period", period, "--out", out, "--allow-incomplete", *more)
    return r, out / period


def test_march_pays_spifs_in_payouts_and_lines(tmp_path):
    r, folder = _run(tmp_path, "2026-03")
    assert r.exit_code == 0, r.output
    a1, b2 = read_csv(folder / "payouts.csv")
    assert (a1["earned"], a1["spifs"], a1["payout"]) == ("589.38", "59.88", "649.26")
    assert (b2["earned"], b2["spifs"], b2["payout"]) == ("42.35", "31.00", "73.35")
    lines = read_csv(folder / "lines.csv")
    assert [(x["rep_id"], x["kind"], x["sale_id"], x["role"], x["rate"], x["amount"], x["reference"]) for x in lines] == [
        ("A1", "commission", "S1", "seller", "0.05", "49.38", ""),
        ("A1", "commission", "S4", "seller", "0.01", "500.00", ""),
        ("A1", "commission", "S2", "seller", "0.05", "40.00", ""),
        ("A1", "spif", "S1", "seller", "", "25.00", "spring-cards"),
        ("A1", "spif", "S1", "seller", "0.01", "9.88", "home-week"),
        ("A1", "spif", "S2", "seller", "", "25.00", "spring-cards"),
        ("B2", "commission", "S3", "seller", "0.05", "30.00", ""),
        ("B2", "commission", "S1", "relationship", "0.05", "12.35", ""),
        ("B2", "spif", "S3", "seller", "", "25.00", "spring-cards"),
        ("B2", "spif", "S3", "seller", "0.01", "6.00", "home-week"),
    ]  # fmt: skip
    assert lines[4]["explanation"] == "sale S1 (credit_card) sold 2026-03-10, home-week campaign: 1% of 987.60 credited = 9.88"
    assert lines[4]["credited"] == "987.60" and lines[4]["tiers"] == "" and lines[4]["currency"] == "EUR"
    inputs = json.loads((folder / "manifest.json").read_text())["inputs"]
    assert inputs["campaigns"]["file"] == "campaigns.csv"
    assert (inputs["campaigns"]["rows_read"], inputs["campaigns"]["rows_used"]) == (3, 3)


def test_a_sale_the_day_before_a_campaign_earns_no_spif(tmp_path):
    r, folder = _run(tmp_path, "2026-02")
    assert r.exit_code == 0, r.output
    assert [x["kind"] for x in read_csv(folder / "lines.csv")] == ["commission"]
    assert [x["spifs"] for x in read_csv(folder / "payouts.csv")] == ["0.00", "0.00"]


def test_a_later_cancellation_claws_back_the_spif_after_the_commission(tmp_path):
    r, folder = _run(tmp_path, "2026-05")
    assert r.exit_code == 0, r.output
    claws = [x for x in read_csv(folder / "lines.csv") if x["rep_id"] == "A1"]
    assert [(x["kind"], x["sale_id"], x["amount"], x["reference"]) for x in claws] == [
        ("clawback", "S2", "-20.00", ""),
        ("clawback", "S2", "-12.50", "spring-cards"),
    ]
    assert claws[1]["explanation"] == (
        "sale S2 sold 2026-03-20 cancelled 2026-05-04 (45 days, 90-day rule): "
        "recover 0.5 of the spring-cards campaign's 25.00 paid in 2026-03 = -12.50"
    )
    a1 = read_csv(folder / "payouts.csv")[0]
    assert (a1["clawbacks"], a1["spifs"], a1["payout"], a1["carry_out"]) == ("-32.50", "0.00", "0.00", "-32.50")


@pytest.mark.parametrize("period, block_bytes", [("2026-03", 60), ("2026-05", 60), ("2026-05", stream.BLOCK_BYTES)])
def test_streaming_gives_the_same_files(tmp_path, monkeypatch, period, block_bytes):
    # in May the spif of S2 (March) is clawed back: a streaming run keeps it from March
    assert_same_run(
        DATA, tmp_path, "--period", period, block_bytes=block_bytes, monkeypatch=monkeypatch, succeeds=True, plans=PLANS
    )


def test_explain_and_statements_show_the_spifs_in_words(tmp_path):
    args = ("explain", "--plans", PLANS, "--data", DATA, "--rep", "A1", "--period", "2026-03", "--allow-incomplete")
    r = wide(*args)
    assert r.exit_code == 0, r.output
    assert "Campaign lines (spifs)" in r.output
    assert "25.00 per sale" in r.output and "1% of 987.60 credited" in r.output
    assert "Spifs       59.88  3 campaign line(s)" in r.output
    j = json.loads(invoke(*args, "--format", "json").output)
    assert (j["spifs"], j["payout"]) == ("59.88", "649.26")
    assert [(x["campaign"], x["amount"], x["explanation"]) for x in j["spif_lines"]] == [
        ("spring-cards", "25.00", "spring-cards campaign: 25.00 per sale"),
        ("home-week", "9.88", "home-week campaign: 1% of 987.60 credited = 9.88"),
        ("spring-cards", "25.00", "spring-cards campaign: 25.00 per sale"),
    ]
    may = wide("explain", "--plans", PLANS, "--data", DATA, "--rep", "A1", "--period", "2026-05", "--allow-incomplete")
    assert may.exit_code == 0, may.output
    assert "spring-cards campaign" in may.output
    r, folder = _run(tmp_path, "2026-03", PLANS, DATA, "--statements")
    assert r.exit_code == 0, r.output
    page = next((folder / "statements").glob("*A1*")).read_text()
    assert "<h2>Campaign lines (spifs)</h2>" in page and "1% of 987.60 credited" in page


def test_a_plan_naming_an_unknown_campaign_is_a_plan_error(tmp_path):
    plans = tmp_path / "plans"
    shutil.copytree(PLANS, plans)
    text = (plans / "cards.yaml").read_text().replace("campaign: home-week", "campaign: home-weak")
    (plans / "cards.yaml").write_text(text)
    line = text.splitlines().index("  - campaign: home-weak") + 1  # the entry's line: 25
    expected = f"{plans / 'cards.yaml'}:{line}: unknown-campaign campaigns[1].campaign: campaign 'home-weak' is not in campaigns.csv; did you mean 'home-week'?"
    r, folder = _run(tmp_path, "2026-03", plans)
    assert r.exit_code == 2 and expected in conftest.text(r.output).replace("\n", ""), r.output
    assert not folder.exists()
    v = invoke("validate", "--plans", plans, "--data", DATA, "--format", "json")
    assert v.exit_code == 2
    found = [d for d in json.loads(v.output)["diagnostics"] if d["code"] == "unknown-campaign"]
    assert [(d["file"], d["line"], d["column"]) for d in found] == [(str(plans / "cards.yaml"), line, "campaigns[1].campaign")]
    # no campaigns.csv at all: every campaign a plan names is unknown
    data = tmp_path / "nocal"
    shutil.copytree(DATA, data)
    (data / "campaigns.csv").unlink()
    r = invoke("validate", "--plans", PLANS, "--data", data, "--format", "json")
    assert [d["message"] for d in json.loads(r.output)["diagnostics"]] == [
        "campaign 'spring-cards' is not in campaigns.csv", "campaign 'home-week' is not in campaigns.csv",
    ]  # fmt: skip


PLAN_HEAD = """\
plan: p
version: 1
effective_from: 2026-01-01
currency: EUR
period: month
rounding: half_up
rates:
  - rate: 0.1
campaigns:
"""


@pytest.mark.parametrize(
    "entries, problems",
    [
        # per_sale and rate together: the second one is the mistake
        ("  - campaign: a\n    per_sale: 25.00\n    rate: 0.01\n", [(12, "campaigns[0].rate", "conflicting-keys")]),
        # neither
        ("  - campaign: a\n", [(10, "campaigns[0]", "missing-key")]),
        # per_sale with 3 decimals
        ("  - campaign: a\n    per_sale: 25.005\n", [(11, "campaigns[0].per_sale", "too-precise")]),
        # a rate above 1, a negative per_sale
        ("  - campaign: a\n    rate: 1.5\n  - campaign: b\n    per_sale: -1\n",
         [(11, "campaigns[0].rate", "out-of-range"), (13, "campaigns[1].per_sale", "out-of-range")]),
        # a campaign listed twice
        ("  - campaign: a\n    per_sale: 1\n  - campaign: a\n    rate: 0.5\n", [(12, "campaigns[1].campaign", "duplicate-entry")]),
    ],
)
def test_plan_mistakes_in_campaigns(tmp_path, entries, problems):
    plans, _ = conftest.write_case(tmp_path, {"p.yaml": PLAN_HEAD + entries})
    r = invoke("validate", "--plans", plans, "--data", DATA, "--format", "json")
    assert r.exit_code == 2, r.output
    found = [d for d in json.loads(r.output)["diagnostics"] if d["file"].endswith("p.yaml")]
    assert [(d["line"], d["column"], d["code"]) for d in found] == problems


CALENDAR_HEAD = "campaign_id,product,starts_on,ends_on\n"


def test_bad_campaign_rows_are_reported_with_file_line_and_column(tmp_path):
    rows = (
        "spring-cards,credit_card,2026-03-01,2026-03-31\n"
        "home-week,credit_card,2026-03-09,2026-03-15\n"
        "late,credit_card,2026-03-10,2026-03-09\n"  # line 4: ends before it starts
        "spring-cards,credit_card,2026-04-01,2026-04-30\n"  # line 5: a repeated id
        "empty,,2026-03-01,2026-03-31\n"  # line 6: no product
        "typo,credit_card,2026-03-01,2026-02-30\n"  # line 7: no such day
    )
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    (data / "campaigns.csv").write_text(CALENDAR_HEAD + rows)
    r = invoke("validate", "--plans", PLANS, "--data", data, "--format", "json")
    assert r.exit_code == 2, r.output
    found = [(d["file"], d["line"], d["column"], d["code"]) for d in json.loads(r.output)["diagnostics"]]
    name = str(data / "campaigns.csv")
    assert found == [
        (name, 4, "ends_on", "ends-before-starts"),
        (name, 5, "campaign_id", "duplicate-id"),
        (name, 6, "product", "missing-value"),
        (name, 7, "ends_on", "bad-date"),
    ]
    messages = [d["message"] for d in json.loads(r.output)["diagnostics"]]
    assert messages[0] == "ends_on 2026-03-09 is before starts_on 2026-03-10"
    assert messages[1] == "duplicate campaign_id 'spring-cards' (first on line 2)"
    r, folder = _run(tmp_path, "2026-03", PLANS, data)
    assert r.exit_code == 2 and not folder.exists()


def test_skip_invalid_leaves_out_a_bad_campaign_row(tmp_path):
    # line 3 (home-week) ends before it starts: skipped, the plan's home-week entry names a campaign
    # campaigns.csv no longer has, which is a plan error even under --skip-invalid
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    (data / "campaigns.csv").write_text(CALENDAR_HEAD + "spring-cards,credit_card,2026-03-01,2026-03-31\nhome-week,credit_card,2026-03-15,2026-03-09\n")
    r, folder = _run(tmp_path, "2026-03", PLANS, data, "--skip-invalid")
    assert r.exit_code == 2 and "campaign 'home-week' is not in campaigns.csv" in r.output


def test_a_campaigns_parquet_file_reads_like_the_csv(tmp_path):
    import polars as pl

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    pl.read_csv(data / "campaigns.csv", infer_schema=False).write_parquet(data / "campaigns.parquet")
    (data / "campaigns.csv").unlink()
    r, folder = _run(tmp_path, "2026-03", PLANS, data)
    assert r.exit_code == 0, r.output
    assert [x["spifs"] for x in read_csv(folder / "payouts.csv")] == ["59.88", "31.00"]


def test_diff_names_campaign_changes_in_words(tmp_path):
    old = PLANS / "cards.yaml"
    new = tmp_path / "cards-v2.yaml"
    text = old.read_text().replace("version: 1", "version: 2").replace("rate: 0.01\n", "rate: 0.02\n", 2)
    text = text.replace("  - campaign: spring-cards\n    per_sale: 25.00\n", "")
    text += "  - campaign: autumn-loans\n    per_sale: 10\n"
    new.write_text(text)
    r = invoke("diff", old, new, "--plans", PLANS, "--data", DATA, "--period", "2026-03", "--format", "json", "--allow-incomplete")
    assert r.exit_code == 0, r.output
    said = [c["description"] for c in json.loads(r.output)["rule_changes"]]
    assert "removed campaign spring-cards: 25.00 per sale" in said
    assert "campaign home-week rate: 1% -> 2%" in said
    assert "added campaign autumn-loans: 10 per sale" in said
    # the first "rate: 0.01" is the catch-all: S4 50000 x 0.02 = 1000.00; A1 commissions
    # 49.38 + 40.00 + 1000.00 = 1089.38; spring-cards is gone, home-week round(0.02 x 987.60) =
    # round(19.752) = 19.75: new payout 1089.38 + 19.75 = 1109.13
    reps = {x["rep_id"]: x for x in json.loads(r.output)["reps"]}
    assert reps["A1"]["new_payout"] == "1109.13"


def test_diff_words_for_a_switch_of_pay_and_a_new_order():
    from comp_calc.diff.rules import diff_plans
    from factories import campaigns, plan

    old = plan(campaigns=campaigns(("a", "25.00", None), ("b", None, "0.01")))
    new = plan(campaigns=campaigns(("b", None, "0.015"), ("a", None, "0.5")))
    said = [(c.sentence, c.category) for c in diff_plans(old, new).changes]
    assert said == [
        ("campaign a pays: 25.00 per sale -> 50% of credited", "direct"),
        ("campaign b rate: 1% -> 1.5%", "direct"),
        ("campaign order (orders a sale's campaign lines): a, b -> b, a", "metadata"),
    ]
    assert diff_plans(old, plan(campaigns=campaigns(("a", "25", None), ("b", None, "0.010")))).changes == ()


def test_alignment_counts_spifs_as_volume_pay():
    # A1: seller commissions 589.38 + spifs 59.88 = 649.26; B2: seller commission 30.00 + spifs 31.00 = 61.00
    # (B2's relationship commission 12.35 is an outcome term): the plan 649.26 + 61.00 = 710.26
    r = invoke("alignment", "--plans", PLANS, "--data", DATA, "--period", "2026-03", "--format", "json", "--allow-incomplete")
    assert r.exit_code == 0, r.output
    j = json.loads(r.output)
    assert {x["rep_id"]: x["period"]["volume_pay"] for x in j["reps"]} == {"A1": "649.26", "B2": "61.00"}
    assert (j["plans"][0]["period"]["volume_pay"], j["plans"][0]["period"]["outcome_moved"]) == ("710.26", "12.35")
