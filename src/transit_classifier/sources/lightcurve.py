"""Light curves as observed: one ``Observations`` type and the readers that make it.

Every input (a bundled or downloaded Kepler star, a FITS file through
lightkurve, a CSV, a DataFrame, arrays, a lightkurve object) becomes
:class:`Observations`: finite points sorted by cadence number (else time), in
the source's flux units, each labelled with its *segment* (a Kepler quarter, a
TESS sector, or for input without either a stretch between gaps longer than
:data:`SEGMENT_GAP_DAYS`). User input (CSV, DataFrame, arrays, lightkurve
objects) is made regular first by :mod:`transit_classifier.sources.normalise`.
:mod:`transit_classifier.signal.windowing` turns them into the network's windows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transit_classifier.errors import BadInputFile, InputWarning, UserError

from . import normalise
from .files import check_csv_lines, check_input_file, quiet_lightkurve

# Longer than Kepler's ~1-day monthly downlink gaps and TESS's mid-sector orbit gap (which
# training windows keep as NaN runs inside one quarter), shorter than safe-mode outages.
SEGMENT_GAP_DAYS = normalise.MAX_GAP_DAYS
SEGMENT_META_KEYS = ("QUARTER", "SECTOR", "CAMPAIGN")
SEGMENT_COLUMNS = ("quarter", "sector")
CSV_READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError)


def import_lightkurve() -> Any:
    """Import lightkurve without its unrelated warning about the optional ``oktopus`` package."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*oktopus.*")
        import lightkurve

    return lightkurve


def read_lightkurve_file(path: str | Path, what: str, tess: bool = False) -> Any:
    """Read a light-curve FITS with the default quality mask, or one line saying what is wrong.

    The default mask is the one the Kepler training data were read with, so
    every mission's files drop flagged cadences the same way. ``what`` names the
    file kind in the message ("FITS light curve", "TESS FITS light curve").
    ``tess`` reads with lightkurve's TESS reader directly: its file-type
    detection needs the optional CREATOR keyword, which valid files may lack.

    Raises
    ------
    BadInputFile
        If the file is not a readable regular file, is truncated or corrupt, or
        every cadence is quality-flagged.
    """
    from astropy.utils.exceptions import AstropyUserWarning

    check_input_file(Path(path))
    lk = import_lightkurve()
    read = lk.TessLightCurve.read if tess else lk.read
    options = {"format": "tess"} if tess else {}
    try:
        with warnings.catch_warnings(action="ignore", category=AstropyUserWarning):
            with quiet_lightkurve():
                curve = read(str(path), quality_bitmask="default", **options)
                # Empty: was it the quality mask (not rows without a time, which are dropped too)?
                flagged = len(curve) == 0 and len(read(str(path), quality_bitmask=0, **options))
    except Exception as exc:  # lightkurve wraps every reader failure in LightkurveError
        raise BadInputFile(
            f"{path}: cannot read this {what} ({type(exc).__name__}); the file is "
            "truncated or corrupt: delete it and download it again"
        ) from None
    if flagged:
        raise BadInputFile(
            f"{path}: every cadence is quality-flagged (lightkurve's default mask removes them "
            "all); nothing in this file can be scored: pass another quarter or sector"
        )
    return curve


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Observations:
    """One target's observed points, finite and sorted, in the source's flux units.

    ``segment`` labels each point's quarter, sector or gap-free stretch;
    ``cadenceno`` holds mission cadence numbers, or is None (grid by time).
    ``flux_err`` holds the flux errors where the input gave them (NaN where a
    point's error is unknown), else None; the window network never sees them.
    """

    name: str
    source: str  # "kepler" | "fits" | "kic" | "csv" | "dataframe" | "arrays" | "lightkurve"
    time: np.ndarray  # float64 (n,) days
    flux: np.ndarray  # float64 (n,)
    segment: np.ndarray  # int64 (n,)
    cadenceno: np.ndarray | None  # int64 (n,)
    flux_err: np.ndarray | None = None  # float64 (n,)


def split_at_gaps(time: np.ndarray, max_gap_days: float = SEGMENT_GAP_DAYS) -> np.ndarray:
    """Segment label 0, 1, ... of each (time-sorted) point, a new one after every long gap."""
    return np.concatenate([[0], np.cumsum(np.diff(time) > max_gap_days)]).astype(np.int64)


