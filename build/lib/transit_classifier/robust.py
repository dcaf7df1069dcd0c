"""Robust (outlier-resistant) noise estimates, NaN-aware.

Transits, flares and cosmic rays would inflate a standard deviation, so every
noise level in the pipeline is the median absolute deviation (MAD) scaled to a
Gaussian sigma. ``MAD_TO_SIGMA`` is 1.4826, not the exact 1.482602...: the
rounded factor is what the pipeline's data hashes were made with, which is also
why ``astropy.stats.mad_std`` is not used.
"""

from __future__ import annotations

import numpy as np

MAD_TO_SIGMA = 1.4826


def nanmedian(values: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``np.nanmedian``, equal to the last bit, but one vectorised sort instead of a row loop.

    numpy falls back to a Python loop over rows (``apply_along_axis``) as soon
    as any row holds a NaN, which every light curve with a gap does; here NaN
    sorts last and each row's middle is picked by its own finite count. All-NaN
    rows give NaN without a warning.

    Examples
    --------
    >>> rows = np.array([[3.0, np.nan, 1.0, 2.0], [4.0, 1.0, np.nan, np.nan]])
    >>> nanmedian(rows).tolist(), np.nanmedian(rows, axis=1).tolist()
    ([2.0, 2.5], [2.0, 2.5])
    """
    moved = np.sort(np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1), axis=-1)
    count = (~np.isnan(moved)).sum(axis=-1, keepdims=True)
    low = np.take_along_axis(moved, np.maximum((count - 1) // 2, 0), axis=-1)
    high = np.take_along_axis(moved, np.maximum(count // 2, 0), axis=-1)
    median = np.where(count > 0, (low + high) / 2, np.nan)
    median = np.moveaxis(median, -1, axis)
    return median if keepdims else np.squeeze(median, axis=axis)


def mad_sigma(values: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``MAD_TO_SIGMA`` times the median absolute deviation about the median, ignoring NaN.

    All-NaN rows give NaN without a warning; callers decide the fallback.

    Examples
    --------
    >>> float(mad_sigma(np.array([1.0, 2.0, np.nan, 3.0, 100.0])))
    1.4826
    """
    centre = nanmedian(values, axis=axis, keepdims=True)
    return MAD_TO_SIGMA * nanmedian(np.abs(values - centre), axis=axis, keepdims=keepdims)


def difference_sigma(flux: np.ndarray) -> np.ndarray:
    """Per-cadence white noise of each row: ``mad_sigma`` of point-to-point differences.

    Differences of neighbouring cadences cancel slow variability (rotation,
    drifts); dividing by sqrt(2) converts the scatter of a difference into that
    of one cadence.
    """
    return mad_sigma(np.diff(flux, axis=1), axis=1) / np.sqrt(2.0)
