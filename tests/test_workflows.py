"""The GitHub Actions workflows, the CI entry point and the locked install, checked here
(GitHub is not reachable from this machine).

actionlint checks what GitHub would reject or warn about (syntax, expressions, actions on a
Node runtime GitHub removed); the rest checks what only these files decide: every action
pinned by commit SHA, both supported Pythons tested, DVC's cache shared between main and
pull requests, ``make setup`` installing the exact versions of ``requirements.lock``.
``pr-report.yml`` is a thin caller of ``tools/pr_report.py``, whose behaviour
``tests/test_pr_report.py`` runs for real.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
LOCK = ROOT / "requirements.lock"
PYTHONS = ["3.11", "3.12"]
DVC_CACHE_KEY = "dvc-${{ runner.os }}-${{ hashFiles('dvc.lock', 'params.yaml') }}"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def _triggers(workflow: dict[str, Any]) -> list[str]:
    triggers = workflow[True]  # YAML 1.1 reads the bare key `on` as boolean True
    return list(triggers) if isinstance(triggers, (dict, list)) else [triggers]


def step_index(steps: list[dict[str, Any]], needle: str) -> int:
    """Index of the first step whose `uses` or `run` contains ``needle``."""
    for i, step in enumerate(steps):
        if needle in step.get("uses", "") or needle in step.get("run", ""):
            return i
    raise AssertionError(f"no step uses or runs {needle!r}")


def _actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """actionlint (the dev extra's binary, beside this interpreter) on ``paths``.

    shellcheck and pyflakes are switched off by name, not left to whether they happen to be
    on PATH, so the verdict is the same on every machine.
    """
    binary = Path(sys.executable).parent / "actionlint"
    binary = binary if binary.is_file() else shutil.which("actionlint")
    assert binary, "actionlint is missing: install the dev extra (make setup)"
    args = [str(binary), "-no-color", "-shellcheck=", "-pyflakes=", *map(str, paths)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


# --- actionlint and pins ----------------------------------------------------------------


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    assert len(WORKFLOW_FILES) >= 3
    result = _actionlint(*WORKFLOW_FILES)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_reports_an_action_on_a_removed_node_runtime(tmp_path: Path) -> None:
    """The check above can fail: the Node 20 checkout these workflows used before is reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
    )
    result = _actionlint(bad)
    assert result.returncode == 1 and '"node20" is deprecated' in result.stdout


def _uses_lines(path: Path) -> list[str]:
    """Every ``uses:`` value of a workflow as written, comment included."""
    return re.findall(r"^\s*(?:-\s+)?uses:\s*(.+?)\s*$", path.read_text(), flags=re.MULTILINE)


def _uses_parsed(path: Path) -> list[str]:
    workflow = yaml.safe_load(path.read_text())
    return [
        step["uses"]
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if "uses" in step
    ]


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha_with_its_release(path: Path) -> None:
    written = _uses_lines(path)
    assert [line.split(" #")[0] for line in written] == _uses_parsed(path)  # none missed
    unpinned = [line for line in written if not PINNED.match(line)]
    assert not unpinned, f"pin as owner/repo@<40-hex sha> # vX.Y.Z: {unpinned}"


def test_an_action_has_one_pin_across_workflows() -> None:
    pins: dict[str, set[str]] = {}
    for path in WORKFLOW_FILES:
        for line in _uses_lines(path):
            action, ref = line.split("@", 1)
            pins.setdefault(action, set()).add(ref)
    assert {action: refs for action, refs in pins.items() if len(refs) > 1} == {}


# --- Pythons and the pip cache ------------------------------------------------------------


