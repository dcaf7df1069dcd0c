"""Candidate vetting: BLS parameters, the odd/even test, the vetting page and ``predict --vet``.

Synthetic light curves carry box transit trains made with the package's own
orbit tools, so the recovered period, epoch and depth are checked against
truth; the real Kepler-90 quarter (flagged by the committed model) checks the
single-transit case and the figure on real data.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from support import ROOT

import transit_classifier as tc
from transit_classifier.errors import UserError
from transit_classifier.serve import cli, vetting
from transit_classifier.serve import predict as scoring
from transit_classifier.serve.figures import prediction_figure
from transit_classifier.signal.preprocess import PreprocessSettings
from transit_classifier.simulate.orbits import in_transit, transit_offset
from transit_classifier.sources import inputs

CADENCE_D = 29.4244 / 1440
SETTINGS = PreprocessSettings.from_model(
    json.loads((ROOT / "model" / "model.json").read_text())["preprocess"]
)  # the released model's
KEPLER_90_Q5 = (
    Path(__file__).parent / "fixtures" / "kepler" / "kplr011442793-2010174085026_llc.fits"
)
KEPLER_90_H_BKJD = 472.1  # Kepler-90 h, seen once in this quarter


def star(seed: int = 0, spots: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
    """60 days of a spotted star rotating in 10 days, 200 ppm white noise, on the Kepler grid."""
    time = 130.0 + np.arange(0, 60.0, CADENCE_D)
    noise = 2e-4 * np.random.default_rng(seed).standard_normal(time.size)
    return time, 1 + spots * np.sin(2 * np.pi * time / 10.0) + noise


def box_train(time: np.ndarray, period: float, t0: float, duration: float) -> np.ndarray:
    """Boolean in-transit mask of a strictly periodic box train (the package's orbit tools)."""
    return in_transit(time, np.array([t0]), np.array([period]), np.array([duration]))[0]


def candidate(time: np.ndarray, flux: np.ndarray) -> vetting.Candidate:
    return vetting.estimate(time, vetting.detrend(time, flux, SETTINGS))


def test_bls_recovers_period_epoch_and_depth_of_an_injected_train() -> None:
    time, flux = star()
    period, t0, depth = 3.71, 131.9, 1.5e-3
    c = candidate(time, flux * (1 - depth * box_train(time, period, t0, 0.15)))
    assert c.period == pytest.approx(period, rel=0.01)
    assert abs(transit_offset(c.epoch, period, t0)) < 0.1
    assert c.depth == pytest.approx(depth, rel=0.2)
    assert c.snr > 10 and len(c.transit_times) >= 14
    assert np.all(np.abs(transit_offset(c.transit_times, period, t0)) < 0.1)


@pytest.mark.parametrize(("secondary", "binary"), [(0.55, True), (1.0, False)])
def test_odd_even_depths_tell_an_eclipsing_binary_from_a_planet(secondary, binary) -> None:
    time, flux = star(seed=1)
    period, t0, depth = 2.4, 130.7, 4e-3  # every other eclipse is the shallower secondary
    primary = box_train(time, 2 * period, t0, 0.12)
    second = box_train(time, 2 * period, t0 + period, 0.12)
    c = candidate(time, flux * (1 - depth * primary - secondary * depth * second))
    assert c.period == pytest.approx(period, rel=0.01)
    assert (c.odd_even_sigma > 3) is binary
    assert abs(c.odd_depth - c.even_depth) == pytest.approx(depth * (1 - secondary), abs=3e-4)


def test_one_dip_is_a_single_transit_with_unknown_period() -> None:
    # A quiet star: a 10-hour dip on a fast-varying one loses depth to the 2.5-day detrender.
    time, flux = star(seed=2, spots=0.001)
    c = candidate(time, flux * (1 - 3e-3 * (np.abs(time - 161.3) < 0.2)))
    assert np.isnan(c.period) and np.isnan(c.odd_even_sigma)
    assert c.epoch == pytest.approx(161.3, abs=0.05) and c.depth == pytest.approx(3e-3, rel=0.2)
    assert c.transit_times.tolist() == [c.epoch]


def test_too_short_a_light_curve_is_a_user_error() -> None:
    time = np.arange(0, 1.5, CADENCE_D)
    with pytest.raises(UserError, match="fewer than two days"):
        vetting.estimate(time, np.ones_like(time))


# ---------------------------------------------------------------- real data, committed model


@pytest.fixture(scope="module")
def model() -> tc.TransitClassifier:
    return tc.load_model()


@pytest.fixture(scope="module")
def kepler_90(model) -> scoring.Prediction:
    curve = inputs.load_input(str(KEPLER_90_Q5))
    return scoring.predict_lightcurve(curve, model.model, model.setup)


def test_kepler_90_h_is_the_candidate_and_its_page_renders(model, kepler_90, tmp_path) -> None:
    assert kepler_90.flagged.any()
    c, flat = vetting.vet(kepler_90, model.setup.preprocessing)
    assert np.min(np.abs(c.transit_times - KEPLER_90_H_BKJD)) < 0.1
    assert c.depth == pytest.approx(6e-3, rel=0.5) and c.snr > 50
    fig = prediction_figure(kepler_90, flat, c)
    assert sum(bool(ax.lines) for ax in fig.axes) >= 3 and len(fig.axes) >= 4
    notes = [t.get_text() for ax in fig.axes for t in ax.texts if "odd/even" in t.get_text()]
    assert notes == ["single transit: no odd/even test"]  # said once, not once per panel
    path = tmp_path / "k90.png"
    assert model.vet(str(KEPLER_90_Q5), path).epoch == pytest.approx(c.epoch)
    from matplotlib.image import imread

    height, width = imread(path).shape[:2]
    assert path.stat().st_size > 30_000 and width > 1000 and height > 900


def test_a_real_transit_is_not_flagged_upside_down(model, kepler_90) -> None:
    """Turned upside down, Kepler-90 h's dip is a clipped bump: no dip is left to flag."""
    flagged = kepler_90.flagged
    assert flagged.any() and np.all(kepler_90.inverted[flagged] < model.threshold)
    assert "upside down" not in kepler_90.summary(model.threshold)
    symmetric = dataclasses.replace(kepler_90, inverted=kepler_90.probability)  # as a pulsator
    warning = f"{flagged.sum()} of them also flagged upside down: variability likely"
    assert symmetric.summary(model.threshold).endswith(warning)


def test_score_fills_the_candidate_on_flagged_rows_holding_its_transit(model) -> None:
    table = model.score(KEPLER_90_Q5)
    flagged = table["verdict"] == scoring.TRANSIT
    holds_h = (table["start"] < KEPLER_90_H_BKJD) & (table["end"] > KEPLER_90_H_BKJD)
    filled = table["epoch"].notna()
    assert (flagged & holds_h).any() and filled.equals(flagged & holds_h)
    assert table.loc[filled, "epoch"].sub(KEPLER_90_H_BKJD).abs().lt(0.1).all()
    assert table.loc[filled, ["duration", "depth"]].notna().all().all()
    assert table["period"].isna().all()  # seen once in this quarter


def test_predict_vet_writes_a_page_and_json_gains_the_candidate(tmp_path, capsys) -> None:
    code = cli.main(["predict", str(KEPLER_90_Q5), "--json", "--vet", str(tmp_path / "vet")])
    out, err = capsys.readouterr()
    assert code == 0, err
    (record,) = json.loads(out)["inputs"]
    assert abs(record["candidate"]["epoch"] - KEPLER_90_H_BKJD) < 0.1
    assert record["candidate"]["period"] is None  # a single transit
    png = tmp_path / "vet" / "kplr011442793-2010174085026_llc_vetting.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unwritable_vet_dir_is_one_error_line_and_results_stay(tmp_path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    code = cli.main(["predict", str(KEPLER_90_Q5), "--vet", str(blocker)])
    out, err = capsys.readouterr()
    assert code == 1 and "windows flagged as transit" in out and "Traceback" not in err
    assert (
        err.startswith(f"error: {blocker}: cannot write the vetting plots") and err.count("\n") == 1
    )
