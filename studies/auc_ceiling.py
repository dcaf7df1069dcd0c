"""How high can ROC-AUC and PR-AUC go on the test split? (reports/auc_ceiling.md)

Issue #11 asks for a synthetic test ROC-AUC of 0.97. An area under the curve
depends on which transits the split holds, and many of its transits are weak:
their MES-like SNR (depth over the light curve's own noise at the transit
duration, times the square root of the transit count; ``mes`` in
``data/prepared/test.npz``) is below 7. This script computes what an *ideal*
detector would score on exactly those transits, in white Gaussian noise with
nothing else in it, so a ceiling no real detector on real stars can pass:

* **Known ephemeris.** A matched filter told where the transit is scores a
  transit of MES ``m`` as ``m + Z`` and a star without one as ``Z``
  (``Z ~ N(0, 1)``), so its ROC-AUC is the mean of ``Phi(m / sqrt 2)``.
* **Searching.** A detector that has to find the transit tries ``N``
  independent trial ephemerides and keeps the best: a star without a transit
  scores the largest of ``N`` normals, and one with a transit the larger of
  ``m + Z`` and the best of the other ``N - 1``. ``N`` is measured, not
  guessed: the tuned baseline's own BLS grid (:mod:`transit_classifier.judge.baseline`)
  searches pure white noise, and ``N`` is the maximum-likelihood fit of
  ``Phi(x) ** N`` to its peak depth SNRs (if ``U = Phi(peak)`` has CDF
  ``u ** N``, then ``-log U`` is exponential with rate ``N``).

The areas come from the two score distributions by numerical integration;
PR-AUC (average precision) uses the split's own share of transits. A last table
sets the same ideal detectors' recall at 1% FPR beside the network's, per MES bin
(from the evaluate stage's ``plots/recall_vs_mes_*.csv``).

    python studies/auc_ceiling.py           # writes reports/auc_ceiling.md
    python studies/auc_ceiling.py 400       # white-noise light curves for the N fit (default 400)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import log_ndtr, ndtr
from scipy.stats import norm

from transit_classifier import stage
from transit_classifier.io import write_text
from transit_classifier.judge.assessment import SPLIT_KEYS, load_arrays
from transit_classifier.judge.baseline import BaselineSearch
from transit_classifier.params import load_params
from transit_classifier.seeding import make_rng

OUT = Path("reports/auc_ceiling.md")
PREPARED = Path("data/prepared")  # the prepare stage's output, as dvc.yaml names it
GRID_STEP = 0.002  # score grid step, in noise sigma: integrals accurate to ~1e-5
TRIAL_COUNTS = (1, 100, 1_000, 10_000, 100_000)  # 1 = known ephemeris
RANGE_OF_THREE = 3.0 / np.sqrt(np.pi)  # expected max - min of 3 standard normals
WHITE_NOISE_PPM = 100.0  # any level: the BLS statistic is in units of the noise


def score_cdfs(mes: np.ndarray, n_trials: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score grid, the no-transit CDF on it, and each transit's CDF ``(len(mes), grid)``.

    A star without a transit scores the best of ``n_trials`` standard normals,
    CDF ``Phi(x) ** n``; a transit of MES ``m`` scores the larger of ``m + Z``
    and the best of the other ``n - 1`` trials, CDF ``Phi(x - m) Phi(x) ** (n - 1)``.
    """
    mes = np.asarray(mes, dtype=float)
    if mes.ndim != 1 or not np.isfinite(mes).all() or n_trials < 1:
        raise ValueError("mes must be a finite 1-d array and n_trials at least 1")
    x = np.arange(-8.0, max(mes.max(), 0.0) + 8.0 + GRID_STEP, GRID_STEP)
    log_phi = log_ndtr(x)
    negative = np.exp(n_trials * log_phi)
    positive = ndtr(x[None, :] - mes[:, None]) * np.exp((n_trials - 1) * log_phi)[None, :]
    return x, negative, positive