def test_tests_run_on_every_python_the_package_accepts() -> None:
    workflow = _load("test.yml")
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["python-version"] == PYTHONS  # strings: 3.10 is not 3.1
    steps = _steps(workflow)
    python = steps[step_index(steps, "actions/setup-python@")]["with"]
    assert python["python-version"] == "${{ matrix.python-version }}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    accepted = SpecifierSet(project["requires-python"])
    candidates = [f"3.{minor}" for minor in range(9, 15)]
    assert [v for v in candidates if accepted.contains(f"{v}.5")] == PYTHONS


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_pip_cache_is_keyed_on_the_lock_and_set_up_before_make(path: Path) -> None:
    steps = _steps(_load(path.name))
    python = steps[step_index(steps, "actions/setup-python@")]
    assert python["with"]["cache"] == "pip"
    assert python["with"]["cache-dependency-path"] == LOCK.name
    assert step_index(steps, "actions/setup-python@") < step_index(steps, "make ")


# --- DVC's cache ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "before"), [("pr-report.yml", "tools/pr_report.py"), ("dvc-cache.yml", "make repro")]
)
def test_dvc_cache_is_restored_before_the_pipeline_runs(name: str, before: str) -> None:
    steps = _steps(_load(name))
    cache = steps[step_index(steps, "actions/cache@")]
    assert cache["with"]["path"] == ".dvc/cache"
    assert cache["with"]["key"] == DVC_CACHE_KEY  # one key form: a PR finds main's cache
    assert DVC_CACHE_KEY.startswith(cache["with"]["restore-keys"])
    assert step_index(steps, "actions/cache@") < step_index(steps, before)


def test_main_saves_the_dvc_cache_for_pull_requests() -> None:
    workflow = _load("dvc-cache.yml")
    assert workflow[True]["push"]["branches"] == ["main"]
    assert _steps(workflow)[-1]["run"].startswith("make repro")


# --- PR report --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pr_workflow() -> dict[str, Any]:
    return _load("pr-report.yml")


