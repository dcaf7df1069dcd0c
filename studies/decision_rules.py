"""Decision rules compared on validation data only (reports/decision_rules.md).

Should a window's verdict use its transit probability ``p`` alone, or veto
windows that also score high upside down (``p * (1 - p_inverted)``, or
``p - p_inverted``)? The inverted light curve is Kepler's false-alarm check, and
the question must be settled without the test stars. Since the synthetic stars
include pulsators (``synthetic.pulsator_fraction``), the validation set the
train stage stops on holds the false alarm the veto is meant for. This script
rebuilds that set row for row (:func:`epochs.validation_flux`), scores it
upright and upside down with each model given, and reports per rule: PR-AUC,
ROC-AUC and, at the 1% and 0.1% thresholds set on the same validation
negatives, the recall of validation transits, the loud synthetic pulsators
flagged (summed mode amplitude above twice the white noise), the real
validation-star negatives flagged, and the validation negatives flagged once
10% of their cadences are marked missing in short runs, as Kepler's quality
flags remove them (``augmentation.scattered_gaps``, seeded): a gappy star such
as Kepler-22 must not read as a transit; and once one gap of 10 to 100
cadences is cut into each (Kepler's monthly downlinks leave gaps of about a
day), since training still gives such gaps to augmented transit copies only.

    python studies/decision_rules.py                      # model/ of the workspace
    python studies/decision_rules.py model previous/      # and another model artifact
    python studies/decision_rules.py --ensemble model s1/ s2/   # and the mean of their scores
    python studies/decision_rules.py --views model        # and test-time averaging over views

``--views`` asks whether averaging ``p`` over transformed copies of each window
(time reversal, circular shifts: both are training augmentations, so the
copies are windows the network knows) buys enough to pay for scoring every
window several times.

An earlier commit's model, such as the one trained before the pulsators (bb308d3):

    mkdir /tmp/model-bb308d3 && for f in architecture.json model.json model.weights.h5 \
        thresholds.json; do git show bb308d3:model/$f > /tmp/model-bb308d3/$f; done
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from transit_classifier import stage

stage.quiet_tensorflow()

from transit_classifier.io import load_npz, write_text  # noqa: E402
from transit_classifier.judge.evaluation import threshold_at_fpr  # noqa: E402
from transit_classifier.learn.augmentation import scattered_gaps  # noqa: E402
from transit_classifier.learn.epochs import validation_flux  # noqa: E402
from transit_classifier.learn.model import load_classifier, predict_proba  # noqa: E402
from transit_classifier.params import load_params  # noqa: E402
from transit_classifier.signal.preprocess import PreprocessSettings, preprocess_inverted  # noqa: E402

OUT = Path("reports/decision_rules.md")
RULES = {
    "p": lambda p, q: p,
    "p × (1 − p_inverted)": lambda p, q: p * (1 - q),
    "p − p_inverted": lambda p, q: p - q,
}
FPRS = (0.01, 0.001)
LOUD = 2.0  # pulsation amplitude over white-noise sigma that makes a "loud" pulsator
GAPPY = 0.1  # share of cadences marked missing in the gappy copy of the validation set
GAP_CADENCES = (10, 100)  # length range of the one gap cut into the other copy
GAPPY_SEED = 20261202
GAP_COPIES = (f"{GAPPY:.0%} scattered", "one long gap")
VIEWS = {
    "mean of p over the window and its time reversal": lambda X: [X, X[:, ::-1]],
    "mean of p over 4 circular shifts (0, ¼, ½, ¾)": lambda X: [
        np.roll(X, k * X.shape[1] // 4, axis=1) for k in range(4)
    ],
}


def gap_masks(shape: tuple[int, int]) -> list[np.ndarray]:
    """The cadences each of the :data:`GAP_COPIES` of the validation set marks missing (seeded)."""
    rng = np.random.default_rng(GAPPY_SEED)
    scattered = scattered_gaps(shape, 1.0, (GAPPY, GAPPY), rng)
    start = rng.integers(0, shape[1], size=shape[0])[:, None]
    length = rng.integers(GAP_CADENCES[0], GAP_CADENCES[1] + 1, size=shape[0])[:, None]
    positions = np.arange(shape[1])
    return [scattered, (positions >= start) & (positions < start + length)]


def _groups(val: dict, real_val: dict, y: np.ndarray, origin: np.ndarray) -> dict[str, np.ndarray]:
    """Masks over the validation rows: transits (all, and by host), loud pulsators, real negatives.

    A row's host is the light curve it is, or was injected into (``origin``):
    a quiet or a pulsating synthetic star, or a real validation star.
    """
    meta = pd.read_csv("data/synthetic/metadata.csv").set_index("id").reindex(val["ids"])
    amplitude = np.nan_to_num(meta["pulsation_ppm"].to_numpy())
    ratio = amplitude / meta["sigma_ppm"].to_numpy()
    n_val = len(val["y"])
    real_rows = np.zeros(len(real_val["y"]), bool)  # origin indexes val, then real_val
    synthetic = np.r_[val["source"] == "synthetic", real_rows][origin]
    pulsating = np.r_[amplitude > 0, real_rows][origin] & synthetic
    loud = np.zeros(len(y), bool)
    loud[:n_val] = (val["source"] == "synthetic") & (np.nan_to_num(ratio) > LOUD)
    transit, negative = y == 1, y == 0
    return {
        "transit": transit,
        "quiet": transit & synthetic & ~pulsating,
        "pulsating": transit & pulsating,
        "real host": transit & ~synthetic,
        "loud pulsator": loud & negative,
        "real": ~synthetic & negative,
    }


def _rows(
    name: str, scores: np.ndarray, y: np.ndarray, groups: dict, rules: dict = RULES
) -> list[str]:
    """One table row per rule for one model.

    ``scores`` holds the upright and inverted probabilities of the validation
    set, then of each of its gappy copies (:func:`gap_masks`).
    """
    rows = []
    for rule, combine in rules.items():
        score = combine(*scores[:2])
        gappy = [combine(*scores[k : k + 2]) for k in range(2, len(scores), 2)]
        cells = [name, rule, f"{average_precision_score(y, score):.4f}"]
        cells.append(f"{roc_auc_score(y, score):.4f}")
        for fpr in FPRS:
            cut = threshold_at_fpr(score[y == 0], fpr)["value"]
            flagged = score >= cut
            cells.append(f"{flagged[groups['transit']].mean():.3f}")
            hosts = ("quiet", "pulsating", "real host")
            cells.append(" / ".join(f"{flagged[groups[h]].mean():.3f}" for h in hosts))
            for group in ("loud pulsator", "real"):
                cells.append(f"{flagged[groups[group]].sum()} / {groups[group].sum()}")
            cells += [f"{(g[y == 0] >= cut).sum()} / {(y == 0).sum()}" for g in gappy]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _view_rows(
    name: str, model: object, upright: list[np.ndarray], y: np.ndarray, groups: dict
) -> list[str]:
    """Rows for :data:`VIEWS`: ``p`` averaged over each view of the upright inputs.

    ``upright`` holds the preprocessed validation set, then its gappy copies.
    """
    rows = []
    for view, copies in VIEWS.items():
        means = [np.mean([predict_proba(model, v) for v in copies(X)], axis=0) for X in upright]
        scores = np.repeat(means, 2, axis=0)  # in the (upright, inverted) layout _rows reads
        rows += _rows(name, scores, y, groups, {view: lambda p, q: p})
    return rows


def main(model_dirs: list[str], ensemble: bool, views: bool) -> None:
    params = load_params()
    val, real_val = load_npz("data/prepared/val.npz"), load_npz("data/prepared/real_val.npz")
    flux, y, origin = validation_flux(
        val, real_val, params, params["train"]["validation_injections"]
    )
    groups = _groups(val, real_val, y, origin)
    head = ["model", "rule", "PR-AUC", "ROC-AUC"]
    for fpr in FPRS:
        head += [f"recall @{fpr:.1%}", "quiet / pulsating / real hosts"]
        head += ["loud pulsators flagged", "real negatives flagged"]
        head += [f"negatives flagged, {name}" for name in GAP_COPIES]
    lines = [
        "# Decision rules on validation data",
        "",
        f"Written by `python studies/decision_rules.py {' '.join(sys.argv[1:])}`: "
        f"{len(y)} validation windows ({int(y.sum())} transits), thresholds at 1% and 0.1% of "
        "their own negatives. Transit recall is also given by host: synthetic quiet "
        f"({int(groups['quiet'].sum())}), synthetic pulsating ({int(groups['pulsating'].sum())}) "
        f"and real validation stars ({int(groups['real host'].sum())}). Gappy negatives: "
        f"the validation negatives with {GAPPY:.0%} of their cadences marked missing in short "
        f"runs, or with one gap of {GAP_CADENCES[0]} to {GAP_CADENCES[1]} cadences.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * 2 + "---:|" * (len(head) - 2),
    ]
    copies = [np.where(mask, np.nan, flux) for mask in gap_masks(flux.shape)]
    scores = []
    for model_dir in model_dirs:
        model, info = load_classifier(model_dir)
        settings = PreprocessSettings.from_model(info["preprocess"])  # once per model
        inputs = [*preprocess_inverted(flux, settings)]
        for copy in copies:
            inputs += preprocess_inverted(copy, settings)
        scores.append(np.stack([predict_proba(model, X) for X in inputs]))
        lines += _rows(model_dir, scores[-1], y, groups)
        if views:
            lines += _view_rows(model_dir, model, inputs[::2], y, groups)
    if ensemble:
        name = f"mean of the {len(scores)} models' probabilities"
        lines += _rows(name, np.mean(scores, axis=0), y, groups)
    write_text(OUT, "\n".join(lines) + "\n")
    print("\n".join(lines))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["model"], help="model directories")
    parser.add_argument(
        "--ensemble", action="store_true", help="add a row for the mean of the models' scores"
    )
    parser.add_argument(
        "--views", action="store_true", help="add rows for p averaged over views of each window"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    stage.run(lambda: main(args.models, args.ensemble, args.views))
