"""Output files: number format, CSV bytes, JSON, atomic period folders, file names."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comp_calc.errors import Diagnostic, InputError
from conftest import invoke
from comp_calc.outputs import csvfmt, writer
from comp_calc.outputs.csvfmt import format_frame, to_csv_bytes
from comp_calc.outputs.writer import (
    exceptions_frame,
    render_csv,
    render_json,
    safe_file_stem,
    write_period,
)

D = Decimal
MONEY = pl.Decimal(38, 2)


def money(values: list) -> pl.Series:
    return pl.Series("m", [None if v is None else D(v) for v in values], dtype=MONEY)


def fmt_money(values: list) -> list:
    return format_frame(money(values).to_frame(), {"m"}, set())["m"].to_list()


def fmt_exact(values: list, scale: int = 10) -> list:
    s = pl.Series("e", [None if v is None else D(v) for v in values], dtype=pl.Decimal(38, scale))
    return format_frame(s.to_frame(), set(), {"e"})["e"].to_list()


def fmt_text(values: list) -> list:
    return format_frame(pl.DataFrame({"t": values}, schema={"t": pl.String}), set(), set())[
        "t"
    ].to_list()


# --------------------------------------------------------------------------
# number format


def test_money_has_exactly_two_decimals():
    assert fmt_money(["1234.56", "-750", "0", "0.5", "-0.01", "12345678901234567890.12"]) == [
        "1234.56",
        "-750.00",
        "0.00",
        "0.50",
        "-0.01",
        "12345678901234567890.12",
    ]


def test_money_never_negative_zero():
    assert fmt_money(["-0.00", "-0"]) == ["0.00", "0.00"]
    # A value that only looked like a negative zero in text, cast in from scale 0.
    s = pl.Series("m", [D("-0")], dtype=pl.Decimal(38, 0))
    assert format_frame(s.to_frame(), {"m"}, set())["m"].to_list() == ["0.00"]


def test_money_null_is_empty_cell():
    assert fmt_money([None, "1"]) == [None, "1.00"]


def test_money_from_lower_scale_and_integers_is_padded():
    frame = pl.DataFrame(
        {
            "a": pl.Series([D("5"), D("-3")], dtype=pl.Decimal(38, 0)),
            "b": pl.Series([D("1.5"), D("-0.1")], dtype=pl.Decimal(38, 1)),
            "c": pl.Series([7, -2], dtype=pl.Int64),
        }
    )
    out = format_frame(frame, {"a", "b", "c"}, set())
    assert out.rows() == [("5.00", "1.50", "7.00"), ("-3.00", "-0.10", "-2.00")]


def test_money_with_more_than_cents_is_refused():
    s = pl.Series("m", [D("1.005")], dtype=pl.Decimal(38, 3))
    with pytest.raises(ValueError, match="cents"):
        format_frame(s.to_frame(), {"m"}, set())


def test_float_money_is_refused():
    with pytest.raises(TypeError, match="Decimal"):
        format_frame(pl.DataFrame({"m": [1.5]}), {"m"}, set())


def test_exact_values_plain_without_trailing_zeros_but_two_decimals():
    assert fmt_exact(["0.004", "1.1", "1", "12.3456", "-3.5", "0", "100", "1E+5", None]) == [
        "0.004",
        "1.10",
        "1.00",
        "12.3456",
        "-3.50",
        "0.00",
        "100.00",
        "100000.00",
        None,
    ]


def test_exact_values_at_any_scale():
    assert fmt_exact(["7", "-2"], scale=0) == ["7.00", "-2.00"]
    assert fmt_exact(["1.5"], scale=1) == ["1.50"]
    assert fmt_exact(["0.10"], scale=2) == ["0.10"]
    assert fmt_exact(["0.000000000000000000000000000001"], scale=30) == [
        "0.000000000000000000000000000001"
    ]
    assert fmt_exact(["-0.000"], scale=3) == ["0.00"]


def test_integers_as_integers_and_other_decimals_at_their_scale():
    frame = pl.DataFrame(
        {
            "plan_version": pl.Series([2, None], dtype=pl.Int64),
            "attainment": pl.Series([D("0.5"), None], dtype=pl.Decimal(38, 6)),
        }
    )
    assert format_frame(frame, set(), set()).rows() == [("2", "0.500000"), (None, None)]


def test_formula_neutralisation_of_text_cells():
    assert fmt_text(["=SUM(A1)", "+1", "-x", "@a", "\tx", "\rx", "plain", "a=b", "", None]) == [
        "'=SUM(A1)",
        "'+1",
        "'-x",
        "'@a",
        "'\tx",
        "'\rx",
        "plain",
        "a=b",
        None,
        None,
    ]


def test_numbers_are_never_neutralised():
    frame = pl.DataFrame(
        {
            "amount": money(["-750", "-0.01"]),
            "rate": pl.Series([D("-0.5"), D("1")], dtype=pl.Decimal(38, 4)),
            "n": pl.Series([-3, 4], dtype=pl.Int64),
            "att": pl.Series([D("-1"), D("1")], dtype=pl.Decimal(38, 6)),
        }
    )
    out = format_frame(frame, {"amount"}, {"rate"})
    assert out.rows() == [
        ("-750.00", "-0.50", "-3", "-1.000000"),
        ("-0.01", "1.00", "4", "1.000000"),
    ]


def test_categorical_text_is_neutralised_too():
    frame = pl.DataFrame({"t": pl.Series(["=1", "ok"], dtype=pl.Categorical)})
    assert format_frame(frame, set(), set())["t"].to_list() == ["'=1", "ok"]


def test_format_frame_keeps_column_order_and_types_text():
    frame = pl.DataFrame({"b": ["x"], "a": money(["1"])})
    out = format_frame(frame, {"a"}, set())
    assert out.columns == ["b", "a"]
    assert out.dtypes == [pl.String, pl.String]


def test_unknown_or_doubly_listed_columns_are_refused():
    frame = money(["1"]).to_frame()
    with pytest.raises(KeyError):
        format_frame(frame, {"nope"}, set())
    with pytest.raises(ValueError):
        format_frame(frame, {"m"}, {"m"})


# --------------------------------------------------------------------------
# CSV bytes


def small_payouts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rep_id": ["E-10", "=E9"],
            "name": ['Doe, "Jo"', "Line\nbreak"],
            "plan_version": pl.Series([2, 1], dtype=pl.Int64),
            "credited": pl.Series([D("1000.5"), D("0")], dtype=pl.Decimal(38, 4)),
            "attainment": pl.Series([D("0.5"), None], dtype=pl.Decimal(38, 6)),
            "quality_multiplier": pl.Series([D("1.1"), None], dtype=pl.Decimal(38, 3)),
            "payout": money(["1234.56", "-750"]),
        }
    )


EXPECTED_CSV = (
    b"rep_id,name,plan_version,credited,attainment,quality_multiplier,payout\n"
    b'E-10,"Doe, ""Jo""",2,1000.50,0.500000,1.10,1234.56\n'
    b"'=E9,\"Line\nbreak\",1,0.00,,,-750.00\n"
)


