"""Evaluation: hand-checked metrics, validation-only thresholds, deterministic bootstrap, schema."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from transit_classifier.errors import UserError
from transit_classifier.judge import curves
from transit_classifier.judge import evaluation as ev
from transit_classifier.seeding import make_rng

# Hand-made validation set: F1 is 0.667, 0.5, 0.8, 0.667 at thresholds 0.9, 0.6, 0.5, 0.3.
VAL_Y = np.array([0, 0, 0, 0, 1, 1])
VAL_S = np.array([0.1, 0.2, 0.3, 0.6, 0.5, 0.9])
# Hand-made test set: at 0.5 -> tp 3 (0.7, 0.95, 0.5), fp 1 (0.55), fn 1 (0.45), tn 3.
TEST_Y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
TEST_S = np.array([0.2, 0.55, 0.4, 0.7, 0.45, 0.95, 0.1, 0.5])


def scored_set(n: int, n_pos: int, separation: float, seed: int = 0):
    """Gaussian scores: positives shifted up by ``separation`` standard deviations."""
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(n - n_pos, int), np.ones(n_pos, int)]
    return labels, rng.normal(0, 1, n) + separation * labels


def test_max_f1_threshold_matches_hand_computation():
    chosen = ev.choose_threshold(VAL_S, VAL_Y, "max_f1", 0.01)
    assert chosen["value"] == pytest.approx(0.5)
    assert chosen["chosen_on"] == "validation"
    assert chosen["validation"]["f1"] == pytest.approx(0.8)
    assert chosen["validation"]["precision"] == pytest.approx(2 / 3)
    assert chosen["validation"]["recall"] == pytest.approx(1.0)
    assert chosen["validation"]["fpr"] == pytest.approx(0.25)


def test_target_fpr_threshold_is_lowest_within_budget():
    # 4 negatives: a 25% budget allows one false positive (0.6), not two.
    chosen = ev.choose_threshold(VAL_S, VAL_Y, "target_fpr", 0.25)
    assert 0.3 < chosen["value"] <= 0.3 + 1e-12
    assert chosen["validation"]["fpr"] == pytest.approx(0.25)
    assert chosen["target_fpr"] == 0.25
    strict = ev.choose_threshold(VAL_S, VAL_Y, "target_fpr", 0.1)
    assert 0.6 < strict["value"] < 0.9
    assert strict["validation"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "fpr": 0.0}
    )
    labels, scores = scored_set(2000, 200, 2.0)
    value = ev.choose_threshold(scores, labels, "target_fpr", 0.01)["value"]
    negatives = np.sort(scores[labels == 0])[::-1]
    assert np.mean(negatives >= value) <= 0.01
    assert np.mean(negatives >= np.nextafter(value, -np.inf) - 1e-12) > 0.01


def test_threshold_sees_only_validation_data():
    assert list(inspect.signature(ev.choose_threshold).parameters) == [
        "val_scores",
        "val_labels",
        "rule",
        "target_fpr",
    ]


def test_single_class_validation_is_a_user_error():
    with pytest.raises(UserError, match="single class"):
        ev.choose_threshold(VAL_S, np.zeros(6), "max_f1", 0.01)


def test_classification_summary_matches_hand_computation():
    summary = ev.classification_summary(TEST_Y, TEST_S, 0.5)
    assert summary["confusion"] == {"tn": 3, "fp": 1, "fn": 1, "tp": 3}
    assert summary["accuracy"] == pytest.approx(0.75)
    transit = summary["report"]["transit"]
    assert transit["precision"] == pytest.approx(0.75)
    assert transit["recall"] == pytest.approx(0.75)
    assert transit["f1-score"] == pytest.approx(0.75)
    assert transit["support"] == 4
    assert summary["report"]["no_transit"]["precision"] == pytest.approx(0.75)
    assert set(summary["report"]) >= {"accuracy", "macro avg", "weighted avg"}
    assert summary["roc_auc"] == pytest.approx(14 / 16)  # 14 of 16 pairs ordered
    assert summary["pr_auc"] == pytest.approx(0.25 + 0.25 + 0.25 * 3 / 4 + 0.25 * 4 / 5)


def test_resample_metrics_match_sklearn_with_ties():
    labels, scores = scored_set(40, 8, 1.0, seed=2)
    scores = np.round(scores, 1)  # plenty of tied scores
    indices = make_rng(0, "test").integers(0, 40, size=(25, 40))
    got = ev.resample_metrics(labels, scores, 0.5, indices)
    rows = [i for i in range(25) if 0 < labels[indices[i]].sum() < 40]
    assert got["valid"].sum() == len(rows)
    for k, i in enumerate(rows):
        y, s = labels[indices[i]], scores[indices[i]]
        assert got["roc_auc"][k] == pytest.approx(roc_auc_score(y, s))
        assert got["pr_auc"][k] == pytest.approx(average_precision_score(y, s))
        assert got["f1"][k] == pytest.approx(f1_score(y, s >= 0.5))


def test_bootstrap_is_deterministic_and_brackets_the_estimate():
    labels, scores = scored_set(300, 30, 1.5, seed=3)
    runs = [
        ev.bootstrap_intervals(labels, scores, 0.75, make_rng(7, "bootstrap"), 500)
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    point = ev.classification_summary(labels, scores, 0.75)
    for key, value in (
        ("roc_auc", point["roc_auc"]),
        ("pr_auc", point["pr_auc"]),
        ("transit_f1", point["report"]["transit"]["f1-score"]),
    ):
        assert runs[0][key]["low"] < value < runs[0][key]["high"]
    assert runs[0]["n_positive"] == 30 and runs[0]["skipped_single_class"] == 0
    other = ev.bootstrap_intervals(labels, scores, 0.75, make_rng(8, "bootstrap"), 500)
    assert other != runs[0]


def test_bootstrap_skips_and_counts_single_class_resamples():
    labels = np.r_[np.zeros(19, int), 1]
    scores = np.linspace(0, 1, 20)
    out = ev.bootstrap_intervals(labels, scores, 0.5, make_rng(0, "bootstrap"), 1000)
    # P(no positive in 20 draws) = 0.95**20 ~ 36%.
    assert 250 < out["skipped_single_class"] < 470
    assert out["used"] + out["skipped_single_class"] == 1000
    assert out["n_positive"] == 1


def test_full_report_handles_a_single_class_source():
    labels, scores = scored_set(200, 40, 2.0, seed=4)
    sources = np.where(np.arange(200) < 30, "real", "synthetic")  # real: negatives only
    threshold = ev.choose_threshold(scores, labels, "max_f1", 0.01)
    report = ev.full_report(labels, scores, sources, threshold, 0, 200)
    real = report["by_source"]["real"]
    assert real["roc_auc"] is None and real["pr_auc"] is None
    assert "need both classes" in real["auc_note"]
    assert real["bootstrap"]["used"] == 0 and real["bootstrap"]["roc_auc"]["low"] is None
    assert real["confusion"]["tp"] == real["confusion"]["fn"] == 0
    synthetic = report["by_source"]["synthetic"]
    assert synthetic["roc_auc"] > 0.8 and synthetic["bootstrap"]["used"] == 200
    assert report["n"] == 200 and report["n_positive"] == 40


def test_test_curves_are_logged_by_dvclive_as_sklearn_computes_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a git repository: dvclive touches nothing around it
    labels, scores = scored_set(400, 40, 1.0, seed=7)
    baseline = scores + np.random.default_rng(1).normal(0, 1, 400)
    live = tmp_path / "metrics" / "evaluate_live"
    (live / "stale.json").parent.mkdir(parents=True)
    (live / "stale.json").write_text("{}")  # a previous run's file does not survive
    methods = {"": (scores, scores >= 1.0), "_baseline": (baseline, baseline >= 1.0)}
    curves.log_test_curves(live, labels, methods)
    sk = live / curves.SKLEARN_PLOTS
    assert sorted(p.name for p in sk.iterdir()) == [
        f"{kind}{suffix}.json"
        for kind in ("confusion", "precision_recall", "roc")
        for suffix in ("", "_baseline")
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics"]
    assert sorted(p.name for p in live.iterdir()) == ["plots"]
    roc = json.loads((sk / "roc_baseline.json").read_text())["roc"]
    fpr, tpr, _ = roc_curve(labels, baseline, drop_intermediate=True)
    np.testing.assert_allclose([[r["fpr"], r["tpr"]] for r in roc], np.c_[fpr, tpr])
    pr = json.loads((sk / "precision_recall.json").read_text())["precision_recall"]
    precision, recall, _ = precision_recall_curve(labels, scores, drop_intermediate=True)
    got = [[r["precision"], r["recall"]] for r in pr]  # sklearn's last point has no threshold
    np.testing.assert_allclose(got, np.c_[precision, recall][:-1])
    rows = json.loads((sk / "confusion.json").read_text())
    assert len(rows) == 400 and {r["actual"] for r in rows} == set(ev.CLASS_NAMES)
    found = sum(r == {"actual": "transit", "predicted": "transit"} for r in rows)
    assert found == int(np.sum((labels == 1) & (scores >= 1.0)))


def test_real_by_star():
    kepid = np.array([11, 11, 11, 22, 22])
    labels = np.array([1, 0, 1, 0, 0])
    stars = ev.real_by_star(
        kepid,
        labels,
        {"model": np.array([0.9, 0.8, 0.1, 0.2, 0.3]), "bls": np.array([9, 1, 8, 2, 12.0])},
        {"model": 0.5, "bls": 7.1},
    )
    assert stars["11"] == {
        "windows": 3,
        "transit_windows": 2,
        "flagged_windows": 2,
        "true_positive_windows": 1,
        "max_score": 0.9,
        "bls_flagged_windows": 2,
        "bls_true_positive_windows": 2,
        "bls_max_score": 9.0,
    }
    assert stars["22"]["transit_windows"] == 0 and stars["22"]["bls_flagged_windows"] == 1


def test_headline_metrics_pick_the_judged_numbers_from_the_full_reports():
    from transit_classifier.judge.assessment import headline_metrics

    def detection(scale: float) -> dict:
        bins = {"recall_mes_7p1_to_10": 0.4 * scale, "recall_mes_ge_10": 0.9 * scale}
        return {
            "fpr_1pct": {
                "synthetic_injections": dict(bins),
                "real_injections": {k: v / 2 for k, v in bins.items()},
                "real_koi_windows": {"recall_mes_ge_10": 0.95},
                "real_non_koi_flag_rate": {"rate": 0.01},
            }
        }

    reports = {
        method: {
            "roc_auc": 0.9,
            "pr_auc": 0.8,
            "threshold": 0.6,
            "report": {"transit": {"f1-score": 0.7}},
            "detection": detection(scale),
        }
        for method, scale in (("network", 1.0), ("baseline", 0.5), ("combined", 1.0))
    }
    head = headline_metrics(reports, "fpr_1pct")
    assert list(head) == ["network", "baseline", "combined"]
    assert list(head["network"]) == [
        "roc_auc",
        "pr_auc",
        "recall_syn_mes_7p1_to_10",
        "recall_syn_mes_ge_10",
        "recall_real_mes_7p1_to_10",
        "recall_real_mes_ge_10",
        "koi_recall_mes_ge_10",
        "non_koi_flag_rate",
    ]
    for method in ("baseline", "combined"):
        assert list(head[method]) == ["roc_auc", "recall_real_mes_ge_10"]
    assert sum(len(block) for block in head.values()) == 12  # `dvc exp show` stays narrow
    assert head["network"]["recall_real_mes_ge_10"] == pytest.approx(0.45)
    assert head["baseline"]["recall_real_mes_ge_10"] == pytest.approx(0.225)
    assert head["network"]["non_koi_flag_rate"] == 0.01


def test_combined_score_takes_the_rarer_of_the_two_validation_tail_fractions():
    from transit_classifier.judge.assessment import EvalSets, combined_scores

    negatives = np.arange(100, dtype=float) / 100  # validation negatives score 0.00 ... 0.99
    val_y = np.zeros(100, int)
    sets = EvalSets(flux={}, val={"y": val_y}, test={}, real_test={})
    scores = {
        method: {"val": negatives, "val_real_negatives": np.array([]), "test": test}
        for method, test in (
            ("network", np.array([0.995, 0.5, 0.0])),
            ("baseline", np.array([0.0, 0.985, 0.5])),
        )
    }
    combined = combined_scores(scores, sets)
    # tail fractions: network 0.0 / 0.5 / 1.0, baseline 1.0 / 0.01 / 0.5
    assert combined["test"] == pytest.approx([0.0, -0.01, -0.5])
    # a higher score on both methods is never a less transit-like combination
    assert np.all(np.diff(combined["val"]) >= 0)


def _hand_written_bootstrap(labels, scores, threshold, rng, n_resamples):
    """The loop-free percentile bootstrap this module had before scipy.stats.bootstrap."""
    indices = rng.integers(0, len(labels), size=(n_resamples, len(labels)))
    metrics = ev.resample_metrics(labels, scores, threshold, indices)
    names = (("roc_auc", "roc_auc"), ("pr_auc", "pr_auc"), ("f1", "transit_f1"))
    return int(metrics["valid"].sum()), {
        key: tuple(np.percentile(metrics[name], [2.5, 97.5])) for name, key in names
    }


@pytest.mark.parametrize(
    ("n", "n_pos", "threshold", "seed"), [(300, 30, 0.75, 7), (20, 1, 0.5, 0), (60, 3, 0.0, 5)]
)
def test_scipy_bootstrap_gives_the_hand_written_intervals(n, n_pos, threshold, seed):
    """Same seed, same resamples, same percentiles: scipy draws the indices exactly as the old
    code did (one ``rng.integers(0, n, (resamples, n))``); only the last bit may differ."""
    labels, scores = scored_set(n, n_pos, 1.5, seed=seed)
    got = ev.bootstrap_intervals(labels, scores, threshold, make_rng(seed, "bootstrap"), 400)
    used, expected = _hand_written_bootstrap(
        labels, scores, threshold, make_rng(seed, "bootstrap"), 400
    )
    assert got["used"] == used and got["skipped_single_class"] == 400 - used
    for key, (low, high) in expected.items():
        assert (got[key]["low"], got[key]["high"]) == pytest.approx((low, high), rel=1e-12)


def test_wilson_interval_is_astropy_and_matches_the_hand_written_formula():
    """astropy's z is 1.959963984540054 where ours was typed as 1.959964: bounds agree to 1e-8."""
    hits = np.array([0, 1, 5, 19, 20, 0, 3])
    n = np.array([20, 20, 20, 20, 20, 0, 7])
    z = 1.959964
    with np.errstate(invalid="ignore", divide="ignore"):
        p = hits / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    low, high = ev.wilson_interval(hits, n)
    np.testing.assert_allclose(low, np.clip(centre - half, 0, 1), atol=1e-8)
    np.testing.assert_allclose(high, np.clip(centre + half, 0, 1), atol=1e-8)
    assert np.isnan(low[5]) and np.isnan(high[5])  # an empty bin has no interval
    assert low[0] == 0.0 and high[4] == pytest.approx(1.0)
