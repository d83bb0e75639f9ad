"""The kinds of line (SPEC 4 and 6.4), in their order within a rep, and the payouts column
each adds up to. The engine's line order, the self-reconciliation, the balance input
and the writers all read this one list, so a new component adds its kind here and
its step module, nothing else.

`carry` adds up to `carry_in`; every other kind's lines add up to its own column. The
balance (step 7) nets the kinds of `BALANCE_KINDS`: every kind before `carry`.
A kind whose component is not built yet has no lines, so its column is 0.00.
"""

from __future__ import annotations

LINE_KINDS = (
    "commission", "spif", "outcome_bonus", "activity_bonus", "override", "cap",
    "clawback", "holdback", "release", "carry", "draw", "restatement",
)  # fmt: skip

# the payouts column each kind's lines add up to
COLUMN = {
    "commission": "earned",
    "spif": "spifs",
    "outcome_bonus": "outcome_bonus",
    "activity_bonus": "activity_bonus",
    "override": "overrides",
    "cap": "cap_adjustment",
    "clawback": "clawbacks",
    "holdback": "holdback",
    "release": "released",
    "carry": "carry_in",
    "draw": "draw",
    "restatement": "restatement",
}

ORDER = {kind: i for i, kind in enumerate(LINE_KINDS)}  # a line's place within its rep, by kind

BALANCE_KINDS = LINE_KINDS[: LINE_KINDS.index("carry")]  # step 7: net = these + carry_in

# section 6 columns that a component fills from its lines (the section 4 ones come from steps 1-7)
SECTION6_COLUMNS = tuple(COLUMN[k] for k in LINE_KINDS if COLUMN[k] not in ("earned", "cap_adjustment", "clawbacks", "carry_in"))
