"""Candidate parameters behind a flagged light curve: period, epoch, duration, depth, odd/even.

The network says *where* a transit-like window is; an astronomer vetting it
needs *what* it is. The whole light curve (on the model's cadence grid) is
detrended with the biweight filter training used, at the model's longest
detrend window so transits survive, and searched with astropy's Box Least
Squares (Kovacs et al. 2002). When the box signal comes from one dip only
(a long-period planet seen once), the candidate is that single box and the
period is NaN. Odd and even transits are measured apart: an eclipsing binary
at twice the found period shows two different depths, the first check made
against false positives.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from transit_classifier.errors import UserError
from transit_classifier.robust import mad_sigma
from transit_classifier.signal.preprocess import PreprocessSettings, flatten
from transit_classifier.simulate.orbits import transit_offset

MIN_PERIOD_DAYS = 0.5
# Box durations searched (days): 1 hour to 11 hours, below the shortest period searched.
DURATIONS_DAYS = np.array([0.04, 0.06, 0.09, 0.13, 0.19, 0.28, 0.42])
# A single dip may be longer: the biweight window (2.5 d) keeps dips up to ~0.8 d.
SINGLE_DURATIONS_DAYS = np.append(DURATIONS_DAYS, [0.6, 0.8])
MAX_PERIODS = 50_000  # caps the BLS grid, so vetting one Kepler quarter stays interactive
# Phase bins per shortest box: 3 gives 19-minute bins, finer than Kepler's 29.4-minute
# cadence, at a third of the cost of astropy's default 10.
OVERSAMPLE = 3
MIN_REPEAT_SNR = 3.0  # the transits other than the deepest must add up to this, else single
MAX_DEPTH_RATIO = 3.0  # ... and be no more than this many times shallower than the deepest


@dataclass(frozen=True)
class Candidate:
    """The transit candidate of one light curve (days; depths as fractions of the flux).

    ``period`` is NaN for a single transit, and so are the odd/even fields.
    """

    period: float
    epoch: float
    duration: float
    depth: float
    depth_err: float
    snr: float
    odd_depth: float
    even_depth: float
    odd_even_sigma: float
    transit_times: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The scalar fields as plain floats (NaN kept), for tables and JSON."""
        return {k: float(v) for k, v in vars(self).items() if k != "transit_times"}


def detrend(time: np.ndarray, flux: np.ndarray, settings: PreprocessSettings) -> np.ndarray:
    """Biweight-flattened flux on a cadence grid, each gap-free stretch on its own.

    The window is the model's longest detrend window (``detrend_windows_days``):
    at three times the longest transit it keeps dips while removing rotation,
    and it is the same filter the network saw its inputs through.
    """
    cadence = settings.cadence_days
    window = max(settings.detrend_windows_days)
    cuts = np.flatnonzero(np.diff(time) > 1.5 * cadence) + 1
    parts = [flatten(p, "biweight", window, cadence)[0] for p in np.split(flux, cuts)]
    return np.concatenate(parts) if parts else np.empty(0)


def _depth(flat: np.ndarray, inside: np.ndarray, sigma: float) -> tuple[float, float]:
    """Mean dip of the in-transit points below 1, and its white-noise error."""
    n = int(inside.sum())
    if n == 0:
        return np.nan, np.nan
    return float(1.0 - flat[inside].mean()), float(sigma / np.sqrt(n))


def _bls(time: np.ndarray, flat: np.ndarray) -> tuple[float, ...]:
    """Best (period, epoch, duration) of astropy's BLS from 0.5 d to half the baseline."""
    from astropy.timeseries import BoxLeastSquares

    baseline = time[-1] - time[0]
    f_lo, f_hi = 2.0 / baseline, 1.0 / MIN_PERIOD_DAYS
    # Frequency step keeping the phase drift over the baseline under the shortest box.
    n = int(np.clip((f_hi - f_lo) * baseline**2 / DURATIONS_DAYS[0], 1000, MAX_PERIODS))
    periods = 1.0 / np.linspace(f_hi, f_lo, n)
    result = BoxLeastSquares(time, flat).power(
        periods, DURATIONS_DAYS, objective="snr", oversample=OVERSAMPLE
    )
    best = int(np.nanargmax(result.power))
    return tuple(float(result[key][best]) for key in ("period", "transit_time", "duration"))


