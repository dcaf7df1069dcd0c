"""The one preprocessing path from windows of relative flux to network input.

``prepare``, ``train`` (fresh injections every epoch), ``evaluate`` and
``predict`` all call :func:`preprocess` with the settings stored in the model
(:class:`PreprocessSettings`), so a light curve is seen the same way in training
and at inference.

Steps, each chosen for a reason an astronomer would recognise:

1. **Detrend** with wotan's time-windowed biweight, a robust location
   estimate that ignores dips and flares, once per window in
   ``detrend_windows_days``. No single window serves every star: a short one
   (0.75 d) follows rotation down to ~2-day periods but eats transits longer
   than a quarter of it (Kepler-90 h lasts 14.5 h); a long one (2.5 d) keeps
   such transits whole. Each window gives the network its own flux channel,
   so it sees both, as an astronomer would try both.
2. **Prewhiten** (:mod:`.prewhiten`, ``prewhiten_modes`` > 0): subtract a
   pulsating star's coherent modes faster than ``prewhiten_min_frequency``,
   whose beating dips no detrending window removes. It shapes the network's
   input only: the MES of every injection and the classical baseline still
   see the detrended flux, so benchmarks stay comparable.
3. **Normalise** by the robust scatter (1.4826 MAD) so the input is in units of
   the star's own noise: depth becomes signal-to-noise per cadence.
4. **Clip upward** outliers (flares, cosmic rays) at ``clip_high_sigma``.
   Dips are *compressed* (asinh beyond ``compress_low_sigma``), never clipped
   flat, so a deep transit still looks deeper than a shallow one.
5. **Gap channel**: missing cadences are set to 0 (the median level) and
   flagged in a last input channel, so the network can tell "no data" from
   "flat data" the same way in training and in inference.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields, replace
from typing import Any

import numpy as np
from astropy.stats import sigma_clip
from astropy.utils.exceptions import AstropyUserWarning
from scipy.ndimage import median_filter

from transit_classifier.cadence import MINUTES_PER_DAY
from transit_classifier.errors import UserError
from transit_classifier.robust import mad_sigma, nanmedian

from .prewhiten import pulsation_model

RETRAIN = "retrain with `dvc repro train`"  # the fix for a model.json predict cannot read


@dataclass(frozen=True, kw_only=True)
class PreprocessSettings:
    """How windows of relative flux become network input: ``prepare`` keys plus the cadence.

    Built once per stage (:meth:`from_params`) and passed down; stored in
    ``model.json`` as :meth:`as_dict` (its keys in this order) and read back by
    evaluate and predict with :meth:`from_model`, so training and inference
    share one object. Fields keep the types params.yaml gave them, so the
    stored JSON is what it was when the settings were a dict.
    """

    detrend_method: str
    detrend_windows_days: tuple[float, ...]
    prewhiten_modes: int = 0  # models saved before prewhitening: off
    prewhiten_min_frequency: float | None = None  # read only when prewhiten_modes > 0
    prewhiten_snr: float | None = None
    prewhiten_mask_sigma: float = 0.0  # models saved before the dip mask: none
    clip_high_sigma: float
    compress_low_sigma: float
    cadence_minutes: float

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> PreprocessSettings:
        """The settings of the validated params dict."""
        prep = params["prepare"]
        return cls.from_model(
            {
                **{f.name: prep[f.name] for f in fields(cls) if f.name != "cadence_minutes"},
                "cadence_minutes": params["dataset"]["cadence_minutes"],
            }
        )

    @classmethod
    def from_model(cls, stored: Mapping[str, Any]) -> PreprocessSettings:
        """The settings stored in a model's ``model.json`` (older models lack prewhiten keys).

        Raises
        ------
        UserError
            If a setting without a default is missing: the model cannot be read as trained.
        """
        known = {field.name for field in fields(cls)}
        values = {key: value for key, value in stored.items() if key in known}
        needed = [f.name for f in fields(cls) if f.default is MISSING and f.name not in values]
        if needed:
            raise UserError(f"model.json: preprocess settings lack {needed}; {RETRAIN}")
        return cls(**{**values, "detrend_windows_days": tuple(values["detrend_windows_days"])})

    def as_dict(self) -> dict[str, Any]:
        """The ``model.json`` form: every field, the windows as a list."""
        return {**asdict(self), "detrend_windows_days": list(self.detrend_windows_days)}

    @property
    def cadence_days(self) -> float:
        return self.cadence_minutes / MINUTES_PER_DAY


def channel_names(settings: PreprocessSettings) -> list[str]:
    """Input channels: one flux channel per detrending window, then the gap mask."""
    return [f"flux_{window:g}d" for window in settings.detrend_windows_days] + ["gap"]


def as_batch(flux: np.ndarray) -> np.ndarray:
    """``flux`` as a float64 ``(n, length)`` array; a single light curve becomes one row."""
    flux = np.asarray(flux, dtype=np.float64)
    if flux.ndim == 1:
        flux = flux[None, :]
    if flux.ndim != 2 or flux.shape[1] < 3:
        raise UserError(f"light curves must be an (n, length>=3) array, got shape {flux.shape}")
    return flux


def check_usable(flux: np.ndarray, ids: np.ndarray | None = None) -> None:
    """Reject light curves that are all-NaN or constant: they carry no information.

    Raises
    ------
    UserError
        Naming the first offending light curve.
    """
    flux = as_batch(flux)
    finite = np.isfinite(flux)
    n_finite = finite.sum(axis=1)
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        constant = np.nanmax(flux, axis=1) == np.nanmin(flux, axis=1)
    bad = (n_finite < 3) | constant
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        name = ids[i] if ids is not None else f"#{i}"
        why = "has fewer than 3 finite flux values" if n_finite[i] < 3 else "has constant flux"
        raise UserError(f"light curve {name} {why}; drop it or supply real flux values")


def fill_gaps(flux: np.ndarray) -> np.ndarray:
    """Fill NaN cadences by linear interpolation between their finite neighbours.

    Interpolation draws a straight line across a gap, so it can shorten a dip
    that a gap cuts into but never creates one. Edges take the nearest value.
    """
    flux = as_batch(flux).copy()
    n, length = flux.shape
    finite = np.isfinite(flux)
    if finite.all():
        return flux
    index = np.arange(length)
    prev_idx = np.where(finite, index, -1)
    np.maximum.accumulate(prev_idx, axis=1, out=prev_idx)
    next_idx = np.where(finite, index, length)
    next_idx = np.minimum.accumulate(next_idx[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(n)[:, None]
    has_prev, has_next = prev_idx >= 0, next_idx < length
    prev_val = flux[rows, np.clip(prev_idx, 0, length - 1)]
    next_val = flux[rows, np.clip(next_idx, 0, length - 1)]
    weight = (index - prev_idx) / np.maximum(next_idx - prev_idx, 1)
    interp = prev_val + (next_val - prev_val) * weight
    filled = np.where(has_prev & has_next, interp, np.where(has_prev, prev_val, next_val))
    return np.where(finite, flux, filled)


def window_cadences(window_days: float, cadence_days: float) -> int:
    """An odd running-window length in cadences, at least 3."""
    return max(3, int(round(window_days / cadence_days)) // 2 * 2 + 1)


def flatten(flux: np.ndarray, method: str, window_days: float, cadence_days: float) -> np.ndarray:
    """Divide out variability slower than ``window_days``; NaN cadences stay NaN.

    ``biweight`` is wotan's Tukey biweight location in a sliding time window
    (Hippke et al. 2019), the detrender that recovers most transits in their
    benchmark. ``median`` is a vectorised running median (faster, less robust).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(1000) * 29.4244 / 1440
    >>> rotating = 1 + 0.003 * np.sin(2 * np.pi * t / 8.0)
    >>> flat = flatten(rotating, "biweight", 0.75, 29.4244 / 1440)
    >>> flat.shape, bool(np.max(np.abs(flat[0, 20:-20] - 1)) < 1e-4)  # edges excepted
    ((1, 1000), True)
    """
    flux = as_batch(flux)
    if method == "median":
        missing = ~np.isfinite(flux)
        filled = fill_gaps(flux)
        size = window_cadences(window_days, cadence_days)
        trend = median_filter(filled, size=(1, size), mode="reflect")
        with np.errstate(divide="ignore", invalid="ignore"):
            out = filled / trend
        out[missing] = np.nan
        return out
    if method != "biweight":
        raise UserError(f"detrend method {method!r} unknown; use biweight or median")
    from wotan import flatten as wotan_flatten

    time = np.arange(flux.shape[1]) * cadence_days
    out = np.full_like(flux, np.nan)
    for i, row in enumerate(flux):  # wotan works on one light curve at a time (numba)
        if np.isfinite(row).sum() >= 3:
            out[i] = wotan_flatten(time, row, method="biweight", window_length=window_days)
    return out


def robust_sigma(flux: np.ndarray) -> np.ndarray:
    """Per-row 1.4826 MAD about the median, ignoring NaN; falls back to the std, then 1."""
    flux = as_batch(flux)
    mad = mad_sigma(flux, axis=1, keepdims=True)
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        std = np.nanstd(flux, axis=1, keepdims=True)
    return np.where(mad > 0, mad, np.where(std > 0, std, 1.0))


def scale_flux(flat: np.ndarray, clip_high: float, compress_low: float) -> np.ndarray:
    """Robust z-score: up-clipped at ``clip_high``, dips beyond ``compress_low`` asinh-compressed.

    The compression is continuous and monotone, so a 1000-sigma transit still
    reads deeper than a 30-sigma one, while the input range stays bounded.
    """
    flat = as_batch(flat)
    z = (flat - nanmedian(flat, axis=1, keepdims=True)) / robust_sigma(flat)
    low = -compress_low
    compressed = low - compress_low * np.arcsinh((low - z) / compress_low)
    return np.minimum(np.where(z < low, compressed, z), clip_high)


def flatten_all(flux: np.ndarray, settings: PreprocessSettings) -> np.ndarray:
    """``(windows, n, length)``: ``flux`` flattened at each of ``detrend_windows_days``."""
    return np.stack(
        [
            flatten(flux, settings.detrend_method, window, settings.cadence_days)
            for window in settings.detrend_windows_days
        ]
    )


def preprocess(flux: np.ndarray, settings: PreprocessSettings) -> np.ndarray:
    """Turn raw windows into network input ``(n, length, channels)``, float32.

    Parameters
    ----------
    flux
        ``(n, length)`` or ``(length,)`` relative flux; NaN marks missing cadences.
    settings
        The :class:`PreprocessSettings` built once at the stage's entry
        (:meth:`~PreprocessSettings.from_params`, or :meth:`~PreprocessSettings.from_model`
        for a stored model).

    Raises
    ------
    UserError
        If a light curve is all-NaN or constant.

    Examples
    --------
    >>> import numpy as np
    >>> settings = PreprocessSettings(detrend_method="median", detrend_windows_days=(0.75, 2.5),
    ...     clip_high_sigma=5.0, compress_low_sigma=20.0, cadence_minutes=29.4244)
    >>> flux = 1 + 1e-4 * np.random.default_rng(0).standard_normal((2, 1000))
    >>> flux[0, 10:20] = np.nan
    >>> X = preprocess(flux, settings)
    >>> X.shape, channel_names(settings), X[0, 15].tolist()
    ((2, 1000, 3), ['flux_0.75d', 'flux_2.5d', 'gap'], [0.0, 0.0, 1.0])
    """
    flux = as_batch(flux)
    check_usable(flux)
    return from_flats(flux, flatten_all(flux, settings), settings)


def preprocess_inverted(
    flux: np.ndarray, settings: PreprocessSettings
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`preprocess` of ``flux`` and of its mirror image about the detrended level.

    The inverted light curve is Kepler's own false-alarm check (the DR25
    inverted light curves): turned upside down, a transit becomes a bump,
    which the upward clip removes, while a pulsating or eclipsing-binary-like
    star's symmetric wiggles still hold dips. A window that scores high both
    ways is probably the star's variability, not a transit. The mirror is
    taken after detrending (``2 - flat``), so it costs no second detrending.

    Examples
    --------
    >>> import numpy as np
    >>> settings = PreprocessSettings(detrend_method="median", detrend_windows_days=(0.75, 2.5),
    ...     clip_high_sigma=5.0, compress_low_sigma=20.0, cadence_minutes=29.4244)
    >>> flux = 1 + 1e-4 * np.random.default_rng(0).standard_normal((1, 1000))
    >>> flux[0, 500:510] -= 0.01  # a 100-sigma dip
    >>> X, X_inverted = preprocess_inverted(flux, settings)
    >>> float(X[0, 505, 0]) < -20, float(X_inverted[0, 505, 0]) == 5.0  # the dip, clipped bump
    (True, True)
    """
    flux = as_batch(flux)
    check_usable(flux)
    flats = flatten_all(flux, settings)
    flats = flats - pulsations(flats[0], settings)  # once: the mirror's are minus these
    done = replace(settings, prewhiten_modes=0)
    return from_flats(flux, flats, done), from_flats(flux, 2.0 - flats, done)


