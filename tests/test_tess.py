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

import transit_classifier as tc
from transit_classifier import cli, inputs, lightcurve
from transit_classifier import predict as scoring
from transit_classifier.errors import UserError

SECTOR_DAYS, GAP_START, GAP_DAYS = 27.4, 13.2, 1.0  # one orbit each side of the downlink gap
BTJD_START = 1683.35  # sector 14's start, BTJD = BJD - 2457000
ATTITUDE_TWEAK = 1  # a QUALITY bit in lightkurve's default mask


def tess_time(sector: int, cadence_s: float) -> np.ndarray:
    """Cadence mid-times (BTJD) of one ~27-day sector with its ~1-day mid-sector gap."""
    start = BTJD_START + (sector - 14) * SECTOR_DAYS
    t = np.arange(0.0, SECTOR_DAYS, cadence_s / 86400.0)
    return start + t[(t < GAP_START) | (t >= GAP_START + GAP_DAYS)]


def box_transits(
    time: np.ndarray, depth: float, period: float = 3.1, t0: float = 1.3, duration: float = 0.15
) -> np.ndarray:
    """Relative flux of a box transit train (1 outside transits)."""
    phase = (time - time[0] - t0 + period / 2) % period - period / 2
    return 1.0 - depth * (np.abs(phase) < duration / 2)


def write_tess_fits(
    path: Path, *, sector: int = 14, cadence_s: float = 120.0, depth: float = 0.0, seed: int = 0
) -> Path:
    """Write a SPOC-format TESS light curve: white noise, mild variability, optional transits.

    Noise is 1000 ppm per 2-min point (scaled to the cadence), i.e. ~200 ppm per
    29.4-min bin; a few cadences carry an attitude-tweak flag and an absurd flux
    value, so the quality mask must remove them.
    """
    rng = np.random.default_rng(seed)
    time = tess_time(sector, cadence_s)
    sigma = 1e-3 * np.sqrt(120.0 / cadence_s)
    level = 5000.0 * (1 + 2e-4 * np.sin(2 * np.pi * (time - time[0]) / 5.3))
    flux = level * box_transits(time, depth) * (1 + sigma * rng.standard_normal(time.size))
    quality = np.zeros(time.size, np.int32)
    bad = rng.choice(time.size, 20, replace=False)
    quality[bad], flux[bad] = ATTITUDE_TWEAK, 1e6  # must be dropped by the mask
    err = np.full(time.size, sigma * 5000.0)
    first = int(round((time[0] - BTJD_START) * 86400 / cadence_s))
    columns = [
        fits.Column("TIME", "D", "BJD - 2457000, days", array=time),
        fits.Column("CADENCENO", "J", array=first + np.arange(time.size)),
        fits.Column("SAP_FLUX", "E", "e-/s", array=flux),
        fits.Column("SAP_FLUX_ERR", "E", "e-/s", array=err),
        fits.Column("PDCSAP_FLUX", "E", "e-/s", array=flux),
        fits.Column("PDCSAP_FLUX_ERR", "E", "e-/s", array=err),
        fits.Column("QUALITY", "J", array=quality),
    ]
    table = fits.BinTableHDU.from_columns(columns, name="LIGHTCURVE")
    table.header.update(
        TIMEREF="SOLARSYSTEM",
        TIMESYS="TDB",
        BJDREFI=2457000,
        BJDREFF=0.0,
        TIMEUNIT="d",
        TIMEDEL=cadence_s / 86400.0,
        EXPOSURE=cadence_s / 86400.0,
    )
    primary = fits.PrimaryHDU()
    primary.header.update(
        TELESCOP="TESS",
        INSTRUME="TESS Photometer",
        ORIGIN="NASA/Ames",
        CREATOR="LightCurveExporterPipelineModule",
        OBJECT="TIC 123456789",
        TICID=123456789,
        SECTOR=sector,
        CAMERA=1,
        CCD=1,
        RA_OBJ=280.0,
        DEC_OBJ=60.0,
        TESSMAG=10.0,
    )
    fits.HDUList([primary, table]).writeto(path, overwrite=True)
    return path


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
    segments, windows = scoring.cut_windows(curve, rules)
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
    segments, windows = scoring.cut_windows(curve, model.setup.rules)
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
