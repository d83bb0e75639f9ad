"""Hardening of `comp-calc run`: self-reconciliation, atomic outputs, safe files, limits.

The case (written by `write_case`), plan p (monthly from 2026-01, half_up):
  rates: card 0.03, anything else 0.01; no tiers; clawback 100% within 90 days; cap 100.
  A1 quota 2000; B2 quota 1000.
  January: S1 card 800 by A1 -> 24.00; S2 loan 1000 by A1 -> 10.00; S3 card 5000 by B2 -> 150.00,
  capped at 100 (cap line -50.00).
  February: S2 cancelled 2026-02-20 -> clawback -10.00 for A1, carried forward (payout 0.00).
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from decimal import Decimal
from functools import partial
from pathlib import Path

import polars as pl
import pytest

from comp_calc.pipeline import stages as lib
from comp_calc.reconcile.rows import account_rows
from comp_calc.cli import terminate_as_exit
from comp_calc.errors import MachineError
from comp_calc.outputs.csvfmt import FORMULA_START
from comp_calc.outputs.writer import clean_stale, safe_file_stem, write_period
import conftest
from conftest import PERIOD_FILES, ROOT, read_csv


PLAN = """\
plan: p
version: 1
effective_from: 2026-01-01
currency: EUR
period: month
rounding: half_up
rates:
  - product: card
    rate: 0.03
  - rate: 0.01
clawback:
  - within_days: 90
    recover: 1.0
