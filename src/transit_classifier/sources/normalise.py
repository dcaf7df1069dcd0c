"""User input made regular before it becomes Observations: columns, shapes, units, fill values.

CSV files, pandas DataFrames, arrays and lightkurve objects arrive in many
shapes. Every one passes through these functions
(:mod:`transit_classifier.sources.lightcurve` calls them), so one oddity gets
one answer whatever the entry point:

- columns are found by name in any case; two that differ only in case
  (``flux`` and ``FLUX``) are refused, since taking one would be a guess;
- time and flux must be 1-D and of equal length;
- fill values (-9999, 0, +-1e30, +-inf) lying outside the range of the real
  values are masked, with a warning that counts them;
- flux in magnitudes is converted to relative flux when its unit (astropy
  ``u.mag``, or a ``mag`` column) says so, and refused when only its values
  suggest it: a transit in magnitudes is a bump *up*, which the network,
  trained on flux, does not see as a transit;
- times spaced hours apart (time in hours, not days) are refused with a hint.

Clean input comes out unchanged, value for value: every function returns the
arrays it was given when it finds nothing to repair. Kepler FITS files and the
training bundle do not pass through here.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from transit_classifier.errors import InputWarning, UserError
from transit_classifier.robust import mad_sigma

_FILLS = np.array([-9999.0, 0.0, 1e30, -1e30])
# 1e30 stored as float32 is 1.0000000150474662e30: both spellings are the same fill value.
FILL_VALUES = np.unique(np.concatenate([_FILLS, _FILLS.astype(np.float32).astype(np.float64)]))
# Catalogue magnitudes of the stars Kepler and TESS observe; flux in e-/s or relative flux is
# far outside this range, except for the faintest stars, whose photon noise (> 0.5% per
# 30-min cadence at 20 e-/s) is far above MAG_MAX_SCATTER.
MAG_LEVELS = (5.0, 20.0)
MAG_MAX_SCATTER = 2e-3  # relative MAD scatter: 0.002 of a 12-mag level is 0.024 mag
# Points 2.4 h apart fill at most a fifth of the model's ~30-min bins, far below what a
# window needs to be scored, so such spacing is never real data in days: it is time in hours
# (Kepler's 29.4-min cadence in hours looks like 0.49 days).
MAX_STEP_DAYS = 0.1
MAX_GAP_DAYS = 2.0  # longer than Kepler's and TESS's downlink gaps (lightcurve.SEGMENT_GAP_DAYS)
ROLES = ("time", "flux", "flux_err", "mag", "mag_err", "quarter")
BLANKS = ("", "nan", "null", "none", "na", "n/a")


@dataclass(frozen=True)
class Columns:
    """The light-curve columns of a table, as float arrays (``segment``: integer labels)."""

    time: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray | None
    segment: np.ndarray | None
    magnitudes: bool  # flux (and flux_err) came from a 'mag' column


def frame_columns(name: str, frame: pd.DataFrame, what: str) -> Columns:
    """Find time, flux (or mag), their errors and quarter in a table, by name in any case.

    A DataFrame from ``LightCurve.to_pandas()`` keeps time in its index, which is used
    when there is no time column. ``what`` names the table in messages ("CSV", "DataFrame").

    Raises
    ------
    UserError
        If time or flux is missing, a column is given twice in different cases, or a
        column holds text where numbers belong.
    """
    found: dict[str, list[Any]] = defaultdict(list)
    for column in frame.columns:
        found[str(column).strip().lower()].append(column)
    for role in ROLES:
        if len(found[role]) > 1:
            both = " and ".join(repr(str(c)) for c in found[role])
            raise UserError(
                f"{name}: columns {both} are both present, so which is '{role}' is ambiguous; "
                "drop or rename one of them"
            )
    series = {role: frame[found[role][0]] for role in ROLES if found[role]}
    if "time" not in series and str(frame.index.name).strip().lower() == "time":
        series["time"] = frame.index.to_series()
    magnitudes = "flux" not in series and "mag" in series
    flux_key, err_key = ("mag", "mag_err") if magnitudes else ("flux", "flux_err")
    missing = [role for role, key in (("time", "time"), ("flux", flux_key)) if key not in series]
    if missing:
        names = ", ".join(map(str, frame.columns)) or "none"
        raise UserError(
            f"{name}: missing column(s) {', '.join(missing)} (found: {names}); the {what} needs "
            "'time' (days) and 'flux' columns"
        )
    quarter = series.get("quarter")
    return Columns(
        numeric(name, series["time"], "time"),
        numeric(name, series[flux_key], "flux"),
        None if err_key not in series else numeric(name, series[err_key], "flux_err"),
        None if quarter is None else pd.factorize(quarter, sort=True)[0],
        magnitudes,
    )


def numeric(name: str, column: pd.Series, key: str) -> np.ndarray:
    """A table column as floats (blanks and ``nan`` become NaN); text such as ISO dates is refused.

    Coercing dates to NaN silently would leave a curve with no usable point and
    a message about flux, far from the real problem.
    """
    if pd.api.types.is_bool_dtype(column):  # pandas reads True/False as booleans, not text
        column = column.astype(str)
    values = pd.to_numeric(column, errors="coerce").to_numpy(np.float64)
    text = column[np.isnan(values) & column.notna().to_numpy()].astype(str).str.strip()
    text = text[~text.str.lower().isin(BLANKS)]
    if len(text):
        unit = "time in days (e.g. BJD - 2454833)" if key == "time" else "numbers"
        raise UserError(
            f"{name}: the {key} column is not numeric ({len(text)} value(s) like "
            f"{text.iloc[0][:30]!r}); write it as {unit}"
        )
    return values


def array_values(name: str, values: Any, key: str) -> tuple[np.ndarray, Any]:
    """Plain float64 values of an array, list, Series, Quantity or astropy Time, and its unit.

    Time quantities are converted to days; a flux unit is returned for :func:`flux_values`.

    Raises
    ------
    UserError
        If the values are not numbers, or time carries a unit that is not a time.
    """
    from astropy import units as u

    unit = getattr(values, "unit", None)
    if hasattr(values, "jd") and hasattr(values, "format"):  # astropy Time: days in its format
        values, unit = values.value, None
    elif key == "time" and unit is not None:
        try:
            values, unit = values.to_value(u.day), None
        except u.UnitConversionError:
            raise UserError(f"{name}: time has unit {unit}; pass time in days") from None
    elif unit is not None:
        values = values.value
    try:
        return np.asarray(values, dtype=np.float64), unit
    except (TypeError, ValueError):
        raise UserError(
            f"{name}: {key} is not an array of numbers ({type(values).__name__}); pass numbers"
        ) from None


def check_shapes(name: str, time: np.ndarray, flux: np.ndarray) -> None:
    """Refuse time and flux that are not two 1-D arrays of one value per cadence."""
    if time.ndim != 1 or flux.ndim != 1:
        raise UserError(
            f"{name}: time has shape {time.shape} and flux {flux.shape}; pass one 1-D array "
            "each, one flux value per time (one star at a time)"
        )
    if time.size != flux.size:
        raise UserError(
            f"{name}: time has {time.size} values but flux has {flux.size}; pass time and flux "
            "of the same length"
        )


def is_magnitude(unit: Any) -> bool:
    """True for astropy's ``u.mag`` and its logarithmic relatives (``u.ABmag``, ...)."""
    from astropy import units as u

    return unit is not None and (isinstance(unit, u.MagUnit) or unit == u.mag)


