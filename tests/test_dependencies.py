"""Every third-party package the code under ``src/`` imports is declared in pyproject.toml.

An undeclared import works here only because something else pulled the package in (requests
came with lightkurve and dvc); ``pip install .`` elsewhere, or a new release of that other
package, would leave it missing.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support import ROOT

SRC = ROOT / "src"


def imported_top_levels(paths: list[Path]) -> dict[str, set[str]]:
    """{top-level module: files importing it} of absolute imports, in functions too."""
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def declared_distributions(requirements: list[str]) -> set[str]:
    """Canonical names of ``requirements`` and what their extras pull in (dask[distributed])."""
    names = set()
    for line in requirements:
        requirement = Requirement(line)
        names.add(canonicalize_name(requirement.name))
        for extra in requirement.extras:
            for dependency in importlib.metadata.requires(requirement.name) or []:
                pulled = Requirement(dependency)
                if pulled.marker is not None and pulled.marker.evaluate({"extra": extra}):
                    names.add(canonicalize_name(pulled.name))
    return names


def undeclared(imports: dict[str, set[str]], declared: set[str], local: set[str]) -> dict:
    """{module: (its installed distributions, importing files)} for third-party imports not
    declared; a module no installed distribution provides is reported too."""
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for module, files in sorted(imports.items()):
        if module in sys.stdlib_module_names or module in local:
            continue
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & declared:
            missing[module] = (sorted(dists), sorted(files))
    return missing


def local_modules() -> set[str]:
    """The package and the stage scripts, importable from ``src/`` without a distribution."""
    return {p.stem for p in SRC.glob("*.py")} | {p.name for p in SRC.iterdir() if p.is_dir()}


def project_dependencies() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def test_every_third_party_import_under_src_is_a_declared_dependency() -> None:
    imports = imported_top_levels(sorted(SRC.rglob("*.py")))
    assert {"numpy", "requests", "yaml"} <= imports.keys()  # the scan sees the code
    declared = declared_distributions(project_dependencies())
    assert undeclared(imports, declared, local_modules()) == {}


def test_the_check_names_an_import_whose_package_is_not_declared() -> None:
    imports = imported_top_levels([SRC / "check_params.py"])
    declared = declared_distributions(project_dependencies())
    assert "distributed" in declared  # through dask's extra
    missing = undeclared(imports, declared - {"requests"}, local_modules())
    assert missing == {"requests": (["requests"], ["src/check_params.py"])}
    # a module that no installed distribution provides is undeclared too
    assert undeclared({"no_such_module": {"x.py"}}, declared, set()) == {
        "no_such_module": ([], ["x.py"])
    }