cap: 100
"""

REPS = """\
rep_id,name,team,plan,quota,start_date,end_date
A1,Ann Lee,North,p,2000,2026-01-01,
B2,Bob Ray,South,p,1000,2026-01-01,
"""

SALES = """\
sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on
S1,A1,c1,card,800,2026-01-05,
S2,A1,c2,loan,1000,2026-01-10,2026-02-20
S3,B2,c3,card,5000,2026-01-12,
"""


def write_case(root: Path, reps: str = REPS, sales: str = SALES, plan: str = PLAN, **extra: str) -> tuple[Path, Path]:
    return conftest.write_case(root, {"p.yaml": plan}, reps=reps, sales=sales, **extra)


invoke = partial(conftest.invoke, columns=120)


def run_case(root: Path, *args: str, **case: str):
    plans, data = write_case(root, **case)
    out = root / "out"
    return invoke("run", "--plans", plans, "--data", data, "--out", out, "--allow-incomplete", *args), out


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def hidden(folder: Path) -> list[str]:
    return [n for n in entries(folder) if n.startswith(".")]


def assert_complete(folder: Path) -> dict:
    """A period folder is all four files, the manifest parses and names the period."""
    assert PERIOD_FILES <= set(entries(folder)), entries(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["period"] == folder.name
    for name in ("payouts.csv", "lines.csv", "exceptions.csv"):
        assert (folder / name).read_bytes().endswith(b"\n")
    return manifest


# --------------------------------------------------------------------------
# reconciliation inside every run


def test_the_case_runs_and_reconciles(tmp_path: Path):
    result, out = run_case(tmp_path, "--period", "2026-02")
    assert result.exit_code == 0, result.output
    manifest = assert_complete(out / "2026-02")
    sales = manifest["inputs"]["sales"]
    assert (sales["rows_read"], sales["rows_used"], sales["rows_rejected"], sales["rows_ignored_after_period"]) == (3, 3, 0, 0)
    payouts = {r["rep_id"]: r for r in read_csv(out / "2026-02" / "payouts.csv")}
    assert payouts["A1"]["clawbacks"] == "-10.00" and payouts["A1"]["carry_out"] == "-10.00"


def _shift_payout(original):
    def settle(grid):
        return original(grid).with_columns(payout=pl.col("payout") + pl.lit(Decimal("0.01"), dtype=pl.Decimal(38, 2)))

    return settle


def _drop_cap_lines(original):
    def lines(*args):
        commission, others = original(*args)  # the other kinds' lines, in parts
        return commission, tuple(part.filter(pl.col("kind") != "cap") for part in others)

    return lines


def _lose_a_credit_line(original):
    def coded_lines(*args, **kwargs):
        lines, sales, matches = original(*args, **kwargs)  # the lines carry their sale's row of `sales`
        s1 = sales.with_row_index("sale").filter(pl.col("sale_id") == "S1")["sale"].cast(pl.Int64)
        return lines.filter(~pl.col("sale").is_in(s1.implode())), sales, matches

    return coded_lines


@pytest.mark.parametrize(
    ("module", "name", "tamper"),
    [
        ("comp_calc.steps.balance", "settle", _shift_payout),
        ("comp_calc.engine", "_lines", _drop_cap_lines),
        ("comp_calc.steps.credit", "coded_lines", _lose_a_credit_line),
    ],
    ids=["payout-off-by-a-cent", "cap-line-lost", "credit-line-lost"],
)
@pytest.mark.parametrize("mode", [(), ("--streaming",)], ids=["in-memory", "streaming"])
def test_a_broken_invariant_exits_1_and_writes_nothing(tmp_path: Path, monkeypatch, module, name, tamper, mode):
    target = importlib.import_module(module)
    monkeypatch.setattr(target, name, tamper(getattr(target, name)))
    result, out = run_case(tmp_path, "--period", "2026-01", *mode)
    assert result.exit_code == 1, result.output
    assert "reconciliation failed, nothing written" in result.stderr
    assert "Traceback" not in result.output
    assert entries(out) == []


def test_a_wrong_cap_amount_fails_reconciliation(tmp_path: Path, monkeypatch):
    from comp_calc.steps import cap

    real = cap.cap_adjustment
    # B2 earned 150.00 over the cap 100: the cap line should be -50.00, this makes it -51.00
    monkeypatch.setattr(cap, "cap_adjustment", lambda: real() - pl.lit(Decimal("1.00"), dtype=pl.Decimal(38, 2)))
    result, out = run_case(tmp_path, "--period", "2026-01")
    assert result.exit_code == 1, result.output
    assert entries(out) == []


def test_a_row_lost_between_stages_exits_1_and_writes_nothing(tmp_path: Path, monkeypatch):
    real = lib.cross_checks

    def losing(inputs, plans, until=None):
        checked, new = real(inputs, plans, until=until)
        checked.sales.frame = checked.sales.frame.filter(pl.col("sale_id") != "S3")  # gone without a trace
        return checked, new

    monkeypatch.setattr(lib, "cross_checks", losing)
    result, out = run_case(tmp_path, "--period", "2026-01")
    assert result.exit_code == 1, result.output
    assert "sales.csv: 3 rows read but 2 used + 0 rejected + 0 ignored" in " ".join(result.stderr.split())
    assert entries(out) == []


def test_a_row_both_rejected_and_used_exits_1(tmp_path: Path, monkeypatch):
    from comp_calc.errors import Diagnostic

    real = lib.cross_checks

    def double(inputs, plans, until=None):
        checked, new = real(inputs, plans, until=until)
        checked.problems.append(Diagnostic(checked.sales.path, 2, "amount", "bad-decimal", "made up"))
        checked.sales.rows_rejected += 1
        return checked, new

    monkeypatch.setattr(lib, "cross_checks", double)
    result, out = run_case(tmp_path, "--period", "2026-01", "--skip-invalid")
    assert result.exit_code == 1, result.output
    assert "rows both rejected and used" in " ".join(result.stderr.split())
    assert entries(out) == []


def test_row_accounting_with_rejected_and_ignored_rows(tmp_path: Path):
    sales = SALES + (
        "S4,A1,c4,card,-5,2026-01-20,\n"  # bad-decimal
        "S5,ZZ,c5,card,5,2026-01-20,\n"  # unknown-rep
        "S1,A1,c1,card,5,2026-01-21,\n"  # duplicate-id
        "S6,A1,c6,card,5,2026-03-01,\n"  # after the period: ignored
        "S7,A1,c7,card\n"  # wrong-field-count
    )
    feedback = "response_id,rep_id,customer_id,responded_on,survey,score\nF1,A1,c1,2026-01-03,csat,9\nF2,A1,c1,2026-04-01,csat,5\n"
    plans, data = write_case(tmp_path, sales=sales, feedback=feedback)
    prep = lib.prepare(plans, data, "2026-02", skip_invalid=True, allow_incomplete=True)
    counts = account_rows(prep.inputs, lib.run(prep))
    assert counts == {
        "reps": {"read": 2, "used": 2, "rejected": 0, "ignored": 0},
        "sales": {"read": 8, "used": 3, "rejected": 4, "ignored": 1},
        "feedback": {"read": 2, "used": 0, "rejected": 1, "ignored": 1},
        "contacts": {"read": 0, "used": 0, "rejected": 0, "ignored": 0},
    }
    result = invoke("run", "--plans", plans, "--data", data, "--period", "2026-02", "--out", tmp_path / "out", "--skip-invalid", "--allow-incomplete")
    assert result.exit_code == 0, result.output
    manifest = assert_complete(tmp_path / "out" / "2026-02")
    for name, row in counts.items():
        written = manifest["inputs"][name]
        assert (written["rows_read"], written["rows_used"], written["rows_rejected"], written["rows_ignored_after_period"]) == (
            row["read"], row["used"], row["rejected"], row["ignored"],
        )  # fmt: skip
    exceptions = read_csv(tmp_path / "out" / "2026-02" / "exceptions.csv")
    assert [(e["file"], e["line"], e["code"]) for e in exceptions] == [
        (str(data / "feedback.csv"), "2", "out-of-range"),
        (str(data / "sales.csv"), "5", "bad-decimal"),
        (str(data / "sales.csv"), "6", "unknown-rep"),
        (str(data / "sales.csv"), "7", "duplicate-id"),
        (str(data / "sales.csv"), "9", "wrong-field-count"),
    ]


# --------------------------------------------------------------------------
# atomic outputs: a killed run leaves no period folder, or a complete one


def _cli(*args: str | Path, preamble: str = "") -> list[str]:
    code = f"{preamble}\nfrom comp_calc.cli import app\nimport sys\nsys.argv = ['comp-calc', *sys.argv[1:]]\napp()"
    return [sys.executable, "-c", code, *map(str, args)]


def _popen(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def big_data(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("big") / "data"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), "--out", str(data), "--reps", "200", "--sales", "200000"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return data


def _big_run(data: Path, out: Path, *extra: str) -> list[str]:
    return _cli("run", "--plans", ROOT / "bench" / "plan", "--data", data, "--period", "2026-10", "--out", out, "--format", "json", *extra)


@pytest.mark.parametrize("delay", [0.4, 1.2, 2.2])
def test_sigkill_at_any_moment_leaves_no_folder_or_a_complete_one(big_data: Path, tmp_path: Path, delay: float):
    out = tmp_path / "out"
    proc = _popen(_big_run(big_data, out))
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    target = out / "2026-10"
    if target.exists():
        assert_complete(target)
    # the next run tidies what the killed one left and writes (or refuses: the period is closed)
    again = subprocess.run(_big_run(big_data, out), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode in (0, 2), again.stderr
    if again.returncode == 2:
        assert '"code": "period-exists"' in again.stdout  # --format json: the diagnostics on stdout
    assert "Traceback" not in again.stderr
    assert_complete(target)
    assert hidden(out) == []


_KILL_AFTER_TWO_FILES = """
import os, signal
from comp_calc.outputs import writer
_real, _n = writer._write_file, [0]
def _write_file(path, data):
    _real(path, data)
    _n[0] += 1
    if _n[0] == 2:
        os.kill(os.getpid(), signal.{sig})
