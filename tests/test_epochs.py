"""Per-epoch injections: fresh, seeded transits in training hosts; a fixed validation set."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from transit_classifier.learn import epochs
from transit_classifier.params import load_params
from transit_classifier.seeding import make_rng
from transit_classifier.signal.preprocess import PreprocessSettings, preprocess
from transit_classifier.simulate import injection
from transit_classifier.simulate.settings import SimulateSettings
from transit_classifier.simulate.synthetic import simulate

LENGTH = 1000


@pytest.fixture(scope="module")
def params() -> dict:
    loaded = load_params()
    loaded["prepare"]["detrend_method"] = "median"  # fast; the biweight path is tested elsewhere
    loaded["inject"].update(per_epoch=48, bank_size=32)
    return loaded


@pytest.fixture(scope="module")
def hosts(params: dict) -> epochs.Hosts:
    flux, _ = simulate(
        SimulateSettings.from_params(params), np.zeros(30, np.int64), make_rng(0, "hosts")
    )
    real = np.arange(30) % 3 == 0
    return epochs.Hosts.from_flux(flux, real, PreprocessSettings.from_params(params))


@pytest.fixture(scope="module")
def bank(params: dict) -> injection.Bank:
    return injection.make_bank(
        SimulateSettings.from_params(params), 32, make_rng(0, "bank"), [0.8, 12.0]
    )


def base_set(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(size=(n, LENGTH, 2)), np.zeros((n, LENGTH, 1))], axis=2)
    return X.astype(np.float32), (np.arange(n) % 4 == 0).astype(np.float32)


def stage_settings(params: dict) -> tuple[epochs.InjectSettings, PreprocessSettings]:
    """The settings the train stage builds once from ``params``."""
    return epochs.InjectSettings.from_params(params), PreprocessSettings.from_params(params)


def epoch_source(hosts: epochs.Hosts, bank: injection.Bank, params: dict) -> epochs.EpochSource:
    """An epoch source with the settings of ``params``, as the train stage makes it."""
    return epochs.EpochSource(base_set(), hosts, bank, *stage_settings(params))


def test_injected_flux_count_and_real_share(params, hosts, bank) -> None:
    inject, settings = stage_settings(params)
    flux, table = epochs.injected_flux(hosts, bank, 48, inject, make_rng(2, "x"), settings)
    assert flux.shape == (48, LENGTH) and len(table) == 48
    # Every transit dims its host: the injected light curve never rises above it.
    host = hosts.flux[table["host"]]
    assert np.all((flux <= host + 1e-12) | np.isnan(host))
    assert np.all(np.nanmin(flux - host, axis=1) < 0)
    share = hosts.real[table["host"]].mean()
    assert share == pytest.approx(params["inject"]["real_host_fraction"], abs=0.05)
    lo, hi = params["inject"]["mes"]
    assert ((table["mes"] <= hi + 1e-9) & (table["mes"] > 0)).all()
    assert table["target_mes"].between(lo, hi).all()


def test_every_epoch_brings_new_transits_and_is_reproducible(params, hosts, bank) -> None:
    data = epochs.injection_dataset(epoch_source(hosts, bank, params), 16)
    twin = epochs.injection_dataset(epoch_source(hosts, bank, params), 16)
    n = 20 + 2 * 48
    assert len(data.y) == n and data.y.sum() == 5 + 48 and len(data) == -(-n // 16)
    first = data.X.copy()
    data.on_epoch_end()
    assert not np.array_equal(first, data.X)  # fresh injections (and order) each epoch
    twin.on_epoch_end()
    np.testing.assert_array_equal(data.X, twin.X)  # same seed, same epoch, same data
    X, y = data[0]
    assert X.shape == (16, LENGTH, 3) and y.shape == (16, 1)


def test_epochs_made_ahead_equal_epochs_made_in_turn(params, hosts, bank) -> None:
    """The background thread that makes the next epoch changes no number."""
    source = epoch_source(hosts, bank, params)
    data = epochs.injection_dataset(source, 16)
    for epoch in (1, 2):
        data.on_epoch_end()
        X, y = source.arrays(epoch)
        np.testing.assert_array_equal(data.X, X)
        np.testing.assert_array_equal(data.y, y)


def test_training_seed_changes_only_the_draws(params, hosts, bank) -> None:
    other = {**params, "train": {**params["train"], "seed": 1}}
    a = epochs.injection_dataset(epoch_source(hosts, bank, params), 16)
    b = epochs.injection_dataset(epoch_source(hosts, bank, other), 16)
    assert not np.array_equal(a.X, b.X) and a.y.sum() == b.y.sum()


def test_validation_set_adds_fixed_injections_and_real_negatives(params) -> None:
    flux, _ = simulate(
        SimulateSettings.from_params(params), np.zeros(10, np.int64), make_rng(3, "val")
    )
    X_base, y_base = base_set(10)
    val = {
        "X": X_base,
        "y": y_base,
        "source": np.array(["synthetic"] * 10),
        "flux": flux,
    }
    real_val = {"flux": flux[:6], "y": np.array([0, 0, 0, 1, 0, 0])}
    X, y = epochs.validation_set(
        val, real_val, SimulateSettings.from_params(params), 12, *stage_settings(params)
    )
    assert len(y) == 10 + 12 + 5 and y.sum() == y_base.sum() + 12
    X2, y2 = epochs.validation_set(
        val, real_val, SimulateSettings.from_params(params), 12, *stage_settings(params)
    )
    np.testing.assert_array_equal(X, X2)


def test_validation_flux_is_the_validation_set_before_preprocessing(params) -> None:
    flux, _ = simulate(
        SimulateSettings.from_params(params), np.zeros(10, np.int64), make_rng(3, "val")
    )
    settings = PreprocessSettings.from_params(params)
    val = {
        "X": preprocess(flux, settings),
        "y": np.zeros(10, np.float32),
        "source": np.array(["synthetic"] * 10),
        "flux": flux,
    }
    real_val = {"flux": flux[:6], "y": np.array([0, 0, 0, 1, 0, 0])}
    X, y = epochs.validation_set(
        val, real_val, SimulateSettings.from_params(params), 12, *stage_settings(params)
    )
    raw, y_raw, origin = epochs.validation_flux(val, real_val, params, count=12)
    np.testing.assert_array_equal(y, y_raw)
    np.testing.assert_array_equal(preprocess(raw, settings), X)
    # Each row comes from its origin: itself, or the host a transit was multiplied into.
    sources = np.concatenate([flux, flux[:6]])[origin]
    same = np.array_equal(raw[:10], sources[:10], equal_nan=True)
    assert same and np.array_equal(raw[22:], sources[22:], equal_nan=True)
    injected = raw[10:22]
    assert np.all((injected <= sources[10:22] + 1e-12) | np.isnan(sources[10:22]))
    assert set(origin[10:22]) <= set(range(16)) - {13}  # negatives only, never the real transit


def test_scattered_gaps_hit_transits_and_non_transits_alike(params, hosts, bank) -> None:
    """Label-blind missing cadences: gappiness must not tell a transit window apart."""
    gappy = {**params, "inject": {**params["inject"], "scattered_gap_probability": 1.0}}
    gappy["inject"]["scattered_gap_fraction"] = [0.1, 0.1]
    X, y = epoch_source(hosts, bank, gappy).arrays(0)
    share = (X[..., -1] > 0).mean(axis=1)
    off = {**params, "inject": {**params["inject"], "scattered_gap_probability": 0.0}}
    base = epoch_source(hosts, bank, off).arrays(0)[0]
    assert share.min() > 0.04  # every window, not just some
    for label in (0, 1):
        assert share[y[:, 0] == label].mean() == pytest.approx(
            (base[..., -1] > 0).mean() + 0.1, abs=0.04
        )
    missing = X[..., -1] > 0
    assert np.all(X[..., :-1][missing] == 0)  # read as gaps, as preprocess marks them


def served_host_rows(X: np.ndarray, y: np.ndarray, hosts: epochs.Hosts) -> list[int]:
    """The host rows an epoch served uninjected, found by their exact inputs."""
    row_of = {window.tobytes(): i for i, window in enumerate(hosts.X)}
    negatives = X[y[:, 0] == 0].astype(hosts.X.dtype)
    return sorted(row_of[x.tobytes()] for x in negatives if x.tobytes() in row_of)


def test_twin_negatives_are_the_windows_the_transits_went_into(params, hosts, bank) -> None:
    """``negative_hosts: twins``: real noise is as common among negatives as among injections."""
    inject = {**params["inject"], "negative_hosts": "twins", "scattered_gap_probability": 0.0}
    twins = {**params, "inject": inject}
    served = served_host_rows(*epoch_source(hosts, bank, twins).arrays(0), hosts)
    rng = make_rng(twins["seed"], "inject", twins["train"]["seed"], "epoch", 0)
    settings = PreprocessSettings.from_params(twins)
    _, table = epochs.injected_flux(hosts, bank, 48, stage_settings(twins)[0], rng, settings)
    assert served == sorted(table["host"])
    assert hosts.real[served].mean() == pytest.approx(0.5, abs=0.05)
    uniform = {**twins, "inject": {**inject, "negative_hosts": "uniform"}}
    drawn = served_host_rows(*epoch_source(hosts, bank, uniform).arrays(0), hosts)
    assert len(drawn) == 48 and drawn != served


def test_inject_settings_hold_every_inject_key(params) -> None:
    """A key added to ``inject`` in params.yaml must reach the epochs through the settings."""
    inject = epochs.InjectSettings.from_params(params)
    names = {field.name for field in dataclasses.fields(inject)} - {"seed", "train_seed"}
    assert names == set(params["inject"])
    assert inject.mes == tuple(params["inject"]["mes"])
    assert (inject.seed, inject.train_seed) == (params["seed"], params["train"]["seed"])
