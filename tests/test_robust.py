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
