"""Score anyone's light curves with the trained classifier (`transit-classifier predict`).

A light curve of any length and cadence (Kepler or TESS SPOC FITS, CSV, a KIC
id fetched from MAST, or a lightkurve object) goes through the same light-curve
path as the training windows (:mod:`transit_classifier.lightcurve`): per-segment
normalisation, the model's cadence grid, windows inside one quarter/segment,
and the model's own missing-cadence limit. Windows overlap by half (the last
one flush with the segment's end, so the tail is scored too), are preprocessed
by the very function training used, and scored. A window is flagged as a
transit when its probability reaches the threshold the ``evaluate`` stage chose
on validation data.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import lightcurve
from .errors import UserError
from .io import save_figure
from .kepler import read_fits
from .lightcurve import Observations, WindowRules, Windows
from .preprocess import preprocess
from .robust import mad_sigma
from .tess import read_tess_fits, telescope

FITS_SUFFIXES = (".fits", ".fits.gz", ".fit", ".fit.gz")
CSV_SUFFIXES = (".csv", ".csv.gz")
KIC_PATTERN = re.compile(r"^\s*(?:kic[\s_-]*)?(\d{1,9})\s*$", re.IGNORECASE)
TRANSIT, NO_TRANSIT, TOO_SPARSE = "transit", "no transit", "too sparse"
DEFAULT_CACHE_DIR = "data/mast_cache"  # the fetch_kepler stage's cache (kepler.cache_dir)
KIC_ATTEMPTS, KIC_BACKOFF_SECONDS = 2, 1.0  # one quick retry for a flaky connection
# A star's photometry scatters by far less than 5% of its level; a light curve whose level is
# near zero for its scatter was mean-subtracted, and its "relative flux" would be meaningless.
MAX_RELATIVE_SCATTER = 0.05
REFETCH = "pass a downloaded Kepler FITS file or a CSV with time and flux columns instead"
FITS_KINDS = "a Kepler (kplr*_llc.fits) or TESS (tess*_lc.fits) light-curve FITS"
# Beyond any JD, MJD, BKJD or BTJD date (27,000 years): a fill value (-1e30) or a unit error.
MAX_ABS_TIME_DAYS = 1e7
# No star is this bright in any unit: flux this large is a fill value (1e20, -1e30, 9.9e37).
MAX_ABS_FLUX = 1e20


@dataclass(frozen=True)
class ModelSetup:
    """What scoring needs from the trained model and the evaluate stage."""

    rules: WindowRules  # the training windows' length, cadence and missing-cadence limit
    preprocessing: dict[str, Any]  # passed through to preprocess() as stored
    threshold: float

    @property
    def window_days(self) -> float:
        return self.rules.length * self.rules.cadence_days


@dataclass(frozen=True)
class Prediction:
    """Per-window scores of one light curve on the model's cadence grid."""

    lightcurve: Observations
    grid_time: np.ndarray  # (m,) days, every segment's cadence grid end to end
    grid_flux: np.ndarray  # (m,) relative flux on that grid, NaN for missing cadences
    t_start: np.ndarray  # (w,) days, first cadence of each window
    t_end: np.ndarray  # (w,) days, last cadence of each window
    missing_fraction: np.ndarray  # (w,)
    probability: np.ndarray  # (w,) NaN for windows too sparse to score
    verdict: np.ndarray  # (w,) TRANSIT | NO_TRANSIT | TOO_SPARSE

    @property
    def flagged(self) -> np.ndarray:
        return self.verdict == TRANSIT

    def flagged_cadences(self) -> np.ndarray:
        """Boolean mask over the grid: cadences inside at least one flagged window."""
        first = np.searchsorted(self.grid_time, self.t_start[self.flagged])
        last = np.searchsorted(self.grid_time, self.t_end[self.flagged])
        edges = np.zeros(len(self.grid_time) + 1, dtype=np.int64)
        np.add.at(edges, first, 1)
        np.add.at(edges, last + 1, -1)
        return np.cumsum(edges[:-1]) > 0

    def summary(self, threshold: float) -> str:
        """One line: how many windows are flagged and where the strongest one is."""
        scored = np.isfinite(self.probability)
        n_sparse = int((~scored).sum())
        sparse = f", {n_sparse} too sparse to score" if n_sparse else ""
        head = (
            f"{self.lightcurve.name}: {int(self.flagged.sum())} of {len(self.verdict)} windows "
            f"flagged as transit{sparse}"
        )
        best = int(np.nanargmax(self.probability))
        return (
            f"{head}; max probability {self.probability[best]:.3f} "
            f"({self.t_start[best]:.2f}-{self.t_end[best]:.2f} d), threshold {threshold:.3f}"
        )


