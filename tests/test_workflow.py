"""The PR-report GitHub Actions workflow, checked statically (GitHub is not reachable here).

The checks are the ones that make or break the report: the trigger, Python 3.11,
a history deep enough for ``dvc ... diff main``, the pipeline rerun, the metric
and plot comparisons, and CML posting with the job's token.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "pr-report.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def step_index(steps: list[dict[str, Any]], needle: str) -> int:
    """Index of the first step whose `uses` or `run` contains ``needle``."""
    for i, step in enumerate(steps):
        if needle in step.get("uses", "") or needle in step.get("run", ""):
            return i
    raise AssertionError(f"no step uses or runs {needle!r}")


def test_triggers_on_pull_request(workflow) -> None:
    triggers = workflow[True]  # YAML 1.1 reads the bare key `on` as boolean True
    assert "pull_request" in (triggers if isinstance(triggers, (dict, list)) else [triggers])
    assert workflow["permissions"]["pull-requests"] == "write"


def test_checkout_keeps_full_history(steps) -> None:
    checkout = steps[step_index(steps, "actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0


def test_python_311_and_make_setup(steps) -> None:
    python = steps[step_index(steps, "actions/setup-python@")]
    assert python["with"]["python-version"] == "3.11"  # a string: YAML would read 3.10 as 3.1
    assert step_index(steps, "actions/setup-python@") < step_index(steps, "make setup")


def test_steps_run_in_order(steps) -> None:
    order = [
        "make setup",
        "iterative/setup-cml@v2",
        "git fetch --no-tags origin main:main",
        ".venv/bin/dvc repro",
        "dvc metrics diff main --md",
        "dvc plots diff main",
        "cml comment create report.md",
    ]
    indices = [step_index(steps, needle) for needle in order]
    assert indices == sorted(indices)


def test_report_holds_the_evaluate_plots_dvc_declares(steps) -> None:
    report = steps[step_index(steps, "dvc metrics diff main --md")]["run"]
    images = set(re.findall(r"!\[[^\]]*\]\(\./(plots/[\w.]+\.png)\)", report))
    assert {"plots/roc_pr.png", "plots/confusion_matrix.png", "plots/recall_vs_mes.png"} <= images
    assert ">> report.md" in report
    dvc_yaml = (ROOT / "dvc.yaml").read_text()
    assert all(image in dvc_yaml for image in images)


def test_plots_diff_html_is_uploaded(steps) -> None:
    report = steps[step_index(steps, "plots diff")]["run"]
    out = re.search(r"dvc plots diff main --out (\S+)", report)
    upload = steps[step_index(steps, "actions/upload-artifact@")]
    assert out and upload["with"]["path"] == out.group(1)


def test_cml_posts_with_the_job_token(steps) -> None:
    post = steps[step_index(steps, "cml comment create")]
    assert post["env"]["REPO_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"


def test_venv_is_on_path_before_the_pipeline_runs(steps) -> None:
    path_step = step_index(steps, 'echo "$PWD/.venv/bin" >> "$GITHUB_PATH"')
    assert path_step < step_index(steps, ".venv/bin/dvc repro")