def is_dimensionless(unit: Any) -> bool:
    """True when a unit says nothing about what the flux is (none, or a bare number)."""
    from astropy import units as u

    return unit is None or unit.physical_type == u.dimensionless_unscaled.physical_type


def flux_values(
    name: str, flux: np.ndarray, flux_err: np.ndarray | None, unit: Any, magnitudes: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Flux (and its errors) with fill values masked and magnitudes converted or refused.

    ``magnitudes`` (a ``mag`` column) or a magnitude ``unit`` convert; flux
    without a physical unit whose values look like magnitudes is refused.
    """
    flux, flux_err = mask_fill_values(name, flux, flux_err)
    if magnitudes or is_magnitude(unit):
        return from_magnitudes(name, flux, flux_err)
    if is_dimensionless(unit):
        refuse_magnitudes(name, flux)
    return flux, flux_err


def mask_fill_values(
    name: str, flux: np.ndarray, flux_err: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Set fill values (:data:`FILL_VALUES`, +-inf) outside the real values' range to NaN.

    A fill value inside that range (a 0 in zero-centred flux) is data, and a
    curve made only of fill values is left for the checks that refuse it. Error
    bars that are not finite and positive carry no weight and become NaN too.
    """
    if flux_err is not None:
        with np.errstate(invalid="ignore"):
            flux_err = np.where(np.isfinite(flux_err) & (flux_err > 0), flux_err, np.nan)
    fill = np.isinf(flux) | np.isin(flux, FILL_VALUES)
    real = flux[np.isfinite(flux) & ~fill]
    if not fill.any() or real.size == 0:
        return flux, flux_err
    outside = fill & ((flux < real.min()) | (flux > real.max()))
    if not outside.any():
        return flux, flux_err
    values, counts = np.unique(flux[outside], return_counts=True)
    listed = ", ".join(f"{n} x {v:g}" for v, n in zip(values, counts, strict=True))
    warnings.warn(
        f"{name}: masked {int(outside.sum())} fill value(s) in flux ({listed}); the other "
        f"{real.size} points are used",
        InputWarning,
        stacklevel=3,
    )
    masked_err = None if flux_err is None else np.where(outside, np.nan, flux_err)
    return np.where(outside, np.nan, flux), masked_err


def from_magnitudes(
    name: str, mag: np.ndarray, mag_err: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Relative flux ``10**(-0.4 (m - median m))`` and its propagated errors, with a warning."""
    finite = mag[np.isfinite(mag)]
    if finite.size == 0:
        return mag, mag_err
    level = float(np.median(finite))
    flux = 10 ** (-0.4 * (mag - level))
    warnings.warn(
        f"{name}: flux is in magnitudes; converted to relative flux "
        f"10**(-0.4 * (mag - {level:.3f}))",
        InputWarning,
        stacklevel=3,
    )
    return flux, None if mag_err is None else flux * (0.4 * np.log(10)) * mag_err


def refuse_magnitudes(name: str, flux: np.ndarray) -> None:
    """Refuse unitless flux whose values look like magnitudes (see the module docstring).

    Raises
    ------
    UserError
        If every finite value is positive, the median lies in :data:`MAG_LEVELS`
        and the scatter is below :data:`MAG_MAX_SCATTER` of the level.
    """
    finite = flux[np.isfinite(flux)]
    if finite.size < 3 or finite.min() <= 0:
        return
    level = float(np.median(finite))
    scatter = float(mad_sigma(finite))
    if MAG_LEVELS[0] <= level <= MAG_LEVELS[1] and 0 < scatter < MAG_MAX_SCATTER * level:
        raise UserError(
            f"{name}: flux looks like magnitudes (all positive, median {level:.2f}, scatter "
            f"{scatter:.2g}); convert it to flux, 10**(-0.4 * (mag - median)), or mark it as "
            "magnitudes: a 'mag' column (CSV, DataFrame) or astropy unit u.mag (arrays, LightCurve)"
        )


def check_time_step(name: str, time: np.ndarray, max_step_days: float = MAX_STEP_DAYS) -> None:
    """Refuse times whose median spacing shows they are not in days.

    Beyond :data:`MAX_GAP_DAYS` the unit is seconds or similar; beyond
    ``max_step_days`` (up to that gap) it is hours, or data far too sparse to
    score. ``time`` must be sorted; non-finite values are ignored.
    """
    time = time[np.isfinite(time)]
    step = float(np.median(np.diff(time))) if time.size > 1 else 0.0
    if step > MAX_GAP_DAYS:
        raise UserError(
            f"{name}: points are {step:.0f} days apart (median), longer than any light-curve "
            "gap; is the time column in days?"
        )
    if step > max_step_days:
        raise UserError(
            f"{name}: points are {step:.3g} apart (median), {step * 24:.3g} hours if in days, "
            "far sparser than Kepler or TESS cadences; is the time column in hours? give "
            "time in days"
        )
