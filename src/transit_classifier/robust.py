"""Robust (outlier-resistant) noise estimates, NaN-aware.

Transits, flares and cosmic rays would inflate a standard deviation, so every
noise level in the pipeline is the median absolute deviation (MAD) scaled to a
Gaussian sigma. ``MAD_TO_SIGMA`` is 1.4826, not the exact 1.482602...: the
rounded factor is what the pipeline's data hashes were made with, which is also
why ``astropy.stats.mad_std`` is not used.
"""

from __future__ import annotations

import warnings

import numpy as np

MAD_TO_SIGMA = 1.4826


def mad_sigma(values: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``MAD_TO_SIGMA`` times the median absolute deviation about the median, ignoring NaN.

    All-NaN rows give NaN without a warning; callers decide the fallback.

    Examples
    --------
    >>> float(mad_sigma(np.array([1.0, 2.0, np.nan, 3.0, 100.0])))
    1.4826
    """
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        centre = np.nanmedian(values, axis=axis, keepdims=True)
        return MAD_TO_SIGMA * np.nanmedian(np.abs(values - centre), axis=axis, keepdims=keepdims)


def difference_sigma(flux: np.ndarray) -> np.ndarray:
    """Per-cadence white noise of each row: ``mad_sigma`` of point-to-point differences.

    Differences of neighbouring cadences cancel slow variability (rotation,
    drifts); dividing by sqrt(2) converts the scatter of a difference into that
    of one cadence.
    """
    return mad_sigma(np.diff(flux, axis=1), axis=1) / np.sqrt(2.0)
