"""Step 6b, holdback (SPEC 6.3): long-term pay; part of each commission waits for the customer to stay.

For each commission line with amount A under a plan version with `holdback`:
H = round(share * A) (the version's rounding). When H != 0 the line gives a
`holdback` line of -H in its own period, and a `release` line of +H in the period
(of the rep's kind) that holds the release day `sold_on + release_after_days`,
unless the sale's `cancelled_on` is on or before the release day: then H is
forfeited and no release line is ever written. A held part counts as released
only after its release day. A release still reaches a rep who has left. A
release day after the run's last period is not reached yet: the part is still
held. Holdbacks are taken from the commission lines as computed, before the cap
(the cap, step 5, caps commission lines only).

Step 6 reads the held part too (`with_held`): a cancelled commission line's
clawback base is A minus the held part not yet released on `cancelled_on`,
that is A - H when `cancelled_on <= release day`, else A.

Example: share 0.25, release_after_days 180; a commission of 400.00 on a sale of
2026-03-31: H = 100.00, a holdback line of -100.00 in 2026-03 and, the release day
being 2026-09-27, a release line of +100.00 in 2026-09. Cancelled on 2026-09-27:
forfeited (no release); cancelled on 2026-09-28: released on the 27th, the
clawback base is the full 400.00.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from comp_calc.steps.clawback import period_start
from comp_calc.steps.exact import MONEY, dec, round_to
from comp_calc.steps.params import HOLDBACK_SCALE

KINDS = ("holdback", "release")


def _terms(versions: pl.DataFrame) -> pl.DataFrame:
    """pv, hb_share, hb_days of the plan versions with a holdback (often none)."""
    return versions.filter(pl.col("hb_share").is_not_null()).select("pv", "hb_share", "hb_days")


def _held(commissions: pl.LazyFrame, terms: pl.DataFrame, how: str) -> pl.LazyFrame:
    """`commissions` (with `how="left"` all of them, `"inner"` those under a holdback) with
    `held_share` (null: no holdback), `held` (H, null without a holdback), `release_on`
    (sold_on + release_after_days) and `forfeited` (cancelled on or before it).
    `commissions` needs pv, rounding, amount, sold_on, cancelled_on; `terms` is `_terms`."""
    w = dec(2 + HOLDBACK_SCALE)  # share * a cent amount, exact
    if how == "inner":  # the lines of other versions leave first: what the lines compute (say
        # their Decimals) is then computed for the held lines alone
        commissions = commissions.filter(pl.col("pv").is_in(terms["pv"].implode()))
    return (
        commissions.join(terms.lazy(), on="pv", how=how, maintain_order="left")
        .with_columns(
            held=round_to(pl.col("hb_share").cast(w) * pl.col("amount").cast(w), 2, pl.col("rounding")).cast(MONEY),
            release_on=pl.col("sold_on") + pl.duration(days=pl.col("hb_days")),
        )
        .with_columns(forfeited=(pl.col("cancelled_on") <= pl.col("release_on")).fill_null(False))
        .rename({"hb_share": "held_share"})
        .drop("hb_days")
    )


def with_held(commissions: pl.LazyFrame, versions: pl.DataFrame) -> pl.LazyFrame:
    """`commissions` with `held`: the part of each line still held on its `cancelled_on`
    (H when cancelled on or before the release day, else 0; 0 without a holdback or a
    cancellation), which step 6 subtracts from the clawback base."""
    zero = pl.lit(0, dtype=MONEY)
    terms = _terms(versions)
    if not terms.height:
        return commissions.with_columns(held=zero)
    names = commissions.collect_schema().names()
    return (
        _held(commissions, terms, "left")
        .with_columns(held=pl.when(pl.col("forfeited")).then(pl.col("held").fill_null(zero)).otherwise(zero))
        .select(*names, "held")
    )


# the columns a holdback or release line carries from its commission line
LINE_COLUMNS = ["line_no", "rep_id", "rep_no", "sale_id", "role", "product", "credited", "sold_on", "cancelled_on"]


def holdback_lines(
    commissions: pl.LazyFrame, versions: pl.DataFrame, period_kind: str, last: date, text: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None
) -> pl.LazyFrame:
    """The holdback and release lines of `commissions` (rep_id, rep_no, p_start, kind, amount,
    line_no, the sale's columns, and for the explanation `held_share`, `original_amount` (A),
    `original_start` (the commission line's period), `release_on`, `forfeited`). Release lines
    are placed in the period of `period_kind` ("month" or "quarter") holding the release day, and only up to the period
    starting on `last` (later ones are not reached yet).

    `text`, when the commission lines carry their text as a lookup (the engine's `sale`), adds
    it to the lines held back (rather than to every commission line)."""
    held = (
        _held(commissions, _terms(versions), "inner")
        .filter(pl.col("held") != 0)
        .with_columns(
            original_amount=pl.col("amount"), original_start=pl.col("p_start"), release_start=period_start(pl.col("release_on"), period_kind)
        )
    )
    if text is not None:
        held = text(held)
    detail = [*LINE_COLUMNS, "held_share", "original_amount", "original_start", "release_on", "forfeited"]
    hold = held.select(*detail, "p_start", kind=pl.lit(KINDS[0]), amount=-pl.col("held"))
    release = held.filter(~pl.col("forfeited") & (pl.col("release_start") <= last)).select(
        *detail, p_start=pl.col("release_start"), kind=pl.lit(KINDS[1]), amount=pl.col("held")
    )
    return pl.concat([hold, release])


def per_rep_period(lines: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (rep_no, p_start, kind) of `lines` (see `holdback_lines`): `amount`, the sum of
    the kind's lines, and `lines`, their count: what the balance and the payouts row need of
    periods whose lines a streaming run does not keep."""
    return lines.group_by("rep_no", "p_start", "kind").agg(pl.col("amount").sum().cast(MONEY), lines=pl.len())
