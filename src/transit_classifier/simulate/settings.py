"""The synthetic physics' settings, frozen and typed, built once per stage from params.

Every stage that simulates (synthesize, prepare's MES of the synthetic set,
train's injection bank, evaluate's hosts and bank, the search's injections)
builds one :class:`SimulateSettings` at its entry and passes it down, so no
function of this wing climbs back into the params dict, and nothing can edit
a range halfway through a run (ranges are tuples).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from transit_classifier.cadence import cadence_grid

Range = tuple[float, float]
# Ranges zeroed by :meth:`SimulateSettings.white_noise_only`: every nuisance amplitude.
NUISANCE_RANGES = (
    "red_noise_ratio",
    "variability_ppm",
    "granulation_ppm",
    "trend_ppm",
    "pulsation_ppm",
)


def frozen_values(section: dict[str, Any], settings: type) -> dict[str, Any]:
    """The values of ``section`` that the dataclass ``settings`` declares, lists as tuples.

    Values are taken as validated, not cast: an int written in params.yaml stays
    an int, so every consumer sees exactly the numbers it saw from the dict.
    """
    values = {f.name: section[f.name] for f in fields(settings)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


@dataclass(frozen=True)
class SimulateSettings:
    """The run's seed, the window grid and sizes of ``dataset``, and every ``synthetic.*`` key.

    See params.yaml for what each key does.
    """

    seed: int
    window_length: int
    cadence_minutes: float
    synthetic_negatives: int
    transit_ratio: float
    min_transits: int
    period_days: Range
    snr: Range
    max_depth_ppm: float
    stellar_density_cgs: Range
    limb_darkening_u1: Range
    limb_darkening_u2: Range
    impact_fraction: Range
    supersample: int
    cdpp_ppm: Range
    red_noise_ratio: Range
    red_noise_timescale_hours: Range
    variability_ppm: Range
    rotation_period_days: Range
    granulation_ppm: Range
    granulation_timescale_hours: Range
    trend_ppm: Range
    pulsator_fraction: float
    pulsation_ppm: Range
    pulsation_period_hours: Range
    pulsation_modes: tuple[int, int]
    gap_probability: float
    gap_length_days: Range
    outlier_fraction: float
    outlier_sigma: Range
    outlier_positive_fraction: float

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SimulateSettings:
        """The settings of the validated params dict (:func:`frozen_values`)."""
        sections = {"seed": params["seed"], **params["dataset"], **params["synthetic"]}
        return cls(**frozen_values(sections, cls))

    def time(self) -> np.ndarray:
        """Cadence mid-times in days from 0, ``window_length`` of them."""
        return cadence_grid(self.window_length, self.cadence_minutes)

    def with_periods(self, period_days: Range) -> SimulateSettings:
        """The same physics over another orbital-period range (an injection bank's own)."""
        return replace(self, period_days=tuple(period_days))

    def white_noise_only(self) -> SimulateSettings:
        """Light curves holding only the transit and white noise.

        Red noise, rotation, granulation, pulsation, trends, gaps and outliers are
        switched off, so ``flux - transit_models(...)`` is pure Gaussian noise of the
        recorded ``sigma_ppm``: tests and studies check the physics directly with it.
        """
        zero = dict.fromkeys(NUISANCE_RANGES, (0.0, 0.0))
        return replace(self, **zero, gap_probability=0.0, outlier_fraction=0.0)
