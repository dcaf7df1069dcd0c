"""Statistics and consistency checks of one detection, built from the (num, den) sums.

Every number here is a sum of the same matched-filter terms the fold used, so depths, their
errors, odd/even and secondary tests are exactly consistent with the MES that found them.
"""

import numpy as np

from .ses import SingleEventStats

PPM = 1e6

ODD_EVEN_FREE_SIGMA = 3.0
"""Odd/even depth differences up to this many sigma are treated as noise and cost nothing."""

OTHER_FEATURE_FREE_SIGMA = 3.0
"""Other features of the folded light curve up to this many sigma are noise and cost nothing."""

PRIMARY_WIDTHS = 2
"""Offsets within this many box widths of the candidate's belong to its own transit (the box
slides across ingress and egress there), not to another feature of the folded light curve."""

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


def phase_mes(num: np.ndarray, den: np.ndarray, p_cad: float) -> np.ndarray:
    """MES of every integer epoch offset at one period (in cadences): the folded light curve as
    the box sees it, dips positive, bumps negative. Same transit rounding as the fold."""
    n, offsets = num.size, int(np.ceil(p_cad))
    cells = transit_slots(0, p_cad, n)[:, None] + np.arange(offsets)[None, :]
    inside = cells < n
    cells = np.where(inside, cells, 0)
    total_num = np.where(inside & (den[cells] > 0), num[cells], 0.0).sum(axis=0)
    total_den = np.where(inside, np.maximum(den[cells], 0.0), 0.0).sum(axis=0)
    return np.divide(total_num, np.sqrt(total_den), out=np.zeros(offsets), where=total_den > 0)


def other_feature_sigma(
    num: np.ndarray, den: np.ndarray, p_cad: float, offset: int, width: int
) -> float:
    """Strongest other feature of the folded light curve, dip or bump, in sigma.

    Offsets further than :data:`PRIMARY_WIDTHS` box widths from the candidate's ``offset``
    are the rest of the orbit at the same period and duration. A transit leaves only noise
    there; a pulsating or spotted star folded at its own period (or a harmonic) leaves a bump
    and other dips as strong as the "transit", and an eclipsing binary its secondary. This is
    the Kepler Robovetter's model-shift uniqueness test (Coughlin et al. 2016), on the fold's
    own sums. Zero when the period leaves no other offset.
    """
    curve = phase_mes(num, den, p_cad)
    size = curve.size
    distance = np.abs((np.arange(size) - offset + size // 2) % size - size // 2)
    other = curve[distance > PRIMARY_WIDTHS * width]
    return float(np.max(np.abs(other))) if other.size else 0.0


def periodic_score(
    mes: float, num: np.ndarray, den: np.ndarray, oe_sigma: float, other_sigma: float
) -> float:
    """Score on the MES scale: ``min(MES, robust MES)`` minus what the odd/even difference
    and the strongest other feature of the fold exceed their free sigmas by."""
    penalty = max(0.0, oe_sigma - ODD_EVEN_FREE_SIGMA) if np.isfinite(oe_sigma) else 0.0
    penalty += max(0.0, other_sigma - OTHER_FEATURE_FREE_SIGMA)
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
