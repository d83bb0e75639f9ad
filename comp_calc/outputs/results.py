"""The requested period's result tables, manifest and files, from an engine result.

Builds `payouts.csv`, `lines.csv`, `exceptions.csv` and `manifest.json` of
SPEC section 4 as bytes (lines.csv as pieces of bytes); `writer.write_period`
puts them on disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import BinaryIO
from datetime import date
from pathlib import Path

import polars as pl

from comp_calc import __version__
from comp_calc.data.model import Inputs
from comp_calc.engine import RunResult
from comp_calc.outputs.lines import commission_part, commission_rows, other_part, rep_groups
from comp_calc.errors import Diagnostic
from comp_calc.outputs.csvfmt import cell, format_frame, neutralised, neutralised_value, to_csv_bytes, write_csv
from comp_calc.outputs.numbers import (
    activity_bonus_text, clawback_base_text, column_exact_text, draw_text, holdback_text, money_text, outcome_bonus_text,
    override_text, release_text, restatement_text, spif_clawback_text, spif_text, tier_pieces_text,
)  # fmt: skip
from comp_calc.outputs.writer import exceptions_frame, render_csv, render_json
from comp_calc.periods import per_day
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


def lines_frame(result: RunResult, period: str | None = None, reps: tuple[int, int] | None = None) -> pl.DataFrame:
    """Every line of the period in SPEC order, with a one-sentence explanation (the columns of
    lines.csv); with `reps=(first, last)`, only those of the reps whose rep_no lies in that range.

    The commission lines (nearly all of a period's lines) and the other kinds' lines are
    explained apart, each with only its own columns (`lines.commission_part`, `lines.other_part`),
    then merged in order: a rep's commission lines come before its other lines, whose kinds
    come after `commission` in `steps.kinds.LINE_KINDS`.
    """
    parts = [
        _explained(commission_part(result, period, reps), keep=["rep_no"]),
        _explained(other_part(result, period, reps), keep=["rep_no"]),
    ]
    # one type per column (the commission part's frame is typed even without lines): e.g. rate at the wider scale
    schema = pl.concat([p.head(0) for p in parts], how="diagonal_relaxed").schema
    commission, other = (p.select(pl.col(n).cast(t) for n, t in schema.items()) for p in parts)
    if not other.height or not commission.height:
        return (commission if commission.height else other).drop("rep_no")
    # both parts are in order; a stable sort on (rep, part) interleaves them (a gather of string views)
    side = (pl.col("rep_no") * 2).alias("_key"), (pl.col("rep_no") * 2 + 1).alias("_key")
    merged = pl.concat([commission.with_columns(side[0]), other.with_columns(side[1])]).sort("_key", maintain_order=True)
    return merged.drop("rep_no", "_key")


LINES_PER_PIECE = 1_000_000  # lines.csv is gathered, ordered and formatted about this many lines at a time


def lines_pieces(result: RunResult) -> Iterator[pl.DataFrame]:
    """lines.csv of the requested period as text frames (`lines_text`) of whole reps, in order,
    so that a period of millions of lines is never gathered, sorted or formatted all at once."""
    for reps in rep_groups(result, LINES_PER_PIECE):
        yield lines_text(result, reps=reps)


def lines_text(result: RunResult, period: str | None = None, reps: tuple[int, int] | None = None) -> pl.DataFrame:
    """`lines_frame` formatted for lines.csv (`csvfmt.format_frame` of it, the same text), made
    without the typed frame: the commission lines (nearly all) in one query that formats each
    value once, for its own column and for the explanation that repeats it."""
    other = _explained(other_part(result, period, reps), keep=["rep_no"])
    other = format_frame(other.drop("rep_no"), LINE_MONEY, LINE_EXACT).with_columns(other["rep_no"])
    commission = _commission_text(result, period, reps)
    if not other.height or not commission.height:
        return (commission if commission.height else other).drop("rep_no")
    # as in lines_frame: a stable sort on (rep, part) interleaves the two parts
    side = (pl.col("rep_no") * 2).alias("_key"), (pl.col("rep_no") * 2 + 1).alias("_key")
    merged = pl.concat([commission.with_columns(side[0]), other.with_columns(side[1])]).sort("_key", maintain_order=True)
    return merged.drop("rep_no", "_key")


def _commission_text(result: RunResult, period: str | None, reps: tuple[int, int] | None) -> pl.DataFrame:
    """The commission lines of `lines_text` (with `rep_no`): each exact value, the amount and the
    tiers are formatted once, then written in their columns and in the explanation. What is the
    same on many lines is formatted once: the period, the rep_id of each rep, the currency and
    tier multipliers of each rep-period (`lines.commission_rows`), the text of each day sold."""
    lines = commission_rows(result, period, reps)
    schema = lines.collect_schema()
    bands = sorted(int(c.rsplit("_", 1)[1]) for c in schema if c.startswith("tier_piece_"))
    labels = [pl.format("{}@{}", f"tier_multiplier_text_{b}", pl.col(f"tier_piece_{b}").cast(pl.String)) for b in bands]
    tiers = pl.concat_str(labels, separator="|", ignore_nulls=True) if bands else pl.lit(None, dtype=pl.String)
    shown = {c: column_exact_text(c, schema) for c in ("credited", "rate", "quality_multiplier")}
    lines = lines.with_columns(**shown, amount=money_text(pl.col("amount")), tiers=tiers)
    via = _via(pl.col("contact_id"), pl.col("seller_id"), fx_text(schema) if "fx_rate" in schema else None)
    texts = (pl.col(c) for c in ("credited", "rate", "tiers", "quality_multiplier", "amount"))
    lines = lines.with_columns(explanation=commission_explanation(*texts, via, sold_on=per_day(pl.col("sold_on"), lambda d: d.cast(pl.String))))
    rep_ids = result.text.rep_ids.to_frame("rep_id").select(cell(neutralised(pl.col("rep_id")))).to_series()
    cells = {
        "rep_id": pl.lit(rep_ids).gather(pl.col("rep_no")),
        "period": pl.lit(neutralised_value(period or result.period.label), dtype=pl.String),
        "kind": pl.lit(neutralised_value("commission"), dtype=pl.String),
        **{c: cell(neutralised(pl.col(c))) for c in ("sale_id", "role", "product", "tiers")},
        **{c: cell(pl.col(c)) for c in (*shown, "amount", "explanation")},
        "currency": pl.col("currency_cell"),
        "reference": pl.lit(None, dtype=pl.String),
    }
    return lines.select(*(cells[c].alias(c) for c in LINE_COLUMNS), "rep_no").collect()


def fx_text(schema: pl.Schema) -> pl.Expr:
    """How a converted credit was priced: ` (700.00 USD x 0.92, the USD to EUR rate of 2026-03)`
    (`schema`: of the lines, for the scales of their sale_credited and fx_rate)."""
    return pl.format(
        " ({} {} x {}, the {} to {} rate of {})", column_exact_text("sale_credited", schema), "sale_currency",
        column_exact_text("fx_rate", schema), "sale_currency", "currency", pl.col("sold_on").dt.strftime("%Y-%m"),
    )  # fmt: skip


def _via(contact_id: pl.Expr, seller_id: pl.Expr, fx: pl.Expr | None) -> pl.Expr:
    """What a commission line's credit came through: a relationship credit's contact and seller,
    and (`fx`, in a run that converts) the sale's own currency and rate; else empty."""
    via = (
        pl.when(pl.col("role") == "relationship")
        .then(pl.format(" (relationship credit: contact {} for seller {})", contact_id, seller_id))
        .otherwise(pl.lit(""))
    )
    if fx is not None:  # SPEC 6.3 currency: a credit converted from the sale's currency
        via = via + pl.when(pl.col("fx_rate").is_not_null()).then(fx).otherwise(pl.lit(""))
    return via


COMMISSION_EXPLANATION = "sale {} ({}) sold {}: credited {}{} x rate {}, tiers multiplier@piece {}, quality x{} = {}"


def commission_explanation(
    credited: pl.Expr, rate: pl.Expr, tiers: pl.Expr, qm: pl.Expr, amount: pl.Expr, via: pl.Expr, sold_on: pl.Expr | str = "sold_on"
) -> pl.Expr:
    """A commission line's explanation, from the text of its values (as lines.csv shows them)."""
    return pl.format(COMMISSION_EXPLANATION, "sale_id", "product", sold_on, credited, via, rate, tiers, qm, amount)


def _explained(lines: pl.DataFrame, keep: list[str] = ()) -> pl.DataFrame:
    """`lines` (see `lines.period_lines`) with their tiers text and explanation, as the columns of
    lines.csv (and the columns `keep`). A kind's explanation is built only when `lines` hold lines
    of that kind, so a frame of some kinds needs only their columns; a column of lines.csv that
    none of them has is empty."""
    kinds = set(lines["kind"].unique().to_list())
    # a column no line here has: null of no type yet, so that merging with lines that have it takes their type
    lines = lines.with_columns(pl.lit(None).alias(c) for c in LINE_COLUMNS if c not in lines.columns and c not in ("tiers", "explanation"))
    credited, rate, qm = (column_exact_text(c, lines) for c in ("credited", "rate", "quality_multiplier"))
    money = lambda c: money_text(pl.col(c))  # noqa: E731 - money columns are already at scale 2
    via = _via(pl.col("contact_id"), pl.col("seller_id"), fx_text(lines.schema) if "fx_rate" in lines.columns else None)
    commission = commission_explanation(credited, rate, pl.col("tiers"), qm, money("amount"), via)
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
    if "campaign_no" in lines.columns:  # spif lines, and the clawbacks of spif lines
        explanations["spif"] = spif_text(_scale(lines, "rate"))
        explanations["clawback"] = pl.when(pl.col("reference").is_null()).then(claw).otherwise(spif_clawback_text())
    if "override_net" in lines.columns:
        explanations["override"] = override_text(getattr(lines.schema["override_net"], "scale", 0) or 0, "override_currency" in lines.columns)
    if "restatement_due" in lines.columns:
        explanations["restatement"] = restatement_text()
    tiers = tier_pieces_text(lines) if any(c.startswith("tier_piece_") for c in lines.columns) else pl.lit(None, dtype=pl.String)
    # each kind's explanation made on its own lines only (a chain of when/then would format every
    # kind's text on every line), then the lines put back in their order
    explained = [k for k in explanations if k in kinds]
    lines = lines.lazy().with_row_index("_row").with_columns(tiers=tiers)
    parts = [lines.filter(pl.col("kind") == k).with_columns(explanation=explanations[k]) for k in explained]
    parts.append(lines.filter(~pl.col("kind").is_in(explained)).with_columns(explanation=pl.lit(None, dtype=pl.String)))
    return pl.concat(parts).sort("_row").select(*LINE_COLUMNS, *keep).collect()


def _scale(frame: pl.DataFrame, column: str) -> int:
    dtype = frame.schema[column]
    return dtype.scale if isinstance(dtype, pl.Decimal) else 0


def manifest(result: RunResult, plans: PlanSet, inputs: Inputs, payouts: pl.DataFrame, data_until: date | None) -> dict:
    """Plan versions and file hashes, input hashes and row counts, totals, tool version; the latest
    date in the data and whether the period ends after it (run with --allow-incomplete). No clock."""
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
        "closed_periods": [
            {"period": c.period.label, "payouts.csv": c.payouts_sha256, "verified": c.verified}
            for c in (result.closed.periods if result.closed else [])
        ],
        "totals": currency_totals(payouts, TOTAL_COLUMNS),
    }


