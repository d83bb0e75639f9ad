"""Input checks against the plans (unknown plan, active dates, plan version in force), and the
warnings about products the plans and the sales do not agree on."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from comp_calc.data.checks import cross_checks, product_warnings
from comp_calc.outputs.writer import exceptions_frame
from comp_calc.data.load import load_inputs
from comp_calc.errors import Diagnostic
from comp_calc.periods import MONTH, QUARTER, period_containing
from comp_calc.plan.load import load_plans
from comp_calc.plan.model import Plan, PlanSet, RateRule
from conftest import PLANS as SHIPPED_PLANS
from conftest import SAMPLE, invoke, write_case

REPS_HEAD = "rep_id,name,team,plan,quota,start_date,end_date\n"
SALES_HEAD = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\n"


def plan(plan_id: str, effective_from: date, period: str = MONTH, version: int = 1) -> Plan:
    return Plan(plan_id, version, effective_from, "EUR", period, "half_up", (RateRule(None, Decimal("0.01")),))


PLANS = PlanSet((plan("monthly", date(2026, 1, 1)), plan("monthly", date(2026, 7, 1), version=2),
                 plan("quarterly", date(2026, 4, 1), QUARTER)))


def load(tmp_path: Path, reps: str, sales: str, feedback: str | None = None, contacts: str | None = None):
    files = {"reps": reps, "sales": sales, "feedback": feedback, "contacts": contacts}
    for name, content in files.items():
        if content is not None:
            (tmp_path / f"{name}.csv").write_text(content)
    inputs = load_inputs(tmp_path)
    assert inputs.problems == []
    return inputs


def where(diags: list[Diagnostic]) -> list[tuple]:
    return [(d.file, d.line, d.column, d.code) for d in diags]


def test_valid_inputs_pass_unchanged(tmp_path):
    inputs = load(tmp_path, REPS_HEAD + "E1,A,T,monthly,1,2026-01-01,\n", SALES_HEAD + "S1,E1,C,p,1,2026-01-01,\n")
    out, new = cross_checks(inputs, PLANS)
    assert new == [] and out.problems == []
    assert out.sales.frame.equals(inputs.sales.frame) and out.reps.frame.equals(inputs.reps.frame)


def test_unknown_plan_rejects_the_rep_and_everything_referring_to_it(tmp_path):
    inputs = load(
        tmp_path,
        REPS_HEAD + "E1,A,T,monthly,1,2026-01-01,\nE2,B,T,mnthly,1,2026-01-01,\n",
        SALES_HEAD + "S1,E1,C,p,1,2026-01-01,\nS2,E2,C,p,1,2026-01-01,\nS3,E2,C,p,1,2030-01-01,\n",
        "response_id,rep_id,customer_id,responded_on,survey,score\nF1,E2,C,2026-01-05,nps,9\nF2,E1,C,2026-01-05,nps,9\n",
        "contact_id,rep_id,customer_id,contacted_on,channel,connected\nK1,E2,C,2026-01-01,voice,true\n",
    )
    out, new = cross_checks(inputs, PLANS, until=date(2026, 1, 31))
    assert where(new) == [
        (str(tmp_path / "reps.csv"), 3, "plan", "unknown-plan"),
        (str(tmp_path / "sales.csv"), 3, "rep_id", "rep-rejected"),
        (str(tmp_path / "sales.csv"), 4, "rep_id", "rep-rejected"),
        (str(tmp_path / "feedback.csv"), 2, "rep_id", "rep-rejected"),
        (str(tmp_path / "contacts.csv"), 2, "rep_id", "rep-rejected"),
    ]
    assert new[0].message == "plan 'mnthly' is not defined in the plans directory"
    assert new[1].message == "rep 'E2' was rejected (reps.csv line 3)"
    assert out.problems == new
    assert out.reps.frame["rep_id"].to_list() == ["E1"]
    assert out.sales.frame["sale_id"].to_list() == ["S1"]
    assert out.feedback.frame["response_id"].to_list() == ["F2"]
    assert out.contacts.frame.height == 0
    assert [t.rows_rejected for t in out.tables()] == [1, 2, 1, 1]
    assert out.sales.frame.schema == inputs.sales.frame.schema


def test_sale_outside_active_dates(tmp_path):
    inputs = load(
        tmp_path,
        REPS_HEAD + "E1,A,T,monthly,1,2026-02-10,2026-03-20\nE2,B,T,monthly,1,2026-01-01,\n",
        SALES_HEAD
        + "S1,E1,C,p,1,2026-02-09,\n"  # day before start
        + "S2,E1,C,p,1,2026-02-10,\n"  # start day: active
        + "S3,E1,C,p,1,2026-03-20,\n"  # end day: active
        + "S4,E1,C,p,1,2026-03-21,\n"  # day after end
        + "S5,E2,C,p,1,2027-05-01,\n",  # open end
    )
    out, new = cross_checks(inputs, PLANS)
    assert where(new) == [
        (str(tmp_path / "sales.csv"), 2, "sold_on", "sale-outside-active-dates"),
        (str(tmp_path / "sales.csv"), 5, "sold_on", "sale-outside-active-dates"),
    ]
    assert new[1].message == "sold on 2026-03-21, outside the active dates of rep 'E1' (2026-02-10 to 2026-03-20)"
    assert out.sales.frame["sale_id"].to_list() == ["S2", "S3", "S5"]
    assert out.sales.rows_rejected == 2


def test_no_plan_version_in_force_for_the_sale_period(tmp_path):
    inputs = load(
        tmp_path,
        REPS_HEAD + "E1,A,T,monthly,1,2025-01-01,\nE2,B,T,quarterly,1,2025-01-01,\n",
        SALES_HEAD
        + "S1,E1,C,p,1,2025-12-31,\n"  # before the first monthly version
        + "S2,E1,C,p,1,2026-01-01,\n"
        + "S3,E2,C,p,1,2026-03-31,\n"  # Q1: before the first quarterly version
        + "S4,E2,C,p,1,2026-04-01,\n"
        + "S5,E2,C,p,1,2026-06-30,\n",
    )
    out, new = cross_checks(inputs, PLANS)
    assert where(new) == [
        (str(tmp_path / "sales.csv"), 2, "sold_on", "no-plan-version"),
        (str(tmp_path / "sales.csv"), 4, "sold_on", "no-plan-version"),
    ]
    assert new[0].message == "plan 'monthly' of rep 'E1' has no version in force for period 2025-12 (first version from 2026-01-01)"
    assert new[1].message == "plan 'quarterly' of rep 'E2' has no version in force for period 2026-Q1 (first version from 2026-04-01)"
    assert out.sales.frame["sale_id"].to_list() == ["S2", "S4", "S5"]


def test_a_version_from_mid_month_leaves_its_first_month_without_a_version(tmp_path):
    # the plan loader requires a period start; built directly, a version from 2026-01-15 is not
    # in force at the start of period 2026-01 (2026-01-01 < 2026-01-15), so every January sale
    # has no version, and February (starts 2026-02-01 >= 2026-01-15) has one
    inputs = load(
        tmp_path,
        REPS_HEAD + "E1,A,T,mid,1,2025-01-01,\n",
        SALES_HEAD + "S1,E1,C,p,1,2026-01-31,\nS2,E1,C,p,1,2026-02-01,\nS3,E1,C,p,1,2026-01-15,\n",
    )
    out, new = cross_checks(inputs, PlanSet((plan("mid", date(2026, 1, 15)),)))
    assert where(new) == [
        (str(tmp_path / "sales.csv"), 2, "sold_on", "no-plan-version"),
        (str(tmp_path / "sales.csv"), 4, "sold_on", "no-plan-version"),
    ]
    assert new[0].message == "plan 'mid' of rep 'E1' has no version in force for period 2026-01 (first version from 2026-01-15)"
    assert out.sales.frame["sale_id"].to_list() == ["S2"]


def test_a_sale_can_break_both_date_rules(tmp_path):
    inputs = load(tmp_path, REPS_HEAD + "E1,A,T,monthly,1,2025-06-01,\n", SALES_HEAD + "S1,E1,C,p,1,2025-05-31,\n")
    _, new = cross_checks(inputs, PLANS)
    assert where(new) == [
        (str(tmp_path / "sales.csv"), 2, "sold_on", "sale-outside-active-dates"),
        (str(tmp_path / "sales.csv"), 2, "sold_on", "no-plan-version"),
    ]


def test_sales_after_until_are_not_date_checked(tmp_path):
    inputs = load(
        tmp_path,
        REPS_HEAD + "E1,A,T,monthly,1,2026-01-01,2026-06-30\n",
        SALES_HEAD + "S1,E1,C,p,1,2026-07-01,\nS2,E1,C,p,1,2026-08-01,\n",
    )
    out, new = cross_checks(inputs, PLANS, until=date(2026, 7, 1))
    assert where(new) == [(str(tmp_path / "sales.csv"), 2, "sold_on", "sale-outside-active-dates")]
    assert out.sales.frame["sale_id"].to_list() == ["S2"]


def test_problems_accumulate_with_the_loader_ones(tmp_path):
    (tmp_path / "reps.csv").write_text(REPS_HEAD + "E1,A,T,nope,1,2026-01-01,\nE2,A,T,monthly,x,2026-01-01,\n")
    (tmp_path / "sales.csv").write_text(SALES_HEAD + "S1,E1,C,p,1,2026-01-01,\n")
    inputs = load_inputs(tmp_path)
    out, new = cross_checks(inputs, PLANS)
    assert where(out.problems) == [
        (str(tmp_path / "reps.csv"), 3, "quota", "bad-decimal"),
        (str(tmp_path / "reps.csv"), 2, "plan", "unknown-plan"),
        (str(tmp_path / "sales.csv"), 2, "rep_id", "rep-rejected"),
    ]
    assert (out.reps.rows_read, out.reps.rows_rejected) == (2, 2)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_period_starts_by_truncation_match_period_containing(day):
    frame = pl.DataFrame({"d": [day]}).select(
        month=pl.col("d").dt.truncate("1mo"), quarter=pl.col("d").dt.truncate("1q")
    )
    assert frame.row(0) == (period_containing(day, MONTH).start, period_containing(day, QUARTER).start)


def test_exceptions_frame_is_sorted_and_typed():
    diags = [
        Diagnostic("sales.csv", 3, "amount", "bad-decimal", "m1"),
        Diagnostic("reps.csv", 2, "quota", "bad-decimal", "m2"),
        Diagnostic("sales.csv", 3, None, "wrong-field-count", "m3"),
        Diagnostic("sales.csv", 2, "sold_on", "bad-date", "m4"),
    ]
    frame = exceptions_frame(diags)
    assert frame.columns == ["file", "line", "column", "code", "message", "severity"]
    assert frame["line"].dtype == pl.Int64
    assert frame["severity"].to_list() == ["error"] * 4
    assert frame["message"].to_list() == ["m2", "m4", "m3", "m1"]
    empty = exceptions_frame([])
    assert empty.height == 0 and empty.schema == frame.schema


def test_parquet_inputs_are_checked_and_named_by_their_file(tmp_path):
    reps = pl.DataFrame(
        {"rep_id": ["E1", "E2"], "name": ["A", "B"], "team": ["T", "T"], "plan": ["monthly", "mnthly"],
         "quota": ["1", "1"], "start_date": [date(2026, 1, 1), date(2026, 1, 1)], "end_date": [None, None]},
        schema_overrides={"end_date": pl.Date},
    )
    sales = pl.DataFrame(
        {"sale_id": ["S1", "S2", "S3"], "rep_id": ["E1", "E2", "E1"], "customer_id": ["C", "C", "C"],
         "product": ["p", "p", "p"], "amount": [Decimal("1.00")] * 3,
         "sold_on": [date(2026, 1, 1), date(2026, 1, 2), date(2025, 12, 1)], "cancelled_on": [None, None, None]},
        schema_overrides={"amount": pl.Decimal(10, 2), "cancelled_on": pl.Date},
    )
    reps.write_parquet(tmp_path / "reps.parquet")
    sales.write_parquet(tmp_path / "sales.parquet")
    inputs = load_inputs(tmp_path)
    assert inputs.problems == []
    out, new = cross_checks(inputs, PLANS)
    assert where(new) == [
        (str(tmp_path / "reps.parquet"), 2, "plan", "unknown-plan"),
        (str(tmp_path / "sales.parquet"), 2, "rep_id", "rep-rejected"),
        (str(tmp_path / "sales.parquet"), 3, "sold_on", "sale-outside-active-dates"),
        (str(tmp_path / "sales.parquet"), 3, "sold_on", "no-plan-version"),
    ]
    assert new[1].message == "rep 'E2' was rejected (reps.parquet line 2)"
    assert out.sales.frame["sale_id"].to_list() == ["S1"]
    assert out.sales.frame.schema == inputs.sales.frame.schema


def test_many_valid_rows_pass_unchanged(tmp_path):
    """Rules are evaluated as booleans over every row; nothing is built for valid rows."""
    n = 5000
    sales = SALES_HEAD + "".join(f"S{i:05d},E1,C{i % 7},p,{i % 90 + 1}.25,2026-01-{i % 28 + 1:02d},\n" for i in range(n))
    inputs = load(tmp_path, REPS_HEAD + "E1,A,T,monthly,1,2026-01-01,\n", sales)
    out, new = cross_checks(inputs, PLANS)
    assert new == [] and out.sales.frame.height == n and out.sales.rows_rejected == 0
    assert out.sales.frame["line"].to_list() == list(range(2, n + 2))


# --------------------------------------------------------------------------
# products the plans and the data do not agree on (warnings)

def yaml_plan(plan_id: str, version: int, effective_from: str, *named: str) -> str:
    rules = "".join(f"  - product: {p}\n    rate: 0.02\n" for p in named)
    return (
        f"plan: {plan_id}\nversion: {version}\neffective_from: {effective_from}\ncurrency: EUR\n"
        f"period: month\nrounding: half_up\nrates:\n{rules}  - rate: 0.005\n"
    )


def case(tmp_path: Path, plans: dict[str, str], sales: str, reps: str = REPS_HEAD + "E1,A,T,bank,1000,2026-01-01,\n"):
    plans_dir, data = write_case(tmp_path, plans, reps=reps, sales=SALES_HEAD + sales)
    plan_set, problems = load_plans(plans_dir)
    assert problems == []
    inputs, new = cross_checks(load_inputs(data), plan_set)
    assert new == [] and inputs.problems == []
    return plans_dir, data, inputs, plan_set


def test_a_sale_only_the_catch_all_prices_next_to_a_similar_rule_is_a_warning(tmp_path):
    _, _, inputs, plan_set = case(
        tmp_path,
        {"bank.yaml": yaml_plan("bank", 1, "2026-01-01", "personal_loan", "mortgage")},
        "S1,E1,C,personal_loan,100,2026-01-02,\n"
        "S2,E1,C,home_insurence,100,2026-01-03,\n"  # nothing like it in the plan: the catch-all is meant
        "S3,E1,C,personal_laon,100,2026-01-04,\n"  # line 4: first sale of the typo
        "S4,E1,C,personal_laon,100,2026-01-05,\n"  # the same product again: not reported twice
        "S5,E1,C,mortgage,100,2026-01-06,\n",
    )
    found = product_warnings(inputs, plan_set)
    assert [(d.file, d.line, d.column, d.code, d.severity) for d in found] == [
        (str(tmp_path / "data" / "sales.csv"), 4, "product", "similar-product", "warning"),
    ]
    assert found[0].message == (
        "product 'personal_laon' has no rate of its own in plan 'bank' and is paid at the catch-all rate; "
        "the plan has a rule for 'personal_loan'"
    )
    assert str(found[0]) == f"{tmp_path / 'data' / 'sales.csv'}:4: warning: similar-product product: {found[0].message}"


def test_similar_products_are_reported_once_per_plan(tmp_path):
    reps = REPS_HEAD + "E1,A,T,bank,1000,2026-01-01,\nE2,B,T,shop,1000,2026-01-01,\nE3,C,T,shop,1000,2026-01-01,\n"
    _, _, inputs, plan_set = case(
        tmp_path,
        {"bank.yaml": yaml_plan("bank", 1, "2026-01-01", "personal_loan"),
         "shop.yaml": yaml_plan("shop", 1, "2026-01-01", "personal_loan")},
        "S1,E3,C,personal_laon,100,2026-01-02,\n"  # line 2: shop
        "S2,E1,C,personal_laon,100,2026-01-03,\n"  # line 3: bank
        "S3,E2,C,personal_laon,100,2026-01-04,\n"  # shop again
        "S4,E1,C,personal_loan,100,2026-01-04,\n",
        reps=reps,
    )
    found = product_warnings(inputs, plan_set)
    assert [(d.line, d.code) for d in found] == [(2, "similar-product"), (3, "similar-product")]
    assert "plan 'shop'" in found[0].message and "plan 'bank'" in found[1].message


def test_a_rule_for_a_product_never_sold_is_a_warning_at_its_line(tmp_path):
    _, _, inputs, plan_set = case(
        tmp_path,
        # rules start on line 8: mortgage (8), personal_laon (10)
        {"bank.yaml": yaml_plan("bank", 1, "2026-01-01", "mortgage", "personal_laon")},
        "S1,E1,C,mortgage,100,2026-01-02,\nS2,E1,C,personal_loan,100,2026-01-03,\n",
    )
    found = product_warnings(inputs, plan_set)
    assert [(Path(d.file).name, d.line, d.column, d.code, d.severity) for d in found] == [
        ("bank.yaml", 10, "rates[1].product", "product-never-sold", "warning"),
        ("sales.csv", 3, "product", "similar-product", "warning"),
    ]
    assert found[0].message == "the rule names product 'personal_laon', which no sale in the data has; the data has 'personal_loan'"


def test_only_sales_and_plan_versions_up_to_the_period_end_count(tmp_path):
    _, _, inputs, plan_set = case(
        tmp_path,
        {"v1.yaml": yaml_plan("bank", 1, "2026-01-01", "mortgage"),
         "v2.yaml": yaml_plan("bank", 2, "2026-03-01", "mortgage", "pension")},
        "S1,E1,C,mortgage,100,2026-03-02,\n"  # after January: not in a January run
        "S2,E1,C,mortgages,100,2026-01-05,\n"
        "S3,E1,C,mortgage_,100,2026-02-05,\n",  # after January
    )
    january = product_warnings(inputs, plan_set, until=date(2026, 1, 31))
    # v2 is not in force in January: its pension rule is not looked at
    assert [(Path(d.file).name, d.line, d.code) for d in january] == [
        ("v1.yaml", 8, "product-never-sold"),
        ("sales.csv", 3, "similar-product"),
    ]
    whole = product_warnings(inputs, plan_set)
    assert [(Path(d.file).name, d.line, d.code) for d in whole] == [
        ("v2.yaml", 10, "product-never-sold"),
        ("sales.csv", 3, "similar-product"),
        ("sales.csv", 4, "similar-product"),
    ]


def test_validate_reports_warnings_and_passes_unless_strict(tmp_path):
    plans_dir, data, _, _ = case(
        tmp_path,
        {"bank.yaml": yaml_plan("bank", 1, "2026-01-01", "personal_loan")},
        "S1,E1,C,personal_laon,100,2026-01-02,\n",
    )
    result = invoke("validate", "--plans", plans_dir, "--data", data, columns=300)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{plans_dir / 'bank.yaml'}:8: warning: product-never-sold rates[0].product: the rule names product "
        "'personal_loan', which no sale in the data has; the data has 'personal_laon'",
        f"{data / 'sales.csv'}:2: warning: similar-product product: product 'personal_laon' has no rate of its own in plan "
        "'bank' and is paid at the catch-all rate; the plan has a rule for 'personal_loan'",
        "No problems; 2 warnings found (--strict makes them errors).",
    ]
    as_json = invoke("validate", "--plans", plans_dir, "--data", data, "--format", "json")
    assert as_json.exit_code == 0
    assert [(d["code"], d["severity"]) for d in json.loads(as_json.stdout)["diagnostics"]] == [
        ("product-never-sold", "warning"), ("similar-product", "warning"),
    ]
    strict = invoke("validate", "--plans", plans_dir, "--data", data, "--format", "json", "--strict")
    assert strict.exit_code == 2
    assert [(d["code"], d["severity"]) for d in json.loads(strict.stdout)["diagnostics"]] == [
        ("product-never-sold", "error"), ("similar-product", "error"),
    ]


def test_run_writes_warnings_to_exceptions_and_strict_stops_it(tmp_path):
    plans_dir, data, _, _ = case(
        tmp_path,
        {"bank.yaml": yaml_plan("bank", 1, "2026-01-01", "personal_loan")},
        "S1,E1,C,personal_loan,100,2026-01-02,\nS2,E1,C,personal_laon,100,2026-01-31,\n",
    )
    out = tmp_path / "out"
    strict = invoke("run", "--plans", plans_dir, "--data", data, "--out", out, "--strict")
    assert strict.exit_code == 2 and not out.exists()
    assert f"{data / 'sales.csv'}:3: similar-product product:" in strict.stderr
    result = invoke("run", "--plans", plans_dir, "--data", data, "--out", out, columns=300)
    assert result.exit_code == 0, result.output
    assert f"{data / 'sales.csv'}:3: warning: similar-product product:" in result.stderr
    assert (out / "2026-01" / "exceptions.csv").read_text().splitlines() == [
        "file,line,column,code,message,severity",
        f"{data / 'sales.csv'},3,product,similar-product,product 'personal_laon' has no rate of its own in plan 'bank' and is "
        "paid at the catch-all rate; the plan has a rule for 'personal_loan',warning",
    ]


def test_the_shipped_plans_and_sample_validate_silently_even_strict():
    result = invoke("validate", "--plans", SHIPPED_PLANS, "--data", SAMPLE, "--strict")
    assert result.exit_code == 0, result.output
    assert result.stdout == "All clear: no problems found.\n"


def test_bare_validate_checks_the_default_data_folder(tmp_path, monkeypatch):
    reps = REPS_HEAD + "E1,A,T,bank,1000,2026-01-01,\n"
    sales = SALES_HEAD + "S1,E1,C,mortgage,100,2026-02-30,\n"
    write_case(tmp_path, {"bank.yaml": yaml_plan("bank", 1, "2026-01-01", "mortgage")}, reps=reps, sales=sales)
    (tmp_path / "data").rename(tmp_path / "sample_data")
    monkeypatch.chdir(tmp_path)
    result = invoke("validate", columns=300)
    assert result.exit_code == 2
    assert result.stdout.startswith("sample_data/sales.csv:2: bad-date sold_on:")


def test_warnings_are_the_same_for_data_read_in_blocks(tmp_path):
    from comp_calc.data.stream import load_inputs_streaming

    _, data, inputs, plan_set = case(
        tmp_path,
        {"bank.yaml": yaml_plan("bank", 1, "2026-01-01", "personal_loan", "pension")},
        "S1,E1,C,personal_loan,100,2026-02-02,\nS2,E1,C,personal_laon,100,2026-01-31,\nS3,E1,C,personal_laon,1,2026-01-01,\n",
    )
    (tmp_path / "scratch").mkdir()
    streamed, _ = cross_checks(load_inputs_streaming(data, tmp_path / "scratch"), plan_set)
    assert streamed.sales.parts  # the sales are on disk, by month
    expected = {
        None: [(10, "product-never-sold"), (3, "similar-product")],
        date(2026, 1, 31): [(8, "product-never-sold"), (10, "product-never-sold"), (3, "similar-product")],
    }
    for until, lines in expected.items():
        found = product_warnings(streamed, plan_set, until)
        assert found == product_warnings(inputs, plan_set, until)
        assert [(d.line, d.code) for d in found] == lines
