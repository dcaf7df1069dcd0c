"""Detection metrics: FPR thresholds on validation negatives, recall per MES bin, ceilings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy.special import expit

from transit_classifier.io import save_figure, write_json
from transit_classifier.judge import assessment, figures, recovery
from transit_classifier.judge.evaluation import threshold_at_fpr
from transit_classifier.params import fpr_label, load_params
from transit_classifier.signal.preprocess import PreprocessSettings
from transit_classifier.simulate import injection


def test_threshold_at_fpr_flags_at_most_the_budget() -> None:
    negatives = np.arange(1000, dtype=float)
    cut = threshold_at_fpr(negatives, 0.01)
    assert cut["allowed_false_positives"] == 10 and cut["n_negatives"] == 1000
    assert np.sum(negatives >= cut["value"]) == 10 and cut["validation_fpr"] == 0.01
    strict = threshold_at_fpr(negatives[:300], 0.001)  # not resolvable: 0 allowed
    assert (
        strict["allowed_false_positives"] == 0 and np.sum(negatives[:300] >= strict["value"]) == 0
    )
    assert fpr_label(0.01) == "fpr_1pct" and fpr_label(0.001) == "fpr_0p1pct"


def test_recall_table_bins_intervals_and_ceiling() -> None:
    mes = np.array([4.0, 6.0, 8.0, 9.0, 12.0, 25.0, 60.0, np.nan])
    found = {"net": np.array([0, 1, 1, 0, 1, 1, 1, 1], bool)}
    table = recovery.recall_table(mes, found, [3, 7.1, 10, 30], {"fpr_1pct": 0.01})
    assert table["n"].tolist() == [2, 2, 2]  # 60 and NaN fall outside the bins
    assert table["recall_net"].tolist() == [0.5, 0.5, 1.0]
    assert (table["recall_net_low"] <= table["recall_net"]).all()
    assert (table["recall_net_high"] >= table["recall_net"]).all()
    # the ceiling is the ideal matched filter's mean recall over each bin's transits
    assert table["ceiling_fpr_1pct"].iloc[2] == pytest.approx(
        np.mean([recovery.matched_filter_recall(np.array([m]), 0.01)[0] for m in (12, 25)])
    )
    assert np.all(np.diff(table["ceiling_fpr_1pct"]) > 0)


def test_headline_and_head_to_head() -> None:
    mes = np.array([7.5, 8.0, 11.0, 12.0, 16.0, 25.0, 40.0])
    first = np.array([1, 0, 1, 1, 1, 1, 1], bool)
    second = np.array([0, 1, 0, 1, 1, 0, 1], bool)
    head = recovery.headline(mes, first)
    assert head["recall_mes_7p1_to_10"] == 0.5 and head["n_mes_7p1_to_10"] == 2
    assert head["recall_mes_ge_10"] == 1.0 and head["n_mes_ge_10"] == 5
    assert head["n_mes_10_to_15"] == 2 and head["n_mes_20_to_30"] == 1
    duel = recovery.head_to_head(mes, first, second, [7.1, 10, 50])
    assert duel[["both", "first_only", "second_only", "neither"]].values.tolist() == [
        [0, 1, 1, 0],
        [3, 2, 0, 0],
    ]


def test_flag_rate_counts_and_interval() -> None:
    rate = recovery.flag_rate(np.array([0.1, 0.9, 0.2, 0.95]), 0.5)
    assert rate["flagged"] == 2 and rate["n"] == 4 and rate["rate"] == 0.5
    assert rate["rate_low"] < 0.5 < rate["rate_high"]


def test_expected_koi_mes_scales_with_depth_and_sees_only_confirmed_planets() -> None:
    cadence = 29.4244 / 1440
    time = np.tile(np.arange(1000) * cadence, (2, 1)) + 100.0
    flux = 1 + 1e-4 * np.random.default_rng(0).standard_normal((2, 1000))
    settings = PreprocessSettings(
        detrend_method="median",
        detrend_windows_days=(0.75, 2.5),
        cadence_minutes=29.4244,
        clip_high_sigma=5.0,
        compress_low_sigma=20.0,
    )
    flats = np.stack([flux, flux])
    koi = pd.DataFrame(
        {
            "kepid": [1, 1, 2],
            "koi_disposition": ["CONFIRMED", "FALSE POSITIVE", "CANDIDATE"],
            "koi_period": [5.0, 3.0, 4.0],
            "koi_time0bk": [101.0, 100.5, 100.2],
            "koi_duration": [4.0, 3.0, 3.0],
            "koi_depth": [300.0, 5000.0, 5000.0],
        }
    )
    value = injection.expected_koi_mes(time, flats, np.array([1, 2]), koi, settings)
    n_transits, n_dur = 4, round(4 / 24 / cadence)  # transits at 101, 106, 111, 116
    expected = 300e-6 / (1e-4 / np.sqrt(n_dur)) * np.sqrt(n_transits)
    assert value[0] == pytest.approx(expected, rel=0.15)
    assert value[1] == 0.0  # star 2 has no confirmed planet


def fake_sets() -> assessment.EvalSets:
    rng = np.random.default_rng(0)
    n = 200
    y = (np.arange(n) % 10 == 0).astype(np.int8)
    real_y = np.r_[np.ones(20), np.zeros(60)].astype(np.int8)
    sets = assessment.EvalSets(
        flux={},
        val={"y": y},
        test={"y": y, "source": np.where(np.arange(n) % 2, "real", "synthetic")},
        real_test={
            "y": real_y,
            "kind": np.where(real_y == 1, "transit", "non_koi"),
            "kepid": np.arange(80) // 10,
            "mes": np.r_[np.linspace(5, 30, 20), np.zeros(60)],
        },
    )
    for source in ("synthetic", "real"):
        sets.injected[source] = pd.DataFrame({"mes": rng.uniform(3, 50, 100)})
    return sets


def fake_scores(sets: assessment.EvalSets, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = {
        "val": rng.normal(0, 1, 200) + 3 * sets.val["y"],
        "val_real_negatives": rng.normal(0, 1, 300),
        "test": rng.normal(0, 1, 200) + 3 * sets.test["y"],
        "real_test": rng.normal(0, 1, 80) + 3 * sets.real_test["y"],
        "synthetic_injected": sets.injected["synthetic"]["mes"].to_numpy() / 5,
        "real_injected": sets.injected["real"]["mes"].to_numpy() / 6,
    }
    return {name: expit(value) for name, value in scores.items()}  # probabilities


def test_method_report_uses_validation_only_and_has_its_schema(tmp_path) -> None:
    params = load_params()
    params["evaluate"]["bootstrap_resamples"] = 100
    sets = fake_sets()
    scores = fake_scores(sets, 1)
    report = assessment.method_report(scores, sets, params)
    # relabelling the test data changes test metrics, never a threshold
    flipped = fake_sets()
    flipped.test["y"] = sets.test["y"][::-1].copy()
    other = assessment.method_report(scores, flipped, params)
    assert report["threshold"] == other["threshold"] and report["roc_auc"] != other["roc_auc"]
    for fpr in ("fpr_1pct", "fpr_0p1pct"):
        det, det_other = report["detection"][fpr], other["detection"][fpr]
        assert det["threshold"] == det_other["threshold"]
        assert det["threshold"]["n_negatives"] == int((sets.val["y"] == 0).sum()) + 300
        assert set(det) == {
            "threshold",
            "synthetic_injections",
            "real_injections",
            "real_koi_windows",
            "real_non_koi_flag_rate",
        }
        assert det["real_koi_windows"]["n"] == 20 and det["real_non_koi_flag_rate"]["n"] == 60
    assert report["threshold_selection"]["chosen_on"] == "validation"
    strict, loose = report["detection"]["fpr_0p1pct"], report["detection"]["fpr_1pct"]
    assert strict["threshold"]["value"] >= loose["threshold"]["value"]
    path = tmp_path / "evaluate.json"
    write_json(path, report)
    assert json.loads(path.read_text())["detection"]["fpr_1pct"]["synthetic_injections"]["n"] == 100


def test_figures_draw_every_method_and_the_ceiling(tmp_path) -> None:
    mes = np.linspace(3, 49, 80)
    found = {
        f"{m}_{f}": mes > cut
        for m, cut in (("network", 8), ("baseline", 12))
        for f in ("fpr_1pct", "fpr_0p1pct")
    }
    ceilings = {"fpr_1pct": 0.01, "fpr_0p1pct": 0.001}
    curves = [
        recovery.recall_table(mes, found, [3, 7.1, 10, 20, 50], ceilings).assign(source=s)
        for s in ("synthetic", "real")
    ]
    fig = figures.recall_vs_mes(curves, {"network": "net", "baseline": "BLS"})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert sum("ideal matched filter" in label for label in labels) == 2
    assert sum(label.startswith(("net,", "BLS,")) for label in labels) == 4
    labels_ = np.r_[np.zeros(90), np.ones(10)]
    methods = [figures.Scored("net", labels_, np.linspace(0, 1, 100), 0.5)]
    roc = figures.plot_roc_pr(methods)
    assert [ax.get_title() for ax in roc.axes] == ["ROC", "Precision-recall"]
    confusion = figures.plot_confusions(methods)
    counts = sorted(int(t.get_text()) for t in confusion.axes[0].texts)
    assert counts == sorted([40, 50, 0, 10])  # tn, fp, fn, tp at threshold 0.5
    save_figure(fig, tmp_path / "recall.png")
    assert (tmp_path / "recall.png").stat().st_size > 10_000


def test_confusion_panel_states_the_combined_rule_not_a_rounded_negative_threshold():
    """The combined score's threshold is minus a tail fraction: its panel states the fraction."""
    labels_ = np.r_[np.zeros(50, int), np.ones(50, int)]
    plain = figures.Scored("net", labels_, np.linspace(0, 1, 100), 0.5)
    scores = -np.linspace(0.01, 0, 100)
    combined = figures.Scored("either", labels_, scores, -4e-5, "tail p <= 4e-05")
    fig = figures.plot_confusions([plain, combined])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["net\nthreshold 0.5", "either\ntail p <= 4e-05"]