def ceiling(mes: np.ndarray, n_trials: float, n_negative: int) -> tuple[float, float, float]:
    """ROC-AUC, average precision and ROC-AUC scatter of the ideal detector on these transits.

    Each transit adds its percentile among the stars without one to the ROC-AUC,
    divided by the transit count. A transit too weak to find sits at a uniformly
    random percentile, so a split with weak transits has an AUC that moves from
    one noise draw to the next, or from one arbitrary ranking of noise-like
    windows to another, such as another training seed gives. The scatter is the
    standard deviation of the ROC-AUC over noise draws of the transits; the
    negatives' own scatter is left out, so it is a floor.

    Parameters
    ----------
    mes
        MES-like SNR of every transit in the split.
    n_trials
        Independent trial ephemerides the detector searches (1: known ephemeris).
    n_negative
        Light curves without a transit in the split; with ``len(mes)`` it sets
        the class share that precision depends on.

    Examples
    --------
    >>> roc, _, std = ceiling(np.zeros(12), 1e4, 10)  # MES-0 "transits" are noise
    >>> round(roc, 3), round(std * 12, 3)  # chance, and 12 uniform percentiles
    (0.5, 1.0)
    """
    _, negative, positive = score_cdfs(mes, n_trials)
    # a transit's percentile is F_neg(its score): integrate F_neg and F_neg**2 over its density
    mid, step = 0.5 * (negative[1:] + negative[:-1]), np.diff(positive, axis=1)
    mean, square = np.sum(mid * step, axis=1), np.sum(mid**2 * step, axis=1)
    tpr = 1.0 - positive.mean(axis=0)  # at each threshold on the grid, falling with x
    found = tpr * len(mes)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(found > 0, found / (found + (1.0 - negative) * n_negative), 1.0)
    pr = float(np.sum(0.5 * (precision[1:] + precision[:-1]) * -np.diff(tpr)))
    return float(mean.mean()), pr, float(np.sqrt(np.sum(square - mean**2)) / len(mes))


def searching_recall(mes: np.ndarray, n_trials: float, false_alarm: float) -> np.ndarray:
    """Recall of the ideal detector at a false-alarm rate set on stars without a transit.

    Examples
    --------
    >>> from scipy.stats import norm
    >>> bool(np.isclose(searching_recall(np.array([3.0]), 1, 0.01)[0], norm.cdf(3 - 2.3263), 1e-4))
    True
    """
    threshold = norm.isf(-np.expm1(np.log1p(-false_alarm) / n_trials))  # Phi(x) ** n = 1 - fpr
    miss = norm.cdf(threshold - np.asarray(mes, float)) * norm.cdf(threshold) ** (n_trials - 1)
    return 1.0 - miss


def recall_section(params: dict, n_fit: float) -> list[str]:
    """Recall at 1% FPR per MES bin: ideal detectors beside the network's measured figures."""
    edges = params["evaluate"]["mes_bins"]
    found = {
        source: pd.read_csv(f"plots/recall_vs_mes_{source}.csv").set_index("mes_bin_low")[
            "recall_network_fpr_1pct"
        ]
        for source in ("synthetic", "real")
    }
    lines = [
        "## Recall at 1% FPR per MES bin (MES uniform across each bin)",
        "",
        "| MES bin | ideal, known ephemeris | ideal, searching at the baseline's grid "
        "| network, synthetic | network, real noise |",
        "|---|---:|---:|---:|---:|",
    ]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mes = np.linspace(lo, hi, 1001)
        ideal = [searching_recall(mes, n, 0.01).mean() for n in (1, n_fit)]
        measured = [f"{found[source].get(lo, np.nan):.2f}" for source in found]
        lines.append(
            f"| {lo:g}–{hi:g} | {ideal[0]:.3f} | {ideal[1]:.3f} | " + " | ".join(measured) + " |"
        )
    return [*lines, ""]


