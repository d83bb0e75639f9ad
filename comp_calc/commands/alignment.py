"""`comp-calc alignment`: does the plan pay for what the customer values?

A thin command over `comp_calc.alignment`: run the period, analyse it, show
the findings as rich tables (with a pay-versus-CSAT scatter) or as JSON.
Findings are not errors: the exit code is 0 with or without them; bad input
exits 2 like `run`.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from comp_calc import alignment as lib
from comp_calc.commands.options import DataOpt, IncompleteOpt, PeriodOpt, PlansOpt, SkipOpt
from comp_calc.outputs import terminal as render
from comp_calc.pipeline import stages
from comp_calc.steps.exact import dec


class Format(str, Enum):
    table = "table"
    json = "json"


MAX_ROWS = 50  # longer rep tables show the flagged reps only (all are in --format json)
CHART_WIDTH = 50
CHART_HEIGHT = 12


def alignment(
    plans: PlansOpt = Path("plans"),
    data: DataOpt = Path("sample_data"),
    period: PeriodOpt = None,
    skip_invalid: SkipOpt = False,
    allow_incomplete: IncompleteOpt = False,
    fmt: Annotated[Format, typer.Option("--format", help="table (for people) or json (for scripts).")] = Format.table,
) -> None:
    """Whether pay follows customer outcomes: mis-selling, contact-quota gaming, pay versus satisfaction, survey health."""
    with render.progress("Loading plans and data"):
        prep = stages.prepare(plans, data, period, skip_invalid, allow_incomplete=allow_incomplete)
    with render.progress(f"Computing {prep.period} and its trailing periods"):
        result = stages.run(prep)
        report = lib.analyze(prep, result)
    if fmt == Format.json:
        sys.stdout.write(json.dumps(lib.to_json(report), indent=2) + "\n")
        sys.stdout.flush()
        return
    show(report, prep.period_was_default, len(prep.inputs.problems))


# --- rendering ----------------------------------------------------------------------------------------------


def _cells(frame: pl.DataFrame) -> list[list[str]]:
    """A small, already computed frame as rows of text (display only)."""
    text = lib.json_frame(frame).select(pl.all().cast(pl.String).fill_null(""))
    return [list(row) for row in zip(*(text[c].to_list() for c in text.columns), strict=True)]


def _table(title: str, frame: pl.DataFrame, headers: dict[str, str], right: set[str], caption: str | None = None) -> Table:
    table = Table(
        title=title, title_justify="left", caption=caption, caption_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for column, header in headers.items():
        table.add_column(header, justify="right" if column in right else "left", no_wrap=True)
    for row in _cells(frame.select(list(headers))):
        table.add_row(*row)
    return table


def _print(table: Table) -> None:
    """A table at its natural width: rows are never folded or cut, even on a narrow terminal or in a pipe."""
    console = render.out
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    wide = Console(
        file=console.file,
        width=natural,
        highlight=False,
        soft_wrap=False,
        color_system=console.color_system,
        force_terminal=console.is_terminal,
    )
    wide.print(table)


def _percent(column: str) -> pl.Expr:
    return pl.when(pl.col(column).is_not_null()).then(
        (pl.col(column) * 100).cast(dec(1)).cast(pl.String) + pl.lit("%")
    ).alias(column)


def show(report: lib.AlignmentReport, period_was_default: bool, skipped: int) -> None:
    out = render.out
    trl = report.trailing
    out.print(
        Text.assemble(
            ("Alignment ", "bold"),
            (report.period.label, "bold"),
            f"  trailing {len(trl.window.periods)} periods ({trl.window.describe()}), {trl.reps.height} reps",
        )
    )
    _findings(report)
    _plans(report)
    _teams(report)
    _scatter(report)
    _reps(report)
    _survey(report)
    if period_was_default:
        out.print(f"Period {report.period.label} is the latest complete period in the data (use --period to choose).", markup=False)
    if skipped:
        out.print(f"{skipped} bad input rows were left out (--skip-invalid).", markup=False)
    out.print("Every metric, with counts and team baselines: --format json.", markup=False)


def _findings(report: lib.AlignmentReport) -> None:
    """Each finding as a heading line and its reason below: readable at any terminal width."""
    flags = report.flags
    main = flags.filter(pl.col("signal") != "thin_survey")
    thin = flags.height - main.height
    counts = ", ".join(f"{s} {flags.filter(pl.col('signal') == s).height}" for s in lib.SIGNALS)
    render.out.print(Text(f"Findings: {counts}", style="bold"))
    if not main.height:
        rest = " besides survey health (below)" if thin else ""
        render.out.print(f"  none{rest}", markup=False)
    for signal, rep_id, name, team, value, threshold, reason in _cells(
        main.select("signal", "rep_id", "name", "team", "value", "threshold", "reason")
    ):
        render.out.print(
            Text.assemble(
                "  ", (signal, "bold red"), "  ", (rep_id, "bold"), f" {name}, {team}  value {value}, threshold {threshold}"
            )
        )
        render.out.print(Padding(Text(reason), (0, 0, 0, 4)))
    if thin:
        render.out.print(f"  thin_survey: {thin} reps, listed under Survey health below.", markup=False)


def _plans(report: lib.AlignmentReport) -> None:
    """One column per plan (plans are few), one row per measure."""
    trl = report.trailing.plans
    cur = report.current.plans.select("plan", pl.col("outcome_share").alias("period_share"))
    frame = trl.join(cur, on="plan", how="left").with_columns(_percent("outcome_share"), _percent("period_share"))
    frame = frame.with_columns(
        finding=pl.when(pl.col("volume_only")).then(pl.lit("VOLUME-ONLY")).otherwise(pl.lit("ok"))
    )
    measures = {
        "versions": "versions", "reps": "reps", "volume_pay": "volume pay", "quality_effect": "quality multiplier +/-",
        "relationship_pay": "relationship credit", "clawbacks": "clawbacks", "outcome_moved": "outcome moved",
        "outcome_share": f"outcome share {report.trailing.window.describe()}",
        "period_share": f"outcome share {report.period.label}", "finding": "finding",
    }
    table = Table(
        title="Outcome share of pay by plan",
        title_justify="left",
        caption=f"outcome moved = |quality effect| + relationship credit + |clawbacks|; share = outcome moved / "
        f"(volume pay + outcome moved); volume-only below {report.rules.volume_only_share * 100}%",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("")
    cells = _cells(frame.select("plan", *measures))
    for row in cells:
        table.add_column(row[0], justify="right", overflow="fold")
    for k, label in enumerate(measures.values(), start=1):
        table.add_row(label, *(row[k] for row in cells))
    _print(table)


def _teams(report: lib.AlignmentReport) -> None:
    frame = report.trailing.teams.with_columns(
        _percent("outcome_share"), _percent("early_rate"), _percent("follow_on_rate"), _percent("csat_share"),
        pl.col("pay_csat_correlation", "pay_nps_correlation").cast(dec(2)),
    )
    headers = {
        "team": "team", "reps": "reps", "payout": "payout", "outcome_share": "outcome", "early_rate": "early",
        "follow_on_rate": "follow", "csat_share": "CSAT", "nps": "NPS",
        "pay_csat_correlation": "ρ CSAT", "pay_nps_correlation": "ρ NPS",
    }
    _print(
        _table(
            f"Teams ({report.trailing.window.describe()})",
            frame,
            headers,
            set(headers) - {"team"},
            caption="outcome: share of pay moved by outcome terms; early: early-cancellation rate; follow: connected contacts "
            "followed by a purchase; ρ: Spearman rank correlation of reps' payout with CSAT / NPS "
            f"(reps with at least {report.rules.min_survey_answers} answers; blank under {report.rules.min_reps_for_correlation} reps)",
        )
    )


def _reps(report: lib.AlignmentReport) -> None:
    reps = report.trailing.reps
    flagged = report.flags.group_by("rep_id").agg(flags=pl.col("signal").unique().sort().str.join(", "))
    frame = reps.join(flagged, on="rep_id", how="left").with_columns(
        _percent("outcome_share"), _percent("early_rate"), _percent("follow_on_rate"), _percent("csat_share")
    )
    caption = None
    if frame.height > MAX_ROWS:
        caption = f"{frame.height - frame.filter(pl.col('flags').is_not_null()).height} reps without findings not shown."
        frame = frame.filter(pl.col("flags").is_not_null())
    headers = {
        "rep_id": "rep", "payout": "payout", "outcome_share": "outcome", "early_rate": "early",
        "follow_on_rate": "follow", "csat_share": "CSAT", "nps": "NPS", "flags": "flags",
    }
    right = set(headers) - {"rep_id", "flags"}
    _print(_table(f"Reps ({report.trailing.window.describe()})", frame, headers, right, caption=caption))


def _survey(report: lib.AlignmentReport) -> None:
    survey = report.survey.filter(pl.col("thin"))
    if not survey.height:
        return
    more = ""
    if survey.height > MAX_ROWS:
        more = f" The {MAX_ROWS} widest of {survey.height} are shown."
        survey = survey.sort("half_width", "rep_id", descending=[True, False]).head(MAX_ROWS).sort("rep_id")
    frame = survey.with_columns(
        _percent("csat_share"),
        lib.trim(pl.col("csat_multiplier")),
        interval=pl.format("{} to {}", _percent("wilson_low"), _percent("wilson_high")),
    )
    headers = {
        "rep_id": "rep", "team": "team", "csat_n": "CSAT answers", "csat_share": "satisfied", "interval": "95% interval",
        "half_width": "+-", "csat_multiplier": "CSAT multiplier", "edges_spanned": "band edges inside",
    }
    _print(
        _table(
            f"Survey health {report.period.label}: multipliers resting on thin evidence (thin_survey)",
            frame,
            headers,
            {"csat_n", "csat_share", "half_width", "csat_multiplier"},
            caption=f"Wilson 95% interval on the share of CSAT answers >= 4 in the plan's quality window; "
            f"flagged when wider than +-{report.rules.thin_half_width} and the metric counts (answers >= min_responses).{more}",
        )
    )


def _scatter(report: lib.AlignmentReport) -> None:
    """Payout (up) against CSAT share (across), one letter per team; `!` a pay_vs_satisfaction flag."""
    reps = report.trailing.reps.filter((pl.col("csat_n") >= report.rules.min_survey_answers) & pl.col("_csat_float").is_not_null())
    if reps.height < 2:
        return
    teams = reps.select("team").unique().sort("team").with_row_index("i")
    flagged = report.flags.filter(pl.col("signal") == "pay_vs_satisfaction").select("rep_id", flag=pl.lit(True))
    top = float(reps["payout"].max() or 0) or 1.0
    points = (
        reps.join(teams, on="team")
        .join(flagged, on="rep_id", how="left")
        .with_columns(
            x=(pl.col("_csat_float") * (CHART_WIDTH - 1)).round().cast(pl.Int64),
            y=(pl.col("payout").cast(pl.Float64).clip(0.0) / top * (CHART_HEIGHT - 1)).round().cast(pl.Int64),
        )
        .group_by("x", "y")
        .agg(flag=pl.col("flag").fill_null(False).any(), team=pl.col("i").min(), teams=pl.col("i").n_unique())
    )
    grid = [[" "] * CHART_WIDTH for _ in range(CHART_HEIGHT)]
    styles = [[""] * CHART_WIDTH for _ in range(CHART_HEIGHT)]
    for x, y, flag, team, n in zip(*(points[c].to_list() for c in ("x", "y", "flag", "team", "teams")), strict=True):
        row = CHART_HEIGHT - 1 - y
        grid[row][x] = "!" if flag else ("*" if n > 1 else chr(ord("A") + team))
        styles[row][x] = "bold red" if flag else "cyan"
    top_label = lib.json_frame(reps.select(pl.col("payout").max())).item()
    width = max(len(top_label), 4)
    text = Text()
    text.append(f"Pay vs CSAT ({report.trailing.window.describe()}): payout up, share of CSAT answers >= 4 across\n", style="bold")
    for r in range(CHART_HEIGHT):
        label = top_label if r == 0 else ("0" if r == CHART_HEIGHT - 1 else "")
        text.append(f"{label:>{width}} |")
        for c in range(CHART_WIDTH):
            text.append(grid[r][c], style=styles[r][c] or None)
        text.append("\n")
    text.append(" " * width + " +" + "-" * CHART_WIDTH + "\n")
    text.append(" " * width + "  0%" + " " * (CHART_WIDTH - 8) + "100%\n")
    legend = "  ".join(f"{chr(ord('A') + i)} {t}" for i, t in zip(teams["i"].to_list(), teams["team"].to_list(), strict=True))
    text.append(f"{legend}  * several teams  ! pay_vs_satisfaction flag")
    render.out.print(text)
