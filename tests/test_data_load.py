"""Loading and row validation of the data directory (SPEC section 1)."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comp_calc.data.load import load_inputs
from comp_calc.errors import InputError
from comp_calc.plan.load import load_plans
from conftest import FUZZ_SCALE

REPS = "rep_id,name,team,plan,quota,start_date,end_date\n007,Ann,North,p1,1000.50,2026-01-01,\nE2,Bob,South,p1,0,2026-01-01,2026-12-31\n"
SALES = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\nS1,007,C1,mortgage,100.125,2026-03-01,\nS2,E2,C2,card,20,2026-03-02,2026-04-01\n"
FEEDBACK = "response_id,rep_id,customer_id,responded_on,survey,score\nF1,007,C1,2026-03-05,nps,9\nF2,E2,C2,2026-03-06,csat,1\n"
CONTACTS = "contact_id,rep_id,customer_id,contacted_on,channel,connected\nK1,007,C1,2026-02-01,voice,true\nK2,E2,C2,2026-02-02,sms,false\n"
BASE = {"reps": REPS, "sales": SALES, "feedback": FEEDBACK, "contacts": CONTACTS}


def write(tmp_path: Path, **files: str | bytes | None) -> Path:
    """Write the base dataset with `files` overriding it (None: leave the file out)."""
    for name, content in {**BASE, **files}.items():
        if content is None:
            continue
        path = tmp_path / f"{name}.csv"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return tmp_path


def problems(tmp_path: Path, **files) -> list[tuple]:
    inputs = load_inputs(write(tmp_path, **files))
    return [(d.file, d.line, d.column, d.code) for d in inputs.problems]


def fatal(data_dir: Path) -> list[tuple]:
    with pytest.raises(InputError) as info:
        load_inputs(data_dir)
    return [(d.file, d.line, d.column, d.code) for d in info.value.diagnostics]


# --------------------------------------------------------------------------- valid data


def test_valid_dataset_types_and_exact_values(tmp_path):
    inputs = load_inputs(write(tmp_path))
    assert inputs.problems == []
    reps, sales, feedback, contacts = (t.frame for t in inputs.tables())
    assert reps.schema == pl.Schema(
        {"rep_id": pl.String, "name": pl.String, "team": pl.String, "plan": pl.String,
         "quota": pl.Decimal(38, 2), "start_date": pl.Date, "end_date": pl.Date, "manager_id": pl.String,
             "line": pl.Int64}
    )
    assert sales.schema["amount"] == pl.Decimal(38, 3)
    assert sales.schema["sold_on"] == pl.Date and sales.schema["cancelled_on"] == pl.Date
    assert feedback.schema["score"] == pl.Int64 and contacts.schema["connected"] == pl.Boolean
    assert reps["rep_id"].to_list() == ["007", "E2"]
    assert reps["quota"].to_list() == [Decimal("1000.50"), Decimal("0.00")]
    assert reps["end_date"].to_list() == [None, date(2026, 12, 31)]
    assert sales["amount"].to_list() == [Decimal("100.125"), Decimal("20.000")]
    assert sales["cancelled_on"].to_list() == [None, date(2026, 4, 1)]
    assert sales["line"].to_list() == [2, 3]
    assert feedback["score"].to_list() == [9, 1]
    assert contacts["connected"].to_list() == [True, False]
    t = inputs.sales
    assert (t.rows_read, t.rows_rejected) == (2, 0)
    assert t.path == str(tmp_path / "sales.csv")
    assert t.sha256 == hashlib.sha256(SALES.encode()).hexdigest()


def test_decimal_scale_is_largest_written_and_at_least_zero(tmp_path):
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\nS1,007,C,p,5,2026-03-01,\nS2,007,C,p,7,2026-03-01,\n"
    reps = "rep_id,name,team,plan,quota,start_date,end_date\n007,A,T,p1,1.123456,2026-01-01,\n"
    inputs = load_inputs(write(tmp_path, sales=sales, reps=reps, feedback=None, contacts=None))
    assert inputs.sales.frame.schema["amount"] == pl.Decimal(38, 0)
    assert inputs.reps.frame["quota"].to_list() == [Decimal("1.123456")]


def test_optional_files_absent_give_typed_empty_frames(tmp_path):
    inputs = load_inputs(write(tmp_path, feedback=None, contacts=None))
    assert inputs.feedback.path is None and inputs.feedback.frame.height == 0
    assert inputs.feedback.frame.schema["score"] == pl.Int64
    assert inputs.contacts.frame.schema["connected"] == pl.Boolean
    assert inputs.contacts.frame.schema["contacted_on"] == pl.Date


def test_optional_file_with_only_a_header_is_fine(tmp_path):
    inputs = load_inputs(write(tmp_path, feedback="response_id,rep_id,customer_id,responded_on,survey,score\n"))
    assert inputs.problems == [] and inputs.feedback.frame.height == 0 and inputs.feedback.rows_read == 0


def test_bom_crlf_extra_columns_and_free_column_order(tmp_path):
    reps = "\ufeffplan,rep_id,note,name,team,quota,start_date,end_date\r\np1,007,x,Ann,N,1,2026-01-01,\r\n"
    inputs = load_inputs(write(tmp_path, reps=reps, sales=SALES.replace("E2", "007"), feedback=None, contacts=None))
    assert inputs.problems == []
    assert inputs.reps.frame.columns == ["rep_id", "name", "team", "plan", "quota", "start_date", "end_date", "manager_id", "line"]
    assert inputs.reps.frame.row(0)[:5] == ("007", "Ann", "N", "p1", Decimal("1"))


def test_quoted_fields_keep_commas_quotes_and_physical_line_numbers(tmp_path):
    reps = (
        "rep_id,name,team,plan,quota,start_date,end_date\r\n"
        '007,"Doe, Ann","multi\r\nline\r\nteam",p1,1,2026-01-01,\r\n'
        'E2,"Say ""hi""",T,p1,1,2026-01-01,\r\n'
        "E3,x,T,p1,bad,2026-01-01,\r\n"
    )
    inputs = load_inputs(write(tmp_path, reps=reps, sales=SALES.replace("E2", "007"), feedback=None, contacts=None))
    assert [(d.line, d.column, d.code) for d in inputs.problems] == [(6, "quota", "bad-decimal")]
    frame = inputs.reps.frame
    assert frame["name"].to_list() == ["Doe, Ann", 'Say "hi"']
    assert frame["team"].to_list()[0] == "multi\r\nline\r\nteam"
    assert frame["line"].to_list() == [2, 5]


