"""TESS SPOC light curves (2-min, 10-min, 30-min FFI) scored end to end by the committed model.

MAST is unreachable offline, so :func:`write_tess_fits` builds correctly
formatted SPOC light-curve files with astropy (the primary-header keywords and
LIGHTCURVE columns, units and QUALITY flags lightkurve's TESS reader relies on)
deterministically at test time, instead of shipping ~0.5 MB of noise.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from support import GAP_DAYS, tess_time, write_tess_fits

import transit_classifier as tc
from transit_classifier.errors import UserError
from transit_classifier.serve import cli
from transit_classifier.serve import predict as scoring
from transit_classifier.sources import inputs, lightcurve


@pytest.fixture(scope="module")
def model() -> tc.TransitClassifier:
    return tc.load_model()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tess")
    return {
        "planet": write_tess_fits(root / "tess_planet_lc.fits", depth=0.01, seed=1),
        "flat": write_tess_fits(root / "tess_flat_lc.fits", seed=2),
        "s15": write_tess_fits(root / "tess_s15_lc.fits.gz", sector=15, depth=0.01, seed=3),
        "ffi30": write_tess_fits(root / "tess_ffi30_lc.fits", cadence_s=1800.0, depth=0.01, seed=4),
        "ffi10": write_tess_fits(root / "tess_ffi10_lc.fits", cadence_s=600.0, depth=0.01, seed=5),
    }


def test_fits_is_read_as_one_sector_with_quality_mask(files: dict[str, Path]) -> None:
    curve = inputs.load_input(str(files["planet"]))
    assert curve.source == "fits" and np.unique(curve.segment).tolist() == [14]
    assert len(curve.flux) == len(tess_time(14, 120.0)) - 20  # flagged cadences dropped
    assert curve.flux.max() < 6000  # the 1e6 values sat on flagged cadences


def test_two_minute_data_are_binned_to_the_model_cadence(
    files: dict[str, Path], model: tc.TransitClassifier
) -> None:
    rules = model.setup.rules
    curve = inputs.load_input(str(files["flat"]))
    segments, windows = scoring.inference_windows(curve, rules)
    (segment,) = segments
    assert np.allclose(np.diff(segment.time), rules.cadence_days)
    span = curve.time[-1] - curve.time[0]
    assert len(segment.flux) == round(span / rules.cadence_days) + 1  # 1342 bins, not 19000 points
    gap = np.isnan(segment.flux).sum() * rules.cadence_days
    assert GAP_DAYS - 0.1 < gap < GAP_DAYS + 0.1  # the downlink gap stays NaN inside the sector
    assert windows.flux.shape == (2, rules.length)  # two half-overlapping windows, flush end
    assert np.nanstd(segment.flux) < 4e-4  # 1000 ppm per 2 min averages down to ~200 ppm


def test_transit_flagged_and_flat_not_through_api(
    files: dict[str, Path], model: tc.TransitClassifier
) -> None:
    planet, flat = model.score(files["planet"]), model.score(files["flat"])
    assert (planet.verdict == scoring.TRANSIT).all()
    assert (flat.verdict == scoring.NO_TRANSIT).all()


def test_lightkurve_object_scores_like_the_file(
    files: dict[str, Path], model: tc.TransitClassifier
) -> None:
    lk = lightcurve.import_lightkurve()
    with warnings.catch_warnings(action="ignore"):
        curve = lk.read(str(files["planet"]))
    from_object, from_file = model.score(curve), model.score(files["planet"])
    assert np.allclose(from_object.probability, from_file.probability, atol=1e-6)
    assert (from_object.verdict == scoring.TRANSIT).all()


def test_sectors_become_segments(files: dict[str, Path], model: tc.TransitClassifier) -> None:
    curve = inputs.stitch([inputs.load_input(str(files[k])) for k in ("planet", "s15")])
    segments, windows = scoring.inference_windows(curve, model.setup.rules)
    assert len(segments) == 2 and np.unique(windows.segment).size == 2  # none crosses sectors
    lk = lightcurve.import_lightkurve()
    with warnings.catch_warnings(action="ignore"):
        both = lk.LightCurveCollection([lk.read(str(files[k])) for k in ("planet", "s15")])
    assert np.unique(lightcurve.from_lightkurve(both).segment).tolist() == [14, 15]
    assert (model.score([files["planet"], files["s15"]]).verdict == scoring.TRANSIT).all()


@pytest.mark.parametrize("key", ["ffi30", "ffi10"])
def test_ffi_cadences_score(key: str, files: dict[str, Path], model: tc.TransitClassifier) -> None:
    scores = model.score(files[key])
    assert len(scores) == 2 and (scores.verdict == scoring.TRANSIT).any()


def test_cli_predicts_tess_files(files: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["predict", str(files["planet"]), str(files["flat"])]) == 0
    out = capsys.readouterr().out
    assert "tess_planet_lc.fits: 2 of 2 windows flagged" in out
    assert "tess_flat_lc.fits: 0 of 2 windows flagged" in out


def test_tess_table_without_pdcsap_is_named_neutrally(tmp_path: Path) -> None:
    column = fits.Column("TIME", "D", array=np.arange(10.0))
    path = tmp_path / "odd.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([column])]).writeto(path)
    with pytest.raises(UserError, match="not a Kepler or TESS light curve"):
        inputs.load_input(str(path))


def test_truncated_tess_file_is_one_line_error(files: dict[str, Path], tmp_path: Path) -> None:
    data = files["planet"].read_bytes()
    path = tmp_path / "tess_cut_lc.fits"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="TESS FITS light curve .* truncated or corrupt"):
        inputs.load_input(str(path))


def test_tess_fits_keeps_pdcsap_flux_err(files: dict[str, Path]) -> None:
    curve = inputs.load_input(str(files["planet"]))
    assert curve.flux_err is not None and curve.flux_err.shape == curve.flux.shape
    np.testing.assert_allclose(curve.flux_err, 1e-3 * 5000.0, rtol=1e-6)  # as written, float32
