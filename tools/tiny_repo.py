"""A tiny copy of the repository: what a fresh clone holds, with tiny params and no outputs.

Used by the end-to-end tests (``tests/test_pipeline.py``, ``tests/test_sweep.py``) and by
``studies/isa_check.py``, so that all of them run the pipeline on the same tiny params.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "dataset": {"synthetic_negatives": 120, "real_windows": 60, "transit_ratio": 0.1},
    "prepare": {"augment": {"copies_positive": 1}},
    "inject": {"bank_size": 64, "per_epoch": 64},
    "train": {
        "conv_filters": [8],
        "pool_sizes": [8],
        "lstm_units": [8],
        "dense_units": [8],
        "epochs": 2,
        "patience": 1,
        "batch_size": 32,
        "ema_momentum": 0.0,  # a few dozen steps: a ~100-step average would still be the init
    },
    "cadence_head": {"rounds": 1, "injections_per_round": 64, "epochs": 1},
    "evaluate": {
        "bootstrap_resamples": 100,
        "injection_per_bin": 4,
        "baseline": {"periods": 200, "detrend_windows_days": [0.5]},
    },
    "search": {  # a coarse grid and few injections: the stage's path, not its figures
        "durations_hours": [2.0, 6.0],
        "period_min_days": 1.0,
        "oversample": 1.0,
        "max_candidates": 2,
        "null_scrambles": 0,
        "injections_per_bin": 2,
        "inject_period_days": [1.0, 10.0],
        "baseline_nulls": 4,
        "baseline_per_bin": 1,
    },
}


def merge(base: dict, override: dict) -> dict:
    for key, value in override.items():
        if isinstance(value, dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def copy_repo(dest: Path) -> None:
    """Copy what a fresh clone would hold (tracked and new, unignored files) into a new git repo."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    tiny_repo(dest)


def tiny_repo(dest: Path) -> None:
    """Turn a copied tree into a fresh git repo with tiny params and no outputs."""
    for name in ("dvc.lock", "metrics", "plots"):  # outputs are regenerated, not copied
        target = dest / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    params = merge(yaml.safe_load((dest / "params.yaml").read_text()), TINY)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=dest, check=True)  # dvclive needs a HEAD