def test_surrounding_whitespace_is_trimmed_and_leading_zeros_kept(tmp_path):
    reps = "rep_id , name,team,plan,quota,start_date,end_date\n  007\t, Ann ,N,p1, 5.0 , 2026-01-01 ,\n"
    inputs = load_inputs(write(tmp_path, reps=reps, sales=SALES.replace("E2", "007"), feedback=None, contacts=None))
    assert inputs.problems == []
    assert inputs.reps.frame.row(0)[:6] == ("007", "Ann", "N", "p1", Decimal("5.0"), date(2026, 1, 1))


def test_blank_lines_are_skipped_but_lines_still_count(tmp_path):
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\n\nS1,007,C,p,1,2026-03-01,\r\n\r\nS2,007,C,p,x,2026-03-01,\n\n"
    inputs = load_inputs(write(tmp_path, sales=sales))
    assert [(d.line, d.code) for d in inputs.problems] == [(5, "bad-decimal")]
    assert (inputs.sales.rows_read, inputs.sales.rows_rejected) == (2, 1)


# --------------------------------------------------------------------------- row rules

SALES_HEAD = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\n"
REPS_HEAD = "rep_id,name,team,plan,quota,start_date,end_date\n"
FEEDBACK_HEAD = "response_id,rep_id,customer_id,responded_on,survey,score\n"
CONTACTS_HEAD = "contact_id,rep_id,customer_id,contacted_on,channel,connected\n"


@pytest.mark.parametrize(
    ("row", "column", "code"),
    [
        (",007,C,p,1,2026-03-01,", "sale_id", "missing-value"),
        ("S9,007,,p,1,2026-03-01,", "customer_id", "missing-value"),
        ("S9,007,C,,1,2026-03-01,", "product", "missing-value"),
        ("S9,007,C,p,,2026-03-01,", "amount", "missing-value"),
        ("S9,007,C,p,1,,", "sold_on", "missing-value"),
        ('"S\x019",007,C,p,1,2026-03-01,', "sale_id", "bad-id"),
        ('"S\x009",007,C,p,1,2026-03-01,', "sale_id", "bad-id"),
        ('"S\n9",007,C,p,1,2026-03-01,', "sale_id", "bad-id"),
        ("S9,007,C,p,1,2026-02-30,", "sold_on", "bad-date"),
        ("S9,007,C,p,1,01/03/2026,", "sold_on", "bad-date"),
        ("S9,007,C,p,1,2026-3-1,", "sold_on", "bad-date"),
        ("S9,007,C,p,1,0000-01-01,", "sold_on", "bad-date"),
        ("S9,007,C,p,1,2026-03-01,tomorrow", "cancelled_on", "bad-date"),
        ('S9,007,C,p,"1,5",2026-03-01,', "amount", "bad-decimal"),
        ("S9,007,C,p,1e5,2026-03-01,", "amount", "bad-decimal"),
        ("S9,007,C,p,-5,2026-03-01,", "amount", "bad-decimal"),
        ("S9,007,C,p,€5,2026-03-01,", "amount", "bad-decimal"),
        ("S9,007,C,p,.5,2026-03-01,", "amount", "bad-decimal"),
        ("S9,007,C,p,5.,2026-03-01,", "amount", "bad-decimal"),
        ("S9,007,C,p,1.1234567,2026-03-01,", "amount", "bad-decimal"),
        ("S9,007,C,p,1234567890123456,2026-03-01,", "amount", "bad-decimal"),
        ("S9,007,C,p,0,2026-03-01,", "amount", "out-of-range"),
        ("S9,007,C,p,0.000,2026-03-01,", "amount", "out-of-range"),
        ("S9,007,C,p,1,2026-03-01,2026-02-28", "cancelled_on", "cancelled-before-sold"),
        ("S1,007,C,p,1,2026-03-01,", "sale_id", "duplicate-id"),
        ("S9,E404,C,p,1,2026-03-01,", "rep_id", "unknown-rep"),
        ("S9,7,C,p,1,2026-03-01,", "rep_id", "unknown-rep"),
        ("S9,007,C,p,1,2026-03-01,,extra", None, "wrong-field-count"),
        ("S9,007,C,p,1,2026-03-01", None, "wrong-field-count"),
    ],
)
def test_sales_row_rules(tmp_path, row, column, code):
    sales = SALES_HEAD + "S1,007,C,p,1,2026-03-01,\n" + row + "\n"
    assert problems(tmp_path, sales=sales) == [(str(tmp_path / "sales.csv"), 3, column, code)]


