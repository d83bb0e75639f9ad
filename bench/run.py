#!/usr/bin/env python3
"""Benchmark `comp-calc run` against a plain polars read and a pandas implementation.

In one sitting, on the same generated inputs, each measured as its own child process
(wall time, and peak resident memory from the kernel's per-child rusage via os.wait4):

  (a) floor:     a plain polars read of the four CSVs with the same column types
                 (dates parsed, amounts as Decimal): nothing can be faster than this;
  (b) comp-calc: `comp-calc run --format json --force` end to end (load, validate,
                 compute every month, reconcile, write the period's files);
  (c) pandas:    bench/pandas_impl.py, the same plan written with pandas + integer cents.

The totals of (b) and (c) must agree to the cent (and every rep's payout too); a
mismatch exits 1. Data is generated under bench/data/ (gitignored) unless --data is given.

Two worlds: `part1` (the default) prices SPEC sections 1-5 with bench/plan; `s6` (`--world s6`,
or by itself with `--plans bench/plan-s6`) prices every SPEC section 6 component with
bench/plan-s6 on data generated with `--currencies --managers` (a UK team paid in GBP, sales in
USD, team leads and a head of sales) into bench/data/<size>-s<seed>-s6. The pandas
implementation knows part one only, so (c) is skipped in the s6 world, which says so.

    python bench/run.py --size small
    python bench/run.py --size large --skip-pandas
    python bench/run.py --data bench/data/medium-s1 --period 2026-10
    python bench/run.py --size medium --world s6
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PLAN = HERE / "plan"
PLAN_S6 = HERE / "plan-s6"
WORLDS = {"part1": PLAN, "s6": PLAN_S6}  # world -> its bench plans
S6_GENERATE = ("--currencies", "--managers")  # the generator options of the s6 world
S6_FILES = ("campaigns.csv", "fx_rates.csv")  # inputs the s6 world reads besides FILES (a few rows each)
START = "2025-11-01"
MONTHS = 12
PERIOD = "2026-10"  # the last month of START + MONTHS

# reps, sales, feedback, contacts: the large size is the target shape
SIZES: dict[str, tuple[int, int, int, int]] = {
    "tiny": (40, 2_000, 800, 1_500),
    "small": (50, 100_000, 20_000, 10_000),
    "medium": (500, 1_000_000, 200_000, 100_000),
    "large": (5_000, 10_000_000, 2_000_000, 1_000_000),
    "xl": (10_000, 20_000_000, 4_000_000, 2_000_000),
}
# sizes made from another by repeating each sale (see `repeat_sales`): size -> (source size, copies)
REPEATED: dict[str, tuple[str, int]] = {"huge": ("large", 10)}  # 100M sales, for --streaming

# The targets of the current round of speed work: wall time within 4x the plain read at 10M
# sales and more (3x below), at least 10x faster than pandas, peak memory under 3x the CSV size.
TARGET_VS_READ = {"large": 4.0, "xl": 4.0, "huge": 4.0}  # size -> target; other sizes 3x
TARGET_VS_PANDAS = 10.0
TARGET_MEMORY = 3.0

FILES = ("reps.csv", "sales.csv", "feedback.csv", "contacts.csv")


# ---------------------------------------------------------------- the floor: a typed polars read


def read_floor(data: Path) -> dict[str, int]:
    """Read the inputs with the types comp-calc uses: ids as strings, dates, Decimal amounts."""
    import polars as pl

    money = pl.Decimal(38, 2)
    schemas = {
        "reps.csv": {"quota": money, "start_date": pl.Date, "end_date": pl.Date},
        "sales.csv": {"amount": money, "sold_on": pl.Date, "cancelled_on": pl.Date},
        "feedback.csv": {"responded_on": pl.Date, "score": pl.Int64},
        "contacts.csv": {"contacted_on": pl.Date, "connected": pl.Boolean},
    }
    rows = {}
    for name, types in schemas.items():
        path = data / name
        if path.exists():
            # infer_schema=False: every other column (ids!) stays a string, leading zeros kept
            frame = pl.read_csv(path, infer_schema=False, schema_overrides=types)
            rows[name] = frame.height
    return rows


# ---------------------------------------------------------------- measuring child processes


@dataclass
class Measure:
    label: str
    wall: float  # seconds
    cpu: float  # user + system seconds of the child (less sensitive than wall to other load)
    peak_rss: int  # bytes
    stdout: str


def measure(label: str, cmd: list[str], cwd: Path = ROOT) -> Measure:
    """Run `cmd` as a child; its wall time and its own peak RSS (not its siblings')."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # read both pipes to the end, then reap the child ourselves to get its own rusage
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        sys.stderr.write(f"{label} failed (exit {proc.returncode}):\n{err[-4000:]}\n{out[-2000:]}\n")
        raise SystemExit(2)
    return Measure(label, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, out)  # ru_maxrss is in KiB on Linux


# ---------------------------------------------------------------- data


def ensure_data(size: str, seed: int, world: str = "part1") -> Path:
    s6 = world == "s6"
    folder = HERE / "data" / f"{size}-s{seed}{'-s6' if s6 else ''}"
    if all((folder / f).exists() for f in FILES + (S6_FILES if s6 else ())):
        return folder
    if size in REPEATED:
        source, copies = REPEATED[size]
        return repeat_sales(ensure_data(source, seed, world), folder, copies, S6_FILES if s6 else ())
    reps, sales, feedback, contacts = SIZES[size]
    print(f"generating {size} data{' of the s6 world' if s6 else ''} into {folder} ...", flush=True)
    cmd = [
        sys.executable, str(HERE / "generate.py"), "--out", str(folder), "--seed", str(seed),
        "--reps", str(reps), "--sales", str(sales), "--feedback", str(feedback), "--contacts", str(contacts),
        "--start", START, "--months", str(MONTHS), *(S6_GENERATE if s6 else ()),
    ]  # fmt: skip
    m = measure("generate", cmd)
    print(f"generated in {m.wall:.1f}s", flush=True)
    return folder


def repeat_sales(source: Path, folder: Path, copies: int, extra: tuple[str, ...] = ()) -> Path:
    """`source` with every sale repeated `copies` times as sale_id `<id>-0` ... `<id>-<copies-1>`
    (ids stay unique and in file order, dates in order); reps, feedback and contacts as they are,
    and the `extra` files (the s6 world's campaigns and rates) copied.

    Far quicker than generating that many sales, and streamed: it never holds the sales in memory.
    """
    import polars as pl  # only the repeated sizes need it here

    print(f"repeating each sale of {source} {copies} times into {folder} ...", flush=True)
    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES + extra:
        if name != "sales.csv":
            (folder / name).write_bytes((source / name).read_bytes())
    copy = pl.int_range(copies, dtype=pl.Int32).implode()
    (
        pl.scan_csv(source / "sales.csv", infer_schema=False)
        .with_columns(_copy=copy)
        .explode("_copy")
        .with_columns(sale_id=pl.format("{}-{}", "sale_id", "_copy"))
        .drop("_copy")
        .sink_csv(folder / "sales.csv")
    )
    print(f"repeated in {time.perf_counter() - t0:.1f}s", flush=True)
    return folder


def show(m: Measure) -> None:
    print(f"{m.label:<16} {m.wall:8.2f} s {m.cpu:8.2f} s {mib(m.peak_rss):>12}", flush=True)


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    import polars as pl

    return {"cpus": str(os.cpu_count()), "memory": mem, "cpu": cpu, "python": platform.python_version(), "polars": pl.__version__}


# ---------------------------------------------------------------- main


def compare(ours: dict, theirs: dict) -> list[str]:
    """Differences between comp-calc's JSON summary and the pandas result (empty: equal to the cent)."""
    problems = []
    for key, value in theirs["totals"].items():
        mine = ours["totals"].get(key)
        if str(mine) != str(value):
            problems.append(f"total {key}: comp-calc {mine} vs pandas {value}")
    our_payouts = {row["rep_id"]: row["payout"] for row in ours["reps"]}
    their_payouts = theirs.get("payouts", {})
    differing = sorted(k for k in our_payouts.keys() | their_payouts.keys() if our_payouts.get(k) != their_payouts.get(k))
    for k in differing[:10]:
        problems.append(f"rep {k}: payout comp-calc {our_payouts.get(k)} vs pandas {their_payouts.get(k)}")
    if len(differing) > 10:
        problems.append(f"... {len(differing) - 10} more reps differ")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark comp-calc run against a polars read and a pandas implementation.")
    ap.add_argument("--size", choices=[*SIZES, *REPEATED], default="small")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, help="reuse this data folder instead of generating one")
    ap.add_argument("--world", choices=sorted(WORLDS), help="part1 (default): SPEC sections 1-5 with bench/plan; s6: every "
                    "section 6 component with bench/plan-s6, on data made with --currencies --managers (no pandas run)")
    ap.add_argument("--plans", type=Path, help="plan folder (default: the world's, bench/plan or bench/plan-s6)")
    ap.add_argument("--period", default=PERIOD)
    ap.add_argument("--out", type=Path, default=HERE / "out", help="where comp-calc writes (gitignored bench/out)")
    ap.add_argument("--skip-pandas", action="store_true", help="do not run the pandas implementation")
    ap.add_argument("--streaming", action="store_true", help="run comp-calc with --streaming (inputs read in blocks, one period at a time)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument(
        "--src", type=Path, default=ROOT, help="import comp_calc from this folder (a copy of another revision); default: this repo"
    )
    ap.add_argument("--read-floor", type=Path, help=argparse.SUPPRESS)  # internal: the child of (a)
    args = ap.parse_args(argv)

    if args.read_floor:
        print(json.dumps(read_floor(args.read_floor)))
        return 0

    world = args.world or ("s6" if args.plans and args.plans.resolve() == PLAN_S6 else "part1")
    s6 = world == "s6"
    data = (args.data or ensure_data(args.size, args.seed, world)).resolve()
    plans = (args.plans or WORLDS[world]).resolve()
    files = FILES + (S6_FILES if s6 else ())
    input_bytes = sum((data / f).stat().st_size for f in files if (data / f).exists())
    rows = {f: sum(1 for _ in open(data / f, "rb")) - 1 for f in files if (data / f).exists()}
    info = machine()
    print(f"machine: {info['cpus']} CPUs, {info['memory']}, {info['cpu']}; python {info['python']}, polars {info['polars']}")
    if s6:
        print("world: s6 (every SPEC section 6 component; sales in EUR, GBP and USD; team leads and a head of sales)")
    print(f"data: {data}  ({mib(input_bytes)} of CSV; " + ", ".join(f"{k} {v:,}" for k, v in rows.items()) + ")")
    print(f"plans: {plans}  period: {args.period}  comp_calc from: {args.src.resolve()}", flush=True)

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'':<16} {'wall':>10} {'cpu':>10} {'peak RSS':>12}")
    # comp_calc as an installed package has it, compiled to bytecode (pip compiles what it installs):
    # a checkout run where Python writes no bytecode would compile every module on every run
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(args.src.resolve() / "comp_calc")], check=True)
    a = measure("(a) polars read", [sys.executable, str(HERE / "run.py"), "--read-floor", str(data)])
    show(a)
    b = measure(
        "(b) comp-calc",
        [
            sys.executable, "-c", "from comp_calc.cli import app; app()", "run", "--plans", str(plans),
            "--data", str(data), "--period", args.period, "--out", str(args.out.resolve()), "--format", "json", "--force",
            *(["--streaming"] if args.streaming else []),
        ],
        cwd=args.src.resolve(),  # `python -c` imports comp_calc from its working folder first
    )  # fmt: skip
    show(b)
    ours = json.loads(b.stdout)
    by_currency = ours["totals"]  # totals are per currency: one in part one, EUR and GBP in s6
    if not s6:
        (ours["totals"],) = by_currency.values()
    c = None
    if s6 and not args.skip_pandas:
        print("(c) pandas: skipped in the s6 world (bench/pandas_impl.py implements SPEC sections 1-5 only)", flush=True)
    if not s6 and not args.skip_pandas:
        c = measure(
            "(c) pandas",
            [sys.executable, str(HERE / "pandas_impl.py"), "--plans", str(plans), "--data", str(data), "--period", args.period, "--payouts"],
        )
        show(c)
    print(f"load average after: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs; other work on the machine inflates wall times)")

    print()
    totals = "; ".join(f"{cur} {t['payout']} over {t['reps']} reps" for cur, t in by_currency.items())
    print(f"comp-calc total payout {args.period}: {totals}" if s6 else
          f"comp-calc total payout {args.period}: {ours['totals']['payout']} over {ours['totals']['reps']} reps")
    status = 0
    if c is not None:
        theirs = json.loads(c.stdout)
        problems = compare(ours, theirs)
        if problems:
            print("MISMATCH between comp-calc and pandas:")
            for p in problems:
                print("  " + p)
            status = 1
        else:
            print(f"pandas    total payout {args.period}: {theirs['totals']['payout']}  -> equal to the cent (totals and every rep)")

    vs_read = b.wall / a.wall
    target_vs_read = TARGET_VS_READ.get(args.size, 3.0)
    print(f"(b)/(a) cpu:  {b.cpu / a.cpu:.2f}x" + (f"   (c)/(b) cpu: {c.cpu / b.cpu:.2f}x" if c else ""))
    mem_ratio = b.peak_rss / input_bytes
    print()
    print(f"(b)/(a) wall: {vs_read:.2f}x   (target <= {target_vs_read:g}x: {'met' if vs_read <= target_vs_read else 'missed'})")
    if c is not None:
        vs_pandas = c.wall / b.wall
        print(f"(c)/(b) wall: {vs_pandas:.2f}x   (target >= {TARGET_VS_PANDAS:g}x: {'met' if vs_pandas >= TARGET_VS_PANDAS else 'missed'})")
        print(f"(c)/(b) peak memory: {c.peak_rss / b.peak_rss:.2f}x")
    print(f"(b) peak memory / input CSV size: {mem_ratio:.2f}x   (target < {TARGET_MEMORY:g}x: {'met' if mem_ratio < TARGET_MEMORY else 'missed'})")
    print(f"(a) peak memory / input CSV size: {a.peak_rss / input_bytes:.2f}x")

    if args.json:
        record = {
            "machine": info,
            "date": time.strftime("%Y-%m-%d"),
            "data": str(data),
            "rows": rows,
            "input_bytes": input_bytes,
            "period": args.period,
            "world": world,
            "streaming": args.streaming,
            "results": {
                m.label: {"wall_s": round(m.wall, 3), "cpu_s": round(m.cpu, 3), "peak_rss_bytes": m.peak_rss} for m in (a, b, c) if m
            },
            "load_average_after": os.getloadavg()[0],
            "total_payout": {cur: t["payout"] for cur, t in by_currency.items()} if s6 else ours["totals"]["payout"],
            "match": status == 0 if c else None,
        }
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
