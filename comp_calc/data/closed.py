"""Closed periods: the period folders already written under `--out`, read back as what was paid.

A period folder (`OUT/2026-01/`, `OUT/2026-Q1/`) that holds a `manifest.json` is closed: it
was paid. Its manifest records the sha256 of the `payouts.csv` beside it (`outputs`); a
payouts.csv that no longer matches is refused (paid records were changed), and a manifest
written before that record existed is trusted as it is, with a warning naming the folder.
`read_closed` returns each closed period's recorded `payout` per rep, for the restatement of
the open period (`comp_calc.steps.restatement`); nothing here computes pay.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from comp_calc.errors import WARNING, Diagnostic, InputError
from comp_calc.periods import Period, parse_period

MANIFEST = "manifest.json"
PAYOUTS = "payouts.csv"
LINES = "lines.csv"
FORMULA_START = ("'=", "'+", "'-", "'@", "'\t", "'\r")  # a text cell neutralised against formulas on writing


@dataclass(frozen=True)
class ClosedPeriod:
    period: Period
    folder: Path
    payouts_sha256: str  # of the payouts.csv as read
    verified: bool  # its manifest records that sha256 (False: a manifest without the record, trusted)


@dataclass
class ClosedPeriods:
    """What the closed periods before a run's period recorded as paid."""

    periods: list[ClosedPeriod] = field(default_factory=list)
    # rep_id, period (label), recorded (the paid payout, Decimal 2), line (in its payouts.csv)
    payouts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RECORDED_SCHEMA))
    warnings: list[Diagnostic] = field(default_factory=list)

    def file(self, label: str) -> str:
        """The payouts.csv of the closed period `label`, as a path to show."""
        return next(str(c.folder / PAYOUTS) for c in self.periods if c.period.label == label)


RECORDED_SCHEMA = {"rep_id": pl.String, "period": pl.String, "recorded": pl.Decimal(38, 2), "line": pl.Int64}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def closed_folders(out: str | Path, kind: str) -> list[tuple[Period, Path]]:
    """The closed period folders of `kind` in `out` (named exactly as a period, holding a
    manifest.json), in period order."""
    found = []
    try:
        entries = list(os.scandir(out))
    except OSError:
        return []
    for entry in entries:
        try:
            period = parse_period(entry.name)
        except ValueError:
            continue
        if period.kind == kind and period.label == entry.name and entry.is_dir() and (Path(entry.path) / MANIFEST).is_file():
            found.append((period, Path(entry.path)))
    return sorted(found)


def later_closed(out: str | Path, period: Period) -> list[Period]:
    """The closed periods of `period`'s kind after it."""
    return [p for p, _ in closed_folders(out, period.kind) if p > period]


def refuse_force_before_closed(out: str | Path, period: Period) -> None:
    """`--force` on a period older than a closed period is refused: later payouts rest on it."""
    later = later_closed(out, period)
    if later:
        message = (
            f"{period} is older than the closed period {later[-1]}: later payouts rest on it, so it cannot be "
            f"replaced. Run the open period instead; it restates what changed in {period}"
        )
        raise InputError(Diagnostic(str(Path(out) / period.label), None, None, "closed-period-later", message))