def test_sales_valid_edge_values(tmp_path):
    sales = SALES_HEAD + "S1,007,C,p,0.000001,2026-03-01,2026-03-01\nS2,007,C,p,123456789012345.123456,2024-02-29,\n"
    inputs = load_inputs(write(tmp_path, sales=sales))
    assert inputs.problems == []
    assert inputs.sales.frame["amount"].to_list() == [Decimal("0.000001"), Decimal("123456789012345.123456")]


@pytest.mark.parametrize(
    ("row", "column", "code"),
    [
        (",A,T,p1,1,2026-01-01,", "rep_id", "missing-value"),
        ("E9,A,T,,1,2026-01-01,", "plan", "missing-value"),
        ("E9,A,T,p1,,2026-01-01,", "quota", "missing-value"),
        ("E9,A,T,p1,1,,", "start_date", "missing-value"),
        ("E9,A,T,p1,-1,2026-01-01,", "quota", "bad-decimal"),
        ("E9,A,T,p1,1,2026-01-01,2026-13-01", "end_date", "bad-date"),
        ("E9,A,T,p1,1,2026-01-02,2026-01-01", "end_date", "end-before-start"),
        ("007,A,T,p1,1,2026-01-01,", "rep_id", "duplicate-id"),
    ],
)
def test_reps_row_rules(tmp_path, row, column, code):
    reps = REPS + row + "\n"
    assert problems(tmp_path, reps=reps) == [(str(tmp_path / "reps.csv"), 4, column, code)]


def test_reps_empty_name_team_and_quota_zero_are_allowed(tmp_path):
    reps = REPS + "E9,,,p1,0,2026-01-01,2026-01-01\n"
    assert problems(tmp_path, reps=reps) == []


@pytest.mark.parametrize(
    ("row", "column", "code"),
    [
        ("F9,007,C,2026-03-05,NPS,9", "survey", "bad-enum"),
        ("F9,007,C,2026-03-05,CES,3", "survey", "bad-enum"),
        ("F9,007,C,2026-03-05,ces,8", "score", "out-of-range"),
        ("F9,007,C,2026-03-05,ces,0", "score", "out-of-range"),
        ("F9,007,C,2026-03-05,nps,9.5", "score", "bad-integer"),
        ("F9,007,C,2026-03-05,nps,ten", "score", "bad-integer"),
        ("F9,007,C,2026-03-05,nps,11", "score", "out-of-range"),
        ("F9,007,C,2026-03-05,nps,-1", "score", "out-of-range"),
        ("F9,007,C,2026-03-05,csat,0", "score", "out-of-range"),
        ("F9,007,C,2026-03-05,csat,6", "score", "out-of-range"),
        ("F9,007,C,2026-03-05,nps,", "score", "missing-value"),
        ("F9,007,C,05/03/2026,nps,1", "responded_on", "bad-date"),
        ("F1,007,C,2026-03-05,nps,1", "response_id", "duplicate-id"),
        ("F9,E404,C,2026-03-05,nps,1", "rep_id", "unknown-rep"),
    ],
)
def test_feedback_row_rules(tmp_path, row, column, code):
    feedback = FEEDBACK + row + "\n"
    assert problems(tmp_path, feedback=feedback) == [(str(tmp_path / "feedback.csv"), 4, column, code)]


def test_feedback_score_bounds_are_inclusive(tmp_path):
    feedback = FEEDBACK_HEAD + "F1,007,C,2026-03-05,nps,0\nF2,007,C,2026-03-05,nps,10\nF3,007,C,2026-03-05,csat,1\nF4,007,C,2026-03-05,csat,5\n"
    inputs = load_inputs(write(tmp_path, feedback=feedback))
    assert inputs.problems == [] and inputs.feedback.frame["score"].to_list() == [0, 10, 1, 5]


@pytest.mark.parametrize(
    ("row", "column", "code"),
    [
        ("K9,007,C,2026-02-01,phone,true", "channel", "bad-enum"),
        ("K9,007,C,2026-02-01,Voice,true", "channel", "bad-enum"),
        ("K9,007,C,2026-02-01,visit,TRUE", "connected", "bad-bool"),
        ("K9,007,C,2026-02-01,visit,yes", "connected", "bad-bool"),
        ("K9,007,C,2026-02-01,visit,", "connected", "missing-value"),
        ("K9,007,,2026-02-01,visit,true", "customer_id", "missing-value"),
        ("K1,007,C,2026-02-01,visit,true", "contact_id", "duplicate-id"),
        ("K9,E404,C,2026-02-01,visit,true", "rep_id", "unknown-rep"),
    ],
)
def test_contacts_row_rules(tmp_path, row, column, code):
    contacts = CONTACTS + row + "\n"
    assert problems(tmp_path, contacts=contacts) == [(str(tmp_path / "contacts.csv"), 4, column, code)]


