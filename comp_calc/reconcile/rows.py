"""Every input row is accounted for: used, rejected or ignored, exactly once."""

from __future__ import annotations

import polars as pl

from comp_calc.data.files import file_name
from comp_calc.data.model import ROW_DATE, Inputs
from comp_calc.engine import RunResult
from comp_calc.errors import ReconciliationError


def account_rows(inputs: Inputs, result: RunResult) -> dict[str, dict[str, int]]:
    """Every input row is used, rejected or ignored, exactly once; raises `ReconciliationError` if not.

    Per input: `read` (records in the file), `rejected` (rows with a problem),
    `ignored` (dated after the period), `used` (the rest). Checked from
    independent sources: the rejected rows are the distinct lines named by the
    problems of that file, the used rows are the kept rows dated within the run,
    and the ignored count is the engine's. The kept and rejected lines must not
    overlap, and read == used + rejected + ignored.
    """
    problems = pl.DataFrame(
        {"file": [d.file for d in inputs.problems], "line": [d.line for d in inputs.problems]},
        schema={"file": pl.String, "line": pl.Int64},
    )
    counts: dict[str, dict[str, int]] = {}
    failures: list[str] = []
    for table in inputs.tables():
        name = file_name(table.name, table.path)
        rejected_lines = problems.filter(pl.col("file") == name)["line"]
        # the rows dated within the run (rows dated after the period are ignored; reps rows are all used)
        dated = table.scan(until=result.period.end) if table.name in ROW_DATE else table.scan()
        used = int(dated.select(pl.len()).collect().item())
        kept_lines = table.scan().select("line").collect().to_series()
        row = {
            "read": table.rows_read,
            "used": used,
            "rejected": rejected_lines.n_unique(),
            "ignored": result.ignored.get(table.name, 0),
        }
        counts[table.name] = row
        if row["read"] != row["used"] + row["rejected"] + row["ignored"]:
            failures.append(
                f"{name}: {row['read']} rows read but {row['used']} used + {row['rejected']} rejected"
                f" + {row['ignored']} ignored"
            )
        if row["rejected"] != table.rows_rejected:
            failures.append(f"{name}: {row['rejected']} rows have problems but {table.rows_rejected} were rejected")
        if rejected_lines.null_count() or kept_lines.null_count() or kept_lines.n_unique() != kept_lines.len():
            failures.append(f"{name}: rows without a line number or kept twice")
        elif kept_lines.is_in(rejected_lines.drop_nulls().implode()).any():
            failures.append(f"{name}: rows both rejected and used")
    if failures:
        raise ReconciliationError("; ".join(failures))
    return counts