writer._write_file = _write_file
"""

_KILL_BETWEEN_RENAMES = """
import os, signal
from comp_calc.outputs import writer
_real, _n = os.rename, [0]
def _rename(src, dst):
    _real(src, dst)
    _n[0] += 1
    if _n[0] == 1 and ".old-" in str(dst):
        os.kill(os.getpid(), signal.SIGKILL)
writer.os.rename = _rename
"""


def test_sigkill_while_writing_files_leaves_no_folder_and_the_next_run_cleans_up(tmp_path: Path):
    plans, data = write_case(tmp_path)
    out = tmp_path / "out"
    args = ("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", out, "--allow-incomplete")
    killed = subprocess.run(_cli(*args, preamble=_KILL_AFTER_TWO_FILES.format(sig="SIGKILL")), cwd=ROOT, capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert not (out / "2026-01").exists()
    [stale] = hidden(out)
    assert stale.startswith(".2026-01.tmp-")
    assert len(entries(out / stale)) == 2  # half written
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert_complete(out / "2026-01")
    assert hidden(out) == []


def test_sigterm_while_writing_cleans_up_on_the_way_out(tmp_path: Path):
    plans, data = write_case(tmp_path)
    out = tmp_path / "out"
    args = ("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", out, "--allow-incomplete")
    done = subprocess.run(_cli(*args, preamble=_KILL_AFTER_TWO_FILES.format(sig="SIGTERM")), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "Traceback" not in done.stderr
    assert entries(out) == []  # no period folder and no staging folder left behind


def test_sigterm_during_the_computation_exits_without_writing(big_data: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = _popen(_big_run(big_data, out))
    time.sleep(0.8)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0 or (proc.returncode == -signal.SIGTERM and (out / "2026-10").exists()):
        # a fast machine finished the command first (-15: the signal came while the finished
        # process was shutting down, after the handler was put back): the period is complete
        assert_complete(out / "2026-10")
    else:
        # 128 + 15 from the handler; -15 with nothing written: on a loaded machine the signal
        # came before the command had even put its handler in place
        assert proc.returncode in (128 + signal.SIGTERM, -signal.SIGTERM), stderr
        assert "Traceback" not in stderr
        assert entries(out) == []


def test_a_killed_forced_replacement_keeps_the_closed_period(tmp_path: Path):
    plans, data = write_case(tmp_path)
    out = tmp_path / "out"
    args = ("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", out, "--allow-incomplete")
    assert invoke(*args).exit_code == 0
    before = {n: (out / "2026-01" / n).read_bytes() for n in PERIOD_FILES}
    killed = subprocess.run(_cli(*args, "--force", preamble=_KILL_BETWEEN_RENAMES), cwd=ROOT, capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    # killed between the two renames: the old folder is aside, the new one staged
    assert not (out / "2026-01").exists()
    assert sorted(n.split(".")[2].split("-")[0] for n in hidden(out)) == ["old", "tmp"]
    # the next run puts the closed period back and refuses to overwrite it
    result = invoke(*args)
    assert result.exit_code == 2
    assert "period-exists" in result.stderr
    assert {n: (out / "2026-01" / n).read_bytes() for n in PERIOD_FILES} == before
    assert hidden(out) == []


def test_force_replaces_the_period_folder_whole(tmp_path: Path):
    plans, data = write_case(tmp_path)
    out = tmp_path / "out"
    args = ("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", out, "--allow-incomplete")
    assert invoke(*args).exit_code == 0
    (out / "2026-01" / "notes.txt").write_text("added by hand")
    (data / "sales.csv").write_text(SALES.replace("S1,A1,c1,card,800", "S1,A1,c1,card,900"))

    refused = invoke(*args)
    assert refused.exit_code == 2
    assert "period-exists" in refused.stderr and "--force" in " ".join(refused.stderr.split())
    assert "notes.txt" in entries(out / "2026-01")

    forced = invoke(*args, "--force")
    assert forced.exit_code == 0, forced.output
    assert entries(out / "2026-01") == sorted(PERIOD_FILES)
    assert {r["rep_id"]: r["earned"] for r in read_csv(out / "2026-01" / "payouts.csv")}["A1"] == "37.00"
    assert entries(out) == ["2026-01"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def test_write_period_cleans_only_stale_staging_folders_of_its_period(tmp_path: Path):
    dead = _dead_pid()
    names = {
        f".2026-10.tmp-{dead}-0a1b2c3d": "stale",
        f".2026-10.tmp-{os.getpid()}-0a1b2c3d": "ours, maybe in use",
        ".2026-10.tmp-1-0a1b2c3d": "pid 1 is alive",
        f".2026-11.tmp-{dead}-0a1b2c3d": "another period",
        ".2026-10.tmpl": "not a staging name",
        ".2026-10.tmp-k2j3h4": "older release, older than this process",
    }
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "payouts.csv").write_text("x\n")
    old = time.time() - 3600
    os.utime(tmp_path / ".2026-10.tmp-k2j3h4", (old, old))

    write_period(tmp_path, "2026-10", {"payouts.csv": b"new\n"}, force=False)
    assert entries(tmp_path) == sorted(
        ["2026-10", f".2026-10.tmp-{os.getpid()}-0a1b2c3d", ".2026-10.tmp-1-0a1b2c3d", f".2026-11.tmp-{dead}-0a1b2c3d", ".2026-10.tmpl"]
    )


def test_a_stale_aside_folder_is_restored_or_dropped(tmp_path: Path):
    dead = _dead_pid()
    aside = tmp_path / f".2026-10.old-{dead}-00000000"
    aside.mkdir()
    (aside / "payouts.csv").write_text("closed\n")
    assert clean_stale(tmp_path, "2026-10") == [aside]
    assert (tmp_path / "2026-10" / "payouts.csv").read_text() == "closed\n"
    aside.mkdir()
    (aside / "payouts.csv").write_text("older\n")
    assert clean_stale(tmp_path, "2026-10") == [aside]
    assert entries(tmp_path) == ["2026-10"]
    assert (tmp_path / "2026-10" / "payouts.csv").read_text() == "closed\n"


def test_terminate_as_exit_raises_system_exit_and_restores_the_handler():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as caught:
        with terminate_as_exit():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted by the handler
    assert caught.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before


# --------------------------------------------------------------------------
# safe files

HOSTILE_REPS = """\
rep_id,name,team,plan,quota,start_date,end_date
"=HYPERLINK(""http://evil.example"",""x"")",+1,-2,p,2000,2026-01-01,
@x,"=1+1",	tabbed,p,1000,2026-01-01,
"""

HOSTILE_SALES = """\
sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on
-3,"=HYPERLINK(""http://evil.example"",""x"")",c1,@card,800,2026-01-05,2026-02-10
+4,@x,=c2,=SUM(A1:A9),5000,2026-01-12,
"""

NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"


def test_formula_looking_text_is_neutralised_in_every_csv_and_numbers_are_not(tmp_path: Path):
    bad_sale = '"=cmd|\' /C calc\'!A0",@x,c9,card,x,2026-01-20,\n'
    result, out = run_case(tmp_path, "--period", "2026-02", "--skip-invalid", reps=HOSTILE_REPS, sales=HOSTILE_SALES + bad_sale)
    assert result.exit_code == 0, result.output
    folder = out / "2026-02"
    cells: list[str] = []
    for name in ("payouts.csv", "lines.csv", "exceptions.csv"):
        for row in read_csv(folder / name):
            cells += [v for v in row.values() if v]
    for cell in cells:
        if cell[0] in FORMULA_START:
            assert re.match(NUMBER, cell), f"formula-looking cell written as is: {cell!r}"
    payouts = read_csv(folder / "payouts.csv")
    assert [r["rep_id"] for r in payouts] == ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'@x"]
    assert [(r["name"], r["team"]) for r in payouts] == [("'+1", "'-2"), ("'=1+1", "tabbed")]
    lines = read_csv(folder / "lines.csv")
    claw = next(r for r in lines if r["kind"] == "clawback")
    assert (claw["sale_id"], claw["product"], claw["amount"]) == ("'-3", "'@card", "-8.00")  # negative money stays a number
    assert [(r["clawbacks"], r["carry_out"]) for r in payouts] == [("-8.00", "-8.00"), ("0.00", "0.00")]
    exceptions = read_csv(folder / "exceptions.csv")
    # '@card' is paid at the catch-all rate next to the plan's 'card' rule, which nothing sold: two warnings
    # sorted by file: data/sales.csv before plans/p.yaml
    assert [(e["line"], e["code"]) for e in exceptions] == [
        ("2", "similar-product"), ("4", "bad-decimal"), ("8", "product-never-sold"),
    ]
    # the terminal CSV summary is neutralised too
    summary = invoke("run", "--plans", tmp_path / "plans", "--data", tmp_path / "data", "--period", "2026-02",
                     "--out", tmp_path / "out2", "--skip-invalid", "--format", "csv", "--allow-incomplete")  # fmt: skip
    assert summary.exit_code == 0, summary.output
    assert [r["rep_id"] for r in csv.DictReader(io.StringIO(summary.stdout))] == [r["rep_id"] for r in payouts]


def test_output_files_and_folders_are_owner_only(tmp_path: Path):
    result, out = run_case(tmp_path, "--period", "2026-01", "--statements")
    assert result.exit_code == 0, result.output
    folder = out / "2026-01"
    paths = [folder, *folder.rglob("*")]
    assert len(paths) == 1 + len(PERIOD_FILES) + 1 + 2  # folder, files, statements/, one page per rep
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


HOSTILE_IDS = ["../../etc/passwd", "a/b", "a_b", "A_B", "CON", "con.txt", "..", ".hidden", "~root", "x" * 300, "\u00e9t\u00e9", "C:\\x"]


def test_hostile_rep_ids_cannot_escape_or_collide_in_statements(tmp_path: Path):
    rows = "".join(f'"{i}",n,t,p,1000,2026-01-01,\n' for i in HOSTILE_IDS)
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\n" + "".join(
        f'S{k},"{i}",c,card,100,2026-01-05,\n' for k, i in enumerate(HOSTILE_IDS)
    )
    result, out = run_case(tmp_path, "--period", "2026-01", "--statements", reps=REPS.splitlines()[0] + "\n" + rows, sales=sales)
    assert result.exit_code == 0, result.output
    outside = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    statements = out / "2026-01" / "statements"
    pages = sorted(p.name for p in statements.iterdir())
    assert pages == sorted(f"{safe_file_stem(i)}.html" for i in HOSTILE_IDS)
    assert len({p.lower() for p in pages}) == len(HOSTILE_IDS)  # distinct on case-insensitive disks too
    assert all(p.is_file() and p.parent == statements for p in statements.iterdir())
    assert [p for p in outside if not p.startswith(("plans/", "data/", "out/2026-01/"))] == []
    assert len(read_csv(out / "2026-01" / "payouts.csv")) == len(HOSTILE_IDS)


def test_a_rep_id_with_a_nul_is_rejected_with_its_line(tmp_path: Path):
    reps = REPS + "C\x003,Cy,North,p,100,2026-01-01,\n"
    result, out = run_case(tmp_path, "--period", "2026-01", "--statements", reps=reps)
    assert result.exit_code == 2
    assert "reps.csv:4: bad-id rep_id: rep_id contains a control character" in " ".join(result.stderr.split())
    assert entries(out) == []


def test_markup_in_ids_and_names_is_shown_literally(tmp_path: Path):
    reps = REPS + "[/x],[/],North,p,100,2026-01-01,\n[bold]B3,[red]n,South,p,100,2026-01-01,\n"
    result, out = run_case(tmp_path, "--period", "2026-01", reps=reps)
    assert result.exit_code == 0, result.output
    assert "[/x]" in result.stdout and "[bold]B3" in result.stdout


# --------------------------------------------------------------------------
# limits


def test_an_amount_of_ten_to_the_fifteen_is_refused_with_a_clear_message(tmp_path: Path):
    sales = SALES + "S9,A1,c9,card,1000000000000000,2026-01-20,\n"
    result, out = run_case(tmp_path, "--period", "2026-01", sales=sales)
    assert result.exit_code == 2
    assert "sales.csv:5: bad-decimal amount: amount '1000000000000000' has more than 15 digits before the point" in " ".join(
        result.stderr.split()
    )
    assert entries(out) == []


def test_the_largest_amounts_accepted_compute_exactly(tmp_path: Path):
    reps = REPS.replace("B2,Bob Ray,South,p,1000,", "B2,Bob Ray,South,p,999999999999999.999999,")
    sales = SALES + "S9,A1,c9,card,999999999999999.999999,2026-01-20,\n"
    plan = PLAN.replace("cap: 100\n", "")
    result, out = run_case(tmp_path, "--period", "2026-01", reps=reps, sales=sales, plan=plan)
    assert result.exit_code == 0, result.output
    payouts = {r["rep_id"]: r for r in read_csv(out / "2026-01" / "payouts.csv")}
    # A1: 800 x 0.03 + 1000 x 0.01 + 999999999999999.999999 x 0.03 = 24 + 10 + 29999999999999.99999997
    assert payouts["A1"]["credited"] == "1000000000001799.999999"
    assert payouts["A1"]["earned"] == "30000000000034.00"
    assert payouts["B2"]["quota"] == "1000000000000000.00"


def test_year_9999_dates_do_not_crash(tmp_path: Path):
    reps = REPS.replace("B2,Bob Ray,South,p,1000,2026-01-01,", "B2,Bob Ray,South,p,1000,2026-01-01,9999-12-31")
    sales = SALES.replace("S3,B2,c3,card,5000,2026-01-12,", "S3,B2,c3,card,5000,2026-01-12,9999-12-31") + (
        "S9,A1,c9,card,100,9999-12-31,\n"
    )
    plans, data = write_case(tmp_path, reps=reps, sales=sales)
    checked = invoke("validate", "--plans", plans, "--data", data)
    assert checked.exit_code == 0, checked.output
    # an explicit period runs; the row dated 9999 is ignored, not lost
    result = invoke("run", "--plans", plans, "--data", data, "--out", tmp_path / "out", "--period", "2026-01", "--allow-incomplete")
    assert result.exit_code == 0, result.output
    manifest = assert_complete(tmp_path / "out" / "2026-01")
    assert manifest["inputs"]["sales"]["rows_ignored_after_period"] == 1
    # the default period follows the data to 9999-12: refused as a likely typo, quickly
    started = time.monotonic()
    result = invoke("run", "--plans", plans, "--data", data, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "period-too-far" in result.stderr and "check the dates in the data" in " ".join(result.stderr.split())
    assert time.monotonic() - started < 10
    assert entries(tmp_path / "out") == ["2026-01"]


@pytest.mark.parametrize("period", ["9999-12", "9999-Q4", "2200-01"])
def test_a_period_far_in_the_future_is_refused(tmp_path: Path, period: str):
    result, out = run_case(tmp_path, "--period", period)
    assert result.exit_code == 2
    assert "period-too-far" in result.stderr or "no-plan-of-kind" in result.stderr
    assert entries(out) == []


def test_an_empty_period_pays_zeros(tmp_path: Path):
    result, out = run_case(tmp_path, "--period", "2026-03")
    assert result.exit_code == 0, result.output
    payouts = read_csv(out / "2026-03" / "payouts.csv")
    assert [r["rep_id"] for r in payouts] == ["A1", "B2"]
    for r in payouts:
        assert (r["credited"], r["earned"], r["cap_adjustment"], r["clawbacks"], r["payout"]) == ("0.00",) * 5
        assert r["attainment"] == "0.000000"
    a1 = payouts[0]
    assert (a1["carry_in"], a1["carry_out"]) == ("-10.00", "-10.00")  # February's clawback still carried
    assert [r["kind"] for r in read_csv(out / "2026-03" / "lines.csv")] == ["carry"]


def test_a_dataset_with_no_sales_in_any_period_pays_zeros(tmp_path: Path):
    sales = SALES.splitlines()[0] + "\nS1,A1,c1,card,800,2026-05-05,\n"
    result, out = run_case(tmp_path, "--period", "2026-02", sales=sales)
    assert result.exit_code == 0, result.output
    payouts = read_csv(out / "2026-02" / "payouts.csv")
    assert [(r["rep_id"], r["payout"], r["quota"]) for r in payouts] == [("A1", "0.00", "2000.00"), ("B2", "0.00", "1000.00")]
    assert read_csv(out / "2026-02" / "lines.csv") == []


# --------------------------------------------------------------------------
# the machine says no: exit 3, one line with the path and the reason, nothing partial

_FILE_SIZE_LIMIT = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
"""