def make_observations(
    name: str,
    source: str,
    time: np.ndarray,
    flux: np.ndarray,
    segment: np.ndarray | None = None,
    cadenceno: np.ndarray | None = None,
    flux_err: np.ndarray | None = None,
) -> Observations:
    """Drop non-finite points and sort by cadence number (else time).

    Without ``segment`` the curve is split at gaps longer than
    :data:`SEGMENT_GAP_DAYS`; time in seconds (or similar) is refused first, as
    every gap would split it into single points.
    """
    time, flux = np.asarray(time, np.float64), np.asarray(flux, np.float64)
    keep = np.isfinite(time) & np.isfinite(flux)
    key = time if cadenceno is None else np.asarray(cadenceno, np.int64)
    order = np.flatnonzero(keep)[np.argsort(key[keep], kind="stable")]
    time = time[order]
    if segment is None:
        normalise.check_time_step(name, time, max_step_days=SEGMENT_GAP_DAYS)
        segment = split_at_gaps(time)
    else:
        segment = np.asarray(segment, np.int64)[order]
    cadence = None if cadenceno is None else np.asarray(cadenceno, np.int64)[order]
    error = None if flux_err is None else np.asarray(flux_err, np.float64)[order]
    return Observations(name, source, time, flux[order], segment, cadence, error)


def _user_observations(
    name: str,
    source: str,
    time: np.ndarray,
    flux: np.ndarray,
    segment: np.ndarray | None = None,
    cadenceno: np.ndarray | None = None,
    flux_err: np.ndarray | None = None,
) -> Observations:
    """:func:`make_observations` after checking that the user's times are in days."""
    usable = np.isfinite(time) & np.isfinite(flux)
    normalise.check_time_step(name, np.sort(np.asarray(time, np.float64)[usable]))
    return make_observations(name, source, time, flux, segment, cadenceno, flux_err)


def lk_column(lc: Any, name: str) -> np.ndarray:
    """A light-curve column as a plain float array with masked entries as NaN."""
    values = lc[name]
    if hasattr(values, "filled"):
        values = values.filled(np.nan)
    return np.asarray(getattr(values, "value", values), dtype=np.float64)


def _part_segments(lc: Any, index: int, in_collection: bool) -> np.ndarray:
    """Segment labels of one lightkurve light curve's points.

    In a collection each part is one quarter/sector (its meta says which). A
    single curve may be stitched from several, and ``stitch`` keeps only one
    part's meta, so it needs a quarter/sector column or is split at gaps.
    """
    if in_collection:
        label = next((lc.meta[k] for k in SEGMENT_META_KEYS if k in lc.meta), index)
        return np.full(len(lc), int(label), dtype=np.int64)
    column = next((c for c in SEGMENT_COLUMNS if c in lc.colnames), None)
    if column is not None:
        return lk_column(lc, column).astype(np.int64)
    return split_at_gaps(np.asarray(lc.time.value, np.float64))


