"""The input files of a data directory: finding them, reading their bytes, and `Raw`,
what a file gives once read (CSV: `comp_calc.data.csv_text`; Parquet:
`comp_calc.data.parquet`), before the row rules.

The file-level problems found here (`missing-dir`, `not-a-directory`,
`unreadable`, `missing-file`, `ambiguous-file`, `is-a-directory`) are listed
with every other code in `comp_calc.data.load`.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from comp_calc.data.contract import FORMATS
from comp_calc.data.model import REQUIRED_FILES
from comp_calc.errors import Diagnostic, InputError

if TYPE_CHECKING:
    from comp_calc.data.mapping import InputMap


def file_name(name: str, path: str | Path | None = None) -> str:
    """How diagnostics name an input file: `path` as the user can open it, the data directory as
    given on the command line joined with the file name (`exports/2026-10/sales.csv`, absolute
    when the directory was given absolutely); `sales.csv` without a path."""
    return str(path) if path else f"{name}.csv"


@dataclass


class Raw:
    """One file as untyped, trimmed strings, before row rules."""

    name: str
    path: str
    sha256: str
    # required columns as String, `line` (Int64) and, only when some record's
    # field count differs from the header's, `_ragged` (Int64: that count, else null)
    frame: pl.DataFrame
    width: int = 0  # number of fields in the header (CSV)
    controls: bool = True  # false: no cell holds a control character (checked on the bytes)
    mapping: InputMap | None = None  # the file is a CRM export read through this mapping

    @property
    def file(self) -> str:
        return file_name(self.name, self.path)


def check_dir(data_dir: str | Path) -> Path:
    """The data directory, or `InputError` if it is missing, not a directory or cannot be read
    (the same codes as for the plans directory, `comp_calc.plan.load`)."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise InputError(Diagnostic(str(data_dir), None, None, "missing-dir", "data directory does not exist"))
    if not data_dir.is_dir():
        raise InputError(
            Diagnostic(str(data_dir), None, None, "not-a-directory", "data path is a file, not a directory")
        )
    try:
        next(data_dir.iterdir(), None)
        if not os.access(data_dir, os.X_OK):  # listed but its files cannot be opened
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as exc:
        message = f"cannot read the data directory: {exc.strerror or exc}"
        raise InputError(Diagnostic(str(data_dir), None, None, "unreadable", message)) from None
    return data_dir


def find_file(data_dir: Path, name: str, mapping: InputMap | None = None) -> tuple[Path | None, list[Diagnostic]]:
    """The input file of `name` (.csv or .parquet); None when it is absent (an error if required).
    A `mapping` that names the export's `file` must find it."""
    if mapping is not None and mapping.file is not None:
        path = data_dir / mapping.file
        if path.exists():
            return path, []
        line = mapping.lines.get("file")
        return None, [Diagnostic(mapping.source, line, f"{name}.file", "missing-file",
                                 f"the {name} export {mapping.file} is not in {data_dir}")]
    present = [data_dir / f"{name}{suffix}" for suffix in FORMATS if (data_dir / f"{name}{suffix}").exists()]
    if len(present) > 1:
        names = " and ".join(p.name for p in present)
        return None, [Diagnostic(file_name(name, present[0]), None, None, "ambiguous-file",
                                 f"both {names} exist; keep only one of them")]
    if not present:
        if name in REQUIRED_FILES:
            return None, [Diagnostic(file_name(name, data_dir / f"{name}.csv"), None, None, "missing-file",
                                     f"required file is missing from {data_dir}")]
        return None, []
    return present[0], []


def not_a_file(path: Path) -> Diagnostic | None:
    """The problem with reading `path` as an input file, if it is a directory."""
    if not path.is_dir():
        return None
    kind = "a Parquet" if path.suffix == ".parquet" else "a CSV"
    return Diagnostic(file_name(path.stem, path), None, None, "is-a-directory", f"is a directory, not {kind} file")


def unreadable(path: Path, exc: OSError) -> Diagnostic:
    return Diagnostic(file_name(path.stem, path), None, None, "unreadable", f"cannot read the file: {exc.strerror or exc}")


def read_bytes(path: Path, fname: str) -> tuple[bytes | None, list[Diagnostic]]:
    if problem := not_a_file(path):
        return None, [problem]
    try:
        return path.read_bytes(), []
    except OSError as exc:
        return None, [unreadable(path, exc)]