def _run_limited(*args: str | Path, limit: int = 64) -> subprocess.CompletedProcess:
    """`comp-calc ARGS` in a process that may not write a file larger than `limit` bytes."""
    preamble = _FILE_SIZE_LIMIT.format(limit=limit)
    return subprocess.run(_cli(*args, preamble=preamble), cwd=ROOT, capture_output=True, text=True, timeout=120)


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_file_size_limit_exits_3_with_the_path_and_leaves_nothing(tmp_path: Path):
    plans, data = write_case(tmp_path)
    out = tmp_path / "new" / "out"  # neither folder exists yet: both are made, and removed again
    done = _run_limited("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", out, "--allow-incomplete")
    assert done.returncode == 3, done.stderr
    line = _one_line(done.stderr)
    assert re.fullmatch(rf"error: cannot write {re.escape(str(out / '2026-01'))}/\w+\.(csv|json): File too large", line)
    assert entries(tmp_path) == ["data", "plans"]


def test_a_failed_forced_replacement_leaves_the_closed_period_as_it_was(tmp_path: Path):
    plans, data = write_case(tmp_path)
    out = tmp_path / "out"
    args = ("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", out, "--allow-incomplete")
    assert invoke(*args).exit_code == 0
    before = {name: (out / "2026-01" / name).read_bytes() for name in entries(out / "2026-01")}

    done = _run_limited(*args, "--force")
    assert done.returncode == 3, done.stderr
    assert "File too large" in _one_line(done.stderr)
    assert entries(out) == ["2026-01"]  # no staging folder left either
    assert {name: (out / "2026-01" / name).read_bytes() for name in entries(out / "2026-01")} == before


