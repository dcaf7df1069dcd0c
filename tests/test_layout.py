"""The package's architecture, checked: wings import only wings below them, no import circles,
and modules and functions stay small enough to read (issue 31's "house with wings")."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "transit_classifier"
# Lowest first: a wing may import the core and the wings before it, never one after it.
LAYERS = ("sources", "signal", "simulate", "learn", "search", "judge", "serve")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50  # code lines: the docstring is not counted
ENTRY_POINTS = ("__init__", "__main__")  # the package's front doors may reach any wing


def _modules() -> dict[str, Path]:
    """Dotted name (below ``transit_classifier``) of every module of the package."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        names[".".join(p for p in parts if p != "__init__") or "__init__"] = path
    return names


def _imports(name: str, path: Path) -> set[str]:
    """Package modules (dotted, below ``transit_classifier``) that ``name`` imports anywhere."""
    wing = name.split(".")[0] if "." in name else ""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: within the module's own wing (or the top package)
                base = wing if node.level == 1 else ""
                module = ".".join(p for p in (base, node.module or "") if p)
            elif (node.module or "").startswith("transit_classifier"):
                module = node.module.removeprefix("transit_classifier").lstrip(".")
            else:
                continue
            for alias in node.names:
                found.add(f"{module}.{alias.name}".strip("."))
                found.add(module)
    return {m for m in found if m in _modules()} - {name}


def _wing(module: str) -> str | None:
    head = module.split(".")[0]
    return head if head in LAYERS else None


def test_wings_import_only_downwards() -> None:
    wrong = []
    for name, path in _modules().items():
        here = _wing(name)
        for target in _imports(name, path):
            there = _wing(target)
            if there is None or there == here:
                continue
            if here is None and name not in ENTRY_POINTS:  # the core imports no wing
                wrong.append(f"core {name} -> {target}")
            elif here is not None and LAYERS.index(there) > LAYERS.index(here):
                wrong.append(f"{name} -> {target}")
    assert not wrong, wrong


def test_no_import_circles() -> None:
    graph = {name: _imports(name, path) for name, path in _modules().items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*trail, node])):
                return cycle
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            assert visit(node, []) is None


def test_every_wing_says_what_lives_there_and_what_it_may_import() -> None:
    for wing in LAYERS:
        doc = ast.get_docstring(ast.parse((PACKAGE / wing / "__init__.py").read_text()))
        assert doc and "May import" in doc, wing


def _docstring_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function's docstring: numpydoc prose and examples are not code to read."""
    first = node.body[0]
    is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    return (
        first.end_lineno - first.lineno + 1 if is_doc and isinstance(first.value.value, str) else 0
    )


def test_modules_and_functions_stay_small() -> None:
    long = []
    for name, path in _modules().items():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = node.end_lineno - node.lineno + 1 - _docstring_lines(node)
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {size} lines")
    assert not long, long


def _closure(script: Path) -> set[str]:
    """Package modules a stage script imports, directly or through other modules."""
    modules, todo, seen = _modules(), [], set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "transit_classifier"
        ):
            module = node.module.removeprefix("transit_classifier").lstrip(".")
            todo += [m for a in node.names for m in (f"{module}.{a.name}".strip("."), module)]
    while todo:
        name = todo.pop()
        if name in modules and name not in seen:
            seen.add(name)
            todo += _imports(name, modules[name])
    return seen


def test_every_stage_depends_on_the_code_it_imports() -> None:
    """Narrow stage dependencies must still hold every module the stage runs, or DVC would
    keep stale outputs after an edit to it."""
    import yaml

    root = PACKAGE.parents[1]
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    for name, spec in stages.items():
        script = root / "src" / f"{name}.py"
        deps = [root / d for d in spec["deps"]]
        for module in _closure(script) - set(LAYERS):  # a wing's __init__ is its docstring
            path = _modules()[module]
            assert any(path == d or d in path.parents for d in deps), (name, module)
