"""Column mapping: CRM exports read as the input files through `--map FILE` or the data
folder's mapping.yaml (`comp_calc.data.mapping`).

Each case is a tiny data folder: our reps.csv (plan inbound-2026 of the shipped plans)
and a sales export laid out as a CRM writes it, read through a small mapping.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date as _date
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conftest
from comp_calc.data import stream
from comp_calc.data.load import load_inputs
from comp_calc.data.stream import load_inputs_streaming
from conftest import PLANS, ROOT, SAMPLE

invoke = partial(conftest.invoke, columns=200)

REPS = "rep_id,name,team,plan,quota,start_date,end_date\nE1,Ann,North,inbound-2026,10000.00,2025-11-01,\n"
# the same two sales in our layout and as a CRM export (other names, US dates, product words)
SALES = (
    "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\n"
    "S1,E1,C1,credit_card,1500.50,2025-11-03,\n"
    "S2,E1,C2,mortgage,2000.00,2025-11-20,2025-11-25\n"
)
EXPORT = (
    "Id,OwnerId,AccountId,Product_Family,Amount,CloseDate,Cancellation_Date\n"
    "S1,E1,C1,Credit Card,1500.50,11/03/2025,\n"
    "S2,E1,C2,mortgage,2000.00,11/20/2025,11/25/2025\n"
)
MAPPING = """\
sales:
  file: Opportunity_Export.csv
  columns: {sale_id: Id, rep_id: OwnerId, customer_id: AccountId, product: Product_Family,
            amount: Amount, sold_on: CloseDate, cancelled_on: Cancellation_Date}
  date_format: "%m/%d/%Y"
  values: {product: {"Credit Card": credit_card}}
"""


def folder(root: Path, files: dict[str, str]) -> Path:
    """A data folder with `files`, and the sample's campaign calendar (the shipped plans name its campaigns)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "campaigns.csv").write_bytes((SAMPLE / "campaigns.csv").read_bytes())
    for name, content in files.items():
        (root / name).write_text(content, encoding="utf-8", newline="")
    return root


def export_folder(root: Path, mapping: str = MAPPING, export: str = EXPORT, name: str = "Opportunity_Export.csv") -> Path:
    return folder(root, {"reps.csv": REPS, name: export, "mapping.yaml": mapping})


def diagnostics(data: Path, *args) -> tuple[int, list[dict]]:
    """validate's exit code and its errors (json; the shipped plans name products these cases never sell)."""
    result = invoke("validate", "--plans", PLANS, "--data", data, "--format", "json", *args)
    return result.exit_code, [d for d in json.loads(result.stdout)["diagnostics"] if d["severity"] == "error"]


def where(diags: list[dict]) -> list[tuple]:
    return [(Path(d["file"]).name, d["line"], d["column"], d["code"]) for d in diags]


def run_files(data: Path, out: Path, *args) -> dict[str, bytes]:
    result = invoke("run", "--plans", PLANS, "--data", data, "--out", out, "--period", "2025-11",
                    "--allow-incomplete", *args)
    assert result.exit_code == 0, result.output
    return {name: (out / "2025-11" / name).read_bytes() for name in ("payouts.csv", "lines.csv")}


# --- the mapped export gives the same run as our own layout ----------------------------------------


def test_a_mapped_export_runs_like_our_layout(tmp_path: Path):
    # S1's product "Credit Card" is recoded, S2's "mortgage" passes through; 11/20/2025 is 2025-11-20
    ours = run_files(folder(tmp_path / "ours", {"reps.csv": REPS, "sales.csv": SALES}), tmp_path / "out1")
    mapped = run_files(export_folder(tmp_path / "export"), tmp_path / "out2")
    assert mapped == ours
    assert b"credit_card" in ours["lines.csv"] and b"mortgage" in ours["lines.csv"]


def test_a_mapping_that_renames_some_columns_keeps_the_others(tmp_path: Path):
    # only the id and the amount have other names; every other column keeps ours
    export = SALES.replace("sale_id", "Deal").replace("amount", "Deal value")
    mapping = "sales:\n  columns: {sale_id: Deal, amount: Deal value}\n"
    ours = run_files(folder(tmp_path / "ours", {"reps.csv": REPS, "sales.csv": SALES}), tmp_path / "out1")
    mapped = run_files(folder(tmp_path / "m", {"reps.csv": REPS, "sales.csv": export, "mapping.yaml": mapping}),
                       tmp_path / "out2")
    assert mapped == ours


