"""`run --streaming` gives the same results as a run in memory, byte for byte.

A streaming run reads the inputs block by block into Parquet parts and computes
one period at a time (`comp_calc.data.stream`, `engine._compute`). Whatever the
block size, the exit code, the printed summary or problems and every written
file must equal those of the in-memory run: on the shipped sample, on any
mangled data folder of the fuzz tests, and on cases made to put a record, a
quoted line break or a repeated id across a block boundary.
"""

from __future__ import annotations

import csv
import io
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comp_calc.pipeline import stages as lib
from comp_calc.data import stream
import conftest
from conftest import PERIOD_FILES, PLANS, SAMPLE
from test_fuzz import data_folder, fuzz_settings, run_options, scratch, write_data

invoke = partial(conftest.invoke, columns=200)


def folder_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def assert_same_run(
    data: Path, root: Path, *args: str, block_bytes: int, monkeypatch, succeeds: bool | None, plans: Path = PLANS
) -> None:
    """The in-memory and the streaming run (blocks of `block_bytes`) agree in every output.

    `succeeds`: True when the case is meant to run (exit 0 and a complete period folder),
    False when it is meant to be refused (exit 2, nothing written), None when either may
    happen (generated cases): two runs that fail alike must not pass for two that succeed.
    """
    monkeypatch.setattr(stream, "BLOCK_BYTES", block_bytes)
    # the fixtures' data rarely reach the end of their period; completeness is not what is compared here
    args = ("--allow-incomplete", *args)
    # both runs write to root/out, which is then renamed (memory, streamed): what they print names the
    # same folder, so it must be equal to the character (the path's length decides where lines wrap)
    memory = invoke("run", "--plans", plans, "--data", data, "--out", root / "out", *args)
    if (root / "out").exists():
        (root / "out").rename(root / "memory")
    streamed = invoke("run", "--plans", plans, "--data", data, "--out", root / "out", "--streaming", *args)
    if (root / "out").exists():
        (root / "out").rename(root / "streamed")
    if succeeds is True:
        assert memory.exit_code == 0, memory.output
        periods = list((root / "memory").iterdir())
        assert len(periods) == 1 and PERIOD_FILES <= {p.name for p in periods[0].iterdir()}, periods
    elif succeeds is False:
        assert memory.exit_code == 2, memory.output
        assert not (root / "memory").exists() or not list((root / "memory").iterdir())
    assert streamed.exit_code == memory.exit_code, streamed.output + memory.output
    assert streamed.stdout == memory.stdout
    assert streamed.stderr == memory.stderr
    written = folder_bytes(root / "memory") if (root / "memory").exists() else {}
    streamed_files = folder_bytes(root / "streamed") if (root / "streamed").exists() else {}
    assert streamed_files == written  # (so the scratch folder is gone too)


@pytest.mark.parametrize(
    "block_bytes, args, folder, kinds",
    [
        # one block a file; the default period: the value-weighted activity quota, draws, outcome bonuses,
        # the team leads' and the head of sales' overrides across EUR and GBP
        (stream.BLOCK_BYTES, (), "2026-10", {"activity_bonus", "draw", "outcome_bonus", "clawback", "spif", "override"}),
        # a few hundred rows a block; the naive activity quota of version 1; the head's override alone
        (20_000, ("--period", "2026-03"), "2026-03", {"activity_bonus", "draw", "clawback", "spif", "override"}),
        # the branch plan: retroactive tiers, CES, held parts and releases from two quarters back
        (20_000, ("--period", "2026-Q2"), "2026-Q2", {"holdback", "release", "clawback"}),
        (3_000, ("--format", "json"), "2026-10", {"activity_bonus", "draw", "outcome_bonus"}),
    ],
)
def test_the_sample_streams_to_the_same_files(tmp_path: Path, monkeypatch, block_bytes: int, args, folder: str, kinds: set[str]):
    """The shipped plans use every component, so the sample compares them all, streamed and in memory."""
    assert_same_run(SAMPLE, tmp_path, *args, block_bytes=block_bytes, monkeypatch=monkeypatch, succeeds=True)
    lines = conftest.read_csv(tmp_path / "memory" / folder / "lines.csv")
    assert kinds <= {row["kind"] for row in lines}


