"""The PR report script, run for real in a temporary two-commit DVC repository.

GitHub is not reachable here, so ``tools/pr_report.py`` (all the logic the
workflow calls) runs on a tiny project: one stage that turns a param into a
headline metrics file, a detail metrics file and a plot CSV, all changed between
the base commit and the PR commit. A fake ``cml`` on PATH records whether a
comment would have been posted.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCRIPT = ROOT / "tools" / "pr_report.py"

MAKE = """\
import json, pathlib, yaml
gamma = yaml.safe_load(open("params.yaml"))["train"]["gamma"]
pathlib.Path("ran.marker").write_text("stage ran")  # untracked: shows whether repro ran
pathlib.Path("model.txt").write_text(f"weights {gamma}")  # DVC-cached: absent from a clone
json.dump({"roc_auc": round(0.9 - 0.01 * gamma, 3), "pr_auc": 0.5},
          open("metrics/evaluate.json", "w"))
json.dump({"detail": {f"bin_{i}": gamma * i for i in range(30)}},
          open("metrics/details.json", "w"))
open("plots/roc.csv", "w").write(f"fpr,tpr\\n0,0\\n0.1,{0.5 + 0.1 * gamma}\\n1,1\\n")
"""
DVC_YAML = """\
stages:
  evaluate:
    cmd: python make.py
    deps: [make.py]
    params: [train]
    outs:
      - model.txt
      - plots/roc.csv:
          cache: false
    metrics:
      - metrics/evaluate.json:
          cache: false
      - metrics/details.json:
          cache: false
plots:
  - roc:
      x: fpr
      y:
        plots/roc.csv: tpr
"""


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pr_report", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pr_report = _load()


def _env(tmp_path: Path) -> dict[str, str]:
    """PATH with a fake `cml` that logs its arguments, the venv, and a job summary file."""
    fake = tmp_path / "fakebin"
    fake.mkdir(exist_ok=True)
    (fake / "cml").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "cml.log"}\n')
    (fake / "cml").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["PATH"] = os.pathsep.join([str(fake), str(BIN), os.environ["PATH"]])
    env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "summary.md")
    return env


def _commit(repo: Path, env: dict[str, str], gamma: float, message: str) -> None:
    (repo / "params.yaml").write_text(f"train:\n  gamma: {gamma}\n")
    for args in (["dvc", "repro", "-q"], ["git", "add", "-A"]):
        subprocess.run(args, cwd=repo, env=env, check=True, capture_output=True)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "commit", "-qm", message], cwd=repo, check=True)
    (repo / "ran.marker").unlink()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh clone (no DVC cache, as on CI) of branch `pr` (gamma 3), one commit after `main`."""
    upstream = tmp_path / "upstream"
    _make_upstream(upstream, _env(tmp_path))
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", "-b", "pr", str(upstream), str(repo)], check=True)
    return repo


def _make_upstream(repo: Path, env: dict[str, str]) -> None:
    """Branch `main` (gamma 2) and branch `pr` one commit later (gamma 3)."""
    (repo / "metrics").mkdir(parents=True)
    (repo / "plots").mkdir()
    (repo / "make.py").write_text(MAKE)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / ".gitignore").write_text("ran.marker\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=repo, env=env, check=True)
    _commit(repo, env, 2.0, "base")
    subprocess.run(["git", "checkout", "-qb", "pr"], cwd=repo, check=True)
    _commit(repo, env, 3.0, "the PR")


def _report(repo: Path, head_repo: str) -> subprocess.CompletedProcess:
    args = [
        "--base",
        "origin/main",
        "--out",
        "out",
        "--repo",
        "owner/project",
        "--head-repo",
        head_repo,
    ]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=repo,
        env=_env(repo.parent),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_fork_pr_unchanged_pipeline(repo: Path) -> None:
    """Nothing to rerun, a fork: no repro, no comment, report in the summary and artifact."""
    status = subprocess.run(
        ["dvc", "status", "--json"], cwd=repo, env=_env(repo.parent), capture_output=True
    )
    assert "model.txt" in status.stdout.decode()  # not in cache: yet no rerun is needed
    _report(repo, head_repo="someone/project")
    assert not (repo / "ran.marker").exists()
    out = repo / "out"
    report = (out / "report.md").read_text()
    assert "not rerun" in report and "vs `origin/main`" in report
    assert "| roc_auc  | 0.88          | 0.87        | -0.01    |" in report
    assert "metrics/details.json" not in report  # headline file only
    assert "train.gamma" in report and "![" not in report  # no image for CML to upload
    assert (repo.parent / "summary.md").read_text() == report
    assert not (repo.parent / "cml.log").exists()

    assert "bin_29" in (out / "metrics_diff.md").read_text()  # the full diff
    assert json.loads((out / "metrics_diff.json").read_text())["metrics/details.json"]
    assert "train.gamma" in (out / "params_diff.md").read_text()
    assert '"rev": "origin/main"' in (out / "plots_diff" / "index.html").read_text()
    svg = (out / "plots" / "roc.svg").read_text()
    assert svg.startswith("<svg") and ">origin/main<" in svg and ">workspace<" in svg
    assert (out / "plots" / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_repo_pr_with_changed_params(repo: Path) -> None:
    """A changed input reruns the pipeline; a same-repo PR gets the CML comment."""
    (repo / "params.yaml").write_text("train:\n  gamma: 4.0\n")
    result = _report(repo, head_repo="owner/project")
    assert (repo / "ran.marker").exists()
    report = (repo / "out" / "report.md").read_text()
    assert "reproduced" in report and "params.yaml:train" in report
    assert "| roc_auc  | 0.88          | 0.86        | -0.02    |" in report
    cml = (repo.parent / "cml.log").read_text().split()
    assert cml == ["comment", "create", "--publish=false", str(repo / "out" / "report.md")]
    assert "posted" in result.stdout


def test_long_tables_are_cut_with_a_pointer_to_the_artifact() -> None:
    table = "| a | b |\n|---|---|\n" + "".join(f"| {i} | x |\n" for i in range(50))
    section = pr_report.table_section("T", table, 20, "metrics_diff.md")
    assert section.count("| x |") == 20 and "30 more rows in `metrics_diff.md`" in section
    assert "No changes." in pr_report.table_section("T", "| a |\n|---|\n", 20, "x")


def test_only_real_input_changes_trigger_a_rerun() -> None:
    fresh_checkout = {
        "prepare": [
            {"changed deps": {"data/raw": "deleted"}},
            {"changed outs": {"data/prepared": "not in cache"}},
        ]
    }
    assert pr_report.changed_inputs(fresh_checkout) == []
    edited = {
        "train": [{"changed deps": {"src/train.py": "modified", "params.yaml": {"lr": "new"}}}],
        "evaluate": ["changed command"],
    }
    assert pr_report.changed_inputs(edited) == [
        "train: src/train.py modified",
        "train: params.yaml:lr new",
        "evaluate: changed command",
    ]


@pytest.mark.parametrize(
    ("repo_name", "head_repo", "allowed"),
    [("o/r", "o/r", True), ("o/r", "fork/r", False), ("o/r", "", False), ("", "", False)],
)
def test_fork_guard(repo_name: str, head_repo: str, allowed: bool) -> None:
    assert pr_report.may_comment(repo_name, head_repo) is allowed
