"""Inject transits into real or synthetic noise at a chosen MES-like SNR, and measure that SNR.

Why a MES-like SNR
------------------
The synthetic set's ``snr`` counts white noise only, but the same light curves
carry red noise, granulation and fast rotation, so a "white SNR 10" transit can
be undetectable by any method. Kepler's pipeline quotes the multiple-event
statistic (MES): transit depth over the light curve's own noise on the transit's
time scale, times the square root of the number of transits. :func:`mes` is that
quantity, measured the way an astronomer would:

* ``depth``: the mean in-transit depth of the injected (or KOI) model, the
  depth a box matched filter sees;
* ``sigma_dur``: 1.4826 MAD of the running mean over ``n_dur`` cadences (the
  transit duration) of the *detrended* light curve with the transits and gaps
  masked, a CDPP at the transit's own duration. The detrending is the
  network's, at the shortest of its windows that is at least three transit
  durations long (wotan's rule of thumb; :func:`select_flat`), so a long
  transit is not measured against a window that would erase it;
* ``sqrt(n_in / n_dur)``: the square root of the number of observed transits
  (partial ones counted by their observed fraction).

An ideal matched filter that knows the ephemeris then detects a transit of
MES ``m`` at false-alarm threshold ``z`` with probability ``Phi(m - z)``
(:func:`matched_filter_recall`): the ceiling every recall-vs-MES figure shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from transit_classifier.cadence import MINUTES_PER_DAY
from transit_classifier.robust import difference_sigma, mad_sigma, nanmedian
from transit_classifier.signal.preprocess import (
    PreprocessSettings,
    as_batch,
    flatten_all,
)

from .orbits import transit_offset
from .settings import SimulateSettings

MAX_DEPTH = 0.05  # injected depths stay planetary (Rp/R* ~ 0.22) even in very noisy hosts
MIN_OBSERVED = 2  # fewer observed in-transit cadences is no transit at long cadence
REDRAWS = 4  # shapes redrawn for hosts whose gaps swallowed the transit
TRANSIT_WINDOW_FACTOR = 3.0  # a detrending window this many durations long keeps a transit


@dataclass(frozen=True)
class Bank:
    """Unit-depth transit shapes on the window grid (:func:`transits.transit_shapes`)."""

    shapes: np.ndarray  # (m, L) float32 in [0, 1]
    meta: pd.DataFrame  # period_days, t0_days, duration_hours, rp_rs, b

    def __len__(self) -> int:
        return len(self.shapes)


def make_bank(
    sim: SimulateSettings, size: int, rng: np.random.Generator, period_days: Sequence[float]
) -> Bank:
    """A seeded bank of ``size`` batman transit trains with the synthesize stage's physics.

    ``period_days`` bounds the log-uniform periods: training uses
    ``inject.period_days`` (long periods too, for single long transits), the
    benchmark uses ``synthetic.period_days``, the recipe the baselines were tuned for.
    """
    from .transits import transit_shapes

    depth = (50.0, sim.max_depth_ppm)
    shapes, meta = transit_shapes(sim.with_periods(period_days), size, rng, depth)
    return Bank(shapes, meta)


def duration_cadences(shapes: np.ndarray) -> np.ndarray:
    """Cadences inside one transit: in-transit cadences over the number of transits drawn.

    Counted from the noiseless shape, so it needs no ephemeris bookkeeping.
    """
    inside = shapes > 0
    starts = inside & ~np.pad(inside, ((0, 0), (1, 0)))[:, :-1]
    n_transits = np.maximum(starts.sum(axis=1), 1)
    return np.maximum(np.rint(inside.sum(axis=1) / n_transits), 1).astype(np.int64)


def noise_at_duration(flat: np.ndarray, exclude: np.ndarray, n_dur: np.ndarray) -> np.ndarray:
    """Robust scatter of the ``n_dur``-cadence running mean of each row (CDPP-like), in flux units.

    Running means touching a gap (NaN) or an ``exclude``-d cadence are left
    out, so transits do not inflate the noise they are measured against.
    """
    flat = as_batch(flat)
    n, length = flat.shape
    centred = flat - nanmedian(np.where(exclude, np.nan, flat), axis=1, keepdims=True)
    bad = ~np.isfinite(centred) | exclude
    sums = np.pad(np.cumsum(np.where(bad, 0.0, centred), axis=1), ((0, 0), (1, 0)))
    nbad = np.pad(np.cumsum(bad, axis=1), ((0, 0), (1, 0)))
    start = np.arange(length)[None, :]
    end = np.minimum(start + n_dur[:, None], length)
    ok = (start + n_dur[:, None] <= length) & (
        np.take_along_axis(nbad, end, axis=1) - nbad[:, :length] == 0
    )
    means = (np.take_along_axis(sums, end, axis=1) - sums[:, :length]) / n_dur[:, None]
    means = np.where(ok, means, np.nan)
    return mad_sigma(means, axis=1)


def mes(
    flat: np.ndarray, depth_profile: np.ndarray, observed: np.ndarray, n_dur: np.ndarray
) -> np.ndarray:
    """MES-like SNR of transits with in-transit depth ``depth_profile`` (flux units, 0 outside).

    Parameters
    ----------
    flat
        Detrended light curves (n, L), NaN at gaps, the same detrending as the network's.
    depth_profile
        (n, L) transit depth per cadence, e.g. ``depth * shape``.
    observed
        (n, L) cadences with data.
    n_dur
        (n,) cadences per transit.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> flat = 1 + 1e-3 * rng.standard_normal((1, 4000))
    >>> profile = np.zeros((1, 4000)); profile[0, 1000:1010] = 1e-3
    >>> round(float(mes(flat, profile, np.isfinite(flat), np.array([10]))[0]), 0)
    3.0
    """
    inside = depth_profile > 0
    sigma = noise_at_duration(flat, inside, n_dur)
    seen = inside & observed
    n_in = seen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(seen, depth_profile, 0.0).sum(axis=1) / n_in
        value = depth / sigma * np.sqrt(n_in / n_dur)
    return np.where(n_in > 0, value, 0.0)


def white_noise(flat: np.ndarray) -> np.ndarray:
    """Per-cadence white noise: 1.4826 MAD of point-to-point differences over sqrt(2)."""
    return difference_sigma(as_batch(flat))


def white_snr(flat: np.ndarray, depth_profile: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """The synthesize stage's SNR: depth over white noise x sqrt(observed in-transit cadences)."""
    seen = (depth_profile > 0) & observed
    n_in = seen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(seen, depth_profile, 0.0).sum(axis=1) / n_in
        return np.where(n_in > 0, depth / white_noise(flat) * np.sqrt(n_in), 0.0)


