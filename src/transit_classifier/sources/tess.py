"""TESS SPOC light-curve FITS files (2-min, 200-s, 10-min or 30-min cadence) as Observations.

The model was trained on Kepler long cadence (29.4 min), so a TESS light curve
goes through the same light-curve path as a Kepler one
(:mod:`transit_classifier.signal.windowing`): each sector is a segment, as each Kepler
quarter is, and its points are averaged into the model's 29.4-min cadence bins
(TESS cadence numbers are not at the model cadence, so the grid is by time).
The mid-sector downlink gap (~1 day) stays NaN inside the sector's windows,
exactly as Kepler's monthly downlink gaps do inside a quarter.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from transit_classifier.errors import BadInputFile

from .files import fits_errors
from .lightcurve import Observations, from_lightkurve, import_lightkurve, read_lightkurve_file


def telescope(path: Path) -> str:
    """The primary header's TELESCOP in upper case ('' if absent or unreadable).

    Decides the reader before lightkurve is asked, so a TESS file is never
    reported as "not a Kepler light curve".
    """
    from astropy.io import fits

    try:
        with warnings.catch_warnings(action="ignore"):
            return str(fits.getval(path, "TELESCOP", ext=0)).strip().upper()
    except fits_errors():  # unreadable here: the reader then reports the file as corrupt
        return ""


def read_tess_fits(path: Path) -> Observations:
    """Read a TESS SPOC light curve: PDCSAP flux, BTJD time, lightkurve's default quality mask.

    The default mask is the one the Kepler training data were read with, so
    both missions drop the cadences flagged as bad (attitude tweaks, safe mode,
    coarse point, desaturations, manual excludes, ...) in the same way.

    The file is read with lightkurve's TESS reader directly, so one without the
    optional CREATOR keyword (which lightkurve's file-type detection relies on)
    is read like any other.

    Raises
    ------
    BadInputFile
        If lightkurve cannot read the file, or it is not a SPOC light curve.
    """
    lk = import_lightkurve()
    curve = read_lightkurve_file(path, "TESS FITS light curve", tess=True)
    sector = curve.meta.get("SECTOR")
    if not isinstance(curve, lk.TessLightCurve) or sector is None:
        raise BadInputFile(
            f"{path}: not a TESS SPOC light-curve file (no SECTOR); pass tess*_lc.fits files"
        )
    if isinstance(sector, bool) or not isinstance(sector, int):
        raise BadInputFile(
            f"{path}: header keyword SECTOR = {sector!r} is not an integer; the file was edited "
            "or is corrupt: download it again from MAST"
        )
    return from_lightkurve(lk.LightCurveCollection([curve]), str(path), source="fits")