# --------------------------------------------------------------------------- readers


def parse_kic(text: str) -> int | None:
    """The KIC id in ``"KIC 11442793"``, ``"kic11442793"`` or ``"11442793"``, else None."""
    match = KIC_PATTERN.match(text)
    return int(match.group(1)) if match else None


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in FITS_SUFFIXES + CSV_SUFFIXES if name.endswith(s)), path.suffix.lower())


def check_curve(curve: Observations) -> Observations:
    """Reject a light curve whose times or flux cannot be trusted, before any work is spent.

    Raises
    ------
    UserError
        One line naming the problem and the fix (see :func:`check_time`, :func:`check_flux`).
    """
    return check_flux(check_time(curve))


def check_time(curve: Observations) -> Observations:
    """Refuse fill values or absurd times, and times that repeat.

    One time of -1e30 among thousands of good ones would otherwise be dropped
    silently (or blow up the cadence grid), and repeated times mean two light
    curves were pasted into one: neither can be scored honestly.
    """
    absurd = np.abs(curve.time) > MAX_ABS_TIME_DAYS
    if absurd.any():
        fix = (
            "convert the time column to days (seconds? a wrong offset?)"
            if absurd.all()
            else "fill values? set them to NaN or drop those rows"
        )
        raise UserError(
            f"{curve.name}: {int(absurd.sum())} time value(s) like {curve.time[absurd][0]:.3g} are "
            f"not dates in days; {fix}"
        )
    ordered = np.sort(curve.time)
    repeated = ordered[1:][np.diff(ordered) == 0]
    if repeated.size:
        raise UserError(
            f"{curve.name}: {repeated.size} time value(s) repeat (first {repeated[0]:.5f} d); "
            "keep one point per time (two light curves in one file?)"
        )
    return curve


def check_flux(curve: Observations) -> Observations:
    """Reject light curves that hold no information before any work is spent on them."""
    if curve.flux.size == 0:
        raise UserError(
            f"{curve.name}: no point has both a finite time and a finite flux (flux is all NaN "
            "or empty); supply a light curve with real time and flux values"
        )
    fill = np.abs(curve.flux) >= MAX_ABS_FLUX
    if fill.any():
        raise UserError(
            f"{curve.name}: {int(fill.sum())} flux value(s) like {curve.flux[fill][0]:.3g} are "
            "fill values, not flux; set them to NaN"
        )
    if curve.flux.min() == curve.flux.max():
        raise UserError(f"{curve.name}: flux is constant; supply a light curve with real flux")
    for segment in np.unique(curve.segment):  # quarters sit at their own flux levels
        flux = curve.flux[curve.segment == segment]
        level = np.median(flux)
        scatter = mad_sigma(flux)
        if not abs(level) * MAX_RELATIVE_SCATTER > scatter:
            raise UserError(
                f"{curve.name}: flux level {level:.3g} is near zero for its scatter {scatter:.3g} "
                "(mean-subtracted or zero-centred?); supply flux in e-/s or relative flux near 1"
            )
    return curve