def test_values_recode_listed_values_and_pass_others_through(tmp_path: Path):
    mapping = "sales:\n  values: {product: {Card: credit_card, Loan: personal_loan}}\n"
    export = SALES.replace("credit_card", "Card")  # mortgage is not listed: kept as it is
    inputs = load_inputs(folder(tmp_path, {"reps.csv": REPS, "sales.csv": export, "mapping.yaml": mapping}))
    assert inputs.sales.frame["product"].to_list() == ["credit_card", "mortgage"]


def test_true_and_false_words_replace_the_defaults(tmp_path: Path):
    contacts = (
        "contact_id,rep_id,customer_id,contacted_on,channel,Reached\n"
        "K1,E1,C1,2025-11-03,voice,Yes\n"
        "K2,E1,C1,2025-11-04,voice,0\n"
        "K3,E1,C1,2025-11-05,voice,true\n"  # the default word is replaced: not a yes/no word any more
    )
    mapping = 'contacts:\n  columns: {connected: Reached}\n  true_values: ["Yes", "1"]\n  false_values: ["No", "0"]\n'
    data = folder(tmp_path, {"reps.csv": REPS, "sales.csv": SALES, "contacts.csv": contacts, "mapping.yaml": mapping})
    inputs = load_inputs(data)
    assert inputs.contacts.frame["connected"].to_list() == [True, False]
    code, diags = diagnostics(data)
    assert code == 2
    assert where(diags) == [("contacts.csv", 4, "Reached", "bad-bool")]
    assert diags[0]["message"] == "Reached 'true' must be one of: Yes, 1 (true) or No, 0 (false)"


def test_decimal_comma_and_named_months(tmp_path: Path):
    # 1500,50 is 1500.50; "03 Nov 2025" is 2025-11-03
    export = (
        "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\n"
        'S1,E1,C1,credit_card,"1500,50",03 Nov 2025,\n'
        'S2,E1,C2,mortgage,2000,20 nov 2025,25 Nov 2025\n'
    )
    mapping = 'sales:\n  date_format: "%d %b %Y"\n  decimal_separator: ","\n'
    ours = run_files(folder(tmp_path / "ours", {"reps.csv": REPS, "sales.csv": SALES}), tmp_path / "out1")
    mapped = run_files(folder(tmp_path / "m", {"reps.csv": REPS, "sales.csv": export, "mapping.yaml": mapping}),
                       tmp_path / "out2")
    assert mapped == ours


# --- where the mapping comes from ----------------------------------------------------------------


def test_the_data_folders_mapping_yaml_is_read(tmp_path: Path):
    data = export_folder(tmp_path / "d")
    assert diagnostics(data) == (0, [])  # (warnings aside)
    (data / "mapping.yaml").unlink()  # without it there is no sales file
    code, diags = diagnostics(data)
    assert code == 2 and where(diags) == [("sales.csv", None, None, "missing-file")]


def test_map_wins_over_the_data_folders_mapping_yaml(tmp_path: Path):
    data = export_folder(tmp_path / "d", mapping="sales:\n  file: nowhere.csv\n")
    good = folder(tmp_path / "maps", {"crm.yaml": MAPPING}) / "crm.yaml"
    result = invoke("validate", "--plans", PLANS, "--data", data, "--map", good)
    assert result.exit_code == 0, result.output
    assert f"note: the mapping {good} is used; {data / 'mapping.yaml'} is not read (--map wins)" in result.stderr


def test_map_is_taken_by_every_command_that_reads_data(tmp_path: Path):
    data = folder(tmp_path / "d", {"reps.csv": REPS, "Opportunity_Export.csv": EXPORT})
    good = folder(tmp_path / "maps", {"crm.yaml": MAPPING}) / "crm.yaml"
    data_args = ("--plans", PLANS, "--data", data, "--map", good)
    period = ("--period", "2025-11", "--allow-incomplete")
    for args in (
        ("run", *data_args, *period, "--out", tmp_path / "out"),
        ("validate", *data_args),
        ("explain", "--rep", "E1", *data_args, *period),
        ("alignment", *data_args, *period),
        ("diff", PLANS / "inbound-2026-v1.yaml", PLANS / "inbound-2026-v2.yaml", *data_args, *period),
    ):
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        assert invoke(*[a for a in args if a not in ("--map", good)]).exit_code == 2  # no sales file without it


