"""A two-point parameter sweep through DVC's experiment queue, on tiny params in a temporary copy.

This is the sweep recipe of docs/experiments.md (``dvc exp run --queue -S ...``, ``dvc queue
start``, ``dvc exp show``) cut to two points and one worker: both queued
experiments must run to completion and show up in ``dvc exp show`` with their
param value and the evaluate stage's metrics.

It is part of ``make test``: 82 s on an idle 2-core machine (one data build, then
two tiny trainings), about 8 min when the cores are shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from support import BIN, load_script

tiny = load_script("tools", "tiny_repo")

GAMMAS = {"gamma-1": 1.0, "gamma-3": 3.0}


def _env(workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(workdir / "src"),  # the copy's package, not the editable install's
    }


def _dvc(workdir: Path, *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [str(BIN / "dvc"), *args],
        cwd=workdir,
        env=_env(workdir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"dvc {' '.join(args)}:\n{result.stderr[-4000:]}"
    return result.stdout


def _start_queue(workdir: Path) -> None:
    """``dvc queue start -j 1``, not captured: the worker it detaches would hold a pipe open."""
    subprocess.run(
        [str(BIN / "dvc"), "queue", "start", "-j", "1"],
        cwd=workdir,
        env=_env(workdir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
        check=True,
    )


def _wait_for_queue(workdir: Path, timeout: float) -> str:
    """Poll ``dvc queue status`` until no task is queued or running; return the last status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _dvc(workdir, "queue", "status")
        if not any(word in status for word in ("Queued", "Running")):
            return status
        time.sleep(5)
    raise AssertionError(f"queue still busy after {timeout} s:\n{status}")


def _experiments(exp_show: list[dict]) -> dict[str, dict]:
    """Experiment name -> its ``data`` block, from ``dvc exp show --json``."""
    return {
        rev["name"]: rev["data"]
        for baseline in exp_show
        for exp in baseline.get("experiments") or []
        for rev in exp["revs"]
    }


def _commit_upstream_stages(workdir: Path) -> None:
    """Reproduce and commit the stages a training sweep leaves alone (data up to `prepare`).

    Stages with uncached outputs are not in DVC's run cache, so without a committed
    lock every queued experiment would rebuild the data; with it, each runs only
    `train` and `evaluate`.
    """
    _dvc(workdir, "repro", "prepare", timeout=900)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "add", "-A"], cwd=workdir, check=True)
    subprocess.run([*git, "commit", "-qm", "data"], cwd=workdir, check=True)


@pytest.mark.slow
def test_queued_two_point_sweep(tmp_path: Path) -> None:
    tiny.copy_repo(tmp_path)
    _commit_upstream_stages(tmp_path)
    for name, gamma in GAMMAS.items():
        _dvc(tmp_path, "exp", "run", "--queue", "-n", name, "-S", f"train.focal_gamma={gamma}")
    _start_queue(tmp_path)
    status = _wait_for_queue(tmp_path, timeout=1500)
    assert status.count("Success") == len(GAMMAS), status

    experiments = _experiments(json.loads(_dvc(tmp_path, "exp", "show", "--json")))
    assert set(experiments) == set(GAMMAS)
    weights = {}
    for name, data in experiments.items():
        assert data["params"]["params.yaml"]["data"]["train"]["focal_gamma"] == GAMMAS[name]
        assert data["metrics"]["metrics/evaluate.json"]["data"]["network"], name
        weights[name] = data["outs"]["checkpoint"]["hash"]
    # The param reached the training: the weights differ. (The tiny run's rounded metrics
    # can coincide, so they prove nothing.)
    assert weights["gamma-1"] != weights["gamma-3"]
