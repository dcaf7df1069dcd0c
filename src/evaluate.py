"""Stage `evaluate`: the network and the tuned classical baseline, scored identically.

Thresholds and the baseline's settings are chosen on validation data only; the
test split, the test stars' real windows and the injections into them are
scored once.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from transit_classifier import artifact, assessment, figures, recovery, stage
from transit_classifier import evaluation as ev
from transit_classifier.io import save_figure, write_csv, write_json
from transit_classifier.model import load_classifier, predict_proba
from transit_classifier.params import load_params
from transit_classifier.preprocess import preprocess

MODEL_DIR = "models"
ARTIFACT_DIR = "model"
NAMES = {"network": "Conv1D+LSTM", "baseline": "wotan+BLS", "combined": "network or BLS"}


def network_scores(model: Any, info: dict[str, Any], sets: assessment.EvalSets) -> dict:
    """Transit probabilities of every set, through the model's own preprocessing settings."""
    return {
        name: predict_proba(model, preprocess(flux, info["preprocess"]))
        for name, flux in sets.flux.items()
    }


def baseline_scores(params: dict[str, Any], sets: assessment.EvalSets) -> tuple[dict, dict]:
    """The classical search tuned on the validation split, then run on every other set."""
    from transit_classifier.baseline import tune

    search, statistic, val_results, info = tune(params, sets.flux["val"], sets.val["y"])
    scores = {"val": val_results[statistic].to_numpy()}
    for name, flux in sets.flux.items():
        if name != "val":
            scores[name] = search.search(flux)[statistic].to_numpy()
    return scores, info


def combined_scores(scores: dict[str, dict], sets: assessment.EvalSets) -> dict:
    """The network and the baseline as one detector, calibrated on validation negatives only.

    The two miss different transits (``metrics/head_to_head.json``), so each
    score becomes its tail fraction among the validation negatives (an
    empirical p-value) and a light curve scores by the rarer of its two: minus
    the smaller fraction. Its thresholds are then set like the others', so the
    combination pays for its second look in false positives.
    """
    val_negative = sets.val["y"] == 0

    def tail(method: str, values: np.ndarray) -> np.ndarray:
        by_set = scores[method]
        negatives = np.sort(np.r_[by_set["val"][val_negative], by_set["val_real_negatives"]])
        return 1.0 - np.searchsorted(negatives, values, side="left") / negatives.size

    return {
        name: -np.minimum(tail("network", values), tail("baseline", scores["baseline"][name]))
        for name, values in scores["network"].items()
    }


def recall_curves(
    sets: assessment.EvalSets, scores: dict[str, dict], reports: dict[str, dict], params: dict
) -> Any:
    """One table per injection source: recall per MES bin of each method at each FPR."""
    ev_params = params["evaluate"]
    fprs = (ev_params["target_fpr"], ev_params["strict_fpr"])
    tables = []
    for source, table in sets.injected.items():
        detected = {
            f"{method}_{recovery.fpr_label(f)}": scores[method][f"{source}_injected"]
            >= reports[method]["detection"][recovery.fpr_label(f)]["threshold"]["value"]
            for method in scores
            for f in fprs
        }
        ceilings = {recovery.fpr_label(f): f for f in fprs}
        curve = recovery.recall_table(table["mes"], detected, ev_params["mes_bins"], ceilings)
        tables.append(curve.assign(source=source))
    return tables


def head_to_head(
    sets: assessment.EvalSets, scores: dict[str, dict], cut: dict[str, float], params: dict
) -> dict[str, list]:
    """Per injection source and MES bin, which transits each method alone finds (paired counts).

    Recall per bin hides whether the two methods miss the same transits; the
    paired counts say whether a combination would pay.
    """
    out = {}
    for source, table in sets.injected.items():
        found = {m: scores[m][f"{source}_injected"] >= cut[m] for m in ("network", "baseline")}
        duel = recovery.head_to_head(
            table["mes"], found["network"], found["baseline"], params["evaluate"]["mes_bins"]
        )
        out[source] = duel.rename(
            columns={"first_only": "network_only", "second_only": "baseline_only"}
        ).to_dict(orient="records")
    return out


