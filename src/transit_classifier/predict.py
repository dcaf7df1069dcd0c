"""Score anyone's light curves with the trained classifier (`transit-classifier predict`).

A light curve of any length and cadence (Kepler FITS, CSV, or a KIC id fetched
from MAST) is averaged onto the model's cadence grid, cut into windows of the
model's length that overlap by half (the last one flush with the end, so the
tail is scored too), preprocessed by the very function training used, and
scored. A window is flagged as a transit when its probability reaches the
threshold the ``evaluate`` stage chose on validation data.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import UserError
from .io import save_figure
from .kepler import StarLightCurve, read_fits
from .preprocess import preprocess

FITS_SUFFIXES = (".fits", ".fits.gz", ".fit", ".fit.gz")
CSV_SUFFIXES = (".csv", ".csv.gz")
KIC_PATTERN = re.compile(r"^\s*(?:kic[\s_-]*)?(\d{1,9})\s*$", re.IGNORECASE)
# A window with more missing cadences than this is reported, not scored: the
# network would mostly be looking at interpolated filler.
MAX_MISSING_FRACTION = 0.5
# Guards against a time column in seconds or JD-scale typos exploding the grid.
MAX_GRID_CADENCES = 5_000_000
PREPROCESS_KEYS = ("detrend_window_cadences", "clip_low_sigma", "clip_high_sigma")
TRANSIT, NO_TRANSIT, TOO_SPARSE = "transit", "no transit", "too sparse"
DEFAULT_CACHE_DIR = "data/mast_cache"  # the fetch_kepler stage's cache (kepler.cache_dir)
KIC_ATTEMPTS, KIC_BACKOFF_SECONDS = 2, 1.0  # one quick retry for a flaky connection
REFETCH = "pass a downloaded Kepler FITS file or a CSV with time and flux columns instead"


@dataclass(frozen=True)
class LightCurve:
    """One input as read: time in days and flux relative to its (per-quarter) median."""

    name: str  # what the user passed
    source: str  # "fits" | "csv" | "kic"
    time: np.ndarray  # float64 (n,), days
    flux: np.ndarray  # float64 (n,), relative flux ~1, NaN where missing


@dataclass(frozen=True)
class ModelSetup:
    """What scoring needs from the trained model and the evaluate stage."""

    window_length: int
    cadence_minutes: float
    preprocessing: dict[str, Any]  # detrend_window_cadences, clip_low_sigma, clip_high_sigma
    threshold: float

    @property
    def cadence_days(self) -> float:
        return self.cadence_minutes / 1440.0

    @property
    def window_days(self) -> float:
        return self.window_length * self.cadence_days


@dataclass(frozen=True)
class Prediction:
    """Per-window scores of one light curve on the model's cadence grid."""

    lightcurve: LightCurve
    grid_time: np.ndarray  # (m,) days, bin centres
    grid_flux: np.ndarray  # (m,) mean relative flux per bin, NaN for empty bins
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


def _check_flux(name: str, flux: np.ndarray) -> None:
    """Reject light curves that hold no information before any work is spent on them."""
    finite = flux[np.isfinite(flux)]
    if finite.size == 0:
        raise UserError(f"{name}: flux is all NaN or empty; supply a light curve with real flux")
    if finite.min() == finite.max():
        raise UserError(f"{name}: flux is constant; supply a light curve with real flux")


