"""The requested period's result tables, manifest and files, from an engine result.

Builds `payouts.csv`, `lines.csv`, `exceptions.csv` and `manifest.json` of
SPEC section 4 as bytes (lines.csv as pieces of bytes); `writer.write_period`
puts them on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from comp_calc import __version__
from comp_calc.data.model import Inputs
from comp_calc.engine import RunResult
from comp_calc.outputs.lines import period_lines, rep_groups
from comp_calc.errors import Diagnostic
from comp_calc.outputs.csvfmt import format_frame, to_csv_bytes
from comp_calc.outputs.numbers import (
    activity_bonus_text, clawback_base_text, column_exact_text, draw_text, holdback_text, money_text, outcome_bonus_text, release_text, tier_pieces_text,
)  # fmt: skip
from comp_calc.outputs.writer import exceptions_frame, render_csv, render_json
from comp_calc.plan.model import PlanSet

PAYOUT_COLUMNS = [
    "rep_id", "name", "team", "plan", "plan_version", "period", "credited", "quota", "attainment",
    "quality_multiplier", "earned", "cap_adjustment", "clawbacks", "carry_in", "payout", "carry_out",
    # SPEC 6.4, appended; a component not built yet has no lines: its column is 0.00
    "currency", "spifs", "outcome_bonus", "activity_bonus", "overrides", "holdback", "released", "draw", "draw_balance",
    "restatement", "restatement_open",
]  # fmt: skip
PAYOUT_MONEY = {"quota", "earned", "cap_adjustment", "clawbacks", "carry_in", "payout", "carry_out"} | {
    *PAYOUT_COLUMNS[PAYOUT_COLUMNS.index("spifs") :]
}
PAYOUT_EXACT = {"credited", "quality_multiplier"}
LINE_COLUMNS = [
    "rep_id", "period", "kind", "sale_id", "role", "product", "credited", "rate", "tiers",
    "quality_multiplier", "amount", "explanation", "currency", "reference",
]  # fmt: skip
LINE_MONEY = {"amount"}
LINE_EXACT = {"credited", "rate", "quality_multiplier"}


def payouts_frame(result: RunResult, period: str | None = None) -> pl.DataFrame:
    """One row per rep present in the period (active or with a line), sorted by rep_id."""
    period = period or result.period.label
    zero = pl.lit(0, dtype=pl.Decimal(38, 2))
    return (
        result.grid.filter((pl.col("period") == period) & pl.col("present"))
        .select(
            "rep_id",
            "name",
            "team",
            "plan",
            pl.col("version").alias("plan_version"),
            "period",
            "credited",
            pl.col("quota_shown").alias("quota"),
            "attainment",
            "quality_multiplier",
            "earned",
            pl.col("cap_adjustment").fill_null(zero),
            "clawbacks",
            "carry_in",
            "payout",
            "carry_out",
            *PAYOUT_COLUMNS[PAYOUT_COLUMNS.index("currency") :],
        )
        .sort("rep_id")
    )


def lines_frame(result: RunResult, period: str | None = None) -> pl.DataFrame:
    """Every line of the period in SPEC order, with a one-sentence explanation."""
    return _explained(period_lines(result, period))


LINES_PER_PIECE = 1_000_000  # lines.csv is gathered, ordered and formatted about this many lines at a time


def lines_csv(result: RunResult) -> Iterator[bytes]:
    """lines.csv of the requested period in pieces of whole reps (header first), so that a
    period of millions of lines is never gathered, sorted or formatted all at once."""
    for i, reps in enumerate(rep_groups(result, LINES_PER_PIECE)):
        piece = format_frame(_explained(period_lines(result, reps=reps)), LINE_MONEY, LINE_EXACT)
        yield to_csv_bytes(piece, header=i == 0)


def _explained(lines: pl.DataFrame) -> pl.DataFrame:
    """`lines` (see `lines.period_lines`) with their tiers text and explanation, as the columns of lines.csv."""
    credited, rate, qm = (column_exact_text(c, lines) for c in ("credited", "rate", "quality_multiplier"))
    money = lambda c: money_text(pl.col(c))  # noqa: E731 - money columns are already at scale 2
    via = (
        pl.when(pl.col("role") == "relationship")
        .then(pl.format(" (relationship credit: contact {} for seller {})", pl.col("contact_id"), pl.col("seller_id")))
        .otherwise(pl.lit(""))
    )
    commission = pl.format(
        "sale {} ({}) sold {}: credited {}{} x rate {}, tiers multiplier@piece {}, quality x{} = {}",
        "sale_id", "product", "sold_on", credited, via, rate, "tiers", qm, money("amount"),
    )  # fmt: skip
    cap = pl.format("earned {} is above the cap {}: {}", money("earned"), money("cap"), money("amount"))
    claw = pl.format(
        "sale {} sold {} cancelled {} ({} days, {}-day rule): recover {} of {} paid in {} = {}",
        "sale_id", "sold_on", "cancelled_on", "days", "within_days", "recover",
        clawback_base_text() if "held" in lines.columns else money("original_amount"), "original_period", money("amount"),
    )  # fmt: skip
    carry = pl.format("negative balance carried in from the previous period: {}", money("amount"))
    explanations = {"commission": commission, "cap": cap, "clawback": claw, "carry": carry}
    if "value_num" in lines.columns:
        explanations["outcome_bonus"] = outcome_bonus_text()
    if "draw_due" in lines.columns:
        explanations["draw"] = draw_text()
    if "held_share" in lines.columns:
        explanations |= {"holdback": holdback_text(), "release": release_text()}
    if "activity_count" in lines.columns:
        explanations["activity_bonus"] = activity_bonus_text()
    explanation = pl.lit(None, dtype=pl.String)
    for kind, text in explanations.items():
        explanation = pl.when(pl.col("kind") == kind).then(text).otherwise(explanation)
    reference = pl.col("reference") if "reference" in lines.columns else pl.lit(None, dtype=pl.String)
    return (
        lines.with_columns(tiers=tier_pieces_text(lines))
        .with_columns(explanation=explanation, reference=reference)
        .select(LINE_COLUMNS)
    )


def manifest(result: RunResult, plans: PlanSet, inputs: Inputs, payouts: pl.DataFrame, data_until: date | None) -> dict:
    """Plan versions and file hashes, input hashes and row counts, totals, tool version; the latest
    date in the data and whether the period ends after it (run with --allow-incomplete). No clock."""
    total = lambda c: payouts[c].sum() if payouts.height else Decimal("0.00")  # noqa: E731
    rejected = {}
    for d in inputs.problems:
        rejected[d.file] = rejected.get(d.file, 0) + 1
    return {
        "tool": "comp-calc",
        "version": __version__,
        "period": result.period.label,
        "periods_computed": [p.label for p in result.periods],
        "data_until": data_until,
        "incomplete_period": data_until is None or result.period.end > data_until,
        "plans": [
            {"plan": p.plan, "version": p.version, "effective_from": p.effective_from, "file": Path(p.source).name, "sha256": p.sha256}
            for p in plans.plans
        ],
        "inputs": {
            t.name: {
                "file": Path(t.path).name if t.path else None,
                "sha256": t.sha256,
                "rows_read": t.rows_read,
                "rows_rejected": t.rows_rejected,
                "rows_ignored_after_period": result.ignored.get(t.name, 0),
                "rows_used": t.rows_read - t.rows_rejected - result.ignored.get(t.name, 0),
            }
            for t in inputs.tables()
        },
        "totals": {
            "reps": payouts.height,
            "credited": total("credited"),
            "earned": total("earned"),
            "cap_adjustment": total("cap_adjustment"),
            "clawbacks": total("clawbacks"),
            "carry_in": total("carry_in"),
            "payout": total("payout"),
            "carry_out": total("carry_out"),
        },
    }


def period_files(
    result: RunResult, plans: PlanSet, inputs: Inputs, problems: list[Diagnostic], data_until: date | None
) -> dict[str, bytes | Iterator[bytes]]:
    payouts = payouts_frame(result)
    return {
        "payouts.csv": render_csv(payouts, PAYOUT_MONEY, PAYOUT_EXACT),
        "lines.csv": lines_csv(result),
        "exceptions.csv": render_csv(exceptions_frame(problems), set(), set()),
        "manifest.json": render_json(manifest(result, plans, inputs, payouts, data_until)),
    }


def joined(files: dict[str, bytes | Iterator[bytes]]) -> dict[str, bytes]:
    """`files` with every file in pieces joined into one bytes object (for comparing runs)."""
    return {name: data if isinstance(data, bytes) else b"".join(data) for name, data in files.items()}
