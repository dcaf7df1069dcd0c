"""The vectorised NaN-aware median must equal numpy's to the last bit: data hashes rest on it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from transit_classifier.robust import mad_sigma, nanmedian


@pytest.mark.parametrize("shape", [(300, 1000), (7, 4), (1, 5), (40,), (3, 4, 5)])
def test_nanmedian_equals_numpy_on_every_axis(shape) -> None:
    rng = np.random.default_rng(len(shape))
    values = rng.standard_normal(shape)
    values[rng.random(shape) < 0.3] = np.nan
    values.flat[:3] = [np.inf, -np.inf, 2.5]
    if values.ndim > 1:
        values[0] = np.nan  # an all-NaN row
    for axis in range(values.ndim):
        with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
            expected = np.nanmedian(values, axis=axis, keepdims=True)
        with warnings.catch_warnings(action="error"):  # and no "All-NaN slice" warning
            got = nanmedian(values, axis=axis, keepdims=True)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(nanmedian(values, axis=axis), np.squeeze(expected, axis))


def test_mad_sigma_of_gaussian_noise_is_its_sigma() -> None:
    noise = 3.0 * np.random.default_rng(0).standard_normal((4, 20_000))
    noise[:, ::7] = np.nan
    np.testing.assert_allclose(mad_sigma(noise, axis=1), 3.0, rtol=0.03)


@pytest.mark.parametrize("shape", [(300, 1000), (7, 4), (40,), (3, 4, 5)])
def test_mad_sigma_is_astropy_mad_std_and_the_old_formula_times_a_constant(shape) -> None:
    """The hand-written 1.4826 * MAD moved to astropy: the same MAD, the exact factor.

    Every sigma changes by exactly 1.482602218505602 / 1.4826 (1 + 1.5e-6, float
    rounding apart), so nothing but the constant moved.
    """
    from astropy.stats import mad_std

    rng = np.random.default_rng(len(shape) + 10)
    values = rng.standard_normal(shape) * 2.0 + 1.0
    values[rng.random(shape) < 0.2] = np.nan
    if values.ndim > 1:
        values[0] = np.nan  # an all-NaN row stays NaN, with no warning
    for axis in range(values.ndim):
        with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
            centre = np.nanmedian(values, axis=axis, keepdims=True)
            old = 1.4826 * np.nanmedian(np.abs(values - centre), axis=axis, keepdims=True)
            library = mad_std(values, axis=axis, ignore_nan=True)
        with warnings.catch_warnings(action="error"):
            got = mad_sigma(values, axis=axis, keepdims=True)
        np.testing.assert_allclose(got, old * (1.482602218505602 / 1.4826), rtol=1e-15)
        np.testing.assert_allclose(np.squeeze(got, axis), library, rtol=1e-15)
