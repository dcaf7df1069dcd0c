"""Figures of synthetic stars: matplotlib ``Figure`` objects, no pyplot state, no saving."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


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