def test_csv_bytes_exact():
    data = render_csv(small_payouts(), {"payout"}, {"credited", "quality_multiplier"})
    assert data == EXPECTED_CSV
    assert not data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" not in data


def test_csv_is_deterministic():
    frame = small_payouts()
    first = render_csv(frame, {"payout"}, {"credited", "quality_multiplier"})
    second = render_csv(frame.clone(), {"payout"}, {"credited", "quality_multiplier"})
    assert first == second


def test_csv_quotes_carriage_returns_and_keeps_utf8():
    frame = pl.DataFrame({"a": ["x\ry", "Zoë"], "b": ["1", "2"]})
    assert render_csv(frame, set(), set()) == 'a,b\n"x\ry",1\nZoë,2\n'.encode()


def test_csv_with_no_rows_is_only_the_header():
    frame = small_payouts().head(0)
    assert render_csv(frame, {"payout"}, {"credited", "quality_multiplier"}) == (
        b"rep_id,name,plan_version,credited,attainment,quality_multiplier,payout\n"
    )


def test_to_csv_bytes_needs_a_formatted_frame():
    with pytest.raises(TypeError):
        to_csv_bytes(small_payouts())


# --------------------------------------------------------------------------
# exceptions.csv


def test_exceptions_frame_sorted_and_rendered():
    diags = [
        Diagnostic("sales.csv", 7, "amount", "not-positive", "amount must be > 0"),
        Diagnostic("reps.csv", 3, "quota", "bad-decimal", "=1+1 is not a decimal"),
        Diagnostic("reps.csv", None, None, "missing-column", "no column quota"),
        Diagnostic("reps.csv", 3, "end_date", "bad-date", "not a date"),
        Diagnostic("plans/p.yaml", 9, "rates[0].product", "product-never-sold", "no sale has 'x'", "warning"),
    ]
    data = render_csv(exceptions_frame(diags), set(), set())
    assert data == (
        b"file,line,column,code,message,severity\n"
        b"plans/p.yaml,9,rates[0].product,product-never-sold,no sale has 'x',warning\n"
        b"reps.csv,,,missing-column,no column quota,error\n"
        b"reps.csv,3,end_date,bad-date,not a date,error\n"
        b"reps.csv,3,quota,bad-decimal,'=1+1 is not a decimal,error\n"
        b"sales.csv,7,amount,not-positive,amount must be > 0,error\n"
    )


