"""Seed-to-seed spread of the headline metrics, and the Kepler-90 h check, from `dvc exp` runs.

Usage (from the repository root, after the default run and a seed sweep):

    dvc exp run --queue -S train.seed=1 -n seed-1
    dvc exp run --queue -S train.seed=2 -n seed-2
    dvc queue start -j 1 && dvc queue status      # wait until both succeed
    python studies/seed_report.py seed-1 seed-2    # writes reports/seeds.md and seeds.json

For every run (the workspace, seed 0, plus each named experiment) it reads the
committed metrics with ``git show``, fetches the model with ``dvc get``, and
scores the Kepler-90 Q5 fixture with ``transit-classifier predict`` at that
run's own validation-chosen 1%-FPR threshold: the windows that hold planet h's
transit (BKJD 472.1, 14.5 h) must be flagged by every seed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from transit_classifier import stage
from transit_classifier.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "reports"
FIXTURE = ROOT / "tests/fixtures/kepler/kplr011442793-2010174085026_llc.fits"
KEPLER_90_H = (472.10, 0.30)  # predicted mid-transit (BKJD) and half-duration (d), KOI table
HEADLINE = {
    "test ROC-AUC": ("roc_auc",),
    "test PR-AUC": ("pr_auc",),
    "synthetic recall, MES 7.1-10, 1% FPR": (
        "detection",
        "fpr_1pct",
        "synthetic_injections",
        "recall_mes_7p1_to_10",
    ),
    "synthetic recall, MES >= 10, 1% FPR": (
        "detection",
        "fpr_1pct",
        "synthetic_injections",
        "recall_mes_ge_10",
    ),
    "real-noise recall, MES 7.1-10, 1% FPR": (
        "detection",
        "fpr_1pct",
        "real_injections",
        "recall_mes_7p1_to_10",
    ),
    "real-noise recall, MES >= 10, 1% FPR": (
        "detection",
        "fpr_1pct",
        "real_injections",
        "recall_mes_ge_10",
    ),
    "real KOI windows flagged, MES >= 10, 1% FPR": (
        "detection",
        "fpr_1pct",
        "real_koi_windows",
        "recall_mes_ge_10",
    ),
    "real non-KOI flag rate, 1% FPR": (
        "detection",
        "fpr_1pct",
        "real_non_koi_flag_rate",
        "rate",
    ),
}


def run(*cmd: str) -> str:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout


def resolve(name: str) -> str:
    """The commit of a revision or of a local ``dvc exp`` name (its newest run, if several)."""
    found = subprocess.run(
        ("git", "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"),
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    if not found:
        refs = run(
            "git",
            "for-each-ref",
            "--sort=-committerdate",
            "--format=%(objectname)",
            f"refs/exps/*/*/{name}",
        ).split()
        found = refs[:1]
    if not found:
        raise UserError(f"{name}: no such revision or experiment; see `dvc exp list`")
    return found[0]


def run_label(rev: str) -> str:
    """``seed N``, N read from the run's own params (experiment refs are local to one machine,
    so they are not written into reports)."""
    seed = yaml.safe_load(run("git", "show", f"{rev}:params.yaml"))["train"]["seed"]
    return f"seed {seed}"


def metrics_at(rev: str | None) -> dict:
    if rev is None:
        return json.loads((ROOT / "metrics/network.json").read_text())
    return json.loads(run("git", "show", f"{rev}:metrics/network.json"))


def kepler90_h(rev: str | None, threshold: float) -> dict:
    """Score the fixture with this run's model; report the windows holding Kepler-90 h."""
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = ROOT / "checkpoint"
        if rev is not None:
            model_dir = Path(tmp) / "checkpoint"
            run(str(bin_dir / "dvc"), "get", ".", "checkpoint", "--rev", rev, "-o", str(model_dir))
        out = run(
            str(bin_dir / "transit-classifier"),
            "predict",
            str(FIXTURE),
            "--json",
            "--model-dir",
            str(model_dir),
            "--threshold",
            f"{threshold:.6f}",
        )
    windows = json.loads(out)["inputs"][0]["windows"]
    mid, half = KEPLER_90_H
    holds = [w for w in windows if w["start"] < mid - half and w["end"] > mid + half]
    return {
        "h_windows": len(holds),
        "h_flagged": sum(w["verdict"] == "transit" for w in holds),
        "h_probabilities": [w["probability"] for w in holds],
        "flagged_elsewhere": sum(w["verdict"] == "transit" for w in windows if w not in holds),
        "windows": len(windows),
    }


def value(block: dict, path: tuple[str, ...]) -> float | None:
    for key in path:
        block = block[key]
    return block


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="+", help="experiment names or revisions")
    args = parser.parse_args()
    runs: dict[str, str | None] = {"seed 0 (workspace)": None}
    revs = [resolve(name) for name in args.experiments]
    runs.update({run_label(rev): rev for rev in revs})
    table, record = [], {}
    for label, rev in runs.items():
        metrics = metrics_at(rev)
        threshold = metrics["detection"]["fpr_1pct"]["threshold"]["value"]
        record[label] = {
            **{name: value(metrics, path) for name, path in HEADLINE.items()},
            "kepler90": kepler90_h(rev, threshold),
        }
    names = list(HEADLINE)
    lines = [
        "| metric | " + " | ".join(runs) + " | spread (max - min) |",
        "|---|" + "---:|" * (len(runs) + 1),
    ]
    for name in names:
        values = [record[label][name] for label in runs]
        finite = [v for v in values if v is not None]
        spread = f"{max(finite) - min(finite):.3f}" if finite else "n/a"
        lines.append(
            f"| {name} | "
            + " | ".join("n/a" if v is None else f"{v:.3f}" for v in values)
            + f" | {spread} |"
        )
    k90 = [record[label]["kepler90"] for label in runs]
    lines.append(
        "| Kepler-90 h windows flagged (fixture Q5) | "
        + " | ".join(f"{k['h_flagged']} of {k['h_windows']}" for k in k90)
        + " | |"
    )
    lines.append(
        "| Kepler-90 h window probabilities | "
        + " | ".join(", ".join(f"{p:.3f}" for p in k["h_probabilities"]) for k in k90)
        + " | |"
    )
    lines.append(
        "| other fixture windows flagged | "
        + " | ".join(f"{k['flagged_elsewhere']} of {k['windows'] - k['h_windows']}" for k in k90)
        + " | |"
    )
    roc = [record[label]["test ROC-AUC"] for label in runs]
    table = "\n".join(lines)
    summary = (
        f"Seed-to-seed spread of test ROC-AUC: {np.ptp(roc):.4f} over {len(runs)} seeds "
        f"(std {np.std(roc, ddof=1):.4f}); Kepler-90 h flagged by every seed: "
        f"{all(k['h_flagged'] == k['h_windows'] > 0 for k in k90)}."
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "seeds.md").write_text(f"# Seed sweep (`train.seed`)\n\n{table}\n\n{summary}\n")
    (OUT / "seeds.json").write_text(json.dumps(record, indent=2) + "\n")
    print(table)
    print(summary)


if __name__ == "__main__":
    stage.run(main)
