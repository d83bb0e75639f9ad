"""Fuzzing the command line with mangled inputs: it must always answer, never crash.

Property: for any data folder and plans folder built by mutating a small valid
case, `comp-calc validate --plans P --data D` and `comp-calc run ... --out O`
end with exit code 0 or 2, print no traceback, finish within a time limit, and
`run` leaves either a complete period folder (exit 0) or nothing at all (exit 2).

The CSV mutations cover wrong types, missing / extra / duplicate / renamed
columns, quoting, embedded line breaks, a BOM, CRLF, huge and tiny numbers,
unicode, control characters and empty ids, duplicated and dropped rows,
truncated files, stray bytes, files that are missing, empty or folders.
The plan mutations cover wrong types anywhere in the document, unknown and
missing keys, deep nesting, anchors and aliases (alias bombs), non-standard
tags such as `!!python/object`, broken syntax, several documents, truncation
and oversized documents.

The commands run in-process with `typer.testing.CliRunner`. `run` is invoked
with `--format json`.

Profiles: the default keeps the whole file to a few hundred examples (well
under a minute). For a longer search set `COMP_CALC_FUZZ=large` (30x the
examples), e.g.

    COMP_CALC_FUZZ=large python -m pytest tests/test_fuzz.py

Hypothesis prints the failing input (and a reproduction blob) on failure.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conftest
from conftest import PERIOD_FILES, ROOT

TIME_LIMIT = 30  # seconds per command: a hang fails the example instead of stalling the suite


def fuzz_settings(examples: int):
    return settings(
        max_examples=examples * conftest.FUZZ_SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )


# --------------------------------------------------------------------------
# the small valid case everything starts from: the shipped plans, and the
# first rows of the shipped sample data (every rep, a few rows of each export)

SAMPLE_ROWS = {"reps": 41, "sales": 30, "feedback": 15, "contacts": 15}


def _sample(name: str, rows: int) -> list[list[str]]:
    with open(ROOT / "sample_data" / f"{name}.csv", encoding="utf-8", newline="") as f:
        return list(csv.reader(f))[: rows + 1]


BASE_CSV = {name: _sample(name, rows) for name, rows in SAMPLE_ROWS.items()}
BASE_CSV["campaigns"] = _sample("campaigns", 10)  # every campaign the shipped plans name (undated: read whole)
BASE_CSV["fx_rates"] = _sample("fx_rates", 100)  # every rate of the sample (its sales are in EUR, GBP and USD)
PLAN_FILES = sorted(p.name for p in (ROOT / "plans").glob("*.yaml"))
BASE_PLANS = {name: (ROOT / "plans" / name).read_text(encoding="utf-8") for name in PLAN_FILES}


# --------------------------------------------------------------------------
# running a command under the property


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expired(signum, frame):
        raise TimeoutError(f"command still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


DIAGNOSTIC_LINE = re.compile(r"^\S.*: [a-z0-9]+(-[a-z0-9]+)* ", re.MULTILINE)


def invoke(*args: str | Path):
    """Run a command; assert it ended with 0 or 2, without a traceback, and with a reason when 2."""
    argv = [str(a) for a in args]
    started = time.monotonic()
    with time_limit(TIME_LIMIT):
        try:
            result = conftest.invoke(*argv, columns=200)
        except (KeyboardInterrupt, TimeoutError):
            raise
        except BaseException as e:  # e.g. a panic in native code (pyo3 PanicException is a BaseException)
            raise AssertionError(f"uncaught {type(e).__name__}: {e}: comp-calc {' '.join(argv)}") from e
    where = f"comp-calc {' '.join(argv)}\n{result.output}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r} after {time.monotonic() - started:.1f} s: {where}") from result.exception
    assert result.exit_code in (0, 2), where
    assert "Traceback" not in result.output, where
    if result.exit_code == 2:
        if "--format" in argv and "json" in argv:
            diagnostics = json.loads(result.stdout)["diagnostics"]
            assert diagnostics and all(d["code"] and d["message"] for d in diagnostics), where
        else:
            assert DIAGNOSTIC_LINE.search(result.output), where
    return result


def check_validate_and_run(plans: Path, data: Path, out: Path, *run_args: str) -> None:
    invoke("validate", "--plans", plans, "--data", data)
    result = invoke("run", "--plans", plans, "--data", data, "--out", out, "--format", "json", *run_args)
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    if result.exit_code == 0:
        [period] = written
        folder = out / period
        assert PERIOD_FILES <= {p.name for p in folder.iterdir()}
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["period"] == period == json.loads(result.stdout)["period"]
        for name, counts in manifest["inputs"].items():
            assert counts["rows_read"] == counts["rows_used"] + counts["rows_rejected"] + counts["rows_ignored_after_period"], name
    else:
        assert written == [], written  # nothing, not even a hidden staging folder


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    # Hypothesis runs many examples per test: one fresh folder each (tmp_path is per test).
    root = Path(tempfile.mkdtemp(prefix="comp-calc-fuzz-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def write_plans(root: Path, files: dict[str, bytes | str]) -> Path:
    plans = root / "plans"
    plans.mkdir()
    for name, text in files.items():
        (plans / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    return plans


def write_data(root: Path, files: dict[str, bytes | None]) -> Path:
    data = root / "data"
    data.mkdir()
    for name, content in files.items():
        if content is None:
            continue
        if content == b"<dir>":
            (data / f"{name}.csv").mkdir()
        else:
            (data / f"{name}.csv").write_bytes(content)
    return data


# --------------------------------------------------------------------------
# CSV mutations

SPECIAL_CELLS = [
    "", " ", "\t", "0", "-0", "00", "0.0", "-1", "+1", "1e5", "1E-7", "NaN", "inf", "-inf", "1,5", "1 000",
    "€12", "12.5€", "0x10", "1_000", ".5", "5.", "0.0000001", "0.000001", "999999999999999.999999",
    "1000000000000000", "9" * 40, "1" + "0" * 400, "-12.50",
    "2026-02-30", "2026-13-01", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01", "2026-1-5",
    "2026/01/05", "05.01.2026", "2026-01-05T00:00:00", " 2026-01-05 ", "1970-01-01",
    "true", "false", "TRUE", "yes", "1", "nps", "csat", "NPS", "voice", "email", "sms", "visit", "fax",
    "R0001", "R0002", "r0001", "R0001 ", "unknown-rep", "inbound-2026", "branch-2026", "no-such-plan",
    '"', '""', 'a"b', "a,b", "a\nb", "a\r\nb", "\r", "\x00", "\x1b[31mred", "\ufeff", "\u202etxt.exe",
    "=HYPERLINK(\"http://x\",\"y\")", "@SUM(1)", "../../etc/passwd", "CON", "[/x]", "{}", "\\", "\ud7ff",
    "ß", "İ", "👩‍👩‍👧", "x" * 5000,
]

cell_values = st.one_of(
    st.sampled_from(SPECIAL_CELLS),
    st.text(max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
    st.dates().map(str),
)


@st.composite
def mangled_table(draw, name: str) -> list[list[str]]:
    rows = [list(r) for r in BASE_CSV[name]]
    for _ in range(draw(st.integers(0, 6))):
        width = max(len(rows[0]), 1)
        op = draw(st.sampled_from(
            ["cell", "cell", "cell", "header", "drop_col", "dup_col", "add_col", "drop_row", "dup_row", "ragged", "only_header"]
        ))  # fmt: skip
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, width - 1))
        if op == "cell" and len(rows) > 1:
            row = rows[max(r, 1)]
            if c < len(row):
                row[c] = draw(cell_values)
        elif op == "header":
            rows[0][c % len(rows[0])] = draw(st.sampled_from(["", "Rep_ID", "rep_id ", "amount", "sale_id", "line"]) | st.text(max_size=8))
        elif op == "drop_col":
            rows = [row[:c] + row[c + 1 :] for row in rows]
        elif op == "dup_col":
            rows = [row + row[c : c + 1] for row in rows]
        elif op == "add_col":
            value = draw(cell_values)
            rows = [rows[0] + [draw(st.sampled_from(["extra", "note", ""]))]] + [row + [value] for row in rows[1:]]
        elif op == "drop_row" and len(rows) > 1:
            del rows[max(r, 1)]
        elif op == "dup_row" and len(rows) > 1:
            rows.insert(draw(st.integers(1, len(rows))), list(rows[max(r, 1)]))
        elif op == "ragged" and len(rows) > 1:
            rows[max(r, 1)] = rows[max(r, 1)][: draw(st.integers(0, width + 2))] + draw(st.lists(cell_values, max_size=2))
        elif op == "only_header":
            rows = rows[:1]
    return rows


@st.composite
def csv_bytes(draw, name: str) -> bytes | None:
    kind = draw(st.sampled_from(["table"] * 12 + ["missing", "empty", "blank", "dir", "binary", "utf16"]))
    if kind == "missing":
        return None
    if kind == "empty":
        return b""
    if kind == "blank":
        return b"\n\r\n  \n"
    if kind == "dir":
        return b"<dir>"
    if kind == "binary":
        return draw(st.binary(max_size=200))
    rows = draw(mangled_table(name))
    buffer = io.StringIO(newline="")
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    csv.writer(buffer, quoting=quoting, lineterminator=newline).writerows(rows)
    text = buffer.getvalue()
    if kind == "utf16":
        return text.encode("utf-16")
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["truncate", "insert", "delete"]))
        if op == "truncate":
            data = data[:at]
        elif op == "insert":
            junk = draw(st.sampled_from([b'"', b"\n", b"\r", b",", b"\x00", b"\xff", b"\xc3", b'""', b"\n\n"]) | st.binary(max_size=4))
            data = data[:at] + junk + data[at:]
        else:
            data = data[:at] + data[at + draw(st.integers(1, 20)) :]
    return data


@st.composite
def data_folder(draw) -> dict[str, bytes | None]:
    """The six exports, one to three of them mangled (reps and sales more often)."""
    files = {}
    mangled = draw(st.sets(st.sampled_from(["reps", "sales", "sales", "reps", "feedback", "contacts", "campaigns", "fx_rates"]), min_size=1, max_size=3))
    for name in BASE_CSV:
        if name in mangled:
            files[name] = draw(csv_bytes(name))
        else:
            buffer = io.StringIO(newline="")
            csv.writer(buffer, lineterminator="\n").writerows(BASE_CSV[name])
            files[name] = buffer.getvalue().encode()
    return files


run_options = st.sampled_from([
    (), ("--skip-invalid",), ("--period", "2026-06"), ("--period", "2026-06", "--skip-invalid"), ("--period", "2026-Q2", "--skip-invalid"),
    ("--period", "2026-06", "--allow-incomplete"), ("--period", "2026-Q2", "--skip-invalid", "--allow-incomplete"),
])


def test_the_base_case_is_valid(tmp_path: Path):
    data = write_data(tmp_path, {n: _csv_text(n) for n in BASE_CSV})
    assert invoke("validate", "--plans", ROOT / "plans", "--data", data).exit_code == 0
    result = invoke("run", "--plans", ROOT / "plans", "--data", data, "--out", tmp_path / "out", "--period", "2026-06", "--format", "json", "--allow-incomplete")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["totals"]["EUR"]["reps"] > 0


def _csv_text(name: str) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(BASE_CSV[name])
    return buffer.getvalue().encode()


@fuzz_settings(25)
@given(files=data_folder(), options=run_options)
def test_mangled_csv_never_crashes(files: dict[str, bytes | None], options: tuple[str, ...]):
    with scratch() as root:
        data = write_data(root, files)
        check_validate_and_run(ROOT / "plans", data, root / "out", *options)


@fuzz_settings(15)
@given(
    reps=st.lists(st.tuples(cell_values, cell_values, cell_values), min_size=1, max_size=6),
    sales=st.lists(st.tuples(st.integers(0, 5), cell_values, cell_values, cell_values), max_size=8),
)
def test_random_ids_names_and_amounts_never_crash(reps, sales):
    """Well-formed files whose cells are arbitrary: every value is checked, quoted and written safely."""
    with scratch() as root:
        rep_rows = [["rep_id", "name", "team", "plan", "quota", "start_date", "end_date"]]
        rep_rows += [[rid, name, "t", "inbound-2026", quota, "2025-11-01", ""] for rid, name, quota in reps]
        sale_rows = [["sale_id", "rep_id", "customer_id", "product", "amount", "sold_on", "cancelled_on"]]
        sale_rows += [
            [f"S{k}", reps[i % len(reps)][0], customer, product, amount, "2026-01-15", ""]
            for k, (i, customer, product, amount) in enumerate(sales)
        ]
        files = {}
        for name, rows in (("reps", rep_rows), ("sales", sale_rows)):
            buffer = io.StringIO(newline="")
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            files[name] = buffer.getvalue().encode("utf-8", "surrogatepass")
        data = write_data(root, files)
        check_validate_and_run(ROOT / "plans", data, root / "out", "--skip-invalid", "--statements")


UNKNOWN_REPS_SALES = """\
sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on
S0000013,R0035,C0001610,savings_account,5776.68,2025-11-02,
S0000014,R0003,C0001639,savings_account,8853.08,2025-11-02,
S0000015,R0019,C0000689,personal_loan,19900.00,2025-11-02,
S0000016,R0003,C0000948,savings_account,843.46,2025-11-02,
S0000017,R0025,C0002118,credit_card,14500.00,2025-11-02,
S0000018,R0002,C0000687,savings_account,5356.24,2025-11-02,
S0000019,R0035,C0001006,savings_account,2588.37,2025-11-02,
S0000020,R0028,C0000465,overdraft,1000.00,2025-11-02,
S0000021,R0024,C0000088,overdraft,2700.00,2025-11-02,
S0000022,R0008,C0002021,home_insurance,380.31,2025-11-02,
S0000027,R0012,C0000432,mortgage,196000.00,2025-11-03,
"""


def test_regression_unknown_reps_after_known_ones(tmp_path: Path):
    """Found by fuzzing: a native panic while building the unknown-rep messages of this file."""
    reps = "".join(f"{line}\n" for line in (",".join(r) for r in BASE_CSV["reps"]) if line.split(",")[0] in
                   ("rep_id", "R0002", "R0003", "R0019", "R0025", "R0035"))
    data = write_data(tmp_path, {"reps": reps.encode(), "sales": UNKNOWN_REPS_SALES.encode()})
    result = invoke("validate", "--plans", ROOT / "plans", "--data", data)
    assert result.exit_code == 2
    assert result.output.count("unknown-rep") == 4


# --------------------------------------------------------------------------
# plan YAML mutations

yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40), st.floats(allow_nan=True),
    st.text(max_size=10), st.dates(), st.sampled_from(["", "month", "quarter", "half_up", "EUR", "0.5", "1e400", "-0"]),
)
yaml_values = st.recursive(yaml_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)

HOSTILE_SNIPPETS = [
    "!!python/object/apply:os.system ['true']",
    "!!python/object:collections.OrderedDict {}",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!custom 1",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!timestamp 2026-01-01T00:00:00",
    "!!int x",
    "!!float 1e999",
    "&anchor 1",
    "*anchor",
    "<<: {plan: x}",
    "? [complex, key]\n: value",
    '"unterminated',
    "[unclosed",
    "{a: 1",
    "\ttabbed: 1",
    "%YAML 1.1\n---",
    "---\nplan: second-document",
    "...",
    "@reserved",
    "`reserved",
    "key: value: other",
    "- list at the top",
    "\x00",
    "\ufeff",
    "0x1F",
    "1_000",
    ".inf",
    ".nan",
    "~",
    "effective_from: 2026-02-30",
    "version: 99999999999999999999999999999999999999",
]


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _paths(node, prefix=()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _paths(v, (*prefix, i))
    return found


@st.composite
def mangled_plan(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(PLAN_FILES))
    text = BASE_PLANS[name]
    kind = draw(st.sampled_from(["structure"] * 5 + ["snippet"] * 4 + ["text"] * 2 + ["nesting", "bomb", "huge", "binary"]))
    if kind == "structure":
        doc = yaml.safe_load(text)
        for _ in range(draw(st.integers(1, 3))):
            paths = _paths(doc)[1:]
            if not paths:
                break
            path = draw(st.sampled_from(paths))
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            op = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
            if op == "replace":
                parent[path[-1]] = draw(yaml_values)
            elif op == "delete":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(max_size=8) | st.sampled_from(["cap", "rates", "tiers", "extra"]))] = draw(yaml_values)
            else:
                parent.append(draw(yaml_values))
        return name, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")
    if kind == "snippet":
        lines = text.splitlines()
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(lines)))
            snippet = draw(st.sampled_from(HOSTILE_SNIPPETS))
            if draw(st.booleans()) and at < len(lines) and ":" in lines[at]:
                key, _, _ = lines[at].partition(":")
                lines[at] = f"{key}: {snippet}"  # as a value of an existing key
            else:
                lines.insert(at, snippet)
        return name, "\n".join(lines).encode("utf-8", "surrogatepass")
    if kind == "text":
        data = text.encode()
        at = draw(st.integers(0, len(data)))
        if draw(st.booleans()):
            return name, data[:at]
        return name, data[:at] + draw(st.binary(max_size=8) | st.text(max_size=8).map(lambda t: t.encode("utf-8", "surrogatepass"))) + data[at:]
    if kind == "nesting":
        depth = draw(st.integers(30, 20_000))
        style = draw(st.sampled_from(["flow-list", "flow-map", "block"]))
        if style == "flow-list":
            deep = "[" * depth + "]" * depth
        elif style == "flow-map":
            deep = "{a: " * depth + "1" + "}" * depth
        else:
            levels = min(depth, 300)
            deep = "".join(f"{'  ' * (i + 1)}k:\n" for i in range(levels)) + "  " * (levels + 1) + "1"
        return name, (text + f"\nrates: {deep}\n" if style != "block" else text + "\nextra:\n" + deep + "\n").encode()
    if kind == "bomb":
        return name, alias_bomb(draw(st.integers(2, 12))).encode()
    if kind == "huge":
        keys = draw(st.integers(1_000, 4_000))  # over 1 MiB: test_an_oversized_plan_is_refused_quickly
        return name, (text + "".join(f"k{i}: {i}\n" for i in range(keys))).encode()
    return name, draw(st.binary(max_size=300))


@fuzz_settings(20)
@given(plan=mangled_plan(), options=run_options)
def test_mangled_plans_never_crash(plan: tuple[str, bytes], options: tuple[str, ...]):
    name, content = plan
    with scratch() as root:
        files: dict[str, bytes | str] = dict(BASE_PLANS)
        files[name] = content
        plans = write_plans(root, files)
        data = write_data(root, {n: _csv_text(n) for n in BASE_CSV})
        check_validate_and_run(plans, data, root / "out", *options)


@pytest.mark.parametrize("levels", [9, 12, 30])
def test_alias_bombs_are_refused_quickly(tmp_path: Path, levels: int):
    plans = write_plans(tmp_path, {"bomb.yaml": alias_bomb(levels)})
    started = time.monotonic()
    result = invoke("validate", "--plans", plans, "--data", tmp_path)  # no data files: the plans alone are timed
    assert time.monotonic() - started < 2
    assert result.exit_code == 2
    assert "yaml-alias" in result.output


def test_an_alias_bomb_inside_a_valid_plan_is_refused_quickly(tmp_path: Path):
    bomb = BASE_PLANS[PLAN_FILES[0]] + "\nextra: &x [1]\n" + alias_bomb(12).replace("a0: &a0", "a0: &a0 ")
    plans = write_plans(tmp_path, {PLAN_FILES[0]: bomb})
    started = time.monotonic()
    result = invoke("run", "--plans", plans, "--data", ROOT / "sample_data", "--out", tmp_path / "out")
    assert time.monotonic() - started < 2
    assert result.exit_code == 2 and "yaml-alias" in result.output
    assert not (tmp_path / "out").exists()


def test_python_tags_are_refused_not_constructed(tmp_path: Path):
    marker = tmp_path / "constructed"
    plan = BASE_PLANS[PLAN_FILES[0]].replace(
        "\nplan: ", f"\nx: !!python/object/apply:os.system ['touch {marker}']\nplan: ", 1
    )
    plans = write_plans(tmp_path, {PLAN_FILES[0]: plan})
    result = invoke("validate", "--plans", plans, "--data", tmp_path)  # no data files: the plans alone are timed
    assert result.exit_code == 2 and "yaml-tag" in result.output
    assert not marker.exists()


def test_an_oversized_plan_is_refused_quickly(tmp_path: Path):
    plans = write_plans(tmp_path, {"big.yaml": "k: " + "x" * (2 * 1024 * 1024) + "\n"})
    started = time.monotonic()
    result = invoke("validate", "--plans", plans, "--data", tmp_path)  # no data files: the plans alone are timed
    assert time.monotonic() - started < 2
    assert result.exit_code == 2 and "file-too-large" in result.output
