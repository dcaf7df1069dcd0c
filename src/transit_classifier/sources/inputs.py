"""Read and check a user's light curve: FITS, CSV or a KIC id, before any scoring work.

``predict`` (and the Python API) hand every command-line input to
:func:`load_input`: an existing Kepler or TESS SPOC FITS file or a CSV with time
and flux columns, else a KIC id downloaded from MAST. The Python API hands
whatever it is given (paths, a lightkurve object, a DataFrame, arrays) to
:func:`read_object`. :func:`check_curve` refuses light curves whose times or
flux cannot be trusted, with one line naming the problem and the fix;
:func:`stitch` joins the parts of one star.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from transit_classifier.errors import BadInputFile, UserError
from transit_classifier.robust import mad_sigma

from . import lightcurve
from .files import check_input_file, fits_errors
from .kepler import from_star, read_fits
from .lightcurve import Observations
from .tess import read_tess_fits, telescope

FITS_SUFFIXES = (".fits", ".fits.gz", ".fit", ".fit.gz")
CSV_SUFFIXES = (".csv", ".csv.gz")
KIC_PATTERN = re.compile(r"^\s*(?:kic[\s_-]*)?(\d{1,9})\s*$", re.IGNORECASE)
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
    None: :func:`~transit_classifier.sources.kepler.read_fits` calls it truncated or corrupt.
    """
    from astropy.io import fits

    try:
        with warnings.catch_warnings(action="ignore"), fits.open(path, memmap=False) as hdus:
            promised = int(hdus[0].header.get("NEXTEND", 0))
            found = len(hdus) - 1
            tables = [hdu.columns.names for hdu in hdus if isinstance(hdu, fits.BinTableHDU)]
            images = any(hdu.is_image and bool(hdu.header.get("NAXIS")) for hdu in hdus)
    except fits_errors():
        return None
    columns = [{str(name).upper() for name in names} for names in tables]
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
    (:mod:`transit_classifier.sources.tess`).

    Raises
    ------
    UserError
        If the file holds an image or another table (not a light curve), or is
        truncated or corrupt.
    """
    reason = not_a_lightcurve(path)
    if reason is not None:
        raise BadInputFile(
            f"{path}: {reason}; pass {FITS_KINDS} or a CSV with time and flux columns"
        )
    if telescope(path) == "TESS":
        return read_tess_fits(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lightkurve's notes would break the one-line contract
        star = read_fits([path])
    return from_star(star, str(path), "fits")


def resolve_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Where KIC downloads are cached: ``cache_dir`` when given, else a default found here.

    Inside the project (a ``params.yaml`` with ``kepler.cache_dir`` in the working
    directory, where ``dvc repro`` runs) it is that cache, so ``predict`` reuses what
    the fetch_kepler stage downloaded and the path is written once, in params.yaml.
    Anywhere else (an installed package, a user's own folder) there is no project to
    ask, so it is lightkurve's own cache directory (``lightkurve.config``, which a user
    can configure): the downloads are lightkurve's, and a user's other lightkurve work
    shares them. params.yaml is read raw, not validated: a folder's unrelated
    ``params.yaml`` (another DVC project's) must not make a download fail.
    """
    if cache_dir is not None:
        return Path(cache_dir)
    try:
        project = yaml.safe_load(Path("params.yaml").read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        project = None
    kepler = project.get("kepler") if isinstance(project, dict) else None
    configured = kepler.get("cache_dir") if isinstance(kepler, dict) else None
    if isinstance(configured, str) and configured:
        return Path(configured)
    from lightkurve.config import get_cache_dir

    return Path(get_cache_dir())


def download_kic(kic: int, cache_dir: str | Path | None = None) -> Observations:
    """Download every Kepler long-cadence quarter of a star from MAST (``mast.fetch_star``).

    ``cache_dir`` None means :func:`resolve_cache_dir`'s default.

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
            star = mast.fetch_star(kic, resolve_cache_dir(cache_dir), retry)
        except mast.MastUnreachable:
            raise UserError(f"KIC {kic}: cannot reach MAST to download it; {REFETCH}") from None
    return from_star(star, f"KIC {kic}", "kic")


def load_input(text: str, cache_dir: str | Path | None = None) -> Observations:
    """Read one command-line input: an existing FITS/CSV file, else a KIC id.

    ``cache_dir`` (None: :func:`resolve_cache_dir`'s default) caches KIC downloads.

    Raises
    ------
    UserError
        For a missing file, an unknown extension, or a light curve without information.
    """
    return check_curve(_read_input(text, cache_dir))


def _read_input(text: str, cache_dir: str | Path | None) -> Observations:
    """A file when something is at the path, else a KIC id, else one line saying neither."""
    path = Path(text)
    kic = parse_kic(text)
    if kic is not None and not os.path.lexists(path):
        return download_kic(kic, cache_dir)
    if kic is not None and path.is_dir():
        raise BadInputFile(
            f"{text}: is a folder here and also reads as a KIC id; write 'KIC {kic}' to download "
            "the star, or pass the light-curve files inside the folder"
        )
    check_input_file(path, "no such file, and not a KIC id; check the path (or use 'KIC 123')")
    suffix = _suffix(path)
    if suffix in FITS_SUFFIXES:
        return read_fits_lightcurve(path)
    if suffix in CSV_SUFFIXES:
        return lightcurve.read_csv(path)
    raise BadInputFile(
        f"{text}: unknown file type '{suffix or path.name}'; pass a Kepler or TESS .fits "
        "light curve or a .csv with time and flux columns"
    )


def read_object(data: Any, flux: Any = None, name: str = "input") -> Observations:
    """The Python API's one front door: any supported input, read, normalised and checked.

    ``data`` is a path or a list of paths (parts of one star, stitched), a
    lightkurve ``LightCurve`` or ``LightCurveCollection``, a pandas DataFrame
    with time and flux columns, or an array of times in days when ``flux`` is
    given. Whatever the kind, user values go through
    :mod:`~transit_classifier.sources.normalise` and :func:`check_curve`.

    Raises
    ------
    UserError
        One line naming the problem and the fix, for any input that cannot be
        read or trusted, or is of an unsupported type.
    """
    if flux is not None:
        return check_curve(lightcurve.from_arrays(data, flux, name))
    if isinstance(data, (str, Path)):
        return load_input(str(data))
    if isinstance(data, (list, tuple)) and all(isinstance(d, (str, Path)) for d in data):
        return stitch([load_input(str(d)) for d in data])
    if isinstance(data, pd.DataFrame):
        return check_curve(lightcurve.from_frame(data, name))
    if hasattr(data, "flux") or hasattr(data, "stitch"):
        return check_curve(lightcurve.from_lightkurve(data))
    raise UserError(
        f"cannot score a {type(data).__name__}; pass a lightkurve LightCurve or collection, "
        "a pandas DataFrame with time and flux columns, a file path, or time and flux arrays"
    )


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
    flux_err = None
    if any(c.flux_err is not None for c in curves):  # parts without errors get NaN
        flux_err = np.concatenate(
            [np.full(c.flux.size, np.nan) if c.flux_err is None else c.flux_err for c in curves]
        )
    sources = {c.source for c in curves}
    more = f" + {len(curves) - 1} more (stitched)" if len(curves) > 1 else ""
    stitched = lightcurve.make_observations(
        curves[0].name + more,
        sources.pop() if len(sources) == 1 else "stitched",
        np.concatenate([c.time for c in curves]),
        np.concatenate([c.flux for c in curves]),
        np.concatenate(segment),
        cadenceno,
        flux_err,
    )
    return check_curve(stitched)
