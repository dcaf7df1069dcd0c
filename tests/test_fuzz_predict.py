"""Fuzz-style: malformed light curves never give a traceback or a verdict (issue 12).

More than 50 inputs (CSV and FITS, built here with numpy, pandas and astropy
from seeded random numbers) each break one rule: empty, header only, NaN/inf
columns, text where numbers belong, ISO dates, fill values and absurd times,
repeated times, zero/negative/mean-subtracted flux, tiny offsets,
images and foreign tables, truncated or garbage bytes, wrong columns. predict
must refuse each with exactly one line naming the problem, exit non-zero, and
print no probability or verdict for it. Most run in-process; one batch goes
through a real subprocess with a good input among them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from support import FIXTURES, light_curve, run

SEED = 12
KEPLER_FITS = FIXTURES / "kplr011442793-2010174085026_llc.fits"  # Kepler-90, Q5
FITS_BLOCK = 2880

Builder = Callable[[Path, np.random.Generator], Path]


# ------------------------------------------------------------------------ builders


def text_file(name: str, content: str | bytes) -> Builder:
    def build(folder: Path, rng: np.random.Generator) -> Path:
        path = folder / name
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
        return path

    return build


def csv(change: Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame], days=10.0) -> Builder:
    """A good 10-day star (random noise seed) with one defect applied."""

    def build(folder: Path, rng: np.random.Generator) -> Path:
        frame = change(light_curve(days, seed=int(rng.integers(1 << 16))), rng)
        path = folder / "star.csv"
        frame.to_csv(path, index=False)
        return path

    return build


def at_random_row(column: str, value: float) -> Callable:
    def change(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        frame[column] = frame[column].astype(type(value) if isinstance(value, str) else float)
        frame.loc[int(rng.integers(len(frame))), column] = value
        return frame

    return change


def level(shift: Callable[[pd.Series, np.random.Generator], pd.Series]) -> Callable:
    """Replace the flux by ``shift(flux)``: zero-centred, mean-subtracted, offset..."""

    def change(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        return frame.assign(FLUX=shift(frame["FLUX"], rng))

    return change


def kepler_fits(change: Callable[[fits.FITS_rec, np.random.Generator], None]) -> Builder:
    """The Kepler-90 fixture with its light-curve table edited by ``change``."""

    def build(folder: Path, rng: np.random.Generator) -> Path:
        path = folder / "kplr_edited_llc.fits"
        with fits.open(KEPLER_FITS) as hdus:
            change(hdus[1].data, rng)
            hdus.writeto(path)
        return path

    return build


def hdus(*make: Callable[[np.random.Generator], fits.hdu.base.ExtensionHDU]) -> Builder:
    def build(folder: Path, rng: np.random.Generator) -> Path:
        path = folder / "thing.fits"
        fits.HDUList([fits.PrimaryHDU(), *(m(rng) for m in make)]).writeto(path)
        return path

    return build


def truncated(low: int, high: int) -> Builder:
    def build(folder: Path, rng: np.random.Generator) -> Path:
        data = KEPLER_FITS.read_bytes()
        path = folder / "cut_llc.fits"
        path.write_bytes(data[: int(rng.integers(low, high))])
        return path

    return build


def table(**columns: Callable[[np.random.Generator], np.ndarray]) -> Callable:
    def make(rng: np.random.Generator) -> fits.BinTableHDU:
        return fits.BinTableHDU.from_columns(
            [fits.Column(name=k, format="D", array=v(rng)) for k, v in columns.items()]
        )

    return make


def series(rng: np.random.Generator) -> np.ndarray:
    return 1000 + rng.standard_normal(500)


def image(*shape: int) -> Callable:
    return lambda rng: fits.ImageHDU(rng.standard_normal(shape).astype(np.float32))


def set_column(name: str, value: Callable[[np.ndarray, np.random.Generator], np.ndarray]):
    def change(data: fits.FITS_rec, rng: np.random.Generator) -> None:
        data[name] = value(data[name], rng)

    return change


def one_time(value: float) -> Callable:
    def change(data: fits.FITS_rec, rng: np.random.Generator) -> None:
        data["TIME"][int(rng.integers(100, len(data) - 100))] = value

    return change


def bad_dates(fmt: str) -> Callable:
    def change(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        dates = pd.to_datetime(frame["Time"] + 2454833, unit="D", origin="julian")
        return frame.assign(Time=dates.dt.strftime(fmt))

    return change


def missing_path(folder: Path, rng: np.random.Generator) -> Path:
    return folder / "never_written.csv"


def directory(folder: Path, rng: np.random.Generator) -> Path:
    path = folder / "a_folder.fits"
    path.mkdir()
    return path


NO_POINT = "no point has both a finite time and a finite flux"
NEAR_ZERO = "near zero for its scatter"
NOT_DAYS = "are not dates in days"
UNREADABLE = "not a readable CSV"
CORRUPT = "truncated or corrupt"
NOT_NUMERIC_TIME = "the time column is not numeric"
MEAN = lambda f, rng: f - f.mean()  # noqa: E731 -- a one-line flux defect reads best inline

CASES: dict[str, tuple[Builder, str]] = {
    # files that are not CSV tables at all
    "empty": (text_file("empty.csv", ""), UNREADABLE),
    "blank_lines": (text_file("blank.csv", "\n\n   \n"), UNREADABLE),
    "binary_garbage_csv": (text_file("garbage.csv", bytes(range(128, 256)) * 20), UNREADABLE),
    "unbalanced_quote": (text_file("quote.csv", 'time,flux\n1,2,3,4\n"'), UNREADABLE),
    "gz_suffix_plain_text": (text_file("plain.csv.gz", "time,flux\n1,2\n"), UNREADABLE),
    "unknown_suffix": (text_file("star.txt", "time,flux\n1,2\n"), "unknown file type '.txt'"),
    "missing_file": (missing_path, "no such file, and not a KIC id"),
    "directory": (directory, "is a directory"),
    # wrong columns
    "header_only": (text_file("header.csv", "time,flux\n"), NO_POINT),
    "wrong_columns": (text_file("ab.csv", "a,b\n1,2\n2,3\n"), "missing column(s) time, flux"),
    "time_only": (csv(lambda f, rng: f.drop(columns="FLUX")), "missing column(s) flux"),
    "flux_renamed": (
        csv(lambda f, rng: f.rename(columns={"FLUX": "sap"})),
        "missing column(s) flux",
    ),
    "semicolons": (text_file("semi.csv", "time;flux\n1;2\n2;3\n"), "missing column(s) time, flux"),
    # non-finite and non-numeric columns
    "flux_all_nan": (csv(lambda f, rng: f.assign(FLUX=np.nan)), NO_POINT),
    "flux_all_inf": (csv(lambda f, rng: f.assign(FLUX=np.inf)), NO_POINT),
    "flux_all_minus_inf": (csv(lambda f, rng: f.assign(FLUX=-np.inf)), NO_POINT),
    "time_all_nan": (csv(lambda f, rng: f.assign(Time=np.nan)), NO_POINT),
    "time_all_inf": (csv(lambda f, rng: f.assign(Time=np.inf)), NO_POINT),
    "flux_text": (csv(lambda f, rng: f.assign(FLUX="bright")), "the flux column is not numeric"),
    "flux_one_text_value": (csv(at_random_row("FLUX", "oops")), "the flux column is not numeric"),
    "time_text": (csv(lambda f, rng: f.assign(Time="noon")), NOT_NUMERIC_TIME),
    "time_booleans": (csv(lambda f, rng: f.assign(Time="True")), NOT_NUMERIC_TIME),
    "iso_dates": (csv(bad_dates("%Y-%m-%d %H:%M:%S")), NOT_NUMERIC_TIME),
    "iso_t_dates": (csv(bad_dates("%Y-%m-%dT%H:%M:%S.%f")), NOT_NUMERIC_TIME),
    "day_first_dates": (csv(bad_dates("%d/%m/%Y %H:%M")), NOT_NUMERIC_TIME),
    # absurd times
    "time_plus_1e20": (csv(at_random_row("Time", 1e20)), NOT_DAYS),
    "time_minus_1e20": (csv(at_random_row("Time", -1e20)), NOT_DAYS),
    "time_fill_minus_1e30": (csv(at_random_row("Time", -1e30)), NOT_DAYS),
    "time_fill_9p9e37": (csv(at_random_row("Time", 9.9e37)), NOT_DAYS),
    "time_fill_max_float": (csv(at_random_row("Time", np.finfo(np.float64).max)), NOT_DAYS),
    "time_offset_1e9": (
        csv(lambda f, rng: f.assign(Time=f["Time"] + rng.uniform(1e9, 5e9))),
        NOT_DAYS,
    ),
    "time_in_seconds": (
        csv(lambda f, rng: f.assign(Time=f["Time"] * 86400)),
        "longer than any light-curve gap",
    ),
    "time_duplicated": (csv(lambda f, rng: pd.concat([f, f])), "time value(s) repeat"),
    "two_curves_pasted": (
        csv(lambda f, rng: pd.concat([f, f.assign(FLUX=f["FLUX"] * rng.uniform(0.5, 2))])),
        "time value(s) repeat",
    ),
    "time_all_equal": (csv(lambda f, rng: f.assign(Time=130.0)), "time value(s) repeat"),
    # flux that cannot be trusted
    "flux_constant": (csv(lambda f, rng: f.assign(FLUX=rng.uniform(1, 1e4))), "flux is constant"),
    "flux_zero": (csv(lambda f, rng: f.assign(FLUX=0.0)), "flux is constant"),
    "flux_negative": (csv(level(lambda f, rng: -f)), "median flux is not positive"),
    "flux_mean_subtracted": (csv(level(MEAN)), NEAR_ZERO),
    "flux_median_subtracted": (csv(level(lambda f, rng: f - f.median())), NEAR_ZERO),
    "flux_zero_centred_relative": (csv(level(lambda f, rng: f / f.mean() - 1)), NEAR_ZERO),
    "flux_zero_centred_ppm": (csv(level(lambda f, rng: 1e6 * (f / f.mean() - 1))), NEAR_ZERO),
    "flux_tiny_offset": (
        csv(level(lambda f, rng: f / f.mean() - 1 + rng.uniform(1e-5, 1e-3))),
        NEAR_ZERO,
    ),
    "flux_tiny_negative_offset": (
        csv(level(lambda f, rng: f / f.mean() - 1 - rng.uniform(1e-5, 1e-3))),
        NEAR_ZERO,
    ),
    # too little data
    "one_row": (text_file("one.csv", "time,flux\n131.0,1000.0\n"), "flux is constant"),
    "mostly_nan_flux": (
        csv(lambda f, rng: f.assign(FLUX=f["FLUX"].where(rng.random(len(f)) < 0.3))),
        "every window misses more than",
    ),
    # FITS that are not Kepler light curves
    "fits_primary_image": (
        lambda folder, rng: _primary_image(folder / "image.fits", rng),
        "not a light-curve table (it holds an image)",
    ),
    "fits_image_extension": (hdus(image(64, 64)), "not a light-curve table (it holds an image)"),
    "fits_pixel_cube": (hdus(image(20, 11, 11)), "not a light-curve table (it holds an image)"),
    "fits_catalogue_table": (
        hdus(table(KEPMAG=series, TEFF=series)),
        "it holds no table with a TIME column",
    ),
    "fits_generic_time_flux": (
        hdus(table(TIME=lambda rng: np.arange(500) * 0.02, FLUX=series)),
        "its table has no PDCSAP_FLUX column",
    ),
    "fits_garbage_bytes": (
        lambda folder, rng: text_file("noise.fits", rng.bytes(3 * FITS_BLOCK))(folder, rng),
        CORRUPT,
    ),
    "fits_empty": (text_file("empty.fits", b""), CORRUPT),
    "fits_cut_in_primary_header": (truncated(1, FITS_BLOCK), CORRUPT),
    "fits_cut_at_block_boundary": (truncated(2 * FITS_BLOCK, 2 * FITS_BLOCK + 1), CORRUPT),
    "fits_cut_in_table_header": (truncated(2 * FITS_BLOCK + 1, 7 * FITS_BLOCK), CORRUPT),
    "fits_cut_in_table_data": (truncated(20 * FITS_BLOCK, 150 * FITS_BLOCK), CORRUPT),
    # Kepler light curves with untrustworthy values
    "kepler_flux_all_nan": (
        kepler_fits(set_column("PDCSAP_FLUX", lambda v, rng: v * np.nan)),
        NO_POINT,
    ),
    "kepler_time_all_nan": (kepler_fits(set_column("TIME", lambda v, rng: v * np.nan)), NO_POINT),
    "kepler_time_fill": (kepler_fits(one_time(-1e30)), NOT_DAYS),
    "kepler_time_huge": (kepler_fits(one_time(1e20)), NOT_DAYS),
    "kepler_flux_mean_subtracted": (
        kepler_fits(set_column("PDCSAP_FLUX", lambda v, rng: v - np.nanmean(v))),
        NEAR_ZERO,
    ),
    "kepler_flux_constant": (
        kepler_fits(set_column("PDCSAP_FLUX", lambda v, rng: v * 0 + 5.0)),
        "flux is constant",
    ),
    "kepler_flux_negative": (
        kepler_fits(set_column("PDCSAP_FLUX", lambda v, rng: -v)),
        "median flux is not positive",
    ),
}


def _primary_image(path: Path, rng: np.random.Generator) -> Path:
    fits.PrimaryHDU(rng.standard_normal((32, 32)).astype(np.float32)).writeto(path)
    return path


def build(name: str, folder: Path) -> Path:
    """Write case ``name`` into its own folder, from its own seeded random numbers."""
    folder.mkdir(parents=True, exist_ok=True)
    index = list(CASES).index(name)
    return CASES[name][0](folder, np.random.default_rng([SEED, index]))


def test_there_are_at_least_50_malformed_inputs() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_input_gives_one_line_and_no_verdict(tmp_path, capsys, model_dir, name) -> None:
    path = build(name, tmp_path / name)
    code, out, err = run(capsys, "predict", path, "--model-dir", model_dir)
    assert code != 0 and out == "", f"{name}: scored or printed: {out[:300]}"
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"error: {path}: ") and CASES[name][1] in err, err


def test_a_batch_of_malformed_inputs_in_a_subprocess(tmp_path, model_dir) -> None:
    """Every bad input gets its own line, the good one is still scored, the exit code is 1."""
    names = list(CASES)[::3]  # a third of the cases keeps the subprocess quick
    bad = [build(name, tmp_path / name) for name in names]
    good = tmp_path / "good.csv"
    light_curve(10.0).to_csv(good, index=False)
    done = subprocess.run(
        [sys.executable, "-m", "transit_classifier", "predict", *map(str, bad), str(good),
         "--json", "--model-dir", str(model_dir)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(lines) == len(bad), done.stderr
    by_input = {line.split(": ")[1]: line for line in lines}  # reading fails before scoring
    for path, name in zip(bad, names, strict=True):
        assert CASES[name][1] in by_input[str(path)]
    assert [r["input"] for r in json.loads(done.stdout)["inputs"]] == [str(good)]


def test_one_malformed_input_through_the_module_entry_point(tmp_path) -> None:
    """``python -m transit_classifier`` with the committed model, from another folder."""
    path = build("iso_dates", tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "transit_classifier", "predict", str(path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"error: {path}: the time column is not numeric (490 value(s) like "
        f"{pd.read_csv(path)['Time'].iloc[0][:30]!r}); write it as time in days (e.g. BJD - "
        "2454833)\n"
    )


def test_a_flux_fill_value_is_masked_with_one_warning_line(tmp_path, capsys, model_dir) -> None:
    """Issue 33: fill values (-1e30) are masked and the rest scored, with a warning line."""
    path = csv(at_random_row("FLUX", -1e30))(tmp_path, np.random.default_rng(SEED))
    code, out, err = run(capsys, "predict", path, "--model-dir", model_dir)
    assert code == 0 and f"{path}: " in out
    assert err.startswith(f"warning: {path}: masked 1 fill value") and err.count("\n") == 1