def pulsations(flat: np.ndarray, settings: PreprocessSettings) -> np.ndarray | float:
    """The coherent modes to subtract from every channel (0 when prewhitening is off).

    They are fitted on the shortest detrending window's flux, which leaves the
    least slow variability to leak into the searched band.
    """
    if not settings.prewhiten_modes:
        return 0.0
    return pulsation_model(
        flat,
        settings.cadence_days,
        settings.prewhiten_modes,
        settings.prewhiten_min_frequency,
        settings.prewhiten_snr,
        settings.prewhiten_mask_sigma,
    )


def from_flats(flux: np.ndarray, flats: np.ndarray, settings: PreprocessSettings) -> np.ndarray:
    """:func:`preprocess` from :func:`flatten_all`'s output.

    A caller that needs the flattened flux too (the injection hosts) detrends once.
    """
    gap = ~np.isfinite(as_batch(flux))
    out = np.empty((*gap.shape, len(flats) + 1), dtype=np.float32)  # filled channel by channel
    model = pulsations(flats[0], settings)
    for i, flat in enumerate(flats):
        flat = flat - model
        scaled = scale_flux(flat, settings.clip_high_sigma, settings.compress_low_sigma)
        out[..., i] = np.where(gap, 0.0, scaled)
    out[..., -1] = gap
    return out