def _part_flux(lc: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One light curve's flux and errors (NaN if not given), fill values masked, mags converted."""
    flux = lk_column(lc, "flux")
    error = lk_column(lc, "flux_err") if "flux_err" in lc.colnames else np.full(flux.size, np.nan)
    flux, error = normalise.flux_values(name, flux, error, getattr(lc.flux, "unit", None))
    return flux, error


def _cadence_numbers(parts: list[Any], name: str, usable: np.ndarray) -> np.ndarray | None:
    """Every part's cadence numbers, or None (grid by time) if one lacks them for a usable point.

    A LightCurve built by hand may carry NaN cadence numbers; gridding by time
    is then exact enough, where a NaN cast to an integer would corrupt the grid.
    """
    if not all("cadenceno" in lc.colnames for lc in parts):
        return None
    cadenceno = np.concatenate([lk_column(lc, "cadenceno") for lc in parts])
    missing = usable & ~np.isfinite(cadenceno)
    if missing.any():
        warnings.warn(
            f"{name}: {int(missing.sum())} point(s) have no cadence number (NaN cadenceno); "
            "the light curve is gridded by time instead",
            InputWarning,
            stacklevel=3,
        )
        return None
    return np.where(np.isfinite(cadenceno), cadenceno, 0)


def from_lightkurve(data: Any, name: str | None = None, source: str = "lightkurve") -> Observations:
    """Observations of a ``lightkurve.LightCurve`` or ``LightCurveCollection``.

    Uses the ``flux`` column (PDCSAP for Kepler/TESS products) and its
    ``flux_err``, with fill values masked and magnitudes (``u.mag``) converted
    to relative flux (:mod:`~transit_classifier.sources.normalise`), and the
    ``cadenceno`` column when every part has one for every usable point.
    ``source`` says where the object came from (``"fits"`` when a file was read
    through lightkurve).

    Raises
    ------
    UserError
        If the collection is empty, or its flux or times cannot be trusted.

    Examples
    --------
    >>> import lightkurve as lk, numpy as np
    >>> t = np.arange(0, 30, 0.0204)
    >>> q3 = lk.LightCurve(time=t, flux=np.full(t.size, 1000.0), meta={"QUARTER": 3})
    >>> q4 = lk.LightCurve(time=t + 31, flux=np.full(t.size, 2500.0), meta={"QUARTER": 4})
    >>> obs = from_lightkurve(lk.LightCurveCollection([q3, q4]), "my star")
    >>> np.unique(obs.segment).tolist()
    [3, 4]
    """
    in_collection = not hasattr(data, "time")
    parts = list(data) if in_collection else [data]
    if not parts:
        raise UserError("empty LightCurveCollection; pass at least one light curve")
    label = name or str(parts[0].meta.get("OBJECT") or parts[0].meta.get("LABEL") or "light curve")
    time = np.concatenate([np.asarray(lc.time.value, np.float64) for lc in parts])
    fluxes = [_part_flux(lc, label) for lc in parts]
    flux, error = (np.concatenate([part[i] for part in fluxes]) for i in (0, 1))
    segment = np.concatenate([_part_segments(lc, i, in_collection) for i, lc in enumerate(parts)])
    cadenceno = _cadence_numbers(parts, label, np.isfinite(time) & np.isfinite(flux))
    flux_err = error if np.isfinite(error).any() else None
    return _user_observations(label, source, time, flux, segment, cadenceno, flux_err)


def from_frame(
    frame: pd.DataFrame, name: str = "input", source: str = "dataframe", what: str = "DataFrame"
) -> Observations:
    """Observations of a table with ``time`` (days) and ``flux`` columns, in any case.

    ``time`` may be the index (as ``LightCurve.to_pandas()`` leaves it); a
    ``mag`` column instead of ``flux`` is converted from magnitudes; optional
    ``flux_err`` and ``quarter`` columns are kept (each quarter a segment; without
    one the curve is split at gaps longer than :data:`SEGMENT_GAP_DAYS`).
    ``what`` names the table in messages ("CSV", "DataFrame").

    Raises
    ------
    UserError
        If a column is missing, ambiguous or not numeric, or the values cannot be trusted.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"TIME": [1.0, 1.02, 1.04], "Flux": [5.1e3, 5.0e3, 5.2e3]})
    >>> from_frame(frame, "my star").flux.tolist()
    [5100.0, 5000.0, 5200.0]
    """
    columns = normalise.frame_columns(name, frame, what)
    flux, flux_err = normalise.flux_values(
        name, columns.flux, columns.flux_err, None, columns.magnitudes
    )
    return _user_observations(name, source, columns.time, flux, columns.segment, None, flux_err)


def from_arrays(time: Any, flux: Any, name: str = "input") -> Observations:
    """Observations of time (days) and flux arrays: lists, NumPy, pandas or astropy Quantities.

    Time quantities are converted to days and flux in ``u.mag`` to relative flux.

    Raises
    ------
    UserError
        If the arrays are not numbers, not 1-D, of different lengths, or cannot be trusted.
    """
    time, _ = normalise.array_values(name, time, "time")
    flux, unit = normalise.array_values(name, flux, "flux")
    normalise.check_shapes(name, time, flux)
    flux, _ = normalise.flux_values(name, flux, None, unit)
    return _user_observations(name, "arrays", time, flux)


def read_csv(path: str | Path) -> Observations:
    """Read a CSV with ``time`` (days) and ``flux`` columns (any case), ``#`` comments allowed.

    Columns are read as in :func:`from_frame` (``quarter``, ``flux_err``, ``mag``);
    other columns are ignored. A line over
    :data:`~transit_classifier.sources.files.MAX_CSV_LINE_BYTES` is refused
    before pandas parses anything (it would take minutes).

    Raises
    ------
    BadInputFile
        If the file is not a readable CSV (missing, a device, cut gzip, absurd lines).
    UserError
        If it lacks ``time`` or ``flux``, or its values cannot be trusted.
    """
    name = str(path)
    check_input_file(Path(path))
    check_csv_lines(Path(path))
    try:
        frame = pd.read_csv(path, comment="#")
    except CSV_READ_ERRORS as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInputFile(f"{name}: not a readable CSV ({reason}); save it as plain CSV") from None
    return from_frame(frame, name, "csv", "CSV")
