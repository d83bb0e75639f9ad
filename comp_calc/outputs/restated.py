"""What the restatement of a rep's closed periods consists of, in words: per closed period
whose payout differs, what was paid (recorded), what today's data and plans give
(recomputed), the difference, and why: the recorded lines.csv of the period against the
recomputed lines, by sale_id (sales added or removed, cancellations, amounts changed, or
the same sales priced differently: plan rules changed) and by the other kinds of line.

Read by `explain` and the statements; a handful of lines per rep and period, compared in
plain Python (presentation, not calculation).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from comp_calc.data.closed import read_lines
from comp_calc.engine import RunResult
from comp_calc.outputs.lines import period_lines
from comp_calc.outputs.numbers import money


@dataclass(frozen=True)
class RestatedPeriod:
    period: str
    recorded: Decimal  # the payout paid (its payouts.csv; 0 for a rep without a row)
    recomputed: Decimal  # the payout today's data and plans give, without restatement
    difference: Decimal
    why: str

    @property
    def sentence(self) -> str:
        sign = "+" if self.difference > 0 else ""
        return (
            f"{self.period}: paid {money(self.recorded)}, recomputed {money(self.recomputed)}, "
            f"difference {sign}{money(self.difference)}: {self.why}"
        )

    def as_dict(self) -> dict:
        return {
            "period": self.period, "recorded": money(self.recorded), "recomputed": money(self.recomputed),
            "difference": money(self.difference), "why": self.why,
        }  # fmt: skip


def restated_periods(result: RunResult, rep_ids: list[str] | None = None) -> dict[str, tuple[RestatedPeriod, ...]]:
    """rep_id -> its closed periods whose recomputed payout differs from the recorded one, in order
    (only reps of `rep_ids` when given)."""
    if result.closed is None or not result.closed.periods:
        return {}
    differ = result.grid.filter(pl.col("restatement_recorded").is_not_null() & (pl.col("restatement_difference") != 0))
    if rep_ids is not None:
        differ = differ.filter(pl.col("rep_id").is_in(rep_ids))
    out: dict[str, list[RestatedPeriod]] = {}
    for closed in result.closed.periods:
        label = closed.period.label
        rows = differ.filter(pl.col("period") == label).sort("rep_id").to_dicts()  # the reps with a difference
        if not rows:
            continue
        reps = [r["rep_id"] for r in rows]
        paid = read_lines(closed, reps)
        now = period_lines(result, label).filter(pl.col("rep_id").is_in(reps)) if result.complete else None
        for r in rows:
            rep = r["rep_id"]
            why = _why(
                None if paid is None else paid.filter(pl.col("rep_id") == rep), None if now is None else now.filter(pl.col("rep_id") == rep), label
            )
            out.setdefault(rep, []).append(
                RestatedPeriod(label, r["restatement_recorded"], r["payout"], r["restatement_difference"], why)
            )
    return {rep: tuple(periods) for rep, periods in out.items()}


def _by_sale(lines: pl.DataFrame) -> dict[str, tuple[Decimal, Decimal, bool]]:
    """sale_id -> (credited of its commission lines, sum of its line amounts, whether clawed back)."""
    out: dict[str, tuple[Decimal, Decimal, bool]] = {}
    for line in lines.filter(pl.col("sale_id").is_not_null()).select("sale_id", "kind", "credited", "amount").to_dicts():
        credited, amount, clawed = out.get(line["sale_id"], (Decimal(0), Decimal(0), False))
        if line["kind"] == "commission":
            credited += line["credited"] or Decimal(0)
        out[line["sale_id"]] = (credited, amount + (line["amount"] or Decimal(0)), clawed or line["kind"] == "clawback")
    return out


def _by_kind(lines: pl.DataFrame) -> dict[str, Decimal]:
    """kind -> the sum of the lines without a sale (cap, carry, bonuses, draw, ...)."""
    out: dict[str, Decimal] = {}
    for line in lines.filter(pl.col("sale_id").is_null()).select("kind", "amount").to_dicts():
        out[line["kind"]] = out.get(line["kind"], Decimal(0)) + (line["amount"] or Decimal(0))
    return out


def _why(paid: pl.DataFrame | None, now: pl.DataFrame | None, label: str) -> str:
    if paid is None:
        return f"the paid lines.csv of {label} is missing or was changed, so the lines cannot be compared"
    if now is None:
        return "the lines are not compared in a streaming run"
    before, after = _by_sale(paid), _by_sale(now)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    both = sorted(s for s in set(before) & set(after) if before[s] != after[s])
    cancelled = [s for s in both if after[s][2] and not before[s][2]]
    amounts = [s for s in both if s not in cancelled and before[s][0] != after[s][0]]
    repriced = [s for s in both if s not in cancelled and s not in amounts]
    parts = []
    if added:
        parts.append(f"sales added: {', '.join(added)}")
    if removed:
        parts.append(f"sales removed: {', '.join(removed)}")
    if cancelled:
        parts.append(f"cancellations reported since: {', '.join(cancelled)}")
    if amounts:
        parts.append(f"amounts changed: {', '.join(amounts)}")
    if repriced:
        parts.append(f"plan rules changed: the same sales price differently ({', '.join(repriced)})")
    kinds_before, kinds_after = _by_kind(paid), _by_kind(now)
    other = sorted(k for k in set(kinds_before) | set(kinds_after) if kinds_before.get(k, 0) != kinds_after.get(k, 0))
    if other:
        parts.append(f"other lines changed: {', '.join(other)}")
    return "; ".join(parts) or "the same lines as paid"
