"""The prepare stage: composition counts, split by star, no leakage, train-only augmentation."""

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from transit_classifier.errors import UserError
from transit_classifier.learn import augmentation, dataset
from transit_classifier.params import validate
from transit_classifier.signal.preprocess import PreprocessSettings, fill_gaps, preprocess
from transit_classifier.simulate.settings import SimulateSettings
from transit_classifier.simulate.synthetic import simulate

ROOT = Path(__file__).resolve().parents[1]
LENGTH = 128
# One confirmed planet on host 1000: 4-cadence, 5000-ppm transits every 64 cadences.
KOI = pd.DataFrame(
    {
        "kepid": [1000],
        "kepoi_name": ["K00001.01"],
        "kepler_name": ["Test-1 b"],
        "koi_disposition": ["CONFIRMED"],
        "koi_period": [64 * 29.4244 / 1440],
        "koi_time0bk": [10 * 29.4244 / 1440],
        "koi_duration": [4 * 29.4244 / 60],
        "koi_depth": [5000.0],
    }
)


@pytest.fixture
def params():
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["dataset"].update(window_length=LENGTH, synthetic_negatives=200, real_windows=100)
    p["prepare"]["detrend_method"] = "median"  # fast, and enough for these flat test curves
    p["prepare"]["detrend_windows_days"] = [0.5, 1.0]
    p["prepare"]["augment"]["gap_length_cadences"] = [2, 10]
    p["synthetic"].update(period_days=[0.8, 2.0], gap_length_days=[0.1, 0.5], snr=[20.0, 60.0])
    return validate(p)


