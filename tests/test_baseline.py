"""Classical baseline: detrends rotation, ignores glitches, finds transits, tunes on validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transit_classifier.errors import UserError
from transit_classifier.judge.baseline import (
    COLUMNS,
    FIT_COLUMNS,
    BaselineSearch,
    tune,
)
from transit_classifier.signal.preprocess import clean_outliers

CADENCE_MINUTES = 29.4244
CADENCE_DAYS = CADENCE_MINUTES / 1440.0
LENGTH = 1000
TIME = np.arange(LENGTH) * CADENCE_DAYS
WINDOW_DAYS = LENGTH * CADENCE_DAYS


def make_params(method: str = "bls", periods: int = 2000, **baseline) -> dict:
    """The params keys the baseline reads, at the pipeline's cadence and window."""
    settings = {
        "method": method,
        "detrend_windows_days": [0.5, 1.0],
        "clip_high_sigma": 3.0,
        "periods": periods,
        "durations_hours": [0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0],
        "oversample": 3,
        **baseline,
    }
    return {
        "dataset": {"window_length": LENGTH, "cadence_minutes": CADENCE_MINUTES},
        "synthetic": {"min_transits": 1},
        "evaluate": {"baseline": settings},
    }


def star(
    seed: int,
    period: float | None = 3.1,
    depth: float = 3e-3,
    noise: float = 1e-4,
    rotation_days: float = 1.3,
    rotation: float = 2e-3,
) -> np.ndarray:
    """A rotating star with white noise and, if ``period`` is set, a 3-hour box transit train."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi)
    flux = 1.0 + rotation * np.sin(2 * np.pi * TIME / rotation_days + phase)
    flux += rng.normal(0.0, noise, LENGTH)
    if period is not None:
        t0 = rng.uniform(0.2, period)
        flux[np.abs((TIME - t0 + period / 2) % period - period / 2) < 1.5 / 24] -= depth
    return flux


def test_period_grid_spans_half_a_day_to_the_window_evenly_in_frequency():
    search = BaselineSearch.from_params(make_params(periods=100), 0.5)
    assert search.periods[0] == pytest.approx(0.5)
    assert search.periods[-1] == pytest.approx(WINDOW_DAYS)
    assert np.allclose(np.diff(1.0 / search.periods), np.diff(1.0 / search.periods)[0])
    assert search.durations * 24 == pytest.approx([0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 6])
    assert (search.method, search.detrend_window_days, search.oversample) == ("bls", 0.5, 3)


def test_from_params_rejects_durations_as_long_as_the_shortest_period():
    with pytest.raises(UserError, match="durations_hours"):
        BaselineSearch.from_params(make_params(durations_hours=[2.0, 13.0]), 0.5)


def test_bls_recovers_period_under_fast_rotation_and_outscores_the_bare_star():
    search = BaselineSearch.from_params(make_params(), 0.5)
    flux = np.stack([star(1), star(1, period=None)])
    flux[0, 600:640] = np.nan  # a data gap must not break the search
    out = search.search(flux, workers=1, progress=False)
    assert list(out.columns) == ["sde", "depth_snr", *FIT_COLUMNS]
    assert set(out.columns) <= set(COLUMNS)
    transit, bare = out.iloc[0], out.iloc[1]
    assert transit["period_days"] == pytest.approx(3.1, rel=0.01)
    assert transit["depth_ppm"] == pytest.approx(3000, rel=0.2)
    # the biweight leaves a few hundred ppm of the rotation, which the bare star scores on
    assert transit["sde"] > bare["sde"] + 3
    assert transit["depth_snr"] > 2 * bare["depth_snr"]


def test_clean_outliers_drops_spikes_and_lone_dips_but_keeps_transit_shaped_dips():
    flux = 1.0 + np.random.default_rng(0).normal(0.0, 1e-4, (1, LENGTH))
    flux[0, [0, 100]] -= 2e-3  # lone 20-sigma dips, one at the edge
    flux[0, 300] += 2e-3  # upward cosmic ray
    flux[0, 500:503] -= 2e-3  # three-cadence transit
    flux[0, 700:702] -= 2e-3  # two-cadence transit
    flux[0, 900] = np.nan
    flux[0, 901] -= 2e-3  # lone dip next to a gap
    clean = clean_outliers(flux, clip_high_sigma=3.0)
    dropped = set(np.flatnonzero(np.isnan(clean[0])))
    assert {0, 100, 300, 900, 901} <= dropped
    assert not dropped & {499, 500, 501, 502, 503, 700, 701}
    assert len(dropped) < 15  # only a handful of > 3-sigma noise cadences besides


def test_a_lone_glitch_does_not_make_a_detection():
    search = BaselineSearch.from_params(make_params(periods=500), 0.5)
    quiet = star(2, period=None)
    glitched = quiet.copy()
    glitched[400] -= 0.01  # 100-sigma single-cadence dip
    out = search.search(np.stack([quiet, glitched]), workers=1, progress=False)
    assert out["depth_snr"].iloc[1] == pytest.approx(out["depth_snr"].iloc[0], rel=0.1)


def test_too_few_points_or_flat_flux_score_zero_not_nan():
    search = BaselineSearch.from_params(make_params(periods=200), 0.5)
    sparse = np.full(LENGTH, np.nan)
    sparse[:10] = 1.0 + np.arange(10) * 1e-4
    out = search.search(np.stack([sparse, np.ones(LENGTH)]), workers=1, progress=False)
    assert (out[["sde", "depth_snr"]].to_numpy() == 0.0).all()
    assert out[list(FIT_COLUMNS)].isna().all().all()


def test_two_workers_match_one_in_input_order():
    search = BaselineSearch.from_params(make_params(periods=300), 0.5)
    periods = [None, 2.3, None, 4.7] * 5  # 20 light curves: more than one chunk
    flux = np.stack([star(s, period=p) for s, p in enumerate(periods)])
    serial = search.search(flux, workers=1, progress=False)
    parallel = search.search(flux, workers=2, progress=False)
    pd.testing.assert_frame_equal(serial, parallel)
    found = serial["period_days"].to_numpy()[1::2]
    assert found == pytest.approx([2.3, 4.7] * 5, rel=0.02)


def test_tune_picks_the_window_and_statistic_on_validation():
    # A 3-day biweight cannot follow 2-day rotation; the 0.5-day one can, and tune sees it.
    params = make_params(periods=300, detrend_windows_days=[0.5, 3.0])
    labels = np.array([0, 1] * 4)
    flux = np.stack(
        [
            star(s, period=2.7 if y else None, depth=1e-3, noise=3e-4, rotation_days=2.0)
            for s, y in enumerate(labels)
        ]
    )
    search, statistic, results, info = tune(params, flux, labels, progress=False)
    scores = info["validation_pr_auc"]
    assert set(scores) == {"0.5:sde", "0.5:depth_snr", "3:sde", "3:depth_snr"}
    assert info["detrend_window_days"] == search.detrend_window_days == 0.5
    assert scores[f"0.5:{statistic}"] == max(scores.values()) == pytest.approx(1.0)
    assert max(scores["3:sde"], scores["3:depth_snr"]) < 0.9
    assert info["chosen_on"] == "validation" and info["statistic"] == statistic
    assert info["periods"] == 300 and info["period_days"][0] == pytest.approx(0.5)
    pd.testing.assert_frame_equal(results, search.search(flux, workers=1, progress=False))


def test_tune_rejects_a_single_class_or_mismatched_labels():
    flux = np.stack([star(0, period=None), star(1, period=None)])
    with pytest.raises(UserError, match="single class"):
        tune(make_params(periods=100), flux, np.zeros(2), progress=False)
    with pytest.raises(UserError, match="one label per light curve"):
        tune(make_params(periods=100), flux, np.array([0, 1, 1]), progress=False)


def test_tls_recovers_the_period():
    search = BaselineSearch.from_params(make_params(method="tls", periods=100), 0.5)
    out = search.search(star(3)[None, :], workers=1, progress=False)
    assert list(out.columns) == ["sde", "snr", *FIT_COLUMNS]
    assert out["period_days"].iloc[0] == pytest.approx(3.1, rel=0.01)
    assert out["sde"].iloc[0] > 9 and out["snr"].iloc[0] > 20
