"""Light curves as observed: one ``Observations`` type and the readers that make it.

Every input (a bundled or downloaded Kepler star, a FITS file through
lightkurve, a CSV, a lightkurve object) becomes :class:`Observations`: finite
points sorted by cadence number (else time), in the source's flux units, each
labelled with its *segment* (a Kepler quarter, a TESS sector, or for input
without either a stretch between gaps longer than :data:`SEGMENT_GAP_DAYS`).
:mod:`transit_classifier.signal.windowing` turns them into the network's windows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transit_classifier.errors import UserError

# Longer than Kepler's ~1-day monthly downlink gaps and TESS's mid-sector orbit gap (which
# training windows keep as NaN runs inside one quarter), shorter than safe-mode outages.
SEGMENT_GAP_DAYS = 2.0
SEGMENT_META_KEYS = ("QUARTER", "SECTOR", "CAMPAIGN")
SEGMENT_COLUMNS = ("quarter", "sector")


def import_lightkurve() -> Any:
    """Import lightkurve without its unrelated warning about the optional ``oktopus`` package."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*oktopus.*")
        import lightkurve

    return lightkurve


def read_lightkurve_file(path: str | Path, what: str) -> Any:
    """``lightkurve.read`` with the default quality mask, or one line saying the file is bad.

    The default mask is the one the Kepler training data were read with, so
    every mission's files drop flagged cadences the same way. ``what`` names the
    file kind in the message ("FITS light curve", "TESS FITS light curve").
    """
    from astropy.utils.exceptions import AstropyUserWarning

    lk = import_lightkurve()
    try:
        with warnings.catch_warnings(action="ignore", category=AstropyUserWarning):
            return lk.read(str(path), quality_bitmask="default")
    except Exception as exc:  # lightkurve wraps every reader failure in LightkurveError
        raise UserError(
            f"{path}: cannot read this {what} ({type(exc).__name__}); the file is "
            "truncated or corrupt: delete it and download it again"
        ) from None


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Observations:
    """One target's observed points, finite and sorted, in the source's flux units.

    ``segment`` labels each point's quarter, sector or gap-free stretch;
    ``cadenceno`` holds mission cadence numbers, or is None (grid by time).
    """

    name: str
    source: str  # "kepler" | "fits" | "kic" | "csv" | "lightkurve"
    time: np.ndarray  # float64 (n,) days
    flux: np.ndarray  # float64 (n,)
    segment: np.ndarray  # int64 (n,)
    cadenceno: np.ndarray | None  # int64 (n,)


def split_at_gaps(time: np.ndarray, max_gap_days: float = SEGMENT_GAP_DAYS) -> np.ndarray:
    """Segment label 0, 1, ... of each (time-sorted) point, a new one after every long gap."""
    return np.concatenate([[0], np.cumsum(np.diff(time) > max_gap_days)]).astype(np.int64)


def _check_time_unit(name: str, time: np.ndarray) -> None:
    """Refuse time in seconds (or similar): every gap would split the curve into single points."""
    step = np.median(np.diff(time)) if len(time) > 1 else 0.0
    if step > SEGMENT_GAP_DAYS:
        raise UserError(
            f"{name}: points are {step:.0f} days apart (median), longer than any light-curve "
            "gap; is the time column in days?"
        )


def make_observations(
    name: str,
    source: str,
    time: np.ndarray,
    flux: np.ndarray,
    segment: np.ndarray | None = None,
    cadenceno: np.ndarray | None = None,
) -> Observations:
    """Drop non-finite points and sort by cadence number (else time).

    Without ``segment`` the curve is split at gaps longer than :data:`SEGMENT_GAP_DAYS`.
    """
    time, flux = np.asarray(time, np.float64), np.asarray(flux, np.float64)
    keep = np.isfinite(time) & np.isfinite(flux)
    key = time if cadenceno is None else np.asarray(cadenceno, np.int64)
    order = np.flatnonzero(keep)[np.argsort(key[keep], kind="stable")]
    time = time[order]
    if segment is None:
        _check_time_unit(name, time)
        segment = split_at_gaps(time)
    else:
        segment = np.asarray(segment, np.int64)[order]
    cadence = None if cadenceno is None else np.asarray(cadenceno, np.int64)[order]
    return Observations(name, source, time, flux[order], segment, cadence)


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


def from_lightkurve(data: Any, name: str | None = None, source: str = "lightkurve") -> Observations:
    """Observations of a ``lightkurve.LightCurve`` or ``LightCurveCollection``.

    Uses the ``flux`` column as is (PDCSAP for Kepler/TESS products) and the
    ``cadenceno`` column when every part has one. ``source`` says where the
    object came from (``"fits"`` when a file was read through lightkurve).

    Raises
    ------
    UserError
        If the collection is empty.

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
    time = np.concatenate([np.asarray(lc.time.value, np.float64) for lc in parts])
    flux = np.concatenate([lk_column(lc, "flux") for lc in parts])
    segment = np.concatenate([_part_segments(lc, i, in_collection) for i, lc in enumerate(parts)])
    cadenceno = None
    if all("cadenceno" in lc.colnames for lc in parts):
        cadenceno = np.concatenate([lk_column(lc, "cadenceno") for lc in parts])
    label = name or str(parts[0].meta.get("OBJECT") or parts[0].meta.get("LABEL") or "light curve")
    return make_observations(label, source, time, flux, segment, cadenceno)


def read_csv(path: str | Path) -> Observations:
    """Read a CSV with ``time`` (days) and ``flux`` columns (any case), ``#`` comments allowed.

    An optional ``quarter`` column makes each quarter a segment; without one the
    curve is split at gaps longer than :data:`SEGMENT_GAP_DAYS`. Other columns
    (``flux_err``, ...) are ignored.

    Raises
    ------
    UserError
        If the file is not a readable CSV or lacks ``time`` or ``flux``.
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
    time, flux = (_numeric_column(name, frame[columns[key]], key) for key in ("time", "flux"))
    quarter = columns.get("quarter")
    segment = None if quarter is None else pd.factorize(frame[quarter], sort=True)[0]
    return make_observations(name, "csv", time, flux, segment)


def _numeric_column(name: str, column: pd.Series, key: str) -> np.ndarray:
    """A CSV column as floats (blanks and ``nan`` become NaN); text such as ISO dates is refused.

    Coercing dates to NaN silently would leave a curve with no usable point and
    a message about flux, far from the real problem.
    """
    if pd.api.types.is_bool_dtype(column):  # pandas reads True/False as booleans, not text
        column = column.astype(str)
    values = pd.to_numeric(column, errors="coerce").to_numpy(np.float64)
    text = column[np.isnan(values) & column.notna().to_numpy()].astype(str).str.strip()
    text = text[~text.str.lower().isin(("", "nan", "null", "none", "na", "n/a"))]
    if len(text):
        unit = "time in days (e.g. BJD - 2454833)" if key == "time" else "numbers"
        raise UserError(
            f"{name}: the {key} column is not numeric ({len(text)} value(s) like "
            f"{text.iloc[0][:30]!r}); write it as {unit}"
        )
    return values