def _curves(rng, labels, length=LENGTH):
    """Noisy flat light curves; positives get two 4-cadence dips of 5 sigma."""
    flux = 1 + 1e-3 * rng.normal(size=(len(labels), length))
    for i in np.flatnonzero(labels):
        start = rng.integers(0, length // 2 - 4)
        for t in (start, start + length // 2):
            flux[i, t : t + 4] -= 5e-3
    return flux.astype(np.float32)


def _synthetic(params, rng):
    """The synthesize stage's own light curves (batman transits), on the short test window."""
    neg = params["dataset"]["synthetic_negatives"]
    pos = round(neg * params["dataset"]["transit_ratio"])
    labels = rng.permutation(np.r_[np.zeros(neg), np.ones(pos)].astype(int))
    flux, meta = simulate(SimulateSettings.from_params(params), labels, rng)
    meta.insert(0, "id", [f"syn-{i:06d}" for i in range(len(labels))])
    return flux, meta


def _real_pool(rng, n_hosts=8, n_quiet=20, per_star=12):
    """A Kepler-like pool: hosts with transit and no-transit windows, quiet stars."""
    rows = []
    for star in range(n_hosts + n_quiet):
        kepid = 1000 + star
        for w in range(per_star):
            label = int(star < n_hosts and w % 2 == 0)
            kind = "transit" if label else ("host_no_transit" if star < n_hosts else "non_koi")
            rows.append(
                {"id": f"kic-{kepid}-{w}", "kepid": kepid, "label": label, "kind": kind, "snr": 9.0}
            )
    windows = pd.DataFrame(rows)
    time = np.tile(np.arange(LENGTH) * 29.4244 / 1440, (len(windows), 1))
    return _curves(rng, windows["label"].to_numpy()), time, windows


def _build(params, seed=0):
    rng = np.random.default_rng(seed)
    syn_flux, syn_meta = _synthetic(params, rng)
    real_flux, real_time, windows = _real_pool(rng)
    return dataset.build(syn_flux, syn_meta, real_flux, real_time, windows, KOI, params)


@pytest.mark.parametrize(("ratio", "expected"), [(0.10, (450, 50)), (0.01, (495, 5))])
def test_real_counts_follow_the_seed_tables(ratio, expected):
    assert dataset.real_counts(500, ratio) == expected


@pytest.mark.parametrize("ratio", [0.10, 0.01])
def test_exact_counts_for_both_ratios(params, ratio):
    params["dataset"]["transit_ratio"] = ratio
    _, report, table = _build(params)
    by_source = table.groupby("source")[["non_transit", "transit"]].sum()
    assert by_source.loc["synthetic"].tolist() == [200, round(200 * ratio)]
    assert by_source.loc["real"].tolist() == list(dataset.real_counts(100, ratio))
    assert report["real_windows"]["used_positives"] == round(100 * ratio)


def test_no_star_on_two_sides(params):
    arrays, _, _ = _build(params)
    stars = {}
    for name in ("train", "val", "test"):
        a, pool = arrays[name], arrays[f"real_{name}"]
        stars[name] = set(a["kepid"][a["source"] == "real"].tolist())
        assert stars[name] <= set(pool["kepid"].tolist())  # selected windows from its own stars
        stars[name] |= set(pool["kepid"].tolist())
    assert stars["train"] and stars["val"] and stars["test"]
    assert not stars["train"] & stars["val"]
    assert not stars["train"] & stars["test"]
    assert not stars["val"] & stars["test"]


def test_transits_carry_their_mes(params):
    arrays, report, _ = _build(params)
    for name in ("val", "test"):
        a = arrays[name]
        synthetic = a["source"] == "synthetic"
        assert np.isnan(a["mes"][synthetic & (a["y"] == 0)]).all()
        assert (a["mes"][synthetic & (a["y"] == 1)] > 0).all()
        assert (a["mes"][~synthetic & (a["y"] == 0)] == 0).all()  # no predicted transit
    pools = [arrays[f"real_{n}"] for n in ("train", "val", "test")]
    host = np.concatenate([p["mes"][p["kepid"] == 1000] for p in pools])
    other = np.concatenate([p["mes"][p["kepid"] != 1000] for p in pools])
    assert (host > 5).all() and (other == 0).all()  # only the confirmed host's windows
    assert set(report["transit_mes"]) == {
        f"{n}_{s}" for n in ("train", "val", "test") for s in ("synthetic", "real")
    }


def test_injection_hosts_are_training_negatives_only(params):
    arrays, report, _ = _build(params)
    hosts = arrays["hosts_train"]
    real = hosts["source"] == "real"
    pool = arrays["real_train"]
    np.testing.assert_array_equal(hosts["flux"][real], pool["flux"][pool["y"] == 0])
    assert report["injection_hosts_train"]["real"] == int((pool["y"] == 0).sum())
    held_out = np.concatenate([arrays[n]["flux"] for n in ("val", "test")])
    held_out = np.concatenate([held_out, arrays["real_val"]["flux"], arrays["real_test"]["flux"]])
    assert not (hosts["flux"][:, None, :5] == held_out[None, :, :5]).all(axis=2).any()


def test_no_evaluation_sample_or_near_copy_in_training(params):
    arrays, _, _ = _build(params)
    train = arrays["train"]["X"][:, :, 0]
    train_ids = {i.split("~")[0] for i in arrays["train"]["ids"]}
    for name in ("val", "test"):
        held_out = arrays[name]["X"][:, :, 0]
        assert not train_ids & set(arrays[name]["ids"])
        a = (train - train.mean(1, keepdims=True)) / train.std(1, keepdims=True)
        b = (held_out - held_out.mean(1, keepdims=True)) / held_out.std(1, keepdims=True)
        correlation = a @ b.T / LENGTH
        assert correlation.max() < 0.9


def test_augmentation_and_balancing_change_only_training(params):
    reference, _, _ = _build(params)
    variant = copy.deepcopy(params)
    variant["prepare"]["balance"] = "none"
    variant["prepare"]["augment"]["copies_positive"] = 0
    plain, _, _ = _build(variant)
    for name in ("val", "test"):
        for key, value in reference[name].items():
            np.testing.assert_array_equal(value, plain[name][key])
    ref_train, plain_train = reference["train"], plain["train"]
    assert len(ref_train["y"]) > len(plain_train["y"])
    positives = ref_train["y"].sum() / (ref_train["y"] == 0).sum()
    assert positives == pytest.approx(params["prepare"]["sampling_strategy"], abs=0.01)
    assert plain_train["y"].mean() == pytest.approx(
        (reference["val"]["y"].mean() + reference["test"]["y"].mean()) / 2, abs=0.05
    )


@pytest.mark.parametrize("method", ["none", "random_oversample", "adasyn"])
def test_test_split_identical_across_balance_methods(params, method):
    reference, _, _ = _build(params)
    params["prepare"]["balance"] = method
    other, _, _ = _build(params)
    for key in reference["test"]:
        np.testing.assert_array_equal(reference["test"][key], other["test"][key])


def test_prepare_is_deterministic(params):
    first, _, _ = _build(params)
    second, _, _ = _build(params)
    for name in first:
        for key in first[name]:
            np.testing.assert_array_equal(first[name][key], second[name][key])


def test_augment_keeps_shape_and_labels(params):
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(size=(5, LENGTH, 2)), np.zeros((5, LENGTH, 1))], axis=2).astype(
        np.float32
    )
    out, origin = augmentation.augment(
        X, np.array([0, 2, 0, 1, 3]), params["prepare"]["augment"], 5.0, rng
    )
    assert out.shape == (6, LENGTH, 3) and out.dtype == np.float32
    assert origin.tolist() == [1, 1, 3, 4, 4, 4]
    assert np.isfinite(out).all() and out[:, :, :2].max() <= 5.0
    gap = out[:, :, 2] == 1
    assert set(np.unique(out[:, :, 2])) <= {0.0, 1.0} and (out[:, :, :2][gap] == 0).all()


