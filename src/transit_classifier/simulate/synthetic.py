"""Synthetic Kepler long-cadence light curves, with and without transits.

Real Kepler transits are too few to train a network on, so most examples are
simulated. To be useful the simulation must look like Kepler photometry to the
network: both classes carry the same white and correlated noise, stellar
rotation and granulation, a slow instrumental drift, data gaps and outliers, so
that the only thing telling a positive from a negative is the transit itself.

Transits come from ``batman`` (quadratic limb darkening, integrated over the
29.4-minute exposure) with physically consistent parameters: a/R* follows from
the period and a drawn stellar density through Kepler's third law, the impact
parameter keeps every transit complete (non-grazing, ``b < 1 - Rp/R*``), and the
mid-transit time is random but leaves at least ``synthetic.min_transits``
complete transits inside the window, clear of data gaps.

Difficulty is an explicit choice: each positive gets a target signal-to-noise

    SNR = depth / sigma * sqrt(n_in)

where ``depth`` is the deepest point of the noiseless model as sampled at the
Kepler cadences, ``sigma`` the white-noise level per cadence and ``n_in`` the
number of observed cadences whose mid-times fall inside a transit (within
T14 / 2 of a mid-transit time). Rp/R* is solved so that the model's depth
matches ``snr * sigma / sqrt(n_in)``, capped at ``synthetic.max_depth_ppm``; the
recorded ``snr`` is recomputed from the depth actually reached (within 0.1 % of the
target, or a few per cent where n_in sits on a cadence boundary; lower if capped).

This module assembles the pieces: :mod:`~transit_classifier.simulate.orbits` draws the
planets, :mod:`~transit_classifier.simulate.noise` the stars and their gaps, and
:mod:`~transit_classifier.simulate.transits` solves each batman model for its SNR.
"""

from __future__ import annotations

from typing import NoReturn

import numpy as np
import pandas as pd
from tqdm import tqdm

from transit_classifier.errors import UserError
from transit_classifier.seeding import make_rng

from .noise import draw_gaps, draw_stars, nuisances
from .orbits import count_complete, draw_orbits, max_duration, semi_major_axis
from .settings import SimulateSettings
from .transits import solve_transits

MIN_A_RS = 2.0  # a closer orbit would graze the star's surface
CHUNK = 512  # light curves simulated at once: bounds memory, paces the progress bar

TRANSIT_COLUMNS = [
    "period_days",
    "t0_days",
    "rp_rs",
    "b",
    "a_rs",
    "inc_deg",
    "u1",
    "u2",
    "stellar_density_cgs",
    "depth_ppm",
    "duration_hours",
    "snr",
]
META_COLUMNS = [
    "label",
    *TRANSIT_COLUMNS[:-1],
    "n_transits",
    "n_in_transit",
    "sigma_ppm",
    "cdpp_ppm",
    "snr",
    "red_noise_ppm",
    "red_noise_timescale_hours",
    "variability_ppm",
    "rotation_period_days",
    "granulation_ppm",
    "granulation_timescale_hours",
    "trend_ppm",
    "pulsation_ppm",
    "pulsation_modes",
    "gap_start_days",
    "gap_length_days",
    "n_outliers",
]


def _fail(key: str, why: str, fix: str) -> NoReturn:
    """Raise the one-line ``UserError`` of a broken ``synthetic`` cross-key rule."""
    raise UserError(f"params.yaml: synthetic.{key} {why}; {fix}")


def check_params(sim: SimulateSettings) -> None:
    """Cross-key rules the per-key schema cannot express.

    Raises
    ------
    UserError
        One line naming the keys and how to fix them, when the closest orbit
        would sit inside its star, the longest period cannot fit
        ``min_transits`` complete transits in the window, limb darkening gives a
        negative or limb-brightened disc, or a gap could swallow half the window.
    """
    time = sim.time()
    span = time[-1] - time[0]
    _check_orbits(sim, span)
    _check_limb_darkening(sim)
    if sim.gap_length_days[1] > span / 2:
        _fail(
            "gap_length_days",
            f"maximum {sim.gap_length_days[1]} d exceeds half the {span:.1f}-day window",
            f"keep it at most {span / 2:.1f} d",
        )


