"""Noiseless batman transit models whose depth meets a target signal-to-noise.

The synthesize stage fixes each positive's difficulty (its SNR) rather than its
planet radius, so Rp/R* has to be solved: the small-planet depth seeds it and a
few exact ``batman`` evaluations (quadratic limb darkening, integrated over the
29.4-minute exposure) refine it, re-deriving b, T14 and the in-transit cadence
count at every step. The same physics also makes the unit-depth transit shapes
that training injects into real and synthetic noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from transit_classifier.cadence import MINUTES_PER_DAY

from .orbits import draw_orbits, in_transit, limb_darkened_depth, log_uniform, transit_duration
from .settings import SimulateSettings

K_LIMITS = (1e-4, 0.9)  # Rp/R* search bounds: a planet, not a stellar companion
DEPTH_RTOL = 1e-3  # relative accuracy of the solved depth
MAX_REFINE = 8


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
    n_in = (in_transit(time, orbit["t0_days"], orbit["period_days"], t14) & observed).sum(1)
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


def _batman_model(time: np.ndarray, sim: SimulateSettings) -> tuple[Any, Any]:
    """One reusable quadratic-limb-darkening model integrated over the long-cadence exposure."""
    import batman  # slow to import (it imports distutils): paid only when a transit is modelled

    tp = batman.TransitParams()
    tp.t0, tp.per, tp.rp, tp.a, tp.inc, tp.ecc, tp.w = 1.0, 3.0, 0.1, 10.0, 90.0, 0.0, 90.0
    tp.u, tp.limb_dark = [0.4, 0.2], "quadratic"
    exposure = sim.cadence_minutes / MINUTES_PER_DAY
    model = batman.TransitModel(
        tp,
        time,
        supersample_factor=sim.supersample,
        exp_time=exposure,
        nthreads=1,
    )
    return model, tp


def _set_transit(tp: Any, row: dict[str, float]) -> None:
    """Load one planet (a metadata row or a dict of scalars) into batman's parameters."""
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


def solve_transits(
    orbit: dict[str, np.ndarray],
    sigma: np.ndarray,
    observed: np.ndarray,
    time: np.ndarray,
    sim: SimulateSettings,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """batman models (n, L) whose depths meet each planet's SNR target, and the solved values.

    Seeded by the small-planet depth, each solve takes two or three batman calls.

    Returns
    -------
    flux
        (n, L) noiseless relative flux, 1 out of transit.
    solved
        ``rp_rs, b, t14, n_in, depth`` per planet, as reached (capped at
        ``synthetic.max_depth_ppm``).
    """
    cap = sim.max_depth_ppm * 1e-6
    k = _seed_radius(orbit, sigma, observed, time, cap)
    model, tp = _batman_model(time, sim)
    flux = np.ones((sigma.size, time.size))
    solved = {key: np.zeros(sigma.size) for key in ("rp_rs", "b", "t14", "n_in", "depth")}
    for i in range(sigma.size):
        one = {key: value[i : i + 1] for key, value in orbit.items()}
        flux[i], values = _solve_one(model, tp, one, k[i], sigma[i], observed[i], time, cap)
        for key, value in values.items():
            solved[key][i] = value
    return flux, solved


def transit_models(sim: SimulateSettings, meta: pd.DataFrame) -> np.ndarray:
    """Noiseless batman models (n, L) of the rows of ``meta``; exactly 1 for negatives."""
    time = sim.time()
    model, tp = _batman_model(time, sim)
    flux = np.ones((len(meta), time.size))
    for i in np.flatnonzero(meta["label"].to_numpy() == 1):
        _set_transit(tp, meta.iloc[i].to_dict())
        flux[i] = model.light_curve(tp)
    return flux


def transit_shapes(
    sim: SimulateSettings, n: int, rng: np.random.Generator, depth_ppm: tuple[float, float]
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
    time = sim.time()
    orbit = draw_orbits(sim, time, n, rng)
    depth = log_uniform(rng, list(depth_ppm), n) * 1e-6
    k = np.clip(np.sqrt(depth / limb_darkened_depth(1.0, 0.0, orbit["u1"], orbit["u2"])), *K_LIMITS)
    b = orbit["impact_fraction"] * (1 - k)
    shapes = unit_dips(time, orbit, k, b, sim)
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


def unit_dips(
    time: np.ndarray,
    orbit: dict[str, np.ndarray],
    k: np.ndarray,
    b: np.ndarray,
    sim: SimulateSettings,
) -> np.ndarray:
    """float32 ``(n, len(time))`` batman transit trains scaled to unit maximum depth.

    Injection rescales a shape to the depth its host's noise calls for; the scaling keeps
    the drawn planet's T14 and ingress fraction. Works on any time grid (a window, a whole
    quarter, a stitched star).
    """
    model, tp = _batman_model(time, sim)
    shapes = np.zeros((k.size, time.size), np.float32)
    for i in range(k.size):  # one batman call per planet: batman takes scalar orbits
        row = {key: float(value[i]) for key, value in orbit.items()}
        _set_transit(tp, {**row, "rp_rs": float(k[i]), "b": float(b[i])})
        dip = 1.0 - model.light_curve(tp)
        shapes[i] = dip / max(dip.max(), 1e-12)
    return shapes
