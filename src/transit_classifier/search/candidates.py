"""Iterative search: fold, pick the best candidate, mask it, search again.

Score (the number the false-alarm calibration thresholds) is built as follows:

* periodic: ``score = min(MES, robust MES) - max(0, odd_even_sigma - 3)
  - max(0, other_feature_sigma - 3) - median periodogram MES``, where the robust MES drops
  the strongest single event and rescales by ``sqrt(n / (n - 1))`` (equal to the MES for
  equal transits, near zero when one event carries the period), the other feature is the
  strongest dip or bump elsewhere in the folded light curve (:func:`.stats.other_feature_sigma`)
  and the median is taken over the iteration's periodogram (:func:`_above_floor`); only
  offsets with at least ``min_transits`` transits that have data (box at least half filled)
  are folded at all.
* single: ``score = SES`` of the strongest box over all widths.

Each iteration compares the best periodic candidate (highest MES) with the best single event
and keeps the one with the higher MES; the search stops when that falls below ``SCORE_FLOOR``.
The two kinds' scores live on different scales and are calibrated apart.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from transit_classifier.errors import UserError

from .fold import Periodogram, fold_periodogram
from .grid import period_grid
from .ses import SingleEventStats, box_single_event_stats, noise_sigma
from .stats import (
    PPM,
    UNIFORM_QUANTISATION,
    ephemeris_errors,
    odd_even_sigma,
    other_feature_sigma,
    periodic_score,
    slot_sums,
    transit_slots,
    weighted_depth,
)

SCORE_FLOOR = 7.1
"""Kepler's detection threshold (MES 7.1, Jenkins et al. 2010): a candidate below it is not
reported and the search stops there. A periodic score is its MES less the periodogram's median
and penalties, so a candidate this weak rarely passes even the 1% false-alarm threshold; on a
quiet star the floor spares the search most of its find-and-mask folds (``bench/RESULTS.md``)."""

MIN_PERIODOGRAM = 10
"""Fewer trial periods than this give no typical fold to measure a periodic score from."""

MASK_MARGIN_WIDTHS = 1
"""Masked region around each found transit, in box widths on either side."""

HOURS_PER_DAY = 24.0

SesFunction = Callable[[np.ndarray, np.ndarray, np.ndarray, float], SingleEventStats]
"""``(flux, sigma, widths, dt) -> SingleEventStats``: any per-cadence statistic as (num, den)."""


@dataclass(frozen=True)
class Candidate:
    """One detection; ``period`` and its error are None for a single event."""

    period: float | None
    period_err: float | None
    epoch: float
    epoch_err: float
    duration_hours: float
    depth_ppm: float
    depth_err_ppm: float
    mes: float
    score: float
    n_transits: int
    odd_even_sigma: float
    secondary_depth_ppm: float
    transit_times: list[float]
    single_event_ses: list[float]
    kind: str
    other_feature_sigma: float = float("nan")


@dataclass(frozen=True)
class SearchResult:
    """Candidates in detection order plus the first iteration's periodogram."""

    candidates: list[Candidate]
    periods: np.ndarray
    power: np.ndarray
    best_periodic: float
    best_single: float
    n_cadences: int

    def best(self, kind: str) -> float:
        """The light curve's best score of ``kind`` (``periodic`` or ``single``): the first
        iteration's, reported even below the floor, or a later candidate's if higher. A light
        curve is flagged when any of its candidates passes, so the false-alarm null is made of
        these."""
        first = self.best_periodic if kind == "periodic" else self.best_single
        return max([first, *(c.score for c in self.candidates if c.kind == kind)])