def _check_orbits(sim: SimulateSettings, span: float) -> None:
    """The closest orbit clears its star; the longest fits ``min_transits`` transits."""
    (p_lo, p_hi), (rho_lo, _) = sim.period_days, sim.stellar_density_cgs
    a_min = float(semi_major_axis(p_lo, rho_lo))
    if a_min < MIN_A_RS:
        _fail(
            "period_days",
            f"minimum {p_lo} d with stellar_density_cgs minimum {rho_lo} gives a/R* = "
            f"{a_min:.2f} < {MIN_A_RS}",
            "raise the minimum period or density",
        )
    m = sim.min_transits
    need = (m - 1) * p_hi + float(max_duration(p_hi, semi_major_axis(p_hi, rho_lo)))
    if need > span:
        _fail(
            "period_days",
            f"maximum {p_hi} d cannot fit min_transits = {m} complete transits in the "
            f"{span:.1f}-day window",
            "lower the maximum period or synthetic.min_transits",
        )


def _check_limb_darkening(sim: SimulateSettings) -> None:
    """The quadratic law stays positive and limb-darkened over the whole drawn range."""
    (u1_lo, u1_hi), (u2_lo, u2_hi) = sim.limb_darkening_u1, sim.limb_darkening_u2
    if u1_hi + u2_hi > 1:
        _fail(
            "limb_darkening_u2",
            f"maximum {u2_hi} with u1 maximum {u1_hi} makes the limb intensity negative",
            "keep max u1 + max u2 <= 1",
        )
    if u1_lo + 2 * u2_lo < 0:
        _fail(
            "limb_darkening_u2",
            f"minimum {u2_lo} with u1 minimum {u1_lo} makes the limb brighter than the centre",
            "keep min u1 + 2 * min u2 >= 0",
        )


def _check_inputs(labels: np.ndarray, snr: np.ndarray | None) -> None:
    """Reject labels other than 0/1 and SNR overrides that no transit could meet."""
    if labels.ndim != 1 or not np.isin(labels, (0, 1)).all():
        raise UserError("synthetic labels must be a 1-D array of 0 and 1; pass integer labels")
    if snr is not None:
        if snr.shape != labels.shape:
            raise UserError(
                f"snr override has shape {snr.shape}, labels {labels.shape}; pass one per label"
            )
        if not (np.isfinite(snr[labels == 1]) & (snr[labels == 1] > 0)).all():
            raise UserError("snr override must be finite and > 0 for every positive")