@fuzz_settings(20)
@given(files=data_folder(), options=run_options, block_bytes=st.integers(1, 2000))
def test_any_mangled_folder_streams_to_the_same_result(files, options, block_bytes):
    with scratch() as root, pytest.MonkeyPatch.context() as monkeypatch:
        assert_same_run(write_data(root, files), root, "--format", "json", *options, block_bytes=block_bytes, monkeypatch=monkeypatch, succeeds=None)


def _sample_rows(name: str, every: int = 1) -> list[list[str]]:
    """The header and every `every`-th row of a sample file (every month and rep stays in a
    thinned file: the rows are in date order and each month holds hundreds of them)."""
    with open(SAMPLE / f"{name}.csv", encoding="utf-8", newline="") as f:
        header, *rows = csv.reader(f)
    return [header, *rows[::every]]


def _write(folder: Path, tables: dict[str, list[list[str]]], newline: str = "\n", every: int = 1) -> Path:
    """A data folder of `tables`, the other files from the sample (`every`: thinned, see _sample_rows).

    A streaming run's cost grows with its number of blocks: the tests with blocks of a few
    hundred rows thin the files whose volume is not what they test."""
    folder.mkdir()
    for name in ("reps", "sales", "feedback", "contacts"):
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator=newline).writerows(tables.get(name) or _sample_rows(name, every))
        (folder / f"{name}.csv").write_text(buffer.getvalue(), encoding="utf-8")
    for name in ("campaigns", "fx_rates"):  # the shipped plans name its campaigns; the sample has three currencies
        (folder / f"{name}.csv").write_bytes((SAMPLE / f"{name}.csv").read_bytes())
    return folder


@pytest.mark.parametrize("block_bytes", [2_000, 50_000])
def test_repeated_ids_across_blocks_keep_the_first_line(tmp_path: Path, monkeypatch, block_bytes: int):
    # sales with ids out of order, repeated far apart, one first occurrence itself invalid
    # (bad amount: it is still the first), plus a repeat of an id inside one block
    # half the sales (still some 60 blocks of 2000 bytes), a quarter of the feedback and contacts
    header, *rows = _sample_rows("sales", every=2)
    amount = header.index("amount")
    rows = rows[::-1]  # ids now descend: every block boundary needs the file-wide check
    rows[10][amount] = "12,50"  # invalid first occurrence of its id
    rows += [list(rows[10]), list(rows[3]), list(rows[3]), list(rows[-1])]
    for row in rows[-4:]:
        row[amount] = "100.00"
    data = _write(tmp_path / "data", {"sales": [header, *rows]}, every=4)
    assert_same_run(data, tmp_path, "--skip-invalid", block_bytes=block_bytes, monkeypatch=monkeypatch, succeeds=True)
    (tmp_path / "strict").mkdir()
    assert_same_run(data, tmp_path / "strict", block_bytes=block_bytes, monkeypatch=monkeypatch, succeeds=False)
    exceptions = (tmp_path / "memory" / "2026-10" / "exceptions.csv").read_text()
    assert exceptions.count("duplicate-id") == 4


def _csv_bytes(rows: list[list[str]], newline: str) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=newline).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _cuts_inside_quotes(content: bytes, block_bytes: int) -> int:
    """How often a block read of `content` (after its header line) ends with its last line end
    inside a quoted field, so that the reader must read on (the cut rule of comp_calc.data.stream:
    at the last line end of what was read, only where the quotes before it balance)."""
    pending, count, rest = b"", 0, io.BytesIO(content[content.index(b"\n") + 1 :])
    while chunk := rest.read(block_bytes):
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        if cut and pending.count(b'"', 0, cut) % 2 == 0:
            pending = pending[cut:]
        elif cut:
            count += 1
    return count


