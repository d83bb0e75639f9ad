"""How a run keeps its lines (`engine.RunResult`): the commission lines apart, and the other
kinds' lines in parts that hold only their own columns, read as one frame when asked."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import PLANS, SAMPLE

from comp_calc.pipeline import stages

# the shipped sample: a monthly run (spifs, outcome and activity bonuses, overrides, clawbacks,
# a carry) and a quarterly one (the branch plan's holdbacks and releases, a draw)
WANTED = {"2026-10": {"spif", "clawback", "override", "carry"}, "2026-Q3": {"holdback", "release", "draw", "clawback"}}


@pytest.mark.parametrize("period", sorted(WANTED))
def test_the_other_kinds_lines_are_parts_of_their_own_columns_read_as_one(period: str):
    result = stages.run(stages.prepare(PLANS, SAMPLE, period, False))
    parts = [part for part in result.other_lines if part.height]
    for part in parts:
        kinds = set(part["kind"])
        # holdback and release lines (at scale the most numerous of the other lines) are a part of
        # their own: no line of another kind carries their columns, nor they another kind's
        assert ("held_share" in part.columns) == bool(kinds & {"holdback", "release"})
        assert kinds <= {"holdback", "release"} or not kinds & {"holdback", "release"}
    every = result.scan_other_lines().collect()
    assert every.height == sum(part.height for part in parts)
    assert WANTED[period] <= set(every["kind"])
    # one frame with every part's columns, empty where a part has none
    assert set(every.columns) == {c for part in result.other_lines for c in part.columns}


def test_a_commission_lines_quality_multiplier_is_its_rep_periods_looked_up_by_position():
    # the lines do not store it: RunResult.quality_multiplier finds the rep-period's row of the grid by
    # position; a join on (rep_no, p_start) must give the same, 1 where the rep-period has none.
    # The monthly run computes every month of the data (12 periods, 35 reps), several multipliers.
    result = stages.run(stages.prepare(PLANS, SAMPLE, "2026-10", False))
    assert "quality_multiplier" not in result.commission_lines.columns
    lines = result.scan_lines().filter(pl.col("kind") == "commission").select("rep_no", "p_start", "quality_multiplier").collect()
    one = pl.lit(1, dtype=result.grid.schema["quality_multiplier"])
    grid = result.grid.select("rep_no", "p_start", expected=pl.col("quality_multiplier").fill_null(one))
    joined = lines.join(grid, on=["rep_no", "p_start"], how="left")
    assert lines.height > 100 and joined.height == lines.height
    assert joined.schema["quality_multiplier"] == joined.schema["expected"]
    assert (joined["quality_multiplier"] == joined["expected"]).all()
    assert joined["quality_multiplier"].n_unique() > 1  # not one value everywhere: the lookup is exercised