def main() -> None:
    params = load_params()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    model, info = load_classifier(MODEL_DIR)  # fail fast, before any long work
    sets = assessment.build_sets(params, info["preprocess"])
    timings["sets"] = time.perf_counter() - start
    scores = {"network": network_scores(model, info, sets)}
    timings["network"] = time.perf_counter() - start - sum(timings.values())
    scores["baseline"], baseline_info = baseline_scores(params, sets)
    timings["baseline"] = time.perf_counter() - start - sum(timings.values())
    scores["combined"] = combined_scores(scores, sets)
    reports = {method: assessment.method_report(s, sets, params) for method, s in scores.items()}
    reports["baseline"]["search"] = baseline_info
    write_outputs(params, sets, scores, reports)
    points = {"max_f1": reports["network"]["threshold"]}
    for name, block in reports["network"]["detection"].items():
        points[name] = block["threshold"]["value"]
    artifact.complete(MODEL_DIR, ARTIFACT_DIR, points, artifact.DEFAULT_POINT)
    print("timing (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


def write_outputs(
    params: dict[str, Any],
    sets: assessment.EvalSets,
    scores: dict[str, dict],
    reports: dict[str, dict],
) -> None:
    """Metrics, plot data and figures; every file written atomically.

    The ROC, PR and confusion data are written here rather than with dvclive's
    ``Live.log_sklearn_plot``: that logs one method per plot file under its own
    directory, while ``dvc.yaml``'s top-level plots overlay the network and the
    baseline in one chart, and :func:`evaluation.roc_points` thins the curves
    so the committed CSVs stay small. Training curves do go through dvclive.
    """
    fpr = recovery.fpr_label(params["evaluate"]["target_fpr"])
    write_json("metrics/evaluate.json", assessment.headline_metrics(reports, fpr))
    write_json("metrics/network.json", reports["network"])
    write_json("metrics/baseline.json", reports["baseline"])
    write_json("metrics/combined.json", reports["combined"])
    scored = {
        method: ev.Scored(NAMES[method], sets.test["y"], s["test"], reports[method]["threshold"])
        for method, s in scores.items()
    }
    for method, suffix in (("network", ""), ("baseline", "_baseline")):
        write_csv(f"plots/roc{suffix}.csv", ev.roc_points(sets.test["y"], scores[method]["test"]))
        write_csv(f"plots/pr{suffix}.csv", ev.pr_points(sets.test["y"], scores[method]["test"]))
        write_csv(
            f"plots/confusion{suffix}.csv",
            ev.confusion_rows(sets.test["y"], scored[method].predicted),
        )
    curves = recall_curves(sets, scores, reports, params)
    for curve in curves:
        write_csv(
            f"plots/recall_vs_mes_{curve['source'].iloc[0]}.csv", curve.drop(columns="source")
        )
    cut = {m: reports[m]["detection"][fpr]["threshold"]["value"] for m in scores}
    write_json("metrics/head_to_head.json", head_to_head(sets, scores, cut, params))
    real = sets.real_test
    stars = ev.real_by_star(
        real["kepid"],
        real["y"],
        {"model": scores["network"]["real_test"], "baseline": scores["baseline"]["real_test"]},
        {"model": cut["network"], "baseline": cut["baseline"]},
    )
    write_json(
        "metrics/real_by_star.json",
        {"threshold_fpr": fpr, "thresholds": cut, "n_stars": len(stars), "stars": stars},
    )
    save_figure(figures.plot_roc_pr(list(scored.values())), "plots/roc_pr.png")
    save_figure(figures.plot_confusions(list(scored.values())), "plots/confusion_matrix.png")
    save_figure(figures.recall_vs_mes(curves, NAMES), "plots/recall_vs_mes.png")
    print_summary(reports, fpr)


def print_summary(reports: dict[str, dict], fpr: str) -> None:
    """Headline numbers on stdout (never written to outputs)."""
    for method, report in reports.items():
        det = report["detection"][fpr]
        syn, real = det["synthetic_injections"], det["real_injections"]
        print(
            f"{method}: ROC-AUC {report['roc_auc']:.3f} PR-AUC {report['pr_auc']:.3f}; at {fpr}: "
            f"recall MES 7.1-10 syn {syn['recall_mes_7p1_to_10']} real "
            f"{real['recall_mes_7p1_to_10']}, MES>=10 syn {syn['recall_mes_ge_10']} real "
            f"{real['recall_mes_ge_10']}; KOI windows MES>=10 "
            f"{det['real_koi_windows']['recall_mes_ge_10']}; non-KOI flag rate "
            f"{det['real_non_koi_flag_rate']['rate']}"
        )


if __name__ == "__main__":
    stage.run(main)
