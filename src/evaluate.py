"""Stage `evaluate`: score the test split once, at thresholds chosen on validation, against BLS."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from transit_classifier import evaluation as ev
from transit_classifier import stage
from transit_classifier.bls import BLSSearch, select_statistic
from transit_classifier.errors import UserError
from transit_classifier.io import load_npz, save_figure, write_csv, write_json
from transit_classifier.model import load_classifier
from transit_classifier.params import load_params
from transit_classifier.preprocess import preprocess
from transit_classifier.seeding import make_rng
from transit_classifier.synthetic import simulate

PREPARED = Path("data/prepared")
MODEL_DIR = "models"
SPLIT_KEYS = ("X", "y", "source", "ids", "kepid", "snr", "flux")
NETWORK = "Conv1D+LSTM"


def load_split(name: str) -> dict[str, np.ndarray]:
    """Read ``data/prepared/<name>.npz`` and check it carries what evaluation needs."""
    path = PREPARED / f"{name}.npz"
    if not path.is_file():
        raise UserError(f"{path}: not found; run `dvc repro prepare` first")
    split = load_npz(path)
    missing = [key for key in SPLIT_KEYS if key not in split]
    if missing:
        raise UserError(f"{path}: missing arrays {missing}; re-run `dvc repro prepare`")
    if len({len(split[key]) for key in SPLIT_KEYS}) != 1:
        raise UserError(f"{path}: arrays of different lengths; re-run `dvc repro prepare`")
    labels = split["y"]
    if not (np.any(labels == 1) and np.any(labels == 0)):
        raise UserError(f"{path}: holds a single class; raise dataset sizes and re-run prepare")
    return split


def timed(label: str, timings: dict[str, float], work: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = work()
    timings[label] = time.perf_counter() - start
    return result


def injection_set(params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Transits injected at SNRs uniform within each ``evaluate.snr_bins`` bin, never trained on."""
    settings, seed = params["evaluate"], params["seed"]
    target = ev.injection_snrs(
        settings["snr_bins"], settings["injection_per_bin"], make_rng(seed, "injection-snr")
    )
    labels = np.ones(target.size, dtype=np.int8)
    flux, meta = simulate(params, labels, make_rng(seed, "injection"), snr=target, progress=True)
    return flux, meta["snr"].to_numpy(dtype=np.float64)


