"""What the evaluate stage scores, built once and scored identically by every method.

The sets, all from validation or test stars only:

* ``val`` / ``test``: the prepared splits (the seed's tables), for the
  validation-chosen threshold and the classic test report;
* ``val_real_negatives``: every non-transit window of validation stars, so the
  false-positive thresholds rest on real noise too;
* ``real_test``: every window of test stars: KOI transit windows (with their
  expected MES) and non-KOI windows (the flag rate on real stars);
* ``synthetic_injected`` / ``real_injected``: transits injected per MES bin into
  fresh synthetic negatives and into test stars' real non-transit windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transit_classifier.errors import UserError
from transit_classifier.io import load_npz
from transit_classifier.learn.model import predict_proba
from transit_classifier.params import fpr_label
from transit_classifier.seeding import make_rng
from transit_classifier.signal.preprocess import (
    PreprocessSettings,
    flatten_all,
    preprocess,
    preprocess_inverted,
)
from transit_classifier.simulate import injection
from transit_classifier.simulate.settings import SimulateSettings

from . import recovery
from .evaluation import choose_threshold, full_report, threshold_at_fpr

SPLIT_KEYS = ("X", "y", "source", "ids", "kepid", "snr", "mes", "flux")
REAL_KEYS = ("flux", "time", "y", "kind", "kepid", "ids", "mes")


@dataclass
class EvalSets:
    """Raw flux of every set, plus labels and metadata the reports need."""

    flux: dict[str, np.ndarray]
    val: dict[str, np.ndarray]
    test: dict[str, np.ndarray]
    real_test: dict[str, np.ndarray]
    injected: dict[str, pd.DataFrame] = field(default_factory=dict)
    hosts: dict[str, np.ndarray] = field(default_factory=dict)
    """Host flux per injection source; each injected table's ``host`` column indexes it."""