def read_manifest(folder: Path) -> tuple[dict | None, Diagnostic | None]:
    """The manifest of a period folder, or a diagnostic naming it."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, Diagnostic(str(path), None, None, "bad-manifest", f"cannot read this closed period's manifest: {e}")
    if not isinstance(data, dict):
        return None, Diagnostic(str(path), None, None, "bad-manifest", "not a manifest written by comp-calc")
    return data, None


def recorded_sha256(manifest: dict, name: str) -> str | None:
    outputs = manifest.get("outputs")
    return outputs.get(name) if isinstance(outputs, dict) and isinstance(outputs.get(name), str) else None


def verify(folder: Path) -> tuple[ClosedPeriod | None, list[Diagnostic]]:
    """Check a closed folder's payouts.csv against its manifest: (the closed period, []) when it
    verifies; with a warning when the manifest has no record of it; (None, [error]) otherwise."""
    period = parse_period(folder.name)
    manifest, problem = read_manifest(folder)
    if problem:
        return None, [problem]
    payouts = folder / PAYOUTS
    try:
        actual = sha256_file(payouts)
    except OSError as e:
        return None, [Diagnostic(str(payouts), None, None, "closed-payouts-missing", f"cannot read the paid record: {e.strerror or e}")]
    expected = recorded_sha256(manifest, PAYOUTS)
    if expected is None:
        message = f"{folder}: the manifest does not record the sha256 of payouts.csv (written by an older release); trusted as it is"
        return ClosedPeriod(period, folder, actual, False), [Diagnostic(str(folder), None, None, "closed-unverified", message, WARNING)]
    if expected != actual:
        message = f"paid records were changed: sha256 {actual} differs from {expected} recorded in {folder / MANIFEST}"
        return None, [Diagnostic(str(payouts), None, None, "closed-payouts-changed", message)]
    return ClosedPeriod(period, folder, actual, True), []


def _unescape(column: str) -> pl.Expr:
    """A text cell as it was before formula neutralising (`'-7` was `-7`)."""
    col = pl.col(column)
    return pl.when(col.str.slice(0, 2).is_in(list(FORMULA_START))).then(col.str.slice(1)).otherwise(col)


def read_payouts(closed: ClosedPeriod) -> tuple[pl.DataFrame, list[Diagnostic]]:
    """rep_id, period, recorded, line of a closed period's payouts.csv."""
    path = closed.folder / PAYOUTS
    try:
        frame = pl.read_csv(io.BytesIO(path.read_bytes()), infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as e:
        return pl.DataFrame(schema=RECORDED_SCHEMA), [Diagnostic(str(path), None, None, "bad-closed-payouts", f"cannot read: {e}")]
    missing = [c for c in ("rep_id", "payout") if c not in frame.columns]
    if missing:
        message = f"the paid record has no column {', '.join(missing)}"
        return pl.DataFrame(schema=RECORDED_SCHEMA), [Diagnostic(str(path), 1, missing[0], "bad-closed-payouts", message)]
    frame = frame.select(
        _unescape("rep_id").alias("rep_id"),
        pl.lit(closed.period.label).alias("period"),
        pl.col("payout").cast(pl.Decimal(38, 2), strict=False).alias("recorded"),
        (pl.int_range(pl.len()) + 2).cast(pl.Int64).alias("line"),
        pl.col("payout").alias("_text"),
    )
    problems = [
        Diagnostic(str(path), r["line"], "payout", "bad-closed-payouts", f"not an amount: {r['_text']!r}")
        for r in frame.filter(pl.col("recorded").is_null()).head(20).to_dicts()
    ]
    twice = frame.filter(pl.col("rep_id").is_duplicated())
    problems += [
        Diagnostic(str(path), r["line"], "rep_id", "bad-closed-payouts", f"rep {r['rep_id']} has more than one row")
        for r in twice.head(20).to_dicts()
    ]
    return frame.drop("_text"), problems


def read_closed(out: str | Path | None, period: Period, first: Period | None) -> ClosedPeriods:
    """The closed periods of `period`'s kind in `out` from `first` up to before `period`, each
    verified against its manifest, with every rep's recorded payout. `InputError` listing every
    changed or unreadable paid record."""
    if out is None:
        return ClosedPeriods()
    periods, frames, warnings, errors = [], [], [], []
    for q, folder in closed_folders(out, period.kind):
        if q >= period or (first is not None and q < first):
            continue
        closed, problems = verify(folder)
        warnings += [p for p in problems if p.is_warning]
        errors += [p for p in problems if not p.is_warning]
        if closed is None:
            continue
        frame, problems = read_payouts(closed)
        errors += problems
        periods.append(closed)
        frames.append(frame)
    if errors:
        raise InputError(errors)
    payouts = pl.concat(frames) if frames else pl.DataFrame(schema=RECORDED_SCHEMA)
    return ClosedPeriods(periods, payouts, warnings)


# statuses of a closed period folder (`comp-calc history`)
VERIFIED = "verified"
NOT_RECORDED = "not recorded"  # a manifest written before the outputs record existed: trusted as it is
CHANGED = "changed"  # a file no longer matches the sha256 its manifest records
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class FolderCheck:
    period: Period
    folder: Path
    status: str  # VERIFIED, NOT_RECORDED, CHANGED or UNREADABLE
    changed: tuple[str, ...]  # the files that no longer match (payouts.csv, lines.csv)
    manifest: dict | None


def check_folder(period: Period, folder: Path) -> FolderCheck:
    """Whether the payouts.csv and lines.csv of a closed folder still match its manifest."""
    manifest, problem = read_manifest(folder)
    if problem:
        return FolderCheck(period, folder, UNREADABLE, (), None)
    if not isinstance(manifest.get("outputs"), dict):
        return FolderCheck(period, folder, NOT_RECORDED, (), manifest)
    changed = []
    for name in (PAYOUTS, LINES):
        expected = recorded_sha256(manifest, name)
        try:
            actual = sha256_file(folder / name)
        except OSError:
            actual = None
        if expected is not None and actual != expected:
            changed.append(name)
    return FolderCheck(period, folder, CHANGED if changed else VERIFIED, tuple(changed), manifest)


def history(out: str | Path) -> list[FolderCheck]:
    """Every closed period in `out`, months then quarters, each in order, checked."""
    return [check_folder(p, f) for kind in ("month", "quarter") for p, f in closed_folders(out, kind)]


def read_lines(closed: ClosedPeriod, rep_ids: list[str]) -> pl.DataFrame | None:
    """The lines of `rep_ids` in a closed period's lines.csv (rep_id, kind, sale_id, role, credited,
    amount), or None when the file cannot be read or no longer matches its manifest."""
    manifest, problem = read_manifest(closed.folder)
    path = closed.folder / LINES
    try:
        data = path.read_bytes()
    except OSError:
        return None
    expected = None if problem else recorded_sha256(manifest, LINES)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        return None
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
    except pl.exceptions.PolarsError:
        return None
    if not {"rep_id", "kind", "sale_id", "role", "credited", "amount"} <= set(frame.columns):
        return None
    return frame.select(
        _unescape("rep_id"), "kind", _unescape("sale_id"), "role",
        pl.col("credited").cast(pl.Decimal(38, 18), strict=False), pl.col("amount").cast(pl.Decimal(38, 2), strict=False),
    ).filter(pl.col("rep_id").is_in(rep_ids))  # fmt: skip
