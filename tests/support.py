"""Helpers shared by several test files: a tiny saved model, synthetic inputs, CLI runs, and
loading the repository's ``tools/`` and ``studies/`` scripts (not packages) by path.

Test files import from here, never from one another; fixtures live in ``conftest.py``.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import yaml
from astropy.io import fits

from transit_classifier.params import load_params
from transit_classifier.search.calibration import SearchCalibration
from transit_classifier.search.null import NullModel
from transit_classifier.search.settings import SearchSettings
from transit_classifier.serve import cli

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
_SEARCH = load_params(ROOT / "params.yaml")[
    "search"
]  # the venv whose dvc and python the end-to-end tests run


def stage_argv(name: str) -> list[str]:
    """The command line of stage ``name`` as ``dvc.yaml`` sets it (paths included), run by this
    interpreter on the repository's script, for tests that run a stage in a temporary folder."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    _, script, *args = shlex.split(stages[name]["cmd"])
    return [sys.executable, str(ROOT / script), *args]


def load_script(folder: str, name: str) -> ModuleType:
    """Import ``<folder>/<name>.py`` (``tools`` or ``studies``) as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, ROOT / folder / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CADENCE_MIN = 29.4244
CADENCE_D = CADENCE_MIN / 1440
LENGTH = 200  # cadences per window of the tiny test model (~4.1 days)
STRIDE = LENGTH // 2
FIXTURES = Path(__file__).parent / "fixtures" / "kepler"
PREPROCESS = {
    "detrend_method": "median",
    "detrend_windows_days": [0.75, 2.5],
    "clip_high_sigma": 5.0,
    "compress_low_sigma": 20.0,
    "cadence_minutes": CADENCE_MIN,
}
WINDOW = {"length": LENGTH, "cadence_minutes": CADENCE_MIN, "max_missing_fraction": 0.3}
INFO = {
    "input_length": LENGTH,
    "cadence_minutes": CADENCE_MIN,
    "preprocess": PREPROCESS,
    "window": WINDOW,
}


def save_tiny_model(path: Path, info: dict) -> Path:
    """A tiny untrained three-channel classifier saved the way the train stage saves models."""
    import keras

    from transit_classifier.learn.model import save_classifier

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((LENGTH, 3)),
            keras.layers.Conv1D(4, 5),
            keras.layers.GlobalMaxPooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    save_classifier(model, path, info)
    weights = json.loads((path / "model.json").read_text())["weights_sha256"]
    thresholds = {
        "weights_sha256": weights,
        "default": "fpr_1pct",
        "operating_points": {"fpr_1pct": 0.5, "max_f1": 0.7},
    }
    (path / "thresholds.json").write_text(json.dumps(thresholds))
    (path / "search.json").write_text(json.dumps(tiny_search_calibration().to_dict()))
    return path


def tiny_search_calibration(statistic: str = "box") -> SearchCalibration:
    """The default search settings with a made-up null (Gumbel scores near MES 7): enough for
    predict to attach FAPs and verdicts, with no pipeline run. The tiny model has no cadence
    head, so it folds the box statistic unless told otherwise."""
    params = {"dataset": {"cadence_minutes": CADENCE_MIN}, "search": _SEARCH}
    rng = np.random.default_rng(0)
    null = {kind: NullModel.fit(rng.gumbel(6.5, 0.8, 1000)) for kind in ("periodic", "single")}
    settings = replace(SearchSettings.from_params(params), statistic=statistic)
    return SearchCalibration(settings, null)


def light_curve(
    days: float, cadence_min: float = CADENCE_MIN, transit_at: float | None = None, seed: int = 0
) -> pd.DataFrame:
    """Flat star with 100 ppm white noise in e-/s; optionally one 1%-deep, 6-hour box transit."""
    rng = np.random.default_rng(seed)
    time = 130.0 + np.arange(0, days, cadence_min / 1440)
    flux = 1 + 1e-4 * rng.standard_normal(time.size)
    if transit_at is not None:
        flux[np.abs(time - 130.0 - transit_at) < 0.125] -= 0.01
    return pd.DataFrame({"Time": time, "FLUX": 5000 * flux, "flux_err": 0.5})


def write_csv(tmp_path: Path, frame: pd.DataFrame, name: str = "star.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def run(capsys: pytest.CaptureFixture, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, path: Path, model_dir: Path, *extra: str) -> dict:
    code, out, err = run(capsys, "predict", path, "--json", "--model-dir", model_dir, *extra)
    assert code == 0, err
    return json.loads(out)


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