def _periodic(stats: SingleEventStats, pgram: Periodogram, row: int, t0: float) -> Candidate:
    """Candidate statistics at the best period of one width's periodogram."""
    n, dt, width = stats.numerator.shape[1], stats.dt, int(stats.widths[row])
    best = pgram.best
    period = float(pgram.periods[best])
    p_cad = period / dt
    slots = transit_slots(int(pgram.epoch_index[best]), p_cad, n)
    cycle = np.arange(slots.size)
    num, den, has = slot_sums(stats, row, slots)
    num, den, cycle, slots = num[has], den[has], cycle[has], slots[has]
    mes = float(np.sum(num) / np.sqrt(np.sum(den)))
    depth, depth_err = weighted_depth(num, den)
    oe = odd_even_sigma(num, den, cycle)
    other = other_feature_sigma(
        stats.numerator[row], stats.denominator[row], p_cad, int(pgram.epoch_index[best]), width
    )
    sec_num, sec_den, sec_has = slot_sums(stats, row, transit_slots(slots[0], p_cad, n, 0.5))
    step = period * (pgram.periods[1] / pgram.periods[0] - 1.0) if pgram.periods.size > 1 else 0.0
    period_err, epoch_err = ephemeris_errors(cycle, mes, width * dt, dt, step)
    times = t0 + (slots + (width - 1) / 2.0) * dt
    return Candidate(
        period=period,
        period_err=period_err,
        epoch=float(times[0]),
        epoch_err=epoch_err,
        duration_hours=width * dt * HOURS_PER_DAY,
        depth_ppm=depth * PPM,
        depth_err_ppm=depth_err * PPM,
        mes=mes,
        score=periodic_score(mes, num, den, oe, other),
        n_transits=int(slots.size),
        odd_even_sigma=oe,
        secondary_depth_ppm=weighted_depth(sec_num[sec_has], sec_den[sec_has])[0] * PPM,
        transit_times=times.tolist(),
        single_event_ses=(num / np.sqrt(den)).tolist(),
        kind="periodic",
        other_feature_sigma=other,
    )


def _single(stats: SingleEventStats, t0: float) -> Candidate | None:
    """The strongest single box over all widths, as a candidate without a period."""
    ses = stats.ses
    if not np.any(stats.denominator > 0):
        return None
    row, idx = np.unravel_index(int(np.argmax(ses)), ses.shape)
    width, dt = int(stats.widths[row]), stats.dt
    num, den = stats.numerator[row, idx], stats.denominator[row, idx]
    epoch = t0 + (idx + (width - 1) / 2.0) * dt
    return Candidate(
        period=None,
        period_err=None,
        epoch=float(epoch),
        epoch_err=dt / UNIFORM_QUANTISATION,
        duration_hours=width * dt * HOURS_PER_DAY,
        depth_ppm=num / den * PPM,
        depth_err_ppm=PPM / np.sqrt(den),
        mes=float(ses[row, idx]),
        score=float(ses[row, idx]),
        n_transits=1,
        odd_even_sigma=float("nan"),
        secondary_depth_ppm=float("nan"),
        transit_times=[float(epoch)],
        single_event_ses=[float(ses[row, idx])],
        kind="single",
    )


def _periodograms(stats: SingleEventStats, span: float, grid_kw: dict) -> list[Periodogram]:
    """One periodogram per width, each on its own period grid."""
    out = []
    for row, width in enumerate(stats.widths):
        periods = period_grid(span, int(width), stats.dt, **grid_kw)
        out.append(
            fold_periodogram(
                stats.numerator[row],
                stats.denominator[row],
                periods,
                stats.dt,
                int(width),
                grid_kw["min_transits"],
            )
        )
    return out


def _envelope(pgrams: list[Periodogram]) -> tuple[np.ndarray, np.ndarray]:
    """Max-over-widths MES on the densest period grid (the user-facing periodogram)."""
    ref = max(pgrams, key=lambda p: p.periods.size)
    power = np.full(ref.periods.size, -np.inf)
    for pg in pgrams:
        if pg.periods.size == 0:
            continue
        pos = np.clip(np.searchsorted(ref.periods, pg.periods), 0, ref.periods.size - 1)
        np.maximum.at(power, pos, pg.mes)
    return ref.periods, power


def _mask(flux: np.ndarray, cand: Candidate, t0: float, dt: float) -> np.ndarray:
    """NaN the cadences of every transit of ``cand`` (all cycles) plus a margin."""
    width = int(round(cand.duration_hours / HOURS_PER_DAY / dt))
    start = int(round((cand.epoch - t0) / dt - (width - 1) / 2.0))
    if cand.period is None:
        slots = np.array([start])
    else:
        p_cad = cand.period / dt
        slots = start + np.round(np.arange(-1, flux.size / p_cad + 1) * p_cad).astype(np.int64)
    offsets = np.arange(-MASK_MARGIN_WIDTHS * width, (1 + MASK_MARGIN_WIDTHS) * width)
    cells = (slots[:, None] + offsets[None, :]).ravel()
    out = flux.copy()
    out[cells[(cells >= 0) & (cells < flux.size)]] = np.nan
    return out


def _best_candidates(
    stats: SingleEventStats, pgrams: list[Periodogram], t0: float
) -> tuple[Candidate | None, Candidate | None]:
    """The best periodic candidate and the best single event of one iteration."""
    rows = [r for r, pg in enumerate(pgrams) if pg.best >= 0]
    periodic = None
    if rows:
        row = max(rows, key=lambda r: pgrams[r].mes[pgrams[r].best])
        periodic = _periodic(stats, pgrams[row], row, t0)
    return periodic, _single(stats, t0)