def test_a_parquet_export_is_mapped_the_same_way(tmp_path: Path):
    import polars as pl

    data = export_folder(tmp_path / "d", mapping=MAPPING.replace("Opportunity_Export.csv", "deals.parquet"), export="")
    (data / "Opportunity_Export.csv").unlink()
    pl.read_csv(io.StringIO(EXPORT), infer_schema=False).write_parquet(data / "deals.parquet")
    ours = load_inputs(folder(tmp_path / "ours", {"reps.csv": REPS, "sales.csv": SALES}))
    mapped = load_inputs(data)
    # a Parquet file has no header line: its rows are lines 1 and 2, where the CSV's are 2 and 3
    assert mapped.sales.frame.equals(ours.sales.frame.with_columns(pl.col("line") - 1))


def test_a_map_file_that_does_not_exist(tmp_path: Path):
    code, diags = diagnostics(export_folder(tmp_path / "d"), "--map", tmp_path / "nowhere.yaml")
    assert code == 2 and where(diags) == [("nowhere.yaml", None, None, "missing-file")]


# --- bad mappings: every problem at once, with the mapping file's line -----------------------------


def test_every_problem_of_the_mapping_at_once_with_its_line(tmp_path: Path):
    mapping = (
        "sales:\n"                                          # 1
        "  file: Opportunity_Export.csv\n"                  # 2
        "  colums: {sale_id: Id}\n"                         # 3: unknown key
        '  date_format: "%m/%d/%y %H"\n'                    # 4: %y and %H are not allowed
        "deals:\n"                                          # 5: not an input
        "  file: x.csv\n"                                   # 6
        "contacts:\n"                                       # 7
        "  columns: {contact_id: Id, customer: Account}\n"  # 8: customer is not a column of contacts
        '  decimal_separator: ";"\n'                        # 9
        "feedback:\n"                                       # 10
        '  true_values: ["Y"]\n'                            # 11: feedback has no yes/no column
    )
    code, diags = diagnostics(export_folder(tmp_path, mapping=mapping))
    assert code == 2
    assert where(diags) == [
        ("mapping.yaml", 3, "sales.colums", "unknown-key"),
        ("mapping.yaml", 4, "sales.date_format", "bad-date-format"),
        ("mapping.yaml", 5, "deals", "unknown-key"),
        ("mapping.yaml", 8, "contacts.columns.customer", "unknown-key"),
        ("mapping.yaml", 9, "contacts.decimal_separator", "bad-separator"),
        ("mapping.yaml", 9, "contacts.decimal_separator", "not-applicable"),
        ("mapping.yaml", 11, "feedback.true_values", "not-applicable"),
    ]
    assert "uses %y, %H; only %Y (year), %m (month number), %b (month name, Jan) and %d (day)" in diags[1]["message"]


def test_a_run_with_a_bad_mapping_exits_2_and_writes_nothing(tmp_path: Path):
    data = export_folder(tmp_path / "d", mapping=MAPPING.replace("date_format", "date_fromat"))
    result = invoke("run", "--plans", PLANS, "--data", data, "--out", tmp_path / "out", "--period", "2025-11",
                    "--allow-incomplete")
    assert result.exit_code == 2
    assert "mapping.yaml:5: unknown-key sales.date_fromat: unknown key 'date_fromat'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_mapped_column_missing_from_the_export(tmp_path: Path):
    code, diags = diagnostics(export_folder(tmp_path, mapping=MAPPING.replace("AccountId", "Account_Id")))
    assert code == 2
    assert where(diags) == [("mapping.yaml", 3, "sales.columns.customer_id", "mapped-column-missing")]
    assert diags[0]["message"] == ("sales column customer_id is mapped to 'Account_Id', which is not a column of "
                                   "Opportunity_Export.csv (did you mean 'AccountId'?)")
    code, diags = diagnostics(export_folder(tmp_path, mapping=MAPPING.replace("AccountId", "Kunde")))
    assert diags[0]["message"].endswith("(its columns: Id, OwnerId, AccountId, Product_Family, Amount, CloseDate, "
                                        "Cancellation_Date)")


