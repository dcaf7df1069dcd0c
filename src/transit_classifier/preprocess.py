"""The one preprocessing function, shared by ``prepare``, ``evaluate`` and ``predict``.

Raw light curves (relative flux near 1, NaN where cadences are missing) become
float32 arrays ``(n, length, 1)`` the network reads: gaps filled without
inventing dips, slow stellar and instrumental variation divided out with a
running median far longer than any transit, then a robust per-light-curve
normalisation (median / MAD) with outliers clipped. Nothing here is fitted
across light curves, so there is nothing to leak between splits.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.ndimage import median_filter

from .errors import UserError

MAD_TO_SIGMA = 1.4826


def _as_batch(flux: np.ndarray) -> np.ndarray:
    flux = np.asarray(flux, dtype=np.float64)
    if flux.ndim == 1:
        flux = flux[None, :]
    if flux.ndim != 2 or flux.shape[1] < 3:
        raise UserError(f"light curves must be an (n, length>=3) array, got shape {flux.shape}")
    return flux


def check_usable(flux: np.ndarray, ids: np.ndarray | None = None) -> None:
    """Reject light curves that are all-NaN or constant: they carry no information.

    Raises
    ------
    UserError
        Naming the first offending light curve.
    """
    flux = _as_batch(flux)
    finite = np.isfinite(flux)
    n_finite = finite.sum(axis=1)
    spread = np.where(finite, flux, np.nan)
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        constant = np.nanmax(spread, axis=1) == np.nanmin(spread, axis=1)
    bad = (n_finite < 3) | constant
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        name = ids[i] if ids is not None else f"#{i}"
        why = "has fewer than 3 finite flux values" if n_finite[i] < 3 else "has constant flux"
        raise UserError(f"light curve {name} {why}; drop it or supply real flux values")


def fill_gaps(flux: np.ndarray) -> np.ndarray:
    """Fill NaN cadences by linear interpolation between their finite neighbours.

    Interpolation draws a straight line across a gap, so it can shorten a dip
    that a gap cuts into but never creates one. Edges take the nearest value.
    """
    flux = _as_batch(flux).copy()
    n, length = flux.shape
    finite = np.isfinite(flux)
    if finite.all():
        return flux
    index = np.arange(length)
    # Vectorised per-row interpolation: index of the previous / next finite cadence.
    prev_idx = np.where(finite, index, -1)
    np.maximum.accumulate(prev_idx, axis=1, out=prev_idx)
    next_idx = np.where(finite, index, length)
    next_idx = np.minimum.accumulate(next_idx[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(n)[:, None]
    has_prev = prev_idx >= 0
    has_next = next_idx < length
    prev_val = flux[rows, np.clip(prev_idx, 0, length - 1)]
    next_val = flux[rows, np.clip(next_idx, 0, length - 1)]
    span = np.maximum(next_idx - prev_idx, 1)
    weight = (index - prev_idx) / span
    interp = prev_val + (next_val - prev_val) * weight
    filled = np.where(has_prev & has_next, interp, np.where(has_prev, prev_val, next_val))
    return np.where(finite, flux, filled)


def detrend(flux: np.ndarray, window: int) -> np.ndarray:
    """Divide out variability slower than ``window`` cadences with a running median.

    NaN cadences stay NaN in the result. ``window`` must be far longer than the
    longest transit (a median ignores a dip shorter than half its window).
    """
    flux = _as_batch(flux)
    missing = ~np.isfinite(flux)
    filled = fill_gaps(flux)
    trend = median_filter(filled, size=(1, int(window)), mode="reflect")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = filled / trend
    out[missing] = np.nan
    return out


def robust_normalise(flux: np.ndarray, clip_low: float, clip_high: float) -> np.ndarray:
    """Centre on the median, scale by 1.4826 * MAD and clip to ``[-clip_low, clip_high]``.

    Clipping is asymmetric: flares and cosmic rays point up, transits point down.
    """
    flux = _as_batch(flux)
    median = np.nanmedian(flux, axis=1, keepdims=True)
    mad = np.nanmedian(np.abs(flux - median), axis=1, keepdims=True) * MAD_TO_SIGMA
    std = np.nanstd(flux, axis=1, keepdims=True)
    scale = np.where(mad > 0, mad, np.where(std > 0, std, 1.0))
    return np.clip((flux - median) / scale, -clip_low, clip_high)


def preprocess(flux: np.ndarray, settings: dict[str, Any]) -> np.ndarray:
    """Turn raw light curves into network input of shape ``(n, length, 1)``, float32.

    Parameters
    ----------
    flux
        ``(n, length)`` or ``(length,)`` relative flux; NaN marks missing cadences.
    settings
        The ``prepare`` section of params (``detrend_window_cadences``,
        ``clip_low_sigma``, ``clip_high_sigma``).

    Raises
    ------
    UserError
        If a light curve is all-NaN or constant.
    """
    flux = _as_batch(flux)
    check_usable(flux)
    flat = detrend(flux, settings["detrend_window_cadences"])
    normalised = robust_normalise(flat, settings["clip_low_sigma"], settings["clip_high_sigma"])
    filled = np.nan_to_num(normalised, nan=0.0)  # gaps sit at the median level
    return filled.astype(np.float32)[:, :, None]
