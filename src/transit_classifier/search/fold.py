"""Fold single-event sums over trial periods into the multiple-event statistic (MES).

``MES(P, j) = sum_k num[round(j + k P/dt)] / sqrt(sum_k den[...])`` over transits with
``den > 0``. For one period every cadence is visited once across all offsets ``j``, so a
period costs O(n_cadences + P/dt) and a full periodogram O(n_cadences * n_periods).
"""

from dataclasses import dataclass

import numpy as np
from numba import njit


@njit(cache=True)
def _fold_one_period(
    num: np.ndarray,
    den: np.ndarray,
    has: np.ndarray,
    p_cad: float,
    min_transits: int,
    acc_num: np.ndarray,
    acc_den: np.ndarray,
    acc_has: np.ndarray,
) -> tuple[float, int]:
    """Best MES over integer epoch offsets ``j`` for one period (in cadences).

    Because ``j`` is an integer, ``round(j + k P) = j + round(k P)``: transit ``k`` of every
    offset is a contiguous slice starting at ``round(k P)``. Looping over ``k`` outside and
    ``j`` inside turns the fold into slice additions that the compiler vectorises.
    ``num`` must be zero where ``den`` is; ``acc_*`` are scratch arrays of length >= ceil(P).
    """
    n = num.size
    n_off = min(int(np.ceil(p_cad)), n)
    acc_num[:n_off] = 0.0
    acc_den[:n_off] = 0.0
    acc_has[:n_off] = 0.0
    k = 0
    base = 0
    while base < n:
        stop = min(n_off, n - base)
        seg_num = num[base : base + stop]  # views: non-negative indices, so it vectorises
        seg_den = den[base : base + stop]
        seg_has = has[base : base + stop]
        for j in range(stop):
            acc_num[j] += seg_num[j]
            acc_den[j] += seg_den[j]
            acc_has[j] += seg_has[j]
        k += 1
        base = int(k * p_cad + 0.5)
    best = -np.inf
    best_j = -1
    for j in range(n_off):
        if acc_has[j] >= min_transits and acc_den[j] > 0.0:
            mes = acc_num[j] / np.sqrt(acc_den[j])
            if mes > best:
                best = mes
                best_j = j
    return best, best_j


@njit(cache=True)
def _fold_periods(
    num: np.ndarray, den: np.ndarray, periods_cad: np.ndarray, min_transits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Loop :func:`_fold_one_period` over a period grid (the algorithm is this loop)."""
    mes = np.empty(periods_cad.size)
    epoch = np.empty(periods_cad.size, dtype=np.int64)
    has = (den > 0.0).astype(np.float64)
    size = int(np.ceil(periods_cad.max())) + 1
    acc_num, acc_den, acc_has = np.empty(size), np.empty(size), np.empty(size)
    for i in range(periods_cad.size):
        mes[i], epoch[i] = _fold_one_period(
            num, den, has, periods_cad[i], min_transits, acc_num, acc_den, acc_has
        )
    return mes, epoch


@dataclass(frozen=True)
class Periodogram:
    """Best MES per trial period for one box width, with the offset that achieves it."""

    periods: np.ndarray
    mes: np.ndarray
    epoch_index: np.ndarray
    width: int

    @property
    def best(self) -> int:
        """Index of the highest-MES period (-1 if no period had enough transits)."""
        if self.mes.size == 0 or not np.isfinite(self.mes).any():
            return -1
        return int(np.nanargmax(np.where(np.isfinite(self.mes), self.mes, np.nan)))


def fold_periodogram(
    num: np.ndarray,
    den: np.ndarray,
    periods_days: np.ndarray,
    dt: float,
    width: int,
    min_transits: int = 2,
) -> Periodogram:
    """Fold one row of generic (num, den) sums over the given periods.

    Parameters
    ----------
    num, den : ndarray
        Per-cadence numerator (positive for dips) and inverse-variance denominator; ``den <= 0``
        marks a cadence with no usable data. Any statistic in this form can be folded.
    periods_days : ndarray
        Trial periods.
    dt : float
        Cadence (days); periods are folded in cadence units.
    width : int
        Box width in cadences, only recorded with the result.
    min_transits : int
        Offsets with fewer transits that have data score ``-inf``.
    """
    periods_cad = np.ascontiguousarray(periods_days / dt, dtype=np.float64)
    den = np.ascontiguousarray(den, dtype=np.float64)
    num = np.ascontiguousarray(np.where(den > 0.0, num, 0.0), dtype=np.float64)
    if periods_cad.size == 0:
        return Periodogram(periods_days, np.empty(0), np.empty(0, dtype=np.int64), width)
    mes, epoch = _fold_periods(num, den, periods_cad, int(min_transits))
    return Periodogram(periods=np.asarray(periods_days), mes=mes, epoch_index=epoch, width=width)
