"""Single-event statistics (Kepler TPS style) for box templates of several widths.

For a box of ``w`` cadences starting at cadence ``i`` the matched-filter sums are
``N = sum x / sigma**2`` and ``D = sum 1 / sigma**2``; ``-N / D`` is the weighted box depth,
``1 / sqrt(D)`` its error and ``-N / sqrt(D)`` the single-event statistic (SES). Keeping
``N`` and ``D`` (instead of SES) is what lets transits be added coherently in the fold.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from astropy.stats import mad_std
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import median_filter

from transit_classifier.robust import mad_sigma

NOISE_WINDOW_DAYS = 2.0
"""Running-scatter window: long against transits (<= 13 h) but short against noise drifts."""

NOISE_STEP_FRACTION = 0.25
"""The scatter is evaluated every quarter window and interpolated; it varies slowly."""

MIN_WINDOW_POINTS = 10
"""A window with fewer finite points has no trustworthy scatter; neighbours are used."""

ERR_FLOOR_FRACTION = 0.5
"""An error bar below this fraction of its neighbourhood's median counts as that fraction,
so a few tiny (bad) errors cannot take over the inverse-variance weights."""

MIN_BOX_COVERAGE = 0.5
"""A box with less than this fraction of its cadences present is dropped (D = 0)."""


@dataclass(frozen=True)
class SingleEventStats:
    """Per-cadence matched-filter sums, shape ``(n_durations, n_cadences)``.

    ``numerator`` is ``-N`` (positive for dips) and ``denominator`` is ``D``; any per-cadence
    statistic expressed as such a pair can be folded by :func:`fold_periodogram`.
    """

    numerator: np.ndarray
    denominator: np.ndarray
    widths: np.ndarray
    dt: float

    @property
    def ses(self) -> np.ndarray:
        """SES = -N / sqrt(D); zero where the box has no data."""
        den = self.denominator
        return np.divide(self.numerator, np.sqrt(den), out=np.zeros_like(den), where=den > 0)


def _running_scatter(flux: np.ndarray, window: int) -> np.ndarray:
    """Robust (MAD) scatter in a centred window, vectorised over a strided set of windows.

    The windows' ``mad_std`` goes through :func:`~transit_classifier.robust.mad_sigma` (the
    same floats, one sort for all windows): numpy's NaN-aware median of many short windows
    with gaps was the search's largest cost after the fold (``bench/RESULTS.md``).
    """
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):  # all-gap windows
        return _scatter(flux, window)


def _scatter(flux: np.ndarray, window: int) -> np.ndarray:
    n = flux.size
    if n <= window:
        return np.full(n, mad_std(flux, ignore_nan=True))
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), flux, np.full(half, np.nan)])
    step = max(1, int(window * NOISE_STEP_FRACTION))
    windows = sliding_window_view(padded, window)[:n:step]  # window i is centred on cadence i
    centres = np.arange(0, n, step)
    scatter = mad_sigma(windows, axis=1)
    enough = np.isfinite(windows).sum(axis=1) >= MIN_WINDOW_POINTS
    ok = enough & np.isfinite(scatter) & (scatter > 0)
    if not ok.any():
        return np.full(n, mad_std(flux, ignore_nan=True))
    return np.interp(np.arange(n), centres[ok], scatter[ok])


def noise_sigma(
    flux: np.ndarray, flux_err: np.ndarray | None, dt: float, window_days: float = NOISE_WINDOW_DAYS
) -> np.ndarray:
    """Per-cadence noise used to weight the matched filter.

    A running robust scatter sets the level everywhere: it follows noise that changes within
    the light curve, and it is what the false-alarm null was calibrated with (the bundle's
    light curves carry no errors). ``flux_err``, where given, only modulates that level: a
    cadence whose error is above (below) the median error of its neighbourhood weighs less
    (more). Pipeline errors are often mis-scaled and blind to stellar noise, so they are never
    trusted for the level itself.
    """
    flux = np.asarray(flux, dtype=float)
    window = max(3, int(round(window_days / dt)))
    scatter = _running_scatter(flux, window)
    if flux_err is None or not np.isfinite(flux_err).any():
        return scatter
    err = np.where(np.isfinite(flux_err) & (flux_err > 0), flux_err, np.nan)
    local = median_filter(
        np.where(np.isfinite(err), err, np.nanmedian(err)), window, mode="nearest"
    )
    ratio = np.where(np.isfinite(err), err / local, 1.0)
    return scatter * np.maximum(ratio, ERR_FLOOR_FRACTION)


def _box_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Sum of ``values[i:i+width]`` for every start ``i`` (truncated at the end)."""
    csum = np.concatenate([[0.0], np.cumsum(values)])
    start = np.arange(values.size)
    return csum[np.minimum(start + width, values.size)] - csum[start]


def box_single_event_stats(
    flux: np.ndarray, sigma: np.ndarray, widths: np.ndarray, dt: float
) -> SingleEventStats:
    """Box matched-filter sums N, D for every width, via cumulative sums.

    Gaps (NaN flux or sigma) contribute zero to both sums; a box that has less than
    ``MIN_BOX_COVERAGE`` of its cadences gets D = 0 so it never counts as a transit.
    """
    good = np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)
    ivar = np.where(good, 1.0 / np.where(good, sigma, 1.0) ** 2, 0.0)
    weighted = np.where(good, -np.where(good, flux, 0.0) * ivar, 0.0)
    widths = np.asarray(widths, dtype=np.int64)
    num = np.empty((widths.size, flux.size))
    den = np.empty_like(num)
    for row, width in enumerate(widths):
        present = _box_sum(good.astype(float), int(width))
        keep = present >= MIN_BOX_COVERAGE * width
        num[row] = np.where(keep, _box_sum(weighted, int(width)), 0.0)
        den[row] = np.where(keep, _box_sum(ivar, int(width)), 0.0)
    raw = SingleEventStats(numerator=num, denominator=den, widths=widths, dt=dt)
    return at_duration_noise(raw, max(3, int(round(NOISE_WINDOW_DAYS / dt))))


def at_duration_noise(stats: SingleEventStats, window: int) -> SingleEventStats:
    """Rescale each width's sums so its SES has unit running robust scatter.

    Per-cadence weights assume white noise, so a box of ``w`` cadences is credited with
    ``sqrt(w)`` times less noise than one cadence. Real stars disagree at the transit's own
    time scale: red noise and granulation add up inside a box (the SES scatters more than 1),
    while fast pulsations (sdB, delta Scuti) average out (it scatters less). Dividing ``N`` and
    ``D`` by the SES's running scatter ``s`` squared measures the noise at the duration, as
    CDPP does: the depth ``N / D`` is unchanged, the SES becomes ``SES / s``, and folded
    transits keep their inverse-variance weights. Measured on KIC 10001893 (an sdB pulsator),
    the white-noise SES of injected transits was about half their MES at the duration.
    """
    ses = np.where(stats.denominator > 0, stats.ses, np.nan)
    scale = np.ones_like(ses)
    for row in range(ses.shape[0]):
        if np.isfinite(ses[row]).sum() >= MIN_WINDOW_POINTS:
            scale[row] = _running_scatter(ses[row], window)
    var = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0) ** 2
    return SingleEventStats(
        numerator=stats.numerator / var,
        denominator=stats.denominator / var,
        widths=stats.widths,
        dt=stats.dt,
    )