# A lone cadence this far below the median is not noise (p ~ 3e-5 per cadence)...
ISOLATED_DIP_SIGMA = 4.0
# ...and is a glitch unless a neighbour is also low: a real transit covers >= 2 long
# cadences, so its neighbour sits well below the median too, while a cosmic-ray hit
# or a pointing glitch leaves both neighbours at the usual noise level.
NEIGHBOUR_LOW_SIGMA = 2.0


def clean_outliers(flat: np.ndarray, clip_high_sigma: float) -> np.ndarray:
    """Set upward outliers and isolated single-cadence dips of ``(n, length)`` flux to NaN.

    Vectorised over all rows. A cadence is dropped if it lies more than
    ``clip_high_sigma`` MAD sigma above the row's median (flares and cosmic
    rays, which would only dilute a box's out-of-transit level), or more than
    :data:`ISOLATED_DIP_SIGMA` below it while neither neighbour (in cadence
    index) is below :data:`NEIGHBOUR_LOW_SIGMA`. A missing neighbour counts as
    not low. Two or more adjacent low cadences, the signature of a transit, are kept.

    The upward part is astropy's ``sigma_clip`` (one pass, median and
    ``mad_std``, lower side off). Where a row's MAD is 0 (more than half its
    cadences equal), its bound is the median itself, so every cadence above
    the median goes (the older hand-written clip fell back to the std there)
    and a constant row keeps all of its cadences. Non-finite flux (+-inf)
    comes back NaN.
    """
    flat = as_batch(flat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)  # "invalid values": gaps are NaN
        warnings.simplefilter("ignore", RuntimeWarning)  # MAD = 0 rows: lower bound inf * 0
        clipped = sigma_clip(
            flat,
            sigma_lower=np.inf,
            sigma_upper=clip_high_sigma,
            maxiters=1,
            cenfunc="median",
            stdfunc="mad_std",
            axis=1,
            masked=False,
        )
    # No library drops a lone low cadence while keeping adjacent low pairs (transits): own code.
    z = (flat - nanmedian(flat, axis=1, keepdims=True)) / robust_sigma(flat)
    low = np.pad(z < -NEIGHBOUR_LOW_SIGMA, ((0, 0), (1, 1)))
    isolated = (z < -ISOLATED_DIP_SIGMA) & ~low[:, :-2] & ~low[:, 2:]
    return np.where(isolated, np.nan, clipped)
