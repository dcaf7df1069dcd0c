"""Figures of the pipeline: matplotlib ``Figure`` objects, no pyplot state, no saving.

Plotting lives apart from the logic that computes what is drawn
(:mod:`transit_classifier.recovery`); callers save with :func:`io.save_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from .evaluation import Scored, binary, confusion_counts, operating_point
from .koi import star_kois
from .recovery import KEPLER_MES

if TYPE_CHECKING:
    from .kepler_windows import WindowPool
    from .predict import Prediction

TITLES = {"synthetic": "synthetic stars", "real": "real Kepler noise (test stars)"}
STYLES = {"fpr_1pct": "-", "fpr_0p1pct": "--"}
FPR_TEXT = {"fpr_1pct": "1%", "fpr_0p1pct": "0.1%"}


def recall_vs_mes(curves: Sequence[pd.DataFrame], names: dict[str, str]) -> Any:
    """Recall per MES bin, one panel per injection source, every method at each FPR.

    Wilson 95% bars on the measured recall; grey lines are the ideal
    known-ephemeris matched filter at the same false-alarm rates, the ceiling.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6 * len(curves), 4.6), layout="constrained")
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, table in zip(axes, curves, strict=True):
        _recall_curves(ax, table, names)
        _recall_axes(ax, table)
    axes[0].legend(loc="lower right", fontsize=7)
    return fig


def _recall_curves(ax: Any, table: pd.DataFrame, names: dict[str, str]) -> None:
    """One source's ceilings and each method's recall with Wilson bars, per FPR."""
    centre = np.sqrt(table["mes_bin_low"] * table["mes_bin_high"]).to_numpy()
    for fpr, style in STYLES.items():
        ax.plot(
            centre,
            table[f"ceiling_{fpr}"],
            style,
            color="0.6",
            lw=1.5,
            label=f"ideal matched filter, FPR {FPR_TEXT[fpr]}",
        )
        for i, (method, name) in enumerate(names.items()):
            column = f"recall_{method}_{fpr}"
            recall = table[column].to_numpy()
            bounds = [recall - table[f"{column}_low"], table[f"{column}_high"] - recall]
            err = np.clip(np.vstack(bounds), 0, None)  # Wilson bounds touch 0/1 in float
            ax.errorbar(
                centre,
                recall,
                yerr=err,
                fmt="o" + style,
                color=f"C{i}",
                capsize=3,
                ms=4,
                label=f"{name}, FPR {FPR_TEXT[fpr]}",
            )


def _recall_axes(ax: Any, table: pd.DataFrame) -> None:
    """The Kepler threshold line, MES bin-edge ticks, labels and title of one source's panel."""
    ax.axvline(KEPLER_MES, ls=":", color="k", lw=1, label=f"Kepler threshold (MES {KEPLER_MES})")
    edges = np.r_[table["mes_bin_low"].to_numpy(), table["mes_bin_high"].iloc[-1]]
    ax.set_xscale("log")
    ax.set_xticks(edges, [f"{edge:g}" for edge in edges])
    ax.minorticks_off()
    ax.set(
        xlabel="MES-like SNR (depth / noise at transit duration x sqrt(N transits))",
        ylabel="recall",
        ylim=(0, 1.05),
        title=f"Injection-recovery, {TITLES.get(table['source'].iloc[0], '')} "
        f"(n={int(table['n'].sum())})",
    )
    ax.grid(alpha=0.3)