def network_scores(model: Any, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Transit probabilities of the trained network for each input array."""
    from transit_classifier.model import predict_proba

    return [predict_proba(model, X) for X in inputs]


def split_rows(values: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return np.split(np.asarray(values), np.cumsum(sizes)[:-1])


def write_curves(prefix: str, method: ev.Scored) -> None:
    """DVC plot data of one method: ROC, PR and per-light-curve confusion rows."""
    write_csv(f"plots/roc{prefix}.csv", ev.roc_points(method.labels, method.scores))
    write_csv(f"plots/pr{prefix}.csv", ev.pr_points(method.labels, method.scores))
    write_csv(f"plots/confusion{prefix}.csv", ev.confusion_rows(method.labels, method.predicted))


def real_outputs(
    params: dict[str, Any], test: dict[str, np.ndarray], scored: dict[str, ev.Scored]
) -> None:
    """Per-star table of real test windows and a figure of a few of them."""
    real = test["source"] == "real"
    stars = ev.real_by_star(
        test["kepid"][real],
        test["y"][real],
        {key: method.scores[real] for key, method in scored.items()},
        {key: method.threshold for key, method in scored.items()},
    )
    write_json(
        "metrics/real_by_star.json",
        {
            "threshold": scored["model"].threshold,
            "bls_threshold": scored["bls"].threshold,
            "n_stars": len(stars),
            "n_windows": int(real.sum()),
            "stars": stars,
        },
    )
    rng = make_rng(params["seed"], "real-examples")
    rows = np.flatnonzero(real)[
        ev.pick_examples(test["y"][real], params["evaluate"]["real_examples"], rng)
    ]
    model, bls = scored["model"], scored["bls"]
    titles = [
        f"KIC {test['kepid'][i]} | {'transit' if test['y'][i] else 'no transit'} | "
        f"model {model.scores[i]:.3f} | {bls.name} {bls.scores[i]:.2f}"
        for i in rows
    ]
    cadence_days = params["dataset"]["cadence_minutes"] / 1440.0
    save_figure(
        ev.plot_real_examples(test["flux"][rows], cadence_days, titles), "plots/real_examples.png"
    )


def bls_scores(
    params: dict[str, Any], flux: list[np.ndarray], val_labels: np.ndarray
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """BLS statistic of every light curve (val, test, injected), the statistic picked on val."""
    search = BLSSearch.from_params(params)
    stats = search.search(np.concatenate(flux))
    sizes = [len(block) for block in flux]
    statistic, val_pr_auc = select_statistic(stats.iloc[: sizes[0]], val_labels)
    info = {
        "name": statistic,
        "chosen_on": "validation",
        "validation_pr_auc": val_pr_auc,
        "periods": len(search.periods),
        "period_days": [float(search.periods[0]), float(search.periods[-1])],
        "durations_hours": params["evaluate"]["bls_durations_hours"],
    }
    return split_rows(stats[statistic].to_numpy(), sizes), info


def write_outputs(
    params: dict[str, Any],
    reports: dict[str, dict[str, Any]],
    scored: dict[str, ev.Scored],
    table: Any,
    test: dict[str, np.ndarray],
) -> None:
    write_json("metrics/evaluate.json", reports["model"])
    write_json("metrics/baseline.json", reports["bls"])
    write_curves("", scored["model"])
    write_curves("_bls", scored["bls"])
    write_csv("plots/recall_vs_snr.csv", table)
    methods = list(scored.values())
    save_figure(ev.plot_roc_pr(methods), "plots/roc_pr.png")
    save_figure(ev.plot_confusions(methods), "plots/confusion_matrix.png")
    names = {key: method.name for key, method in scored.items()}
    target_fpr = params["evaluate"]["target_fpr"]
    save_figure(ev.plot_recall_vs_snr(table, names, target_fpr), "plots/recall_vs_snr.png")
    real_outputs(params, test, scored)


def main() -> None:
    params = load_params()
    settings, seed = params["evaluate"], params["seed"]
    val, test = load_split("val"), load_split("test")
    timings: dict[str, float] = {}
    model = timed("model_load", timings, lambda: load_classifier(MODEL_DIR)[0])  # fail fast

    inj_flux, inj_snr = timed("injection", timings, lambda: injection_set(params))
    syn_pos = (test["source"] == "synthetic") & (test["y"] == 1) & np.isfinite(test["snr"])
    snr = np.concatenate([inj_snr, test["snr"][syn_pos]])
    (bls_val, bls_test, bls_inj), statistic = timed(
        "bls", timings, lambda: bls_scores(params, [val["flux"], test["flux"], inj_flux], val["y"])
    )
    inj_X = preprocess(inj_flux, params["prepare"])
    net_val, net_test, net_inj = timed(
        "inference", timings, lambda: network_scores(model, [val["X"], test["X"], inj_X])
    )

    reports, scored, detected = {}, {}, {}
    for key, name, v, t, inj in (
        ("model", NETWORK, net_val, net_test, net_inj),
        ("bls", f"BLS {statistic['name']}", bls_val, bls_test, bls_inj),
    ):
        injected = np.concatenate([inj, t[syn_pos]])
        reports[key] = ev.evaluate_method(
            (val["y"], v), (test["y"], t, test["source"]), (snr, injected), settings, seed
        )
        scored[key] = ev.Scored(name, test["y"], t, reports[key]["threshold"])
        detected[key] = injected >= reports[key]["injection"]["threshold"]
    reports["bls"]["statistic"] = statistic

    table = ev.recall_by_snr(snr, detected, settings["snr_bins"])
    write_outputs(params, reports, scored, table, test)
    report_summary(reports, timings)


def report_summary(reports: dict[str, dict[str, Any]], timings: dict[str, float]) -> None:
    """Print the headline numbers and where the time went (never written to outputs)."""

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    for key, report in reports.items():
        inj = report["injection"]
        print(
            f"{key}: ROC-AUC {fmt(report['roc_auc'])} PR-AUC {fmt(report['pr_auc'])} "
            f"transit F1 {fmt(report['report']['transit']['f1-score'])} "
            f"at threshold {report['threshold']:.4g}; recall at the target FPR: "
            f"SNR 7.1-10 {fmt(inj['recall_snr_7p1_to_10'])}, SNR>=10 {fmt(inj['recall_snr_ge_10'])}"
        )
    print("timing (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


if __name__ == "__main__":
    stage.run(main)
