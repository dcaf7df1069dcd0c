"""The ``evaluate`` stage: score every set with every method, then write reports and figures.

:func:`evaluate` loads the trained network, builds the evaluation sets
(:mod:`transit_classifier.judge.assessment`), scores them with the network, the tuned
classical baseline and the two combined, and makes one report per method by
the same procedure. :func:`write_outputs` writes the metrics, the plot data
and the figures, every file atomically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from transit_classifier.io import save_figure, write_csv, write_json
from transit_classifier.learn.model import load_classifier
from transit_classifier.params import fpr_label
from transit_classifier.signal.preprocess import PreprocessSettings

from . import assessment, curves, figures, recovery
from . import evaluation as ev
from .figures import Scored


def method_names(params: dict[str, Any]) -> dict[str, str]:
    """Legend names of the three methods; the baseline's says which search it ran.

    >>> method_names({"evaluate": {"baseline": {"method": "tls"}}})["baseline"]
    'wotan+TLS'
    """
    search = params["evaluate"]["baseline"]["method"].upper()
    return {
        "network": "Conv1D+LSTM",
        "baseline": f"wotan+{search}",
        "combined": f"network or {search}",
    }


# The methods whose test curves are logged, and their file-name suffixes (dvc.yaml plots).
TEST_CURVES = {"network": "", "baseline": "_baseline"}


@dataclass
class Evaluation:
    """Every method's scores of every set, their reports, and the seconds each step took."""

    sets: assessment.EvalSets
    scores: dict[str, dict]
    reports: dict[str, dict]
    timings: dict[str, float]


def evaluate(params: dict[str, Any], model_dir: Path, prepared: Path) -> Evaluation:
    """Score the sets with the network, the baseline and both combined; one report each."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    model, info = load_classifier(model_dir)  # fail fast, before any long work
    settings = PreprocessSettings.from_model(info["preprocess"])  # the model's, read back once
    sets = assessment.build_sets(params, settings, prepared)
    timings["sets"] = time.perf_counter() - start
    network, inverted = assessment.network_scores(model, settings, sets)
    scores = {"network": network}
    timings["network"] = time.perf_counter() - start - sum(timings.values())
    scores["baseline"], baseline_info = assessment.baseline_scores(params, sets)
    timings["baseline"] = time.perf_counter() - start - sum(timings.values())
    scores["combined"] = assessment.combined_scores(scores, sets)
    reports = {method: assessment.method_report(s, sets, params) for method, s in scores.items()}
    reports["baseline"]["search"] = baseline_info
    cuts = {
        name: block["threshold"]["value"] for name, block in reports["network"]["detection"].items()
    }
    reports["network"]["upside_down"] = assessment.upside_down_check(sets, network, inverted, cuts)
    return Evaluation(sets, scores, reports, timings)


def operating_points(reports: dict[str, dict], rule: str) -> dict[str, float]:
    """The network's validation-chosen thresholds, shipped with the released model.

    The report's headline threshold follows ``evaluate.threshold`` (``rule``); it is
    stored as ``max_f1`` only when it is one. A ``target_fpr`` threshold is already
    among the detection points under its FPR name, so it is not stored twice.
    """
    points = {"max_f1": reports["network"]["threshold"]} if rule == "max_f1" else {}
    for name, block in reports["network"]["detection"].items():
        points[name] = block["threshold"]["value"]
    return points


def recall_curves(
    sets: assessment.EvalSets, scores: dict[str, dict], reports: dict[str, dict], params: dict
) -> list[pd.DataFrame]:
    """One table per injection source: recall per MES bin of each method at each FPR."""
    ev_params = params["evaluate"]
    fprs = (ev_params["target_fpr"], ev_params["strict_fpr"])
    tables = []
    for source, table in sets.injected.items():
        detected = {
            f"{method}_{fpr_label(f)}": scores[method][f"{source}_injected"]
            >= reports[method]["detection"][fpr_label(f)]["threshold"]["value"]
            for method in scores
            for f in fprs
        }
        ceilings = {fpr_label(f): f for f in fprs}
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


def write_outputs(
    params: dict[str, Any], run: Evaluation, metrics: Path, plots: Path, search: dict[str, Any]
) -> None:
    """Metrics, plot data and figures; every file written atomically.

    The test split's ROC, PR and confusion data go through dvclive
    (:func:`curves.log_test_curves`) into ``metrics/evaluate_live``, beside
    training's ``metrics/train_live``.
    """
    sets, scores, reports = run.sets, run.scores, run.reports
    fpr = fpr_label(params["evaluate"]["target_fpr"])
    headline = {**assessment.headline_metrics(reports, fpr), "search": search}
    write_json(metrics / "evaluate.json", headline)
    for method in ("network", "baseline", "combined"):
        write_json(metrics / f"{method}.json", reports[method])
    names = method_names(params)
    scored = {
        method: Scored(names[method], sets.test["y"], s["test"], reports[method]["threshold"])
        for method, s in scores.items()
    }
    # The combined score is minus a tail fraction (assessment.combined_scores), so its
    # raw threshold reads as "-0.0009", or "-0" once rounded: state the fraction.
    tail = f"either tail p <= {-scored['combined'].threshold:.3g} (validation)"
    scored["combined"] = replace(scored["combined"], rule=tail)
    curves.log_test_curves(
        metrics / "evaluate_live",
        sets.test["y"],
        {suffix: (scores[m]["test"], scored[m].predicted) for m, suffix in TEST_CURVES.items()},
    )
    recall = recall_curves(sets, scores, reports, params)
    for curve in recall:
        write_csv(
            plots / f"recall_vs_mes_{curve['source'].iloc[0]}.csv", curve.drop(columns="source")
        )
    cut = {m: reports[m]["detection"][fpr]["threshold"]["value"] for m in scores}
    write_json(metrics / "head_to_head.json", head_to_head(sets, scores, cut, params))
    write_real_by_star(sets, scores, cut, fpr, metrics / "real_by_star.json")
    save_figure(figures.plot_roc_pr(list(scored.values())), plots / "roc_pr.png")
    save_figure(figures.plot_confusions(list(scored.values())), plots / "confusion_matrix.png")
    save_figure(figures.recall_vs_mes(recall, names), plots / "recall_vs_mes.png")
    print_summary(reports, fpr)


def write_real_by_star(
    sets: assessment.EvalSets,
    scores: dict[str, dict],
    cut: dict[str, float],
    fpr: str,
    path: Path,
) -> None:
    """``metrics/real_by_star.json``: the network and the baseline on each test star."""
    real = sets.real_test
    stars = ev.real_by_star(
        real["kepid"],
        real["y"],
        {"model": scores["network"]["real_test"], "baseline": scores["baseline"]["real_test"]},
        {"model": cut["network"], "baseline": cut["baseline"]},
    )
    write_json(
        path,
        {"threshold_fpr": fpr, "thresholds": cut, "n_stars": len(stars), "stars": stars},
    )


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
