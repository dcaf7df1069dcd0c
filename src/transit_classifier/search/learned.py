"""The learned single-event statistic on a whole light curve, in the fold's (num, den) form.

:mod:`transit_classifier.learn.cadence_head` gives per-cadence in-transit logits for one
window. A light curve of any length is cut into windows of the network's length, a quarter
of a window apart (each cadence is seen up to four times, away from the window edges where
the convolutions see padding), and the logits are averaged per cadence. Standardised and
negated, they read like a detrended flux with dips at transits, so the box matched filter,
its running scatter at each duration (:func:`.ses.at_duration_noise`, which absorbs the
logits' correlation between neighbouring cadences) and the fold apply unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from astropy.stats import mad_std

from transit_classifier.learn.cadence_head import cadence_logits
from transit_classifier.signal.preprocess import PreprocessSettings, preprocess

from .candidates import Candidate, SearchResult
from .ses import SingleEventStats, box_single_event_stats, noise_sigma
from .stats import PPM, odd_even_sigma, slot_sums, transit_slots, weighted_depth

STATISTICS = ("box", "learned", "combined")
"""What the search folds (``search.statistic``): see :func:`folded_series`."""

WINDOW_STRIDE_FRACTION = 0.25
MIN_WINDOW_COVERAGE = 0.5
"""A window with less than this share of cadences present is not scored (too sparse)."""


def window_starts(n: int, length: int) -> np.ndarray:
    """Window starts a quarter window apart over ``n`` cadences, the last flush with the end."""
    stride = max(1, int(length * WINDOW_STRIDE_FRACTION))
    last = max(n - length, 0)
    starts = np.arange(0, last + 1, stride)
    return starts if starts[-1] == last else np.append(starts, last)


def cadence_evidence(
    flux: np.ndarray, length: int, logits: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Per-cadence mean logit of every window covering it (NaN at gaps and unscored cadences).

    ``flux`` is the raw relative flux on a uniform grid (NaN at gaps); ``logits`` maps raw
    windows ``(k, length)`` to logits ``(k, length)``. A light curve shorter than one window
    is padded with gaps.
    """
    flux = np.asarray(flux, dtype=float)
    padded = np.concatenate([flux, np.full(max(0, length - flux.size), np.nan)])
    starts = window_starts(padded.size, length)
    windows = padded[starts[:, None] + np.arange(length)]
    keep = np.isfinite(windows).mean(axis=1) >= MIN_WINDOW_COVERAGE
    total, count = np.zeros(padded.size), np.zeros(padded.size)
    if keep.any():
        for start, row in zip(starts[keep], logits(windows[keep]), strict=True):
            total[start : start + length] += row
            count[start : start + length] += 1
    mean = np.divide(total, count, out=np.full(padded.size, np.nan), where=count > 0)
    return np.where(np.isfinite(flux), mean[: flux.size], np.nan)


def as_dips(evidence: np.ndarray) -> np.ndarray:
    """Evidence standardised (median 0, robust sigma 1) and negated: transits become dips."""
    finite = evidence[np.isfinite(evidence)]
    if finite.size < 3 or not mad_std(finite) > 0:
        return np.full_like(evidence, np.nan)
    return -(evidence - np.median(finite)) / mad_std(finite)


def evidence_dips(
    flux: np.ndarray, length: int, logits: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """The learned series of a raw light curve: :func:`cadence_evidence`, then :func:`as_dips`."""
    return as_dips(cadence_evidence(flux, length, logits))


def network_evidence(head: Any, info: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Raw gridded flux -> learned series, with the cadence ``head`` on the window network
    whose ``model.json`` is ``info`` (its windows and preprocessing, exactly as trained)."""
    settings = PreprocessSettings.from_model(info["preprocess"])
    length = int(info["input_length"])

    def logits(windows: np.ndarray) -> np.ndarray:
        return cadence_logits(head, preprocess(windows, settings))

    return lambda flux: evidence_dips(flux, length, logits)


def folded_series(statistic: str, flat: np.ndarray, dips: np.ndarray, dt: float) -> np.ndarray:
    """The per-cadence series the search folds, for ``learned`` and ``combined``.

    ``flat`` is the detrended flux the box statistic folds, ``dips`` the learned series
    (:func:`evidence_dips`). ``combined`` adds the flux in units of its running scatter to the
    learned series, divided by sqrt(2): each cadence's evidence from both, on one scale
    (``reports/learned_ses.md`` compares the three on validation stars). A cadence no window
    could score (a light curve, or a stretch, less than half a window long) keeps the flux's
    evidence alone, on the same unit scale, so short light curves are still searched.
    """
    if statistic == "learned":
        return dips
    flux_dips = flat / noise_sigma(flat, None, dt)
    return np.where(np.isfinite(dips), (flux_dips + dips) / np.sqrt(2.0), flux_dips)


def learned_ses(dips: np.ndarray) -> Callable[..., SingleEventStats]:
    """A ``ses`` function for :func:`.candidates.search` that folds the learned statistic.

    The search hands it the flux with found transits masked (NaN); the same cadences are
    masked in the learned series, so find-and-mask works as with the box statistic.
    """

    def ses(flux: np.ndarray, sigma: np.ndarray, widths: np.ndarray, dt: float) -> SingleEventStats:
        series = np.where(np.isfinite(flux), dips, np.nan)
        return box_single_event_stats(series, noise_sigma(series, None, dt), widths, dt)

    return ses


def _in_flux(
    candidate: Candidate, flux: np.ndarray, sigma: np.ndarray, t0: float, dt: float
) -> Candidate:
    """One candidate's depth, odd/even and secondary measured by the box statistic in flux."""
    width = max(1, int(round(candidate.duration_hours / 24.0 / dt)))
    stats = box_single_event_stats(flux, sigma, np.array([width]), dt)
    times = np.asarray(candidate.transit_times, dtype=float)
    slots = np.round((times - t0) / dt - (width - 1) / 2.0).astype(np.int64)
    inside = (slots >= 0) & (slots < flux.size)
    slots, times = slots[inside], times[inside]
    num, den, has = slot_sums(stats, 0, slots)
    depth, error = weighted_depth(num[has], den[has])
    changes = {"depth_ppm": depth * PPM, "depth_err_ppm": error * PPM}
    if candidate.period is not None and slots.size:
        cycle = np.round((times - times[0]) / candidate.period).astype(np.int64)
        half = transit_slots(int(slots[0]), candidate.period / dt, flux.size, 0.5)
        s_num, s_den, s_has = slot_sums(stats, 0, half)
        changes["odd_even_sigma"] = odd_even_sigma(num[has], den[has], cycle[has])
        changes["secondary_depth_ppm"] = weighted_depth(s_num[s_has], s_den[s_has])[0] * PPM
    return replace(candidate, **changes)


def in_flux_units(
    result: SearchResult, time: np.ndarray, flux: np.ndarray, flux_err: np.ndarray | None
) -> SearchResult:
    """Candidates found on a learned series, with depths measured in the detrended flux.

    The fold of a learned (or combined) series finds the period, epoch and duration, and its
    score is what the null calibrated; but its box depth is in the series' own units. A user
    needs the transit's depth in flux, its odd/even difference and its secondary eclipse, so
    they are measured by the box matched filter at the candidate's own transits.
    """
    dt = float(np.median(np.diff(time)))
    sigma = noise_sigma(flux, flux_err, dt)
    found = [_in_flux(c, flux, sigma, float(time[0]), dt) for c in result.candidates]
    return replace(result, candidates=found)
