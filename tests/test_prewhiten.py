"""Prewhitening: pulsation modes leave, transits and quiet stars stay."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from transit_classifier.errors import UserError
from transit_classifier.params import load_params
from transit_classifier.signal.preprocess import (
    PreprocessSettings,
    flatten_all,
    from_flats,
    preprocess,
    preprocess_inverted,
)
from transit_classifier.signal.prewhiten import pulsation_model

CADENCE_DAYS = 29.4244 / 1440
TIME = np.arange(1000) * CADENCE_DAYS
PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
DEFAULTS = PreprocessSettings.from_params(PARAMS)
SETTINGS = replace(DEFAULTS, prewhiten_modes=0)  # the shipped preprocessing, prewhitening off
PREWHITEN = {"prewhiten_modes": 20}  # as tried in docs/experiments.md


def pulsator(rng: np.random.Generator, n: int, modes: int = 5) -> np.ndarray:
    """White noise of 100 ppm plus ``modes`` sinusoids of 200-1000 ppm at 6.5-24 per day."""
    freq = rng.uniform(6.5, 24.0, (n, modes, 1))
    amp = rng.uniform(2e-4, 1e-3, (n, modes, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, modes, 1))
    modes_flux = (amp * np.sin(2 * np.pi * freq * TIME + phase)).sum(axis=1)
    return 1 + modes_flux + 1e-4 * rng.standard_normal((n, TIME.size))


def box_transit(period: float, depth: float, duration_days: float = 0.125) -> np.ndarray:
    return np.where((TIME % period) < duration_days, -depth, 0.0)


def test_modes_between_fft_bins_are_removed_to_the_noise():
    flux = pulsator(np.random.default_rng(0), 50)
    clean = flux - pulsation_model(flux, CADENCE_DAYS, 20, 6.0, 4.0)
    assert np.std(flux - 1) > 5e-4
    assert np.std(clean - 1, axis=1).max() < 1.2e-4


@pytest.mark.parametrize("period", [0.8, 1.5, 3.0, 8.0])
def test_a_deep_periodic_transit_keeps_its_depth(period):
    """A 3-hour, 200-sigma-MES transit: its harmonics lie mostly below 6 per day."""
    rng = np.random.default_rng(1)
    in_transit = box_transit(period, 1.0) < 0
    depth = 200 * 1e-4 / np.sqrt(in_transit.sum())
    flux = 1 + box_transit(period, depth) + 1e-4 * rng.standard_normal((20, TIME.size))
    clean = flux - pulsation_model(flux, CADENCE_DAYS, 20, 6.0, 4.0)
    kept = (clean[:, ~in_transit].mean(axis=1) - clean[:, in_transit].mean(axis=1)) / depth
    assert kept.min() > 0.85


def test_white_noise_is_left_alone():
    flux = 1 + 1e-4 * np.random.default_rng(2).standard_normal((200, TIME.size))
    model = pulsation_model(flux, CADENCE_DAYS, 20, 6.0, 4.0)
    assert np.mean(np.any(model != 0, axis=1)) < 0.05  # a 4.7-sigma peak is rare


def test_gaps_stay_zero_and_sparse_rows_are_skipped():
    flux = pulsator(np.random.default_rng(3), 3)
    flux[0, 100:300] = np.nan
    flux[1, 3:] = np.nan  # 3 finite cadences: too few to fit, but not an error
    flux[2, :] = np.nan
    model = pulsation_model(flux, CADENCE_DAYS, 20, 6.0, 4.0)
    assert np.all(model[0, 100:300] == 0) and np.all(np.isfinite(model))
    assert np.std(flux[0, :100] - model[0, :100]) < 1.5e-4
    assert np.all(model[2] == 0)


def test_zero_modes_or_missing_keys_change_nothing():
    flux = pulsator(np.random.default_rng(4), 4)
    stored = SETTINGS.as_dict()  # as a model.json saved before prewhitening holds it
    before_prewhitening = {k: v for k, v in stored.items() if not k.startswith("prewhiten")}
    np.testing.assert_array_equal(
        preprocess(flux, SETTINGS),
        preprocess(flux, PreprocessSettings.from_model(before_prewhitening)),
    )


def test_preprocess_removes_pulsation_dips_but_not_a_transit():
    """With prewhitening the network sees the transit as the deepest dip, not the beating."""
    rng = np.random.default_rng(5)
    flux = pulsator(rng, 20, modes=8)
    flux[:, 500:506] -= 1.5e-3  # one 3-hour transit
    plain = preprocess(flux, SETTINGS)[..., 0]
    whitened = preprocess(flux, replace(SETTINGS, **PREWHITEN))[..., 0]
    outside = np.r_[0:490, 516:1000]
    depth_over_deepest_beat = [
        x[:, 500:506].mean(1) / x[:, outside].min(1) for x in (plain, whitened)
    ]
    assert np.all(depth_over_deepest_beat[0] < 0.5)  # the beating dips are deeper than the transit
    assert np.all(depth_over_deepest_beat[1] > 1.5)  # the transit stands out


def test_inverted_input_reuses_the_modes_fitted_upright():
    """Without a dip mask the mirror's modes are minus the upright ones: one fit serves both."""
    flux = pulsator(np.random.default_rng(6), 6)
    flux[:, 500:506] -= 1.5e-3
    settings = replace(SETTINGS, **PREWHITEN, prewhiten_mask_sigma=0.0)
    X, X_inverted = preprocess_inverted(flux, settings)
    np.testing.assert_array_equal(X, preprocess(flux, settings))
    refitted = from_flats(flux, 2.0 - flatten_all(flux, settings), settings)
    np.testing.assert_allclose(X_inverted, refitted, atol=1e-6)


@pytest.mark.parametrize("period", [0.6, 0.9, 1.7])
def test_the_dip_mask_keeps_short_deep_transits_whole(period):
    """A 1.5-hour, MES-60 transit's harmonics reach 16 per day: unmasked, they pass for modes."""
    rng = np.random.default_rng(7)
    in_transit = box_transit(period, 1.0, 1.5 / 24) < 0
    depth = 60 * 1e-4 / np.sqrt(in_transit.sum())
    flux = 1 + box_transit(period, depth, 1.5 / 24) + 1e-4 * rng.standard_normal((20, TIME.size))

    def kept(mask_sigma: float) -> np.ndarray:
        clean = flux - pulsation_model(flux, CADENCE_DAYS, 20, 6.0, 4.0, mask_sigma)
        return (clean[:, ~in_transit].mean(1) - clean[:, in_transit].mean(1)) / depth

    assert kept(0.0).min() < 0.8  # the comb is fitted away
    assert kept(DEFAULTS.prewhiten_mask_sigma).min() > 0.95


def test_the_dip_mask_still_removes_modes_under_a_transit():
    flux = pulsator(np.random.default_rng(8), 20)
    flux[:, 500:506] -= 1.5e-3
    model = pulsation_model(flux, CADENCE_DAYS, 20, 6.0, 4.0, DEFAULTS.prewhiten_mask_sigma)
    outside = np.r_[0:490, 516:1000]
    assert np.std((flux - model)[:, outside] - 1, axis=1).max() < 1.3e-4


def test_stored_settings_read_back_whole_or_refused_in_one_line():
    assert PreprocessSettings.from_model(DEFAULTS.as_dict()) == DEFAULTS
    stored = {k: v for k, v in DEFAULTS.as_dict().items() if k != "clip_high_sigma"}
    with pytest.raises(UserError, match=r"lack \['clip_high_sigma'\]; retrain"):
        PreprocessSettings.from_model(stored)
