"""Self-reconciliation: the run's own invariants, checked before anything is written.

A failure is a bug in this tool, never a user mistake, and raises
`comp_calc.errors.ReconciliationError`. `lines`: per rep and period, the lines
against the payouts row (run by the engine); `rows`: every input row used,
rejected or ignored (run before the period's files are written).
"""