def _gaps(
    sim: SimulateSettings,
    time: np.ndarray,
    orbit: dict[str, np.ndarray],
    pos: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaps as (start, length) in cadences and an (n, L) mask, clear of each positive's
    first ``min_transits`` transits (padded by a cadence)."""
    m = sim.min_transits
    protect = np.full((n, m), np.nan)
    half = np.zeros(n)
    protect[pos] = orbit["t0_days"][:, None] + np.arange(m) * orbit["period_days"][:, None]
    half[pos] = orbit["t14_max"] / 2 + (time[1] - time[0])
    start, length = draw_gaps(sim, time, protect, half, rng)
    cadence = np.arange(time.size)
    mask = (cadence >= start[:, None]) & (cadence < (start + length)[:, None])
    return start, length, mask


def _planet_columns(
    orbit: dict[str, np.ndarray],
    solved: dict[str, np.ndarray],
    sigma: np.ndarray,
    time: np.ndarray,
    gap_lo: np.ndarray,
    gap_hi: np.ndarray,
) -> dict[str, np.ndarray]:
    """Metadata of the positives; t0 becomes the first transit that starts inside the window."""
    period, t14 = orbit["period_days"], solved["t14"]
    t0 = orbit["t0_days"] - period * np.floor((orbit["t0_days"] - t14 / 2 - time[0]) / period)
    return {
        "period_days": period,
        "t0_days": t0,
        "rp_rs": solved["rp_rs"],
        "b": solved["b"],
        "a_rs": orbit["a_rs"],
        "inc_deg": np.degrees(np.arccos(solved["b"] / orbit["a_rs"])),
        "u1": orbit["u1"],
        "u2": orbit["u2"],
        "stellar_density_cgs": orbit["stellar_density_cgs"],
        "depth_ppm": solved["depth"] * 1e6,
        "duration_hours": t14 * 24,
        "snr": solved["depth"] / sigma * np.sqrt(solved["n_in"]),
        "n_transits": count_complete(time, t0, period, t14, gap_lo, gap_hi),
        "n_in_transit": solved["n_in"].astype(np.int64),
    }


def _simulate_chunk(
    sim: SimulateSettings,
    labels: np.ndarray,
    rng: np.random.Generator,
    snr: np.ndarray | None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Draw stars, orbits and gaps, solve the transits, add nuisances; one chunk of labels."""
    time = sim.time()
    dt = time[1] - time[0]
    pos = np.flatnonzero(labels == 1)
    stars = draw_stars(sim, labels.size, dt, rng)
    sigma = stars["sigma_ppm"].to_numpy() * 1e-6
    orbit = draw_orbits(sim, time, pos.size, rng)
    if snr is not None:
        orbit["snr"] = snr[pos]
    gap_start, gap_len, gap = _gaps(sim, time, orbit, pos, labels.size, rng)

    model = np.ones((labels.size, time.size))
    model[pos], solved = solve_transits(orbit, sigma[pos], ~gap[pos], time, sim)
    stellar, noise, n_outliers = nuisances(sim, stars, time, rng)
    flux = model * stellar + noise
    flux[gap] = np.nan

    has_gap = gap_len > 0
    gap_lo = np.where(has_gap, time[gap_start], np.inf)
    gap_hi = np.where(has_gap, time[np.maximum(gap_start + gap_len - 1, 0)], -np.inf)
    meta = pd.DataFrame({"label": labels.astype(np.int64), "n_transits": 0, "n_in_transit": 0})
    meta[TRANSIT_COLUMNS] = np.nan
    planets = _planet_columns(orbit, solved, sigma[pos], time, gap_lo[pos], gap_hi[pos])
    for column, value in planets.items():
        meta.loc[pos, column] = value
    meta = pd.concat([meta, stars], axis=1)
    meta["gap_start_days"] = np.where(has_gap, time[gap_start], np.nan)
    meta["gap_length_days"] = gap_len * dt
    meta["n_outliers"] = n_outliers
    return flux.astype(np.float32), meta[META_COLUMNS]


def simulate(
    sim: SimulateSettings,
    labels: np.ndarray,
    rng: np.random.Generator,
    snr: np.ndarray | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Simulate one light curve per label (1 = transiting planet, 0 = none).

    Parameters
    ----------
    sim
        The stage's simulation settings (window grid and ``synthetic`` keys).
    labels
        0/1 array of length n.
    rng
        Source of every random draw, so a seeded generator gives identical output.
    snr
        Optional per-label target SNR (read for positives only) replacing the
        draw from ``synthetic.snr``; any positive value is allowed, which is how
        injection-recovery tests probe SNRs below the training range. Every other
        draw is unchanged, so the same stars and noise are reused.
    progress
        Show a tqdm bar.

    Returns
    -------
    flux
        float32 (n, L) relative flux near 1, NaN in data gaps.
    meta
        One row per light curve with :data:`META_COLUMNS` (no ``id``); transit
        columns are NaN and counts 0 for negatives.
    """
    check_params(sim)
    labels = np.asarray(labels)
    snr = None if snr is None else np.asarray(snr, dtype=float)
    _check_inputs(labels, snr)
    fluxes, metas = [], []
    with tqdm(total=labels.size, disable=not progress, unit="lc", desc="synthesize") as bar:
        for start in range(0, labels.size, CHUNK):
            part = slice(start, start + CHUNK)
            chunk_snr = None if snr is None else snr[part]
            flux, meta = _simulate_chunk(sim, labels[part], rng, chunk_snr)
            fluxes.append(flux)
            metas.append(meta)
            bar.update(flux.shape[0])
    size = sim.window_length
    flux = np.concatenate(fluxes) if fluxes else np.empty((0, size), np.float32)
    meta = pd.concat(metas, ignore_index=True) if metas else pd.DataFrame(columns=META_COLUMNS)
    return flux, meta


def synthesize_dataset(sim: SimulateSettings) -> tuple[np.ndarray, pd.DataFrame]:
    """The stage's whole data set: negatives plus ``round(negatives * transit_ratio)`` positives.

    Positives are shuffled among negatives with their own seeded stream, so the
    ``id`` order reveals nothing about the label.
    """
    n_neg = sim.synthetic_negatives
    n_pos = int(round(n_neg * sim.transit_ratio))
    if n_pos < 1:
        raise UserError(
            f"params.yaml: dataset.synthetic_negatives = {n_neg} with transit_ratio = "
            f"{sim.transit_ratio} gives no positives; raise either"
        )
    labels = np.concatenate([np.zeros(n_neg, np.int64), np.ones(n_pos, np.int64)])
    labels = make_rng(sim.seed, "synthesize", "order").permutation(labels)
    flux, meta = simulate(sim, labels, make_rng(sim.seed, "synthesize"), progress=True)
    meta.insert(0, "id", [f"syn-{i:06d}" for i in range(labels.size)])
    return flux, meta