def load_arrays(prepared: Path, name: str, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Read ``<prepared>/<name>.npz`` and check it carries ``keys`` of one length."""
    path = Path(prepared) / f"{name}.npz"
    if not path.is_file():
        raise UserError(f"{path}: not found; run `dvc repro prepare` first")
    arrays = load_npz(path)
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise UserError(f"{path}: missing arrays {missing}; re-run `dvc repro prepare`")
    if len({len(arrays[key]) for key in keys}) != 1:
        raise UserError(f"{path}: arrays of different lengths; re-run `dvc repro prepare`")
    return arrays


def injection_hosts(
    params: dict[str, Any], sim: SimulateSettings, real_test: dict[str, np.ndarray], n: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Hosts for injection-recovery: fresh synthetic negatives, and test stars' real negatives.

    Also returns the ``real_test`` row of every real host, so a report can
    say which star each injection went into.
    """
    from transit_classifier.simulate.synthetic import simulate

    seed = params["seed"]
    synthetic, _ = simulate(sim, np.zeros(n, np.int64), make_rng(seed, "evaluate", "hosts"))
    negatives = np.flatnonzero(real_test["y"] == 0)
    if not negatives.size:
        raise UserError("test stars hold no real non-transit window; add stars to the bundle")
    pick = make_rng(seed, "evaluate", "real-hosts").choice(negatives, n)
    return {"synthetic": synthetic.astype(np.float64), "real": real_test["flux"][pick]}, pick


def build_sets(params: dict[str, Any], settings: PreprocessSettings, prepared: Path) -> EvalSets:
    """Load the prepared splits and make both injection sets (seeded, never trained on).

    ``settings`` are the model's own preprocessing settings, read back once by the caller.
    """
    ev = params["evaluate"]
    val, test = load_arrays(prepared, "val", SPLIT_KEYS), load_arrays(prepared, "test", SPLIT_KEYS)
    real_val = load_arrays(prepared, "real_val", REAL_KEYS)
    real_test = load_arrays(prepared, "real_test", REAL_KEYS)
    for name, split in (("validation", val), ("test", test)):
        if not (np.any(split["y"] == 1) and np.any(split["y"] == 0)):
            raise UserError(f"the {name} split holds a single class; raise the dataset sizes")
    edges = np.asarray(ev["mes_bins"], float)
    n = ev["injection_per_bin"] * (edges.size - 1)
    sim = SimulateSettings.from_params(params)  # once: hosts and bank share it
    hosts, real_rows = injection_hosts(params, sim, real_test, n)
    bank = injection.make_bank(
        sim,
        params["inject"]["bank_size"],
        make_rng(params["seed"], "evaluate", "bank"),
        sim.period_days,  # the benchmark's recipe, as the baselines were tuned
    )
    sets = EvalSets(
        flux={
            "val": val["flux"],
            "val_real_negatives": real_val["flux"][real_val["y"] == 0],
            "test": test["flux"],
            "real_test": real_test["flux"],
        },
        val=val,
        test=test,
        real_test=real_test,
    )
    for source, host_flux in hosts.items():
        rng = make_rng(params["seed"], "evaluate", "inject", source)
        target = injection.uniform_in_bins(edges, ev["injection_per_bin"], rng)
        flats = flatten_all(host_flux, settings)
        done = injection.inject(
            host_flux, flats, bank, target, rng, np.arange(len(host_flux)), settings
        )
        sets.flux[f"{source}_injected"] = done.flux
        sets.hosts[source] = host_flux
        table = done.table.assign(host=done.host)
        if source == "real":
            table["kepid"] = real_test["kepid"][real_rows[done.host]]
        sets.injected[source] = table
    return sets


def method_report(
    scores: dict[str, np.ndarray], sets: EvalSets, params: dict[str, Any]
) -> dict[str, Any]:
    """The whole procedure for one method's scores, identical for the network and the baseline.

    Thresholds come from validation only: the max-F1 threshold on the
    validation split for the classic report, and false-positive-rate
    thresholds on every validation negative (synthetic and real) for
    detection. The test data are then scored once at those thresholds.
    """
    ev, seed = params["evaluate"], params["seed"]
    val_y = sets.val["y"]
    threshold = choose_threshold(scores["val"], val_y, ev["threshold"], ev["target_fpr"])
    test = (sets.test["y"], scores["test"], sets.test["source"])
    report = full_report(*test, threshold, seed, ev["bootstrap_resamples"])
    negatives = np.concatenate([scores["val"][val_y == 0], scores["val_real_negatives"]])
    report["detection"] = {}
    for fpr in (ev["target_fpr"], ev["strict_fpr"]):
        cut = threshold_at_fpr(negatives, fpr)
        report["detection"][fpr_label(fpr)] = detection_at(scores, sets, cut)
    return report


def detection_at(
    scores: dict[str, np.ndarray], sets: EvalSets, cut: dict[str, Any]
) -> dict[str, Any]:
    """Injection recall per MES bin, real KOI windows and the non-KOI flag rate at a threshold."""
    value = cut["value"]
    out: dict[str, Any] = {"threshold": cut}
    for source, table in sets.injected.items():
        found = scores[f"{source}_injected"] >= value
        out[f"{source}_injections"] = {
            "n": int(len(table)),
            **recovery.headline(table["mes"], found),
        }
    real = sets.real_test
    koi = real["y"] == 1
    found = scores["real_test"][koi] >= value
    out["real_koi_windows"] = {
        "n": int(koi.sum()),
        "stars": int(np.unique(real["kepid"][koi]).size),
        **recovery.headline(real["mes"][koi], found),
    }
    out["real_non_koi_flag_rate"] = recovery.flag_rate(
        scores["real_test"][real["kind"] == "non_koi"], value
    )
    return out


def network_scores(
    model: Any, settings: PreprocessSettings, sets: EvalSets
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Transit probabilities of every set, through the model's own preprocessing settings.

    Also returns the real test windows' probabilities upside down
    (:func:`preprocess_inverted`, one detrending for both) for :func:`upside_down_check`.
    """
    upright, inverted = preprocess_inverted(sets.flux["real_test"], settings)
    scores = {
        name: predict_proba(model, upright if name == "real_test" else preprocess(flux, settings))
        for name, flux in sets.flux.items()
    }
    return scores, predict_proba(model, inverted)


def upside_down_check(
    sets: EvalSets, scores: dict[str, np.ndarray], inverted: np.ndarray, cuts: dict[str, float]
) -> dict[str, Any]:
    """How often flagged real test windows are flagged upside down too, per operating point.

    The evidence behind predict's "variability likely" warning: the share of
    flagged KOI windows (real transits) and of flagged non-KOI windows (false
    alarms) whose inverted probability also reaches the threshold. Reported
    only; it changes no verdict or metric.
    """
    kind = sets.real_test["kind"]
    out = {}
    for name, value in cuts.items():
        flagged = scores["real_test"] >= value
        out[name] = {
            k: {
                "flagged": int((flagged & (kind == k)).sum()),
                "also_upside_down": int((flagged & (kind == k) & (inverted >= value)).sum()),
            }
            for k in np.unique(kind)
        }
    return out


def baseline_scores(params: dict[str, Any], sets: EvalSets) -> tuple[dict, dict]:
    """The classical search tuned on the validation split, then run on every other set."""
    from .baseline import tune

    search, statistic, val_results, info = tune(params, sets.flux["val"], sets.val["y"])
    scores = {"val": val_results[statistic].to_numpy()}
    for name, flux in sets.flux.items():
        if name != "val":
            scores[name] = search.search(flux)[statistic].to_numpy()
    return scores, info


def combined_scores(scores: dict[str, dict], sets: EvalSets) -> dict[str, np.ndarray]:
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


def headline_metrics(reports: dict[str, dict], fpr: str) -> dict[str, Any]:
    """The dozen numbers ``metrics/evaluate.json`` carries, out of the full per-method reports.

    ``dvc exp show`` and ``dvc metrics diff`` print one column or row per number,
    so the declared metrics keep only what a run is judged by: the network's
    test AUCs, its recall at the validation ``fpr`` threshold on synthetic and
    real-noise injections, the real KOI windows and the non-KOI flag rate; for
    the baseline and the combination, the test ROC-AUC and the real-noise
    recall at MES >= 10. Everything else (the thresholds, transit F1, the other
    AUCs and recalls, intervals, supports, every bin) stays in the full reports
    ``metrics/network.json``, ``metrics/baseline.json`` and ``metrics/combined.json``.
    """
    det = {method: report["detection"][fpr] for method, report in reports.items()}
    syn, real = det["network"]["synthetic_injections"], det["network"]["real_injections"]
    out: dict[str, Any] = {
        "network": {
            "roc_auc": reports["network"]["roc_auc"],
            "pr_auc": reports["network"]["pr_auc"],
            "recall_syn_mes_7p1_to_10": syn["recall_mes_7p1_to_10"],
            "recall_syn_mes_ge_10": syn["recall_mes_ge_10"],
            "recall_real_mes_7p1_to_10": real["recall_mes_7p1_to_10"],
            "recall_real_mes_ge_10": real["recall_mes_ge_10"],
            "koi_recall_mes_ge_10": det["network"]["real_koi_windows"]["recall_mes_ge_10"],
            "non_koi_flag_rate": det["network"]["real_non_koi_flag_rate"]["rate"],
        }
    }
    for method in (m for m in reports if m != "network"):
        out[method] = {
            "roc_auc": reports[method]["roc_auc"],
            "recall_real_mes_ge_10": det[method]["real_injections"]["recall_mes_ge_10"],
        }
    return out