def test_exceptions_frame_empty_is_header_only():
    frame = exceptions_frame([])
    assert frame.columns == ["file", "line", "column", "code", "message", "severity"]
    assert frame.height == 0
    assert render_csv(frame, set(), set()) == b"file,line,column,code,message,severity\n"


# --------------------------------------------------------------------------
# JSON


def test_render_json_sorted_indented_decimal_as_plain_string():
    data = render_json({"totals": {"payout": D("1E+3"), "tiny": D("0.0000001")}, "b": [1, "x"]})
    assert data == (
        b'{\n  "b": [\n    1,\n    "x"\n  ],\n  "totals": {\n'
        b'    "payout": "1000",\n    "tiny": "0.0000001"\n  }\n}\n'
    )
    assert render_json({"z": D("-0.00")}) == b'{\n  "z": "0.00"\n}\n'


def test_render_json_is_deterministic_and_refuses_unknown_types():
    obj = {"b": D("1.50"), "a": {"y": 1, "x": 2}}
    assert render_json(obj) == render_json(dict(reversed(list(obj.items()))))
    assert json.loads(render_json(obj)) == {"a": {"x": 2, "y": 1}, "b": "1.50"}
    with pytest.raises(TypeError):
        render_json({"x": object()})
    with pytest.raises(ValueError):
        render_json({"x": float("nan")})


# --------------------------------------------------------------------------
# period folder


FILES = {"payouts.csv": b"a\n1\n", "lines.csv": b"b\n2\n", "manifest.json": b"{}\n"}


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


def test_write_period_writes_complete_folder(tmp_path: Path):
    out = tmp_path / "out"
    target = write_period(out, "2026-10", FILES, force=False)
    assert target == out / "2026-10"
    assert {p.name: p.read_bytes() for p in target.iterdir()} == FILES
    assert leftovers(out) == []


def test_write_period_permissions_owner_only(tmp_path: Path):
    target = write_period(tmp_path, "2026-Q4", FILES, force=False)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    for path in target.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_period_subfolders(tmp_path: Path):
    name = f"statements/{safe_file_stem('../x')}.csv"
    target = write_period(tmp_path, "2026-10", {name: b"s\n"}, force=False)
    assert (target / name).read_bytes() == b"s\n"
    assert stat.S_IMODE((target / "statements").stat().st_mode) == 0o700


