"""``clean_outliers``: astropy's ``sigma_clip`` for the upward part, the old clip as reference."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from transit_classifier.robust import nanmedian
from transit_classifier.signal.preprocess import (
    ISOLATED_DIP_SIGMA,
    NEIGHBOUR_LOW_SIGMA,
    as_batch,
    clean_outliers,
    robust_sigma,
)


def old_clean_outliers(flat: np.ndarray, clip_high_sigma: float) -> np.ndarray:
    """The hand-written clip ``sigma_clip`` replaced, verbatim: the reference for ordinary rows."""
    flat = as_batch(flat)
    z = (flat - nanmedian(flat, axis=1, keepdims=True)) / robust_sigma(flat)
    low = np.pad(z < -NEIGHBOUR_LOW_SIGMA, ((0, 0), (1, 1)))
    isolated = (z < -ISOLATED_DIP_SIGMA) & ~low[:, :-2] & ~low[:, 2:]
    return np.where((z > clip_high_sigma) | isolated, np.nan, flat)


def noisy_rows(dtype: type, seed: int) -> np.ndarray:
    """Detrended-looking rows with gaps, flares, cosmic rays, lone dips and transits."""
    rng = np.random.default_rng(seed)
    flat = 1.0 + rng.normal(0.0, 1e-4, (200, 500))
    flat[rng.random(flat.shape) < 0.05] = np.nan  # gaps
    hits = rng.random(flat.shape) < 0.01
    flat[hits] += rng.uniform(-3e-3, 3e-3, hits.sum())  # spikes and lone dips, both sides
    flat[:, 100:104] -= 1e-3  # a transit in every row
    flat[3] = np.nan  # an all-gap row
    return flat.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("clip", [3.0, 5.0])
def test_sigma_clip_drops_exactly_what_the_hand_written_clip_dropped(dtype, clip) -> None:
    flat = noisy_rows(dtype, seed=int(clip))
    with warnings.catch_warnings(action="error"):  # gaps raise no astropy or numpy warning
        got = clean_outliers(flat, clip)
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        expected = old_clean_outliers(flat, clip)
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got).sum() > np.isnan(flat).sum() + 200  # the test did clip something


def test_a_constant_row_keeps_every_cadence_and_a_lone_dip_in_it_goes() -> None:
    flat = np.ones((2, 50))
    flat[1, 20] = 0.99  # MAD = 0 rows: the dip rule falls back to the std (robust_sigma)
    flat[1, 40] = np.nan
    with warnings.catch_warnings(action="error"):
        clean = clean_outliers(flat, clip_high_sigma=5.0)
    np.testing.assert_array_equal(clean[0], flat[0])
    assert set(np.flatnonzero(np.isnan(clean[1]))) == {20, 40}


def test_a_zero_mad_row_loses_only_the_cadences_above_its_median() -> None:
    """More than half the cadences equal: sigma_clip's bound is the median itself (documented)."""
    flat = np.ones((1, 40))
    flat[0, :10] = 1.0 + np.linspace(1e-6, 1e-5, 10)  # small upward scatter
    flat[0, 30:33] = 0.999  # a three-cadence transit
    clean = clean_outliers(flat, clip_high_sigma=5.0)
    assert set(np.flatnonzero(np.isnan(clean[0]))) == set(range(10))
    np.testing.assert_array_equal(clean[0, 10:], flat[0, 10:])  # the transit stays


def test_infinite_flux_comes_back_nan_and_one_dimensional_input_is_one_row() -> None:
    flux = 1.0 + np.random.default_rng(1).normal(0.0, 1e-4, 100)
    flux[[10, 60]] = [np.inf, -np.inf]
    clean = clean_outliers(flux, clip_high_sigma=5.0)
    assert clean.shape == (1, 100)
    assert np.isnan(clean[0, [10, 60]]).all()
    assert np.isfinite(clean).sum() >= 95
