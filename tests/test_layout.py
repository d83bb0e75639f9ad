"""The package's layout rules, checked on the imports themselves.

- the steps compute: they never import outputs, commands, the CLI, the pipeline or the engine;
- loading never depends on the steps: plan/ and data/ import nothing from steps/;
- no module imports a module that (directly or not) imports it back;
- comp_calc/ holds only cli.py, engine.py, errors.py, periods.py and package folders.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "comp_calc"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Module -> the comp_calc modules it imports (a package import counts as its __init__)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("comp_calc"):
                for alias in node.names:  # `from comp_calc.steps import credit` imports the module credit
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("comp_calc"))
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_steps_import_no_outputs_commands_cli_pipeline_or_engine():
    banned = ("comp_calc.outputs", "comp_calc.commands", "comp_calc.cli", "comp_calc.pipeline", "comp_calc.engine")
    bad = {m: sorted(i for i in deps if i.startswith(banned)) for m, deps in imports().items() if m.startswith("comp_calc.steps")}
    assert {m: deps for m, deps in bad.items() if deps} == {}


def test_loading_never_depends_on_the_steps():
    graph = imports()
    bad = {m: sorted(d for d in deps if d.startswith("comp_calc.steps")) for m, deps in graph.items() if m.startswith(("comp_calc.plan", "comp_calc.data"))}
    assert {m: deps for m, deps in bad.items() if deps} == {}


def test_no_import_cycles():
    graph = imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # a package's __init__ importing its own submodules is not a cycle worth flagging
    real = [c for c in cycles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c[1:])]
    assert real == []


def test_top_level_holds_only_the_entry_modules_and_packages():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "cli.py", "engine.py", "errors.py", "periods.py"]
