"""Stellar and instrumental nuisances of the synthetic light curves.

Both classes must carry the same non-transit signal, or the network would learn
to tell them apart by something other than the transit. Each star gets a white
noise level (from a log-uniform 6.5-hour CDPP), correlated noise, rotational
spot modulation, granulation, coherent pulsations (a share of the stars), a
slow instrumental drift, outliers and at most one data gap; the draws are
identical for positives and negatives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.polynomial import legendre

from .orbits import log_uniform
from .settings import SimulateSettings

CDPP_HOURS = 6.5
AMPLITUDE_FLOOR_PPM = 10.0  # amplitudes are log-uniform above this, ~uniform below
GAP_TRIES = 50
HARMONIC_MAX = (0.5, 0.25)  # 2nd and 3rd rotation harmonics, relative to the fundamental
TREND_ORDER = 3


def _amplitude(rng: np.random.Generator, bounds: list[float], n: int) -> np.ndarray:
    """Amplitudes spanning decades: log-uniform above ~10 ppm, about flat below.

    ``lo + F * ((hi - lo + F) / F) ** u - F`` with u uniform maps exactly onto
    [lo, hi] and is exactly ``lo`` when the range is empty (switched off).
    """
    lo, hi = bounds
    floor = AMPLITUDE_FLOOR_PPM
    return lo + floor * ((hi - lo + floor) / floor) ** rng.uniform(0, 1, n) - floor


def draw_stars(
    syn: SimulateSettings, n: int, cadence_days: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Noise level and nuisance parameters of ``n`` stars (both classes alike)."""
    cdpp = log_uniform(rng, syn.cdpp_ppm, n)
    sigma = cdpp * np.sqrt(CDPP_HOURS / (cadence_days * 24))
    pulsating = rng.uniform(0, 1, n) < syn.pulsator_fraction
    modes = syn.pulsation_modes
    return pd.DataFrame(
        {
            "sigma_ppm": sigma,
            "cdpp_ppm": cdpp,
            "red_noise_ppm": sigma * rng.uniform(*syn.red_noise_ratio, n),
            "red_noise_timescale_hours": log_uniform(rng, syn.red_noise_timescale_hours, n),
            "variability_ppm": _amplitude(rng, syn.variability_ppm, n),
            "rotation_period_days": log_uniform(rng, syn.rotation_period_days, n),
            "granulation_ppm": _amplitude(rng, syn.granulation_ppm, n),
            "granulation_timescale_hours": log_uniform(rng, syn.granulation_timescale_hours, n),
            "trend_ppm": _amplitude(rng, syn.trend_ppm, n),
            "pulsation_ppm": np.where(pulsating, _amplitude(rng, syn.pulsation_ppm, n), 0.0),
            "pulsation_modes": np.where(pulsating, rng.integers(modes[0], modes[1] + 1, n), 0),
        }
    )


