"""Issue 33: odd or bad user inputs, each a named reproduction, normalised or refused in one line.

API inputs (DataFrames, arrays, lightkurve objects) and files (CSV, Kepler and
TESS FITS) go through one normalisation (:mod:`transit_classifier.sources.normalise`)
and one reader error type (:class:`~transit_classifier.errors.BadInputFile`).
Each case names its input and the words its one-line message must hold; the
invariants are checked on every case: no traceback, one line, no verdict for
input that cannot be trusted. Fill values and magnitudes that can be repaired
are, with a warning, and a transit behind them is still flagged by the
committed model. A seeded, bounded batch of random CSV and array defects
closes the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from support import FIXTURES, light_curve, run, write_csv, write_tess_fits

import transit_classifier as tc
from transit_classifier.errors import BadInputFile, InputWarning, UserError
from transit_classifier.sources import inputs, lightcurve, normalise

KEPLER_FITS = FIXTURES / "kplr011442793-2010174085026_llc.fits"  # Kepler-90, Q5
SEED = 33
Builder = Callable[[Path], Path]


@pytest.fixture(scope="module")
def tiny(model_dir: Path) -> tc.TransitClassifier:
    """The tiny untrained model: refusals come before any scoring, so verdicts never matter."""
    return tc.load_model(model_dir)


@pytest.fixture(scope="module")
def committed() -> tc.TransitClassifier:
    """The released model, for the cases where a transit behind a repair must still be found."""
    return tc.load_model()


def one_line(message: str, *words: str) -> None:
    assert "\n" not in message and "Traceback" not in message, message
    for word in words:
        assert word in message, message


def lk_curve(**columns) -> object:
    with warnings.catch_warnings(action="ignore"):
        return lightcurve.import_lightkurve().LightCurve(**columns)


# ---------------------------------------------------------------- 1. API inputs refused

FRAME = light_curve(10.0)
T, F = FRAME["Time"].to_numpy(), FRAME["FLUX"].to_numpy()
MAG = 12.0 - 2.5 * np.log10(F / 5000.0)  # the same star in magnitudes (12 mag)

API_REFUSALS: dict[str, tuple[Callable[[], tuple], tuple[str, ...]]] = {
    "dataframe_with_only_flux": (
        lambda: (FRAME[["FLUX"]],),
        ("missing column(s) time (found: FLUX)", "'time' (days) and 'flux' columns"),
    ),
    "dataframe_with_flux_and_FLUX": (
        lambda: (FRAME.assign(flux=F),),
        ("columns 'FLUX' and 'flux' are both present", "ambiguous", "rename one"),
    ),
    "arrays_of_different_lengths": (
        lambda: (T, F[:-1]),
        ("time has 490 values but flux has 489", "same length"),
    ),
    "flux_2d_time_1d": (lambda: (T, np.column_stack([F, F])), ("flux (490, 2)", "1-D")),
    "time_2d": (lambda: (np.column_stack([T, T]), F), ("time has shape (490, 2)",)),
    "flux_as_text": (lambda: (T, np.full(T.size, "bright")), ("flux is not an array of numbers",)),
    "time_in_metres": (lambda: (T * u.m, F), ("time has unit m", "days")),
    "arrays_in_magnitudes": (lambda: (T, MAG), ("flux looks like magnitudes", "u.mag")),
    "dataframe_in_magnitudes": (
        lambda: (FRAME.assign(FLUX=MAG),),
        ("flux looks like magnitudes", "'mag' column"),
    ),
    "unitless_lightcurve_in_magnitudes": (
        lambda: (lk_curve(time=T, flux=MAG),),
        ("flux looks like magnitudes",),
    ),
    "arrays_time_in_hours": (lambda: (T * 24, F), ("is the time column in hours", "days")),
    "a_dict": (lambda: ({"time": T, "flux": F},), ("cannot score a dict", "DataFrame")),
}


@pytest.mark.parametrize("name", list(API_REFUSALS))
def test_api_input_is_refused_in_one_line(tiny: tc.TransitClassifier, name: str) -> None:
    build, words = API_REFUSALS[name]
    with pytest.raises(UserError) as err:
        tiny.score(*build())
    one_line(str(err.value), *words)


# -------------------------------------------------------------- 1. API inputs accepted


def test_dataframe_scores_like_its_csv(tmp_path: Path, tiny: tc.TransitClassifier) -> None:
    from_csv = tiny.score(write_csv(tmp_path, FRAME)).drop(columns="input")
    from_frame = tiny.score(FRAME).drop(columns="input")
    pd.testing.assert_frame_equal(from_frame, from_csv)


def test_lightcurve_to_pandas_keeps_time_in_the_index_and_is_accepted() -> None:
    frame = lk_curve(time=T, flux=F, flux_err=np.full(T.size, 0.5)).to_pandas()
    assert "time" not in frame.columns and frame.index.name == "time"
    curve = inputs.read_object(frame)
    assert np.array_equal(curve.time, T) and np.array_equal(curve.flux, F)
    assert np.array_equal(curve.flux_err, np.full(T.size, 0.5))


def test_clean_arrays_are_read_exactly_as_before() -> None:
    """The normalisation touches nothing on clean input: same arrays as the old direct path."""
    before = lightcurve.make_observations("input", "arrays", T, F)
    after = inputs.read_object(T, F)
    for field in ("time", "flux", "segment"):
        assert getattr(after, field).tobytes() == getattr(before, field).tobytes()


def test_time_quantity_in_hours_is_converted_to_days() -> None:
    curve = inputs.read_object((T - T[0]) * 24 * u.hour, F)
    assert np.allclose(curve.time, T - T[0], rtol=0, atol=1e-9)


def test_nan_cadence_number_grids_by_time(tiny: tc.TransitClassifier) -> None:
    cadenceno = np.arange(T.size, dtype=float)
    cadenceno[7] = np.nan
    curve = lk_curve(time=T, flux=F, cadenceno=cadenceno)
    with pytest.warns(InputWarning, match="1 point.* no cadence number .* gridded by time"):
        table = tiny.score(curve)
    assert len(table) > 0 and table["probability"].notna().all()


# ------------------------------------------------------------------- 2. magnitudes


def test_magnitude_lightcurve_is_converted_and_its_transit_flagged(committed) -> None:
    """A 0.3% transit on a 12-mag star given in u.mag (45 days: the model's window is 20 d)."""
    rng = np.random.default_rng(SEED)
    time_ = 130 + np.arange(0, 45, 29.4244 / 1440)
    relative = 1 + 1e-4 * rng.standard_normal(time_.size)
    relative[np.abs(time_ - 135) < 0.125] *= 1 - 0.003
    mag = 12 - 2.5 * np.log10(relative)
    curve = lk_curve(time=time_, flux=mag * u.mag, flux_err=np.full(time_.size, 1e-4) * u.mag)
    with pytest.warns(InputWarning, match="flux is in magnitudes; converted to relative flux"):
        obs = inputs.read_object(curve)
        table = committed.score(curve)
    assert np.allclose(obs.flux, 10 ** (-0.4 * (mag - np.median(mag))), rtol=1e-12)
    assert np.allclose(obs.flux_err, obs.flux * 0.4 * np.log(10) * 1e-4)
    holds = (table["start"] <= 135) & (table["end"] >= 135)
    assert (table.loc[holds, "verdict"] == "transit").any()


def test_mag_column_is_converted_with_a_warning(tmp_path: Path) -> None:
    path = write_csv(tmp_path, pd.DataFrame({"time": T, "mag": MAG}))
    with pytest.warns(InputWarning, match="flux is in magnitudes"):
        curve = lightcurve.read_csv(path)
    assert np.allclose(curve.flux, F / np.median(F), rtol=1e-9)


def test_faint_star_flux_is_not_taken_for_magnitudes() -> None:
    """15 e-/s carries > 0.5% photon noise per cadence: nothing like a magnitude series."""
    rng = np.random.default_rng(SEED)
    curve = inputs.read_object(T, 15 * (1 + 0.008 * rng.standard_normal(T.size)))
    assert curve.flux.size == T.size


# -------------------------------------------------------------------- 3. fill values

FILLS = {"minus_9999": -9999.0, "zero": 0.0, "1e30": 1e30, "minus_1e30": -1e30,
         "float32_1e30": float(np.float32(1e30)), "inf": np.inf, "minus_inf": -np.inf}  # fmt: skip


@pytest.mark.parametrize("name", list(FILLS))
def test_fill_values_are_masked_with_a_counting_warning(tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng([SEED, len(name)])
    rows = np.sort(rng.choice(len(FRAME), len(FRAME) // 100, replace=False))  # 1% of cadences
    frame = FRAME.copy()
    frame.loc[rows, "FLUX"] = FILLS[name]
    with pytest.warns(InputWarning, match=f"masked {rows.size} fill value") as caught:
        curve = inputs.load_input(str(write_csv(tmp_path, frame)))
    one_line(str(caught[0].message), f"{rows.size} x", f"the other {len(FRAME) - rows.size}")
    clean = inputs.load_input(str(write_csv(tmp_path, FRAME, "clean.csv")))
    keep = np.setdiff1d(np.arange(len(FRAME)), rows)
    assert np.array_equal(curve.time, clean.time[keep])
    assert np.array_equal(curve.flux, clean.flux[keep])
    assert np.array_equal(curve.flux_err, np.full(keep.size, 0.5))


def test_sentinels_in_one_percent_of_cadences_do_not_hide_a_transit(committed) -> None:
    frame = light_curve(45.0, transit_at=5.0)
    rows = np.random.default_rng(SEED).choice(len(frame), len(frame) // 100, replace=False)
    frame.loc[rows, "FLUX"] = -9999.0
    with pytest.warns(InputWarning, match=f"masked {rows.size} fill value"):
        table = committed.score(frame)
    holds = (table["start"] <= 135) & (table["end"] >= 135)
    assert (table.loc[holds, "verdict"] == "transit").any()


def test_zero_inside_zero_centred_flux_is_data_not_a_fill_value() -> None:
    flux = F[:-1] - np.median(F[:-1])  # an odd count (489): one value is exactly 0
    assert (flux == 0).sum() == 1 and normalise.mask_fill_values("x", flux, None)[0] is flux
    with warnings.catch_warnings(action="error", category=InputWarning):  # nothing masked
        with pytest.raises(UserError, match="near zero for its scatter"):
            inputs.read_object(T[:-1], flux)


def test_flux_made_only_of_fill_values_is_refused_as_constant() -> None:
    with pytest.raises(UserError, match="flux is constant"):
        inputs.read_object(T, np.full(T.size, -9999.0))


# ------------------------------------------------------------------------- 4. files


def fits_edit(change: Callable[[fits.HDUList], fits.HDUList | None]) -> Builder:
    def build(folder: Path) -> Path:
        path = folder / "kplr_edited_llc.fits"
        with fits.open(KEPLER_FITS) as hdus:
            (change(hdus) or hdus).writeto(path)
        return path

    return build


def set_header(key: str, value: object) -> Callable:
    return lambda hdus: hdus[0].header.update({key: value})


def without_cadenceno(hdus: fits.HDUList) -> fits.HDUList:
    columns = [c for c in hdus[1].columns if c.name != "CADENCENO"]
    return fits.HDUList([hdus[0], fits.BinTableHDU.from_columns(columns, header=hdus[1].header)])


def all_flagged(hdus: fits.HDUList) -> None:
    hdus[1].data["SAP_QUALITY"][:] = 1  # attitude tweak: in lightkurve's default mask


def unparsable_card(folder: Path) -> Path:
    """Bytes of the TTYPE1 card overwritten: astropy raises VerifyError on reading it."""
    data = bytearray(KEPLER_FITS.read_bytes())
    at = data.index(b"TTYPE1  = ") + 10
    data[at : at + 4] = b"\xff\xfe'\x00"
    (path := folder / "kplr_card_llc.fits").write_bytes(bytes(data))
    return path


def truncated_gzip(folder: Path) -> Path:
    whole = write_csv(folder, FRAME, "whole.csv.gz").read_bytes()
    (path := folder / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    return path


def fifo(folder: Path) -> Path:
    os.mkfifo(path := folder / "pipe.csv")
    return path


def one_long_line(folder: Path) -> Path:
    """8 MB of numbers on one line after the header: pandas took minutes on it."""
    values = np.random.default_rng(SEED).random(1_000_000)
    (path := folder / "oneline.csv").write_text(
        "time,flux\n" + ",".join(f"{v:.5f}" for v in values)
    )
    return path


def tess_sector(value: object) -> Builder:
    def build(folder: Path) -> Path:
        path = write_tess_fits(folder / "tess_lc.fits")
        with fits.open(path, mode="update") as hdus:
            hdus[0].header["SECTOR"] = value
        return path

    return build


def csv_of(frame: pd.DataFrame) -> Builder:
    return lambda folder: write_csv(folder, frame)


CORRUPT = "truncated or corrupt"
FILE_CASES: dict[str, tuple[Builder, str]] = {
    "truncated_csv_gz": (truncated_gzip, "the gzip data is cut short or corrupt"),
    "unparsable_header_card": (unparsable_card, CORRUPT),
    "quarter_is_text": (fits_edit(set_header("QUARTER", "Q5")), "QUARTER = 'Q5' is not an integer"),
    "keplerid_is_text": (fits_edit(set_header("KEPLERID", "abc")), "KEPLERID = 'abc' is not an"),
    "no_cadenceno_column": (fits_edit(without_cadenceno), "no CADENCENO column"),
    "every_cadence_flagged": (fits_edit(all_flagged), "every cadence is quality-flagged"),
    "tess_sector_is_text": (tess_sector("S14"), "SECTOR = 'S14' is not an integer"),
    "dev_null": (lambda folder: Path(os.devnull), "not a regular file"),
    "fifo": (fifo, "not a regular file (a device, pipe or socket)"),
    "time_in_hours": (csv_of(FRAME.assign(Time=T * 24)), "is the time column in hours"),
    "one_8mb_line": (one_long_line, "a line of over 10000 characters"),
    "flux_and_FLUX_columns": (csv_of(FRAME.assign(flux=F)), "'FLUX' and 'flux' are both present"),
    "csv_in_magnitudes": (csv_of(FRAME.assign(FLUX=MAG)), "flux looks like magnitudes"),
}


@pytest.mark.parametrize("name", list(FILE_CASES))
def test_bad_file_gives_one_line_and_no_verdict(tmp_path, capsys, model_dir, name) -> None:
    path = FILE_CASES[name][0](tmp_path)
    start = time.monotonic()
    code, out, err = run(capsys, "predict", path, "--model-dir", model_dir)
    assert time.monotonic() - start < 60  # bounded work: the 8 MB line used to take minutes
    assert (code, out) == (1, ""), err
    assert err.startswith(f"error: {path}: ") and err.count("\n") == 1
    one_line(err.rstrip("\n"), FILE_CASES[name][1])


def test_every_file_refusal_is_a_bad_input_file(tmp_path: Path) -> None:
    """One reader error type: scan and predict can name each as a bad input."""
    for name in ("truncated_csv_gz", "unparsable_header_card", "quarter_is_text", "fifo"):
        folder = tmp_path / name
        folder.mkdir()
        with pytest.raises(BadInputFile):
            inputs.load_input(str(FILE_CASES[name][0](folder)))


def test_unreadable_fits_says_permission_denied_not_truncated() -> None:
    """Root reads any file, so as root the read is tried in a child that became 'nobody'."""
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        path = Path(folder) / "kplr_llc.fits"
        path.write_bytes(KEPLER_FITS.read_bytes())
        path.chmod(0)
        message = _load_as_nobody(path) if os.geteuid() == 0 else _load_message(path)
    one_line(message, "BadInputFile", "permission denied", "chmod u+r")
    assert CORRUPT not in message


def _load_message(path: Path) -> str:
    try:
        inputs.load_input(str(path))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "loaded"


def _load_as_nobody(path: Path) -> str:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child imports nothing new: the permission check comes first
        os.close(read)
        os.setgid(65534)
        os.setuid(65534)
        os.write(write, _load_message(path).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    return message


def test_tess_file_without_creator_is_valid_and_read(tmp_path: Path) -> None:
    whole = write_tess_fits(tmp_path / "tess_a_lc.fits", depth=0.01)
    bare = write_tess_fits(tmp_path / "tess_b_lc.fits", depth=0.01)
    with fits.open(bare, mode="update") as hdus:
        del hdus[0].header["CREATOR"]
    a, b = inputs.load_input(str(whole)), inputs.load_input(str(bare))
    assert np.array_equal(a.time, b.time) and np.array_equal(a.flux, b.flux)


def test_folder_named_like_a_kic_id_is_ambiguous(tmp_path, monkeypatch, capsys, model_dir):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "12345").mkdir()
    code, out, err = run(capsys, "predict", "12345", "--model-dir", model_dir)
    assert (code, out) == (1, "")
    one_line(err.rstrip("\n"), "error: 12345: is a folder here", "'KIC 12345'")


def test_truncated_gzip_beside_a_good_input(tmp_path, capsys, model_dir) -> None:
    good, cut = write_csv(tmp_path, FRAME, "good.csv"), truncated_gzip(tmp_path)
    code, out, err = run(capsys, "predict", good, cut, "--model-dir", model_dir)
    assert code == 1 and str(good) in out and err.startswith(f"error: {cut}: ")
    assert err.count("\n") == 1


def test_bad_files_in_a_subprocess_print_only_their_lines(tmp_path, model_dir) -> None:
    """The real stderr: no stray line from lightkurve's or astropy's loggers."""
    names = ["unparsable_header_card", "every_cadence_flagged", "quarter_is_text", "fifo"]
    bad = []
    for name in names:
        (folder := tmp_path / name).mkdir()
        bad.append(FILE_CASES[name][0](folder))
    done = subprocess.run(
        [sys.executable, "-m", "transit_classifier", "predict", *map(str, bad),
         str(write_csv(tmp_path, FRAME)), "--model-dir", str(model_dir)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == len(bad), done.stderr
    for path, line, name in zip(bad, lines, names, strict=True):
        assert line.startswith(f"error: {path}: ") and FILE_CASES[name][1] in line


# ------------------------------------------------------------ 5. plot under a file


@pytest.mark.parametrize("method", ["score", "vet"])
def test_plot_under_a_regular_file_is_one_line(tmp_path, model_dir, method) -> None:
    model = tc.load_model(model_dir)
    model.setup = replace(model.setup, threshold=0.0)  # every window flagged: a plot is due
    (blocker := tmp_path / "notes.txt").write_text("a file, not a folder")
    target = blocker / "plots" / "vet.png"
    with pytest.raises(UserError) as err:
        if method == "score":
            model.score(FRAME, plot=target)
        else:
            model.vet(FRAME, target)
    one_line(str(err.value), f"{target}: cannot write the vetting plot", "is a file, not a folder")
    assert blocker.read_text() == "a file, not a folder"


# --------------------------------------------------------- 6. seeded random defects
# (flux_err, kept from every source, is tested in test_lightcurve, test_kepler and test_tess)


def _random_frame(rng: np.random.Generator) -> tuple[pd.DataFrame, set[str]]:
    """A good star with 1-3 random defects; returns it and the defects' names."""
    frame = light_curve(10.0, seed=int(rng.integers(1 << 16)))
    defects = set(rng.choice(["fills", "nan", "case", "junk", "shuffle", "twice", "mag", "drop"],
                             size=int(rng.integers(1, 4)), replace=False))  # fmt: skip
    if "drop" in defects:
        frame = frame.drop(columns="FLUX")
    if "fills" in defects and "FLUX" in frame:
        rows = rng.choice(len(frame), int(rng.integers(1, 25)), replace=False)
        frame.loc[rows, "FLUX"] = rng.choice([-9999.0, 0.0, 1e30, -1e30, np.inf], rows.size)
    if "nan" in defects and "FLUX" in frame:
        frame.loc[rng.choice(len(frame), 10, replace=False), "FLUX"] = np.nan
    if "case" in defects:
        frame = frame.rename(columns={"Time": str(rng.choice(["time", "TIME", " tImE "]))})
    if "junk" in defects:
        frame["note"] = "x"
    if "shuffle" in defects:
        frame = frame.sample(frac=1.0, random_state=int(rng.integers(1 << 16)))
    if "twice" in defects and "FLUX" in frame:
        frame["flux"] = frame["FLUX"]
    if "mag" in defects and "FLUX" in frame:
        frame["FLUX"] = 12 - 2.5 * np.log10(frame["FLUX"].abs() / 5000 + 1e-3)
    return frame, defects


@pytest.mark.parametrize("case", range(40))
def test_random_csv_defects_are_repaired_or_refused(tmp_path: Path, case: int) -> None:
    frame, defects = _random_frame(np.random.default_rng([SEED, case]))
    path = write_csv(tmp_path, frame)
    try:
        with warnings.catch_warnings(action="ignore", category=InputWarning):
            curve = inputs.load_input(str(path))
    except UserError as exc:
        one_line(str(exc))
        assert str(exc).startswith(f"{path}: ")
        assert defects & {"twice", "mag", "drop"}, f"{defects} refused: {exc}"
        return
    assert not defects & {"twice", "mag", "drop"}, f"{defects} accepted"
    assert np.isfinite(curve.flux).all() and np.all(np.diff(curve.time) > 0)
    assert not np.isin(curve.flux, normalise.FILL_VALUES).any()
    read = pd.read_csv(path)  # the values as the CSV holds them
    original = read.set_index(read.columns[0])["FLUX"].sort_index()
    expected = original[np.isfinite(original) & ~original.isin(normalise.FILL_VALUES)]
    assert np.array_equal(curve.time, expected.index.to_numpy(float))
    assert np.array_equal(curve.flux, expected.to_numpy())


@pytest.mark.parametrize("case", range(30))
def test_random_array_shapes_are_scored_or_refused(case: int) -> None:
    rng = np.random.default_rng([SEED, 1000 + case])
    n_time = int(rng.choice([490, 489, 491]))
    width = int(rng.choice([0, 0, 1, 2]))  # 0: 1-D flux
    flux = F if width == 0 else np.column_stack([F] * width)
    if width == 0 and n_time == 490:
        assert inputs.read_object(T, flux).flux.size == 490
        return
    with pytest.raises(UserError) as err:
        inputs.read_object(np.resize(T, n_time), flux)
    one_line(str(err.value), "input: time has")