def matched_filter_recall(mes_values: np.ndarray, false_alarm: float) -> np.ndarray:
    """Recall of an ideal known-ephemeris matched filter at false-alarm rate ``false_alarm``."""
    return norm.cdf(np.asarray(mes_values, float) - norm.isf(false_alarm))


@dataclass(frozen=True)
class Injected:
    """Light curves with one injected transit train each, and what was injected."""

    flux: np.ndarray  # (k, L) raw flux with the transit
    host: np.ndarray  # (k,) host row index
    table: pd.DataFrame  # bank index, period, t0, duration, depth_ppm, mes, white_snr


def select_flat(flats: np.ndarray, n_dur: np.ndarray, settings: PreprocessSettings) -> np.ndarray:
    """Per row, the flattening at the shortest window >= 3 transit durations (else the longest).

    ``flats`` is :func:`detrended` output ``(windows, n, L)``; returns ``(n, L)``.
    """
    windows = np.asarray(settings.detrend_windows_days, dtype=np.float64)
    duration_days = n_dur * settings.cadence_minutes / MINUTES_PER_DAY
    long_enough = windows[None, :] >= TRANSIT_WINDOW_FACTOR * duration_days[:, None]
    choice = np.where(long_enough.any(axis=1), long_enough.argmax(axis=1), windows.size - 1)
    return flats[choice, np.arange(flats.shape[1])]


