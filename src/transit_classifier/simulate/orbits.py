"""Circular-orbit transit geometry and ephemerides, shared by simulation and labelling.

The synthesize stage draws planets whose a/R*, duration and depth must be
mutually consistent, and the Kepler windows are labelled from KOI ephemerides:
both rest on the few closed-form relations here (Kepler's third law, the T14
chord, the small-planet limb-darkened depth and the phase offset from the
nearest mid-transit), so simulation and labelling cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from transit_classifier.cadence import SECONDS_PER_DAY

from .settings import SimulateSettings

G_CGS = 6.674e-8


def semi_major_axis(period_days: np.ndarray, density_cgs: np.ndarray) -> np.ndarray:
    """a/R* from Kepler's third law, ``(G rho P^2 / 3 pi)^(1/3)`` (planet mass neglected).

    Examples
    --------
    >>> round(float(semi_major_axis(365.25, 1.41)))  # the Earth around the Sun
    215
    """
    period_s = np.asarray(period_days) * SECONDS_PER_DAY
    return np.cbrt(G_CGS * np.asarray(density_cgs) * period_s**2 / (3 * np.pi))


def transit_duration(
    period: np.ndarray, a_rs: np.ndarray, rp_rs: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Total duration T14 (first to fourth contact) of a circular-orbit transit, in days."""
    chord = np.sqrt(np.clip((1 + rp_rs) ** 2 - b**2, 0, None))
    return period / np.pi * np.arcsin(np.clip(chord / np.sqrt(a_rs**2 - b**2), 0, 1))


def max_duration(period: np.ndarray, a_rs: np.ndarray) -> np.ndarray:
    """Upper bound on T14 for any Rp/R* <= 1 and any b (central transit of k = 1).

    Window placement and gap protection use it before Rp/R* is known.
    """
    return period / np.pi * np.arcsin(np.clip(2 / a_rs, 0, 1))


def limb_darkened_depth(
    rp_rs: np.ndarray, b: np.ndarray, u1: np.ndarray, u2: np.ndarray
) -> np.ndarray:
    """Small-planet depth: k^2 times the disc intensity under the planet over the mean.

    Exact for ``k -> 0`` and within a few per cent for k <= 0.15; it seeds the
    exact ``batman`` solve and bounds what tests may expect.
    """
    mu = np.sqrt(np.clip(1 - b**2, 0, None))
    local = 1 - u1 * (1 - mu) - u2 * (1 - mu) ** 2
    return rp_rs**2 * local / (1 - u1 / 3 - u2 / 6)


def transit_offset(time: np.ndarray, period: Any, t0: Any) -> np.ndarray:
    """Days from the nearest predicted mid-transit ``t0 + n * period`` (phase folding).

    ``period`` and ``t0`` broadcast against ``time``, so ``(n, 1)`` columns fold
    many orbits at once.

    Examples
    --------
    >>> transit_offset(np.array([0.0, 2.9, 3.2, 9.0]), 3.0, 0.1).round(3).tolist()
    [-0.1, -0.2, 0.1, -0.1]
    """
    return np.mod(time - t0 + 0.5 * period, period) - 0.5 * period


def transit_near(
    t_start: np.ndarray, t_end: np.ndarray, period: float, t0: float, pad: float
) -> np.ndarray:
    """Whether a predicted mid-transit lies within ``pad`` days of each ``[t_start, t_end]``."""
    first = np.ceil((t_start - pad - t0) / period)
    last = np.floor((t_end + pad - t0) / period)
    return last >= first


def in_transit(time: np.ndarray, t0: np.ndarray, period: np.ndarray, t14: np.ndarray) -> np.ndarray:
    """(n, L) mask of cadence mid-times within T14 / 2 of any mid-transit time."""
    return np.abs(transit_offset(time, period[:, None], t0[:, None])) < t14[:, None] / 2


def count_complete(
    time: np.ndarray,
    t0: np.ndarray,
    period: np.ndarray,
    t14: np.ndarray,
    gap_lo: np.ndarray,
    gap_hi: np.ndarray,
) -> np.ndarray:
    """Transits lying wholly inside the window and touching no gap cadence (t0: first one)."""
    epochs = np.arange(int(np.ceil((time[-1] - time[0]) / period.min(initial=np.inf))) + 1)
    centre = t0[:, None] + epochs * period[:, None]
    inside = centre + t14[:, None] / 2 <= time[-1]
    hit = (gap_lo[:, None] <= centre + t14[:, None] / 2) & (
        gap_hi[:, None] >= centre - t14[:, None] / 2
    )
    return (inside & ~hit).sum(axis=1)


def log_uniform(rng: np.random.Generator, bounds: list[float], n: int) -> np.ndarray:
    """``n`` draws log-uniform over ``bounds``: periods, SNRs and noise levels span decades."""
    lo, hi = bounds
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def draw_orbits(
    syn: SimulateSettings, time: np.ndarray, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Orbit, star and target SNR of ``n`` planets, with a mid-transit time ``t0``.

    ``t0`` is uniform over one period, shifted so that the ``min_transits``
    transits from ``t0`` on are complete for any Rp/R* (T14 bounded with k = 1).
    """
    period = log_uniform(rng, syn.period_days, n)
    density = rng.uniform(*syn.stellar_density_cgs, n)
    a_rs = semi_major_axis(period, density)
    t14_max = max_duration(period, a_rs)
    first = time[0] + t14_max / 2
    last = time[-1] - t14_max / 2 - (syn.min_transits - 1) * period
    t0 = first + rng.uniform(0, 1, n) * np.minimum(period, last - first)
    return {
        "period_days": period,
        "stellar_density_cgs": density,
        "a_rs": a_rs,
        "u1": rng.uniform(*syn.limb_darkening_u1, n),
        "u2": rng.uniform(*syn.limb_darkening_u2, n),
        "impact_fraction": rng.uniform(*syn.impact_fraction, n),
        "snr": log_uniform(rng, syn.snr, n),
        "t0_days": t0,
        "t14_max": t14_max,
    }
