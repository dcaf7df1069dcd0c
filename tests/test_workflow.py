"""The GitHub Actions workflows and the CI entry point, checked statically (GitHub is not
reachable here).

``pr-report.yml`` is a thin caller of ``tools/pr_report.py`` (whose behaviour
``tests/test_pr_report.py`` runs for real): these checks cover what only the YAML
decides, namely the trigger, the token's permissions, a history deep enough to diff
with the base branch, GitHub's values reaching the script, and the artifact upload.
``test.yml`` and ``.ci/run`` must run the README's test command with a browser present.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


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


@pytest.fixture(scope="module")
def pr_workflow() -> dict[str, Any]:
    return _load("pr-report.yml")


@pytest.fixture(scope="module")
def pr_steps(pr_workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return _steps(pr_workflow)


@pytest.fixture(scope="module")
def report_step(pr_steps: list[dict[str, Any]]) -> dict[str, Any]:
    return pr_steps[step_index(pr_steps, "tools/pr_report.py")]


@pytest.mark.parametrize("name", ["pr-report.yml", "test.yml"])
def test_python_311_with_pip_cache(name: str) -> None:
    steps = _steps(_load(name))
    python = steps[step_index(steps, "actions/setup-python@")]["with"]
    assert python["python-version"] == "3.11"  # a string: YAML would read 3.10 as 3.1
    assert python["cache"] == "pip" and python["cache-dependency-path"] == "pyproject.toml"
    assert step_index(steps, "actions/setup-python@") < step_index(steps, "make ")


# --- PR report --------------------------------------------------------------------------


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
        "iterative/setup-cml@v2",
        "tools/pr_report.py",
        "actions/upload-artifact@",
    ]
    indices = [step_index(pr_steps, needle) for needle in order]
    assert indices == sorted(indices)


def test_the_yaml_is_a_thin_caller(pr_steps) -> None:
    runs = " ".join(step.get("run", "") for step in pr_steps)
    assert "dvc " not in runs and "cml " not in runs  # both only inside the script


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
    steps = _steps(workflow)
    assert steps[-1]["run"].startswith(command.group(1))


def test_test_workflow_has_a_browser_and_requires_it() -> None:
    workflow = _load("test.yml")
    (job,) = workflow["jobs"].values()
    assert job["env"]["REQUIRE_CHROMIUM"] == "1"  # the Chromium tests fail, never skip
    steps = _steps(workflow)
    assert step_index(steps, "apt-get install") < step_index(steps, "make test")


def test_ci_entry_point_installs_chromium_before_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    install = script.index("apt-get install -y -qq --no-install-recommends chromium")
    assert install < script.index("export REQUIRE_CHROMIUM=1") < script.index("make test")