def test_every_problem_of_a_row_is_reported_in_column_order(tmp_path):
    sales = SALES_HEAD + "S1,E404,C,p,abc,2026-02-30,\n"
    assert problems(tmp_path, sales=sales) == [
        (str(tmp_path / "sales.csv"), 2, "rep_id", "unknown-rep"),
        (str(tmp_path / "sales.csv"), 2, "amount", "bad-decimal"),
        (str(tmp_path / "sales.csv"), 2, "sold_on", "bad-date"),
    ]


def test_duplicates_keep_the_first_row_and_name_it(tmp_path):
    sales = SALES_HEAD + "S1,007,C,p,bad,2026-03-01,\nS1,007,C,p,1,2026-03-01,\nS1,007,C,p,2,2026-03-01,\n"
    inputs = load_inputs(write(tmp_path, sales=sales))
    assert [(d.line, d.code) for d in inputs.problems] == [(2, "bad-decimal"), (3, "duplicate-id"), (4, "duplicate-id")]
    assert inputs.problems[1].message == "duplicate sale_id 'S1' (first on line 2)"
    assert inputs.sales.frame.height == 0 and inputs.sales.rows_rejected == 3


def test_rejected_rep_rejects_rows_referring_to_it(tmp_path):
    reps = REPS_HEAD + "007,A,T,p1,1,2026-01-01,\nE2,B,T,p1,oops,2026-01-01,\nE2,B,T,p1,1,2026-01-01,\n"
    inputs = load_inputs(write(tmp_path, reps=reps))
    assert [(d.file, d.line, d.column, d.code) for d in inputs.problems] == [
        (str(tmp_path / "reps.csv"), 3, "quota", "bad-decimal"),
        (str(tmp_path / "reps.csv"), 4, "rep_id", "duplicate-id"),
        (str(tmp_path / "sales.csv"), 3, "rep_id", "rep-rejected"),
        (str(tmp_path / "feedback.csv"), 3, "rep_id", "rep-rejected"),
        (str(tmp_path / "contacts.csv"), 3, "rep_id", "rep-rejected"),
    ]
    assert inputs.problems[2].message == "rep 'E2' was rejected (reps.csv line 3)"
    assert [t.rows_rejected for t in inputs.tables()] == [2, 1, 1, 1]
    assert inputs.sales.frame["sale_id"].to_list() == ["S1"]


def test_duplicate_rep_row_does_not_reject_references(tmp_path):
    reps = REPS + "E2,again,T,p1,1,2026-01-01,\n"
    assert problems(tmp_path, reps=reps) == [(str(tmp_path / "reps.csv"), 4, "rep_id", "duplicate-id")]


def test_diagnostic_messages_are_clear(tmp_path):
    sales = SALES_HEAD + "S1,007,C,p,1.5e3,2026-03-01,2026-02-01\n"
    inputs = load_inputs(write(tmp_path, sales=sales))
    assert [d.message for d in inputs.problems] == [
        "amount '1.5e3' is not a plain decimal number like 1234.56",
        "cancelled_on 2026-02-01 is before sold_on 2026-03-01",
    ]


# --------------------------------------------------------------------------- fatal file problems


def test_missing_data_dir(tmp_path):
    assert fatal(tmp_path / "nope") == [(str(tmp_path / "nope"), None, None, "missing-dir")]


def test_data_dir_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    assert fatal(tmp_path / "f") == [(str(tmp_path / "f"), None, None, "not-a-directory")]


@pytest.mark.parametrize("setup, code", [
    (lambda d: d / "nope", "missing-dir"),
    (lambda d: (d / "f").write_text("x") and d / "f", "not-a-directory"),
])
def test_plans_and_data_folders_share_the_folder_codes(tmp_path, setup, code):
    target = setup(tmp_path)
    _, plan_problems = load_plans(target)
    assert [(d.file, d.line, d.column, d.code) for d in plan_problems] == [(str(target), None, None, code)]
    assert fatal(target) == [(str(target), None, None, code)]


def test_an_unreadable_plans_or_data_folder_is_unreadable(tmp_path, monkeypatch):
    def denied(self):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", denied)
    _, (problem,) = load_plans(tmp_path)
    assert (problem.file, problem.code, problem.message) == (
        str(tmp_path), "unreadable", "cannot read the plans directory: Permission denied",
    )
    with pytest.raises(InputError) as info:
        load_inputs(tmp_path)
    (problem,) = info.value.diagnostics
    assert (problem.file, problem.code, problem.message) == (
        str(tmp_path), "unreadable", "cannot read the data directory: Permission denied",
    )


def test_a_plans_folder_without_plan_files_is_no_plan_files(tmp_path):
    (tmp_path / "readme.md").write_text("hi")
    _, (problem,) = load_plans(tmp_path)
    assert (problem.file, problem.code) == (str(tmp_path), "no-plan-files")


def test_missing_required_files_are_all_reported(tmp_path):
    assert fatal(tmp_path) == [(str(tmp_path / "reps.csv"), None, None, "missing-file"), (str(tmp_path / "sales.csv"), None, None, "missing-file")]