@pytest.fixture(scope="module")
def pr_steps(pr_workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return _steps(pr_workflow)


@pytest.fixture(scope="module")
def report_step(pr_steps: list[dict[str, Any]]) -> dict[str, Any]:
    return pr_steps[step_index(pr_steps, "tools/pr_report.py")]


def test_pr_report_triggers_and_permissions(pr_workflow) -> None:
    assert "pull_request" in _triggers(pr_workflow)
    assert pr_workflow["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_checkout_keeps_full_history_for_the_base_branch(pr_steps) -> None:
    checkout = pr_steps[step_index(pr_steps, "actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0  # all branches: origin/<base_ref> exists


def test_steps_run_in_order(pr_steps) -> None:
    order = [
        "make setup",
        'echo "$PWD/.venv/bin" >> "$GITHUB_PATH"',
        "gh release download",
        "tools/pr_report.py",
        "actions/upload-artifact@",
    ]
    indices = [step_index(pr_steps, needle) for needle in order]
    assert indices == sorted(indices)


def test_cml_is_a_pinned_release_binary_on_path(pr_workflow, pr_steps) -> None:
    assert re.fullmatch(r"v\d+\.\d+\.\d+", pr_workflow["env"]["CML_VERSION"])
    install = pr_steps[step_index(pr_steps, "gh release download")]
    assert install["env"]["GH_TOKEN"] == "${{ github.token }}"
    words = shlex.split(install["run"].replace("\\\n", " "))
    assert words[:5] == ["gh", "release", "download", "$CML_VERSION", "--repo"]
    assert '"$RUNNER_TEMP/cml" >> "$GITHUB_PATH"' in install["run"]


def test_the_yaml_is_a_thin_caller(pr_steps) -> None:
    runs = "\n".join(step.get("run", "") for step in pr_steps)
    assert not re.findall(r"(?:^|[\s;&|])(?:dvc|cml) ", runs)  # both only inside the script


def test_github_values_reach_the_script(report_step) -> None:
    env = report_step["env"]
    assert env["BASE_REF"] == "${{ github.base_ref }}"
    assert env["REPO"] == "${{ github.repository }}"
    assert env["HEAD_REPO"] == "${{ github.event.pull_request.head.repo.full_name }}"
    assert env["REPO_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    args = _script_args(report_step)
    assert args.base == "origin/$BASE_REF"
    assert (args.repo, args.head_repo) == ("$REPO", "$HEAD_REPO")


def _script_args(step: dict[str, Any]) -> Any:
    """The step's command line parsed by the script's own parser (it must accept it)."""
    spec = importlib.util.spec_from_file_location("pr_report", ROOT / "tools" / "pr_report.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    words = shlex.split(step["run"], posix=False)
    assert words[:2] == [".venv/bin/python", "tools/pr_report.py"]
    return module.parse_args([word.strip('"') for word in words[2:]])


def test_the_report_directory_is_uploaded_even_on_failure(pr_steps, report_step) -> None:
    upload = pr_steps[step_index(pr_steps, "actions/upload-artifact@")]
    assert upload["if"] == "always()"
    assert Path(upload["with"]["path"]) == _script_args(report_step).out


# --- tests ------------------------------------------------------------------------------


def test_test_workflow_runs_the_readme_command_on_push_and_pr() -> None:
    workflow = _load("test.yml")
    assert {"push", "pull_request"} <= set(_triggers(workflow))
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^(make \w+)\s+#.*what CI runs", readme, flags=re.MULTILINE)
    assert command, "the README names the command CI runs"
    assert _steps(workflow)[-1]["run"].startswith(command.group(1))


def test_test_workflow_has_a_browser_and_requires_it() -> None:
    workflow = _load("test.yml")
    (job,) = workflow["jobs"].values()
    assert job["env"]["REQUIRE_CHROMIUM"] == "1"  # the Chromium tests fail, never skip
    steps = _steps(workflow)
    assert step_index(steps, "apt-get install") < step_index(steps, "make test")


def test_ci_entry_point_installs_chromium_before_the_tests() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    script = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    install = script.index("apt-get install -y -qq --no-install-recommends chromium")
    assert install < script.index("export REQUIRE_CHROMIUM=1") < script.index("make test")


# --- the lock ---------------------------------------------------------------------------


def _locked() -> dict[str, Requirement]:
    """``requirements.lock`` as {normalised name: requirement}; every line an exact pin."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"not an exact pin: {line}"
            pins[canonicalize_name(requirement.name)] = requirement
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]["dev"]
    return [Requirement(line) for line in project["dependencies"] + extras]


def test_every_dependency_is_locked_inside_its_range() -> None:
    pins = _locked()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in {LOCK.name}: run `make lock`"
        version = next(iter(pins[name].specifier)).version
        assert requirement.specifier.contains(version), f"{name}=={version} not in {requirement}"
        floors = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        tested = Version(version).release[:2]
        assert all(f.release[:2] == tested for f in floors), f"untested floor: {requirement}"


def test_this_environment_has_the_locked_versions() -> None:
    """The suite runs on the locked versions (``make test`` reinstalls when the lock moves)."""
    wrong = {}
    for name, requirement in _locked().items():
        if requirement.marker is None or requirement.marker.evaluate():
            try:
                installed = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                installed = "missing"
            if installed == "missing" or not requirement.specifier.contains(installed):
                wrong[name] = (installed, str(requirement.specifier))
    assert wrong == {}, "run `make setup`"


def _make(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-C", str(workdir), *args], capture_output=True, text=True)


def test_setup_installs_from_the_lock_and_reruns_when_it_changes(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml", LOCK.name):
        shutil.copy(ROOT / name, tmp_path / name)
    stamp = tmp_path / ".venv" / ".installed"
    stamp.parent.mkdir()
    stamp.touch()
    os.utime(stamp, (1e9 + 10, 1e9 + 10))
    for name in ("pyproject.toml", LOCK.name):
        os.utime(tmp_path / name, (1e9, 1e9))
    assert _make(tmp_path, "-q", "setup").returncode == 0  # stamp newer: nothing to do
    os.utime(tmp_path / LOCK.name, (1e9 + 20, 1e9 + 20))
    assert _make(tmp_path, "-q", "setup").returncode == 1  # the lock moved: setup reruns
    dry = _make(tmp_path, "-n", "setup").stdout
    assert f"pip install --quiet -c {LOCK.name} -e '.[dev]'" in dry
