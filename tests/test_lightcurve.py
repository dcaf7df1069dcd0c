"""The shared light-curve path: one set of rules for training windows and predict's windows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transit_classifier.errors import UserError
from transit_classifier.io import load_npz
from transit_classifier.learn.kepler_windows import WindowSettings, star_windows
from transit_classifier.serve import predict as scoring
from transit_classifier.signal import windowing
from transit_classifier.sources import bundle, inputs, kepler, koi, lightcurve

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "kepler"
BUNDLE = ROOT / "data" / "kepler_bundle"
QUIET_STAR = 5899262  # NOT_KOI, Q0 + Q1 fixtures
QUIET_FITS = [
    FIXTURES / "kplr005899262-2009131105131_llc.fits",
    FIXTURES / "kplr005899262-2009166043257_llc.fits",
]
CADENCE_MIN = 29.4244
CADENCE_D = CADENCE_MIN / 1440
RULES = windowing.WindowRules(length=200, cadence_minutes=CADENCE_MIN, max_missing_fraction=0.3)
NO_KOI = pd.DataFrame(columns=koi.KOI_COLUMNS)
# fetch_kepler's settings with predict's placement (stride length // 2), to compare the two
HALF_OVERLAP = WindowSettings(RULES, RULES.inference_stride, 3, 0.5, False, frozenset())


@pytest.fixture(scope="module")
def bundled_star() -> kepler.StarLightCurve:
    """The bundle's copy of the quiet star's Q0 + Q1 FITS fixtures."""
    star = bundle.decode_star(QUIET_STAR, load_npz(BUNDLE / bundle.star_file(QUIET_STAR)))
    return star.select_quarters([0, 1])


def observations(time, flux, segment=None, cadenceno=None) -> lightcurve.Observations:
    return lightcurve.make_observations("test", "csv", time, flux, segment, cadenceno)


def test_each_segment_is_normalised_by_its_own_median() -> None:
    time = np.arange(400) * CADENCE_D
    flux = np.where(np.arange(400) < 200, 1000.0, 2500.0) * (1 + 1e-3 * (np.arange(400) % 3))
    segments = windowing.to_segments(observations(time, flux, np.arange(400) >= 200), CADENCE_D)
    assert [s.label for s in segments] == [0, 1]
    for seg in segments:
        assert np.median(seg.flux) == pytest.approx(1.0)


def test_non_positive_median_is_an_error_for_predict_and_skipped_for_training() -> None:
    time = np.arange(400) * CADENCE_D
    flux = np.where(np.arange(400) < 200, 1000.0, -5.0) + np.arange(400) % 3
    obs = observations(time, flux, np.arange(400) >= 200)
    message = r"^test: median flux is not positive \(segment 1\)"
    with pytest.raises(UserError, match=message) as info:
        windowing.to_segments(obs, CADENCE_D)
    assert "\n" not in str(info.value)
    assert [s.label for s in windowing.to_segments(obs, CADENCE_D, skip_bad_level=True)] == [0]


def test_cadence_numbers_place_points_exactly_where_time_binning_averages() -> None:
    cadenceno = np.array([100, 101, 102, 105, 106])
    time = 300 + (cadenceno - 100) * CADENCE_D + np.array([0, 1e-4, 0, 0, -1e-4])  # jitter
    flux = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    (by_cadence,) = windowing.to_segments(observations(time, flux, None, cadenceno), CADENCE_D)
    assert by_cadence.first_cadence == 100
    np.testing.assert_array_equal(by_cadence.flux * 3, [1, 2, 3, np.nan, np.nan, 4, 5])
    np.testing.assert_allclose(by_cadence.time[[3, 4]], 300 + np.array([3, 4]) * CADENCE_D)
    fine = 300 + np.arange(30) * CADENCE_D / 3  # 3 points per model cadence, no numbers
    (binned,) = windowing.to_segments(observations(fine, np.arange(30.0) + 1), CADENCE_D)
    assert binned.first_cadence == 0 and binned.time[0] == fine[0]
    np.testing.assert_allclose(
        binned.flux * np.median(np.arange(30.0) + 1), [1.5, 4, 7, 10, 13, 16, 19, 22, 25, 28, 30]
    )


def test_short_cadence_numbers_fall_back_to_time_binning() -> None:
    time = np.arange(300) / 1440  # 1-min cadence: its numbers are not the model's cadences
    obs = observations(time, 1 + np.arange(300) % 2, None, np.arange(300))
    assert not windowing.has_native_cadence(obs, CADENCE_D)
    (segment,) = windowing.to_segments(obs, CADENCE_D)
    assert len(segment.flux) == 11


def test_windows_never_straddle_segments_and_gaps_stay_nan() -> None:
    time = np.concatenate([np.arange(300), 420 + np.arange(250)]) * CADENCE_D  # 2.5-day gap
    flux = 1 + 1e-3 * np.sin(np.arange(550.0))
    flux[100:140] = np.nan  # a gap inside segment 0
    obs = observations(time, flux)
    assert np.unique(obs.segment).tolist() == [0, 1]
    windows = windowing.cut_windows(windowing.to_segments(obs, CADENCE_D), 200, 100, True)
    assert windows.segment.tolist() == [0, 0, 1, 1]
    assert windows.start.tolist() == [0, 100, 0, 50]
    for seg, times in zip(windows.segment, windows.time, strict=True):
        inside = obs.time[obs.segment == seg]
        assert inside.min() <= times[0] and times[-1] <= inside.max()
    index = np.arange(200)
    np.testing.assert_array_equal(np.isnan(windows.flux[0]), (index >= 100) & (index < 140))
    assert windows.missing_fraction[0] == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("n", "flush", "expected"),
    [
        (199, True, []),
        (200, True, [0]),
        (201, True, [0, 1]),
        (450, True, [0, 100, 200, 250]),
        (450, False, [0, 100, 200]),
        (400, True, [0, 100, 200]),
    ],
)
def test_window_starts_and_last_flush_window(n: int, flush: bool, expected: list[int]) -> None:
    assert windowing.window_starts(n, 200, 100, flush).tolist() == expected


def test_missing_fraction_rule_is_the_same_for_training_and_predict(bundled_star) -> None:
    """Windows with gaps just below and just above 30%: training drops exactly predict's sparse."""
    q1 = bundled_star.select_quarters([1])
    hole = (q1.cadenceno >= q1.cadenceno[0] + 120) & (q1.cadenceno < q1.cadenceno[0] + 181)
    star = replace(q1, time=q1.time[~hole], flux=q1.flux[~hole], quarter=q1.quarter[~hole],
                   cadenceno=q1.cadenceno[~hole])  # fmt: skip
    obs = kepler.from_star(star)
    _, windows = scoring.inference_windows(obs, RULES)
    sparse = windowing.too_sparse(windows, RULES.max_missing_fraction)
    assert sparse.any() and (windows.missing_fraction[~sparse] <= 0.3).all()
    assert (windows.missing_fraction[sparse] > 0.3).all()
    trained = star_windows(star, NO_KOI, "NOT_KOI", HALF_OVERLAP)
    trained_starts = trained.table["id"].str[-6:].astype(int)
    kept = windows.select(~sparse & np.isin(windows.start, trained_starts))
    assert trained.dropped_missing == int(sparse.sum())
    np.testing.assert_array_equal(trained.table["missing_fraction"], kept.missing_fraction)