def test_directory_instead_of_file(tmp_path):
    write(tmp_path, contacts=None)
    (tmp_path / "contacts.csv").mkdir()
    assert fatal(tmp_path) == [(str(tmp_path / "contacts.csv"), None, None, "is-a-directory")]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="permissions do not apply")
def test_unreadable_file(tmp_path):
    write(tmp_path)
    (tmp_path / "sales.csv").chmod(0)
    assert fatal(tmp_path) == [(str(tmp_path / "sales.csv"), None, None, "unreadable")]


def test_binary_and_non_utf8_files(tmp_path):
    write(tmp_path, sales=b"\x89PNG\r\n\x1a\n\x00\x00binary", feedback=FEEDBACK.replace("C1", "Z\xfcrich").encode("latin-1"))
    with pytest.raises(InputError) as info:
        load_inputs(tmp_path)
    assert [(d.file, d.code) for d in info.value.diagnostics] == [(str(tmp_path / "sales.csv"), "not-utf8"), (str(tmp_path / "feedback.csv"), "not-utf8")]
    assert "line 2" in info.value.diagnostics[1].message


def test_empty_files(tmp_path):
    assert fatal(write(tmp_path, reps="", contacts="\ufeff\n")) == [
        (str(tmp_path / "reps.csv"), None, None, "empty-file"),
        (str(tmp_path / "contacts.csv"), None, None, "empty-file"),
    ]


def test_required_file_with_only_a_header(tmp_path):
    assert fatal(write(tmp_path, sales=SALES_HEAD + "\n")) == [(str(tmp_path / "sales.csv"), None, None, "no-rows")]


def test_missing_columns_are_all_named(tmp_path):
    sales = "sale_id,rep,customer_id,product,sold_on\nS1,007,C,p,2026-03-01\n"
    assert fatal(write(tmp_path, sales=sales)) == [
        (str(tmp_path / "sales.csv"), 1, "rep_id", "missing-column"),
        (str(tmp_path / "sales.csv"), 1, "amount", "missing-column"),
        (str(tmp_path / "sales.csv"), 1, "cancelled_on", "missing-column"),
    ]


def test_semicolon_separated_file_is_one_wrong_delimiter_problem(tmp_path):
    # a European spreadsheet export: semicolons between fields, decimal commas in the amounts
    sales = SALES.replace(",", ";").replace("100.125", "100,125")
    assert fatal(write(tmp_path, sales=sales)) == [(str(tmp_path / "sales.csv"), 1, None, "wrong-delimiter")]
    with pytest.raises(InputError) as info:
        load_inputs(tmp_path)
    assert info.value.diagnostics[0].message == (
        "the header is separated by ';' (semicolons), not commas: export the file as comma-separated CSV"
    )


def test_tab_separated_file_with_quoted_header_is_one_wrong_delimiter_problem(tmp_path):
    reps = "\ufeff" + "\t".join(f'"{c}"' for c in REPS.splitlines()[0].split(",")) + "\r\n007\tAnn\r\n"
    assert fatal(write(tmp_path, reps=reps)) == [(str(tmp_path / "reps.csv"), 1, None, "wrong-delimiter")]
    with pytest.raises(InputError) as info:
        load_inputs(tmp_path)
    assert "separated by tabs" in info.value.diagnostics[0].message


def test_a_header_with_semicolons_but_no_known_column_is_missing_columns(tmp_path):
    # nothing says the parts are our columns: the usual list of what is missing
    sales = "a;b;c\n1;2;3\n"
    found = fatal(write(tmp_path, sales=sales))
    assert {code for *_, code in found} == {"missing-column"} and len(found) == 7


def test_duplicate_column(tmp_path):
    sales = SALES_HEAD.replace("product", "amount")
    assert fatal(write(tmp_path, sales=sales + "S1,007,C,1,1,2026-03-01,\n")) == [
        (str(tmp_path / "sales.csv"), 1, "amount", "duplicate-column"),
        (str(tmp_path / "sales.csv"), 1, "product", "missing-column"),
    ]


def test_broken_quoting(tmp_path):
    sales = SALES_HEAD + 'S1,007,C,5" screen,1,2026-03-01,\nS2,007,C,p,1,2026-03-01,\n'
    assert fatal(write(tmp_path, sales=sales)) == [(str(tmp_path / "sales.csv"), 2, None, "bad-csv")]


def test_unterminated_quote(tmp_path):
    sales = SALES_HEAD + 'S1,007,C,p,1,2026-03-01,\nS2,007,"C,p,1,2026-03-01,\nS3,007,C,p,1,2026-03-01,\n'
    assert fatal(write(tmp_path, sales=sales)) == [(str(tmp_path / "sales.csv"), 3, None, "bad-csv")]


def test_read_error_is_reported_not_raised(tmp_path, monkeypatch):
    write(tmp_path)
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "sales.csv":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert fatal(tmp_path) == [(str(tmp_path / "sales.csv"), None, None, "unreadable")]


def test_all_file_problems_are_reported_together(tmp_path):
    write(tmp_path, reps=None, feedback="")
    (tmp_path / "sales.csv").unlink()
    (tmp_path / "sales.csv").mkdir()
    assert [d[3] for d in fatal(tmp_path)] == ["missing-file", "is-a-directory", "empty-file"]


