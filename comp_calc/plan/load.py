"""Loading and validating plan files (SPEC section 2).

    load_plans(dir)        every *.yaml / *.yml of a directory (sorted by name, not
                           recursive; names starting with '.' are skipped) -> (PlanSet, diagnostics)
    load_plan_file(path)   one file -> (Plan | None, diagnostics)
    parse_plan(text, src)  one plan from bytes or text (e.g. `git show rev:file`)
    check_plan_set(plans)  the rules across files

A plan is returned only when its file has no problem; every problem of every
file is reported, each as a `Diagnostic(file, line, column, code, message)`
with `file` the path as given, `line` 1-based and `column` the dotted key path
(`rates[2].rate`, `quality.metrics[0].bands[1].below`). The PlanSet holds the
plans that passed on their own; a caller must not run with any diagnostic.

Diagnostic codes
    missing-dir               the plans directory does not exist
    not-a-directory           the plans directory is a file
    unreadable                the plans directory cannot be listed (permissions)
    no-plan-files             the plans directory holds no *.yaml / *.yml file
    file-read                 a plan file cannot be read
    file-too-large            a plan file is over 1 MiB
    encoding                  not UTF-8 text (binary, UTF-16, invalid bytes, control characters)
    empty-file                no plan in the file (empty, blank or only comments)
    yaml-syntax               not valid YAML (the line of the problem and an excerpt)
    yaml-alias                an anchor (&x) or alias (*x)
    yaml-tag                  a tag other than the standard ones (!!python/..., !custom, !!binary),
                              or a value that its explicit tag cannot read (!!int x)
    yaml-depth                nesting deeper than any plan needs
    not-a-mapping             the top level is a list or a single value
    unknown-key               a key the plan language does not have (at any level)
    duplicate-key             a key given twice in one mapping
    missing-key               a required key is missing (a campaign with neither per_sale nor rate)
    conflicting-keys          a campaign with both per_sale and rate
    wrong-type                e.g. text where a number belongs, 1.5 or "3" where a whole number belongs
    bad-keyword               not one of the listed keywords (exact and lower-case)
    bad-date                  a date that does not exist (2026-02-30)
    empty-value               empty text
    empty-list                a list with no entries
    out-of-range              a number outside its allowed range
    too-precise               more decimal places than allowed (6; `cap` 2)
    not-increasing            tier `up_to`, band `below` or clawback `within_days` not strictly increasing
    catch-all                 rates need exactly one rule without `product`, and it must be last
    needs-tiers               `tier_mode` without `attainment_tiers` (even `tier_mode: marginal`)
    open-ended                tiers and bands need exactly one entry without `up_to` / `below`, last
    duplicate-entry           a metric, channel or campaign listed twice
    not-period-start          `effective_from` is not the first day of a period of the plan's kind
    duplicate-version         two files define the same (plan, version)
    duplicate-effective-from  two versions of one plan start on the same day
    period-kind-mismatch      versions of one plan with different `period`
    currency-mismatch         versions of one plan with different `currency`

Number limits and the exact reading of YAML scalars are described in
`comp_calc.plan.schema` and `comp_calc.plan.yaml_positions`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from comp_calc.errors import Diagnostic
from comp_calc.plan.model import Plan, PlanSet
from comp_calc.plan.schema import build_plan
from comp_calc.plan.yaml_positions import read_yaml

MAX_BYTES = 1024 * 1024
SUFFIXES = (".yaml", ".yml")

# The line of each top-level key by the sha256 of the file's bytes, for the rules across files.
_KEY_LINES: dict[str, dict[str, int]] = {}


def load_plans(plans_dir: str | Path) -> tuple[PlanSet, list[Diagnostic]]:
    where = str(plans_dir)
    directory = Path(plans_dir)
    try:
        if not directory.exists():
            return PlanSet(), [Diagnostic(where, None, None, "missing-dir", "plans directory does not exist")]
        if not directory.is_dir():
            return PlanSet(), [Diagnostic(where, None, None, "not-a-directory", "plans path is a file, not a directory")]
        names = sorted(
            p.name for p in directory.iterdir()
            if p.suffix.lower() in SUFFIXES and not p.name.startswith(".") and not p.is_dir()
        )
    except OSError as e:
        return PlanSet(), [Diagnostic(where, None, None, "unreadable", f"cannot read the plans directory: {e.strerror or e}")]
    if not names:
        return PlanSet(), [Diagnostic(where, None, None, "no-plan-files", "no plan files (*.yaml, *.yml) in the directory")]
    plans, diagnostics = [], []
    for name in names:
        plan, problems = load_plan_file(directory / name)
        diagnostics += problems
        if plan is not None:
            plans.append(plan)
    diagnostics += check_plan_set(plans)
    return PlanSet(tuple(sorted(plans, key=lambda p: (p.plan, p.version)))), diagnostics


def load_plan_file(path: str | Path) -> tuple[Plan | None, list[Diagnostic]]:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        return None, [Diagnostic(str(path), None, None, "file-read", f"cannot read the plan file: {e.strerror or e}")]
    return parse_plan(data, str(path))


def parse_plan(text: bytes | str, source: str) -> tuple[Plan | None, list[Diagnostic]]:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)

    def fail(code: str, message: str, line: int | None = None):
        return None, [Diagnostic(source, line, None, code, message)]

    if len(data) > MAX_BYTES:
        return fail("file-too-large", "is larger than 1 MiB; a plan file is a short text file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return fail("encoding", "is UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        return fail("encoding", "is a binary file, not a YAML plan")
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return fail("encoding", f"is not UTF-8 text (byte 0x{data[e.start]:02x}); save it as UTF-8", line)
    document, diagnostics = read_yaml(decoded, source)
    if document is None:
        return (None, diagnostics) if diagnostics else fail("empty-file", "holds no plan (empty or only comments)", 1)
    plan, problems = build_plan(document, source, hashlib.sha256(data).hexdigest())
    if diagnostics or plan is None:
        return None, sorted(diagnostics + problems, key=lambda d: d.line or 0)
    _KEY_LINES[plan.sha256] = dict(document.key_lines)
    return plan, []


def check_plan_set(plans: list[Plan]) -> list[Diagnostic]:
    """The rules across files: (plan, version) unique; one `effective_from` per version of a
    plan; one `period` kind and one `currency` per plan. The later file (in the
    given order) is the one reported."""
    diagnostics: list[Diagnostic] = []

    def err(plan: Plan, key: str, code: str, message: str) -> None:
        line = _KEY_LINES.get(plan.sha256, {}).get(key)
        diagnostics.append(Diagnostic(plan.source, line, key, code, message))

    by_version: dict[tuple, Plan] = {}
    by_start: dict[tuple, Plan] = {}
    first_of_plan: dict[str, Plan] = {}
    for p in plans:
        if (other := by_version.setdefault((p.plan, p.version), p)) is not p:
            err(p, "version", "duplicate-version",
                f"plan '{p.plan}' version {p.version} is already defined in {other.source}")
        elif (other := by_start.setdefault((p.plan, p.effective_from), p)) is not p:
            err(p, "effective_from", "duplicate-effective-from",
                f"plan '{p.plan}' version {other.version} ({other.source}) also starts on {p.effective_from}")
        if (other := first_of_plan.setdefault(p.plan, p)).period != p.period:
            err(p, "period", "period-kind-mismatch",
                f"all versions of plan '{p.plan}' must share one period kind: "
                f"{p.period} here, {other.period} in {other.source}")
        if other.currency != p.currency:  # SPEC 6.2: plans may differ, the versions of one plan may not
            err(p, "currency", "currency-mismatch",
                f"all versions of plan '{p.plan}' must share one currency: "
                f"{p.currency} here, {other.currency} in {other.source}")
    return diagnostics
