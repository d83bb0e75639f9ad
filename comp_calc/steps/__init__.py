"""The calculation steps of SPEC section 3, one small module each.

credit -> attainment -> rate -> quality -> cap -> clawback -> balance; beside them
`rep_periods` (the rep x period grid the steps fill), `params` (plan versions as
small tables) and `exact` (exact decimal arithmetic). `comp_calc.engine` composes
them; it holds no arithmetic of its own.

The contract of a step function:
- In: frames with named columns (each function's docstring names those it reads),
  plan tables from `params` and the run's `Scales`.
- Out: either polars expressions that compute named columns (`cap.cap_adjustment`,
  `quality.line_commission`), or a frame: its input with named columns added, or a
  new frame per line or per rep and period (`clawback.clawback_lines`, `cap.earned`).
- Lazy in, lazy out, nothing collected, unless the docstring says otherwise. The
  exceptions are eager for speed and say so: `credit.coded_lines` collects the
  sales and contacts of its turn (order check, lookups by position), and
  `credit.unbalanced_sales` returns a count; `attainment.gather_rep_periods` and
  `rate.rate_table`/`rate.rate_rows` take eager frames, because a line finds its
  rep-period and rate rows by position, not by a join; `params` builds its tables
  from the plans eagerly (a handful of rows).
- Money is exact Decimal throughout (a line's pricing may run on integers of known scale,
  `exact.pricing_units`, and hands back the same Decimals); the only rounding of a line is
  `quality.line_commission` (and `clawback` and `spif` round their own lines), as SPEC says.
- Lines carry their sale's row (`sale`) rather than its text; `credit.describe` looks the
  text up, and `holdback` and `spif` take it as a function to apply to the few lines they keep.
- A step never prints, reads no file and builds no text for people: user mistakes
  are found by `comp_calc.data` and `comp_calc.plan`, or after composing
  (`engine._check`); a step raises only `ReconciliationError`, for a broken
  invariant of the run itself. Numbers become text only in `comp_calc.outputs.numbers`.
- Steps import only each other, `comp_calc.periods`, `comp_calc.errors` and
  `comp_calc.plan.model`: never the engine, outputs, commands or the CLI.
"""