# --------------------------------------------------------------------------- line numbers, property


_name = st.text(alphabet='ab, "0', max_size=6)
_note = st.text(alphabet='ab,"\n\r 0', max_size=6)


@settings(max_examples=25 * FUZZ_SCALE)
@given(st.lists(st.tuples(_name, _note), min_size=1, max_size=8), st.sampled_from(["\n", "\r\n"]))
def test_line_numbers_match_where_records_start(tmp_path_factory, cells, eol):
    """Whatever the quoting, each row's `line` is the physical line where its record starts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    writer.writerow([*SALES_HEAD.strip().split(","), "note"])
    expected = []
    for i, (name, note) in enumerate(cells):
        row = [f"S{i}", "007", name, "p", "1", "2026-03-01", "", note]
        expected.append((buffer.getvalue().count("\n") + 1, name.strip(" \t") == ""))
        writer.writerow(row)
    data_dir = tmp_path_factory.mktemp("d")
    inputs = load_inputs(write(data_dir, sales=buffer.getvalue()))
    assert [(d.line, d.column, d.code) for d in inputs.problems] == [
        (line, "customer_id", "missing-value") for line, empty in expected if empty
    ]
    assert inputs.sales.frame["line"].to_list() == [line for line, empty in expected if not empty]


# --------------------------------------------------------------------------- fast path: files without quotes


def test_control_character_in_an_unquoted_id_is_found(tmp_path):
    for row in ("S\x019,007,C,p,1,2026-03-01,", "S\t9,007,C,p,1,2026-03-01,", "S9,007,C\x7f,p,1,2026-03-01,"):
        sales = SALES_HEAD + "S1,007,C,p,1,2026-03-01,\n" + row + "\n"
        column = "customer_id" if "\x7f" in row else "sale_id"
        assert problems(tmp_path, sales=sales) == [(str(tmp_path / "sales.csv"), 3, column, "bad-id")]


def test_stray_carriage_return_in_an_unquoted_id_is_found(tmp_path):
    sales = SALES_HEAD.replace("\n", "\r\n") + "S1,007,C,p,1,2026-03-01,\r\nS\r9,007,C,p,1,2026-03-01,\r\n"
    assert problems(tmp_path, sales=sales) == [(str(tmp_path / "sales.csv"), 3, "sale_id", "bad-id")]


def test_duplicate_of_a_ragged_row_id_is_not_reported(tmp_path):
    """A row with a wrong field count does not claim its id: the next row with it is the first."""
    sales = SALES_HEAD + "S1,007,C,p,1,2026-03-01,,extra\nS1,007,C,p,1,2026-03-01,\nS1,007,C,p,1,2026-03-01,\n"
    inputs = load_inputs(write(tmp_path, sales=sales))
    assert [(d.line, d.column, d.code) for d in inputs.problems] == [
        (2, None, "wrong-field-count"),
        (4, "sale_id", "duplicate-id"),
    ]
    assert inputs.problems[0].message == "has 8 fields but the header has 7"
    assert inputs.problems[1].message == "duplicate sale_id 'S1' (first on line 3)"


def test_ids_in_order_and_out_of_order(tmp_path):
    in_order = SALES_HEAD + ",007,C,p,1,2026-03-01,\nS1,007,C,p,1,2026-03-01,\nS2,007,C,p,1,2026-03-01,\n"
    assert problems(tmp_path, sales=in_order) == [(str(tmp_path / "sales.csv"), 2, "sale_id", "missing-value")]
    repeated = SALES_HEAD + "S1,007,C,p,1,2026-03-01,\nS2,007,C,p,1,2026-03-01,\nS1,007,C,p,1,2026-03-01,\n"
    assert problems(tmp_path, sales=repeated) == [(str(tmp_path / "sales.csv"), 4, "sale_id", "duplicate-id")]


def test_short_and_long_rows_on_the_fast_path(tmp_path):
    sales = SALES_HEAD + "S1,007,C,p,1,2026-03-01\nS2,007,C,p,1,2026-03-01,,\nS3,007,C,p,1,2026-03-01,\n"
    inputs = load_inputs(write(tmp_path, sales=sales))
    assert [(d.line, d.code, d.message) for d in inputs.problems] == [
        (2, "wrong-field-count", "has 6 fields but the header has 7"),
        (3, "wrong-field-count", "has 8 fields but the header has 7"),
    ]
    assert inputs.sales.frame["line"].to_list() == [4]


def test_every_rule_message_on_one_row_each(tmp_path):
    """Messages are built only for flagged rows: check the text of each rule once."""
    sales = SALES_HEAD + (
        "S1,007,C,p,1.1234567,2026-03-01,\n"
        "S2,007,C,p,1234567890123456,2026-03-01,\n"
        "S3,007,C,p,0.00,2026-03-01,\n"
        "S4,007,C,p,1,2026-02-30,\n"
        "S5,E404,C,p,1,2026-03-01,\n"
        "S6,007,,p,1,2026-03-01,\n"
    )
    feedback = FEEDBACK_HEAD + "F1,007,C,2026-03-05,NPS,9\nF2,007,C,2026-03-05,nps,x\nF3,007,C,2026-03-05,csat,6\n"
    contacts = CONTACTS_HEAD + "K1,007,C,2026-02-01,phone,true\nK2,007,C,2026-02-01,sms,yes\n"
    reps = REPS + "E3,A,T,p1,1,2026-01-02,2026-01-01\n"
    inputs = load_inputs(write(tmp_path, reps=reps, sales=sales, feedback=feedback, contacts=contacts))
    assert [(d.file, d.line, d.message) for d in inputs.problems] == [
        (str(tmp_path / "reps.csv"), 4, "end_date 2026-01-01 is before start_date 2026-01-02"),
        (str(tmp_path / "sales.csv"), 2, "amount '1.1234567' has more than 6 decimals"),
        (str(tmp_path / "sales.csv"), 3, "amount '1234567890123456' has more than 15 digits before the point"),
        (str(tmp_path / "sales.csv"), 4, "amount '0.00' must be greater than 0"),
        (str(tmp_path / "sales.csv"), 5, "sold_on '2026-02-30' is not a real date written YYYY-MM-DD"),
        (str(tmp_path / "sales.csv"), 6, "rep 'E404' is not in reps.csv"),
        (str(tmp_path / "sales.csv"), 7, "customer_id is empty"),
        (str(tmp_path / "feedback.csv"), 2, "survey 'NPS' must be one of: nps, csat, ces"),
        (str(tmp_path / "feedback.csv"), 3, "score 'x' is not a whole number"),
        (str(tmp_path / "feedback.csv"), 4, "csat score '6' is outside 1..5"),
        (str(tmp_path / "contacts.csv"), 2, "channel 'phone' must be one of: voice, email, sms, visit"),
        (str(tmp_path / "contacts.csv"), 3, "connected 'yes' must be true or false"),
    ]


_cell = st.sampled_from(["", "S", "007", "1", "2026-03-01", " x ", "a\tb", "C\x01", "0", "1.5", "E404"])
_line = st.one_of(
    st.lists(_cell, min_size=5, max_size=9).map(",".join),  # mostly 7 fields, some short or long
    st.sampled_from(["", " ", "\r"]),  # blank (skipped) or not
)


@settings(max_examples=30 * FUZZ_SCALE)
@given(st.lists(_line, min_size=1, max_size=8), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_files_without_quotes_match_the_quote_counting_path(tmp_path_factory, lines, eol, final_eol):
    """The fast layout (no quote in the file) and the record-splitting one agree on everything."""
    from comp_calc.data import csv_text

    sales = eol.join([SALES_HEAD.strip(), *lines]) + (eol if final_eol else "")
    data_dir = write(tmp_path_factory.mktemp("d"), sales=sales)

    def outcome():
        try:
            inputs = load_inputs(data_dir)
        except InputError as exc:
            return exc.diagnostics
        return inputs.problems, inputs.sales.frame.to_dicts(), inputs.sales.rows_read

    fast = outcome()
    real = csv_text._layout_fast
    try:
        csv_text._layout_fast = lambda *args: None
        slow = outcome()
    finally:
        csv_text._layout_fast = real
    assert fast == slow


# --------------------------------------------------------------------------- Parquet inputs


def frames() -> dict[str, pl.DataFrame]:
    """The base dataset as typed Parquet-ready frames."""
    return {
        "reps": pl.DataFrame(
            {"rep_id": ["007", "E2"], "name": ["Ann", "Bob"], "team": ["North", "South"], "plan": ["p1", "p1"],
             "quota": [Decimal("1000.50"), Decimal("0.00")], "start_date": [date(2026, 1, 1)] * 2,
             "end_date": [None, date(2026, 12, 31)]},
            schema_overrides={"quota": pl.Decimal(38, 2)},
        ),
        "sales": pl.DataFrame(
            {"sale_id": ["S1", "S2"], "rep_id": ["007", "E2"], "customer_id": ["C1", "C2"],
             "product": ["mortgage", "card"], "amount": [Decimal("100.125"), Decimal("20.000")],
             "sold_on": [date(2026, 3, 1), date(2026, 3, 2)], "cancelled_on": [None, date(2026, 4, 1)]},
            schema_overrides={"amount": pl.Decimal(38, 3)},
        ),
        "feedback": pl.DataFrame(
            {"response_id": ["F1", "F2"], "rep_id": ["007", "E2"], "customer_id": ["C1", "C2"],
             "responded_on": [date(2026, 3, 5), date(2026, 3, 6)], "survey": ["nps", "csat"], "score": [9, 1]}
        ),
        "contacts": pl.DataFrame(
            {"contact_id": ["K1", "K2"], "rep_id": ["007", "E2"], "customer_id": ["C1", "C2"],
             "contacted_on": [date(2026, 2, 1), date(2026, 2, 2)], "channel": ["voice", "sms"],
             "connected": [True, False]}
        ),
    }


def write_parquet(tmp_path: Path, **overrides: pl.DataFrame | None) -> Path:
    for name, frame in {**frames(), **overrides}.items():
        if frame is not None:
            frame.write_parquet(tmp_path / f"{name}.parquet")
    return tmp_path


def test_parquet_inputs_load_like_the_same_csv(tmp_path):
    (tmp_path / "pq").mkdir()
    (tmp_path / "csv").mkdir()
    from_parquet = load_inputs(write_parquet(tmp_path / "pq"))
    from_csv = load_inputs(write(tmp_path / "csv"))
    assert from_parquet.problems == []
    for pq, cs in zip(from_parquet.tables(), from_csv.tables(), strict=True):
        assert pq.frame.drop("line").equals(cs.frame.drop("line")), pq.name
        assert pq.frame.schema == cs.frame.schema
        assert pq.frame["line"].to_list() == [1, 2]  # row number, 1-based: no header line
        assert pq.path == str(tmp_path / "pq" / f"{pq.name}.parquet")
        assert pq.sha256 == hashlib.sha256((tmp_path / "pq" / f"{pq.name}.parquet").read_bytes()).hexdigest()
        assert (pq.rows_read, pq.rows_rejected) == (2, 0)


def test_parquet_rows_get_the_csv_rules_with_row_numbers(tmp_path):
    sales = pl.DataFrame(
        {"sale_id": ["S1", "S2", "S3", "S1"], "rep_id": ["007", "E404", "007", "007"],
         "customer_id": ["C1", "C2", None, "C4"], "product": ["p", "p", "p", "p"],
         "amount": [1.5, 2.0, 1e20, 3.0], "sold_on": ["2026-03-01", "2026-03-01", "2026-03-01", "01/03/2026"],
         "cancelled_on": [None, None, None, None], "extra": [1, 2, 3, 4]},
        schema_overrides={"cancelled_on": pl.Date},
    )
    inputs = load_inputs(write_parquet(tmp_path, sales=sales, feedback=None, contacts=None))
    assert [(d.file, d.line, d.column, d.code) for d in inputs.problems] == [
        (str(tmp_path / "sales.parquet"), 2, "rep_id", "unknown-rep"),
        (str(tmp_path / "sales.parquet"), 3, "customer_id", "missing-value"),
        (str(tmp_path / "sales.parquet"), 3, "amount", "bad-decimal"),
        (str(tmp_path / "sales.parquet"), 4, "sale_id", "duplicate-id"),
        (str(tmp_path / "sales.parquet"), 4, "sold_on", "bad-date"),
    ]
    assert inputs.problems[0].message == "rep 'E404' is not in reps.parquet"
    assert inputs.problems[2].message == "amount '1e+20' is not a plain decimal number like 1234.56"
    assert inputs.problems[3].message == "duplicate sale_id 'S1' (first on line 1)"
    assert inputs.sales.frame["line"].to_list() == [1]
    assert inputs.sales.frame["amount"].to_list() == [Decimal("1.5")]


def test_parquet_rejected_rep_is_named_with_its_file(tmp_path):
    reps = frames()["reps"].with_columns(quota=pl.Series(["1", "oops"]))
    inputs = load_inputs(write_parquet(tmp_path, reps=reps))
    assert [(d.file, d.line, d.code) for d in inputs.problems][:2] == [
        (str(tmp_path / "reps.parquet"), 2, "bad-decimal"),
        (str(tmp_path / "sales.parquet"), 2, "rep-rejected"),
    ]
    assert inputs.problems[1].message == "rep 'E2' was rejected (reps.parquet line 2)"


def test_csv_and_parquet_can_be_mixed(tmp_path):
    write(tmp_path, sales=None, feedback=None, contacts=None)
    frames()["sales"].write_parquet(tmp_path / "sales.parquet")
    inputs = load_inputs(tmp_path)
    assert inputs.problems == [] and inputs.sales.frame["line"].to_list() == [1, 2]
    assert inputs.reps.frame["line"].to_list() == [2, 3]


def test_parquet_file_problems(tmp_path):
    write_parquet(tmp_path)
    write(tmp_path, reps=None, sales=None, feedback=None)  # contacts.csv next to contacts.parquet
    (tmp_path / "sales.parquet").write_bytes(b"PAR1 not really")
    frames()["feedback"].drop("score").write_parquet(tmp_path / "feedback.parquet")
    frames()["reps"].with_columns(quota=pl.Series([[1], [2]])).write_parquet(tmp_path / "reps.parquet")
    assert fatal(tmp_path) == [
        (str(tmp_path / "reps.parquet"), None, "quota", "bad-column-type"),
        (str(tmp_path / "sales.parquet"), None, None, "bad-parquet"),
        (str(tmp_path / "feedback.parquet"), None, "score", "missing-column"),
        (str(tmp_path / "contacts.csv"), None, None, "ambiguous-file"),
    ]


def test_parquet_empty_and_without_rows(tmp_path):
    write_parquet(tmp_path, sales=frames()["sales"].clear(), feedback=frames()["feedback"].clear())
    (tmp_path / "contacts.parquet").write_bytes(b"")
    assert fatal(tmp_path) == [
        (str(tmp_path / "sales.parquet"), None, None, "no-rows"),
        (str(tmp_path / "contacts.parquet"), None, None, "empty-file"),
    ]


def test_parquet_column_names_are_trimmed_and_cells_too(tmp_path):
    sales = frames()["sales"].rename({"rep_id": " rep_id "}).with_columns(pl.col("sale_id") + " ")
    inputs = load_inputs(write_parquet(tmp_path, sales=sales))
    assert inputs.problems == [] and inputs.sales.frame["sale_id"].to_list() == ["S1", "S2"]
