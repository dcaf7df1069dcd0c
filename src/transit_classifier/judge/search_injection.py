"""Transits injected into whole real quarters, and whether a search found them.

Each injection is a batman transit train (the synthesize stage's physics: Kepler's third law,
non-grazing impact parameters, quadratic limb darkening, exposure integration) multiplied into
the raw flux of a test star's quarter, before any detrending, with its depth set so that the
whole light curve's MES (depth over the detrended quarter's own noise at the transit duration,
times the square root of the transits with data) hits a target drawn in a MES bin.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from transit_classifier.search.candidates import Candidate
from transit_classifier.search.flatten import SearchGrid, detrended
from transit_classifier.simulate.injection import duration_cadences
from transit_classifier.simulate.injection import mes as mes_of
from transit_classifier.simulate.orbits import log_uniform, semi_major_axis, transit_offset
from transit_classifier.simulate.settings import SimulateSettings
from transit_classifier.simulate.transits import unit_dips

NOMINAL_RP_RS = 0.03  # sets the ingress shape; the depth is then scaled to the MES target
PERIOD_TOLERANCE = 1e-3  # a detection's period is right within 0.1% ...
ALIASES = {"half": 0.5, "double": 2.0}  # ... or at a counted-apart alias


@dataclass(frozen=True)
class Injection:
    """One injected light curve and the truth about its transits."""

    grid: SearchGrid  # raw relative flux with the transits in
    period: float
    t0: float
    duration_days: float
    mes: float
    n_transits: int

    @property
    def period_bin(self) -> str:
        if self.n_transits < 2:
            return "single"
        return next(
            (name for name, (lo, hi) in PERIOD_BINS.items() if lo <= self.period < hi), "long"
        )


PERIOD_BINS = {"0p5_to_2": (0.5, 2.0), "2_to_10": (2.0, 10.0), "10_to_40": (10.0, 40.0)}


def _draw_orbit(
    time: np.ndarray, sim: SimulateSettings, period: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """One planet's orbit and star for batman (arrays of one, as ``unit_dips`` takes)."""
    density = rng.uniform(*sim.stellar_density_cgs, 1)
    return {
        "period_days": np.array([period]),
        "t0_days": time[0] + rng.uniform(0, period, 1),
        "a_rs": semi_major_axis(np.array([period]), density),
        "u1": rng.uniform(*sim.limb_darkening_u1, 1),
        "u2": rng.uniform(*sim.limb_darkening_u2, 1),
        "impact_fraction": rng.uniform(*sim.impact_fraction, 1),
    }


def inject_one(
    host: SearchGrid,
    flat_host: SearchGrid,
    target_mes: float,
    period: float,
    sim: SimulateSettings,
    rng: np.random.Generator,
) -> Injection | None:
    """``host`` with one transit train whose whole-light-curve MES is ``target_mes``.

    ``flat_host`` is the host detrended as the search detrends it; the MES is measured there.
    Returns None when no transit falls on a cadence with data.
    """
    orbit = _draw_orbit(host.time, sim, period, rng)
    k = np.array([NOMINAL_RP_RS])
    b = orbit["impact_fraction"] * (1 - k)
    shape = unit_dips(host.time, orbit, k, b, sim)[0].astype(np.float64)
    observed = np.isfinite(host.flux)
    inside = shape > 0
    if not (inside & observed).any():
        return None
    n_dur = int(duration_cadences(shape[None])[0])
    unit = mes_of(flat_host.flux[None] + 1.0, shape[None], observed[None], np.array([n_dur]))[0]
    if not unit > 0:
        return None
    depth = target_mes / unit
    flux = host.flux * (1.0 - depth * shape)
    return Injection(
        grid=replace(host, flux=flux, name=f"{host.name} + injection"),
        period=period,
        t0=float(orbit["t0_days"][0]),
        duration_days=n_dur * host.cadence_days,
        mes=float(target_mes),
        n_transits=transits_with_data(
            host, period, float(orbit["t0_days"][0]), n_dur * host.cadence_days
        ),
    )


def transits_with_data(grid: SearchGrid, period: float, t0: float, duration: float) -> int:
    """Transits of the ephemeris with at least half their cadences observed."""
    cycle = np.rint((grid.time - t0) / period).astype(np.int64)
    inside = np.abs(transit_offset(grid.time, period, t0)) < duration / 2
    cycles, n_all = np.unique(cycle[inside], return_counts=True)
    seen = np.searchsorted(cycles, cycle[inside & np.isfinite(grid.flux)])
    return int(np.sum(np.bincount(seen, minlength=cycles.size) >= 0.5 * n_all))


def injections(
    hosts: list[SearchGrid],
    mes_bins: list[tuple[float, float]],
    per_bin: int,
    periods: tuple[float, float],
    window_days: float,
    params: dict[str, Any],
    rng: np.random.Generator,
) -> list[Injection]:
    """``per_bin`` injections per MES bin into randomly chosen hosts, periods log-uniform.

    The synthetic physics' settings are built here, once for every injection.
    """
    sim = SimulateSettings.from_params(params)
    flats = [detrended(h, window_days) for h in hosts]
    out: list[Injection] = []
    for lo, hi in mes_bins:
        made = 0
        while made < per_bin:
            i = int(rng.integers(len(hosts)))
            period = float(log_uniform(rng, list(periods), 1)[0])
            target = float(rng.uniform(lo, hi))
            one = inject_one(hosts[i], flats[i], target, period, sim, rng)
            if one is not None:
                out.append(one)
                made += 1
    return out


def match(candidate: Candidate, truth: Injection) -> str | None:
    """How ``candidate`` relates to the injected train: ``"right"``, an alias name (``half``,
    ``double``), ``"other"`` (a transit in the right place, the period wrong) or None.

    The period must agree within 0.1% (or at ½ or 2×, counted apart), and a transit of the
    candidate must fall within half a duration of an injected one. A single-transit
    injection is matched by any candidate with a transit time there.
    """
    times = np.asarray(candidate.transit_times, dtype=float)
    near = np.abs(transit_offset(times, truth.period, truth.t0)) < truth.duration_days / 2
    if not near.any():
        return None
    if truth.n_transits < 2:
        return "right"
    if candidate.period is None:
        return "other"
    ratio = candidate.period / truth.period
    if abs(ratio - 1) < PERIOD_TOLERANCE:
        return "right"
    aliases = [name for name, r in ALIASES.items() if abs(ratio / r - 1) < PERIOD_TOLERANCE]
    return aliases[0] if aliases else "other"