# the manifest's totals: every money column of payouts.csv, and credited
TOTAL_COLUMNS = ["credited", *[c for c in PAYOUT_COLUMNS if c in PAYOUT_MONEY and c != "quota"]]


def currency_totals(payouts: pl.DataFrame, columns: list[str]) -> dict[str, dict]:
    """Per currency of the reps' plans (in code order): `reps` (rows) and the sum of each column.
    Amounts of different currencies are never added together (SPEC 6.4)."""
    if not payouts.height:
        return {}
    sums = (
        payouts.with_columns(pl.col("currency").fill_null(""))
        .group_by("currency")
        .agg(reps=pl.len(), *[pl.col(c).sum() for c in columns])
        .sort("currency")
    )
    return {r.pop("currency"): {"reps": r.pop("reps"), **r} for r in sums.to_dicts()}


class _Hashed:
    """lines.csv, hashed as it is made: written straight into its file (`write_to`, a
    `writer.Streamed`: the CSV of each piece goes to the file in chunks, never held whole as
    bytes), or read as pieces of bytes. `sha256()` asked before the file is written makes the
    bytes first and keeps them for writing."""

    def __init__(self, pieces: Iterator[pl.DataFrame]):
        self._pieces, self._kept, self._digest, self._done = pieces, None, hashlib.sha256(), False

    def write_to(self, out: BinaryIO) -> None:
        if self._kept is not None or self._done:
            for piece in self:
                out.write(piece)
            return
        hashing = _Digesting(out, self._digest)
        for i, piece in enumerate(self._pieces):
            write_csv(piece, hashing, header=i == 0)
        self._done = True

    def __iter__(self) -> Iterator[bytes]:
        if self._kept is not None or self._done:
            yield from self._kept or ()
            return
        for i, piece in enumerate(self._pieces):
            data = to_csv_bytes(piece, header=i == 0)
            self._digest.update(data)
            yield data
        self._done = True

    def sha256(self) -> str:
        if not self._done:
            self._kept = list(self)
        return self._digest.hexdigest()