@pytest.mark.parametrize("streaming", [False, True])
def test_out_naming_a_file_exits_3_before_any_work(tmp_path: Path, streaming: bool):
    plans, data = write_case(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for out in (afile, afile / "sub"):
        result = invoke("run", "--plans", plans, "--data", data, "--out", out, *(["--streaming"] if streaming else []))
        assert result.exit_code == 3, result.output
        assert _one_line(result.stderr) == f"error: cannot write {afile}: is a file, not a folder"
    assert afile.read_text() == "not a folder"


def test_write_period_into_a_file_raises_machine_error(tmp_path: Path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(MachineError) as caught:
        write_period(afile / "out", "2026-01", {"a.csv": b"a\n"}, force=False)
    assert (caught.value.path, caught.value.reason) == (str(afile), "is a file, not a folder")


def test_a_streaming_scratch_folder_that_cannot_be_made_is_a_machine_error(tmp_path: Path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(MachineError) as caught:
        with lib.scratch_folder(afile / "out", True):
            pass  # pragma: no cover - never reached
    assert caught.value.path == str(afile / "out")
    assert "cannot create a scratch folder for the streaming run" in caught.value.reason
    assert afile.read_text() == "x"


def test_a_streaming_run_under_a_file_size_limit_exits_3_and_removes_its_scratch(tmp_path: Path):
    plans, data = write_case(tmp_path)
    out = tmp_path / "out"
    done = _run_limited("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", out, "--streaming")
    assert done.returncode == 3, done.stderr
    assert "File too large" in _one_line(done.stderr)
    assert not out.exists()


def test_data_diagnostics_name_the_file_inside_the_data_folder_as_given(tmp_path: Path, monkeypatch):
    # `--data exports/2026-01`, relative: every location is that folder joined with the file name,
    # in the terminal and in exceptions.csv, so the user can open it as written
    write_case(tmp_path, sales=SALES + "S4,A1,c4,card,5,2026-01-32,\n")  # line 5: no 32 January
    (tmp_path / "exports").mkdir()
    (tmp_path / "data").rename(tmp_path / "exports" / "2026-01")
    monkeypatch.chdir(tmp_path)
    args = ("run", "--plans", "plans", "--data", "exports/2026-01", "--period", "2026-01", "--allow-incomplete")
    result = invoke(*args, "--out", "out")
    assert result.exit_code == 2, result.output
    assert "exports/2026-01/sales.csv:5: bad-date sold_on: " in result.stderr

    result = invoke(*args, "--out", "out", "--skip-invalid")
    assert result.exit_code == 0, result.output
    exceptions = read_csv(tmp_path / "out" / "2026-01" / "exceptions.csv")
    assert [(e["file"], e["line"], e["code"]) for e in exceptions] == [("exports/2026-01/sales.csv", "5", "bad-date")]
    manifest = json.loads((tmp_path / "out" / "2026-01" / "manifest.json").read_text())
    assert manifest["inputs"]["sales"]["file"] == "sales.csv"
    assert manifest["inputs"]["sales"]["rows_rejected"] == 1

    result = invoke("validate", "--plans", "plans", "--data", "exports/2026-01", "--format", "json")
    assert result.exit_code == 2, result.output
    (problem,) = json.loads(result.stdout)["diagnostics"]
    assert (problem["file"], problem["line"], problem["code"]) == ("exports/2026-01/sales.csv", 5, "bad-date")
