"""Figures for users: the vetting page of a candidate and the scored light curves. No saving.

In the spirit of Kepler's data-validation reports: the raw and detrended light
curve with the transit times marked and the flagged windows shaded, the
phase-folded transit with the box model over it, and odd against even transits
(an eclipsing binary shows two depths), and the overview of scored light curves
(:func:`plot_predictions`). Callers save with :func:`io.save_figure`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import binned_statistic

from transit_classifier.simulate.orbits import transit_offset

from .vetting import Candidate

if TYPE_CHECKING:
    from .predict import Prediction

N_BINS = 60


def _light_curve(
    ax: Any, time: np.ndarray, flux: np.ndarray, shade: np.ndarray, c: Candidate
) -> None:
    """Flux against time, flagged cadences shaded red and transit times marked blue."""
    ax.plot(time, flux, ".", ms=1.5, color="0.25", rasterized=True)
    ax.fill_between(
        time,
        0,
        1,
        where=shade,
        transform=ax.get_xaxis_transform(),
        color="tab:red",
        alpha=0.2,
        lw=0,
        label="flagged window",
    )
    for i, t in enumerate(c.transit_times):
        ax.axvline(t, color="tab:blue", lw=0.8, ls=":", label="transit" if i == 0 else None)


def _fold(time: np.ndarray, c: Candidate) -> np.ndarray:
    """Hours from the nearest transit (from the single epoch when the period is unknown)."""
    offset = time - c.epoch if np.isnan(c.period) else transit_offset(time, c.period, c.epoch)
    return offset * 24


def _folded(ax: Any, hours: np.ndarray, flat: np.ndarray, c: Candidate, title: str) -> None:
    """Folded points, their binned means and the box model of depth ``c.depth``."""
    span = max(3 * c.duration * 24, 6.0)
    near = np.isfinite(flat) & (np.abs(hours) < span)
    ax.plot(hours[near], flat[near], ".", ms=2, color="0.6", rasterized=True)
    means, edges, _ = binned_statistic(hours[near], flat[near], "mean", N_BINS, (-span, span))
    ax.plot((edges[:-1] + edges[1:]) / 2, means, "o", ms=3, color="k", label="binned")
    half = c.duration * 12
    ax.plot(
        [-span, -half, -half, half, half, span],
        [1, 1, 1 - c.depth, 1 - c.depth, 1, 1],
        color="tab:orange",
        lw=1.5,
        label="box model",
    )
    ax.set_xlim(-span, span)
    ax.set_xlabel("hours from mid-transit")
    ax.set_title(title, fontsize=9, loc="left")


def _odd_even(ax_odd: Any, ax_even: Any, time: np.ndarray, flat: np.ndarray, c: Candidate) -> None:
    """Odd and even transits folded side by side, their depths as lines, sigma in the title."""
    if np.isnan(c.period):
        ax_odd.text(  # once, centred across both panels
            1.0,
            0.5,
            "single transit: no odd/even test",
            ha="center",
            va="center",
            transform=ax_odd.transAxes,
        )
        ax_odd.set_axis_off()
        ax_even.set_axis_off()
        return
    odd = np.round((time - c.epoch) / c.period).astype(np.int64) % 2 == 1
    hours = _fold(time, c)
    for ax, mask, depth, name in (
        (ax_odd, odd, c.odd_depth, "odd"),
        (ax_even, ~odd, c.even_depth, "even"),
    ):
        _folded(ax, hours, np.where(mask, flat, np.nan), c, f"{name}: depth {depth * 1e6:.0f} ppm")
        ax.axhline(1 - depth, color="tab:green", lw=1, ls="--")
    ax_even.sharey(ax_odd)
    ax_odd.figure.text(
        0.75,
        0.5,
        f"odd - even: {c.odd_even_sigma:.1f} sigma",
        ha="center",
        fontsize=10,
        weight="bold",
    )


def vetting_path(directory: str | Path, name: str, tag: str = "") -> Path:
    """``DIR/<input file name without extension>[-tag]_vetting.png``, safe for any input name.

    ``scan`` passes the input's resume key as ``tag``, so two inputs with one
    file name (or one file scored by two models) never overwrite each other.
    """
    stem = re.sub(r"(\.fits|\.fit|\.csv)(\.gz)?$", "", Path(name).name, flags=re.IGNORECASE)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_") + (f"-{tag}" if tag else "")
    return Path(directory) / f"{stem}_vetting.png"


def vetting_figure(
    name: str,
    time: np.ndarray,
    raw: np.ndarray,
    flat: np.ndarray,
    flagged: np.ndarray,
    candidate: Candidate,
) -> Any:
    """A one-page vetting figure of ``candidate`` in one light curve.

    Parameters
    ----------
    name
        The input's name, in the title.
    time, raw, flat
        The model-cadence grid: times (days), relative flux, detrended flux.
    flagged
        Boolean mask of the grid cadences inside flagged windows (shaded).
    candidate
        From :func:`transit_classifier.serve.vetting.estimate`.
    """
    from matplotlib.figure import Figure

    c = candidate
    fig = Figure(figsize=(11, 10), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[1, 1, 1.3])
    ax_raw, ax_flat = fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, :])
    ax_fold = fig.add_subplot(grid[2, 0])
    sub = grid[2, 1].subgridspec(1, 2)
    ax_odd, ax_even = fig.add_subplot(sub[0]), fig.add_subplot(sub[1])
    _light_curve(ax_raw, time, raw, flagged, c)
    ax_raw.set(ylabel="relative flux", title="(a) raw flux (model cadence)")
    ax_raw.legend(loc="upper right", fontsize=8)
    _light_curve(ax_flat, time, flat, flagged, c)
    ax_flat.set(xlabel="time [days]", ylabel="detrended flux", title="(b) detrended (biweight)")
    period = "single transit" if np.isnan(c.period) else f"P = {c.period:.4f} d"
    _folded(ax_fold, _fold(time, c), flat, c, f"(c) folded, {period}, SNR {c.snr:.1f}")
    ax_fold.legend(loc="lower left", fontsize=8)
    ax_fold.set_ylabel("detrended flux")
    _odd_even(ax_odd, ax_even, time, flat, c)
    fig.suptitle(
        f"{name}: epoch {c.epoch:.4f} d, duration {c.duration * 24:.1f} h, "
        f"depth {c.depth * 1e6:.0f} ± {c.depth_err * 1e6:.0f} ppm",
        fontsize=11,
    )
    return fig


def prediction_figure(prediction: Any, flat: np.ndarray, candidate: Candidate) -> Any:
    """:func:`vetting_figure` of a scored light curve (a ``predict.Prediction``)."""
    return vetting_figure(
        prediction.lightcurve.name,
        prediction.grid_time,
        prediction.grid_flux,
        flat,
        prediction.flagged_cadences(),
        candidate,
    )


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