def effective_trials(peaks: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood ``N`` for peak statistics distributed as the best of ``N`` normals.

    Returns ``N`` and its standard error (``N / sqrt(len(peaks))``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n, err = effective_trials(rng.standard_normal((4000, 50)).max(axis=1))
    >>> bool(abs(n - 50) < 3 * err)
    True
    """
    peaks = np.asarray(peaks, dtype=float)
    n = peaks.size / float(np.sum(-log_ndtr(peaks)))
    return n, n / np.sqrt(peaks.size)


def baseline_peaks(params: dict, n_curves: int) -> np.ndarray:
    """Peak BLS depth SNR of the tuned baseline's search on pure white noise."""
    window = params["evaluate"]["baseline"]["detrend_windows_days"][0]  # no trend to remove
    search = BaselineSearch.from_params(params, window)
    shape = (n_curves, params["dataset"]["window_length"])
    noise = make_rng(params["seed"], "auc_ceiling").standard_normal(shape)
    flux = 1.0 + WHITE_NOISE_PPM * 1e-6 * noise
    return search.search(flux, progress=False)["depth_snr"].to_numpy()


def split_section(name: str, split: dict[str, np.ndarray], n_fit: float) -> list[str]:
    """One split's table: the ideal detector at each trial count, the fitted one last."""
    mes = split["mes"][split["y"] == 1].astype(float)
    n_neg = int(np.sum(split["y"] == 0))
    lines = [
        f"## {name} split: {mes.size} transits (MES median {np.median(mes):.1f}; "
        f"{np.mean(mes < 5):.0%} below 5, {np.mean(mes < 7.1):.0%} below 7.1), {n_neg} without",
        "",
        "| ideal detector | ROC-AUC | PR-AUC | ROC-AUC std, noise redrawn |",
        "|---|---:|---:|---:|",
    ]
    for n in (*TRIAL_COUNTS, n_fit):
        roc, pr, spread = ceiling(mes, n, n_neg)
        label = "known ephemeris (N = 1)" if n == 1 else f"searching N = {n:,.0f}"
        label += " (the baseline's grid)" if n == n_fit else ""
        lines.append(f"| {label} | {roc:.3f} | {pr:.3f} | {spread:.4f} |")
    return [
        *lines,
        "",
        f"Three draws of an AUC lie on average {RANGE_OF_THREE:.2f} standard deviations apart"
        f" (max - min): {RANGE_OF_THREE * spread:.3f} at the baseline's grid.",
        "",
    ]


def report(params: dict, n_curves: int) -> list[str]:
    """The markdown report: measured ``N``, then each split's ceilings for a range of ``N``."""
    splits = {name: load_arrays(PREPARED, name, SPLIT_KEYS) for name in ("test", "val")}
    network = json.loads(Path("metrics/network.json").read_text())
    n_fit, n_err = effective_trials(baseline_peaks(params, n_curves))
    lines = [
        "# Ideal-detector ceiling on ROC-AUC and PR-AUC",
        "",
        "Written by `python studies/auc_ceiling.py` (see its docstring for the model). The ideal",
        "detector sees each split's own transits, at their MES-like SNR, in white Gaussian noise.",
        "",
        f"The tuned baseline's BLS grid on {n_curves} white-noise light curves behaves like",
        f"**N = {n_fit:,.0f} ± {n_err:,.0f}** independent trials.",
        "",
    ]
    for name, split in splits.items():
        lines += split_section(name, split, n_fit)
    lines += [
        f"The committed network scores ROC-AUC {network['roc_auc']:.3f} and PR-AUC "
        f"{network['pr_auc']:.3f} on the test split (`metrics/network.json`), in red noise, "
        "rotation and granulation as well as white noise. No search can be worth only a few"
        " hundred trials: a 2-cadence box alone has about "
        f"{params['dataset']['window_length'] // 2} independent positions in a window, before"
        " any other duration or period.",
        "",
        *recall_section(params, n_fit),
        "Unlike the areas, which the many unfindable transits hold down for every detector,"
        " recall between MES 5 and 15 stays well below this ideal. How much of that the stars'"
        " own noise costs, and how much any real search loses even in white noise, is measured"
        " in `reports/white_noise_recall.md` (`python studies/white_noise_recall.py`).",
    ]
    return lines


def main(n_curves: int = 400) -> None:
    lines = report(load_params(), n_curves)
    write_text(OUT, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Ideal-detector ceilings (reports/auc_ceiling.md)")
    parser.add_argument("curves", type=int, nargs="?", default=400, help="white-noise light curves")
    stage.run(lambda: main(parser.parse_args().curves))
