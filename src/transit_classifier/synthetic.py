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
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
from numpy.polynomial import legendre
from tqdm import tqdm

from .errors import UserError
from .io import save_figure
from .seeding import make_rng

G_CGS = 6.674e-8
SECONDS_PER_DAY = 86400.0
CDPP_HOURS = 6.5
AMPLITUDE_FLOOR_PPM = 10.0  # amplitudes are log-uniform above this, ~uniform below
MIN_A_RS = 2.0  # a closer orbit would graze the star's surface
K_LIMITS = (1e-4, 0.9)  # Rp/R* search bounds: a planet, not a stellar companion
DEPTH_RTOL = 1e-3  # relative accuracy of the solved depth
MAX_REFINE = 8
GAP_TRIES = 50
HARMONIC_MAX = (0.5, 0.25)  # 2nd and 3rd rotation harmonics, relative to the fundamental
TREND_ORDER = 3
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
    "gap_start_days",
    "gap_length_days",
    "n_outliers",
]
# Ranges zeroed by :func:`white_noise_only`: everything but white noise and the transit.
NUISANCE_RANGES = ("red_noise_ratio", "variability_ppm", "granulation_ppm", "trend_ppm")


# --------------------------------------------------------------------------- physics


def time_grid(params: dict[str, Any]) -> np.ndarray:
    """Cadence mid-times in days from 0, ``dataset.window_length`` of them."""
    ds = params["dataset"]
    return np.arange(ds["window_length"]) * (ds["cadence_minutes"] / 1440.0)


def semi_major_axis(period_days: np.ndarray, density_cgs: np.ndarray) -> np.ndarray:
    """a/R* from Kepler's third law, ``(G rho P^2 / 3 pi)^(1/3)`` (planet mass neglected)."""
    period_s = np.asarray(period_days) * SECONDS_PER_DAY
    return np.cbrt(G_CGS * np.asarray(density_cgs) * period_s**2 / (3 * np.pi))