def _draw_shapes(
    bank: Bank, observed: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bank index, time reversal and (reversed) shape of one transit per host.

    A shape whose transit the host's gaps hide is redrawn, up to :data:`REDRAWS` times.
    """
    k = len(observed)
    pick = rng.integers(0, len(bank), size=k)
    for _ in range(REDRAWS):
        n_seen = ((bank.shapes[pick] > 0) & observed).sum(axis=1)
        redo = n_seen < MIN_OBSERVED
        if not redo.any():
            break
        pick[redo] = rng.integers(0, len(bank), size=int(redo.sum()))
    shapes = bank.shapes[pick].astype(np.float64)
    flip = rng.random(k) < 0.5
    shapes[flip] = shapes[flip, ::-1]
    return pick, flip, shapes


def inject(
    hosts: np.ndarray,
    host_flats: np.ndarray,
    bank: Bank,
    target_mes: np.ndarray,
    rng: np.random.Generator,
    host_index: np.ndarray,
    settings: PreprocessSettings,
) -> Injected:
    """Multiply transits into hosts so each reaches its target MES against the host's own noise.

    ``host_flats`` is the hosts' :func:`detrended` flux (computed once,
    reused every epoch); ``settings`` the preprocessing settings. A host
    whose gaps hide the drawn transit gets a new shape (up to :data:`REDRAWS`
    times) and is dropped if none fits. Shapes are time-reversed at random,
    which keeps them physical and doubles their variety.

    Returns
    -------
    Injected
        Only the hosts that received a transit; ``table`` records the depth and
        the MES actually reached (lower than the target where the depth cap binds).
    """
    observed = np.isfinite(hosts[host_index])
    pick, flip, shapes = _draw_shapes(bank, observed, rng)
    keep = ((shapes > 0) & observed).sum(axis=1) >= MIN_OBSERVED
    n_dur = duration_cadences(shapes)
    flat = select_flat(host_flats[:, host_index], n_dur, settings)
    unit = mes(flat, shapes, observed, n_dur)  # MES of a unit-depth transit
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.minimum(target_mes / unit, MAX_DEPTH)
    keep &= np.isfinite(depth) & (depth > 0)
    flux = hosts[host_index][keep] * (1.0 - depth[keep, None] * shapes[keep])
    meta = bank.meta.iloc[pick[keep]].reset_index(drop=True)
    table = meta.assign(
        bank_index=pick[keep],
        reversed=flip[keep],
        depth_ppm=depth[keep] * 1e6,
        mes=depth[keep] * unit[keep],
        white_snr=depth[keep] * white_snr(flat[keep], shapes[keep], observed[keep]),
        target_mes=target_mes[keep],
        n_dur=n_dur[keep],
    )
    return Injected(flux, host_index[keep], table)


def uniform_in_bins(edges: np.ndarray, per_bin: int, rng: np.random.Generator) -> np.ndarray:
    """``per_bin`` values uniform within each bin of ``edges``, in bin order."""
    edges = np.asarray(edges, dtype=np.float64)
    low, high = np.repeat(edges[:-1], per_bin), np.repeat(edges[1:], per_bin)
    return low + (high - low) * rng.random(low.size)


def expected_koi_mes(
    time: np.ndarray,
    flats: np.ndarray,
    kepid: np.ndarray,
    koi: pd.DataFrame,
    settings: PreprocessSettings,
) -> np.ndarray:
    """Expected MES of the most detectable CONFIRMED planet in each real window.

    The KOI table's depth (ppm) as a box of the KOI's duration at its
    predicted transit times, measured against the window's own noise at that
    duration (:func:`injection.mes`, the network's detrending chosen by
    :func:`injection.select_flat`; ``flats`` is :func:`injection.detrended`
    output). Windows of stars without a confirmed planet get 0.
    """
    cadence_days = settings.cadence_days
    out = np.zeros(len(time))
    observed = np.isfinite(flats[0])
    confirmed = koi.loc[koi["koi_disposition"] == "CONFIRMED"]
    for row in confirmed.itertuples():
        rows = np.flatnonzero(kepid == row.kepid)
        if not rows.size or not row.koi_period > 0:
            continue
        half = row.koi_duration / 48.0
        inside = np.abs(transit_offset(time[rows], row.koi_period, row.koi_time0bk)) <= half
        n_dur = np.full(rows.size, max(int(round(2 * half / cadence_days)), 1))
        flat = select_flat(flats[:, rows], n_dur, settings)
        value = mes(flat, inside * row.koi_depth * 1e-6, observed[rows], n_dur)
        out[rows] = np.maximum(out[rows], value)
    return out


def synthetic_mes(
    flux: np.ndarray, meta: pd.DataFrame, sim: SimulateSettings, settings: PreprocessSettings
) -> np.ndarray:
    """MES-like SNR of the synthesize stage's positives (NaN for negatives).

    The noiseless batman model of each positive (:func:`transits.transit_models`)
    gives the in-transit depth profile; the noise is the light curve's own,
    after the network's detrending, transits masked.
    """
    from .transits import transit_models

    out = np.full(len(meta), np.nan)
    positive = np.flatnonzero(meta["label"].to_numpy() == 1)
    if not positive.size:
        return out
    profile = 1.0 - transit_models(sim, meta.iloc[positive])
    cadence_days = settings.cadence_days
    hours = meta["duration_hours"].to_numpy()[positive]
    n_dur = np.maximum(np.rint(hours / 24.0 / cadence_days), 1).astype(np.int64)
    rows = np.asarray(flux, dtype=np.float64)[positive]
    flat = select_flat(flatten_all(rows, settings), n_dur, settings)
    out[positive] = mes(flat, profile, np.isfinite(rows), n_dur)
    return out
