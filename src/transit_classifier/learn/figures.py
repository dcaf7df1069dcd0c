"""Figures of the labelled real Kepler windows: ``Figure`` objects, no pyplot state, no saving."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from transit_classifier.sources.koi import star_kois

if TYPE_CHECKING:
    from .kepler_windows import WindowPool


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