def transit_duration(
    period: np.ndarray, a_rs: np.ndarray, rp_rs: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Total duration T14 (first to fourth contact) of a circular-orbit transit, in days."""
    chord = np.sqrt(np.clip((1 + rp_rs) ** 2 - b**2, 0, None))
    return period / np.pi * np.arcsin(np.clip(chord / np.sqrt(a_rs**2 - b**2), 0, 1))


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


def _max_duration(period: np.ndarray, a_rs: np.ndarray) -> np.ndarray:
    """Upper bound on T14 for any Rp/R* <= 1 and any b (central transit of k = 1)."""
    return period / np.pi * np.arcsin(np.clip(2 / a_rs, 0, 1))


# --------------------------------------------------------------------------- params


def _fail(key: str, why: str, fix: str) -> NoReturn:
    raise UserError(f"params.yaml: synthetic.{key} {why}; {fix}")


def check_params(params: dict[str, Any]) -> None:
    """Cross-key rules the per-key schema cannot express.

    Raises
    ------
    UserError
        One line naming the keys and how to fix them, when the closest orbit
        would sit inside its star, the longest period cannot fit
        ``min_transits`` complete transits in the window, limb darkening gives a
        negative or limb-brightened disc, or a gap could swallow half the window.
    """
    syn = params["synthetic"]
    time = time_grid(params)
    span = time[-1] - time[0]
    (p_lo, p_hi), (rho_lo, _) = syn["period_days"], syn["stellar_density_cgs"]
    a_min = float(semi_major_axis(p_lo, rho_lo))
    if a_min < MIN_A_RS:
        _fail(
            "period_days",
            f"minimum {p_lo} d with stellar_density_cgs minimum {rho_lo} gives a/R* = "
            f"{a_min:.2f} < {MIN_A_RS}",
            "raise the minimum period or density",
        )
    m = syn["min_transits"]
    need = (m - 1) * p_hi + float(_max_duration(p_hi, semi_major_axis(p_hi, rho_lo)))
    if need > span:
        _fail(
            "period_days",
            f"maximum {p_hi} d cannot fit min_transits = {m} complete transits in the "
            f"{span:.1f}-day window",
            "lower the maximum period or synthetic.min_transits",
        )
    (u1_lo, u1_hi), (u2_lo, u2_hi) = syn["limb_darkening_u1"], syn["limb_darkening_u2"]
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
    if syn["gap_length_days"][1] > span / 2:
        _fail(
            "gap_length_days",
            f"maximum {syn['gap_length_days'][1]} d exceeds half the {span:.1f}-day window",
            f"keep it at most {span / 2:.1f} d",
        )


def white_noise_only(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` whose light curves hold only the transit and white noise.

    Red noise, rotation, granulation, trends, gaps and outliers are switched off,
    so ``flux - transit_models(...)`` is pure Gaussian noise of the recorded
    ``sigma_ppm``: the tests use this to check the physics directly.
    """
    quiet = copy.deepcopy(params)
    syn = quiet["synthetic"]
    for key in NUISANCE_RANGES:
        syn[key] = [0.0, 0.0]
    syn["gap_probability"] = 0.0
    syn["outlier_fraction"] = 0.0
    return quiet


# --------------------------------------------------------------------------- random draws


def _log_uniform(rng: np.random.Generator, bounds: list[float], n: int) -> np.ndarray:
    lo, hi = bounds
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _amplitude(rng: np.random.Generator, bounds: list[float], n: int) -> np.ndarray:
    """Amplitudes spanning decades: log-uniform above ~10 ppm, about flat below.

    ``lo + F * ((hi - lo + F) / F) ** u - F`` with u uniform maps exactly onto
    [lo, hi] and is exactly ``lo`` when the range is empty (switched off).
    """
    lo, hi = bounds
    floor = AMPLITUDE_FLOOR_PPM
    return lo + floor * ((hi - lo + floor) / floor) ** rng.uniform(0, 1, n) - floor


def _draw_stars(
    syn: dict[str, Any], n: int, cadence_days: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Noise level and nuisance parameters of ``n`` stars (both classes alike)."""
    cdpp = _log_uniform(rng, syn["cdpp_ppm"], n)
    sigma = cdpp * np.sqrt(CDPP_HOURS / (cadence_days * 24))
    return pd.DataFrame(
        {
            "sigma_ppm": sigma,
            "cdpp_ppm": cdpp,
            "red_noise_ppm": sigma * rng.uniform(*syn["red_noise_ratio"], n),
            "red_noise_timescale_hours": _log_uniform(rng, syn["red_noise_timescale_hours"], n),
            "variability_ppm": _amplitude(rng, syn["variability_ppm"], n),
            "rotation_period_days": _log_uniform(rng, syn["rotation_period_days"], n),
            "granulation_ppm": _amplitude(rng, syn["granulation_ppm"], n),
            "granulation_timescale_hours": _log_uniform(rng, syn["granulation_timescale_hours"], n),
            "trend_ppm": _amplitude(rng, syn["trend_ppm"], n),
        }
    )


def _draw_orbits(
    syn: dict[str, Any], time: np.ndarray, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Orbit, star and target SNR of ``n`` planets, with a mid-transit time ``t0``.

    ``t0`` is uniform over one period, shifted so that the ``min_transits``
    transits from ``t0`` on are complete for any Rp/R* (T14 bounded with k = 1).
    """
    period = _log_uniform(rng, syn["period_days"], n)
    density = rng.uniform(*syn["stellar_density_cgs"], n)
    a_rs = semi_major_axis(period, density)
    t14_max = _max_duration(period, a_rs)
    first = time[0] + t14_max / 2
    last = time[-1] - t14_max / 2 - (syn["min_transits"] - 1) * period
    t0 = first + rng.uniform(0, 1, n) * np.minimum(period, last - first)
    return {
        "period_days": period,
        "stellar_density_cgs": density,
        "a_rs": a_rs,
        "u1": rng.uniform(*syn["limb_darkening_u1"], n),
        "u2": rng.uniform(*syn["limb_darkening_u2"], n),
        "impact_fraction": rng.uniform(*syn["impact_fraction"], n),
        "snr": _log_uniform(rng, syn["snr"], n),
        "t0_days": t0,
        "t14_max": t14_max,
    }


def _overlaps(lo: np.ndarray, hi: np.ndarray, centre: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Whether [lo, hi] meets any [centre - half, centre + half] (centre: (n, m), NaN ignored)."""
    hit = (lo[:, None] <= centre + half[:, None]) & (hi[:, None] >= centre - half[:, None])
    return hit.any(axis=1)


def _draw_gaps(
    syn: dict[str, Any],
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
    wanted = rng.uniform(0, 1, n) < syn["gap_probability"]
    length = np.rint(rng.uniform(*syn["gap_length_days"], n) / cadence).astype(np.int64)
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


# --------------------------------------------------------------------------- transits


def _in_transit(
    time: np.ndarray, t0: np.ndarray, period: np.ndarray, t14: np.ndarray
) -> np.ndarray:
    """(n, L) mask of cadence mid-times within T14 / 2 of any mid-transit time."""
    phase = (time - t0[:, None] + period[:, None] / 2) % period[:, None] - period[:, None] / 2
    return np.abs(phase) < t14[:, None] / 2


def _solve_depth(
    orbit: dict[str, np.ndarray],
    k: np.ndarray,
    sigma: np.ndarray,
    observed: np.ndarray,
    time: np.ndarray,
    cap: float,
) -> tuple[np.ndarray, ...]:
    """Target depth for a trial Rp/R*: returns (b, T14, n_in, target depth), vectorised."""
    b = orbit["impact_fraction"] * (1 - k)
    t14 = transit_duration(orbit["period_days"], orbit["a_rs"], k, b)
    n_in = (_in_transit(time, orbit["t0_days"], orbit["period_days"], t14) & observed).sum(1)
    target = np.minimum(orbit["snr"] * sigma / np.sqrt(np.maximum(n_in, 1)), cap)
    return b, t14, n_in, target


def _seed_radius(
    orbit: dict[str, np.ndarray],
    sigma: np.ndarray,
    observed: np.ndarray,
    time: np.ndarray,
    cap: float,
) -> np.ndarray:
    """Rp/R* from the small-planet depth, a few fixed-point steps over (k, b, n_in)."""
    k = np.full(sigma.size, 0.05)
    for _ in range(4):
        b, _, _, target = _solve_depth(orbit, k, sigma, observed, time, cap)
        factor = limb_darkened_depth(1.0, b, orbit["u1"], orbit["u2"])
        k = np.clip(np.sqrt(target / factor), *K_LIMITS)
    return k


def _batman_model(time: np.ndarray, params: dict[str, Any]) -> tuple[Any, Any]:
    """One reusable quadratic-limb-darkening model integrated over the long-cadence exposure."""
    import batman  # imports distutils (~1.5 s): paid only when a transit is modelled

    tp = batman.TransitParams()
    tp.t0, tp.per, tp.rp, tp.a, tp.inc, tp.ecc, tp.w = 1.0, 3.0, 0.1, 10.0, 90.0, 0.0, 90.0
    tp.u, tp.limb_dark = [0.4, 0.2], "quadratic"
    exposure = params["dataset"]["cadence_minutes"] / 1440.0
    model = batman.TransitModel(
        tp,
        time,
        supersample_factor=params["synthetic"]["supersample"],
        exp_time=exposure,
        nthreads=1,
    )
    return model, tp


def _set_transit(tp: Any, row: dict[str, float]) -> None:
    tp.t0, tp.per, tp.a = row["t0_days"], row["period_days"], row["a_rs"]
    tp.rp, tp.u = row["rp_rs"], [row["u1"], row["u2"]]
    tp.inc = float(np.degrees(np.arccos(row["b"] / row["a_rs"])))


def _solve_one(
    model: Any,
    tp: Any,
    orbit: dict[str, np.ndarray],
    k: float,
    sigma: float,
    observed: np.ndarray,
    time: np.ndarray,
    cap: float,
) -> tuple[np.ndarray, dict[str, float]]:
    """Rescale one planet's Rp/R* by sqrt(target / depth) until its batman depth meets the target.

    b, T14 and n_in are re-derived at every step. n_in is an integer, so near a
    cadence boundary no exact solution may exist and the steps oscillate; the
    iterate closest to its own target is kept and recorded as it is.
    """
    row = {key: float(value[0]) for key, value in orbit.items()}
    best: tuple[float, np.ndarray, dict[str, float]] | None = None
    ki = np.array([k])
    for _ in range(MAX_REFINE):
        b, t14, n_in, target = _solve_depth(orbit, ki, np.array([sigma]), observed, time, cap)
        _set_transit(tp, {**row, "rp_rs": float(ki[0]), "b": float(b[0])})
        flux = model.light_curve(tp)
        depth = max(1 - flux.min(), 1e-12)
        error = abs(depth / target[0] - 1)
        if best is None or error < best[0]:
            values = {"rp_rs": ki[0], "b": b[0], "t14": t14[0], "n_in": n_in[0], "depth": depth}
            best = (error, flux, values)
        if error < DEPTH_RTOL:
            break
        ki = np.clip(ki * np.sqrt(target / depth), *K_LIMITS)
    return best[1], best[2]


def _transits(
    orbit: dict[str, np.ndarray],
    sigma: np.ndarray,
    observed: np.ndarray,
    time: np.ndarray,
    params: dict[str, Any],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """batman models (n, L) whose depths meet each planet's SNR target, and the solved values.

    Seeded by the small-planet depth, each solve takes two or three batman calls.
    """
    cap = params["synthetic"]["max_depth_ppm"] * 1e-6
    k = _seed_radius(orbit, sigma, observed, time, cap)
    model, tp = _batman_model(time, params)
    flux = np.ones((sigma.size, time.size))
    solved = {key: np.zeros(sigma.size) for key in ("rp_rs", "b", "t14", "n_in", "depth")}
    for i in range(sigma.size):
        one = {key: value[i : i + 1] for key, value in orbit.items()}
        flux[i], values = _solve_one(model, tp, one, k[i], sigma[i], observed[i], time, cap)
        for key, value in values.items():
            solved[key][i] = value
    return flux, solved


def _count_complete(
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


def transit_models(params: dict[str, Any], meta: pd.DataFrame) -> np.ndarray:
    """Noiseless batman models (n, L) of the rows of ``meta``; exactly 1 for negatives."""
    time = time_grid(params)
    model, tp = _batman_model(time, params)
    flux = np.ones((len(meta), time.size))
    for i in np.flatnonzero(meta["label"].to_numpy() == 1):
        _set_transit(tp, meta.iloc[i].to_dict())
        flux[i] = model.light_curve(tp)
    return flux


# --------------------------------------------------------------------------- nuisances


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


def _trend(amplitude_ppm: np.ndarray, time: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slow instrumental drift: a random Legendre polynomial scaled to peak ``amplitude``."""
    x = 2 * (time - time[0]) / (time[-1] - time[0]) - 1
    basis = legendre.legvander(x, TREND_ORDER)[:, 1:]
    shape = rng.standard_normal((amplitude_ppm.size, TREND_ORDER)) @ basis.T
    peak = np.abs(shape).max(axis=1, keepdims=True)
    return amplitude_ppm[:, None] * 1e-6 * shape / np.where(peak > 0, peak, 1)


def _outliers(
    syn: dict[str, Any], sigma: np.ndarray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Sparse spikes (cosmic rays mostly positive), ``outlier_sigma`` times the white noise."""
    hit = rng.uniform(0, 1, (sigma.size, size)) < syn["outlier_fraction"]
    rows = np.nonzero(hit)[0]
    sign = np.where(rng.uniform(0, 1, rows.size) < syn["outlier_positive_fraction"], 1.0, -1.0)
    spikes = np.zeros((sigma.size, size))
    spikes[hit] = sign * rng.uniform(*syn["outlier_sigma"], rows.size) * sigma[rows]
    return spikes


# --------------------------------------------------------------------------- assembly


def _check_inputs(labels: np.ndarray, snr: np.ndarray | None) -> None:
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
    syn: dict[str, Any],
    time: np.ndarray,
    orbit: dict[str, np.ndarray],
    pos: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaps as (start, length) in cadences and an (n, L) mask, clear of each positive's
    first ``min_transits`` transits (padded by a cadence)."""
    m = syn["min_transits"]
    protect = np.full((n, m), np.nan)
    half = np.zeros(n)
    protect[pos] = orbit["t0_days"][:, None] + np.arange(m) * orbit["period_days"][:, None]
    half[pos] = orbit["t14_max"] / 2 + (time[1] - time[0])
    start, length = _draw_gaps(syn, time, protect, half, rng)
    cadence = np.arange(time.size)
    mask = (cadence >= start[:, None]) & (cadence < (start + length)[:, None])
    return start, length, mask


def _nuisances(
    syn: dict[str, Any],
    stars: pd.DataFrame,
    time: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(stellar factor, additive noise, outlier count) of every star.

    Rotation and granulation modulate the star, so they multiply the transit;
    the instrumental drift multiplies everything the detector sees; red and
    white noise and outliers are added by the detector.
    """
    n, size, dt = len(stars), time.size, time[1] - time[0]
    sigma = stars["sigma_ppm"].to_numpy() * 1e-6
    rotation = _rotation(stars, time, rng)
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
    stellar = (1 + rotation + red_gran[n:]) * drift
    return stellar, noise + spikes, np.count_nonzero(spikes, axis=1)


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
        "n_transits": _count_complete(time, t0, period, t14, gap_lo, gap_hi),
        "n_in_transit": solved["n_in"].astype(np.int64),
    }


def _simulate_chunk(
    params: dict[str, Any],
    labels: np.ndarray,
    rng: np.random.Generator,
    snr: np.ndarray | None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Draw stars, orbits and gaps, solve the transits, add nuisances; one chunk of labels."""
    syn = params["synthetic"]
    time = time_grid(params)
    dt = time[1] - time[0]
    pos = np.flatnonzero(labels == 1)
    stars = _draw_stars(syn, labels.size, dt, rng)
    sigma = stars["sigma_ppm"].to_numpy() * 1e-6
    orbit = _draw_orbits(syn, time, pos.size, rng)
    if snr is not None:
        orbit["snr"] = snr[pos]
    gap_start, gap_len, gap = _gaps(syn, time, orbit, pos, labels.size, rng)

    model = np.ones((labels.size, time.size))
    model[pos], solved = _transits(orbit, sigma[pos], ~gap[pos], time, params)
    stellar, noise, n_outliers = _nuisances(syn, stars, time, rng)
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
    params: dict[str, Any],
    labels: np.ndarray,
    rng: np.random.Generator,
    snr: np.ndarray | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Simulate one light curve per label (1 = transiting planet, 0 = none).

    Parameters
    ----------
    params
        The full validated params dict (``dataset`` and ``synthetic`` are read).
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
    check_params(params)
    labels = np.asarray(labels)
    snr = None if snr is None else np.asarray(snr, dtype=float)
    _check_inputs(labels, snr)
    fluxes, metas = [], []
    with tqdm(total=labels.size, disable=not progress, unit="lc", desc="synthesize") as bar:
        for start in range(0, labels.size, CHUNK):
            part = slice(start, start + CHUNK)
            chunk_snr = None if snr is None else snr[part]
            flux, meta = _simulate_chunk(params, labels[part], rng, chunk_snr)
            fluxes.append(flux)
            metas.append(meta)
            bar.update(flux.shape[0])
    size = time_grid(params).size
    flux = np.concatenate(fluxes) if fluxes else np.empty((0, size), np.float32)
    meta = pd.concat(metas, ignore_index=True) if metas else pd.DataFrame(columns=META_COLUMNS)
    return flux, meta


def synthesize_dataset(params: dict[str, Any]) -> tuple[np.ndarray, pd.DataFrame]:
    """The stage's whole data set: negatives plus ``round(negatives * transit_ratio)`` positives.

    Positives are shuffled among negatives with their own seeded stream, so the
    ``id`` order reveals nothing about the label.
    """
    ds = params["dataset"]
    n_neg = ds["synthetic_negatives"]
    n_pos = int(round(n_neg * ds["transit_ratio"]))
    if n_pos < 1:
        raise UserError(
            f"params.yaml: dataset.synthetic_negatives = {n_neg} with transit_ratio = "
            f"{ds['transit_ratio']} gives no positives; raise either"
        )
    labels = np.concatenate([np.zeros(n_neg, np.int64), np.ones(n_pos, np.int64)])
    labels = make_rng(params["seed"], "synthesize", "order").permutation(labels)
    flux, meta = simulate(params, labels, make_rng(params["seed"], "synthesize"), progress=True)
    meta.insert(0, "id", [f"syn-{i:06d}" for i in range(labels.size)])
    return flux, meta


# --------------------------------------------------------------------------- figure


def _pick(meta: pd.DataFrame, label: int, by: str, count: int) -> np.ndarray:
    """Row indices of ``count`` examples of a class spread evenly over the ranks of ``by``."""
    rows = np.flatnonzero(meta["label"].to_numpy() == label)
    rows = rows[np.argsort(meta[by].to_numpy()[rows], kind="stable")]
    if rows.size == 0:
        return rows
    return rows[np.unique(np.rint(np.linspace(0, rows.size - 1, count)).astype(int))]


def plot_examples(flux: np.ndarray, meta: pd.DataFrame, time: np.ndarray, path: str | Path) -> None:
    """Grid of six positives (low to high SNR, mid-transit times marked) and three negatives
    (quiet to active star), in ppm, as Kepler photometry would be inspected by eye."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [*_pick(meta, 1, "snr", 6), *_pick(meta, 0, "variability_ppm", 3)]
    fig, axes = plt.subplots(3, 3, figsize=(15, 9), sharex=True, squeeze=False)
    for ax in axes.flat[len(rows) :]:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, rows, strict=False):
        row = meta.iloc[i]
        ppm = (flux[i].astype(np.float64) - 1) * 1e6
        ax.plot(time, ppm, ".", ms=2, color="k")
        lo, hi = np.nanpercentile(ppm, [0.5, 99.5])
        pad = 0.15 * (hi - lo)
        if row["label"] == 1:
            epochs = row["t0_days"] + row["period_days"] * np.arange(
                int((time[-1] - row["t0_days"]) // row["period_days"]) + 1
            )
            for t in epochs:
                ax.axvline(t, color="tab:red", lw=0.8, alpha=0.5)
            lo = min(lo, np.nanmedian(ppm) - 1.3 * row["depth_ppm"])
            ax.set_title(
                f"{row.get('id', i)}  transit  P={row['period_days']:.2f} d\n"
                f"depth={row['depth_ppm']:.0f} ppm  SNR={row['snr']:.1f}",
                fontsize=9,
            )
        else:
            ax.set_title(
                f"{row.get('id', i)}  no transit\nCDPP={row['cdpp_ppm']:.0f} ppm  "
                f"rotation={row['variability_ppm']:.0f} ppm",
                fontsize=9,
            )
        ax.set_ylim(lo - pad, hi + pad)
    for ax in axes[-1]:
        ax.set_xlabel("time [d]")
    for ax in axes[:, 0]:
        ax.set_ylabel("flux - 1 [ppm]")
    fig.suptitle(
        "Synthetic Kepler long-cadence light curves (red lines: mid-transit times)", fontsize=11
    )
    fig.tight_layout()
    save_figure(fig, path)


# --------------------------------------------------------------------------- transit bank


def transit_shapes(
    params: dict[str, Any], n: int, rng: np.random.Generator, depth_ppm: tuple[float, float]
) -> tuple[np.ndarray, pd.DataFrame]:
    """``n`` batman transit trains on the window grid, scaled to unit maximum depth.

    The same physics as the synthesize stage (orbits from Kepler's third law,
    non-grazing impact parameters, quadratic limb darkening, exposure
    integration, at least ``synthetic.min_transits`` complete transits), with
    Rp/R* drawn from a log-uniform depth so ingress shapes span small and large
    planets. Injection rescales each shape to the depth its host's noise calls
    for; rescaling leaves T14 and the ingress fraction of the drawn planet.

    Returns
    -------
    shapes
        float32 ``(n, L)``: ``(1 - flux) / max(1 - flux)``, 0 out of transit, 1 at the deepest.
    meta
        ``period_days, t0_days, duration_hours, rp_rs, b`` of each shape.
    """
    syn = params["synthetic"]
    time = time_grid(params)
    orbit = _draw_orbits(syn, time, n, rng)
    depth = _log_uniform(rng, list(depth_ppm), n) * 1e-6
    k = np.clip(np.sqrt(depth / limb_darkened_depth(1.0, 0.0, orbit["u1"], orbit["u2"])), *K_LIMITS)
    b = orbit["impact_fraction"] * (1 - k)
    model, tp = _batman_model(time, params)
    shapes = np.zeros((n, time.size), np.float32)
    for i in range(n):  # one batman call per planet: batman takes scalar orbits
        row = {key: float(value[i]) for key, value in orbit.items()}
        _set_transit(tp, {**row, "rp_rs": float(k[i]), "b": float(b[i])})
        dip = 1.0 - model.light_curve(tp)
        shapes[i] = dip / max(dip.max(), 1e-12)
    meta = pd.DataFrame(
        {
            "period_days": orbit["period_days"],
            "t0_days": orbit["t0_days"],
            "duration_hours": transit_duration(orbit["period_days"], orbit["a_rs"], k, b) * 24,
            "rp_rs": k,
            "b": b,
        }
    )
    return shapes, meta