def not_a_lightcurve(path: Path) -> str | None:
    """Why a whole, readable FITS file is not a Kepler or TESS light curve, or None.

    An image, or a table without TIME or PDCSAP_FLUX, is not damaged, so it
    must not be reported as a truncated download. A file astropy cannot parse,
    or one with fewer extensions than its header promises (``NEXTEND``), gets
    None: :func:`~transit_classifier.kepler.read_fits` calls it truncated or corrupt.
    """
    from astropy.io import fits

    try:
        with warnings.catch_warnings(action="ignore"), fits.open(path, memmap=False) as hdus:
            promised = int(hdus[0].header.get("NEXTEND", 0))
            found = len(hdus) - 1
            tables = [hdu.columns.names for hdu in hdus if isinstance(hdu, fits.BinTableHDU)]
            images = any(hdu.is_image and bool(hdu.header.get("NAXIS")) for hdu in hdus)
    except (OSError, ValueError, TypeError, IndexError, KeyError):
        return None
    columns = [set(map(str.upper, names)) for names in tables]
    if found < promised or any({"TIME", "PDCSAP_FLUX"} <= names for names in columns):
        return None
    if any("TIME" in names for names in columns):
        return "not a Kepler or TESS light curve (its table has no PDCSAP_FLUX column)"
    what = "an image" if images and not tables else "no table with a TIME column"
    return f"not a light-curve table (it holds {what})"