def test_training_and_predict_cut_identical_windows_from_the_same_star(bundled_star) -> None:
    """FITS read for predict and the bundle's copy for training: same arrays, same placement."""
    curve = inputs.read_fits_lightcurve(QUIET_FITS[1])
    _, windows = scoring.inference_windows(curve, RULES)
    usable = ~windowing.too_sparse(windows, RULES.max_missing_fraction)
    star = bundled_star.select_quarters([1])
    trained = star_windows(star, NO_KOI, "NOT_KOI", HALF_OVERLAP)
    flush = windows.start == windows.start.max()  # predict's extra window, flush with the end
    same = windows.select(usable & ~flush)
    assert len(trained.table) == len(same) > 5
    np.testing.assert_array_equal(trained.table["quarter"], same.segment)
    np.testing.assert_array_equal(trained.time, same.time)
    np.testing.assert_array_equal(trained.flux, same.flux.astype(np.float32))
    assert np.isnan(same.flux).any()  # gaps reach both paths as NaN, filled only by preprocess


def test_lightkurve_collection_gives_one_segment_per_quarter() -> None:
    lk = lightcurve.import_lightkurve()
    parts = [lk.read(str(path), quality_bitmask="default") for path in QUIET_FITS]
    collection = lightcurve.from_lightkurve(lk.LightCurveCollection(parts))
    assert collection.name == "KIC 5899262" and np.unique(collection.segment).tolist() == [0, 1]
    star = kepler.from_star(kepler.read_fits(QUIET_FITS))
    segments = windowing.to_segments(collection, CADENCE_D)
    for ours, theirs in zip(segments, windowing.to_segments(star, CADENCE_D), strict=True):
        assert ours.first_cadence == theirs.first_cadence
        np.testing.assert_allclose(ours.flux, theirs.flux, rtol=1e-6)  # float32 storage aside
    stitched = lightcurve.from_lightkurve(lk.LightCurveCollection(parts).stitch())
    assert np.unique(stitched.segment).size >= 1  # no trusted per-row quarter: split at gaps
    single = lightcurve.from_lightkurve(parts[1], "Q1")
    (segment,) = windowing.to_segments(single, CADENCE_D)
    np.testing.assert_allclose(segment.flux, segments[1].flux, rtol=1e-6)