def plot_roc_pr(methods: Sequence[Scored]) -> Any:
    """ROC and precision-recall side by side, every method on the same axes.

    Each curve's AUC is in the legend and the validation-chosen operating point
    is marked, so the figure shows where the method is actually used.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.6))
    ax_roc, ax_pr = fig.subplots(1, 2)
    for i, method in enumerate(methods):
        color = f"C{i}"
        y, s = binary(method.labels), np.asarray(method.scores, float)
        point = operating_point(y, method.predicted)
        fpr, tpr, _ = roc_curve(y, s)
        ax_roc.plot(fpr, tpr, color=color, label=f"{method.name} (AUC {roc_auc_score(y, s):.3f})")
        ax_roc.plot(point["fpr"], point["recall"], "o", color=color, ms=7, mec="k")
        precision, recall, _ = precision_recall_curve(y, s)
        ap = average_precision_score(y, s)
        ax_pr.step(
            recall, precision, where="post", color=color, label=f"{method.name} (AP {ap:.3f})"
        )
        ax_pr.plot(point["recall"], point["precision"], "o", color=color, ms=7, mec="k")
    prevalence = float(np.mean(binary(methods[0].labels)))
    ax_roc.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    ax_pr.axhline(prevalence, ls=":", color="grey", label=f"chance ({prevalence:.3f})")
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC")
    ax_pr.set(xlabel="recall", ylabel="precision", title="Precision-recall", ylim=(0, 1.02))
    for ax in (ax_roc, ax_pr):
        ax.legend(loc="lower right" if ax is ax_roc else "lower left", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Test split (n={len(methods[0].labels)}); dots: threshold chosen on validation")
    fig.tight_layout()
    return fig


def plot_confusions(methods: Sequence[Scored]) -> Any:
    """Confusion-matrix counts of each method at its operating point, side by side."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.4 * len(methods), 4))
    axes = fig.subplots(1, len(methods), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        c = confusion_counts(method.labels, method.predicted)
        matrix = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
        ax.imshow(matrix, cmap="Blues")
        for (row, col), count in np.ndenumerate(matrix):
            dark = count > matrix.max() / 2
            ax.text(col, row, str(count), ha="center", va="center", color="w" if dark else "k")
        ax.set_xticks([0, 1], ["no transit", "transit"])
        ax.set_yticks([0, 1], ["no transit", "transit"])
        ax.set(xlabel="predicted", ylabel="actual")
        ax.set_title(f"{method.name}\nthreshold {method.threshold:.4g}", fontsize=10)
    fig.tight_layout()
    return fig


def _spread_picks(meta: pd.DataFrame, label: int, by: str, count: int) -> np.ndarray:
    """Row indices of ``count`` examples of a class spread evenly over the ranks of ``by``."""
    rows = np.flatnonzero(meta["label"].to_numpy() == label)
    rows = rows[np.argsort(meta[by].to_numpy()[rows], kind="stable")]
    if rows.size == 0:
        return rows
    return rows[np.unique(np.rint(np.linspace(0, rows.size - 1, count)).astype(int))]


def _synthetic_panel(ax: Any, row: pd.Series, i: int, flux: np.ndarray, time: np.ndarray) -> None:
    """One synthetic light curve in ppm; a positive gets its mid-transit times marked."""
    ppm = (flux.astype(np.float64) - 1) * 1e6
    ax.plot(time, ppm, ".", ms=2, color="k")
    lo, hi = np.nanpercentile(ppm, [0.5, 99.5])
    pad = 0.15 * (hi - lo)
    if row["label"] == 1:
        epochs = row["t0_days"] + row["period_days"] * np.arange(
            int((time[-1] - row["t0_days"]) // row["period_days"]) + 1
        )
        for t in epochs:
            ax.axvline(t, color="tab:red", lw=0.8, alpha=0.5)
        lo = min(lo, np.nanmedian(ppm) - 1.3 * row["depth_ppm"])
        ax.set_title(
            f"{row.get('id', i)}  transit  P={row['period_days']:.2f} d\n"
            f"depth={row['depth_ppm']:.0f} ppm  SNR={row['snr']:.1f}",
            fontsize=9,
        )
    else:
        ax.set_title(
            f"{row.get('id', i)}  no transit\nCDPP={row['cdpp_ppm']:.0f} ppm  "
            f"rotation={row['variability_ppm']:.0f} ppm",
            fontsize=9,
        )
    ax.set_ylim(lo - pad, hi + pad)


def synthetic_examples(flux: np.ndarray, meta: pd.DataFrame, time: np.ndarray) -> Any:
    """Grid of six positives (low to high SNR, mid-transit times marked) and three negatives
    (quiet to active star), in ppm, as Kepler photometry would be inspected by eye."""
    from matplotlib.figure import Figure

    rows = [*_spread_picks(meta, 1, "snr", 6), *_spread_picks(meta, 0, "variability_ppm", 3)]
    fig = Figure(figsize=(15, 9))
    axes = fig.subplots(3, 3, sharex=True, squeeze=False)
    for ax in axes.flat[len(rows) :]:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, rows, strict=False):
        _synthetic_panel(ax, meta.iloc[i], i, flux[i], time)
    for ax in axes[-1]:
        ax.set_xlabel("time [d]")
    for ax in axes[:, 0]:
        ax.set_ylabel("flux - 1 [ppm]")
    fig.suptitle(
        "Synthetic Kepler long-cadence light curves (red lines: mid-transit times)", fontsize=11
    )
    fig.tight_layout()
    return fig


def kepler_example_indices(
    table: pd.DataFrame, n_transit: int = 6, n_negative: int = 6
) -> list[int]:
    """Deterministic picks for the figure: the highest-SNR transit window of distinct stars, then
    host windows without transit (distinct quarters) and the least gappy non-KOI windows of
    distinct stars (BKJD-timed first)."""
    transits = table.loc[table["label"] == 1].sort_values(["snr", "id"], ascending=[False, True])
    picks = list(transits.drop_duplicates("kepid").index[:n_transit])
    negatives = table.loc[table["label"] == 0].assign(relative_time=table["quarter"] < 0)
    negatives = negatives.sort_values(["relative_time", "missing_fraction", "id"])
    hosts = negatives.loc[negatives["kind"] == "host_no_transit"]
    picks += list(hosts.drop_duplicates(["kepid", "quarter"]).index[: n_negative // 3])
    others = negatives.loc[negatives["kind"] != "host_no_transit"].drop_duplicates("kepid")
    picks += list(others.index[: n_transit + n_negative - len(picks)])  # fill the free panels
    return picks


def _kepler_panel(ax: Any, row: pd.Series, time: np.ndarray, flux: np.ndarray, koi: Any) -> None:
    """One real window in ppm with every KOI's predicted mid-transit times of its star."""
    ax.plot(time, (flux - 1.0) * 1e6, ".", ms=1.5, color="0.25")
    for k in star_kois(koi, int(row["kepid"])).itertuples():
        if not np.isfinite(k.koi_period) or k.koi_period <= 0:
            continue
        first = np.ceil((time[0] - k.koi_time0bk) / k.koi_period)
        last = np.floor((time[-1] - k.koi_time0bk) / k.koi_period)
        colour = "tab:red" if k.koi_disposition == "CONFIRMED" else "tab:orange"
        for n in np.arange(first, last + 1):
            ax.axvline(k.koi_time0bk + n * k.koi_period, color=colour, lw=0.8, alpha=0.6)
    if row["label"] == 1:
        planets = row["planets"].split(";")
        more = f" +{len(planets) - 1}" if len(planets) > 1 else ""
        what = f"{planets[0]}{more}, SNR {row['snr']:.0f}"
    else:
        what = row["kind"]
    title = f"KIC {row['kepid']} Q{row['quarter']}: label {row['label']}, {what}"
    ax.set_title(title, fontsize=8)
    relative = row["quarter"] < 0
    ax.set_xlabel("days (source's relative time)" if relative else "BKJD (days)", fontsize=7)
    ax.set_ylabel("flux - 1 (ppm)", fontsize=7)
    ax.tick_params(labelsize=6)


def kepler_examples(pool: WindowPool, koi: pd.DataFrame) -> Any:
    """Figure of labelled real windows with every KOI's predicted mid-transit times marked."""
    from matplotlib.figure import Figure

    picks = kepler_example_indices(pool.table)
    ncols = 4
    nrows = max(1, -(-len(picks) // ncols))
    fig = Figure(figsize=(3.6 * ncols, 2.5 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, i in zip(axes, picks, strict=False):
        _kepler_panel(ax, pool.table.loc[i], pool.time[i], pool.flux[i], koi)
    for ax in axes[len(picks) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Real Kepler windows (red: predicted transits of CONFIRMED planets, orange: other KOIs)",
        fontsize=9,
    )
    return fig


def plot_predictions(predictions: Sequence[Prediction], threshold: float) -> Any:
    """Each scored light curve (binned to the model cadence) with its flagged windows shaded."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 2.6 * len(predictions)), layout="constrained")
    axes = fig.subplots(len(predictions), 1, squeeze=False)[:, 0]
    for ax, p in zip(axes, predictions, strict=True):
        ax.plot(p.grid_time, p.grid_flux, ".", ms=1.5, color="0.25", rasterized=True)
        ax.fill_between(
            p.grid_time,
            0,
            1,
            where=p.flagged_cadences(),
            transform=ax.get_xaxis_transform(),
            color="tab:red",
            alpha=0.2,
            lw=0,
            label="flagged window",
        )
        n = int(p.flagged.sum())
        if n:
            ax.legend(loc="upper right", fontsize=8)
        ax.set_title(
            f"{p.lightcurve.name}: {n} of {len(p.verdict)} windows flagged "
            f"(threshold {threshold:.3f})",
            fontsize=9,
            loc="left",
        )
        ax.set_ylabel("relative flux")
    axes[-1].set_xlabel("time [days]")
    return fig