def test_gaps_are_filled_without_inventing_dips():
    flux = np.array([[1.0, 1.0, np.nan, np.nan, 0.99, 1.0, np.nan]])
    filled = fill_gaps(flux)
    assert np.isfinite(filled).all()
    assert filled.min() >= 0.99
    np.testing.assert_allclose(filled[0, 2:4], [1 - 0.01 / 3, 1 - 0.02 / 3])


def test_preprocess_handles_nan_gaps(params):
    flux = _curves(np.random.default_rng(2), np.array([1, 0]))
    flux[:, 40:60] = np.nan
    X = preprocess(flux, PreprocessSettings.from_params(params))
    assert X.shape == (2, LENGTH, 3) and X.dtype == np.float32
    assert (X[:, 40:60, 2] == 1).all() and (X[:, 40:60, :2] == 0).all()
    assert np.isfinite(X).all()


@pytest.mark.parametrize("bad", ["constant", "nan"])
def test_unusable_light_curve_is_rejected_by_name(params, bad):
    rng = np.random.default_rng(3)
    syn_flux, syn_meta = _synthetic(params, rng)
    syn_flux[7] = 1.0 if bad == "constant" else np.nan
    real_flux, real_time, windows = _real_pool(rng)
    with pytest.raises(UserError, match="syn-000007"):
        dataset.build(syn_flux, syn_meta, real_flux, real_time, windows, KOI, params)


def test_smote_needs_two_training_transits():
    X = np.zeros((10, 4), np.float32)
    y = np.r_[np.zeros(9), 1].astype(np.int8)
    with pytest.raises(UserError, match="random_oversample"):
        augmentation.balance(X, y, "smote", 0.5, 5, seed=0)


def test_oversampled_rows_keep_the_noise_level_of_real_inputs(params):
    arrays, _, _ = _build(params)
    train = arrays["train"]
    added = np.char.startswith(train["ids"], "oversampled-")
    assert added.any()
    X = train["X"][:, :, 0].astype(float)
    median = np.median(X, axis=1, keepdims=True)
    sigma = 1.4826 * np.median(np.abs(X - median), axis=1)
    assert np.median(sigma[added]) == pytest.approx(np.median(sigma[~added]), rel=0.05)
