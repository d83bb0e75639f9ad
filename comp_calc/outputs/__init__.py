"""Output files of a run: CSV number format, JSON, and the period folder."""

from comp_calc.outputs.csvfmt import format_frame, to_csv_bytes
from comp_calc.outputs.writer import (
    exceptions_frame,
    render_csv,
    render_json,
    safe_file_stem,
    write_period,
)

__all__ = [
    "exceptions_frame",
    "format_frame",
    "render_csv",
    "render_json",
    "safe_file_stem",
    "to_csv_bytes",
    "write_period",
]
