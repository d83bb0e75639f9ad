"""`comp-calc alignment`: does the plan pay for what the customer values?

A thin command over `comp_calc.alignment`: run the period, analyse it, show
the findings as rich tables that fit the terminal, as JSON, or as one HTML page
with the charts (`comp_calc.alignment.page`).
Findings are not errors: the exit code is 0 with or without them; bad input
exits 2 like `run`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

import polars as pl
from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from comp_calc import alignment as lib
from comp_calc.alignment import page
from comp_calc.commands.options import AlignmentFormat as Format
from comp_calc.errors import Diagnostic, InputError, UsageError
from comp_calc.outputs import numbers
from comp_calc.outputs import terminal as render
from comp_calc.pipeline import stages
from comp_calc.alignment.exact import RATIO
from comp_calc.steps.exact import dec


MAX_ROWS = 50  # longer rep tables show the flagged reps only (all are in --format json)


def alignment(
    plans: Path, data: Path, period: str | None, skip_invalid: bool, allow_incomplete: bool, fmt: Format,
    out: Path | None, map_file: Path | None,
) -> None:
    """`comp-calc alignment` (its options and help are in `comp_calc.cli`)."""
    if out is not None and fmt != Format.html:
        raise UsageError("--out", "out-needs-html", "--out writes the HTML page: use it with --format html")
    with render.progress("Loading plans and data"):
        prep = stages.prepare(plans, data, period, skip_invalid, allow_incomplete=allow_incomplete, map_file=map_file)
    with render.progress(f"Computing {prep.period} and its trailing periods"):
        result = stages.run(prep)
        report = lib.analyze(prep, result)
    if fmt == Format.json:
        sys.stdout.write(json.dumps(lib.to_json(report), indent=2) + "\n")
        sys.stdout.flush()
        return
    if fmt == Format.html:
        text = page.render(report)
        if out is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            _write_page(out, text)
            render.console().print(f"wrote {out}", markup=False, highlight=False, soft_wrap=True)
        return
    show(report, prep.period_was_default, len(prep.inputs.problems))


def _write_page(path: Path, text: str) -> None:
    """The page written whole or not at all: a file beside `path`, renamed over it."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(Diagnostic(str(path), None, None, "unwritable-output", f"cannot write {path}: {exc.strerror or exc}")) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InputError(Diagnostic(str(path), None, None, "unwritable-output", f"cannot write {path}: {exc.strerror or exc}")) from None


# --- rendering ----------------------------------------------------------------------------------------------
# Tables fit the terminal width: numbers never wrap, names and flag lists wrap at word boundaries.


def _cells(frame: pl.DataFrame) -> list[list[str]]:
    """A small, already computed frame as rows of text (display only)."""
    text = lib.json_frame(frame).select(pl.all().cast(pl.String).fill_null(""))
    return [list(row) for row in zip(*(text[c].to_list() for c in text.columns), strict=True)]


