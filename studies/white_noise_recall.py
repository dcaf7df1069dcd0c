"""Recall in pure white noise: is the gap to the ideal detector the stars' noise, or the detector?

``reports/auc_ceiling.md`` puts an ideal detector, searching as many trials as the
tuned BLS grid, at 0.997 recall for MES 7.1–10 at 1% FPR in white noise, while
the network finds 0.56 of the synthetic injections there. This script repeats
the evaluate stage's injection-recovery with every source of noise but the
white one removed: the same transit bank (``synthetic.period_days``), the same
uniform MES targets per bin, the same :func:`transit_classifier.simulate.injection.inject`
(depth set from each host's own measured noise), but hosts and negatives are
flat light curves with Gaussian noise only. Thresholds are set at 1% of those
negatives, for the committed network (``model/``) and for the tuned baseline
(its validated detrending window and statistic, from ``metrics/baseline.json``).

If both reach the ideal here, what holds them back on the benchmark is the
stars' red noise, rotation and granulation; if not, the detector itself. A
second table splits MES 5–10 by orbital period, where the two methods miss
different transits.

    python studies/white_noise_recall.py            # writes reports/white_noise_recall.md
    python studies/white_noise_recall.py 300 50     # negatives, injections per MES bin
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transit_classifier import stage

stage.quiet_tensorflow()

from transit_classifier.io import write_text  # noqa: E402
from transit_classifier.judge import recovery  # noqa: E402
from transit_classifier.judge.baseline import BaselineSearch  # noqa: E402
from transit_classifier.judge.evaluation import threshold_at_fpr  # noqa: E402
from transit_classifier.learn.model import load_classifier, predict_proba  # noqa: E402
from transit_classifier.params import load_params, window_days  # noqa: E402
from transit_classifier.seeding import make_rng  # noqa: E402
from transit_classifier.signal.preprocess import (  # noqa: E402
    PreprocessSettings,
    flatten_all,
    preprocess,
)
from transit_classifier.simulate import injection  # noqa: E402
from transit_classifier.simulate.settings import SimulateSettings  # noqa: E402

OUT = Path("reports/white_noise_recall.md")
NOISE_PPM = 100.0  # any level: depths follow each host's measured noise
FPR = 0.01
PERIOD_MES_BINS = ((5.0, 7.1), (7.1, 10.0))  # where the methods part ways
PERIOD_BINS = 4  # even in log period across synthetic.period_days, as the periods are drawn


def white_noise(params: dict, n: int, purpose: str) -> np.ndarray:
    """``n`` flat light curves of the dataset's length with Gaussian noise only (seeded)."""
    rng = make_rng(params["seed"], "white_noise_recall", purpose)
    return 1.0 + NOISE_PPM * 1e-6 * rng.standard_normal((n, params["dataset"]["window_length"]))


def injected(params: dict, settings: PreprocessSettings, per_bin: int) -> injection.Injected:
    """Transits from the benchmark's bank at MES uniform in each bin, into white-noise hosts."""
    edges = np.asarray(params["evaluate"]["mes_bins"], float)
    rng = make_rng(params["seed"], "white_noise_recall", "inject")
    target = injection.uniform_in_bins(edges, per_bin, rng)
    hosts = white_noise(params, target.size, "hosts")
    sim = SimulateSettings.from_params(params)
    bank = injection.make_bank(sim, params["inject"]["bank_size"], rng, sim.period_days)
    flats = flatten_all(hosts, settings)
    return injection.inject(hosts, flats, bank, target, rng, np.arange(target.size), settings)


def scores(
    params: dict, model: Any, settings: PreprocessSettings, flux: dict[str, np.ndarray]
) -> dict[str, dict[str, np.ndarray]]:
    """Network probability and baseline statistic of every light curve, per set."""
    tuned = json.loads(Path("metrics/baseline.json").read_text())["search"]
    search = BaselineSearch.from_params(params, tuned["detrend_window_days"])
    return {
        "network": {k: predict_proba(model, preprocess(v, settings)) for k, v in flux.items()},
        "baseline": {
            k: search.search(v, progress=False)[tuned["statistic"]].to_numpy()
            for k, v in flux.items()
        },
    }


def recovery_benchmark() -> list[list[str]]:
    """The evaluate stage's synthetic recall at 1% FPR per bin, network and baseline."""
    table = pd.read_csv("plots/recall_vs_mes_synthetic.csv")
    columns = ("recall_network_fpr_1pct", "recall_baseline_fpr_1pct")
    return [[f"{row[c]:.2f}" for c in columns] for _, row in table.iterrows()]


