"""``studies/auc_ceiling.py``: the ideal-detector ceiling matches closed forms and simulation."""

from __future__ import annotations

import doctest
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import average_precision_score, roc_auc_score
from support import load_script

from transit_classifier.io import save_npz
from transit_classifier.judge.assessment import SPLIT_KEYS
from transit_classifier.params import load_params

ROOT = Path(__file__).resolve().parents[1]
ceiling = load_script("studies", "auc_ceiling")

MES = np.array([2.0, 5.0, 8.0, 15.0])


def test_docstring_examples_hold() -> None:
    assert doctest.testmod(ceiling).failed == 0


def test_known_ephemeris_is_the_closed_form() -> None:
    roc, _, _ = ceiling.ceiling(MES, 1, 100)
    assert roc == pytest.approx(norm.cdf(MES / np.sqrt(2)).mean(), abs=1e-6)


def test_searching_detector_matches_simulation() -> None:
    """ROC-AUC and average precision of a simulated best-of-N detector, same class share."""
    rng = np.random.default_rng(3)
    n_trials, per_mes, n_neg = 30, 4000, 16000
    negative = rng.standard_normal((n_neg, n_trials)).max(axis=1)
    noise = rng.standard_normal((MES.size, per_mes, n_trials - 1)).max(axis=2)
    positive = np.maximum(MES[:, None] + rng.standard_normal((MES.size, per_mes)), noise)
    scores = np.concatenate([positive.ravel(), negative])
    labels = np.concatenate([np.ones(positive.size), np.zeros(n_neg)])
    roc, pr, _ = ceiling.ceiling(MES, n_trials, MES.size * n_neg // positive.size)
    assert roc == pytest.approx(roc_auc_score(labels, scores), abs=0.005)
    assert pr == pytest.approx(average_precision_score(labels, scores), abs=0.01)


def test_auc_scatter_matches_simulation() -> None:
    """Redrawing the transits' noise moves the simulated ROC-AUC by the computed scatter."""
    rng = np.random.default_rng(4)
    n_trials, n_neg, draws = 30, 20000, 400
    negative = rng.standard_normal((n_neg, n_trials)).max(axis=1)
    noise = rng.standard_normal((draws, MES.size, n_trials - 1)).max(axis=2)
    positive = np.maximum(MES + rng.standard_normal((draws, MES.size)), noise)
    aucs = np.mean(np.searchsorted(np.sort(negative), positive) / n_neg, axis=1)
    _, _, std = ceiling.ceiling(MES, n_trials, n_neg)
    assert std == pytest.approx(aucs.std(), rel=0.15)


def test_more_trials_lower_the_ceiling() -> None:
    rocs = [ceiling.ceiling(MES, n, 100)[0] for n in (1, 100, 10_000)]
    assert rocs[0] > rocs[1] > rocs[2] > 0.5


def test_recall_of_known_and_searching_detectors() -> None:
    """N = 1 is the matched filter the evaluate stage draws; searching costs recall at low MES."""
    from transit_classifier.simulate.injection import matched_filter_recall

    known = ceiling.searching_recall(MES, 1, 0.01)
    assert known == pytest.approx(matched_filter_recall(MES, 0.01), abs=1e-9)
    searching = ceiling.searching_recall(MES, 1e4, 0.01)
    assert np.all(searching <= known + 1e-12) and searching[0] < 0.05 < known[0]


def test_bad_mes_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        ceiling.ceiling(np.array([np.nan, 3.0]), 10, 5)


def test_baseline_grid_searches_many_trials() -> None:
    """The tuned BLS on white noise peaks well above 1 sigma: thousands of trials, not a few."""
    peaks = ceiling.baseline_peaks(load_params(ROOT / "params.yaml"), 8)
    n, err = ceiling.effective_trials(peaks)
    assert np.all(peaks > 2.0)
    assert 1e3 < n < 1e7 and err == pytest.approx(n / np.sqrt(8))


def test_main_writes_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    rng = np.random.default_rng(0)
    for name in ("test", "val"):
        y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
        arrays = {key: np.zeros(y.size) for key in SPLIT_KEYS}
        arrays.update(y=y, mes=np.where(y == 1, rng.uniform(3, 20, y.size), 0.0))
        save_npz(tmp_path / "data" / "prepared" / f"{name}.npz", **arrays)
    (tmp_path / "plots").mkdir()
    for source in ("synthetic", "real"):
        table = pd.DataFrame({"mes_bin_low": [3.0, 10.0], "recall_network_fpr_1pct": [0.1, 0.9]})
        table.to_csv(tmp_path / "plots" / f"recall_vs_mes_{source}.csv", index=False)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "network.json").write_text(json.dumps({"roc_auc": 0.9, "pr_auc": 0.8}))
    monkeypatch.chdir(tmp_path)
    ceiling.main(6)
    text = (tmp_path / "reports" / "auc_ceiling.md").read_text()
    assert "## test split: 3 transits" in text and "## val split: 3 transits" in text
    assert text.count("| known ephemeris (N = 1) |") == 2
    assert "(the baseline's grid)" in text and "ROC-AUC 0.900" in text
    assert "| 10–15 | 1.000 |" in text and "| 0.90 | 0.90 |" in text  # ideal, then measured
    assert "| 5–7.1 |" in text and "| nan | nan |" in text  # a bin the run did not fill


def test_missing_pipeline_outputs_give_one_line(tmp_path: Path) -> None:
    """Run before `dvc repro`: one line naming the stage to run, exit 1, no report."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    done = subprocess.run(
        [sys.executable, str(ROOT / "studies" / "auc_ceiling.py"), "4"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: data/prepared/test.npz: not found; run `dvc repro prepare` first"
    ]
    assert not (tmp_path / "reports").exists()
