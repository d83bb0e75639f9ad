"""The `manager_id` rules of reps.csv (SPEC 6.1): a rep's manager is another rep, and the
links never loop.

  unknown-manager  manager_id is not a rep_id of reps.csv
  self-manager     manager_id is the rep's own rep_id
  manager-cycle    following manager_id from the rep comes back to it: every rep of
                   the loop is reported, each message naming all of them

The links form a graph where each rep points to at most one manager. Its loops are
found with joins over the small reps table, by doubling: after k rounds each rep knows
the rep 2^k links above it and the smallest rep_id on the way. Once 2^k is at least the
number of reps, every rep's far ancestor lies on a loop (if the chain does not end), and
every rep on a loop is somebody's far ancestor; the smallest rep_id on the way around
names the loop.
"""

from __future__ import annotations

import polars as pl

from comp_calc.data.rules import Rule

CYCLE = "_manager_cycle"  # the reps of the row's loop, sorted and joined by ", " (null: not on a loop)


def manager_rules(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Rule]]:
    """`frame` (reps rows, as text) with the loop column, and the three rules."""
    rep, manager = pl.col("rep_id"), pl.col("manager_id")
    shaped = pl.col("_ragged").is_null() if "_ragged" in frame.columns else pl.lit(True)
    frame = frame.join(_cycles(frame.filter(shaped)), on="rep_id", how="left", maintain_order="left")
    given = shaped & (manager != "")
    known = manager.is_in(frame.filter(shaped)["rep_id"].implode())
    rules = [
        Rule("manager_id", "unknown-manager", given & ~known,
             pl.format("manager_id '{}' is not a rep_id of reps.csv", manager)),
        Rule("manager_id", "self-manager", given & (manager == rep),
             pl.format("rep '{}' cannot be its own manager", rep)),
        Rule("manager_id", "manager-cycle", given & (manager != rep) & pl.col(CYCLE).is_not_null(),
             pl.format("manager_id links loop back to rep '{}': reps {} manage each other in a circle", rep, pl.col(CYCLE))),
    ]  # fmt: skip
    return frame, rules


def _cycles(frame: pl.DataFrame) -> pl.DataFrame:
    """(rep_id, CYCLE) of the reps that lie on a loop of manager_id links (self links left out:
    `self-manager` reports them). The first row of a repeated rep_id stands for it."""
    links = (
        frame.filter(pl.col("rep_id") != "")
        .unique("rep_id", keep="first", maintain_order=True)
        .select("rep_id", up=pl.when((pl.col("manager_id") != "") & (pl.col("manager_id") != pl.col("rep_id"))).then("manager_id"))
    )
    # keep only links to a known rep: a chain through an unknown id ends there
    links = links.with_columns(up=pl.when(pl.col("up").is_in(links["rep_id"].implode())).then("up"))
    # hop: the rep 2^k links above; least: the smallest rep_id among the rep and the 2^k - 1 above it
    jumps = links.select("rep_id", hop=pl.col("up"), least=pl.col("rep_id"))
    steps = 1
    while steps < max(links.height, 1):
        ahead = jumps.select(hop=pl.col("rep_id"), far=pl.col("hop"), far_least=pl.col("least"))
        jumps = jumps.join(ahead, on="hop", how="left", maintain_order="left").select(
            "rep_id", hop=pl.col("far"), least=pl.min_horizontal("least", pl.when(pl.col("hop").is_not_null()).then("far_least"))
        )
        steps *= 2
    # 2^k >= the number of reps >= a loop's length: a loop member's `least` spans its whole loop
    on_loop = jumps.select(rep_id=pl.col("hop")).drop_nulls().unique()
    named = jumps.join(on_loop, on="rep_id", how="semi").select("rep_id", loop=pl.col("least"))
    members = named.group_by("loop").agg(pl.col("rep_id").sort().str.join(", ").alias(CYCLE))
    return named.join(members, on="loop").select("rep_id", CYCLE)
