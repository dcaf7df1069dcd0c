"""Synthetic light curves: transit physics, noise, counts, determinism and parameter checks."""

from __future__ import annotations

import copy
import subprocess
from dataclasses import FrozenInstanceError, fields, replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from support import stage_argv

from transit_classifier.cadence import MINUTES_PER_DAY, time_grid
from transit_classifier.errors import UserError
from transit_classifier.io import save_figure, save_npz, write_csv
from transit_classifier.params import load_params
from transit_classifier.simulate import noise, orbits, synthetic, transits
from transit_classifier.simulate.figures import synthetic_examples
from transit_classifier.simulate.settings import SimulateSettings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = load_params(ROOT / "params.yaml")


@pytest.fixture
def params() -> dict:
    """The repository's params, shrunk to a small data set."""
    small = copy.deepcopy(DEFAULT)
    small["dataset"]["synthetic_negatives"] = 40
    return small


def sim(params: dict) -> SimulateSettings:
    """The settings a stage builds once from ``params``."""
    return SimulateSettings.from_params(params)


@pytest.fixture
def quiet(params) -> SimulateSettings:
    return sim(params).white_noise_only()


def _epochs(row, time: np.ndarray, neighbours: bool = False) -> np.ndarray:
    """Mid-transit times inside the window; with ``neighbours`` also the one before and after,
    whose ingress or egress may reach into it."""
    count = int((time[-1] - row["t0_days"]) // row["period_days"]) + 1
    first = -1 if neighbours else 0
    return row["t0_days"] + row["period_days"] * np.arange(first, count + (1 if neighbours else 0))


def test_time_grid_is_kepler_long_cadence(params):
    time = time_grid(params)
    assert time.shape == (1000,)
    assert time[0] == 0
    assert np.allclose(np.diff(time) * MINUTES_PER_DAY, 29.4244)


def test_kepler_third_law_gives_earth_orbit():
    # The Sun: 1.41 g/cm^3; Earth: 365.25 d at 215 solar radii.
    assert orbits.semi_major_axis(365.25, 1.41) == pytest.approx(215, rel=0.01)


def test_noiseless_positive_depth_matches_target_and_dips_at_epochs(quiet):
    n = 12
    target = np.geomspace(3, 60, n)
    rng = np.random.default_rng(0)
    flux, meta = synthetic.simulate(quiet, np.ones(n, int), rng, snr=target)
    model = transits.transit_models(quiet, meta)
    time = quiet.time()
    cadence = time[1] - time[0]
    # The recorded depth is the noiseless model's, and meets the SNR definition.
    assert np.allclose((1 - model.min(axis=1)) * 1e6, meta["depth_ppm"], rtol=1e-9)
    expected = target * meta["sigma_ppm"] / np.sqrt(meta["n_in_transit"])
    assert np.allclose(meta["depth_ppm"], expected, rtol=0.05)
    assert np.allclose(meta["snr"], target, rtol=0.05)
    # Limb darkening: depth is k^2 scaled by the disc intensity under the planet.
    physical = orbits.limb_darkened_depth(meta["rp_rs"], meta["b"], meta["u1"], meta["u2"])
    assert np.allclose(meta["depth_ppm"] * 1e-6, physical, rtol=0.3)
    assert (meta["b"] < 1 - meta["rp_rs"]).all()
    for i, row in meta.iterrows():
        epochs = _epochs(row, time)
        near = np.abs(time[:, None] - _epochs(row, time, neighbours=True)).min(axis=1)
        # Every mid-transit time dips by at least half the depth; away from them, no dip at all.
        dip = 1 - model[i, np.abs(time[:, None] - epochs).argmin(axis=0)]
        assert (dip > 0.5 * row["depth_ppm"] * 1e-6).all()
        far = near > row["duration_hours"] / 48 + cadence
        assert np.all(model[i, far] == 1.0)
        assert near[model[i].argmin()] <= cadence
    # What is left is white noise of the recorded level, nothing else.
    residual = (flux - model) / (meta["sigma_ppm"].to_numpy()[:, None] * 1e-6)
    assert np.nanstd(residual) == pytest.approx(1, abs=0.03)


def test_noiseless_negatives_have_no_dips(quiet):
    n = 30
    flux, meta = synthetic.simulate(quiet, np.zeros(n, int), np.random.default_rng(1))
    assert np.all(transits.transit_models(quiet, meta) == 1.0)
    assert meta[synthetic.TRANSIT_COLUMNS].isna().all().all()
    assert (meta["n_transits"] == 0).all()
    z = (flux - 1) / (meta["sigma_ppm"].to_numpy()[:, None] * 1e-6)
    assert np.std(z) == pytest.approx(1, abs=0.03)
    # A box search over transit-like widths finds nothing beyond chance.
    for width in (3, 8, 16):
        box = np.lib.stride_tricks.sliding_window_view(z, width, axis=1).mean(axis=2)
        assert (box * np.sqrt(width)).min() > -5.5


def test_every_positive_keeps_complete_transits_clear_of_gaps(params):
    params["synthetic"]["min_transits"] = 2
    params["synthetic"]["gap_probability"] = 1.0
    n = 40
    flux, meta = synthetic.simulate(sim(params), np.ones(n, int), np.random.default_rng(2))
    time = time_grid(params)
    assert (meta["n_transits"] >= 2).all()
    assert (meta["gap_length_days"] > 0).mean() > 0.9
    for i, row in meta.iterrows():
        half = row["duration_hours"] / 48
        epochs = _epochs(row, time)
        complete = epochs[(epochs - half >= time[0]) & (epochs + half <= time[-1])]
        clear = [np.isfinite(flux[i, np.abs(time - t) <= half]).all() for t in complete]
        assert sum(clear) == row["n_transits"] >= 2
        assert row["t0_days"] - half >= time[0]


def test_nuisances_are_present_and_shared_by_both_classes(params):
    labels = np.array([0, 1] * 40)
    flux, meta = synthetic.simulate(sim(params), labels, np.random.default_rng(3))
    for label in (0, 1):
        rows = meta["label"] == label
        assert np.isnan(flux[rows.to_numpy()]).any(axis=1).mean() > 0.2
        assert meta.loc[rows, "n_outliers"].sum() > 0
        assert meta.loc[rows, "variability_ppm"].max() > 300
    assert flux.dtype == np.float32
    assert np.nanmedian(flux) == pytest.approx(1, abs=1e-3)


@pytest.mark.parametrize(("ratio", "positives"), [(0.10, 20), (0.01, 2)])
def test_counts_and_shuffle_per_ratio(params, ratio, positives):
    params["dataset"]["synthetic_negatives"] = 200
    params["dataset"]["transit_ratio"] = ratio
    flux, meta = synthetic.synthesize_dataset(sim(params))
    assert flux.shape == (200 + positives, 1000)
    assert meta["label"].sum() == positives
    assert list(meta["id"][:2]) == ["syn-000000", "syn-000001"]
    assert meta["id"].is_unique
    assert list(meta.columns) == ["id", *synthetic.META_COLUMNS]
    assert not (meta["label"].to_numpy()[-positives:] == 1).all()


def test_no_positives_is_a_user_error(params):
    params["dataset"]["synthetic_negatives"] = 10
    params["dataset"]["transit_ratio"] = 0.01
    with pytest.raises(UserError, match="no positives"):
        synthetic.synthesize_dataset(sim(params))


def test_same_seed_same_bytes(params, tmp_path):
    first, meta1 = synthetic.synthesize_dataset(sim(params))
    second, meta2 = synthetic.synthesize_dataset(sim(params))
    save_npz(tmp_path / "a.npz", flux=first)
    save_npz(tmp_path / "b.npz", flux=second)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert meta1.equals(meta2)
    params["seed"] += 1
    assert not np.array_equal(synthetic.synthesize_dataset(sim(params))[0], first, equal_nan=True)


def test_snr_override_sets_snr_and_keeps_stars(params):
    labels = np.array([1, 0] * 10)
    drawn_flux, drawn = synthetic.simulate(sim(params), labels, np.random.default_rng(4))
    low = np.full(labels.size, 2.0)
    flux, meta = synthetic.simulate(sim(params), labels, np.random.default_rng(4), snr=low)
    pos = labels == 1
    assert np.allclose(meta.loc[pos, "snr"], 2.0, rtol=0.05)
    assert not np.allclose(drawn.loc[pos, "snr"], 2.0, rtol=0.05)
    # Only the transit changed: same stars, orbits, noise and gaps.
    same = ["period_days", "t0_days", "sigma_ppm", "variability_ppm", "gap_start_days"]
    assert drawn[same].equals(meta[same])
    untouched = (transits.transit_models(sim(params), meta) == 1) & (
        transits.transit_models(sim(params), drawn) == 1
    )
    assert untouched[pos].mean() > 0.8
    assert np.array_equal(flux[untouched], drawn_flux[untouched], equal_nan=True)


def test_bad_simulate_inputs(params):
    rng = np.random.default_rng(0)
    with pytest.raises(UserError, match="0 and 1"):
        synthetic.simulate(sim(params), np.array([0, 2]), rng)
    with pytest.raises(UserError, match="one per label"):
        synthetic.simulate(sim(params), np.array([0, 1]), rng, snr=np.ones(3))
    with pytest.raises(UserError, match="> 0"):
        synthetic.simulate(sim(params), np.array([1, 1]), rng, snr=np.array([5.0, -1.0]))


SCHEMA_CASES = [
    ("min_transits", 0),
    ("period_days", [12.0, 0.8]),
    ("snr", [0.0, 10.0]),
    ("max_depth_ppm", 0),
    ("stellar_density_cgs", [-1.0, 3.0]),
    ("limb_darkening_u1", [0.3, 1.5]),
    ("limb_darkening_u2", [0.3, "x"]),
    ("impact_fraction", [0.0, 1.2]),
    ("supersample", 0),
    ("cdpp_ppm", [0.0, 100.0]),
    ("red_noise_ratio", [-0.1, 0.5]),
    ("red_noise_timescale_hours", [0.0, 1.0]),
    ("variability_ppm", [10.0, 1.0]),
    ("rotation_period_days", [0.0, 30.0]),
    ("granulation_ppm", [-1.0, 200.0]),
    ("granulation_timescale_hours", [0.0, 24.0]),
    ("trend_ppm", 5),
    ("gap_probability", 1.5),
    ("gap_length_days", [-0.2, 2.0]),
    ("outlier_fraction", 0.5),
    ("outlier_sigma", [0.0, 20.0]),
    ("outlier_positive_fraction", -0.1),
]


def _write_params(tmp_path: Path, key: str, value) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["synthetic"][key] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(("key", "value"), SCHEMA_CASES)
def test_each_invalid_synthetic_param_is_one_line(tmp_path, key, value):
    with pytest.raises(UserError) as err:
        load_params(_write_params(tmp_path, key, value))
    assert f"synthetic.{key}" in str(err.value)
    assert "\n" not in str(err.value)


CROSS_CASES = [
    ({"period_days": [0.2, 12.0], "stellar_density_cgs": [0.05, 3.0]}, "inside|a/R"),
    ({"min_transits": 2, "period_days": [0.8, 20.0]}, "cannot fit"),
    ({"limb_darkening_u1": [0.3, 0.9], "limb_darkening_u2": [0.05, 0.3]}, "negative"),
    ({"limb_darkening_u1": [0.1, 0.6], "limb_darkening_u2": [-0.2, 0.3]}, "brighter"),
    ({"gap_length_days": [0.2, 15.0]}, "half"),
]


@pytest.mark.parametrize(("changes", "message"), CROSS_CASES)
def test_inconsistent_synthetic_params_are_one_line(params, changes, message):
    params["synthetic"].update(changes)
    with pytest.raises(UserError, match=message) as err:
        synthetic.simulate(sim(params), np.ones(2, int), np.random.default_rng(0))
    assert "\n" not in str(err.value)


def _run_stage(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        stage_argv("synthesize"),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_stage_writes_the_library_data_byte_for_byte(tmp_path):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["dataset"]["synthetic_negatives"] = 30
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    result = _run_stage(tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["synthetic"]
    # The same params in-process give the same bytes: the outputs are reproducible.
    params = load_params(tmp_path / "params.yaml")
    flux, meta = synthetic.synthesize_dataset(sim(params))
    time = time_grid(params)
    again = tmp_path / "again"
    save_npz(again / "lightcurves.npz", flux=flux, time=time)
    write_csv(again / "metadata.csv", meta)
    save_figure(synthetic_examples(flux, meta, time), again / "synthetic_examples.png")
    for name, written in [
        ("lightcurves.npz", "data/synthetic/lightcurves.npz"),
        ("metadata.csv", "data/synthetic/metadata.csv"),
        ("synthetic_examples.png", "plots/synthetic_examples.png"),
    ]:
        assert (again / name).read_bytes() == (tmp_path / written).read_bytes(), name


def test_stage_bad_param_exits_with_one_line(tmp_path):
    _write_params(tmp_path, "cdpp_ppm", [0.0, 100.0])
    result = _run_stage(tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "synthetic.cdpp_ppm" in lines[0]
    assert not (tmp_path / "data").exists()


def test_pulsators_beat_at_their_mode_periods(quiet):
    loud = replace(
        quiet,
        pulsator_fraction=1.0,
        pulsation_ppm=(2000.0, 2000.0),
        pulsation_period_hours=(3.0, 3.0),
        pulsation_modes=(1, 1),
        cdpp_ppm=(20.0, 20.0),
    )
    flux, meta = synthetic.simulate(loud, np.zeros(4, int), np.random.default_rng(1))
    time = loud.time()
    assert (meta["pulsation_ppm"] == 2000.0).all() and (meta["pulsation_modes"] == 1).all()
    # One 3-hour mode of 2000 ppm: rms amplitude / sqrt(2), power peaking at 8 cycles a day.
    assert np.allclose((flux - 1).std(axis=1), 2000e-6 / np.sqrt(2), rtol=0.05)
    power = np.abs(np.fft.rfft(flux - 1, axis=1))
    freq = np.fft.rfftfreq(time.size, time[1] - time[0])
    assert np.allclose(freq[power.argmax(axis=1)], 8.0, atol=0.06)


def test_a_share_of_stars_pulsate_in_both_classes(params):
    syn = sim(params)
    stars = noise.draw_stars(syn, 4000, 0.02, np.random.default_rng(2))
    pulsating = stars["pulsation_modes"] > 0
    assert abs(pulsating.mean() - syn.pulsator_fraction) < 0.02
    assert (stars.loc[~pulsating, "pulsation_ppm"] == 0).all()
    lo, hi = syn.pulsation_ppm
    assert stars.loc[pulsating, "pulsation_ppm"].between(lo, hi).all()
    assert stars.loc[pulsating, "pulsation_modes"].between(*syn.pulsation_modes).all()


def test_simulate_settings_hold_every_synthetic_key_frozen(params):
    settings = sim(params)
    names = {f.name for f in fields(SimulateSettings)}
    assert set(params["synthetic"]) <= names  # a new params key must reach the physics
    assert settings.period_days == tuple(params["synthetic"]["period_days"])
    np.testing.assert_array_equal(settings.time(), time_grid(params))
    with pytest.raises(FrozenInstanceError):
        settings.snr = (1.0, 2.0)  # type: ignore[misc]
    wide = settings.with_periods([0.8, 400.0])
    assert wide.period_days == (0.8, 400.0) and settings.period_days != wide.period_days
