"""How a run keeps its lines (`engine.RunResult`): the commission lines apart, and the other
kinds' lines in parts that hold only their own columns, read as one frame when asked."""

from __future__ import annotations

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