def test_two_of_our_columns_from_one_export_column(tmp_path: Path):
    mapping = "sales:\n  columns:\n    sale_id: Id\n    customer_id: Id\n"
    code, diags = diagnostics(export_folder(tmp_path, mapping=mapping))
    assert code == 2
    assert where(diags) == [("mapping.yaml", 4, "sales.columns.customer_id", "same-export-column")]
    # an unmapped column keeps its own name, so mapping onto that name takes it too
    code, diags = diagnostics(export_folder(tmp_path, mapping="sales:\n  columns: {sale_id: amount}\n"))
    assert where(diags) == [("mapping.yaml", 2, "sales.columns.sale_id", "same-export-column")]


def test_texts_must_be_quoted_numbers_and_the_named_export_must_exist(tmp_path: Path):
    mapping = MAPPING + "contacts:\n  file: calls.csv\n  true_values: [1]\n  false_values: [\"0\"]\n"
    code, diags = diagnostics(export_folder(tmp_path, mapping=mapping))
    assert where(diags) == [("mapping.yaml", 9, "contacts.true_values[0]", "wrong-type")]
    assert diags[0]["message"] == 'true_values[0] must be text; write it in quotes, e.g. "1"'
    code, diags = diagnostics(export_folder(tmp_path, mapping=MAPPING + "contacts:\n  file: calls.csv\n"))
    assert where(diags) == [("mapping.yaml", 8, "contacts.file", "missing-file")]


# --- bad data: the export's file, line and column ---------------------------------------------------


def test_a_date_not_in_the_date_format(tmp_path: Path):
    export = EXPORT + "S3,E1,C3,mortgage,10.00,2025-11-21,\nS4,E1,C3,mortgage,10.00,02/30/2025,\n"
    code, diags = diagnostics(export_folder(tmp_path, export=export))
    assert code == 2
    assert where(diags) == [("Opportunity_Export.csv", 4, "CloseDate", "bad-date"),
                            ("Opportunity_Export.csv", 5, "CloseDate", "bad-date")]
    assert diags[0]["message"] == "CloseDate '2025-11-21' is not a real date written %m/%d/%Y"


def test_a_thousands_separator_under_decimal_comma(tmp_path: Path):
    export = EXPORT.replace("1500.50", '"1.500,50"').replace("2000.00", '"2000,00"') + "S3,E1,C3,mortgage,12 34,11/21/2025,\n"
    code, diags = diagnostics(export_folder(tmp_path, export=export, mapping=MAPPING + '  decimal_separator: ","\n'))
    assert code == 2
    assert where(diags) == [("Opportunity_Export.csv", 2, "Amount", "bad-decimal"),
                            ("Opportunity_Export.csv", 4, "Amount", "bad-decimal")]
    assert diags[0]["message"] == ("Amount '1.500,50' has a '.', but the decimal separator is ',': "
                                   "write amounts like 1234,56, without a thousands separator")
    assert diags[1]["message"] == "Amount '12 34' is not a plain decimal number like 1234,56"


def test_the_contracts_own_rules_speak_of_the_exports_columns(tmp_path: Path):
    # an unknown rep, a duplicate id, an amount of 0 and a cancellation before the sale, on the export's lines
    export = EXPORT + "S1,E9,C1,mortgage,0,11/21/2025,11/01/2025\n"
    code, diags = diagnostics(export_folder(tmp_path, export=export))
    assert code == 2
    assert where(diags) == [
        ("Opportunity_Export.csv", 4, "Id", "duplicate-id"),
        ("Opportunity_Export.csv", 4, "OwnerId", "unknown-rep"),
        ("Opportunity_Export.csv", 4, "Amount", "out-of-range"),
        ("Opportunity_Export.csv", 4, "Cancellation_Date", "cancelled-before-sold"),
    ]
    messages = [d["message"] for d in diags]
    assert messages[0] == "duplicate Id 'S1' (first on line 2)"
    assert messages[3] == "Cancellation_Date 2025-11-01 is before CloseDate 2025-11-21"


