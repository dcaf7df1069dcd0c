"""An observed light curve on the search's one cadence grid, then detrended.

The window network cuts 20-day windows; the search wants the whole light curve at once: every
segment (quarter, sector) on one regular grid of the model cadence, gaps as NaN, normalised by
its own median. :func:`detrended` then flattens each segment on its own with the wotan biweight
the network's inputs use (:func:`transit_classifier.signal.preprocess.flatten`), so a quarter
boundary never becomes a step. Injections go in between the two, into the raw flux.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from transit_classifier.errors import UserError
from transit_classifier.signal.preprocess import clean_outliers, flatten
from transit_classifier.signal.windowing import Segment, to_segments
from transit_classifier.sources.lightcurve import Observations

MIN_SEARCH_DAYS = 1.0  # shorter than this holds no transit with an out-of-transit baseline


@dataclass(frozen=True)
class SearchGrid:
    """A whole light curve on one regular grid.

    ``flux`` is relative flux (each segment's median is 1) before :func:`detrended`, and
    detrended flux - 1 after it; NaN marks missing cadences, ``segment`` labels each cadence.
    ``flux_err`` is the input's flux error in the same relative units (None when the input
    gave none; NaN where a cadence's error is unknown).
    """

    name: str
    time: np.ndarray
    flux: np.ndarray
    segment: np.ndarray
    cadence_days: float
    flux_err: np.ndarray | None = None

    @property
    def span_days(self) -> float:
        return float(self.time[-1] - self.time[0]) if self.time.size else 0.0


def _grid_index(segments: list[Segment], cadence_days: float) -> list[np.ndarray]:
    """Each segment's cadences as indices into one grid: Kepler cadence numbers where every
    segment has them, else each segment's start time rounded to the cadence."""
    if all(s.first_cadence > 0 for s in segments):
        first = min(s.first_cadence for s in segments)
        return [s.first_cadence - first + np.arange(s.flux.size) for s in segments]
    t0 = min(s.time[0] for s in segments)
    return [int(round((s.time[0] - t0) / cadence_days)) + np.arange(s.flux.size) for s in segments]


def search_grid(obs: Observations, cadence_days: float) -> SearchGrid:
    """Lay ``obs`` on one regular grid, each segment normalised by its median.

    Raises
    ------
    UserError
        If no segment has data, or the light curve spans less than :data:`MIN_SEARCH_DAYS`.

    Examples
    --------
    >>> from transit_classifier.sources.lightcurve import make_observations
    >>> t = np.arange(0, 10, 29.4244 / 1440)
    >>> grid = search_grid(make_observations("flat", "csv", t, 5 + 0 * t), 29.4244 / 1440)
    >>> grid.flux.size == t.size, float(np.nanmax(grid.flux))
    (True, 1.0)
    """
    segments = [s for s in to_segments(obs, cadence_days) if np.isfinite(s.flux).sum() >= 3]
    if not segments:
        raise UserError(f"{obs.name}: no segment with data to search")
    index = _grid_index(segments, cadence_days)
    n = int(max(i[-1] for i in index)) + 1
    time = segments[0].time[0] - index[0][0] * cadence_days + np.arange(n) * cadence_days
    flux, label = np.full(n, np.nan), np.full(n, -1, np.int64)
    for segment, where in zip(segments, index, strict=True):
        flux[where], label[where] = segment.flux, segment.label
    grid = SearchGrid(obs.name, time, flux, label, cadence_days)
    grid = replace(grid, flux_err=_error_grid(obs, grid))
    if grid.span_days < MIN_SEARCH_DAYS:
        raise UserError(
            f"{obs.name}: spans {grid.span_days:.2f} days; the search needs at least "
            f"{MIN_SEARCH_DAYS:g} day of data"
        )
    return grid


def _error_grid(obs: Observations, grid: SearchGrid) -> np.ndarray | None:
    """``obs.flux_err`` on ``grid``, relative to each segment's median flux.

    The errors go through the flux's own cadence gridding (:func:`to_segments`, as if they
    were flux; an unknown error counts as its segment's median), then each segment is put
    back on the relative scale of its flux.
    """
    if obs.flux_err is None:
        return None
    out = np.full(grid.flux.size, np.nan)
    for label in np.unique(grid.segment[grid.segment >= 0]):
        sel = obs.segment == label
        error = obs.flux_err[sel]
        good = np.isfinite(error) & (error > 0)
        if not good.any():
            continue
        typical = float(np.median(error[good]))
        part = replace(
            obs,
            flux=np.where(good, error, typical),
            flux_err=None,
            time=obs.time[sel],
            segment=obs.segment[sel],
            cadenceno=_select(obs.cadenceno, sel),
        )
        (seg,) = to_segments(part, grid.cadence_days)
        start = int(np.searchsorted(grid.time, seg.time[0] - 0.5 * grid.cadence_days))
        out[start : start + seg.flux.size] = seg.flux * typical / np.median(obs.flux[sel])
    return out


def _select(values: np.ndarray | None, sel: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[sel]


def detrended(grid: SearchGrid, window_days: float) -> SearchGrid:
    """``grid`` with every segment divided by its ``window_days`` biweight trend, minus 1."""
    flux = np.full(grid.flux.size, np.nan)
    for label in np.unique(grid.segment[grid.segment >= 0]):
        where = np.flatnonzero(grid.segment == label)
        part = slice(where[0], where[-1] + 1)
        flux[part] = flatten(grid.flux[part], "biweight", window_days, grid.cadence_days)[0] - 1
    return replace(grid, flux=flux)


def cleaned(flat: SearchGrid, clip_high_sigma: float) -> SearchGrid:
    """A detrended grid without upward outliers (flares, cosmic rays) and lone one-cadence
    dips (:func:`~transit_classifier.signal.preprocess.clean_outliers`): a transit is never
    upward and always spans two long cadences or more."""
    return replace(flat, flux=clean_outliers(flat.flux[None] + 1.0, clip_high_sigma)[0] - 1.0)