def _score(candidate: Candidate | None) -> float:
    return candidate.score if candidate is not None else float("-inf")


def _mes(candidate: Candidate | None) -> float:
    return candidate.mes if candidate is not None else float("-inf")


def _above_floor(candidate: Candidate | None, power: np.ndarray) -> Candidate | None:
    """A periodic candidate's score minus the median MES of its periodogram (every trial
    period's best fold): how far the candidate stands above the star's typical best fold.

    A variable or noisy star raises the MES at every period at once; a transit train raises
    one peak and its aliases. The SDE of BLS and TLS also divides by the periodogram's spread,
    but a strong train widens that spread itself (its aliases), so the SDE saturates: on null
    light curves of training stars and injections into validation stars (a development study),
    subtracting the median alone recovered more injections in every MES bin, most of all above
    MES 15, at the same false-alarm probability.
    """
    finite = power[np.isfinite(power)]
    if candidate is None or finite.size < MIN_PERIODOGRAM:
        return candidate
    return replace(candidate, score=candidate.score - float(np.median(finite)))


def _find_and_mask(
    flux: np.ndarray,
    sigma: np.ndarray,
    ses_fn: SesFunction,
    widths: np.ndarray,
    dt: float,
    t0: float,
    grid_kw: dict,
    max_candidates: int,
) -> SearchResult:
    """Find the best candidate, mask its transits, repeat; keep iteration 0's periodogram."""
    span = (flux.size - 1) * dt
    work = np.asarray(flux, dtype=float).copy()
    found: list[Candidate] = []
    periods, power, first = np.empty(0), np.empty(0), (float("-inf"), float("-inf"))
    for it in range(max_candidates):
        stats = ses_fn(work, sigma, widths, dt)
        pgrams = _periodograms(stats, span, grid_kw)
        periodic, single = _best_candidates(stats, pgrams, t0)
        envelope = _envelope(pgrams)
        periodic = _above_floor(periodic, envelope[1])
        if it == 0:
            periods, power = envelope
            first = (_score(periodic), _score(single))
        cand = periodic if _mes(periodic) >= _mes(single) else single
        if cand is None or cand.mes < SCORE_FLOOR:
            break
        found.append(cand)
        work = _mask(work, cand, t0, dt)
    return SearchResult(found, periods, power, *first, int(flux.size))


def search(
    time: np.ndarray,
    flux: np.ndarray,
    flux_err: np.ndarray | None = None,
    *,
    durations_hours: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 4.5, 6.0, 9.0, 13.0),
    period_min: float = 0.5,
    period_max: float | None = None,
    min_transits: int = 2,
    oversample: float = 2.0,
    max_candidates: int = 6,
    ses: SesFunction | None = None,
) -> SearchResult:
    """Search a uniformly gridded, detrended light curve for transits.

    Parameters
    ----------
    time, flux, flux_err : ndarray
        Uniform-cadence time (days), relative flux (~0 out of transit, NaN at gaps) and
        optional relative errors (see :func:`to_grid`, :func:`detrend`).
    durations_hours : tuple of float
        Box widths searched (rounded to whole cadences).
    period_min, period_max, min_transits, oversample
        Period grid (see :func:`period_grid`); a transit train needs ``min_transits``
        transits with data. ``oversample=2`` bounds the grid drift to half a box; for
        multi-year light curves ``oversample=1`` or a ``period_max`` halves the cost.
    max_candidates : int
        Iterations of find-and-mask (the search stops earlier below ``SCORE_FLOOR``).
    ses : callable, optional
        ``ses(flux, sigma, widths, dt) -> SingleEventStats``, to replace the box statistic
        (e.g. by a learned one); the fold and candidate statistics only see (num, den).
    """
    time = np.asarray(time, dtype=float)
    if time.size < 2:
        raise UserError(f"a search needs at least 2 cadences, got {time.size}")
    dt = float(np.median(np.diff(time)))
    hours = np.asarray(durations_hours, dtype=float)
    widths = np.unique(np.maximum(1, np.round(hours / HOURS_PER_DAY / dt))).astype(np.int64)
    grid_kw = dict(
        period_min=period_min,
        period_max=period_max,
        min_transits=min_transits,
        oversample=oversample,
    )
    return _find_and_mask(
        np.asarray(flux, dtype=float),
        noise_sigma(flux, flux_err, dt),
        box_single_event_stats if ses is None else ses,
        widths,
        dt,
        float(time[0]),
        grid_kw,
        max_candidates,
    )