def _overlaps(lo: np.ndarray, hi: np.ndarray, centre: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Whether [lo, hi] meets any [centre - half, centre + half] (centre: (n, m), NaN ignored)."""
    hit = (lo[:, None] <= centre + half[:, None]) & (hi[:, None] >= centre - half[:, None])
    return hit.any(axis=1)


def draw_gaps(
    syn: SimulateSettings,
    time: np.ndarray,
    protect: np.ndarray,
    half: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One contiguous gap per light curve with ``gap_probability``, as (start, length) cadences.

    A gap is redrawn while it touches a protected transit ((n, m) mid-times,
    NaN for none, half-width ``half``) so positives keep their complete
    transits; after ``GAP_TRIES`` failures the light curve keeps no gap.
    """
    n, size = protect.shape[0], time.size
    cadence = time[1] - time[0]
    wanted = rng.uniform(0, 1, n) < syn.gap_probability
    length = np.rint(rng.uniform(*syn.gap_length_days, n) / cadence).astype(np.int64)
    length = np.where(wanted, np.minimum(length, size), 0)
    start = np.zeros(n, dtype=np.int64)
    todo = length > 0
    for _ in range(GAP_TRIES):
        idx = np.flatnonzero(todo)
        if idx.size == 0:
            break
        start[idx] = rng.integers(0, size - length[idx] + 1)
        last = start[idx] + length[idx] - 1
        todo[idx] = _overlaps(time[start[idx]], time[last], protect[idx], half[idx])
    length[todo] = 0
    return start, length


def _ar1(sigma: np.ndarray, tau: np.ndarray, dt: float, eps: np.ndarray) -> np.ndarray:
    """Stationary AR(1) (a sampled Ornstein-Uhlenbeck process) of std ``sigma``, time ``tau``.

    Each light curve has its own coefficient, which scipy.signal.lfilter cannot
    take per row, so the recursion steps along time with all rows at once.
    """
    phi = np.exp(-dt / tau)
    drive = sigma * np.sqrt(1 - phi**2)
    out = np.empty_like(eps)
    out[:, 0] = sigma * eps[:, 0]
    for j in range(1, eps.shape[1]):
        out[:, j] = phi * out[:, j - 1] + drive * eps[:, j]
    return out


def _rotation(stars: pd.DataFrame, time: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Spot modulation: a fundamental at the rotation period plus two weaker harmonics."""
    n = len(stars)
    weights = np.column_stack([np.ones(n), *(rng.uniform(0, h, n) for h in HARMONIC_MAX)])
    phases = rng.uniform(0, 2 * np.pi, (n, weights.shape[1]))
    order = np.arange(1, weights.shape[1] + 1)
    freq = order / stars["rotation_period_days"].to_numpy()[:, None]
    waves = np.sin(2 * np.pi * freq[:, :, None] * time + phases[:, :, None])
    return (
        stars["variability_ppm"].to_numpy()[:, None]
        * 1e-6
        * np.einsum("nh,nhl->nl", weights, waves)
    )


def _pulsation(
    syn: SimulateSettings, stars: pd.DataFrame, time: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Beating pulsation modes: delta Scuti p-modes, sdB and gamma Dor g-modes.

    Their minima are as deep as a transit and recur every few hours, which
    detrending windows of a day leave whole: the commonest false alarm of a
    transit finder on real Kepler stars (a model trained without them flagged
    many validation pulsators at its 1% threshold: ``studies/decision_rules.py``).
    ``pulsation_ppm`` is shared among the star's modes by a flat Dirichlet draw.
    """
    n, most = len(stars), syn.pulsation_modes[1]
    active = np.arange(most) < stars["pulsation_modes"].to_numpy()[:, None]
    shares = rng.gamma(1.0, 1.0, (n, most)) * active
    shares /= np.where(active.any(axis=1), shares.sum(axis=1), 1.0)[:, None]
    freq = 24.0 / log_uniform(rng, syn.pulsation_period_hours, n * most).reshape(n, most)
    phases = rng.uniform(0, 2 * np.pi, (n, most))
    waves = np.sin(2 * np.pi * freq[:, :, None] * time + phases[:, :, None])
    amplitude = stars["pulsation_ppm"].to_numpy()[:, None] * 1e-6 * shares
    return np.einsum("nm,nml->nl", amplitude, waves)


def _trend(amplitude_ppm: np.ndarray, time: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slow instrumental drift: a random Legendre polynomial scaled to peak ``amplitude``."""
    x = 2 * (time - time[0]) / (time[-1] - time[0]) - 1
    basis = legendre.legvander(x, TREND_ORDER)[:, 1:]
    shape = rng.standard_normal((amplitude_ppm.size, TREND_ORDER)) @ basis.T
    peak = np.abs(shape).max(axis=1, keepdims=True)
    return amplitude_ppm[:, None] * 1e-6 * shape / np.where(peak > 0, peak, 1)


def _outliers(
    syn: SimulateSettings, sigma: np.ndarray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Sparse spikes (cosmic rays mostly positive), ``outlier_sigma`` times the white noise."""
    hit = rng.uniform(0, 1, (sigma.size, size)) < syn.outlier_fraction
    rows = np.nonzero(hit)[0]
    sign = np.where(rng.uniform(0, 1, rows.size) < syn.outlier_positive_fraction, 1.0, -1.0)
    spikes = np.zeros((sigma.size, size))
    spikes[hit] = sign * rng.uniform(*syn.outlier_sigma, rows.size) * sigma[rows]
    return spikes


def nuisances(
    syn: SimulateSettings,
    stars: pd.DataFrame,
    time: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(stellar factor, additive noise, outlier count) of every star.

    Rotation, pulsation and granulation modulate the star, so they multiply the transit;
    the instrumental drift multiplies everything the detector sees; red and
    white noise and outliers are added by the detector.
    """
    n, size, dt = len(stars), time.size, time[1] - time[0]
    sigma = stars["sigma_ppm"].to_numpy() * 1e-6
    modulation = _rotation(stars, time, rng) + _pulsation(syn, stars, time, rng)
    red_gran = _ar1(
        np.concatenate([stars["red_noise_ppm"], stars["granulation_ppm"]]) * 1e-6,
        np.concatenate([stars["red_noise_timescale_hours"], stars["granulation_timescale_hours"]])
        / 24,
        dt,
        rng.standard_normal((2 * n, size)),
    )
    drift = 1 + _trend(stars["trend_ppm"].to_numpy(), time, rng)
    noise = red_gran[:n] + sigma[:, None] * rng.standard_normal((n, size))
    spikes = _outliers(syn, sigma, size, rng)
    stellar = (1 + modulation + red_gran[n:]) * drift
    return stellar, noise + spikes, np.count_nonzero(spikes, axis=1)
