"""Where OLD and NEW of `comp-calc diff` come from, and the two plan sets they make.

OLD and NEW are plan files, or `path@REV` for a file at a git revision
(`plans/inbound-2026-v2.yaml@HEAD`). `plan_sets` puts OLD in place of the
version of `--plans` with its plan id and version, and NEW in place of OLD.

Codes (exit 2): not-a-git-checkout, git-failed (unknown revision or path), plan-version-clash,
plan-not-in-set (OLD's plan and version are not among --plans).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

from comp_calc.diff.rules import diff_plans
from comp_calc.errors import InputError, UsageError
from comp_calc.pipeline.stages import load_plan_set
from comp_calc.plan.load import check_plan_set, load_plan_file, parse_plan
from comp_calc.plan.model import Plan, PlanSet


# --------------------------------------------------------------------------
# reading OLD and NEW


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, env=env, check=False)


def git_show(spec: str, path_text: str, rev: str) -> bytes:
    """The bytes of `path_text` at git revision `rev`, in the repository holding that path."""
    if not rev or rev.startswith("-") or not path_text:
        raise UsageError(spec, "git-failed", "write a plan at a revision as PATH@REV, e.g. plans/plan.yaml@HEAD")
    path = Path(path_text)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(spec, "git-failed", f"folder {folder} does not exist")
    try:
        top = _git(folder, "rev-parse", "--show-prefix")
    except OSError:
        raise UsageError(spec, "git-failed", "git is not installed or cannot run") from None
    if top.returncode != 0:
        raise UsageError(spec, "not-a-git-checkout", f"{folder} is not inside a git checkout")
    prefix = top.stdout.decode("utf-8", "replace").strip()
    if prefix.startswith("../") or (prefix == "" and _git(folder, "rev-parse", "--is-inside-work-tree").stdout.strip() != b"true"):
        raise UsageError(spec, "not-a-git-checkout", f"{folder} is not inside a git work tree")
    inside = prefix + path.name
    shown = _git(folder, "show", f"{rev}:{inside}")
    if shown.returncode != 0:
        reason = shown.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[0].removeprefix("fatal: ") if reason else "git show failed"
        raise UsageError(spec, "git-failed", f"cannot read {inside} at revision {rev}: {detail}")
    return shown.stdout


def read_plan(spec: str) -> Plan:
    """A plan file, or `path@REV` for that file at a git revision."""
    path = Path(spec)
    if path.is_file() or "@" not in spec:
        plan, problems = load_plan_file(path)
    else:
        path_text, rev = spec.rsplit("@", 1)
        plan, problems = parse_plan(git_show(spec, path_text, rev), spec)
    if problems or plan is None:
        raise InputError(problems)
    return plan


def plan_sets(plans_dir: Path, old: Plan, new: Plan) -> tuple[PlanSet, PlanSet, str | None]:
    """(the set with OLD in place of its own version, the same set with NEW in place of OLD, a note).

    NEW normally keeps its own plan id, version and effective_from. When NEW is
    another version the set already has (`diff v1.yaml v2.yaml`), putting it in
    beside itself would leave OLD's periods without a version; then NEW's rules
    take OLD's slot (OLD's version number and effective_from), and the note says so.
    """
    loaded = load_plan_set(plans_dir)
    match = next((p for p in loaded.plans if (p.plan, p.version) == (old.plan, old.version)), None)
    if match is None:
        have = ", ".join(f"{p.plan} v{p.version}" for p in loaded.plans) or "none"
        raise UsageError(
            old.source, "plan-not-in-set",
            f"plan {old.plan} version {old.version} is not in {plans_dir} (it has: {have}); "
            "OLD must be one of its versions",
        )  # fmt: skip
    if new.plan != old.plan:
        raise UsageError(
            new.source, "different-plans",
            f"OLD is plan {old.plan} and NEW is plan {new.plan}: OLD and NEW must be versions of the same plan",
        )  # fmt: skip
    base = loaded.replace(match, old)
    note = None
    clash = next((p for p in base.plans if p is not old and (p.plan, p.version) == (new.plan, new.version)), None)
    if clash is not None:
        if diff_plans(clash, new).changes:
            raise UsageError(
                new.source, "plan-version-clash",
                f"NEW is plan {new.plan} version {new.version}, which {plans_dir} already has "
                f"with other rules ({clash.source}); give NEW a version number of its own to stand in for OLD",
            )  # fmt: skip
        note = (
            f"NEW is version {new.version} of {plans_dir} already; its rules are applied in place of "
            f"version {old.version} (in force from {old.effective_from})"
        )
        new = replace(new, version=old.version, effective_from=old.effective_from)
    changed = base.replace(next(p for p in base.plans if p is old), new)
    problems = check_plan_set(list(base.plans)) + check_plan_set(list(changed.plans))
    if problems:
        raise InputError(problems)
    return base, changed, note