def _single_box(time: np.ndarray, flat: np.ndarray, sigma: float, allowed: np.ndarray) -> tuple:
    """(epoch, duration) of the most significant single box, centred on an allowed cadence.

    Running sums over the cadence grid give every box of every duration at once;
    boxes spanning a gap between segments are skipped.
    """
    finite = np.isfinite(flat)
    sums = np.concatenate([[0.0], np.cumsum(np.where(finite, 1.0 - flat, 0.0))])
    counts = np.concatenate([[0], np.cumsum(finite)])
    cadence = np.median(np.diff(time))
    best = (-np.inf, np.nan, np.nan)
    for duration in SINGLE_DURATIONS_DAYS:  # a few durations, each vectorised over the curve
        k = max(int(round(duration / cadence)), 1)
        start = np.arange(time.size - k + 1)
        n = counts[start + k] - counts[start]
        with np.errstate(invalid="ignore", divide="ignore"):
            snr = (sums[start + k] - sums[start]) / np.sqrt(n) / sigma
        contiguous = time[start + k - 1] - time[start] < (k + 0.5) * cadence
        snr = np.where((n >= max(k // 2, 1)) & allowed[start + k // 2] & contiguous, snr, -np.inf)
        i = int(np.nanargmax(snr)) if snr.size else 0
        if snr.size and snr[i] > best[0]:
            best = (float(snr[i]), float(time[i : i + k].mean()), float(k * cadence))
    return best[1], best[2]


def _per_transit(
    time: np.ndarray, flat: np.ndarray, period: float, epoch: float, duration: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transit number, dip sum and point count of every transit with in-transit data."""
    inside = np.abs(transit_offset(time, period, epoch)) < duration / 2
    number = np.round((time[inside] - epoch) / period).astype(np.int64)
    numbers, index = np.unique(number, return_inverse=True)
    dip = np.bincount(index, weights=1.0 - flat[inside], minlength=numbers.size)
    return numbers, dip, np.bincount(index, minlength=numbers.size)


def _is_single(dip: np.ndarray, count: np.ndarray, sigma: float) -> bool:
    """Whether the signal is one dip: the other transits are insignificant or far shallower.

    A box period found through one deep dip picks up noise or detrending
    residuals elsewhere; real repeats add up to ``MIN_REPEAT_SNR`` and reach at
    least ``1 / MAX_DEPTH_RATIO`` of the deepest (an eclipsing binary's
    secondary included).
    """
    if dip.size < 2:
        return True
    deepest = int(np.argmax(dip / np.sqrt(count)))
    rest_dip, rest_n = dip.sum() - dip[deepest], count.sum() - count[deepest]
    faint = rest_dip / rest_n < dip[deepest] / count[deepest] / MAX_DEPTH_RATIO
    return bool(rest_dip / np.sqrt(rest_n) / sigma < MIN_REPEAT_SNR or faint)


def _odd_even(
    time: np.ndarray, flat: np.ndarray, sigma: float, period: float, epoch: float, duration: float
) -> tuple[float, float, float]:
    """Odd and even transit depths and their difference in combined sigma, from astropy's
    ``BoxLeastSquares.compute_stats`` (depths against the out-of-transit level)."""
    from astropy.timeseries import BoxLeastSquares

    bls = BoxLeastSquares(time, flat, dy=np.full(time.size, sigma))
    stats = bls.compute_stats(period, duration, epoch)
    (d_odd, e_odd), (d_even, e_even) = stats["depth_odd"], stats["depth_even"]
    return float(d_odd), float(d_even), float(abs(d_odd - d_even) / np.hypot(e_odd, e_even))


def estimate(time: np.ndarray, flat: np.ndarray, flagged: np.ndarray | None = None) -> Candidate:
    """Estimate the candidate in a detrended light curve on a cadence grid.

    Parameters
    ----------
    time, flat
        Grid times (days) and detrended flux near 1 (NaN for missing cadences).
    flagged
        Boolean mask of cadences in windows the model flagged: a single-transit
        candidate is looked for there (anywhere when None or all False).

    Raises
    ------
    UserError
        If fewer than two days of finite flux remain.

    Examples
    --------
    >>> from transit_classifier.simulate.orbits import in_transit
    >>> t = np.arange(0, 60, 0.0204)
    >>> dip = in_transit(t, np.array([1.3]), np.array([4.7]), np.array([0.15]))[0]
    >>> noise = 1e-4 * np.random.default_rng(0).standard_normal(t.size)
    >>> c = estimate(t, 1 - 2e-3 * dip + noise)
    >>> round(c.period, 2), round(c.depth * 1e3, 1), bool(c.odd_even_sigma < 3)
    (4.7, 2.0, True)
    """
    finite = np.isfinite(flat)
    if finite.sum() < 2 or np.ptp(time[finite]) < 2.0:
        raise UserError("fewer than two days of usable flux; supply a longer light curve")
    t, f = time[finite], flat[finite]
    sigma = float(mad_sigma(f))
    period, epoch, duration = _bls(t, f)
    numbers, dip, count = _per_transit(t, f, period, epoch, duration)
    if _is_single(dip, count, sigma):
        allowed = flagged if flagged is not None and flagged.any() else np.ones(time.size, bool)
        epoch, duration = _single_box(time, flat, sigma, allowed)
        depth, err = _depth(f, np.abs(t - epoch) < duration / 2, sigma)
        nan = np.nan
        return Candidate(
            nan, epoch, duration, depth, err, depth / err, nan, nan, nan, np.array([epoch])
        )
    depth, err = _depth(f, np.abs(transit_offset(t, period, epoch)) < duration / 2, sigma)
    odd_even = _odd_even(t, f, sigma, period, epoch, duration)
    times = epoch + numbers * period
    return Candidate(period, epoch, duration, depth, err, depth / err, *odd_even, times)


def vet(prediction: Any, settings: PreprocessSettings) -> tuple[Candidate, np.ndarray]:
    """The candidate of a scored light curve, and its detrended grid flux for plotting.

    ``prediction`` is a :class:`~transit_classifier.serve.predict.Prediction`;
    ``settings`` the model's ``PreprocessSettings``, read back once by ``model_setup``.
    """
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        flat = detrend(prediction.grid_time, prediction.grid_flux, settings)
    return estimate(prediction.grid_time, flat, prediction.flagged_cadences()), flat
