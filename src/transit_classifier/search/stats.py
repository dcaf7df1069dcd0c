"""Statistics and consistency checks of one detection, built from the (num, den) sums.

Every number here is a sum of the same matched-filter terms the fold used, so depths, their
errors, odd/even and secondary tests are exactly consistent with the MES that found them.
"""

import numpy as np

from .ses import SingleEventStats

PPM = 1e6

ODD_EVEN_FREE_SIGMA = 3.0
"""Odd/even depth differences up to this many sigma are treated as noise and cost nothing."""

TIMING_INGRESS_CADENCES = 1.0
"""Ingress time used in the timing-error formula: at long cadence the ingress is unresolved,
so one cadence is the time scale on which the fitted transit edge can move."""

UNIFORM_QUANTISATION = np.sqrt(12.0)
"""Standard deviation of a uniform quantisation error is step / sqrt(12)."""


def transit_slots(first_index: int, p_cad: float, n: int, phase: float = 0.0) -> np.ndarray:
    """Box-start cadences ``round(j + (k + phase) P/dt)`` inside the grid, same rounding as fold."""
    k = np.arange(int(np.ceil((n - first_index) / p_cad)) + 1)
    idx = np.floor(first_index + (k + phase) * p_cad + 0.5).astype(np.int64)
    return idx[(idx >= 0) & (idx < n)]


def weighted_depth(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """Inverse-variance depth ``sum num / sum den`` and its error ``1 / sqrt(sum den)``."""
    total = float(np.sum(den))
    if total <= 0:
        return float("nan"), float("nan")
    return float(np.sum(num)) / total, 1.0 / np.sqrt(total)


def odd_even_sigma(num: np.ndarray, den: np.ndarray, cycle: np.ndarray) -> float:
    """``|depth_odd - depth_even| / combined error`` over transits with data (cycle parity)."""
    odd = cycle % 2 == 1
    d_odd, e_odd = weighted_depth(num[odd], den[odd])
    d_even, e_even = weighted_depth(num[~odd], den[~odd])
    if not (np.isfinite(d_odd) and np.isfinite(d_even)):
        return float("nan")
    return abs(d_odd - d_even) / np.hypot(e_odd, e_even)


def robust_mes(num: np.ndarray, den: np.ndarray) -> float:
    """MES rebuilt without the strongest single event, rescaled to the full transit count.

    For n equal transits this equals the MES; when one event carries the fold it collapses,
    which is the check that one big event must not carry a period.
    """
    n = num.size
    if n < 2:
        return float("-inf")
    ses = num / np.sqrt(den)
    keep = np.arange(n) != int(np.argmax(ses))
    return float(np.sum(num[keep]) / np.sqrt(np.sum(den[keep])) * np.sqrt(n / (n - 1)))


def periodic_score(mes: float, num: np.ndarray, den: np.ndarray, oe_sigma: float) -> float:
    """Score on the MES scale: ``min(MES, robust MES) - max(0, odd/even sigma - 3)``."""
    penalty = max(0.0, oe_sigma - ODD_EVEN_FREE_SIGMA) if np.isfinite(oe_sigma) else 0.0
    return min(mes, robust_mes(num, den)) - penalty


def ephemeris_errors(
    cycle: np.ndarray, mes: float, duration: float, dt: float, period_step: float
) -> tuple[float, float]:
    """Analytic period and epoch errors (days).

    Per-transit timing error from Carter et al. (2008), ``sigma_t = T / Q * sqrt(tau / 2T)``
    with ``Q = MES / sqrt(n)`` the mean per-transit SNR and ``tau`` one cadence, propagated
    through a least-squares linear ephemeris over the transit numbers with data, then added in
    quadrature to the grid quantisation: the period step, and for the epoch one cadence plus
    the period step times the lever arm from the first transit to the mean transit number
    (the fold aligns the bulk of the transits, not the first one).
    """
    n = cycle.size
    q = max(mes, 1.0) / np.sqrt(n)
    sigma_t = duration / q * np.sqrt(TIMING_INGRESS_CADENCES * dt / (2.0 * duration))
    rel = cycle - cycle[0]
    spread = float(np.sum((rel - rel.mean()) ** 2))
    period_err = sigma_t / np.sqrt(spread) if spread > 0 else float("inf")
    epoch_fit = sigma_t * np.sqrt(1.0 / n + (rel.mean() ** 2 / spread if spread > 0 else 0.0))
    # grid terms: the period step moves the first transit by (lever arm to the mean cycle) * dP
    epoch_grid = np.hypot(dt, rel.mean() * period_step) / UNIFORM_QUANTISATION
    return (
        float(np.hypot(period_err, period_step / UNIFORM_QUANTISATION)),
        float(np.hypot(epoch_fit, epoch_grid)),
    )


def slot_sums(stats: SingleEventStats, row: int, slots: np.ndarray) -> tuple[np.ndarray, ...]:
    """(num, den, mask-with-data) of one width row at the given slots."""
    num = stats.numerator[row, slots]
    den = stats.denominator[row, slots]
    return num, den, den > 0
