"""The command line itself: help texts, --version, a closed output pipe, and `comp-calc schema`
(the JSON Schema of the plan YAML, shipped as plans.schema.json)."""

from __future__ import annotations

import copy
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import jsonschema
import pytest

import comp_calc
from comp_calc.plan.schema import PLAN
from comp_calc.plan.yaml_positions import YList, YMap, read_yaml
from conftest import PLANS, ROOT, SAMPLE, invoke

SHIPPED_SCHEMA = ROOT / "plans.schema.json"

# --------------------------------------------------------------------------
# help and version


@pytest.mark.parametrize("command", ["run", "validate", "explain", "diff", "alignment", "schema"])
def test_flags_show_no_value_placeholder(command: str):
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert re.search(r"--help\s+Show this message", result.output)


def test_run_help_lists_flags_bare():
    result = invoke("run", "--help")
    assert re.search(r"--force\s+Replace an existing", result.output)
    assert re.search(r"--statements\s+Also write", result.output)


def test_diff_help_reads_old_new_and_a_percentage():
    result = invoke("diff", "--help")
    assert re.search(r"Usage: \S+ diff \[OPTIONS\] OLD NEW *$", result.output, re.MULTILINE)
    assert "{old}" not in result.output and "{new}" not in result.output
    assert re.search(r"--fail-over\s+PCT\s", result.output)
    assert "<str>" not in re.search(r"--fail-over.*", result.output).group(0)


def test_version_prints_the_package_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output == f"comp-calc {comp_calc.__version__}\n"
    assert comp_calc.__version__ == importlib.metadata.version("comp-calc")


# --------------------------------------------------------------------------
# a reader that stops early (`| head -1`) is not a failure


def _cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "comp_calc.cli", *map(str, args)]


COMMANDS = {
    "run": ("run", "--plans", PLANS, "--data", SAMPLE, "--period", "2026-10", "--format", "csv"),
    "explain": ("explain", "--plans", PLANS, "--data", SAMPLE, "--period", "2026-10", "--rep", "R0002", "--format", "csv"),
    "diff": ("diff", PLANS / "inbound-2026-v1.yaml", PLANS / "inbound-2026-v2.yaml", "--plans", PLANS, "--data", SAMPLE,
             "--period", "2026-10", "--format", "csv"),
    "alignment": ("alignment", "--plans", PLANS, "--data", SAMPLE, "--period", "2026-10", "--format", "json"),
    "validate": ("validate", "--plans", PLANS, "--format", "json"),
    "schema": ("schema",),
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_output_into_a_closed_pipe_exits_0_quietly(name: str, tmp_path: Path):
    args = COMMANDS[name] + (("--out", tmp_path / "out") if name == "run" else ())
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write meets a closed pipe
    try:
        done = subprocess.run(_cli(*args), cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=180)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, "")


def test_run_piped_into_head_exits_0(tmp_path: Path):
    command = " ".join(f"'{a}'" for a in _cli(*COMMANDS["run"], "--out", tmp_path / "out"))
    done = subprocess.run(["bash", "-c", f"{command} | head -1; exit ${{PIPESTATUS[0]}}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("rep_id,")


# --------------------------------------------------------------------------
# the JSON Schema of the plan YAML


def _plain(value):
    """A plan as read by the loader, as JSON-like values (dates as the text written)."""
    if isinstance(value, YMap):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, YList):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _read(text: str):
    document, problems = read_yaml(text, "p.yaml")
    assert not problems
    return _plain(document)


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SHIPPED_SCHEMA.read_text(encoding="utf-8"))


def test_the_schema_command_prints_the_shipped_file_byte_for_byte():
    first, second = invoke("schema"), invoke("schema", columns=40)
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout == SHIPPED_SCHEMA.read_text(encoding="utf-8")


def test_the_schema_is_a_valid_json_schema_of_every_plan_key(schema: dict):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert list(schema["properties"]) == list(PLAN)
    assert schema["additionalProperties"] is False
    assert schema["required"] == [k for k, f in PLAN.items() if f.required]
    assert schema["properties"]["negative_balance"] == {"enum": ["carry_forward", "pay"], "default": "carry_forward"}
    assert schema["properties"]["rates"]["items"]["properties"]["rate"] == {"type": "number", "minimum": 0, "maximum": 1}


@pytest.mark.parametrize("path", sorted(PLANS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_plan_matches_the_schema(schema: dict, path: Path):
    jsonschema.validate(_read(path.read_text(encoding="utf-8")), schema, cls=jsonschema.Draft202012Validator)


def _broken(schema_plan: dict, change) -> dict:
    plan = copy.deepcopy(schema_plan)
    change(plan)
    return plan


@pytest.mark.parametrize("change", [
    lambda p: p.update(bonus=1),                                    # unknown key
    lambda p: p.update(rounding="Half_Up"),                         # not one of the keywords
    lambda p: p.update(period="week"),
    lambda p: p.pop("currency"),                                    # a required key missing
    lambda p: p["rates"][0].update(rate=2),                         # out of range [0, 1]
    lambda p: p.update(rates=[]),                                   # an empty list
    lambda p: p.update(version="1"),                                # text where a whole number belongs
    lambda p: p.update(quality={"window_days": 90, "metrics": [{"metric": "csat", "bands": [{"multiplier": 1},]}],
                                "combine": "max"}),
    lambda p: p.update(outbound_credit={"channels": ["voice", "voice"], "window_days": 30, "share": 0.2}),
], ids=["unknown-key", "bad-keyword", "bad-period", "missing-key", "out-of-range", "empty-list", "wrong-type",
        "nested-keyword", "duplicate-channel"])
def test_invalid_plans_fail_the_schema(schema: dict, change):
    plan = _read((PLANS / "inbound-2026-v1.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(plan, schema)  # the plan itself is fine
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_broken(plan, change), schema, cls=jsonschema.Draft202012Validator)