def test_existing_period_without_force_is_refused_and_untouched(tmp_path: Path):
    target = write_period(tmp_path, "2026-10", FILES, force=False)
    with pytest.raises(InputError) as caught:
        write_period(tmp_path, "2026-10", {"payouts.csv": b"new\n"}, force=False)
    [diag] = caught.value.diagnostics
    assert diag.code == "period-exists"
    assert diag.file == str(target)
    assert (diag.line, diag.column) == (None, None)
    assert "--force" in diag.message
    assert {p.name: p.read_bytes() for p in target.iterdir()} == FILES
    assert leftovers(tmp_path) == []


def test_force_replaces_the_folder_whole(tmp_path: Path):
    target = write_period(tmp_path, "2026-10", FILES, force=False)
    write_period(tmp_path, "2026-10", {"payouts.csv": b"new\n"}, force=True)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == {"payouts.csv": b"new\n"}
    assert leftovers(tmp_path) == []


def test_force_on_a_new_period_just_writes(tmp_path: Path):
    target = write_period(tmp_path, "2026-10", FILES, force=True)
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES)


def test_failure_mid_write_leaves_nothing(tmp_path: Path):
    bad = {"a.csv": b"ok\n", "b.csv": "not bytes", "c.csv": b"ok\n"}
    with pytest.raises(TypeError):
        write_period(tmp_path, "2026-10", bad, force=False)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_failure_mid_write_with_force_keeps_the_old_folder(tmp_path: Path):
    target = write_period(tmp_path, "2026-10", FILES, force=False)
    bad = {"a.csv": b"ok\n", "b.csv": 12}
    with pytest.raises(TypeError):
        write_period(tmp_path, "2026-10", bad, force=True)  # type: ignore[arg-type]
    assert {p.name: p.read_bytes() for p in target.iterdir()} == FILES
    assert leftovers(tmp_path) == []


def test_failed_swap_restores_the_old_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = write_period(tmp_path, "2026-10", FILES, force=False)
    real_rename = os.rename
    calls = []

    def flaky_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # moving the new folder in
            raise OSError("disk gone")
        return real_rename(src, dst)

    monkeypatch.setattr(writer.os, "rename", flaky_rename)
    with pytest.raises(OSError, match="disk gone"):
        write_period(tmp_path, "2026-10", {"x.csv": b"x\n"}, force=True)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in target.iterdir()} == FILES
    assert leftovers(tmp_path) == []


def test_failed_fsync_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    real_fsync = os.fsync
    calls = []

    def flaky_fsync(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError("io error")
        return real_fsync(fd)

    monkeypatch.setattr(writer.os, "fsync", flaky_fsync)
    with pytest.raises(OSError, match="io error"):
        write_period(tmp_path / "out", "2026-10", FILES, force=False)
    monkeypatch.undo()
    assert not (tmp_path / "out").exists()  # the output folder the write made is removed too


class _Frame:
    """A file that writes itself: a text frame as CSV, as lines.csv is written."""

    def __init__(self, frame: pl.DataFrame):
        self.frame = frame

    def write_to(self, out) -> None:
        csvfmt.write_csv(self.frame, out)


def test_a_streamed_file_is_written_as_its_bytes(tmp_path: Path):
    frame = pl.DataFrame({"a": ["x,y", None, "z"], "b": ["1", "2", None]})
    target = write_period(tmp_path, "2026-10", {"lines.csv": _Frame(frame)}, force=False)
    assert (target / "lines.csv").read_bytes() == to_csv_bytes(frame) == b'a,b\n"x,y",1\n,2\nz,\n'
    assert stat.S_IMODE((target / "lines.csv").stat().st_mode) == 0o600


def test_a_full_disk_while_streaming_is_reported_with_its_errno_and_the_final_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # polars calls the file's write from native code and re-raises an OSError without its errno
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer.os, "write", full)
    frame = pl.DataFrame({"a": ["x"] * 1000})
    with pytest.raises(OSError) as e:
        write_period(tmp_path / "out", "2026-10", {"lines.csv": _Frame(frame)}, force=False)
    monkeypatch.undo()
    assert e.value.errno == errno.ENOSPC
    assert e.value.filename == str(tmp_path / "out" / "2026-10" / "lines.csv")
    assert not (tmp_path / "out").exists()