class _Digesting:
    """A binary file object's `write` that hashes what it writes."""

    def __init__(self, out: BinaryIO, digest):
        self._out, self._digest = out, digest

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return self._out.write(data)

    def flush(self) -> None:
        pass


class _Later:
    """A file whose bytes are made when it is written (after the files it records)."""

    def __init__(self, make: Callable[[], bytes]):
        self._make = make

    def __iter__(self) -> Iterator[bytes]:
        yield self._make()


def period_files(
    result: RunResult, plans: PlanSet, inputs: Inputs, problems: list[Diagnostic], data_until: date | None
) -> dict[str, bytes | Iterator[bytes]]:
    """The period folder's files. The manifest records the sha256 of payouts.csv and lines.csv
    (`outputs`): the record of what was paid that a later run checks (`comp_calc.data.closed`);
    lines.csv, written in pieces, is hashed on the way to disk."""
    payouts = payouts_frame(result)
    payouts_csv = render_csv(payouts, PAYOUT_MONEY, PAYOUT_EXACT)
    lines = _Hashed(lines_pieces(result))

    def manifest_json() -> bytes:
        record = manifest(result, plans, inputs, payouts, data_until)
        record["outputs"] = {"lines.csv": lines.sha256(), "payouts.csv": hashlib.sha256(payouts_csv).hexdigest()}
        return render_json(record)

    return {
        "payouts.csv": payouts_csv,
        "lines.csv": lines,
        "exceptions.csv": render_csv(exceptions_frame(problems), set(), set()),
        "manifest.json": _Later(manifest_json),
    }


def joined(files: dict[str, bytes | Iterator[bytes]]) -> dict[str, bytes]:
    """`files` with every file in pieces joined into one bytes object (for comparing runs)."""
    return {name: data if isinstance(data, bytes) else b"".join(data) for name, data in files.items()}
