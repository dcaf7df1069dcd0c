"""Robust (outlier-resistant) noise estimates, NaN-aware.

Transits, flares and cosmic rays would inflate a standard deviation, so every
noise level in the pipeline is the median absolute deviation (MAD) scaled to a
Gaussian sigma: astropy's ``mad_std`` (factor 1 / Phi^-1(3/4) = 1.482602...).
The pipeline once used the rounded factor 1.4826; every sigma is now larger by
that ratio, 1 + 1.5e-6 (``tests/test_robust.py`` checks this and nothing else moved).
"""

from __future__ import annotations

import numpy as np
from astropy.stats import mad_std


def nanmedian(
    values: np.ndarray, axis: int = -1, keepdims: bool = False, overwrite_input: bool = False
) -> np.ndarray:
    """``np.nanmedian``, equal to the last bit, but one vectorised sort instead of a row loop.

    numpy falls back to a Python loop over rows (``apply_along_axis``) as soon
    as any row holds a NaN, which every light curve with a gap does; here NaN
    sorts last and each row's middle is picked by its own finite count. All-NaN
    rows give NaN without a warning. ``mad_sigma`` is faster with this median
    than with astropy's default (``np.nanmedian``) on windows with gaps:
    ``bench/bench_robust.py`` times both, in ``bench/RESULTS.md``.
    ``overwrite_input`` is accepted, and ignored, because astropy passes it to
    a custom median function.

    Examples
    --------
    >>> rows = np.array([[3.0, np.nan, 1.0, 2.0], [4.0, 1.0, np.nan, np.nan]])
    >>> nanmedian(rows).tolist(), np.nanmedian(rows, axis=1).tolist()
    ([2.0, 2.5], [2.0, 2.5])
    """
    del overwrite_input  # np.sort below already works on a copy
    moved = np.sort(np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1), axis=-1)
    count = (~np.isnan(moved)).sum(axis=-1, keepdims=True)
    low = np.take_along_axis(moved, np.maximum((count - 1) // 2, 0), axis=-1)
    high = np.take_along_axis(moved, np.maximum(count // 2, 0), axis=-1)
    median = np.where(count > 0, (low + high) / 2, np.nan)
    median = np.moveaxis(median, -1, axis)
    return median if keepdims else np.squeeze(median, axis=axis)


def mad_sigma(values: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``astropy.stats.mad_std`` along ``axis``, ignoring NaN, with :func:`nanmedian` inside.

    All-NaN rows give NaN without a warning; callers decide the fallback.

    Examples
    --------
    >>> float(mad_sigma(np.array([1.0, 2.0, np.nan, 3.0, 100.0])))
    1.482602218505602
    """
    values = np.asarray(values, dtype=np.float64)
    axis = axis % values.ndim  # astropy re-expands the median along a non-negative axis
    sigma = np.asarray(mad_std(values, axis=axis, func=nanmedian, ignore_nan=True))
    return np.expand_dims(sigma, axis) if keepdims else sigma


def difference_sigma(flux: np.ndarray) -> np.ndarray:
    """Per-cadence white noise of each row: ``mad_sigma`` of point-to-point differences.

    Differences of neighbouring cadences cancel slow variability (rotation,
    drifts); dividing by sqrt(2) converts the scatter of a difference into that
    of one cadence.
    """
    return mad_sigma(np.diff(flux, axis=1), axis=1) / np.sqrt(2.0)