def test_cross_checks_and_exceptions_name_the_exports_columns(tmp_path: Path):
    # a sale before the rep started: found after loading, against the plans
    export = EXPORT + "S3,E1,C3,mortgage,10.00,10/30/2025,\n"
    data = export_folder(tmp_path / "d", export=export)
    result = invoke("run", "--plans", PLANS, "--data", data, "--out", tmp_path / "out", "--period", "2025-11",
                    "--allow-incomplete", "--skip-invalid")
    assert result.exit_code == 0, result.output
    rows = conftest.read_csv(tmp_path / "out" / "2025-11" / "exceptions.csv")
    found = {(Path(r["file"]).name, r["line"], r["column"], r["code"]) for r in rows}
    assert ("Opportunity_Export.csv", "4", "CloseDate", "sale-outside-active-dates") in found
    assert ("Opportunity_Export.csv", "4", "CloseDate", "no-plan-version") in found
    assert not {column for *_, column, _ in found} & {"sale_id", "rep_id", "product", "sold_on"}


# --- streaming reads the mapping the same way ------------------------------------------------------


def test_streaming_reads_a_mapped_export_like_a_whole_read(tmp_path: Path, monkeypatch):
    export = EXPORT + "".join(f"T{i},E1,C{i},Credit Card,{i}.25,11/{i % 28 + 1:02d}/2025,\n" for i in range(40))
    export += "S1,E1,C1,mortgage,1.00,2025-11-02,\n"  # a repeated id and a date in the wrong format, late in the file
    data = export_folder(tmp_path / "d", export=export)
    whole = load_inputs(data)
    (tmp_path / "scratch").mkdir()
    parted = load_inputs_streaming(data, tmp_path / "scratch", block_bytes=200)
    assert [str(d) for d in parted.problems] == [str(d) for d in whole.problems]
    assert {d.column for d in whole.problems} == {"Id", "CloseDate"}
    assert parted.sales.scan().collect().sort("line").equals(whole.sales.frame.sort("line"))
    monkeypatch.setattr(stream, "BLOCK_BYTES", 200)
    memory = run_files(data, tmp_path / "m", "--skip-invalid")
    streamed = run_files(data, tmp_path / "s", "--skip-invalid", "--streaming")
    assert streamed == memory


# --- the shipped examples --------------------------------------------------------------------------

EXAMPLES = ROOT / "examples"
SLICE_END = "2025-12-31"  # the examples hold every rep and the rows dated up to here
DATED = {"sales": "sold_on", "feedback": "responded_on", "contacts": "contacted_on"}


def sample_slice(target: Path) -> Path:
    """The sample data up to SLICE_END in our own layout, read straight from sample_data."""
    target.mkdir(parents=True)
    for name in ("reps", "sales", "feedback", "contacts"):
        text = (SAMPLE / f"{name}.csv").read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        at = rows[0].index(DATED[name]) if name in DATED else None
        kept = [rows[0], *(r for r in rows[1:] if at is None or r[at] <= SLICE_END)]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(kept)
        (target / f"{name}.csv").write_text(out.getvalue(), encoding="utf-8", newline="")
    for name in ("campaigns", "fx_rates"):  # undated: whole
        (target / f"{name}.csv").write_bytes((SAMPLE / f"{name}.csv").read_bytes())
    return target


def _december_files(out: Path, *args) -> dict[str, bytes]:
    result = invoke("run", "--plans", PLANS, "--period", "2025-12", "--out", out, *args)
    assert result.exit_code == 0, result.output
    return {name: (out / "2025-12" / name).read_bytes() for name in ("payouts.csv", "lines.csv", "exceptions.csv")}


