"""BLS baseline: finds box transits at their period, ignores noise, stays deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transit_classifier.bls import COLUMNS, BLSSearch, period_grid, select_statistic
from transit_classifier.errors import UserError

CADENCE_MINUTES = 29.4244
LENGTH = 1000


def small_params(**evaluate) -> dict:
    """The params keys the BLS search reads, at the pipeline's real cadence and window."""
    settings = {
        "bls_durations_hours": [1.0, 2.0, 4.0, 8.0],
        "bls_periods": 1500,
        "bls_oversample": 3,
        **evaluate,
    }
    return {
        "dataset": {"window_length": LENGTH, "cadence_minutes": CADENCE_MINUTES},
        "synthetic": {"min_transits": 1},
        "prepare": {"detrend_window_cadences": 97, "clip_high_sigma": 5.0},
        "evaluate": settings,
    }


def light_curves(n_noise: int, n_transit: int, period: float, depth: float, seed: int = 3):
    """White-noise light curves (1000 ppm per cadence), the last ``n_transit`` with box dips."""
    rng = np.random.default_rng(seed)
    flux = 1.0 + rng.normal(0.0, 1e-3, (n_noise + n_transit, LENGTH))
    time = np.arange(LENGTH) * CADENCE_MINUTES / 1440.0
    in_transit = np.abs((time - 1.3 + period / 2) % period - period / 2) < 1.5 / 24  # 3 h box
    flux[n_noise:, in_transit] -= depth
    return flux


def test_period_grid_is_even_in_frequency_and_bounded():
    periods = period_grid(20.0, 100, min_period=0.5)
    assert periods[0] == pytest.approx(0.5) and periods[-1] == pytest.approx(20.0)
    assert np.all(np.diff(periods) > 0)
    assert np.allclose(np.diff(1.0 / periods), np.diff(1.0 / periods)[0])
    with pytest.raises(UserError, match="period grid"):
        period_grid(0.4, 100, min_period=0.5)


def test_from_params_bounds_periods_by_window_and_rejects_long_durations():
    search = BLSSearch.from_params(small_params())
    window = LENGTH * CADENCE_MINUTES / 1440.0
    assert search.periods[-1] == pytest.approx(window)
    assert search.durations.tolist() == pytest.approx([1 / 24, 2 / 24, 4 / 24, 8 / 24])
    with pytest.raises(UserError, match="bls_durations_hours"):
        BLSSearch.from_params(small_params(bls_durations_hours=[2.0, 12.0]))


def test_bls_recovers_injected_period_and_outscores_noise():
    search = BLSSearch.from_params(small_params())
    flux = light_curves(n_noise=3, n_transit=1, period=3.3, depth=3e-3)
    flux[3, 500:540] = np.nan  # a data gap must not break the search
    stats = search.search(flux, workers=1, progress=False)
    assert list(stats.columns) == list(COLUMNS)
    transit, noise = stats.iloc[3], stats.iloc[:3]
    assert transit["period_days"] == pytest.approx(3.3, rel=0.02)
    assert transit["depth_ppm"] == pytest.approx(3000, rel=0.3)
    assert transit["sde"] > noise["sde"].max()
    assert transit["depth_snr"] > noise["depth_snr"].max()
    assert transit["depth_snr"] > 10


def test_too_few_points_scores_zero():
    search = BLSSearch.from_params(small_params())
    row = np.full(LENGTH, np.nan)
    row[:10] = 1.0
    out = search.search_one(row)
    assert out[0] == 0.0 and out[1] == 0.0


def test_parallel_search_matches_serial_in_order():
    search = BLSSearch.from_params(small_params(bls_periods=300))
    flux = light_curves(n_noise=2, n_transit=2, period=2.1, depth=2e-3, seed=5)
    serial = search.search(flux, workers=1, progress=False)
    parallel = search.search(flux, workers=2, progress=False, chunk_size=1)
    pd.testing.assert_frame_equal(serial, parallel)


def test_select_statistic_uses_validation_average_precision():
    labels = np.array([0, 0, 0, 1, 1])
    stats = pd.DataFrame({"sde": [1.0, 5.0, 2.0, 4.0, 6.0], "depth_snr": [1.0, 2.0, 3.0, 8.0, 9.0]})
    name, scores = select_statistic(stats, labels)
    assert name == "depth_snr"
    assert scores["depth_snr"] == pytest.approx(1.0)
    assert scores["sde"] < 1.0
    with pytest.raises(UserError, match="single class"):
        select_statistic(stats, np.zeros(5))