def mes_section(table: pd.DataFrame, found: dict[str, np.ndarray], edges: list) -> list[str]:
    """Recall per MES bin with Wilson intervals, beside the evaluate stage's synthetic recall."""
    recall = recovery.recall_table(table["mes"].to_numpy(), found, edges, {})
    lines = [
        "| MES bin | n | network, white noise (95%) | baseline, white noise (95%) "
        "| network, benchmark | baseline, benchmark |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row, ref in zip(recall.itertuples(index=False), recovery_benchmark(), strict=True):
        cells = [f"{row.mes_bin_low:g}–{row.mes_bin_high:g}", str(row.n)]
        for method in ("network", "baseline"):
            r, lo, hi = (getattr(row, f"recall_{method}{s}") for s in ("", "_low", "_high"))
            cells.append(f"{r:.2f} [{lo:.2f}, {hi:.2f}]")
        lines.append("| " + " | ".join(cells + ref) + " |")
    return lines


def period_section(
    table: pd.DataFrame, found: dict[str, np.ndarray], period_days: list[float]
) -> list[str]:
    """Found / injected per orbital period, for the MES bins where the two methods differ most.

    A short period puts many shallow transits in a window: a search that folds
    on the period adds them up exactly, a network that sees the unfolded window
    has to do so on its own. A long one leaves two or three long transits,
    which a short detrending window can eat.
    """
    lines = [
        "| MES bin | period (days) | n | network found | baseline found |",
        "|---|---|---:|---:|---:|",
    ]
    edges = np.geomspace(*period_days, PERIOD_BINS + 1)
    edges[-1] = np.nextafter(edges[-1], np.inf)  # the longest period drawn is inside
    for lo, hi in PERIOD_MES_BINS:
        in_bin = (table["mes"] >= lo) & (table["mes"] < hi)
        for p_lo, p_hi in zip(edges[:-1], edges[1:], strict=True):
            rows = (
                in_bin & (table["period_days"] >= p_lo) & (table["period_days"] < p_hi)
            ).to_numpy()
            counts = [f"{int(found[m][rows].sum())}" for m in ("network", "baseline")]
            lines.append(
                f"| {lo:g}–{hi:g} | {p_lo:.1f}–{p_hi:.1f} | {rows.sum()} | "
                + " | ".join(counts)
                + " |"
            )
    return lines


def report(params: dict, n_negatives: int, per_bin: int) -> list[str]:
    """Recall at 1% FPR of white-noise negatives, per MES bin and per period."""
    model, info = load_classifier("model")
    settings = PreprocessSettings.from_model(info["preprocess"])
    done = injected(params, settings, per_bin)
    flux = {"negatives": white_noise(params, n_negatives, "negatives"), "injected": done.flux}
    found = {}
    for method, score in scores(params, model, settings, flux).items():
        cut = threshold_at_fpr(score["negatives"], FPR)["value"]
        found[method] = score["injected"] >= cut
    return [
        "# Recall in pure white noise",
        "",
        f"Written by `python studies/white_noise_recall.py {n_negatives} {per_bin}`: "
        f"{len(done.flux)} injections into white-noise hosts, thresholds at 1% of "
        f"{n_negatives} white-noise negatives. Benchmark columns: the evaluate stage's "
        "synthetic injections (`plots/recall_vs_mes_synthetic.csv`).",
        "",
        *mes_section(done.table, found, params["evaluate"]["mes_bins"]),
        "",
        f"By orbital period (a window holds {window_days(params):.1f} days):",
        "",
        *period_section(done.table, found, params["synthetic"]["period_days"]),
        "",
        "The ideal detector, searching as many trials as the baseline's grid, is in"
        " `reports/auc_ceiling.md` (`python studies/auc_ceiling.py`).",
    ]


def main(n_negatives: int = 1000, per_bin: int = 100) -> None:
    lines = report(load_params(), n_negatives, per_bin)
    write_text(OUT, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Recall in white noise")
    parser.add_argument("negatives", type=int, nargs="?", default=1000)
    parser.add_argument("per_bin", type=int, nargs="?", default=100, help="injections per MES bin")
    args = parser.parse_args()
    stage.run(lambda: main(args.negatives, args.per_bin))
