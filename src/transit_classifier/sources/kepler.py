"""Real Kepler light curves as per-star arrays, whatever their source.

Both data sources, the bundled offline copy (:mod:`transit_classifier.sources.bundle`)
and MAST downloads (:mod:`transit_classifier.sources.mast`), end up as the same per-star
arrays (:class:`StarLightCurve`): BKJD time, PDCSAP flux, quarter and Kepler
cadence number, after lightkurve's default quality mask with NaN cadences
removed. ``predict`` reads a user's FITS files through the same path, so a
light curve is gridded and normalised identically in training and inference.
Labelled windows are cut from these arrays in
:mod:`transit_classifier.learn.kepler_windows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from transit_classifier.errors import BadInputFile, UserError

from .lightcurve import (
    Observations,
    import_lightkurve,
    lk_column,
    make_observations,
    read_lightkurve_file,
)

TICKS_PER_DAY = 10_000_000  # time resolution 1e-7 day (8.64 ms): the archive CSVs' precision
UNKNOWN_QUARTER = -1  # relative-time stars: segment k (split at gaps) is stored as quarter -k


@dataclass(frozen=True)
class StarLightCurve:
    """One star's observed cadences, sorted by cadence number.

    ``time`` is BKJD rounded to 1e-7 day (for relative-time stars, days on the
    source's own scale and ``quarter`` = -1, -2, ... per gap-free segment);
    ``flux`` is in the source's units (e-/s for PDCSAP) and is normalised per
    quarter later, so every source goes through the same normalisation.
    ``flux_err`` is PDCSAP_FLUX_ERR where a FITS file gave it (None for the
    bundle, which stores no errors).
    """

    kepid: int
    time: np.ndarray  # float64
    flux: np.ndarray  # float32
    quarter: np.ndarray  # int8
    cadenceno: np.ndarray  # int32
    flux_err: np.ndarray | None = None  # float32

    @property
    def quarters(self) -> list[int]:
        """Quarters present, ascending (negative for relative-time segments)."""
        return sorted(int(q) for q in np.unique(self.quarter))

    def select_quarters(self, quarters: Iterable[int]) -> StarLightCurve:
        """The cadences of ``quarters`` only, e.g. to compare a FITS read with the bundle."""
        keep = np.isin(self.quarter, list(quarters))
        return StarLightCurve(
            self.kepid,
            self.time[keep],
            self.flux[keep],
            self.quarter[keep],
            self.cadenceno[keep],
            None if self.flux_err is None else self.flux_err[keep],
        )


def make_star(
    kepid: int,
    time: np.ndarray,
    flux: np.ndarray,
    quarter: np.ndarray,
    cadenceno: np.ndarray,
    flux_err: np.ndarray | None = None,
) -> StarLightCurve:
    """Build a :class:`StarLightCurve`: drop non-finite rows, fix dtypes, sort by cadence.

    Time is rounded to 1e-7 day here, for every source, so a FITS file read
    directly and the same file stored in the bundle give identical arrays.
    Errors are kept row for row with the flux (NaN where unknown).

    Raises
    ------
    UserError
        If two rows share a cadence number (the same quarter given twice).
    """
    time = np.round(np.asarray(time, dtype=np.float64) * TICKS_PER_DAY) / TICKS_PER_DAY
    flux = np.asarray(flux, dtype=np.float64)
    keep = np.isfinite(time) & np.isfinite(flux)
    order = np.argsort(np.asarray(cadenceno)[keep], kind="stable")
    star = StarLightCurve(
        int(kepid),
        time[keep][order],
        flux[keep][order].astype(np.float32),
        np.asarray(quarter)[keep][order].astype(np.int8),
        np.asarray(cadenceno)[keep][order].astype(np.int32),
        None if flux_err is None else np.asarray(flux_err)[keep][order].astype(np.float32),
    )
    if np.any(np.diff(star.cadenceno) == 0):
        raise UserError(
            f"KIC {kepid}: duplicate cadences (a quarter given twice?); pass each quarter's "
            "light-curve file once"
        )
    return star


def from_collection(collection: Iterable[Any]) -> StarLightCurve:
    """Turn lightkurve Kepler light curves (one per quarter) of one star into arrays.

    The light curves must come from ``lightkurve.read`` / ``download_all`` with
    the default quality mask, whose ``flux`` is PDCSAP_FLUX.

    Raises
    ------
    UserError
        If the collection is empty or mixes stars.
    """
    parts = list(collection)
    if not parts:
        raise UserError("no Kepler light curves to read; pass at least one *_llc.fits file")
    kepids = {int(lc.meta["KEPLERID"]) for lc in parts}
    if len(kepids) != 1:
        raise UserError(
            f"light-curve files of several stars given together (KIC {sorted(kepids)}); "
            "pass one star's files at a time"
        )
    time = np.concatenate([np.asarray(lc.time.value, dtype=np.float64) for lc in parts])
    flux = np.concatenate([lk_column(lc, "flux") for lc in parts])
    cadenceno = np.concatenate([np.asarray(lc["cadenceno"], dtype=np.int64) for lc in parts])
    quarter = np.concatenate([np.full(len(lc), int(lc.meta["QUARTER"])) for lc in parts])
    flux_err = np.concatenate([lk_column(lc, "flux_err") for lc in parts])
    return make_star(kepids.pop(), time, flux, quarter, cadenceno, flux_err)


def read_fits(paths: Sequence[str | Path]) -> StarLightCurve:
    """Read Kepler long-cadence FITS files of one star with ``lightkurve.read``.

    Raises
    ------
    BadInputFile
        Naming the first file that cannot be read (missing, unreadable,
        truncated or corrupt download) or is not a Kepler light curve.
    """
    lk = import_lightkurve()
    curves = []
    for path in paths:
        curve = read_lightkurve_file(Path(path), "FITS light curve")
        if not isinstance(curve, lk.KeplerLightCurve) or "QUARTER" not in curve.meta:
            raise BadInputFile(f"{path}: not a Kepler light-curve file; pass kplr*_llc.fits files")
        check_kepler_file(path, curve)
        curves.append(curve)
    return from_collection(lk.LightCurveCollection(curves))


def check_kepler_file(path: str | Path, curve: Any) -> None:
    """Refuse a Kepler light curve whose star, quarter or cadence numbers cannot be read.

    A hand-edited or damaged header (``QUARTER = 'Q5'``, ``KEPLERID = 'abc'``) or
    a table without CADENCENO would otherwise fail deep in :func:`from_collection`.

    Raises
    ------
    BadInputFile
        Naming the keyword or column.
    """
    for key in ("KEPLERID", "QUARTER"):
        value = curve.meta.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise BadInputFile(
                f"{path}: header keyword {key} = {value!r} is not an integer; the file was "
                "edited or is corrupt: download it again from MAST"
            )
    if "cadenceno" not in curve.colnames:
        raise BadInputFile(
            f"{path}: no CADENCENO column, so not a Kepler pipeline light curve; pass "
            "kplr*_llc.fits files as downloaded from MAST"
        )


def star_entry(star: StarLightCurve) -> dict[str, Any]:
    """One fetch-report line for a star that was read successfully."""
    return {
        "kepid": star.kepid,
        "status": "ok",
        "quarters": star.quarters,
        "n_points": len(star.flux),
    }


def from_star(
    star: StarLightCurve, name: str | None = None, source: str = "kepler"
) -> Observations:
    """Observations of a :class:`StarLightCurve` (bundle, FITS, MAST).

    Each quarter is a segment and the Kepler cadence numbers give the grid.

    Examples
    --------
    >>> star = read_fits(["tests/fixtures/kepler/kplr005899262-2009166043257_llc.fits"])
    >>> obs = from_star(star)
    >>> obs.name, sorted(set(obs.segment.tolist()))
    ('KIC 5899262', [1])
    """
    return make_observations(
        name or f"KIC {star.kepid}",
        source,
        star.time,
        star.flux,
        star.quarter,
        star.cadenceno,
        star.flux_err,
    )
