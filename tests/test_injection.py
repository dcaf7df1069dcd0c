"""Injection at a chosen MES, the MES-like SNR itself, and the ideal matched-filter ceiling."""

from __future__ import annotations

import numpy as np
import pytest

from transit_classifier.params import load_params
from transit_classifier.seeding import make_rng
from transit_classifier.signal.preprocess import PreprocessSettings, flatten_all
from transit_classifier.simulate import injection
from transit_classifier.simulate.settings import SimulateSettings
from transit_classifier.simulate.synthetic import simulate


@pytest.fixture(scope="module")
def params() -> dict:
    return load_params()


@pytest.fixture(scope="module")
def bank(params: dict) -> injection.Bank:
    return injection.make_bank(
        SimulateSettings.from_params(params), 64, make_rng(0, "test-bank"), [0.8, 12.0]
    )


def test_bank_shapes_are_unit_depth_transit_trains(bank: injection.Bank) -> None:
    assert bank.shapes.shape == (64, 1000)
    assert np.allclose(bank.shapes.max(axis=1), 1.0)
    assert (bank.shapes >= 0).all()
    n_dur = injection.duration_cadences(bank.shapes)
    expected = np.rint(bank.meta["duration_hours"] * 60 / 29.4244)
    assert np.all(np.abs(n_dur - expected) <= 2)  # ingress/egress cadences round either way


def test_mes_of_a_box_in_white_noise_matches_the_formula() -> None:
    rng = np.random.default_rng(3)
    flat = 1 + 1e-3 * rng.standard_normal((20, 3000))
    profile = np.zeros_like(flat)
    for start in (200, 1200, 2200):  # three 9-cadence transits of 0.5 sigma per cadence
        profile[:, start : start + 9] = 5e-4
    value = injection.mes(flat, profile, np.isfinite(flat), np.full(20, 9))
    expected = 5e-4 / (1e-3 / 3) * np.sqrt(3)  # depth / (sigma / sqrt(9)) * sqrt(3 transits)
    assert np.median(value) == pytest.approx(expected, rel=0.1)


def test_red_noise_lowers_mes_but_not_white_snr(params: dict) -> None:
    rng = np.random.default_rng(4)
    white = 1e-3 * rng.standard_normal((50, 1000))
    red = np.cumsum(rng.standard_normal((50, 1000)), axis=1)
    red = 1e-3 * (red - red.mean(axis=1, keepdims=True)) / red.std(axis=1, keepdims=True)
    profile = np.zeros((50, 1000))
    profile[:, 500:510] = 1e-3
    observed = np.ones((50, 1000), bool)
    n_dur = np.full(50, 10)
    mes_white = injection.mes(1 + white, profile, observed, n_dur)
    mes_red = injection.mes(
        1 + white + 0.3 * np.diff(red, prepend=0, axis=1) + red * 0.5, profile, observed, n_dur
    )
    assert np.median(mes_red) < 0.7 * np.median(mes_white)


def test_inject_reaches_the_target_mes_remeasured_after_injection(
    params: dict, bank: injection.Bank
) -> None:
    settings = PreprocessSettings.from_params(params)
    hosts, _ = simulate(
        SimulateSettings.from_params(params), np.zeros(40, np.int64), make_rng(1, "hosts")
    )
    hosts = hosts.astype(np.float64)
    flats = flatten_all(hosts, settings)
    assert flats.shape == (2, 40, 1000)  # one flattening per detrending window
    rng = make_rng(2, "inject")
    done = injection.inject(hosts, flats, bank, np.full(40, 12.0), rng, np.arange(40), settings)
    assert len(done.host) >= 36 and done.flux.shape == (len(done.host), 1000)
    uncapped = done.table["depth_ppm"] < injection.MAX_DEPTH * 1e6
    assert np.allclose(done.table["mes"][uncapped], 12.0)
    # the transit is really in the flux: remeasure on the detrended injected light curve
    shapes = bank.shapes[done.table["bank_index"]].astype(float)
    rev = done.table["reversed"].to_numpy()
    shapes[rev] = shapes[rev, ::-1]
    ratio = 1 - done.flux / hosts[done.host]
    depth = done.table["depth_ppm"].to_numpy() * 1e-6
    # Every observed cadence dims by exactly depth x shape (the deepest one may fall in a gap).
    observed = np.isfinite(ratio)
    assert np.allclose(ratio[observed], (depth[:, None] * shapes)[observed], rtol=1e-6, atol=1e-12)
    assert (np.nanmax(ratio, axis=1) <= depth * (1 + 1e-9)).all()
    n_dur = done.table["n_dur"].to_numpy()
    flat = injection.select_flat(flatten_all(done.flux, settings), n_dur, settings)
    again = injection.mes(flat, shapes * depth[:, None], np.isfinite(done.flux), n_dur)
    assert np.median(again) == pytest.approx(12.0, rel=0.1)


def test_inject_is_deterministic_and_skips_hosts_whose_gaps_hide_transits(
    params: dict, bank: injection.Bank
) -> None:
    quiet = SimulateSettings.from_params(params).white_noise_only()
    hosts, _ = simulate(quiet, np.zeros(6, np.int64), make_rng(5, "hosts"))
    hosts = hosts.astype(np.float64)
    hosts[0, :] = np.nan
    hosts[0, :3] = 1.0  # a host that is all gap: nothing can be injected into it
    settings = PreprocessSettings.from_params(params)
    flats = flatten_all(hosts, settings)
    runs = [
        injection.inject(
            hosts, flats, bank, np.full(6, 8.0), make_rng(7, "i"), np.arange(6), settings
        )
        for _ in range(2)
    ]
    assert 0 not in runs[0].host
    np.testing.assert_array_equal(runs[0].flux, runs[1].flux)


def test_long_transits_are_measured_on_the_long_detrending() -> None:
    settings = PreprocessSettings(
        detrend_method="median",
        detrend_windows_days=(0.75, 2.5),
        clip_high_sigma=5.0,
        compress_low_sigma=20.0,
        cadence_minutes=29.4244,
    )
    flats = np.stack([np.zeros((3, 10)), np.ones((3, 10))])
    n_dur = np.array([6, 16, 40])  # 2.9 h, 7.8 h, 19.6 h
    chosen = injection.select_flat(flats, n_dur, settings)[:, 0]
    assert chosen.tolist() == [0.0, 1.0, 1.0]  # 0.75 d >= 3 x 2.9 h only for the first


def test_bank_reaches_long_periods_and_long_durations(params: dict) -> None:
    bank = injection.make_bank(
        SimulateSettings.from_params(params),
        200,
        make_rng(9, "wide"),
        params["inject"]["period_days"],
    )
    assert bank.meta["period_days"].max() > 50
    assert bank.meta["duration_hours"].max() > 8  # temperate planets: Kepler-90 h lasts 14.5 h
    assert (bank.shapes.max(axis=1) == 1).all()


def test_matched_filter_ceiling() -> None:
    assert injection.matched_filter_recall(np.array([2.326]), 0.01)[0] == pytest.approx(0.5, 1e-3)
    high = injection.matched_filter_recall(np.array([10.0]), 0.001)[0]
    assert high > 0.999
