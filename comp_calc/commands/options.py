"""Command-line options shared by every command, declared once."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class AlignmentFormat(str, Enum):
    table = "table"
    json = "json"
    html = "html"


class By(str, Enum):
    team = "team"
    manager = "manager"


PlansOpt = Annotated[Path, typer.Option("--plans", help="Folder of plan YAML files.")]
DataOpt = Annotated[Path, typer.Option("--data", help="Folder of input CSV or Parquet files (reps, sales, feedback, contacts).")]
PeriodOpt = Annotated[
    str | None, typer.Option("--period", help="2026-10 (month) or 2026-Q4 (quarter). Default: latest complete period in the data.")
]
FormatOpt = Annotated[Format, typer.Option("--format", help="table (for people), json or csv (for scripts).")]
IncompleteOpt = Annotated[
    bool,
    typer.Option(
        "--allow-incomplete",
        help="Run a period that ends after the latest date in the data (refused otherwise: its data may be incomplete).",
    ),
]
MapOpt = Annotated[
    Path | None,
    typer.Option(
        "--map",
        help="A column mapping (YAML) that reads CRM exports as the input files. "
        "Default: mapping.yaml in the data folder, if there is one; --map wins over it.",
    ),
]
SkipOpt = Annotated[bool, typer.Option("--skip-invalid", help="Run without bad input rows, as `run --skip-invalid` does.")]