@pytest.fixture(scope="module")
def slice_files(tmp_path_factory) -> dict[str, bytes]:
    """The files of December run on the sample slice in our own layout (once for the module)."""
    root = tmp_path_factory.mktemp("slice")
    return _december_files(root / "ours", "--data", sample_slice(root / "slice"))


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
@pytest.mark.parametrize("streaming", [False, True])
def test_the_shipped_examples_run_like_the_sample_data(crm: str, streaming: bool, tmp_path: Path, slice_files: dict[str, bytes]):
    ours = slice_files
    mapped = _december_files(tmp_path / "mapped", "--data", EXAMPLES / f"{crm}_export", "--map",
                   EXAMPLES / "mappings" / f"{crm}.yaml", *(["--streaming"] if streaming else []))
    assert mapped == ours
    assert len(ours["payouts.csv"].splitlines()) > 30 and len(ours["lines.csv"].splitlines()) > 300
    # the exports carry the managers and the currencies: overrides, and a UK team paid in GBP
    assert b",override," in ours["lines.csv"] and b",GBP," in ours["payouts.csv"]


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_the_shipped_examples_are_rebuilt_by_their_script(crm: str, tmp_path: Path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_exports", EXAMPLES / "make_exports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    getattr(module, crm)(tmp_path)
    module.own_layout(tmp_path)
    shipped = EXAMPLES / f"{crm}_export"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in shipped.iterdir())
    for p in tmp_path.iterdir():
        assert p.read_bytes() == (shipped / p.name).read_bytes(), p.name


# --- property: any re-layout of valid data reads back to the same rows ------------------------------

FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d %b %Y", "%Y%m%d", "%d.%m.%Y"]
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _written(day: _date | None, fmt: str) -> str:
    """`day` as `fmt` writes it (English month names whatever the machine's locale)."""
    if day is None:
        return ""
    return day.strftime(fmt.replace("%b", _MONTHS[day.month - 1]))


sale_rows = st.lists(
    st.tuples(
        st.integers(1, 10**9).map(str),  # amount, in cents
        st.dates(_date(2025, 11, 1), _date(2026, 10, 31)),
        st.none() | st.integers(0, 60),  # days to a cancellation
        st.sampled_from(["credit_card", "mortgage", "Card"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=sale_rows,
    renamed=st.sets(st.sampled_from(["sale_id", "rep_id", "customer_id", "product", "amount", "sold_on", "cancelled_on"])),
    fmt=st.sampled_from(FORMATS),
    comma=st.booleans(),
    order=st.randoms(use_true_random=False),
)
def test_any_relayout_reads_back_to_the_same_rows(tmp_path_factory, rows, renamed, fmt, comma, order):
    root = tmp_path_factory.mktemp("relayout")
    columns = ["sale_id", "rep_id", "customer_id", "product", "amount", "sold_on", "cancelled_on"]
    theirs = {c: (f"Their {c.replace('_', ' ').title()}" if c in renamed else c) for c in columns}
    shuffled = columns[:]
    order.shuffle(shuffled)  # the export's own column order
    ours, export = [columns], [[theirs[c] for c in shuffled]]
    for i, (cents, sold, after, product) in enumerate(rows):
        amount = f"{int(cents) // 100}.{int(cents) % 100:02d}"
        cancelled = None if after is None else sold + timedelta(days=after)
        row = {"sale_id": f"S{i:03d}", "rep_id": "E1", "customer_id": f"C{i}",
               "product": "credit_card" if product == "Card" else product, "amount": amount,
               "sold_on": sold.isoformat(), "cancelled_on": "" if cancelled is None else cancelled.isoformat()}
        ours.append([row[c] for c in columns])
        row |= {"product": product, "amount": amount.replace(".", ",") if comma else amount,
                "sold_on": _written(sold, fmt), "cancelled_on": _written(cancelled, fmt)}
        export.append([row[c] for c in shuffled])

    def text(table):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(table)
        return out.getvalue()

    mapping = (
        "sales:\n  file: export.csv\n"
        + (f"  columns: {json.dumps({c: theirs[c] for c in sorted(renamed)})}\n" if renamed else "")
        + f"  date_format: {json.dumps(fmt)}\n"
        + ('  decimal_separator: ","\n' if comma else "")
        + '  values: {product: {"Card": credit_card}}\n'
    )
    plain = load_inputs(folder(root / "ours", {"reps.csv": REPS, "sales.csv": text(ours)}))
    mapped = load_inputs(folder(root / "export", {"reps.csv": REPS, "export.csv": text(export), "mapping.yaml": mapping}))
    assert plain.problems == [] and mapped.problems == []
    assert mapped.sales.frame.equals(plain.sales.frame)
