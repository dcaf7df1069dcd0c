"""``studies/white_noise_recall.py``: injections into white noise, scored by the committed model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import load_script

from transit_classifier.learn.model import load_classifier
from transit_classifier.params import load_params
from transit_classifier.signal.preprocess import PreprocessSettings

ROOT = Path(__file__).resolve().parents[1]
script = load_script("studies", "white_noise_recall")


def test_injections_reach_their_target_mes() -> None:
    """White-noise hosts have no trend to fight: each transit gets the MES it was drawn at."""
    params = load_params(ROOT / "params.yaml")
    settings = PreprocessSettings.from_model(load_classifier(ROOT / "model")[1]["preprocess"])
    done = script.injected(params, settings, 4)
    table = done.table
    assert len(table) == 4 * (len(params["evaluate"]["mes_bins"]) - 1)
    assert np.allclose(table["mes"], table["target_mes"], rtol=1e-6)
    assert done.flux.shape == (len(table), params["dataset"]["window_length"])
    negatives = script.white_noise(params, 3, "negatives")
    assert np.isfinite(negatives).all() and abs(np.std(negatives) - 1e-4) < 2e-5


def test_main_writes_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small run in a copy of the project: every MES bin, and the loudest transits found."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(ROOT / "model", tmp_path / "model")
    for name in ("metrics/baseline.json", "plots/recall_vs_mes_synthetic.csv"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    script.main(60, 4)
    text = (tmp_path / "reports" / "white_noise_recall.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "[" in line]
    assert len(rows) == 7 and "60 white-noise negatives" in text
    by_period = [
        line
        for line in text.splitlines()
        if line.startswith(("| 5–7.1 |", "| 7.1–10 |")) and "[" not in line
    ]
    assert len(by_period) == 2 * 4 and by_period[0].startswith("| 5–7.1 | 0.8–1.6 |")
    assert sum(int(line.split(" | ")[2]) for line in by_period) == 2 * 4  # every injection
    loudest = rows[-1].split(" | ")
    assert loudest[0] == "| 30–50" and loudest[2].startswith("1.00")  # network, MES 30-50
    benchmark = pd.read_csv(ROOT / "plots/recall_vs_mes_synthetic.csv")
    assert loudest[4] == f"{benchmark['recall_network_fpr_1pct'].iloc[-1]:.2f}"