def _break_where_reads_end(header: list[str], rows: list[list[str]], newline: str, block_bytes: int, wanted: int = 4) -> None:
    """Start the customer id of `wanted` records, spread over the file, with a line break, each
    record one where a block read ends after that break: the reader sees a line end inside
    quotes last and must read on. Reads end every `block_bytes` of the file after its header."""
    customer = header.index("customer_id")
    lengths = [len(_csv_bytes([row], newline)) for row in rows]
    body = sum(lengths)
    placed, end = 0, block_bytes
    while placed < wanted and end < body:
        start, r = 0, 0
        while start + lengths[r] <= end:
            start, r = start + lengths[r], r + 1
        before = len(",".join(rows[r][:customer])) + 2  # the fields before it, the comma and the opening quote
        if "\n" not in rows[r][customer] and start + before < end:
            rows[r][customer] = "\n" + rows[r][customer]
            lengths[r] = len(_csv_bytes([rows[r]], newline))
            body += 3
            placed += 1
            end += max(block_bytes, body // wanted // block_bytes * block_bytes)
        else:
            end += block_bytes


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("block_bytes", [1_000, 7_777])
def test_quoted_line_breaks_never_split_a_record(tmp_path: Path, monkeypatch, newline: str, block_bytes: int):
    # reps names with commas, quotes and line breaks: a block may only end where the quotes balance
    header, *rows = _sample_rows("reps")
    name = header.index("name")
    for i, row in enumerate(rows):
        row[name] = f'{row[name]}, "the {i}th"\nsecond line' if i % 3 == 0 else row[name]
    # a quarter of the sample's sales, feedback and contacts (still some 100 blocks of 1000 bytes)
    data = _write(tmp_path / "data", {"reps": [header, *rows]}, newline, every=4)
    # reps is read whole; quoted breaks in sales too (a customer id holding one is a bad id): one
    # early in the file, and one in the record where each of several block reads ends, after the break
    sales_header, *sales = _sample_rows("sales", every=4)
    sales[5][sales_header.index("customer_id")] = "C\n1"
    _break_where_reads_end(sales_header, sales, newline, block_bytes)
    (data / "sales.csv").write_bytes(_csv_bytes([sales_header, *sales], newline))
    assert _cuts_inside_quotes((data / "sales.csv").read_bytes(), block_bytes) >= 2
    assert_same_run(data, tmp_path, "--skip-invalid", block_bytes=block_bytes, monkeypatch=monkeypatch, succeeds=True)
    assert "bad-id" in (tmp_path / "memory" / "2026-10" / "exceptions.csv").read_text()


def test_an_unbalanced_quote_is_reported_with_its_line(tmp_path: Path, monkeypatch):
    header, *rows = _sample_rows("sales")
    data = _write(tmp_path / "data", {"sales": [header, *rows]})
    text = (data / "sales.csv").read_text().splitlines(keepends=True)
    text[2000] = text[2000].replace(",", ',"', 1)
    (data / "sales.csv").write_text("".join(text))
    assert_same_run(data, tmp_path, block_bytes=1000, monkeypatch=monkeypatch, succeeds=False)


@pytest.mark.parametrize("content", [b"", b"sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\n", b"\xff\xfe\x00"])
def test_unusable_sales_files_fail_the_same_way(tmp_path: Path, monkeypatch, content: bytes):
    data = _write(tmp_path / "data", {})
    (data / "sales.csv").write_bytes(content)
    assert_same_run(data, tmp_path, block_bytes=2_000, monkeypatch=monkeypatch, succeeds=False)
    assert invoke("run", "--data", data, "--out", tmp_path / "x", "--streaming").exit_code == 2


def test_a_bad_byte_late_in_the_file_is_reported_on_its_line(tmp_path: Path, monkeypatch):
    data = _write(tmp_path / "data", {})
    lines = (data / "sales.csv").read_bytes().split(b"\n")
    lines[3000] = lines[3000] + b"\xff"
    (data / "sales.csv").write_bytes(b"\n".join(lines))
    monkeypatch.setattr(stream, "BLOCK_BYTES", 5000)
    result = invoke("run", "--data", data, "--out", tmp_path / "out", "--streaming")
    assert result.exit_code == 2
    assert "on line 3001" in result.output


def test_statements_are_refused_in_a_streaming_run(tmp_path: Path):
    result = invoke("run", "--out", tmp_path, "--streaming", "--statements")
    assert result.exit_code == 2
    assert "--statements" in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_large_inputs_stream_by_themselves(tmp_path: Path, monkeypatch):
    assert not lib.large_inputs(SAMPLE)
    monkeypatch.setattr(lib, "STREAMING_BYTES", 1000)
    assert lib.large_inputs(SAMPLE)
    seen = []
    original = lib.load_inputs_streaming
    monkeypatch.setattr(lib, "load_inputs_streaming", lambda *a, **k: seen.append(a) or original(*a, **k))
    assert invoke("run", "--out", tmp_path / "out").exit_code == 0
    assert seen and not list((tmp_path / "out").glob(".streaming-*"))
    # statements need the run in memory: asked for, the run does not stream
    seen.clear()
    assert invoke("run", "--out", tmp_path / "out2", "--statements").exit_code == 0
    assert not seen


@pytest.mark.parametrize("block_bytes", [64 * 700, stream.BLOCK_BYTES])
def test_parquet_inputs_stream_to_the_same_files(tmp_path: Path, monkeypatch, block_bytes: int):
    import polars as pl

    data = tmp_path / "data"
    data.mkdir()
    for name in ("reps", "sales", "feedback", "contacts"):
        frame = pl.read_csv(SAMPLE / f"{name}.csv", try_parse_dates=True)
        if name == "sales":  # a bad row, late in the file, so a later block rejects it
            frame = frame.with_columns(amount=pl.when(pl.int_range(pl.len()) == 3000).then(-1.0).otherwise(pl.col("amount")))
        frame.write_parquet(data / f"{name}.parquet", row_group_size=500)
    for name in ("campaigns", "fx_rates"):
        (data / f"{name}.csv").write_bytes((SAMPLE / f"{name}.csv").read_bytes())
    assert_same_run(data, tmp_path, "--skip-invalid", block_bytes=block_bytes, monkeypatch=monkeypatch, succeeds=True)
    assert "sales.parquet,3001,amount" in (tmp_path / "memory" / "2026-10" / "exceptions.csv").read_text()


def test_validate_streams_to_the_same_report(tmp_path: Path, monkeypatch):
    header, *rows = _sample_rows("sales")
    rows[7][header.index("sold_on")] = "2026-02-30"
    rows += [list(rows[0])]  # a repeated id at the end of the file
    data = _write(tmp_path / "data", {"sales": [header, *rows]})
    monkeypatch.setattr(stream, "BLOCK_BYTES", 5_000)
    memory = invoke("validate", "--data", data, "--format", "json")
    streamed = invoke("validate", "--data", data, "--format", "json", "--streaming")
    assert memory.exit_code == streamed.exit_code == 2
    assert streamed.stdout == memory.stdout
    assert '"bad-date"' in memory.stdout and '"duplicate-id"' in memory.stdout


def test_a_closed_period_is_refused_before_the_inputs_are_read(tmp_path: Path, monkeypatch):
    assert invoke("run", "--out", tmp_path, "--period", "2026-09").exit_code == 0
    read = []
    monkeypatch.setattr(lib, "load_inputs_streaming", lambda *a: read.append(a))
    again = invoke("run", "--out", tmp_path, "--period", "2026-09", "--streaming")
    assert again.exit_code == 2 and "period-exists" in again.output and "--force" in again.output
    assert read == []


def test_a_killed_runs_scratch_folder_is_removed_by_the_next_run(tmp_path: Path):
    import os

    dead = tmp_path / ".streaming-999999999-abcd"  # no such process
    mine = tmp_path / f".streaming-{os.getpid()}-abcd"  # this process: a run still going
    for folder in (dead, mine):
        folder.mkdir()
        (folder / "sales-00000-2026-01.parquet").write_bytes(b"x")
    assert invoke("run", "--out", tmp_path, "--streaming").exit_code == 0
    assert not dead.exists() and mine.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["2026-10", mine.name])
