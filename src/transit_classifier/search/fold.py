"""Fold single-event sums over trial periods into the multiple-event statistic (MES).

``MES(P, j) = sum_k num[round(j + k P/dt)] / sqrt(sum_k den[...])`` over transits with
``den > 0``. For one period every cadence is visited once across all offsets ``j``, so a
period costs O(n_cadences + P/dt) and a full periodogram O(n_cadences * n_periods).

The kernel is hand-written numba because the fold is this loop and it is nearly all of the
search's time (profile and timings: ``bench/RESULTS.md``, "Whole-quarter search"). What
keeps it cheap without changing a single result bit: offsets are folded in blocks small enough
for the accumulators to stay in the L1 cache, four transits per pass over them; only ``num``
and ``den`` are folded, the count of transits with data being checked only for an offset about
to become the best; offsets that cannot hold ``min_transits`` transits are not folded; and an
offset whose MES provably cannot beat the best so far skips its square root and division.
Every offset's sums are still added in the same transit order, so every MES is the same float.
"""

from dataclasses import dataclass

import numpy as np
from numba import njit

BLOCK = 128
"""Offsets folded at once: their two accumulators stay in the L1 cache, and a block that
cannot hold a new best is skipped whole after one vectorised pass (smaller blocks skip more)."""

PRUNE = 1.0 - 1e-9
"""An offset is skipped when ``num**2 < PRUNE * best**2 * den``: its MES is then below the
best by a relative 5e-10 at least, far beyond the few-ulp rounding of either side, so the
skip never changes which offset wins nor its value."""


@njit(cache=True)
def _transit_starts(p_cad: float, n: int, out: np.ndarray) -> int:
    """Fill ``out`` with ``round(k P)`` for every transit ``k`` starting inside the grid;
    return how many. Same rounding as :func:`.stats.transit_slots`."""
    k = 0
    base = 0
    while base < n:
        out[k] = base
        k += 1
        base = int(k * p_cad + 0.5)
    return k


@njit(cache=True)
def _enough_transits(
    has: np.ndarray, starts: np.ndarray, count: int, j: int, min_transits: int
) -> bool:
    """Whether offset ``j`` has at least ``min_transits`` transits with data."""
    total = 0
    for k in range(count):
        total += has[starts[k] + j]
    return total >= min_transits


@njit(cache=True)
def _may_beat(a: float, d: float, best: float, bound: float) -> bool:
    """Cheap test that ``a / sqrt(d)`` can exceed ``best`` (``bound`` is ``PRUNE * best**2``);
    bitwise operators keep it free of unpredictable branches."""
    return (d > 0.0) & ((best <= 0.0) | ((a > 0.0) & (a * a >= bound * d)))


@njit(cache=True)
def _any_may_beat(
    acc_num: np.ndarray, acc_den: np.ndarray, m: int, best: float, bound: float
) -> bool:
    """Whether any offset of a block passes :func:`_may_beat`: a branch-free pass the compiler
    vectorises, so a block that cannot hold a new best is not walked offset by offset."""
    hit = False
    for i in range(m):
        hit |= _may_beat(acc_num[i], acc_den[i], best, bound)
    return hit


@njit(cache=True)
def _fold_block(
    values: np.ndarray, starts: np.ndarray, count: int, j0: int, m: int, acc: np.ndarray
) -> None:
    """``acc[i] = sum_k values[starts[k] + j0 + i]`` for ``i < m``, added in transit order.

    Four transits go in per pass, still one after the other (``((a + x0) + x1) + ...``, the
    same floats as four passes), so the accumulators are loaded and stored a quarter as often.
    """
    acc[:m] = 0.0
    k = 0
    while k + 4 <= count:
        x0 = values[starts[k] + j0 : starts[k] + j0 + m]  # views: vectorised adds
        x1 = values[starts[k + 1] + j0 : starts[k + 1] + j0 + m]
        x2 = values[starts[k + 2] + j0 : starts[k + 2] + j0 + m]
        x3 = values[starts[k + 3] + j0 : starts[k + 3] + j0 + m]
        for i in range(m):
            acc[i] = acc[i] + x0[i] + x1[i] + x2[i] + x3[i]
        k += 4
    for last in range(k, count):
        x0 = values[starts[last] + j0 : starts[last] + j0 + m]
        for i in range(m):
            acc[i] += x0[i]


@njit(cache=True)
def _fold_one_period(
    num: np.ndarray,
    den: np.ndarray,
    has: np.ndarray,
    n: int,
    p_cad: float,
    min_transits: int,
    starts: np.ndarray,
    acc_num: np.ndarray,
    acc_den: np.ndarray,
) -> tuple[float, int]:
    """Best MES over integer epoch offsets ``j`` for one period (in cadences).

    Because ``j`` is an integer, ``round(j + k P) = j + round(k P)``: transit ``k`` of every
    offset is a contiguous slice starting at ``round(k P)``, so a block of offsets is folded
    by slice additions that the compiler vectorises. ``num``, ``den`` and ``has`` hold ``n``
    cadences followed by at least ``ceil(P)`` zeros: adding a zero leaves a sum's bits as they
    were, so a transit that runs off the grid needs no special case. ``num`` must be zero where
    ``den`` is; ``starts``, ``acc_num`` and ``acc_den`` are scratch arrays.
    """
    count = _transit_starts(p_cad, n, starts)
    n_off = min(int(np.ceil(p_cad)), n)
    if min_transits > 1:  # offsets whose later transits start past the grid never qualify
        n_off = min(n_off, n - starts[min_transits - 1]) if count >= min_transits else 0
    best, best_j, bound = -np.inf, -1, 0.0
    for j0 in range(0, n_off, BLOCK):
        m = min(BLOCK, n_off - j0)
        _fold_block(num, starts, count, j0, m, acc_num)
        _fold_block(den, starts, count, j0, m, acc_den)
        if not _any_may_beat(acc_num, acc_den, m, best, bound):
            continue
        for i in range(m):
            if _may_beat(acc_num[i], acc_den[i], best, bound):
                mes = acc_num[i] / np.sqrt(acc_den[i])
                if mes > best and _enough_transits(has, starts, count, j0 + i, min_transits):
                    best, best_j, bound = mes, j0 + i, PRUNE * mes * mes
    return best, best_j


@njit(cache=True)
def _fold_periods(
    num: np.ndarray, den: np.ndarray, periods_cad: np.ndarray, min_transits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Loop :func:`_fold_one_period` over a period grid, on zero-padded copies of the sums."""
    n = num.size
    mes = np.empty(periods_cad.size)
    epoch = np.empty(periods_cad.size, dtype=np.int64)
    size = n + int(np.ceil(periods_cad.max())) + 1
    num_pad, den_pad = np.zeros(size), np.zeros(size)
    has = np.zeros(size, dtype=np.int64)
    num_pad[:n] = num
    den_pad[:n] = den
    has[:n] = den > 0.0
    starts = np.empty(int((n + 1) / periods_cad.min()) + 2, dtype=np.int64)
    acc_num, acc_den = np.empty(BLOCK), np.empty(BLOCK)
    for i in range(periods_cad.size):
        mes[i], epoch[i] = _fold_one_period(
            num_pad, den_pad, has, n, periods_cad[i], min_transits, starts, acc_num, acc_den
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
