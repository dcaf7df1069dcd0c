"""The light curves the search is calibrated and judged on: whole real quarters, by split.

Stars keep the sides the prepare stage gave them (split by kepid): the false-alarm null is
measured on training and validation stars only, and every figure is measured on test stars.
Null light curves make transits impossible, as Kepler DR25 did: inverted flux, chunks of a
quarter in scrambled order, and KOI hosts with every known transit masked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from transit_classifier.io import load_npz
from transit_classifier.search.flatten import SearchGrid, search_grid
from transit_classifier.search.settings import SearchSettings
from transit_classifier.simulate.orbits import transit_offset
from transit_classifier.sources.kepler import StarLightCurve, from_star

SIDES = ("train", "val", "test")
KOI_MASK_DURATIONS = 1.5  # masked around each known mid-transit, in transit durations
MIN_QUARTER_DAYS = 10.0  # shorter segments (Q0, Q17 stubs) hold too little to search


@dataclass(frozen=True)
class Quarter:
    """One real quarter on the search grid, with its star's side and KOI rows."""

    kepid: int
    side: str
    grid: SearchGrid
    kois: pd.DataFrame

    @property
    def is_host(self) -> bool:
        return len(self.kois) > 0


def star_sides(prepared: Path) -> dict[int, str]:
    """kepid -> ``train``/``val``/``test``, as the prepare stage split the real stars."""
    sides = {}
    for side in SIDES:
        for kepid in np.unique(load_npz(Path(prepared) / f"real_{side}.npz")["kepid"]):
            sides[int(kepid)] = side
    return sides


def quarters(
    stars: dict[int, StarLightCurve],
    koi: pd.DataFrame,
    sides: dict[int, str],
    cadence_days: float,
) -> list[Quarter]:
    """Every quarter (segment) of every star with a side, as its own light curve."""
    out = []
    for kepid in sorted(set(stars) & set(sides)):
        obs = from_star(stars[kepid])
        kois = koi.loc[koi["kepid"] == kepid]
        for label in np.unique(obs.segment):
            keep = obs.segment == label
            part = replace(
                obs,
                name=f"KIC {kepid} Q{label}",
                time=obs.time[keep],
                flux=obs.flux[keep],
                segment=obs.segment[keep],
                cadenceno=None if obs.cadenceno is None else obs.cadenceno[keep],
            )
            if np.ptp(part.time) < MIN_QUARTER_DAYS:
                continue
            out.append(Quarter(kepid, sides[kepid], search_grid(part, cadence_days), kois))
    return out


def koi_masked(quarter: Quarter) -> SearchGrid:
    """The quarter with every cadence near a known KOI transit set to NaN."""
    grid, flux = quarter.grid, quarter.grid.flux.copy()
    for koi in quarter.kois.itertuples():
        if not (np.isfinite(koi.koi_period) and koi.koi_period > 0):
            continue
        half = KOI_MASK_DURATIONS * koi.koi_duration / 24.0 / 2.0
        flux[np.abs(transit_offset(grid.time, koi.koi_period, koi.koi_time0bk)) < half] = np.nan
    return replace(grid, flux=flux, name=f"{grid.name} (KOIs masked)")


def inverted(grid: SearchGrid, settings: SearchSettings) -> SearchGrid:
    """Flux mirrored about each segment's level (DR25's inversion): dips become bumps.

    The cadences the search drops as outliers (flares, cosmic rays) are dropped before the
    mirror: a search never sees a flare, but a mirrored flare is a deep, sharp dip that no
    real light curve would show it, and it would set the false-alarm threshold.
    """
    dropped = np.isfinite(grid.flux) & ~np.isfinite(settings.flat(grid).flux)
    flux = np.where(dropped, np.nan, 2.0 - grid.flux)
    return replace(grid, flux=flux, name=f"{grid.name} (inverted)")


def scrambled(
    grid: SearchGrid, settings: SearchSettings, chunk_days: float, rng: np.random.Generator
) -> SearchGrid:
    """Chunks of ``chunk_days`` in random order (DR25's scrambling) of the detrended flux.

    A transit train no longer lines up, while the noise inside each chunk, and the gaps, stay.
    Chunks of the raw flux would join in steps that no real light curve has, and a step
    detrended is a dip: the scrambled null would then be harsher than the data.
    """
    flat = settings.flat(grid).flux
    size = max(1, int(round(chunk_days / grid.cadence_days)))
    chunks = np.split(flat, np.arange(size, flat.size, size))
    flux = 1.0 + np.concatenate([chunks[i] for i in rng.permutation(len(chunks))])
    return replace(grid, flux=flux, name=f"{grid.name} (scrambled)")


def null_curves(
    calibration: list[Quarter],
    settings: SearchSettings,
    scrambles: int,
    chunk_days: float,
    rng: np.random.Generator,
) -> list[SearchGrid]:
    """Light curves in which no transit can line up, from training and validation stars:
    every quarter inverted, non-hosts scrambled ``scrambles`` times, hosts with KOIs masked."""
    nulls = [inverted(q.grid, settings) for q in calibration]
    nulls += [koi_masked(q) for q in calibration if q.is_host]
    for _ in range(scrambles):
        nulls += [
            scrambled(q.grid, settings, chunk_days, rng) for q in calibration if not q.is_host
        ]
    return nulls
