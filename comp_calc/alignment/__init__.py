"""Does the plan pay for what the customer values? The `alignment` report.

From the same inputs and the run's results, per rep, team and plan, for the
requested period and the trailing periods up to it (12 by default, fewer when
the run has fewer):

- outcome share of pay: how much pay moved because of customer-outcome terms
  (quality multiplier, clawbacks, relationship credit) against pure volume;
- mis-selling: early cancellations against the rest of the team;
- contact-quota gaming: who is contacted (customer value) and whether a
  purchase follows;
- pay versus satisfaction: payouts against CSAT and NPS;
- survey health: multipliers resting on too few answers, and answer patterns
  that look arranged.

Each rule is judged on the requested period and on the trailing window, and
each flag names its `window` ("period" or "trailing"; the quality multiplier
check, `thin_survey`, looks at the multiplier paid in the period, and flags it
only when a band edge lies inside the Wilson interval) and states its rule and
numbers in `reason`. Everything is polars expressions over whole frames; the
only floats are statistics (rank correlations, the Wilson interval) and chart
geometry, never money. Money stays Decimal; rule comparisons on counts and
amounts are exact (cross-multiplied), ratios are shown with 4 decimals.

The package: `metrics` (windows; per rep, team and plan; survey health),
`flags` (the five rules and their thresholds, `Rules`), `report` (`analyze`
composes the two; the JSON document), `page` (the HTML page with its charts),
`exact` (exact comparisons and ratios) and `text` (money, decimals and
percentages as text).
"""

from comp_calc.alignment.flags import SIGNALS, Rules
from comp_calc.alignment.metrics import Window, WindowMetrics
from comp_calc.alignment.report import AlignmentReport, analyze, json_frame, to_json
from comp_calc.alignment.text import trim

__all__ = ["SIGNALS", "AlignmentReport", "Rules", "Window", "WindowMetrics", "analyze", "json_frame", "to_json", "trim"]