def test_the_manifest_records_the_hash_of_lines_csv_as_written(tmp_path: Path):
    assert invoke("run", "--out", tmp_path).exit_code == 0
    folder = tmp_path / "2026-10"
    outputs = json.loads((folder / "manifest.json").read_text())["outputs"]
    assert outputs["lines.csv"] == hashlib.sha256((folder / "lines.csv").read_bytes()).hexdigest()


@pytest.mark.parametrize("label", ["", ".", "..", "../x", "a/b", ".hidden"])
def test_unsafe_period_labels_are_refused(tmp_path: Path, label: str):
    with pytest.raises(ValueError):
        write_period(tmp_path, label, FILES, force=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../escape.csv", "/abs.csv", "a/../b.csv", "", "a\\b", "x/"])
def test_unsafe_file_names_are_refused(tmp_path: Path, name: str):
    with pytest.raises(ValueError):
        write_period(tmp_path, "2026-10", {name: b"x"}, force=False)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# file-name stems


def test_safe_file_stem_cannot_escape():
    stem = safe_file_stem("../../etc/passwd")
    assert "/" not in stem and "\\" not in stem
    assert not stem.startswith(".")
    assert stem == "_.._etc_passwd-3754d6cb"


def test_safe_file_stem_keeps_lookalikes_apart():
    assert safe_file_stem("a/b") != safe_file_stem("a_b")
    assert safe_file_stem("a/b").startswith("a_b-")
    assert safe_file_stem("E-10").lower() != safe_file_stem("e-10").lower()


def test_safe_file_stem_is_stable():
    # First 8 hex digits of sha256("E-10"): the same on every machine and run.
    assert safe_file_stem("E-10") == "E-10-594900bb"


@pytest.mark.parametrize("rep_id", ["CON", "con", "NUL", "nul.txt", "COM1", "LPT9", "AUX", "PRN"])
def test_safe_file_stem_avoids_windows_device_names(rep_id: str):
    stem = safe_file_stem(rep_id)
    assert stem.startswith("_")
    device = stem.split(".")[0].split("-")[0].upper()
    assert device not in {"CON", "NUL", "COM1", "LPT9", "AUX", "PRN"}


def test_safe_file_stem_empty_and_dots_get_a_placeholder():
    assert safe_file_stem("").startswith("rep-")
    assert safe_file_stem("...").startswith("rep-")
    assert safe_file_stem("") != safe_file_stem("...")


def test_safe_file_stem_caps_long_ids_and_keeps_them_apart():
    a, b = "x" * 500 + "a", "x" * 500 + "b"
    assert len(safe_file_stem(a)) <= 80
    assert safe_file_stem(a) != safe_file_stem(b)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_safe_file_stem_property(rep_id: str):
    stem = safe_file_stem(rep_id)
    assert stem and len(stem) <= 80
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in stem)
    assert not stem.startswith(".")
    assert stem not in (".", "..")


# --------------------------------------------------------------------------
# properties of the number format

money_values = st.decimals(
    min_value=D("-1e15"), max_value=D("1e15"), places=2, allow_nan=False, allow_infinity=False
)


@settings(max_examples=200, deadline=None)
@given(st.lists(money_values, min_size=1, max_size=20))
def test_money_text_round_trips(values: list[Decimal]):
    texts = fmt_money([str(v) for v in values])
    for value, text in zip(values, texts, strict=True):
        assert D(text) == value.quantize(D("0.01"))
        frac = text.partition(".")[2]
        assert len(frac) == 2 and frac.isdigit()
        assert text != "-0.00"
        assert "e" not in text.lower()


