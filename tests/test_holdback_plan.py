"""The `holdback` plan key (SPEC 6.2): loaded exactly, every mistake named with its line and key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from comp_calc.plan.model import Holdback
from comp_calc.plan.load import parse_plan
from test_plan_load import plus, problems

HOLDBACK = "holdback:\n  share: 0.25\n  release_after_days: 180\n"


def test_holdback_loads_exactly():
    plan, diagnostics = parse_plan(plus(HOLDBACK), "p.yaml")
    assert diagnostics == []
    assert plan.holdback == Holdback(Decimal("0.25"), 180)
    assert plan.holdback.share.as_tuple() == Decimal("0.25").as_tuple()  # as written, never through a float


CASES = {
    "share 0": (HOLDBACK.replace("0.25", "0"), [("holdback.share", "out-of-range")]),
    "share 1": (HOLDBACK.replace("0.25", "1"), [("holdback.share", "out-of-range")]),
    "share above 1": (HOLDBACK.replace("0.25", "1.5"), [("holdback.share", "out-of-range")]),
    "share too precise": (HOLDBACK.replace("0.25", "0.1234567"), [("holdback.share", "too-precise")]),
    "release after 0 days": (HOLDBACK.replace("180", "0"), [("holdback.release_after_days", "out-of-range")]),
    "release after a fraction of days": (HOLDBACK.replace("180", "1.5"), [("holdback.release_after_days", "wrong-type")]),
    "missing share": ("holdback:\n  release_after_days: 180\n", [("holdback.share", "missing-key")]),
    "missing days": ("holdback:\n  share: 0.25\n", [("holdback.release_after_days", "missing-key")]),
    "unknown key": (HOLDBACK + "  forfeit: true\n", [("holdback.forfeit", "unknown-key")]),
    "not a mapping": ("holdback: 0.25\n", [("holdback", "wrong-type")]),
}


@pytest.mark.parametrize("extra, expected", CASES.values(), ids=CASES.keys())
def test_holdback_rule(extra, expected):
    text = plus(extra)
    found = problems(text)
    assert [(column, code) for _, column, code in found] == expected
    # on the line of its key; a missing key on the first line of the holdback mapping
    lines = text.splitlines()
    key = expected[0][0].rsplit(".", 1)[-1]
    mapping = lines.index(next(x for x in lines if x.startswith("holdback:"))) + 1
    where = mapping + 1 if expected[0][1] == "missing-key" else max(i + 1 for i, x in enumerate(lines) if x.lstrip().startswith(f"{key}:"))
    assert found[0][0] == where


def test_every_holdback_mistake_of_a_file_comes_at_once():
    text = plus("holdback:\n  share: 1\n  release_after_days: 0\n  forfeit: true\n")
    assert sorted(c for _, c, _ in problems(text)) == ["holdback.forfeit", "holdback.release_after_days", "holdback.share"]


def test_diff_names_holdback_changes_in_words():
    from comp_calc.diff.rules import diff_plans

    old, new = parse_plan(plus(""), "a.yaml")[0], parse_plan(plus(HOLDBACK), "b.yaml")[0]
    assert [c.sentence for c in diff_plans(old, new).changes] == [
        "added holdback: 25% of each commission held back, released after 180 days"
    ]
    assert [c.sentence for c in diff_plans(new, old).changes] == [
        "removed holdback: 25% of each commission held back, released after 180 days"
    ]
    changed = parse_plan(plus(HOLDBACK.replace("0.25", "0.125").replace("180", "90")), "c.yaml")[0]
    assert [(c.path, c.sentence) for c in diff_plans(new, changed).changes] == [
        ("holdback.share", "holdback share: 25% -> 12.5%"),
        ("holdback.release_after_days", "holdback released after (days): 180 -> 90"),
    ]
    assert all(c.category == "direct" for c in diff_plans(new, changed).changes)