def normalise_segments(name: str, flux: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Divide each segment (Kepler quarter) by its median flux.

    Quarters sit on different detectors with different flux levels; dividing
    each by its own median removes the steps, as the training data were made.

    Raises
    ------
    UserError
        If a segment's median is not positive (zero-centred or ppm-offset flux).
    """
    median = pd.Series(flux).groupby(segment, dropna=False).transform("median").to_numpy()
    if np.any(np.isfinite(median) & (median <= 0)):
        raise UserError(
            f"{name}: median flux is not positive; predict needs flux in e-/s or relative flux "
            "near 1 (add 1 to zero-centred relative flux, or 1e6 to flux in ppm)"
        )
    return flux / median


def _sorted_curve(name: str, source: str, time: np.ndarray, flux: np.ndarray) -> LightCurve:
    """Drop rows without a time, sort by time, and refuse curves that carry no signal."""
    keep = np.isfinite(time)
    order = np.argsort(time[keep], kind="stable")
    curve = LightCurve(name, source, time[keep][order], flux[keep][order])
    _check_flux(name, curve.flux)
    return curve


def read_csv_lightcurve(path: Path) -> LightCurve:
    """Read a CSV with ``time`` (days) and ``flux`` columns (any case).

    ``flux_err`` and other columns are ignored; a ``quarter`` column, if
    present, gets each quarter normalised by its own median.
    """
    name = str(path)
    try:
        frame = pd.read_csv(path, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{name}: not a readable CSV ({reason}); save it as plain CSV") from None
    columns = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in ("time", "flux") if c not in columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise UserError(
            f"{name}: missing column(s) {', '.join(missing)} (found: {found}); the CSV needs "
            "'time' (days) and 'flux' columns"
        )
    time = pd.to_numeric(frame[columns["time"]], errors="coerce").to_numpy(np.float64)
    flux = pd.to_numeric(frame[columns["flux"]], errors="coerce").to_numpy(np.float64)
    segment = frame[columns["quarter"]].to_numpy() if "quarter" in columns else np.zeros(len(flux))
    return _sorted_curve(name, "csv", time, normalise_segments(name, flux, segment))


def _star_curve(name: str, source: str, star: StarLightCurve) -> LightCurve:
    """A :class:`LightCurve` from the kepler module's per-star arrays, each quarter normalised."""
    flux = normalise_segments(name, star.flux.astype(np.float64), star.quarter)
    return _sorted_curve(name, source, star.time, flux)


def read_fits_lightcurve(path: Path) -> LightCurve:
    """Read a Kepler light-curve FITS file: default quality mask, PDCSAP flux."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lightkurve's notes would break the one-line contract
        star = read_fits([path])
    return _star_curve(str(path), "fits", star)


def download_kic(kic: int, cache_dir: str | Path = DEFAULT_CACHE_DIR) -> LightCurve:
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
    return _star_curve(f"KIC {kic}", "kic", star)


def load_input(text: str, cache_dir: str | Path = DEFAULT_CACHE_DIR) -> LightCurve:
    """Read one command-line input: an existing FITS/CSV file, else a KIC id.

    Raises
    ------
    UserError
        For a missing file, an unknown extension, or any unreadable content.
    """
    path = Path(text)
    if path.is_file():
        suffix = _suffix(path)
        if suffix in FITS_SUFFIXES:
            return read_fits_lightcurve(path)
        if suffix in CSV_SUFFIXES:
            return read_csv_lightcurve(path)
        raise UserError(
            f"{text}: unknown file type '{suffix or path.name}'; pass a Kepler .fits light curve "
            "or a .csv with time and flux columns"
        )
    kic = parse_kic(text)
    if kic is not None:
        return download_kic(kic, cache_dir)
    if path.is_dir():
        raise UserError(f"{text}: is a directory; pass light-curve files")
    raise UserError(f"{text}: no such file, and not a KIC id; check the path (or use 'KIC 123')")


# ---------------------------------------------------------------------- resampling


def bin_to_cadence(
    time: np.ndarray, flux: np.ndarray, cadence_days: float, name: str = "light curve"
) -> tuple[np.ndarray, np.ndarray]:
    """Average the points falling in each cadence bin of a regular grid.

    The grid starts at the first finite point and bins are centred on grid
    times, so data already at the model's cadence map one point per bin. Empty
    bins stay NaN: they are gaps, which ``preprocess`` fills the training way.

    Returns
    -------
    grid_time, grid_flux
        Bin centres (days) and mean flux per bin.
    """
    ok = np.isfinite(time) & np.isfinite(flux)
    t, f = time[ok], flux[ok]
    start = t.min()
    index = np.rint((t - start) / cadence_days).astype(np.int64)
    n_bins = int(index.max()) + 1
    if n_bins > MAX_GRID_CADENCES:
        raise UserError(
            f"{name}: spans {t.max() - start:.0f} days, too long for a "
            f"{cadence_days * 1440:.1f}-min grid; is the time column in days?"
        )
    counts = np.bincount(index, minlength=n_bins)
    sums = np.bincount(index, weights=f, minlength=n_bins)
    grid_flux = np.full(n_bins, np.nan)
    np.divide(sums, counts, out=grid_flux, where=counts > 0)
    return start + np.arange(n_bins) * cadence_days, grid_flux


def window_starts(n_cadences: int, length: int) -> np.ndarray:
    """Start indices of windows overlapping by half; the last ends on the last cadence."""
    stride = max(length // 2, 1)
    starts = np.arange(0, n_cadences - length + 1, stride)
    if starts[-1] + length < n_cadences:
        starts = np.append(starts, n_cadences - length)
    return starts


def cut_windows(
    curve: LightCurve, setup: ModelSetup
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bin ``curve`` onto the model grid and slice it into windows.

    Returns
    -------
    grid_time, grid_flux, starts, windows
        ``starts`` are grid indices; ``windows`` is ``(w, window_length)``
        relative flux with NaN gaps.

    Raises
    ------
    UserError
        If the binned light curve is shorter than one window.
    """
    grid_time, grid_flux = bin_to_cadence(curve.time, curve.flux, setup.cadence_days, curve.name)
    n = len(grid_flux)
    if n < setup.window_length:
        raise UserError(
            f"{curve.name}: too short: {n * setup.cadence_days:.1f} days at the model's "
            f"{setup.cadence_minutes:.2f}-min cadence, but one window needs "
            f"{setup.window_days:.1f} days ({setup.window_length} cadences); supply a longer "
            "light curve"
        )
    starts = window_starts(n, setup.window_length)
    windows = grid_flux[starts[:, None] + np.arange(setup.window_length)]
    return grid_time, grid_flux, starts, windows


def scorable(windows: np.ndarray) -> np.ndarray:
    """Windows with enough finite, non-constant cadences for a meaningful score."""
    finite = np.isfinite(windows)
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        spread = np.nanmax(windows, axis=1) - np.nanmin(windows, axis=1)
    return (finite.mean(axis=1) >= 1 - MAX_MISSING_FRACTION) & (spread > 0)


# ------------------------------------------------------------------------- scoring


def load_threshold(metrics_path: str | Path) -> float:
    """The decision threshold the evaluate stage picked on validation data.

    Raises
    ------
    UserError
        If the metrics file or its ``threshold`` key is missing or invalid.
    """
    path = Path(metrics_path)
    fix = "run `dvc repro evaluate` (or pass --threshold)"
    if not path.is_file():
        raise UserError(f"{path}: not found; {fix}")
    try:
        value = json.loads(path.read_text()).get("threshold")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise UserError(f"{path}: not a JSON object; {fix}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise UserError(f"{path}: no 'threshold' in [0, 1] (got {value!r}); {fix}")
    return float(value)


def model_setup(info: dict[str, Any], threshold: float) -> ModelSetup:
    """Collect what scoring needs from the model's ``model.json`` info."""
    try:
        settings = {key: info["preprocess"][key] for key in PREPROCESS_KEYS}
        return ModelSetup(
            int(info["input_length"]), float(info["cadence_minutes"]), settings, float(threshold)
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(
            f"model.json: missing or bad key {exc}; rerun `dvc repro train` to rebuild the model"
        ) from None


def predict_lightcurve(curve: LightCurve, model: Any, setup: ModelSetup) -> Prediction:
    """Score every window of one light curve.

    Raises
    ------
    UserError
        If the light curve is shorter than one window or no window has enough data.
    """
    from .model import predict_proba

    grid_time, grid_flux, starts, windows = cut_windows(curve, setup)
    usable = scorable(windows)
    if not usable.any():
        raise UserError(
            f"{curve.name}: every window misses more than {MAX_MISSING_FRACTION:.0%} of its "
            "cadences; supply a light curve with fewer gaps"
        )
    probability = np.full(len(windows), np.nan)
    probability[usable] = predict_proba(model, preprocess(windows[usable], setup.preprocessing))
    verdict = np.where(probability >= setup.threshold, TRANSIT, NO_TRANSIT)
    verdict[~usable] = TOO_SPARSE
    return Prediction(
        lightcurve=curve,
        grid_time=grid_time,
        grid_flux=grid_flux,
        t_start=grid_time[starts],
        t_end=grid_time[starts + setup.window_length - 1],
        missing_fraction=1 - np.isfinite(windows).mean(axis=1),
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
        "window_length": setup.window_length,
        "cadence_minutes": setup.cadence_minutes,
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