def _table(title: str, frame: pl.DataFrame, headers: dict[str, str], right: set[str], caption: str | None = None) -> Table:
    table = Table(
        title=title, title_justify="left", caption=caption, caption_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    rows = _cells(frame.select(list(headers)))
    for column, header in headers.items():
        if column in right:  # a number (short headers) is never wrapped or cut
            table.add_column(header, justify="right", no_wrap=True)
        else:
            table.add_column(header, justify="left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _percent(column: str) -> pl.Expr:
    return numbers.percent_text(pl.col(column), 1, RATIO).alias(column)


def show(report: lib.AlignmentReport, period_was_default: bool, skipped: int) -> None:
    out = render.console()
    trl = report.trailing
    unit = f"; amounts in {report.currency}" if report.currency else "; amounts in each rep's plan currency"
    out.print(
        Text.assemble(
            ("Alignment ", "bold"),
            (report.period.label, "bold"),
            f"  trailing {len(trl.window.periods)} periods ({trl.window.describe()}), {trl.reps.height} reps{unit}",
        )
    )
    _findings(out, report)
    _plans(out, report)
    _teams(out, report)
    _reps(out, report)
    _survey(out, report)
    if period_was_default:
        out.print(f"Period {report.period.label} is the latest complete period in the data (use --period to choose).", markup=False)
    if skipped:
        out.print(f"{skipped} bad input rows were left out (--skip-invalid).", markup=False)
    out.print("Every metric, with counts and team baselines: --format json; the charts: --format html.", markup=False)


def _in_currency(report: lib.AlignmentReport) -> str:
    return f", payout in {report.currency}" if report.currency else ""


def _money(label: str, report: lib.AlignmentReport) -> str:
    return f"{label} ({report.currency})" if report.currency else label


def _findings(out: Console, report: lib.AlignmentReport) -> None:
    """Each finding as a heading, its value against the threshold, and its reason, wrapped at words."""
    flags = report.flags
    main = flags.filter(pl.col("signal") != "thin_survey")
    thin = flags.height - main.height
    counts = ", ".join(f"{s} {flags.filter(pl.col('signal') == s).height}" for s in lib.SIGNALS)
    out.print(Text(f"Findings: {counts}", style="bold"))
    if not main.height:
        rest = " besides survey health (below)" if thin else ""
        out.print(f"  none{rest}", markup=False)
    rows = main.select("signal", "window", "rep_id", "name", "team", "measure", "reason").rows()
    for signal, window, rep_id, name, team, measure, reason in rows:  # the flags: a few rows
        out.print(
            Padding(Text.assemble((signal, "bold red"), f" ({window}) ", (rep_id, "bold"), f" {name}, {team}"), (0, 0, 0, 2))
        )
        out.print(Padding(Text(measure, style="bold"), (0, 0, 0, 4)))
        out.print(Padding(Text(reason), (0, 0, 0, 4)))
    without = report.thin_without_edge
    notes = []
    if thin:
        notes.append(f"thin_survey: {thin} rep{'s' if thin != 1 else ''}, listed under Survey health below.")
    if without:
        has = "reps have" if without != 1 else "rep has"
        notes.append(
            f"{without} more {has} a wide CSAT interval holding no band edge: the multiplier is the same at either end, "
            "so not flagged."
        )
    if notes:
        out.print(Padding(Text(" ".join(notes)), (0, 0, 0, 2)))
    out.print()


def _plans(out: Console, report: lib.AlignmentReport) -> None:
    """One column per plan (plans are few), one row per measure."""
    trl = report.trailing.plans
    cur = report.current.plans.select("plan", pl.col("outcome_share").alias("period_share"))
    frame = trl.join(cur, on="plan", how="left").with_columns(_percent("outcome_share"), _percent("period_share"))
    frame = frame.with_columns(
        finding=pl.when(pl.col("volume_only")).then(pl.lit("VOLUME-ONLY")).otherwise(pl.lit("ok"))
    )
    several = not report.currency  # reps paid in several currencies: a row says each plan's (a plan has one)
    if several:
        frame = frame.join(report.trailing.reps.select("plan", "currency").unique("plan"), on="plan", how="left")
    bonuses = bool((trl["outcome_bonus"] != 0).any())  # the row (and its term) only where a plan paid one
    forfeited = bool((trl["holdback_forfeited"] != 0).any())  # likewise: only where a held part was lost
    activity = bool((trl["activity_bonus"] != 0).any())  # likewise the activity bonuses, beside volume pay
    measures = {
        "versions": "versions", "reps": "reps", **({"currency": "currency"} if several else {}),
        "volume_pay": _money("volume pay", report),
        **({"activity_bonus": _money("activity bonuses", report)} if activity else {}),
        "quality_effect": _money("quality multiplier, net", report),
        "relationship_pay": _money("relationship credit", report), "clawbacks": _money("clawbacks", report),
        **({"outcome_bonus": _money("outcome bonuses", report)} if bonuses else {}),
        **({"holdback_forfeited": _money("holdbacks forfeited", report)} if forfeited else {}),
        "outcome_moved": _money("outcome moved", report),
        "outcome_share": f"outcome share {report.trailing.window.describe()}",
        "period_share": f"outcome share {report.period.label}", "finding": "finding",
    }
    threshold = numbers.plain((report.rules.volume_only_share * 100).normalize())
    table = Table(
        title="Outcome share of pay by plan",
        title_justify="left",
        caption=f"outcome moved = |quality multiplier, net| + |relationship credit| + |clawbacks|"
        f"{' + |outcome bonuses|' if bonuses else ''}{' + |holdbacks forfeited|' if forfeited else ''} (the rows above); "
        f"share = outcome moved / (volume pay{' + activity bonuses' if activity else ''} + outcome moved); "
        f"volume-only below {threshold}%",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("", overflow="fold")
    cells = _cells(frame.select("plan", *measures))
    for row in cells:
        table.add_column(row[0], justify="right", overflow="fold")
    for k, label in enumerate(measures.values(), start=1):
        table.add_row(label, *(row[k] for row in cells))
    out.print(table)
    out.print()


def _teams(out: Console, report: lib.AlignmentReport) -> None:
    frame = report.trailing.teams.with_columns(
        _percent("outcome_share"), _percent("early_rate"), _percent("follow_on_rate"), _percent("csat_share"),
        pl.col("pay_csat_correlation", "pay_nps_correlation").cast(dec(2)),
    )
    window = report.trailing.window.describe()
    pay = {
        "team": "team", "reps": "reps", "payout": "payout", "outcome_share": "outcome", "early_rate": "early",
        "follow_on_rate": "follow",
    }
    out.print(
        _table(
            f"Teams ({window}): pay and outcomes" + _in_currency(report),
            frame,
            pay,
            set(pay) - {"team"},
            caption="reps: count; outcome: share of pay moved by outcome terms; early: share of sales cancelled early; "
            "follow: share of connected contacts followed by a purchase",
        )
    )
    out.print()
    satisfaction = {
        "team": "team", "csat_n": "CSAT n", "csat_share": "CSAT", "nps_n": "NPS n", "nps": "NPS",
        "pay_csat_correlation": "ρ CSAT", "pay_nps_correlation": "ρ NPS",
    }
    out.print(
        _table(
            f"Teams ({window}): satisfaction",
            frame,
            satisfaction,
            set(satisfaction) - {"team"},
            caption="n: answers (count); CSAT: share of answers 4 or 5; NPS in points (-100 to 100); ρ: Spearman rank correlation of reps' payout with "
            f"CSAT / NPS (reps with at least {report.rules.min_survey_answers} answers; blank under "
            f"{report.rules.min_reps_for_correlation} reps)",
        )
    )
    out.print()


def _reps(out: Console, report: lib.AlignmentReport) -> None:
    reps = report.trailing.reps
    flagged = report.flags.group_by("rep_id").agg(flags=pl.col("signal").unique().sort().str.join("\n"))
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
    caption = (caption + " " if caption else "") + (
        "outcome, early, follow, CSAT as for teams; NPS in points; flags: raised in the period, the trailing window "
        "or both (see Findings)"
    )
    title = f"Reps ({report.trailing.window.describe()})" + _in_currency(report)
    out.print(_table(title, frame, headers, right, caption=caption))
    out.print()


def _survey(out: Console, report: lib.AlignmentReport) -> None:
    survey = report.survey.filter(pl.col("thin") & pl.col("edge_inside"))
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
        "rep_id": "rep", "csat_n": "answers", "csat_share": "satisfied", "interval": "95% interval",
        "csat_multiplier": "multiplier", "edges_spanned": "band edges inside",
    }
    threshold = numbers.plain((report.rules.thin_half_width * 100).normalize())
    out.print(
        _table(
            f"Survey health {report.period.label}: CSAT multipliers that could be the wrong band (thin_survey)",
            frame,
            headers,
            {"csat_n", "csat_share", "csat_multiplier"},
            caption=f"Wilson 95% interval on the share of CSAT answers 4 or 5 in the plan's quality window; flagged when "
            f"wider than +-{threshold} points, a band edge of the plan lies inside it, and the metric counts "
            f"(answers >= min_responses).{more}",
        )
    )
    out.print()