def read_fits_lightcurve(path: Path) -> Observations:
    """Read a Kepler or TESS SPOC light-curve FITS file: default quality mask, PDCSAP flux.

    The TELESCOP keyword picks the reader: Kepler files keep their cadence
    numbers (the training path, exact), TESS sectors are binned by time
    (:mod:`transit_classifier.tess`).

    Raises
    ------
    UserError
        If the file holds an image or another table (not a light curve), or is
        truncated or corrupt.
    """
    reason = not_a_lightcurve(path)
    if reason is not None:
        raise UserError(f"{path}: {reason}; pass {FITS_KINDS} or a CSV with time and flux columns")
    if telescope(path) == "TESS":
        return read_tess_fits(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lightkurve's notes would break the one-line contract
        star = read_fits([path])
    return lightcurve.from_star(star, str(path), "fits")


def download_kic(kic: int, cache_dir: str | Path = DEFAULT_CACHE_DIR) -> Observations:
    """Download every Kepler long-cadence quarter of a star from MAST (``mast.fetch_star``).

    Raises
    ------
    UserError
        If MAST cannot be reached, or holds no long-cadence data for the star.
    """
    from . import mast

    retry = mast.Retry(KIC_ATTEMPTS, KIC_BACKOFF_SECONDS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            star = mast.fetch_star(kic, cache_dir, retry)
        except mast.MastUnreachable:
            raise UserError(f"KIC {kic}: cannot reach MAST to download it; {REFETCH}") from None
    return lightcurve.from_star(star, f"KIC {kic}", "kic")


def load_input(text: str, cache_dir: str | Path = DEFAULT_CACHE_DIR) -> Observations:
    """Read one command-line input: an existing FITS/CSV file, else a KIC id.

    Raises
    ------
    UserError
        For a missing file, an unknown extension, or a light curve without information.
    """
    return check_curve(_read_input(text, cache_dir))


def _read_input(text: str, cache_dir: str | Path) -> Observations:
    path = Path(text)
    if path.is_file():
        suffix = _suffix(path)
        if suffix in FITS_SUFFIXES:
            return read_fits_lightcurve(path)
        if suffix in CSV_SUFFIXES:
            return lightcurve.read_csv(path)
        raise UserError(
            f"{text}: unknown file type '{suffix or path.name}'; pass a Kepler or TESS .fits "
            "light curve or a .csv with time and flux columns"
        )
    kic = parse_kic(text)
    if kic is not None:
        return download_kic(kic, cache_dir)
    if path.is_dir():
        raise UserError(f"{text}: is a directory; pass light-curve files")
    raise UserError(f"{text}: no such file, and not a KIC id; check the path (or use 'KIC 123')")


def stitch(curves: Sequence[Observations]) -> Observations:
    """Several inputs holding parts (quarters, sectors) of one star, as one light curve.

    Every input keeps its own segments, so each is still normalised by its own
    median and windows never cross from one part into another: the result goes
    through the same light-curve path as a single input. Kepler cadence numbers
    are kept when every part has them.

    Raises
    ------
    UserError
        If there is nothing to stitch, or the parts overlap in time (repeated times).
    """
    if not curves:
        raise UserError("nothing to stitch; pass the light-curve files of one star")
    segment, offset = [], 0
    for curve in curves:  # each part's segments get labels of their own
        labels, index = np.unique(curve.segment, return_inverse=True)
        segment.append(index + offset)
        offset += labels.size
    numbered = all(c.cadenceno is not None for c in curves)
    cadenceno = np.concatenate([c.cadenceno for c in curves]) if numbered else None
    sources = {c.source for c in curves}
    more = f" + {len(curves) - 1} more (stitched)" if len(curves) > 1 else ""
    stitched = lightcurve.make_observations(
        curves[0].name + more,
        sources.pop() if len(sources) == 1 else "stitched",
        np.concatenate([c.time for c in curves]),
        np.concatenate([c.flux for c in curves]),
        np.concatenate(segment),
        cadenceno,
    )
    return check_curve(stitched)


# ------------------------------------------------------------------------- windows


def cut_windows(
    curve: Observations, rules: WindowRules
) -> tuple[list[lightcurve.Segment], Windows]:
    """Segments of ``curve`` on the model grid (in time order) and their windows.

    Windows overlap by half and the last of each segment ends on its last
    cadence; segments shorter than one window hold none.

    Raises
    ------
    UserError
        If no segment is as long as one window.
    """
    segments = lightcurve.to_segments(curve, rules.cadence_days)
    segments.sort(key=lambda seg: seg.time[0])
    windows = lightcurve.cut_windows(segments, rules.length, rules.inference_stride, True)
    if not len(windows):
        longest = max((len(seg.flux) for seg in segments), default=0) * rules.cadence_days
        raise UserError(
            f"{curve.name}: too short: {longest:.1f} days in its longest segment at the model's "
            f"{rules.cadence_minutes:.2f}-min cadence, but one window needs "
            f"{rules.length * rules.cadence_days:.1f} days ({rules.length} cadences); supply a "
            "longer light curve"
        )
    return segments, windows


def scorable(windows: Windows, rules: WindowRules) -> np.ndarray:
    """Windows within the model's missing-cadence limit whose flux is not constant."""
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        spread = np.nanmax(windows.flux, axis=1) - np.nanmin(windows.flux, axis=1)
    return ~lightcurve.too_sparse(windows, rules.max_missing_fraction) & (spread > 0)


# ------------------------------------------------------------------------- scoring


def model_setup(info: dict[str, Any], threshold: float) -> ModelSetup:
    """Collect what scoring needs from the model's ``model.json`` info.

    Raises
    ------
    UserError
        If the window rules cannot be honoured or the preprocessing settings are missing.
    """
    rules = WindowRules.from_info(info)
    settings = info.get("preprocess")
    if not isinstance(settings, dict):
        raise UserError(f"model.json: no 'preprocess' settings; {lightcurve.RETRAIN}")
    return ModelSetup(rules, settings, float(threshold))


def predict_lightcurve(curve: Observations, model: Any, setup: ModelSetup) -> Prediction:
    """Score every window of one light curve.

    Raises
    ------
    UserError
        If the light curve is shorter than one window or no window has enough data.

    Examples
    --------
    >>> from transit_classifier.model import load_classifier
    >>> model, info = load_classifier("models")  # doctest: +SKIP
    >>> curve = lightcurve.read_csv("my_star.csv")  # doctest: +SKIP
    >>> predict_lightcurve(curve, model, model_setup(info, 0.5)).summary(0.5)  # doctest: +SKIP
    'my_star.csv: 1 of 9 windows flagged as transit; max probability 0.981 (...)'
    """
    from .model import predict_proba

    segments, windows = cut_windows(curve, setup.rules)
    usable = scorable(windows, setup.rules)
    if not usable.any():
        raise UserError(
            f"{curve.name}: every window misses more than {setup.rules.max_missing_fraction:.0%} "
            "of its cadences; supply a light curve with fewer gaps"
        )
    probability = np.full(len(windows), np.nan)
    X = preprocess(windows.flux[usable], setup.preprocessing)
    probability[usable] = predict_proba(model, X)
    verdict = np.where(probability >= setup.threshold, TRANSIT, NO_TRANSIT)
    verdict[~usable] = TOO_SPARSE
    grid_time, grid_flux = lightcurve.concatenate(segments)
    return Prediction(
        lightcurve=curve,
        grid_time=grid_time,
        grid_flux=grid_flux,
        t_start=windows.time[:, 0],
        t_end=windows.time[:, -1],
        missing_fraction=windows.missing_fraction,
        probability=probability,
        verdict=verdict,
    )


# -------------------------------------------------------------------------- output


def format_table(predictions: list[Prediction], threshold: float) -> str:
    """An aligned text table of every window, then one summary line per input."""
    header = ("file", "start [d]", "end [d]", "probability", "verdict")
    rows = [
        (p.lightcurve.name, f"{s:.3f}", f"{e:.3f}", "-" if np.isnan(q) else f"{q:.4f}", v)
        for p in predictions
        for s, e, q, v in zip(p.t_start, p.t_end, p.probability, p.verdict, strict=True)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    align = ("<", ">", ">", ">", "<")

    def line(row: tuple[str, ...]) -> str:
        cells = (f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths, strict=True))
        return "  ".join(cells).rstrip()

    table = [line(header), line(tuple("-" * w for w in widths)), *map(line, rows)]
    return "\n".join([*table, "", *(p.summary(threshold) for p in predictions)])


def _number(value: float, digits: int = 6) -> float | None:
    return round(float(value), digits) if np.isfinite(value) else None


def to_records(predictions: list[Prediction], setup: ModelSetup) -> dict[str, Any]:
    """The machine-readable result behind ``--json``; NaN becomes null."""
    inputs = []
    for p in predictions:
        scored = np.isfinite(p.probability)
        inputs.append(
            {
                "input": p.lightcurve.name,
                "source": p.lightcurve.source,
                "n_points": int(np.isfinite(p.lightcurve.flux).sum()),
                "time_start": _number(p.grid_time[0]),
                "time_end": _number(p.grid_time[-1]),
                "n_windows": len(p.verdict),
                "n_scored": int(scored.sum()),
                "n_flagged": int(p.flagged.sum()),
                "max_probability": _number(np.nanmax(p.probability)),
                "windows": [
                    {
                        "start": _number(s),
                        "end": _number(e),
                        "probability": _number(q),
                        "missing_fraction": _number(m, 4),
                        "verdict": str(v),
                    }
                    for s, e, q, m, v in zip(
                        p.t_start, p.t_end, p.probability, p.missing_fraction, p.verdict,
                        strict=True,
                    )
                ],
            }
        )
    return {
        "threshold": _number(setup.threshold),
        "window_length": setup.rules.length,
        "cadence_minutes": setup.rules.cadence_minutes,
        "max_missing_fraction": setup.rules.max_missing_fraction,
        "window_days": _number(setup.window_days),
        "inputs": inputs,
    }


def plot_predictions(predictions: list[Prediction], path: str | Path, threshold: float) -> None:
    """Save each light curve (binned to the model cadence) with flagged windows shaded."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 2.6 * len(predictions)), layout="constrained")
    axes = fig.subplots(len(predictions), 1, squeeze=False)[:, 0]
    for ax, p in zip(axes, predictions, strict=True):
        ax.plot(p.grid_time, p.grid_flux, ".", ms=1.5, color="0.25", rasterized=True)
        ax.fill_between(
            p.grid_time,
            0,
            1,
            where=p.flagged_cadences(),
            transform=ax.get_xaxis_transform(),
            color="tab:red",
            alpha=0.2,
            lw=0,
            label="flagged window",
        )
        n = int(p.flagged.sum())
        if n:
            ax.legend(loc="upper right", fontsize=8)
        ax.set_title(
            f"{p.lightcurve.name}: {n} of {len(p.verdict)} windows flagged "
            f"(threshold {threshold:.3f})",
            fontsize=9,
            loc="left",
        )
        ax.set_ylabel("relative flux")
    axes[-1].set_xlabel("time [days]")
    save_figure(fig, path)