def test_lightkurve_curve_with_a_quarter_column_is_split_by_it() -> None:
    lk = lightcurve.import_lightkurve()
    time = np.arange(400) * CADENCE_D
    lc = lk.LightCurve(time=time, flux=np.where(time < 4, 10.0, 30.0) + np.arange(400) % 2)
    lc["quarter"] = np.where(time < 4, 7, 8)
    obs = lightcurve.from_lightkurve(lc)
    assert np.unique(obs.segment).tolist() == [7, 8] and obs.cadenceno is None
    assert all(np.median(s.flux) == pytest.approx(1, rel=0.05)
               for s in windowing.to_segments(obs, CADENCE_D))  # fmt: skip


def test_window_info_round_trips_through_model_info() -> None:
    params = {"dataset": {"window_length": 200, "cadence_minutes": CADENCE_MIN},
              "kepler": {"max_missing_fraction": 0.3}}  # fmt: skip
    info = {"input_length": 200, "cadence_minutes": CADENCE_MIN,
            "window": windowing.window_info(params)}  # fmt: skip
    assert (
        windowing.WindowRules.from_info(info) == RULES == windowing.WindowRules.from_params(params)
    )


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (None, "no 'window' settings"),
        ({"length": 200, "cadence_minutes": CADENCE_MIN}, "lack ['max_missing_fraction']"),
        ({**windowing.window_info({"dataset": {"window_length": 200, "cadence_minutes":
          CADENCE_MIN}, "kepler": {"max_missing_fraction": 0.3}}), "stride": 7},
         "hold unknown keys ['stride']"),
        ({"length": 100, "cadence_minutes": CADENCE_MIN, "max_missing_fraction": 0.3},
         "do not fit the network"),
        ({"length": 200, "cadence_minutes": CADENCE_MIN, "max_missing_fraction": 1.5},
         "do not fit the network"),
        ({"length": 200.0, "cadence_minutes": CADENCE_MIN, "max_missing_fraction": "0.3"},
         "do not fit the network"),
    ],
)  # fmt: skip
def test_model_window_settings_that_cannot_be_honoured_are_refused(window, message) -> None:
    info = {"input_length": 200, "cadence_minutes": CADENCE_MIN, "preprocess": {}}
    if window is not None:
        info["window"] = window
    with pytest.raises(UserError) as error:
        scoring.model_setup(info, 0.5)
    text = str(error.value)
    assert message in text and text.endswith("retrain with `dvc repro train`")
    assert "\n" not in text


def test_csv_without_quarter_splits_at_long_gaps(tmp_path) -> None:
    time = np.concatenate([np.arange(100), 100 + 1.5 / CADENCE_D + np.arange(100),
                           300 + 3 / CADENCE_D + np.arange(100)]) * CADENCE_D  # fmt: skip
    path = tmp_path / "star.csv"
    pd.DataFrame({"TIME": time, "Flux": 5.0 + np.arange(300) % 2}).to_csv(path, index=False)
    obs = lightcurve.read_csv(path)
    assert obs.cadenceno is None
    # the 1.5-day gap stays inside a segment, the 3-day gap (> SEGMENT_GAP_DAYS) splits
    assert np.bincount(obs.segment).tolist() == [200, 100]


def test_csv_flux_err_follows_its_points_through_sorting_and_masking(tmp_path) -> None:
    time = np.round(130 + np.arange(300) * CADENCE_D, 6)  # exact through the CSV
    frame = pd.DataFrame({"time": time, "flux": 5000 + np.arange(300) % 7,
                          "flux_err": 1 + np.arange(300) / 1024})  # fmt: skip
    frame.loc[10, "flux"] = -9999.0  # a fill value: masked, its error with it
    frame.loc[20, "flux_err"] = -1.0  # an error bar that is not positive: unknown
    path = tmp_path / "star.csv"
    frame.sample(frac=1.0, random_state=0).to_csv(path, index=False)
    with pytest.warns(UserWarning, match="masked 1 fill value"):
        obs = lightcurve.read_csv(path)
    expected = frame.drop(index=10)
    np.testing.assert_array_equal(obs.time, expected["time"])
    np.testing.assert_array_equal(obs.flux_err[np.arange(299) != 19], expected["flux_err"].drop(20))
    assert np.isnan(obs.flux_err[19])


def test_lightkurve_flux_err_is_kept_only_where_given() -> None:
    lk = lightcurve.import_lightkurve()
    time = 130 + np.arange(300) * CADENCE_D
    flux = 5000.0 + np.arange(300) % 7
    given = lightcurve.from_lightkurve(lk.LightCurve(time=time, flux=flux, flux_err=flux * 1e-3))
    np.testing.assert_array_equal(given.flux_err, flux * 1e-3)
    assert lightcurve.from_lightkurve(lk.LightCurve(time=time, flux=flux)).flux_err is None


def test_flux_err_never_reaches_the_windows(bundled_star) -> None:
    """The network's input is the same with or without errors: flux_err is for the search."""
    obs = kepler.from_star(bundled_star)
    errors = replace(obs, flux_err=np.full(obs.flux.size, 3.0))
    (_, plain), (_, with_errors) = (scoring.inference_windows(o, RULES) for o in (obs, errors))
    assert plain.flux.tobytes() == with_errors.flux.tobytes()