exact_values = st.decimals(
    min_value=D("-1e12"), max_value=D("1e12"), places=10, allow_nan=False, allow_infinity=False
)


@settings(max_examples=200, deadline=None)
@given(st.lists(exact_values, min_size=1, max_size=20))
def test_exact_text_round_trips(values: list[Decimal]):
    texts = fmt_exact([str(v) for v in values])
    for value, text in zip(values, texts, strict=True):
        assert D(text) == value
        frac = text.partition(".")[2]
        assert len(frac) >= 2
        assert len(frac) == 2 or not frac.endswith("0")
        assert "e" not in text.lower()
        assert not (text.startswith("-") and D(text) == 0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=20))
def test_neutralised_text_never_starts_with_a_formula_character(values: list[str]):
    for value, cell in zip(values, fmt_text(values), strict=True):
        if value == "":
            assert cell is None
            continue
        assert cell[0] not in csvfmt.FORMULA_START
        assert cell in (value, "'" + value)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=10))
def test_csv_round_trips_text(values: list[str]):
    frame = pl.DataFrame({"t": values, "n": [str(i) for i in range(len(values))]})
    data = to_csv_bytes(format_frame(frame, set(), set()))
    back = pl.read_csv(data, infer_schema=False)
    expected = format_frame(frame, set(), set())
    assert back["n"].to_list() == expected["n"].to_list()
    assert back["t"].fill_null("").to_list() == expected["t"].fill_null("").to_list()


@pytest.fixture(scope="module")
def whole_lines_csv(tmp_path_factory) -> bytes:
    """lines.csv of the bare run, written with the default piece size (once for the module)."""
    out = tmp_path_factory.mktemp("whole")
    whole = invoke("run", "--out", out)
    assert whole.exit_code == 0, whole.output
    return (out / "2026-10" / "lines.csv").read_bytes()


@pytest.mark.parametrize("per_piece", [1, 7, 100, 10_000])
def test_lines_csv_written_in_pieces_is_the_same_file(tmp_path: Path, monkeypatch, per_piece: int, whole_lines_csv: bytes):
    # lines.csv is formatted and written a piece at a time; the file must not show the seams
    from comp_calc.outputs import results

    monkeypatch.setattr(results, "LINES_PER_PIECE", per_piece)
    pieces = invoke("run", "--out", tmp_path / "pieces")
    assert pieces.exit_code == 0
    written = (tmp_path / "pieces" / "2026-10" / "lines.csv").read_bytes()
    assert written == whole_lines_csv
    assert written.count(b"\nrep_id,") == 0 and written.count(b"\n") > 400  # one header, 455 lines


# --------------------------------------------------------------------------
# lines.csv and explain read the same lines by two paths


@pytest.mark.parametrize(
    "plans, data, period",
    [
        ("plans", "sample_data", "2026-10"),  # every kind, relationship credits, converted credits, overrides
        ("tests/fixtures/retroactive_ces/plans", "tests/fixtures/retroactive_ces/data", None),  # collapsed bands
        ("tests/fixtures/currency/plans", "tests/fixtures/currency/data", "2026-03"),
    ],
)
def test_lines_csv_shows_the_lines_explain_reads(plans, data, period):
    # lines.csv is formatted in one query of its own (results.lines_text); explain and statements
    # read lines_frame: formatted alike, the two must be the same text, cell for cell
    from comp_calc.outputs.results import LINE_EXACT, LINE_MONEY, lines_frame, lines_text
    from comp_calc.pipeline import stages

    root = Path(__file__).resolve().parent.parent
    result = stages.run(stages.prepare(root / plans, root / data, period, False, allow_incomplete=True))
    expected = format_frame(lines_frame(result), LINE_MONEY, LINE_EXACT)
    got = lines_text(result)
    assert got.height > 0 and got.columns == expected.columns
    assert got.equals(expected)
